//! The line shifts and phase-space reductions of `kernels::Advection`, in f64: the reference the
//! WGSL kernels are tested against.

use anyhow::{bail, Result};
use rayon::prelude::*;

use super::lines::{for_each_line, SharedMut};
use super::{CpuBackend, CpuData, CpuField};
use crate::backend::FieldInfo;
use crate::field::strides_of;
use crate::kernels::{
    check_group, check_momenta, check_shift, check_sum_inner, lagrange_weights, split_shift,
    Advection, GroupPath, LineBoundary, LineShift, MomentumAxes, PhaseSums, MAX_DEGREE,
};

/// The largest tile a fused group pass works on (2 MiB of f64): whole lines of every axis of
/// the group must fit, and the tile should stay in the core's cache while all its shifts run.
const MAX_TILE_ELEMS: usize = 1 << 18;

/// The tile size a fused pass over leading axes aims at (256 KiB of f64, about a core's L2):
/// the position block times as many trailing columns as fit.
const TARGET_TILE_ELEMS: usize = 1 << 15;

/// Neighbouring lines with one shift that go row by row (`shift_rows`); shorter runs (lines
/// whose shifts differ from their neighbours', as along x_i when p_i is the fastest axis) are
/// gathered and shifted one line at a time.
const MIN_ROW_RUN: usize = 4;

/// How a group of axes is tiled on the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tiling {
    /// The group's axes lie in the trailing axes from `first` on: tiles are the contiguous
    /// blocks of `span` = Π shape[first..] elements (a kick: one position's momentum block).
    Trailing { first: usize, span: usize },
    /// The group's axes lie before `end`: a tile is the whole block of Π shape[..end] leading
    /// indices times a run of `width` of the `columns` = Π shape[end..] trailing elements,
    /// gathered (rows of `width` contiguous elements) into a buffer (a drift: all positions for
    /// a run of momenta).
    Leading {
        end: usize,
        block: usize,
        columns: usize,
        width: usize,
    },
}

fn tiling(shape: &[usize], axes: &[usize]) -> std::result::Result<Tiling, String> {
    let (Some(&lo), Some(&hi)) = (axes.iter().min(), axes.iter().max()) else {
        return Err("an empty group".into());
    };
    let span: usize = shape[lo..].iter().product();
    if lo > 0 && span <= MAX_TILE_ELEMS {
        return Ok(Tiling::Trailing { first: lo, span });
    }
    let end = hi + 1;
    let block: usize = shape[..end].iter().product();
    if end < shape.len() && block <= MAX_TILE_ELEMS {
        let columns: usize = shape[end..].iter().product();
        let width = (TARGET_TILE_ELEMS / block).clamp(1, columns);
        return Ok(Tiling::Leading {
            end,
            block,
            columns,
            width,
        });
    }
    Err(format!(
        "no tile of at most {MAX_TILE_ELEMS} elements holds whole lines of axes {axes:?} of \
         shape {shape:?}"
    ))
}

/// Scratch of one worker of a fused pass.
#[derive(Default)]
struct TileScratch {
    /// The gathered tile (leading tilings).
    tile: Vec<f64>,
    /// Output rows of one row sweep.
    out: Vec<f64>,
    /// A row of zeros (what lies beyond a zero boundary).
    zeros: Vec<f64>,
    /// One line with its halo (`shift_line`).
    ext: Vec<f64>,
    /// One strided line gathered.
    line: Vec<f64>,
    /// Per column of a strided sweep: the shift's bits, its stencil offset and weights.
    columns: Vec<(u64, i64, [f64; MAX_DEGREE + 1])>,
    w: [f64; MAX_DEGREE + 1],
}

