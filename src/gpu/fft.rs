//! Recording of the FFT along one axis of a chunked field.
//!
//! Lengths 2^a·3^b·5^c: `fft.wgsl` runs one in-place stage per factor (radix 4, 2, 3 or 5), with
//! every twiddle read from a host table computed in f64 (inside the radix-3 and radix-5
//! butterflies, f32 constants) and the digit-reversal permutation from a host table too.
//! Powers of two take the same kernel (radix-4 stages, one radix-2 stage when the exponent is
//! odd). Lines are visited by `record_axis_lines` (gpu/lines.rs): in place where they lie inside one
//! chunk, through the gather scratch where they cross chunks. `fft.wgsl` reads and writes each
//! element once per pass.
//!
//! Lines longer than workgroup memory holds (n > M) take the four-step route, n = n1·n2 with
//! n2 the largest divisor of n up to M (and n1 ≤ M too): FFTs of length n1 across the line (stride n2) with the twist factors W_n^(j2·k1)
//! applied on the way out, FFTs of length n2 along it, and a digit transposition
//! (k1·n2 + k2 → k2·n1 + k1) through a scratch buffer. Three read-write passes instead of one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::{bail, Result};

use super::{GpuBackend, GpuField};
use crate::backend::FftDirection;
use crate::gpu::shaders::Kernel;

/// Invocations per workgroup of the FFT kernel.
const FFT_WG_SIZE: u32 = 256;
/// Elements a workgroup holds at least (short lines are batched up to this many).
const MIN_BLOCK: usize = 1024;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct FftParams {
    lines: u32,
    stride: u32,
    groups_x: u32,
    inverse: u32,
    twist_n: u32,
    twist_div: u32,
    _pad: [u32; 2],
}

/// Lines of one dispatch: `count` lines of the transform's length n starting at element 0 of
/// the buffer, element j of line b at (b / stride)·n·stride + (b % stride) + j·stride. They
/// fill `count · n` elements exactly.
#[derive(Clone, Copy)]
struct Lines {
    count: usize,
    stride: usize,
}

/// The twist of the four-step FFT's first pass: multiply output k1 of the line whose
/// (b % stride) / div = j2 by W_n^(j2·k1).
struct Twist {
    n: usize,
    div: usize,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct TransposeParams {
    total: u32,
    n1: u32,
    n2: u32,
    stride: u32,
    groups_x: u32,
    _pad: [u32; 3],
}

impl GpuBackend {
    /// Longest line the single-pass kernel holds in workgroup memory on this adapter.
    pub fn max_fft_len(&self) -> usize {
        let elems = self.ctx.limits.max_compute_workgroup_storage_size as usize / 8;
        let hw = 1 << (usize::BITS - 1 - elems.max(1).leading_zeros());
        self.max_fft_len_override.map_or(hw, |o| o.min(hw))
    }

    /// Longest line of any pass count: the four-step route squares the single-pass limit.
    pub fn max_fft_len_multipass(&self) -> usize {
        self.max_fft_len() * self.max_fft_len()
    }

    /// exp(−2πi k / n) for k < n, computed in f64 and stored as f32 pairs.
    fn twiddles(&self, n: usize) -> Arc<wgpu::Buffer> {
        self.fft_table(&self.twiddles, n, "fft twiddles", || {
            let table: Vec<f32> = (0..n)
                .flat_map(|k| {
                    let phase = -2.0 * std::f64::consts::PI * k as f64 / n as f64;
                    unit_f32(phase.cos(), phase.sin())
                })
                .collect();
            bytemuck::cast_slice(&table).to_vec()
        })
    }

    /// `digit_reversal(n)` on the device.
    fn fft_digits(&self, n: usize) -> Result<Arc<wgpu::Buffer>> {
        let Some(stages) = stage_counts(n) else {
            bail!("GPU FFT length {n} is not of the form 2^a·3^b·5^c");
        };
        Ok(self.fft_table(&self.fft_digits, n, "fft digits", || {
            bytemuck::cast_slice(&digit_reversal(n, stages)).to_vec()
        }))
    }

