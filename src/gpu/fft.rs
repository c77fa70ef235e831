//! Recording of the FFT along one axis of a chunked field.
//!
//! Lines that lie inside one chunk (every axis but the leading ones of a multi-chunk array) are
//! transformed in place by `fft.wgsl`, one read and one write per element. Lines that cross chunk
//! boundaries are first gathered into the scratch chunk by buffer copies (runs of neighbouring
//! lines, so each copy moves many contiguous elements), transformed there, and copied back.

use std::sync::Arc;

use anyhow::{bail, Result};

use super::{dispatch_grid, GpuBackend, GpuField};
use crate::backend::FftDirection;
use crate::field::strides_of;
use crate::gpu::shaders::ShaderFile;

/// Invocations per workgroup of the FFT kernel.
const FFT_WG_SIZE: u32 = 256;
/// Elements a workgroup holds at least (short lines are batched up to this many).
const MIN_BLOCK: usize = 1024;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct FftParams {
    lines: u32,
    inner: u32,
    outer_stride: u32,
    stride: u32,
    base: u32,
    groups_x: u32,
    inverse: u32,
    scale: f32,
}

/// Where the lines of one dispatch lie in a buffer (see the comment in fft.wgsl).
struct Lines {
    count: usize,
    inner: usize,
    outer_stride: usize,
    stride: usize,
}