/// Shifts the `n` rows t[start + r·stride ..][..width] (r = 0..n, the points of lines along
/// one axis, `width` neighbouring lines side by side) by one shift `s`. Each element gets
/// exactly the arithmetic of `shift_line` (the same weights, the same increment form in the
/// same order), but a whole row at a time: a streaming, vectorisable weighted sum of rows.
#[allow(clippy::too_many_arguments)]
fn shift_rows(
    t: &mut [f64],
    start: usize,
    n: usize,
    stride: usize,
    width: usize,
    s: f64,
    degree: usize,
    boundary: LineBoundary,
    scratch: &mut TileScratch,
) {
    let (k, alpha) = split_shift(s);
    lagrange_weights(degree, alpha, &mut scratch.w);
    let lo = (degree as i64 - 1) / 2;
    scratch.out.resize(n * width, 0.0);
    scratch.zeros.resize(width, 0.0);
    let (out, zeros, w) = (&mut scratch.out, &scratch.zeros, &scratch.w[..=degree]);
    let ni = n as i64;
    let row = |r: i64| -> &[f64] {
        let r = match boundary {
            LineBoundary::Periodic => r.rem_euclid(ni),
            LineBoundary::Zero if (0..ni).contains(&r) => r,
            LineBoundary::Zero => return zeros,
        } as usize;
        &t[start + r * stride..][..width]
    };
    for (j, o) in out.chunks_exact_mut(width).enumerate() {
        // Output j reads old points j − k − lo + m; the base point (m = lo) is j − k.
        let first = j as i64 - k - lo;
        let base = row(j as i64 - k);
        o.fill(0.0);
        for (m, wm) in w.iter().enumerate() {
            let v = row(first + m as i64);
            for ((acc, x), b) in o.iter_mut().zip(v).zip(base) {
                *acc += wm * (x - b);
            }
        }
        for (acc, b) in o.iter_mut().zip(base) {
            *acc += b;
        }
    }
    for (j, o) in out.chunks_exact(width).enumerate() {
        t[start + j * stride..][..width].copy_from_slice(o);
    }
}

/// One shift along `axis` of a tile of shape `shape` held contiguously in `t`, on one thread:
/// `shift_at(e)` is the shift of the line through tile element e. Contiguous lines go through
/// `shift_line`; on a strided axis, runs of at least `MIN_ROW_RUN` neighbouring lines with
/// equal shifts go row by row (`shift_rows`), other lines one at a time.
fn sweep_tile(
    t: &mut [f64],
    shape: &[usize],
    axis: usize,
    degree: usize,
    boundary: LineBoundary,
    shift_at: &dyn Fn(usize) -> f64,
    scratch: &mut TileScratch,
) {
    let n = shape[axis];
    let stride = strides_of(shape)[axis];
    let outer = t.len() / (n * stride);
    let (mut last_shift, mut last_k) = (None::<f64>, 0);
    // Column weights are kept for this sweep only; the cache is filled on the first column
    // that needs it (row sweeps and contiguous lines never do).
    scratch.columns.clear();
    for o in 0..outer {
        let base = o * n * stride;
        if stride == 1 {
            // Contiguous lines: the weights are recomputed only when the shift changes (a
            // kick's lines in one momentum block all share one).
            let s = shift_at(base);
            if last_shift.map(f64::to_bits) != Some(s.to_bits()) {
                let (k, alpha) = split_shift(s);
                lagrange_weights(degree, alpha, &mut scratch.w);
                last_shift = Some(s);
                last_k = k;
            }
            shift_line_weighted(
                &mut t[base..base + n],
                last_k,
                &scratch.w[..=degree],
                boundary,
                &mut scratch.ext,
            );
            continue;
        }
        let mut c = 0;
        while c < stride {
            let s = shift_at(base + c);
            let mut e = c + 1;
            while e < stride && shift_at(base + e).to_bits() == s.to_bits() {
                e += 1;
            }
            if e - c >= MIN_ROW_RUN {
                shift_rows(t, base + c, n, stride, e - c, s, degree, boundary, scratch);
            } else {
                if scratch.columns.len() < stride {
                    // No shift has these bits (a NaN): each column computes its weights once.
                    scratch
                        .columns
                        .resize(stride, (u64::MAX, 0, [0.0; MAX_DEGREE + 1]));
                }
                for col in c..e {
                    let s = shift_at(base + col);
                    // Weights per column, kept while the column's shift stays the same (a
                    // drift along x_i within a tile: one shift per p_i, repeated over the
                    // outer blocks).
                    let cached = &mut scratch.columns[col];
                    if cached.0 != s.to_bits() {
                        let (k, alpha) = split_shift(s);
                        lagrange_weights(degree, alpha, &mut cached.2);
                        *cached = (s.to_bits(), k, cached.2);
                    }
                    let (_, k, w) = *cached;
                    let at = base + col;
                    let mut line = std::mem::take(&mut scratch.line);
                    line.clear();
                    line.extend((0..n).map(|r| t[at + r * stride]));
                    shift_line_weighted(&mut line, k, &w[..=degree], boundary, &mut scratch.ext);
                    for (r, v) in line.iter().enumerate() {
                        t[at + r * stride] = *v;
                    }
                    scratch.line = line;
                }
            }
            c = e;
        }
    }
}

fn real(f: &CpuField) -> Result<&[f64]> {
    match &f.data {
        CpuData::Real(v) => Ok(v),
        CpuData::Complex(_) => bail!("expected a real field"),
    }
}

fn real_mut(f: &mut CpuField) -> Result<&mut [f64]> {
    match &mut f.data {
        CpuData::Real(v) => Ok(v),
        CpuData::Complex(_) => bail!("expected a real field"),
    }
}