    /// The table of length n in `cache`, built and uploaded on first use.
    fn fft_table(
        &self,
        cache: &Mutex<HashMap<usize, Arc<wgpu::Buffer>>>,
        n: usize,
        label: &str,
        contents: impl FnOnce() -> Vec<u8>,
    ) -> Arc<wgpu::Buffer> {
        use wgpu::util::DeviceExt;
        cache
            .lock()
            .unwrap()
            .entry(n)
            .or_insert_with(|| {
                Arc::new(
                    self.ctx
                        .device
                        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                            label: Some(label),
                            contents: &contents(),
                            usage: wgpu::BufferUsages::STORAGE,
                        }),
                )
            })
            .clone()
    }

    pub(super) fn record_fft_axis(
        &self,
        field: &GpuField,
        axis: usize,
        dir: FftDirection,
    ) -> Result<()> {
        let n = field.shape[axis];
        if n == 1 {
            return Ok(());
        }
        if stage_counts(n).is_none() {
            bail!(
                "GPU FFT length {n} (axis {axis}) is not supported: the GPU FFT takes lengths \
                 2^a·3^b·5^c (e.g. 96, 160, 256, 320); use such a length or --backend cpu"
            );
        }
        if n > self.max_fft_len_multipass() {
            bail!(
                "GPU FFT length {n} (axis {axis}) exceeds {}, the longest line the two-level \
                 FFT handles on this adapter",
                self.max_fft_len_multipass()
            );
        }
        if n > self.max_fft_len() && self.four_step_split(n).is_none() {
            bail!(
                "GPU FFT length {n} (axis {axis}) has no split n1·n2 with both factors at most \
                 {}, the longest line of one pass on this adapter",
                self.max_fft_len()
            );
        }
        self.record_axis_lines(field, axis, |buf, batch| {
            let lines = Lines {
                count: batch.count,
                stride: batch.stride,
            };
            self.record_line_fft(buf, n, lines, dir)
        })
    }

    /// FFT of length n of the lines in `buf`: one pass when a line fits in workgroup memory,
    /// else the four-step route.
    fn record_line_fft(
        &self,
        buf: &wgpu::Buffer,
        n: usize,
        lines: Lines,
        dir: FftDirection,
    ) -> Result<()> {
        if n <= self.max_fft_len() {
            return self.record_fft_lines(buf, n, lines, dir, None);
        }
        let Some((n1, n2)) = self.four_step_split(n) else {
            bail!("GPU FFT length {n}: no four-step split on this adapter");
        };
        let s = lines.stride;
        let across = Lines {
            count: lines.count * n2,
            stride: n2 * s,
        };
        self.record_fft_lines(buf, n1, across, dir, Some(Twist { n, div: s }))?;
        let along = Lines {
            count: lines.count * n1,
            stride: s,
        };
        self.record_fft_lines(buf, n2, along, dir, None)?;
        self.record_digit_transpose(buf, lines.count * n, n1, n2, s)
    }

    /// n = n1·n2 for the four-step route: n2 the largest divisor of n that one pass holds, so
    /// that n1 is as short as it can be; None when n1 would not fit in one pass either.
    fn four_step_split(&self, n: usize) -> Option<(usize, usize)> {
        let max = self.max_fft_len();
        let n2 = (1..=max.min(n)).rev().find(|d| n.is_multiple_of(*d))?;
        (n / n2 <= max).then_some((n / n2, n2))
    }

    fn record_fft_lines(
        &self,
        buf: &wgpu::Buffer,
        n: usize,
        lines: Lines,
        dir: FftDirection,
        twist: Option<Twist>,
    ) -> Result<()> {
        let lines_per_wg = (MIN_BLOCK / n).max(1);
        let pipeline = self.pipeline(Kernel::FFT_LINES, &fft_constants(n)?)?;
        let grid = self.grid_for(lines.count.div_ceil(lines_per_wg) as u64)?;
        let inverse = dir == FftDirection::Inverse;
        let params = FftParams {
            lines: lines.count as u32,
            stride: lines.stride as u32,
            groups_x: grid.0,
            inverse: inverse as u32,
            twist_n: twist.as_ref().map_or(0, |t| t.n as u32),
            twist_div: twist.as_ref().map_or(1, |t| t.div as u32),
            _pad: [0; 2],
        };
        let twiddles = self.twiddles(n);
        let twist_table = match &twist {
            Some(t) => self.twiddles(t.n),
            None => twiddles.clone(),
        };
        let digits = self.fft_digits(n)?;
        let storage = [(0, buf), (1, &*twiddles), (3, &*twist_table), (6, &*digits)];
        self.dispatch("fft", &pipeline, &storage, (2, &params), grid)
    }

    /// Reorders each line of n1·n2 elements (stride s) from k1·n2 + k2 to k2·n1 + k1, through
    /// the transpose scratch and back.
    fn record_digit_transpose(
        &self,
        buf: &wgpu::Buffer,
        total: usize,
        n1: usize,
        n2: usize,
        s: usize,
    ) -> Result<()> {
        let bytes = total as u64 * 8;
        let scratch = self.scratch("fft transpose", bytes);
        let pipeline = self.pipeline(Kernel::TRANSPOSE_DIGITS, &fft_constants(n2)?)?;
        let grid = self.grid_for(total.div_ceil(FFT_WG_SIZE as usize) as u64)?;
        let params = TransposeParams {
            total: total as u32,
            n1: n1 as u32,
            n2: n2 as u32,
            stride: s as u32,
            groups_x: grid.0,
            _pad: [0; 3],
        };
        let storage = [(0, buf), (4, &*scratch)];
        self.dispatch("fft transpose", &pipeline, &storage, (5, &params), grid)?;
        self.record_copy(&scratch, 0, buf, 0, bytes);
        Ok(())
    }
}

