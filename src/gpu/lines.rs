//! Recording work on every line along one axis of a chunked field: the driver the FFT and the
//! line shifts share.
//!
//! Lines that lie inside one chunk (every axis but the leading ones of a multi-chunk array) are
//! handed to the kernel in place. Lines that cross chunk boundaries are first gathered into a
//! scratch chunk by buffer copies (runs of `w` neighbouring lines, so each copy moves many
//! contiguous elements), worked on there, and copied back.

use anyhow::{bail, Result};

use super::{GpuBackend, GpuField};
use crate::field::strides_of;

/// Lines of one dispatch: `count` lines of length n in `buffer`; element j of line b lies at
/// (b / stride)·n·stride + (b % stride) + j·stride. Line b is the line of the whole field whose
/// element 0 has the flat index
///     (g / runs_per_outer)·span + (g % runs_per_outer)·stride + b % stride,  g = run0 + b / stride,
/// with span = n · (the axis stride in the field): what a kernel needs to find per-line data.
#[derive(Clone, Copy, Debug)]
pub(super) struct LineBatch {
    pub count: usize,
    pub stride: usize,
    pub run0: usize,
    pub runs_per_outer: usize,
    pub span: usize,
}

fn largest_divisor_at_most(g: usize, cap: usize) -> usize {
    let mut best = 1;
    let mut d = 1;
    while d * d <= g {
        if g.is_multiple_of(d) {
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
    /// Calls `record(buffer, batch)` for every batch of lines along `axis`, gathering
    /// lines that cross chunks through the "line gather" scratch.
    pub(super) fn record_axis_lines(
        &self,
        field: &GpuField,
        axis: usize,
        mut record: impl FnMut(&wgpu::Buffer, LineBatch) -> Result<()>,
    ) -> Result<()> {
        let n = field.shape[axis];
        let stride = strides_of(&field.shape)[axis];
        let span = n * stride;
        let layout = &field.layout;
        if layout.axis_within_chunks(axis) {
            for (c, buf) in field.chunks.iter().enumerate() {
                let range = layout.chunk_range(c);
                let batch = LineBatch {
                    count: range.len() / n,
                    stride,
                    run0: range.start / span,
                    runs_per_outer: 1,
                    span,
                };
                record(buf, batch)?;
            }
            return Ok(());
        }

        // w divides both the axis stride and the chunk length, so no run straddles two chunks.
        let scratch_len = layout.chunk_len;
        if n > scratch_len {
            bail!(
                "lines of {n} elements along axis {axis} of a {:?} field are longer than one \
                 chunk ({scratch_len} elements): the GPU works on each line inside one chunk, so \
                 it needs chunks of at least {} bytes (--max-chunk-bytes), or use --backend cpu",
                field.shape,
                (8 * n as u64).next_multiple_of(256)
            );
        }
        let w = largest_divisor_at_most(gcd(stride, layout.chunk_len), scratch_len / n);
        let runs_per_fill = scratch_len / (n * w);
        let runs_per_outer = stride / w;
        let total_runs = layout.len / span * runs_per_outer;
        let elem_bytes = field.elem_bytes();
        let scratch = self.scratch("line gather", scratch_len as u64 * 8);
        let run_bytes = w as u64 * elem_bytes;
        let mut run0 = 0;
        while run0 < total_runs {
            let runs = runs_per_fill.min(total_runs - run0);
            let copies = |to_scratch: bool| {
                for g in 0..runs {
                    let run = run0 + g;
                    let origin = run / runs_per_outer * span + run % runs_per_outer * w;
                    for j in 0..n {
                        let flat = origin + j * stride;
                        let chunk = &field.chunks[flat / layout.chunk_len];
                        let chunk_off = (flat % layout.chunk_len) as u64 * elem_bytes;
                        let scratch_off = ((g * n + j) * w) as u64 * elem_bytes;
                        if to_scratch {
                            self.record_copy(chunk, chunk_off, &scratch, scratch_off, run_bytes);
                        } else {
                            self.record_copy(&scratch, scratch_off, chunk, chunk_off, run_bytes);
                        }
                    }
                }
            };
            copies(true);
            let batch = LineBatch {
                count: runs * w,
                stride: w,
                run0,
                runs_per_outer,
                span,
            };
            record(&scratch, batch)?;
            copies(false);
            run0 += runs;
        }
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