/// Shifts one line (see `LineShift`) in place. `ext` is scratch for the line with its halo
/// (periodic images or zeros) so that the inner loop is a plain weighted sum; `w` holds the
/// weights.
pub fn shift_line(
    line: &mut [f64],
    s: f64,
    degree: usize,
    boundary: LineBoundary,
    ext: &mut Vec<f64>,
    w: &mut [f64],
) {
    let (k, alpha) = split_shift(s);
    lagrange_weights(degree, alpha, w);
    shift_line_weighted(line, k, &w[..=degree], boundary, ext);
}

/// `shift_line` with the stencil offset `k` and the weights `w` (degree + 1 of them) given,
/// for lines that share one shift.
fn shift_line_weighted(
    line: &mut [f64],
    k: i64,
    w: &[f64],
    boundary: LineBoundary,
    ext: &mut Vec<f64>,
) {
    let n = line.len() as i64;
    let degree = w.len() - 1;
    let lo = (degree as i64 - 1) / 2;
    // Output j reads old points j − k − lo + m, m = 0..=degree: the window
    // [−k − lo, n − 1 − k − lo + degree], held in ext with offset `first`.
    let first = -k - lo;
    let len = n + degree as i64;
    ext.clear();
    match boundary {
        LineBoundary::Periodic => {
            // Whole runs of the periodic images, copied slice by slice.
            let mut i = first;
            while i < first + len {
                let at = i.rem_euclid(n);
                let run = (n - at).min(first + len - i);
                ext.extend_from_slice(&line[at as usize..(at + run) as usize]);
                i += run;
            }
        }
        LineBoundary::Zero => {
            ext.extend((first..first + len).map(|i| {
                if (0..n).contains(&i) {
                    line[i as usize]
                } else {
                    0.0
                }
            }));
        }
    }
    // Increment form, as in advect.wgsl: mass is kept whatever the rounding of the weights.
    // Tap by tap over the whole line (independent outputs side by side, so the sum
    // vectorises), each output adding its taps in order m = 0..=degree.
    let lo = lo as usize;
    let base = &ext[lo..lo + line.len()];
    line.fill(0.0);
    for (m, wm) in w.iter().enumerate() {
        let taps = &ext[m..m + line.len()];
        for ((acc, v), b) in line.iter_mut().zip(taps).zip(base) {
            *acc += wm * (v - b);
        }
    }
    for (acc, b) in line.iter_mut().zip(base) {
        *acc += b;
    }
}

impl Advection for CpuBackend {
    fn shift_lines(&self, f: &mut CpuField, table: &CpuField, shift: &LineShift) -> Result<()> {
        check_shift(f, table, shift)?;
        let table = real(table)?;
        let shape = f.shape().to_vec();
        let n = shape[shift.axis];
        let data = real_mut(f)?;
        for_each_line(
            data,
            &shape,
            shift.axis,
            || {
                (
                    Vec::with_capacity(n + MAX_DEGREE + 1),
                    [0.0; MAX_DEGREE + 1],
                )
            },
            |(ext, w), lines, origins| {
                for (line, &origin) in lines.chunks_exact_mut(n).zip(origins) {
                    let s = shift.scale * table[(origin / shift.table_div) % table.len()];
                    shift_line(line, s, shift.degree, shift.boundary, ext, w);
                }
            },
        );
        Ok(())
    }

    fn group_path(&self, shape: &[usize], axes: &[usize]) -> GroupPath {
        match tiling(shape, axes) {
            Ok(Tiling::Trailing { span, .. }) => GroupPath::Fused { tile_elems: span },
            Ok(Tiling::Leading { block, width, .. }) => GroupPath::Fused {
                tile_elems: block * width,
            },
            Err(reason) => GroupPath::PerAxis { reason },
        }
    }