/// The f32 pair within one ulp of (c, s) whose modulus is closest to 1. Rounding cos and sin
/// separately leaves |w| off 1 by up to ~1e-7 with a bias that is the same for every
/// transform of a length, so a long evolution of unitary steps (forward and inverse FFTs
/// many times over) would shrink or grow the norm; the nearest pair of modulus ≈ 1 does not.
fn unit_f32(c: f64, s: f64) -> [f32; 2] {
    let near = |v: f64| {
        let r = v as f32;
        [r.next_down(), r, r.next_up()]
    };
    let mut best = [c as f32, s as f32];
    let mut best_key = (f64::INFINITY, f64::INFINITY);
    for cr in near(c) {
        for sr in near(s) {
            let modulus = (cr as f64).hypot(sr as f64);
            let distance = (cr as f64 - c).abs() + (sr as f64 - s).abs();
            let key = ((modulus - 1.0).abs(), distance);
            if key < best_key {
                best_key = key;
                best = [cr, sr];
            }
        }
    }
    best
}

/// Whether the GPU FFT takes lines of n points (n = 2^a·3^b·5^c), whatever the adapter.
pub fn supported_fft_len(n: usize) -> bool {
    stage_counts(n).is_some()
}

/// The smallest even length ≥ n that the GPU FFT takes.
pub fn next_fft_len(n: usize) -> usize {
    // Ends at the next power of two at the latest.
    let mut m = n.max(2).next_multiple_of(2);
    while !supported_fft_len(m) {
        m += 2;
    }
    m
}