fn largest_divisor_at_most(g: usize, cap: usize) -> usize {
    let mut best = 1;
    let mut d = 1;
    while d * d <= g {
        if g % d == 0 {
            for q in [d, g / d] {
                if q <= cap && q > best {
                    best = q;
                }
            }
        }
        d += 1;
    }
    best
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl GpuBackend {
    /// Longest line the single-pass kernel holds in workgroup memory on this adapter.
    pub fn max_fft_len(&self) -> usize {
        let elems = self.ctx.limits.max_compute_workgroup_storage_size as usize / 8;
        1 << (usize::BITS - 1 - elems.max(1).leading_zeros())
    }

    /// exp(−2πi k / n) for k < n/2, computed in f64 and stored as f32 pairs.
    fn twiddles(&self, n: usize) -> Arc<wgpu::Buffer> {
        use wgpu::util::DeviceExt;
        let mut cache = self.twiddles.lock().unwrap();
        cache
            .entry(n)
            .or_insert_with(|| {
                let table: Vec<f32> = (0..n / 2)
                    .flat_map(|k| {
                        let phase = -2.0 * std::f64::consts::PI * k as f64 / n as f64;
                        [phase.cos() as f32, phase.sin() as f32]
                    })
                    .collect();
                Arc::new(
                    self.ctx
                        .device
                        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                            label: Some("fft twiddles"),
                            contents: bytemuck::cast_slice(&table),
                            usage: wgpu::BufferUsages::STORAGE,
                        }),
                )
            })
            .clone()
    }

    pub(super) fn record_fft_axis(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        field: &GpuField,
        axis: usize,
        dir: FftDirection,
    ) -> Result<()> {
        let n = field.shape[axis];
        if n == 1 {
            return Ok(());
        }
        if !n.is_power_of_two() {
            bail!("GPU FFT length {n} (axis {axis}) is not a power of two");
        }
        if n > self.max_fft_len() {
            bail!(
                "GPU FFT length {n} (axis {axis}) exceeds {}, the longest line that fits in this \
                 adapter's workgroup memory; longer lines are not implemented yet",
                self.max_fft_len()
            );
        }
        let stride = strides_of(&field.shape)[axis];
        let layout = &field.layout;
        if layout.axis_within_chunks(axis) {
            for (c, buf) in field.chunks.iter().enumerate() {
                let lines = Lines {
                    count: layout.chunk_range(c).len() / n,
                    inner: stride,
                    outer_stride: n * stride,
                    stride,
                };
                self.record_fft_lines(encoder, buf, n, &lines, dir)?;
            }
            return Ok(());
        }

        // Lines cross chunks: gather runs of `w` neighbouring lines into the scratch chunk.
        // w divides both the axis stride and the chunk length, so no run straddles two chunks.
        let scratch_len = layout.chunk_len;
        if n > scratch_len {
            bail!("FFT line of {n} elements is longer than one chunk ({scratch_len} elements)");
        }
        let w = largest_divisor_at_most(gcd(stride, layout.chunk_len), scratch_len / n);
        let runs_per_fill = scratch_len / (n * w);
        let span = n * stride;
        let outer = layout.len / span;
        let runs: Vec<(usize, usize)> = (0..outer)
            .flat_map(|o| (0..stride).step_by(w).map(move |i0| (o, i0)))
            .collect();
        let scratch = self.scratch(scratch_len as u64 * 8);
        if self.poison_scratch {
            let nan = vec![f32::NAN; scratch.size() as usize / 4];
            self.ctx
                .queue
                .write_buffer(&scratch, 0, bytemuck::cast_slice(&nan));
        }
        let run_bytes = w as u64 * 8;
        for batch in runs.chunks(runs_per_fill) {
            let copies = |encoder: &mut wgpu::CommandEncoder, to_scratch: bool| {
                for (g, &(o, i0)) in batch.iter().enumerate() {
                    for j in 0..n {
                        let flat = o * span + j * stride + i0;
                        let chunk = &field.chunks[flat / layout.chunk_len];
                        let chunk_off = (flat % layout.chunk_len) as u64 * 8;
                        let scratch_off = ((g * n + j) * w) as u64 * 8;
                        if to_scratch {
                            encoder.copy_buffer_to_buffer(
                                chunk,
                                chunk_off,
                                &scratch,
                                scratch_off,
                                run_bytes,
                            );
                        } else {
                            encoder.copy_buffer_to_buffer(
                                &scratch,
                                scratch_off,
                                chunk,
                                chunk_off,
                                run_bytes,
                            );
                        }
                    }
                }
            };
            copies(encoder, true);
            let lines = Lines {
                count: batch.len() * w,
                inner: w,
                outer_stride: n * w,
                stride: w,
            };
            self.record_fft_lines(encoder, &scratch, n, &lines, dir)?;
            copies(encoder, false);
        }
        Ok(())
    }

    fn record_fft_lines(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        buf: &wgpu::Buffer,
        n: usize,
        lines: &Lines,
        dir: FftDirection,
    ) -> Result<()> {
        let lines_per_wg = (MIN_BLOCK / n).max(1);
        let constants = [
            ("LEN", n as u32),
            ("LOG2_LEN", n.trailing_zeros()),
            ("LINES_PER_WG", lines_per_wg as u32),
            ("WG_SIZE", FFT_WG_SIZE),
        ];
        let pipeline = self.pipeline(ShaderFile::Fft, "fft_lines", &constants)?;
        let grid = dispatch_grid(
            lines.count.div_ceil(lines_per_wg) as u64,
            self.ctx.limits.max_compute_workgroups_per_dimension,
        )?;
        let inverse = dir == FftDirection::Inverse;
        let params = self.uniform(&FftParams {
            lines: lines.count as u32,
            inner: lines.inner as u32,
            outer_stride: lines.outer_stride as u32,
            stride: lines.stride as u32,
            base: 0,
            groups_x: grid.0,
            inverse: inverse as u32,
            scale: if inverse { 1.0 / n as f32 } else { 1.0 },
        });
        let twiddles = self.twiddles(n);
        let bg = self.bind_group(&pipeline, &[buf, &twiddles, &params]);
        self.record_dispatch(encoder, "fft", &pipeline, &bg, grid);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divisor_helpers() {
        assert_eq!(gcd(32768, 8192), 8192);
        assert_eq!(largest_divisor_at_most(8192, 1024), 1024);
        assert_eq!(largest_divisor_at_most(12, 5), 4);
        assert_eq!(largest_divisor_at_most(7, 3), 1);
    }
}