    fn shift_group(&self, f: &mut CpuField, group: &[(&CpuField, LineShift)]) -> Result<()> {
        check_group(f, group)?;
        let shape = f.shape().to_vec();
        let axes: Vec<usize> = group.iter().map(|(_, s)| s.axis).collect();
        let Ok(tiling) = tiling(&shape, &axes) else {
            for (table, shift) in group {
                self.shift_lines(f, table, shift)?;
            }
            return Ok(());
        };
        let tables: Vec<&[f64]> = group.iter().map(|(t, _)| real(t)).collect::<Result<_>>()?;
        // The shift of the line through global element e, as `shift_lines` computes it.
        let shift_of = |k: usize, e: usize| -> f64 {
            let (table, shift) = (tables[k], &group[k].1);
            shift.scale * table[(e / shift.table_div) % table.len()]
        };
        let data = real_mut(f)?;
        match tiling {
            Tiling::Trailing { first, span } => {
                let tile_shape = &shape[first..];
                data.par_chunks_mut(span).enumerate().for_each_init(
                    TileScratch::default,
                    |scratch, (i, tile)| {
                        for (k, (_, shift)) in group.iter().enumerate() {
                            let at = |e: usize| shift_of(k, i * span + e);
                            sweep_tile(
                                tile,
                                tile_shape,
                                shift.axis - first,
                                shift.degree,
                                shift.boundary,
                                &at,
                                scratch,
                            );
                        }
                    },
                );
            }
            Tiling::Leading {
                end,
                block,
                columns,
                width,
            } => {
                let runs = columns.div_ceil(width);
                let ptr = SharedMut(data.as_mut_ptr());
                (0..runs)
                    .into_par_iter()
                    .for_each_init(TileScratch::default, |scratch, run| {
                        // Capture the whole wrapper (which is Send), not its raw-pointer field.
                        #[allow(clippy::redundant_locals)]
                        let ptr = ptr;
                        let c0 = run * width;
                        let w = width.min(columns - c0);
                        let mut tile = std::mem::take(&mut scratch.tile);
                        tile.resize(block * w, 0.0);
                        // SAFETY: this task owns columns c0..c0 + w of every leading index,
                        // which no other task reads or writes; all indices are in bounds.
                        unsafe {
                            for (b, row) in tile.chunks_exact_mut(w).enumerate() {
                                let src = ptr.0.add(b * columns + c0);
                                row.copy_from_slice(std::slice::from_raw_parts(src, w));
                            }
                        }
                        let mut tile_shape = shape[..end].to_vec();
                        tile_shape.push(w);
                        for (k, (_, shift)) in group.iter().enumerate() {
                            let at = |e: usize| shift_of(k, e / w * columns + c0 + e % w);
                            sweep_tile(
                                &mut tile,
                                &tile_shape,
                                shift.axis,
                                shift.degree,
                                shift.boundary,
                                &at,
                                scratch,
                            );
                        }
                        unsafe {
                            for (b, row) in tile.chunks_exact(w).enumerate() {
                                let dst = ptr.0.add(b * columns + c0);
                                std::slice::from_raw_parts_mut(dst, w).copy_from_slice(row);
                            }
                        }
                        scratch.tile = tile;
                    });
            }
        }
        Ok(())
    }

    fn sum_inner(&self, f: &CpuField, out: &mut CpuField, scale: f64) -> Result<()> {
        let inner = check_sum_inner(f, out)?;
        let src = real(f)?;
        real_mut(out)?
            .par_iter_mut()
            .zip(src.par_chunks_exact(inner))
            .for_each(|(o, block)| *o = scale * block.iter().sum::<f64>());
        Ok(())
    }

    fn phase_sums(&self, f: &CpuField, momenta: &MomentumAxes) -> Result<PhaseSums> {
        let d = check_momenta(f, momenta)?;
        let np: usize = momenta.n.iter().product();
        let data = real(f)?;
        let identity = || PhaseSums {
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            ..Default::default()
        };
        // Per momentum block, then merged in order (the same bits on every run).
        let blocks: Vec<PhaseSums> = data
            .par_chunks(np)
            .map(|block| {
                let mut s = identity();
                for (q, &v) in block.iter().enumerate() {
                    let mut rest = q;
                    let mut p2 = 0.0;
                    for i in (0..d).rev() {
                        let k = rest % momenta.n[i];
                        rest /= momenta.n[i];
                        let p = momenta.p_min[i] + k as f64 * momenta.dp[i];
                        s.momentum[i] += v * p;
                        p2 += p * p;
                    }
                    s.sum += v;
                    s.abs_sum += v.abs();
                    s.sum_sq += v * v;
                    if v > 0.0 {
                        s.f_log_f += v * v.ln();
                    }
                    s.p_sq += v * p2;
                    s.min = s.min.min(v);
                    s.max = s.max.max(v);
                }
                s
            })
            .collect();
        let mut sums = blocks.into_iter().fold(identity(), |a, b| PhaseSums {
            count: 0,
            sum: a.sum + b.sum,
            abs_sum: a.abs_sum + b.abs_sum,
            sum_sq: a.sum_sq + b.sum_sq,
            f_log_f: a.f_log_f + b.f_log_f,
            momentum: [0, 1, 2].map(|i| a.momentum[i] + b.momentum[i]),
            p_sq: a.p_sq + b.p_sq,
            min: a.min.min(b.min),
            max: a.max.max(b.max),
        });
        sums.count = data.len();
        Ok(sums)
    }
}