/// The stages of a length-n FFT as counts of radix 4, 2, 3 and 5 (one radix-2 stage at most:
/// radix 4 does two of them with fewer barriers and multiplications); None when n has another
/// prime factor.
fn stage_counts(n: usize) -> Option<[u32; 4]> {
    if n == 0 {
        return None;
    }
    let mut rest = n;
    let mut exps = [0u32; 3];
    for (e, p) in exps.iter_mut().zip([2, 3, 5]) {
        while rest.is_multiple_of(p) {
            rest /= p;
            *e += 1;
        }
    }
    (rest == 1).then_some([exps[0] / 2, exps[0] % 2, exps[1], exps[2]])
}

/// Where input element j of a length-n line goes so that the kernel's in-place stages (radix 4,
/// 2, 3, 5 in that order) need no reordering: the last stage's radix r takes the r
/// subsequences j ≡ q (mod r) as contiguous blocks of n / r, and so on down.
fn digit_reversal(n: usize, [s4, s2, s3, s5]: [u32; 4]) -> Vec<u32> {
    let radices: Vec<usize> = [(4, s4), (2, s2), (3, s3), (5, s5)]
        .iter()
        .flat_map(|&(r, count)| std::iter::repeat_n(r, count as usize))
        .collect();
    (0..n)
        .map(|j| {
            let (mut pos, mut rest, mut len) = (0, j, n);
            for &r in radices.iter().rev() {
                len /= r;
                pos += (rest % r) * len;
                rest /= r;
            }
            pos as u32
        })
        .collect()
}

/// Compile-time sizes of the FFT kernel for lines of length n.
fn fft_constants(n: usize) -> Result<[(&'static str, u32); 7]> {
    let Some([s4, s2, s3, s5]) = stage_counts(n) else {
        bail!("GPU FFT length {n} is not of the form 2^a·3^b·5^c");
    };
    Ok([
        ("LEN", n as u32),
        ("LINES_PER_WG", (MIN_BLOCK / n).max(1) as u32),
        ("WG_SIZE", FFT_WG_SIZE),
        ("STAGES4", s4),
        ("STAGES2", s2),
        ("STAGES3", s3),
        ("STAGES5", s5),
    ])
}

/// The Rust twins of this file's WGSL params structs (checked in `shaders::tests`).
#[cfg(test)]
pub(crate) fn params_layouts() -> Vec<crate::gpu::shaders::ParamsLayout> {
    vec![
        params_layout!(FftParams {
            lines,
            stride,
            groups_x,
            inverse,
            twist_n,
            twist_div
        }),
        params_layout!(TransposeParams {
            total,
            n1,
            n2,
            stride,
            groups_x
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_and_lengths() {
        assert_eq!(stage_counts(1), Some([0, 0, 0, 0]));
        assert_eq!(stage_counts(8), Some([1, 1, 0, 0]));
        assert_eq!(stage_counts(160), Some([2, 1, 0, 1]));
        assert_eq!(stage_counts(480), Some([2, 1, 1, 1]));
        assert_eq!(stage_counts(14), None);
        assert_eq!(stage_counts(0), None);
        assert_eq!(next_fft_len(1), 2);
        assert_eq!(next_fft_len(97), 100);
        assert_eq!(next_fft_len(161), 162);
        assert_eq!(next_fft_len(127), 128);
    }

    #[test]
    fn digit_reversal_is_a_permutation() {
        let table = |n| digit_reversal(n, stage_counts(n).unwrap());
        // 8 = 4·2: the radix-2 stage last takes the even and odd j as halves.
        assert_eq!(table(8), [0, 4, 1, 5, 2, 6, 3, 7]);
        // 6 = 2·3: the radix-3 stage last takes j mod 3 as blocks of 2.
        assert_eq!(table(6), [0, 2, 4, 1, 3, 5]);
        for n in [1, 2, 4, 12, 60, 160, 480, 1000] {
            let mut t = table(n);
            t.sort_unstable();
            assert!(
                t.iter().enumerate().all(|(i, &v)| v as usize == i),
                "n = {n}"
            );
        }
    }
}
