//! The line shifts and phase-space reductions of `kernels::Advection`, in f64: the reference the
//! WGSL kernels are tested against.

use anyhow::{bail, Result};
use rayon::prelude::*;

use super::lines::SharedMut;
use super::simd::simd_dispatch;
use super::{CpuBackend, CpuData, CpuField};
use crate::backend::FieldInfo;
use crate::field::{gcd, strides_of};
use crate::kernels::{
    check_group, check_momenta, check_shift, check_sum_inner, lagrange_weights, split_shift,
    Advection, GroupPath, LineBoundary, LineShift, MomentumAxes, PhaseSums, MAX_DEGREE,
};

/// The largest tile a fused group pass works on (2 MiB of f64): whole lines of every axis of
/// the group must fit, and the tile should stay in the core's cache while all its shifts run.
const MAX_TILE_ELEMS: usize = 1 << 18;

/// The tile size a fused pass over leading axes aims at (1 MiB of f64, half a 2 MiB L2): the
/// position block times as many trailing columns as fit, in whole cache lines (`ROW_ALIGN`).
const TARGET_TILE_ELEMS: usize = 1 << 17;

/// A leading tile's rows are a multiple of 8 columns (64 B, a cache line) where the field's
/// rows allow it: narrower rows would share cache lines with the next tile's and read them
/// twice.
const ROW_ALIGN: usize = 8;

/// A leading tile's rows are at least this many elements (rounded up to whole lines of a short
/// last axis) where the columns allow, even when the tile then outgrows `TARGET_TILE_ELEMS`:
/// its rows are gathered from strides of a whole trailing block, and rows of one or two cache
/// lines run at a fraction of copy speed (24⁶ on 2 cores: rows of 8 → 48 elements took the
/// drift pass from 1.3 to 0.9 s), while a tile beyond the core's L2 still mostly hits the
/// shared L3.
const MIN_ROW_ELEMS: usize = 32;

/// A drift's leading tiles are at most 1/`MIN_TILES` of the columns wide where that leaves
/// whole cache lines.
const MIN_TILES: usize = 8;

/// f64 lanes the row kernels handle at a time: one AVX-512 vector, two AVX2 ones.
const LANES: usize = 8;

/// Taps of a widened stencil at most (`prepare_columns`).
const MAX_TAPS: usize = MAX_DEGREE + 1 + MAX_SPREAD as usize;

/// A row sweep works on column chunks of about this many elements (32 KiB of f64 read and as
/// much written), which stay in the core's first caches.
const ROW_CHUNK_ELEMS: usize = 4096;

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
        // At least `MIN_TILES` tiles where the columns allow, so that the threads share the
        // work evenly on small arrays.
        let share = (columns / MIN_TILES).max(ROW_ALIGN);
        let target = TARGET_TILE_ELEMS / block;
        let wide = if target >= MIN_ROW_ELEMS {
            target
        } else {
            // Whole lines of the last axis where they are short, so that the tile's columns
            // keep the fewest distinct shifts.
            let last = shape[shape.len() - 1];
            let unit = if last <= MIN_ROW_ELEMS {
                last
            } else {
                ROW_ALIGN
            };
            MIN_ROW_ELEMS.next_multiple_of(unit)
        };
        let mut width = wide.min(share).clamp(1, columns);
        if width >= ROW_ALIGN && columns.is_multiple_of(ROW_ALIGN) {
            width -= width % ROW_ALIGN;
        } else if columns.is_multiple_of(ROW_ALIGN) && block * ROW_ALIGN <= MAX_TILE_ELEMS {
            width = ROW_ALIGN;
        }
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
    /// The tile a sweep reads and the one it writes (a leading tile is gathered into the
    /// first).
    tile: Vec<f64>,
    tile2: Vec<f64>,
    /// A row of zeros (what lies beyond a zero boundary).
    zeros: Vec<f64>,
    /// Lines with their halos (`shift_line`, `shift_contiguous_lines`).
    ext: Vec<f64>,
    /// Rows of a column chunk with their halo (`shift_strips`).
    pad: Vec<f64>,
    /// One strided line gathered.
    line: Vec<f64>,
    /// The flat sum over a buffer of lines with their halos (`shift_contiguous_lines`).
    flat: Vec<f64>,
    /// Lines with zero gaps between them (`shift_gapped_lines`), and their layout.
    gapped: Vec<f64>,
    gap_layout: Option<GapLayout>,
    /// Per column of a strided sweep: the shift's bits, its stencil offset and weights.
    columns: Vec<(u64, i64, [f64; MAX_DEGREE + 1])>,
    w: [f64; MAX_DEGREE + 1],
    /// Weights per tile column, tap-major (`SweepShift::Columns`): tap m of column c at
    /// m·columns + c.
    column_weights: Vec<f64>,
    /// What `column_weights` were prepared for (`prepared_columns`).
    prepared: Option<PreparedFor>,
    /// The rows each output reads (`row_table`).
    rows: Vec<Option<usize>>,
}

/// How the shift of one sweep over a tile varies from line to line.
#[derive(Clone, Copy)]
enum SweepShift<'a> {
    /// One shift for every line of the tile (a kick: the momentum block of one position).
    Uniform(f64),
    /// One shift per column of the tile's last axis, which the sweep does not shift (a drift:
    /// the shift along x_i follows p_i, and a leading tile's columns are momenta).
    Columns(&'a [f64]),
    /// Any other: the shift of the line through tile element e.
    General(&'a dyn Fn(usize) -> f64),
}

impl<'a> SweepShift<'a> {
    /// Columns that all share one shift are a uniform sweep.
    #[inline(always)]
    fn simplified(&self) -> SweepShift<'a> {
        match *self {
            SweepShift::Columns(c) if c.iter().all(|s| s.to_bits() == c[0].to_bits()) => {
                SweepShift::Uniform(c[0])
            }
            other => other,
        }
    }

    /// The shift of the line through tile element e.
    #[inline(always)]
    fn at(&self, e: usize) -> f64 {
        match self {
            SweepShift::Uniform(s) => *s,
            SweepShift::Columns(c) => c[e % c.len()],
            SweepShift::General(f) => f(e),
        }
    }
}

/// The weights of the taps of `weighted_sum`: one per tap for every output, or one per tap
/// and output.
trait TapWeights {
    /// The weight of tap m for outputs i..i + LANES.
    fn lanes(&self, m: usize, i: usize) -> [f64; LANES];
    /// The weight of tap m for output i.
    fn one(&self, m: usize, i: usize) -> f64;
}

/// One weight per tap.
impl TapWeights for &[f64] {
    #[inline(always)]
    fn lanes(&self, m: usize, _: usize) -> [f64; LANES] {
        [self[m]; LANES]
    }
    #[inline(always)]
    fn one(&self, m: usize, _: usize) -> f64 {
        self[m]
    }
}

/// o[i] = Σ_m w_m·taps[m][i], the taps added in order m = 0, 1, … (a Lagrange stencil in f64),
/// for neighbouring outputs side by side. `LANES` outputs at a time accumulate in registers,
/// so each output is written once and each tap read once. One product and one addition per
/// tap: they go to separate pipes, as fast as a fused multiply-add and the same bits on every
/// machine. (The f32 GPU kernels use the increment form b + Σ w_m·(t_m − b) instead, whose sum
/// keeps the mass of a periodic line whatever the rounding of the weights; in f64 the weights
/// sum to 1 within an ulp, and the increment form's extra subtraction per tap made the CPU
/// passes add-bound.)
#[inline(always)]
fn weighted_sum(o: &mut [f64], taps: &[&[f64]], w: impl TapWeights) {
    let n = o.len();
    // Four vectors at a time, then two, then one: independent chains of additions hide
    // their latency.
    let mut i = weighted_blocks::<4>(o, taps, &w, 0);
    i = weighted_blocks::<2>(o, taps, &w, i);
    i = weighted_blocks::<1>(o, taps, &w, i);
    for i in i..n {
        let mut acc = w.one(0, i) * taps[0][i];
        for (m, tap) in taps.iter().enumerate().skip(1) {
            acc += w.one(m, i) * tap[i];
        }
        o[i] = acc;
    }
}

/// `weighted_sum` on blocks of `Q` vectors from output `i` on, as long as whole blocks fit;
/// returns the first output not done.
#[inline(always)]
fn weighted_blocks<const Q: usize>(
    o: &mut [f64],
    taps: &[&[f64]],
    w: &impl TapWeights,
    mut i: usize,
) -> usize {
    let n = o.len();
    while i + Q * LANES <= n {
        let mut acc = [[0.0; LANES]; Q];
        for (q, aq) in acc.iter_mut().enumerate() {
            let v: [f64; LANES] = taps[0][i + q * LANES..][..LANES].try_into().unwrap();
            let w0 = w.lanes(0, i + q * LANES);
            for l in 0..LANES {
                aq[l] = w0[l] * v[l];
            }
        }
        for (m, tap) in taps.iter().enumerate().skip(1) {
            let tap = &tap[i..i + Q * LANES];
            for (q, aq) in acc.iter_mut().enumerate() {
                let v: [f64; LANES] = tap[q * LANES..][..LANES].try_into().unwrap();
                let wm = w.lanes(m, i + q * LANES);
                for l in 0..LANES {
                    aq[l] += wm[l] * v[l];
                }
            }
        }
        for (q, aq) in acc.iter().enumerate() {
            o[i + q * LANES..][..LANES].copy_from_slice(aq);
        }
        i += Q * LANES;
    }
    i
}

/// Shifts the `n` rows src[start + o·n·stride + r·stride ..][..width] (r = 0..n, the points of
/// lines along one axis, `width` neighbouring lines side by side, in `outer` blocks o) by one
/// shift, given by its stencil offset `k` and weights `w`, into the same rows of `dst`. Each
/// element gets exactly the arithmetic of `shift_line` (the same weights, the same products
/// added in the same order), but a whole row at a time: a streaming, vectorisable weighted sum
/// of rows.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn shift_rows(
    src: &[f64],
    dst: &mut [f64],
    start: usize,
    n: usize,
    stride: usize,
    width: usize,
    outer: usize,
    k: i64,
    w: &[f64],
    boundary: LineBoundary,
    scratch: &mut TileScratch,
) {
    let lo = (w.len() as i64 - 2) / 2;
    // Column chunks of about `ROW_CHUNK_ELEMS` elements over all n rows.
    let chunk = (ROW_CHUNK_ELEMS / n).next_multiple_of(4 * LANES).min(width);
    scratch.zeros.resize(chunk, 0.0);
    let zeros = &scratch.zeros;
    let rows = row_table(n, k, lo, w.len() - 1, boundary, &mut scratch.rows);
    // Where a block's rows are whole and fit one chunk (short lines, as along the middle axes
    // of a momentum block), the outputs whose taps all lie inside the line are one contiguous
    // run: one weighted sum over all of them instead of a short one per row.
    let interior = if chunk == width && width == stride {
        interior_rows(n, k, lo, w.len())
    } else {
        0..0
    };
    for o in 0..outer {
        let start = start + o * n * stride;
        if !interior.is_empty() {
            let (ja, len) = (interior.start, interior.len() * stride);
            let from = |r: i64| start + (r as usize) * stride;
            let mut taps: [&[f64]; MAX_DEGREE + 1] = [&[]; MAX_DEGREE + 1];
            for (m, tap) in taps[..w.len()].iter_mut().enumerate() {
                *tap = &src[from(ja as i64 - k - lo + m as i64)..][..len];
            }
            let o = &mut dst[start + ja * stride..][..len];
            weighted_sum(o, &taps[..w.len()], w);
        }
        for c0 in (0..width).step_by(chunk) {
            let cw = chunk.min(width - c0);
            let mut taps: [&[f64]; MAX_DEGREE + 1] = [&[]; MAX_DEGREE + 1];
            let row = |r: Option<usize>| -> &[f64] {
                match r {
                    Some(r) => &src[start + r * stride + c0..][..cw],
                    None => &zeros[..cw],
                }
            };
            for j in (0..n).filter(|j| !interior.contains(j)) {
                // Output j reads old points j − k − lo + m (`rows[j + m]`).
                for (tap, &r) in taps.iter_mut().zip(&rows[j..j + w.len()]) {
                    *tap = row(r);
                }
                let o = &mut dst[start + j * stride + c0..][..cw];
                weighted_sum(o, &taps[..w.len()], w);
            }
        }
    }
}

/// The outputs j of a line of n points whose `taps` taps, rows j − k − lo + m for
/// m = 0..taps, all lie inside the line (no wrap, no zero beyond an end).
fn interior_rows(n: usize, k: i64, lo: i64, taps: usize) -> std::ops::Range<usize> {
    let a = (k + lo).clamp(0, n as i64);
    let b = (n as i64 + 1 - taps as i64 + k + lo).clamp(a, n as i64);
    a as usize..b as usize
}

/// The rows that output j of a shift with stencil offset `k` reads: `rows[j + m]` is old row
/// j − k − lo + m (m = 0..=degree) on a line of n points, wrapped (periodic) or `None` (zero
/// beyond the ends), for j = 0..n.
fn row_table(
    n: usize,
    k: i64,
    lo: i64,
    degree: usize,
    boundary: LineBoundary,
    rows: &mut Vec<Option<usize>>,
) -> &[Option<usize>] {
    let ni = n as i64;
    rows.clear();
    rows.extend((0..(n + degree) as i64).map(|i| {
        let r = i - k - lo;
        match boundary {
            LineBoundary::Periodic => Some(r.rem_euclid(ni) as usize),
            LineBoundary::Zero => (0..ni).contains(&r).then_some(r as usize),
        }
    }));
    rows
}

/// The stencil offset and the Lagrange weights (the first degree + 1) of a shift s.
#[inline(always)]
fn stencil(s: f64, degree: usize) -> (i64, [f64; MAX_DEGREE + 1]) {
    let (k, alpha) = split_shift(s);
    let mut w = [0.0; MAX_DEGREE + 1];
    lagrange_weights(degree, alpha, &mut w);
    (k, w)
}

/// The largest spread kmax − kmin of the stencil offsets of one column sweep
/// (`shift_strips`); wider spreads go in runs of columns.
const MAX_SPREAD: i64 = 4;

/// (kmin, kmax) over the stencil offsets of the shifts `c`.
fn offset_range(c: &[f64]) -> (i64, i64) {
    c.iter().fold((i64::MAX, i64::MIN), |(lo, hi), &s| {
        let k = split_shift(s).0;
        (lo.min(k), hi.max(k))
    })
}

/// kmax − kmin over the stencil offsets of the shifts `c`.
fn spread(c: &[f64]) -> i64 {
    let (kmin, kmax) = offset_range(c);
    kmax - kmin
}

/// The widened stencil of a column sweep (`prepare_columns`): union tap m of output j is old
/// row j − kmax − lo + m, m = 0..taps.
#[derive(Clone, Copy)]
struct ColumnStencil {
    kmax: i64,
    taps: usize,
}

/// The column shifts (their bits), degree and chunk that a worker's prepared column weights
/// belong to, and the stencil they make.
struct PreparedFor {
    bits: Vec<u64>,
    degree: usize,
    chunk: usize,
    stencil: ColumnStencil,
}

impl PreparedFor {
    /// Whether these are the weights of the shifts `c` at this degree.
    fn holds(&self, c: &[f64], degree: usize) -> bool {
        self.degree == degree
            && self.bits.len() == c.len()
            && self.bits.iter().zip(c).all(|(b, s)| *b == s.to_bits())
    }
}

/// Whether the worker's prepared column weights belong to the shifts `c` of this degree.
fn is_prepared(c: &[f64], degree: usize, scratch: &TileScratch) -> bool {
    scratch
        .prepared
        .as_ref()
        .is_some_and(|p| p.holds(c, degree))
}

/// `prepare_columns`, unless the worker last prepared the same shifts, degree and chunk: the
/// tasks of a strided sweep mostly see one pattern of column shifts again and again (the
/// drift along x_i follows p_i, which repeats along the row), and preparing costs as much as
/// shifting a short task.
fn prepared_columns(
    c: &[f64],
    degree: usize,
    chunk: usize,
    scratch: &mut TileScratch,
) -> ColumnStencil {
    if let Some(p) = &scratch.prepared {
        if p.chunk == chunk && p.holds(c, degree) {
            return p.stencil;
        }
    }
    let stencil = prepare_columns(c, degree, chunk, scratch);
    scratch.prepared = Some(PreparedFor {
        bits: c.iter().map(|s| s.to_bits()).collect(),
        degree,
        chunk,
        stencil,
    });
    stencil
}

/// Sets up `shift_strips` for the column shifts `c`, repeated over a chunk of
/// `chunk` columns. Columns whose stencil offsets differ share one widened stencil: the
/// union of their windows, rows j − kmax − lo + m for m = 0..taps, each column's own weights
/// placed at its own rows and zeros elsewhere. The zero taps add ±0 to a column's sum, so
/// each output is what `shift_line` gives (up to the sign of a zero result).
fn prepare_columns(
    c: &[f64],
    degree: usize,
    chunk: usize,
    scratch: &mut TileScratch,
) -> ColumnStencil {
    // Whatever was prepared before is overwritten.
    scratch.prepared = None;
    let columns = c.len();
    let (kmin, kmax) = offset_range(c);
    let taps = degree + 1 + (kmax - kmin) as usize;
    scratch.column_weights.clear();
    scratch.column_weights.resize(taps * chunk, 0.0);
    // The first group of columns, then its copies over the chunk.
    for (col, &s) in c.iter().enumerate() {
        let (k, w) = stencil(s, degree);
        let offset = (kmax - k) as usize;
        for (m, &wm) in w[..=degree].iter().enumerate() {
            scratch.column_weights[(m + offset) * chunk + col] = wm;
        }
    }
    for col in columns..chunk {
        for m in 0..taps {
            scratch.column_weights[m * chunk + col] =
                scratch.column_weights[m * chunk + col % columns];
        }
    }
    ColumnStencil { kmax, taps }
}

/// Rows at least this long with one shift go through `shift_rows` (long contiguous sums, no
/// copy); shorter ones, and rows with a shift per column, through `shift_strips`.
const UNIFORM_ROW_ELEMS: usize = 64;

/// The least common multiple of a and b (both positive).
fn lcm(a: usize, b: usize) -> usize {
    a / gcd(a, b) * b
}

/// Columns of one strip of `shift_strips`: one AVX2 vector of f64 (half an AVX-512 one).
const STRIP: usize = 4;

/// The weights of a sweep with a shift per column: tap m of column `first` + c (columns
/// counted from the sweep's first) at `w[m·period + (first + c) % period]`, `period` and
/// `first` multiples of `LANES`.
#[derive(Clone, Copy)]
struct PeriodicWeights<'a> {
    w: &'a [f64],
    period: usize,
    first: usize,
}

impl TapWeights for PeriodicWeights<'_> {
    #[inline(always)]
    fn lanes(&self, m: usize, i: usize) -> [f64; LANES] {
        // i is a multiple of LANES (`weighted_blocks`), so the lanes do not wrap.
        self.w[m * self.period + (self.first + i) % self.period..][..LANES]
            .try_into()
            .unwrap()
    }
    #[inline(always)]
    fn one(&self, m: usize, i: usize) -> f64 {
        self.w[m * self.period + (self.first + i) % self.period]
    }
}

/// `shift_strips` with a shift per column: the shifts `c` repeat along the row from column
/// `start` on, their weights prepared (or found prepared) for one period of `lcm(len, LANES)`
/// columns.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn column_strips(
    src: &[f64],
    dst: &mut [f64],
    start: usize,
    n: usize,
    stride: usize,
    width: usize,
    outer: usize,
    c: &[f64],
    degree: usize,
    boundary: LineBoundary,
    scratch: &mut TileScratch,
) {
    let period = lcm(c.len(), LANES);
    let ColumnStencil { kmax, taps } = prepared_columns(c, degree, period, scratch);
    let w = PeriodicWeights {
        w: &scratch.column_weights,
        period,
        first: 0,
    };
    shift_strips(
        src,
        dst,
        start,
        n,
        stride,
        width,
        outer,
        kmax,
        degree,
        taps,
        w,
        boundary,
        &mut scratch.pad,
    );
}

/// The padded rows of one column chunk of `shift_strips` fill about this many elements
/// (16 KiB of f64, half the first-level cache).
const STRIP_PAD_ELEMS: usize = 2048;

/// The n rows src[start + o·n·stride + r·stride..][..width] (r = 0..n, lines along one axis
/// side by side, `outer` blocks o) shifted into the same rows of `dst`: output row j is
/// Σ_m w_m·(old row j − kmax − lo + m), m = 0..taps, lo = (degree − 1)/2, each column with
/// its own weights.
/// Per block and chunk of columns, the rows the chunk reads are first copied with their halo
/// (periodic images or zeros) into `pad`, whose rows are a chunk apart: read straight from a
/// tile, rows a power-of-two stride apart would all fall into one set of the first-level
/// cache. Then each strip of `STRIP` columns runs down all n rows with its weights in
/// registers (`strip_rows`): one load, product and addition per tap and output. Each output
/// is `weighted_sum`'s (the same products added in the same order).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn shift_strips(
    src: &[f64],
    dst: &mut [f64],
    start: usize,
    n: usize,
    stride: usize,
    width: usize,
    outer: usize,
    kmax: i64,
    degree: usize,
    taps: usize,
    w: PeriodicWeights<'_>,
    boundary: LineBoundary,
    pad: &mut Vec<f64>,
) {
    let lo = (degree as i64 - 1) / 2;
    let rows = n + taps - 1;
    let chunk = (STRIP_PAD_ELEMS / rows / LANES * LANES)
        .max(LANES)
        .min(width);
    pad.resize(rows * chunk, 0.0);
    // Pad row q is old row q − kmax − lo.
    let old_row = |q: usize| -> Option<usize> {
        let r = q as i64 - kmax - lo;
        match boundary {
            LineBoundary::Periodic => Some(r.rem_euclid(n as i64) as usize),
            LineBoundary::Zero => (0..n as i64).contains(&r).then_some(r as usize),
        }
    };
    for o in 0..outer {
        let block = start + o * n * stride;
        for c0 in (0..width).step_by(chunk) {
            let cw = chunk.min(width - c0);
            let mut q = 0;
            while q < rows {
                match old_row(q) {
                    None => {
                        pad[q * chunk..][..cw].fill(0.0);
                        q += 1;
                    }
                    // Whole rows in a row: one copy of the run up to the line's end.
                    Some(r) if cw == stride => {
                        let run = (n - r).min(rows - q);
                        pad[q * chunk..][..run * cw]
                            .copy_from_slice(&src[block + r * stride..][..run * cw]);
                        q += run;
                    }
                    Some(r) => {
                        pad[q * chunk..][..cw]
                            .copy_from_slice(&src[block + r * stride + c0..][..cw]);
                        q += 1;
                    }
                }
            }
            let out = &mut dst[block + c0..];
            let w = PeriodicWeights { first: c0, ..w };
            strip_rows_dyn(taps, pad, out, n, chunk, stride, cw, w);
        }
    }
}

/// `$kernel::<T>(args)` for T = `$taps` from 2 to 12 (a kernel with its T weights in
/// registers), else `$fallback`.
macro_rules! with_taps {
    ($taps:expr, $kernel:ident($($arg:expr),* $(,)?), $fallback:expr $(,)?) => {
        match $taps {
            2 => $kernel::<2>($($arg),*),
            3 => $kernel::<3>($($arg),*),
            4 => $kernel::<4>($($arg),*),
            5 => $kernel::<5>($($arg),*),
            6 => $kernel::<6>($($arg),*),
            7 => $kernel::<7>($($arg),*),
            8 => $kernel::<8>($($arg),*),
            9 => $kernel::<9>($($arg),*),
            10 => $kernel::<10>($($arg),*),
            11 => $kernel::<11>($($arg),*),
            12 => $kernel::<12>($($arg),*),
            _ => $fallback,
        }
    };
}

/// `strip_rows` for `taps` taps: in registers up to 12, otherwise row by row through
/// `weighted_sum`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn strip_rows_dyn(
    taps: usize,
    src: &[f64],
    out: &mut [f64],
    n: usize,
    pitch: usize,
    stride: usize,
    width: usize,
    w: PeriodicWeights<'_>,
) {
    with_taps!(
        taps,
        strip_rows(src, out, n, pitch, stride, width, w),
        for j in 0..n {
            let mut t: [&[f64]; MAX_TAPS] = [&[]; MAX_TAPS];
            for (m, tap) in t[..taps].iter_mut().enumerate() {
                *tap = &src[(j + m) * pitch..][..width];
            }
            weighted_sum(&mut out[j * stride..][..width], &t[..taps], w);
        }
    )
}

/// `T`-tap outputs of `shift_strips`: output row j (j = 0..n) is
/// Σ_m w_m·src[(j + m)·pitch..][..width] and goes to out[j·stride..][..width]. Strip by strip
/// of `STRIP` columns, each down all n rows with its weights in registers.
#[inline(always)]
fn strip_rows<const T: usize>(
    src: &[f64],
    out: &mut [f64],
    n: usize,
    pitch: usize,
    stride: usize,
    width: usize,
    w: PeriodicWeights<'_>,
) {
    if n == 0 {
        return;
    }
    assert!(src.len() >= (n + T - 2) * pitch + width && out.len() >= (n - 1) * stride + width);
    assert!(w.period.is_multiple_of(STRIP) && w.first.is_multiple_of(STRIP));
    let whole = width / STRIP * STRIP;
    for s in (0..whole).step_by(STRIP) {
        let col = (w.first + s) % w.period;
        let mut wv = [[0.0; STRIP]; T];
        for (m, wm) in wv.iter_mut().enumerate() {
            *wm = w.w[m * w.period + col..][..STRIP].try_into().unwrap();
        }
        for j in 0..n {
            // SAFETY: the asserts bound every read, (j + m)·pitch + s + STRIP ≤
            // (n + T − 2)·pitch + width, and every write, j·stride + s + STRIP ≤
            // (n − 1)·stride + width.
            unsafe {
                let p = src.as_ptr().add(j * pitch + s);
                let v: [f64; STRIP] = std::ptr::read_unaligned(p as *const [f64; STRIP]);
                let mut acc = [0.0; STRIP];
                for l in 0..STRIP {
                    acc[l] = wv[0][l] * v[l];
                }
                for (m, wm) in wv.iter().enumerate().skip(1) {
                    let v: [f64; STRIP] =
                        std::ptr::read_unaligned(p.add(m * pitch) as *const [f64; STRIP]);
                    for l in 0..STRIP {
                        acc[l] += wm[l] * v[l];
                    }
                }
                std::ptr::write_unaligned(
                    out.as_mut_ptr().add(j * stride + s) as *mut [f64; STRIP],
                    acc,
                );
            }
        }
    }
    for s in whole..width {
        let col = (w.first + s) % w.period;
        for j in 0..n {
            let mut acc = w.w[col] * src[j * pitch + s];
            for m in 1..T {
                acc += w.w[m * w.period + col] * src[(j + m) * pitch + s];
            }
            out[j * stride + s] = acc;
        }
    }
}

simd_dispatch!(
    /// One shift along `axis` of a tile of shape `shape`, from `src` into `dst` (both hold the
    /// tile contiguously), on one thread, the shift of each line given by `shift`. Contiguous
    /// lines with one shift go through `shift_contiguous_lines`; on a strided axis,
    /// neighbouring lines go row by row (`shift_rows`) where they share a shift and the rows
    /// are long, as strips (`shift_strips`) where the rows are short or have a shift per
    /// column, and other lines one at a time.
    fn sweep_tile(
        src: &[f64],
        dst: &mut [f64],
        shape: &[usize],
        axis: usize,
        degree: usize,
        boundary: LineBoundary,
        shift: &SweepShift<'_>,
        scratch: &mut TileScratch,
    ) {
        let n = shape[axis];
        let stride = strides_of(shape)[axis];
        let outer = src.len() / (n * stride);
        if let (1, SweepShift::Uniform(s)) = (stride, shift) {
            // Contiguous lines with one shift (a kick along the last momentum axis).
            let (k, w) = stencil(*s, degree);
            match (boundary, line_gap(k, degree)) {
                (LineBoundary::Zero, Some(gap)) => {
                    shift_gapped_lines(src, dst, n, k, gap, &w[..=degree], scratch)
                }
                _ => shift_contiguous_lines(src, dst, n, k, &w[..=degree], boundary, scratch),
            }
            return;
        }
        if stride == 1 {
            // Contiguous lines: the weights are recomputed only when the shift changes.
            let mut last: Option<(u64, i64)> = None;
            dst.copy_from_slice(src);
            for base in (0..outer).map(|o| o * n) {
                let s = shift.at(base);
                let k = match last {
                    Some((bits, k)) if bits == s.to_bits() => k,
                    _ => {
                        let k;
                        (k, scratch.w) = stencil(s, degree);
                        last = Some((s.to_bits(), k));
                        k
                    }
                };
                shift_line_weighted(
                    &mut dst[base..base + n],
                    k,
                    &scratch.w[..=degree],
                    boundary,
                    &mut scratch.ext,
                );
            }
            return;
        }
        match shift.simplified() {
            SweepShift::Uniform(s) if stride >= UNIFORM_ROW_ELEMS => {
                let (k, w) = stencil(s, degree);
                let w = &w[..=degree];
                shift_rows(
                    src, dst, 0, n, stride, stride, outer, k, w, boundary, scratch,
                );
            }
            SweepShift::Uniform(s) => {
                let (k, w) = stencil(s, degree);
                // The same weights for every column: one period of LANES columns, broadcast.
                let mut broadcast = [0.0; (MAX_DEGREE + 1) * LANES];
                for (m, wm) in w[..=degree].iter().enumerate() {
                    broadcast[m * LANES..][..LANES].fill(*wm);
                }
                let w = PeriodicWeights {
                    w: &broadcast,
                    period: LANES,
                    first: 0,
                };
                shift_strips(
                    src,
                    dst,
                    0,
                    n,
                    stride,
                    stride,
                    outer,
                    k,
                    degree,
                    degree + 1,
                    w,
                    boundary,
                    &mut scratch.pad,
                );
            }
            SweepShift::Columns(c)
                if stride.is_multiple_of(c.len())
                    && (is_prepared(c, degree, scratch) || spread(c) <= MAX_SPREAD) =>
            {
                column_strips(
                    src, dst, 0, n, stride, stride, outer, c, degree, boundary, scratch,
                );
            }
            SweepShift::Columns(c) if stride == c.len() => {
                // Rows of one column group whose offsets spread too far for one widened stencil
                // (large shifts, wide tiles): runs of columns that each stay within the spread.
                let mut a = 0;
                while a < c.len() {
                    let mut b = a + 1;
                    while b < c.len() && spread(&c[a..=b]) <= MAX_SPREAD {
                        b += 1;
                    }
                    column_strips(
                        src,
                        dst,
                        a,
                        n,
                        stride,
                        b - a,
                        outer,
                        &c[a..b],
                        degree,
                        boundary,
                        scratch,
                    );
                    a = b;
                }
            }
            _ => sweep_lines(src, dst, n, stride, outer, degree, boundary, shift, scratch),
        }
    }
);

/// A strided sweep whose shifts follow no pattern: runs of at least `MIN_ROW_RUN`
/// neighbouring lines with equal shifts go row by row (`shift_rows`), other lines one at a
/// time.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn sweep_lines(
    src: &[f64],
    dst: &mut [f64],
    n: usize,
    stride: usize,
    outer: usize,
    degree: usize,
    boundary: LineBoundary,
    shift: &SweepShift<'_>,
    scratch: &mut TileScratch,
) {
    // Lines not shifted row by row are shifted in place in `dst`.
    dst.copy_from_slice(src);
    // Column weights are kept for this sweep only.
    scratch.columns.clear();
    for o in 0..outer {
        let base = o * n * stride;
        let mut c = 0;
        while c < stride {
            let s = shift.at(base + c);
            let mut e = c + 1;
            while e < stride && shift.at(base + e).to_bits() == s.to_bits() {
                e += 1;
            }
            if e - c >= MIN_ROW_RUN {
                let (k, w) = stencil(s, degree);
                let w = &w[..=degree];
                shift_rows(
                    src,
                    dst,
                    base + c,
                    n,
                    stride,
                    e - c,
                    1,
                    k,
                    w,
                    boundary,
                    scratch,
                );
            } else {
                if scratch.columns.len() < stride {
                    // No shift has these bits (a NaN): each column computes its weights once.
                    scratch
                        .columns
                        .resize(stride, (u64::MAX, 0, [0.0; MAX_DEGREE + 1]));
                }
                for col in c..e {
                    let s = shift.at(base + col);
                    // Weights per column, kept while the column's shift stays the same.
                    let cached = &mut scratch.columns[col];
                    if cached.0 != s.to_bits() {
                        let (k, w) = stencil(s, degree);
                        *cached = (s.to_bits(), k, w);
                    }
                    let (_, k, w) = *cached;
                    let at = base + col;
                    let mut line = std::mem::take(&mut scratch.line);
                    line.clear();
                    line.extend((0..n).map(|r| src[at + r * stride]));
                    shift_line_weighted(&mut line, k, &w[..=degree], boundary, &mut scratch.ext);
                    for (r, v) in line.iter().enumerate() {
                        dst[at + r * stride] = *v;
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
#[inline(always)]
fn shift_line_weighted(
    line: &mut [f64],
    k: i64,
    w: &[f64],
    boundary: LineBoundary,
    ext: &mut Vec<f64>,
) {
    let degree = w.len() - 1;
    ext.clear();
    extend_line(line, k, degree, boundary, ext);
    let mut taps: [&[f64]; MAX_DEGREE + 1] = [&[]; MAX_DEGREE + 1];
    for (m, tap) in taps[..w.len()].iter_mut().enumerate() {
        *tap = &ext[m..];
    }
    weighted_sum(line, &taps[..w.len()], w);
}

/// Appends to `ext` the window of `line` that a shift with stencil offset `k` and `degree`
/// reads, with its halo (periodic images or zeros): output j reads old points j − k − lo + m,
/// m = 0..=degree, i.e. the window [−k − lo, n − 1 − k − lo + degree] (n + degree points).
#[inline(always)]
fn extend_line(line: &[f64], k: i64, degree: usize, boundary: LineBoundary, ext: &mut Vec<f64>) {
    let at = ext.len();
    ext.resize(at + line.len() + degree, 0.0);
    fill_window(line, k, degree, boundary, &mut ext[at..]);
}

/// `extend_line` into a slice of exactly n + degree elements.
#[inline(always)]
fn fill_window(line: &[f64], k: i64, degree: usize, boundary: LineBoundary, out: &mut [f64]) {
    let n = line.len() as i64;
    let lo = (degree as i64 - 1) / 2;
    let first = -k - lo;
    let len = n + degree as i64;
    match boundary {
        LineBoundary::Periodic => {
            // Whole runs of the periodic images, copied slice by slice.
            let mut i = first;
            while i < first + len {
                let at = i.rem_euclid(n);
                let run = (n - at).min(first + len - i);
                let o = (i - first) as usize;
                out[o..o + run as usize].copy_from_slice(&line[at as usize..(at + run) as usize]);
                i += run;
            }
        }
        LineBoundary::Zero => {
            // Zeros before the line, the part of the line inside the window, zeros after.
            let before = (-first).clamp(0, len) as usize;
            let (start, end) = (first.max(0), (first + len).min(n));
            let inside = (end - start).max(0) as usize;
            out[..before].fill(0.0);
            for (o, v) in out[before..before + inside]
                .iter_mut()
                .zip(&line[start as usize..])
            {
                *o = *v;
            }
            out[before + inside..].fill(0.0);
        }
    }
}

/// Shifts the contiguous lines of `n` points in `src` by one shift (stencil offset `k`,
/// weights `w`) into `dst`: each line with its halo is laid out in one buffer, back to back,
/// and the weighted sum runs once over the whole buffer (short lines would each pay the set-up
/// of a call), its outputs at the halo positions computed and dropped.
#[inline(always)]
fn shift_contiguous_lines(
    src: &[f64],
    dst: &mut [f64],
    n: usize,
    k: i64,
    w: &[f64],
    boundary: LineBoundary,
    scratch: &mut TileScratch,
) {
    let degree = w.len() - 1;
    let padded = n + degree;
    let lines = src.len() / n;
    let ext = &mut scratch.ext;
    ext.resize(lines * padded, 0.0);
    for (line, window) in src.chunks_exact(n).zip(ext.chunks_exact_mut(padded)) {
        fill_window(line, k, degree, boundary, window);
    }
    // Output e of the flat sum is point e mod padded of line e / padded where that point is
    // below n.
    let flat = lines * padded - degree;
    let out = &mut scratch.flat;
    out.resize(flat, 0.0);
    let mut taps: [&[f64]; MAX_DEGREE + 1] = [&[]; MAX_DEGREE + 1];
    for (m, tap) in taps[..w.len()].iter_mut().enumerate() {
        *tap = &ext[m..][..flat];
    }
    weighted_sum(out, &taps[..w.len()], w);
    for (line, o) in dst.chunks_exact_mut(n).zip(out.chunks(padded)) {
        line.copy_from_slice(&o[..n]);
    }
}

/// The widest zero gap `shift_gapped_lines` lays out between lines; stencils that reach
/// further beyond a line's ends go through `shift_contiguous_lines`.
const MAX_GAP: usize = 32;

/// The zero gap `shift_gapped_lines` needs between lines for a stencil offset `k` and
/// `degree`: output j reads points j − k − lo + m, m = 0..=degree, so k + lo points before a
/// line and degree − k − lo after it. `None` where that exceeds `MAX_GAP`.
fn line_gap(k: i64, degree: usize) -> Option<usize> {
    let lo = (degree as i64 - 1) / 2;
    let gap = (k + lo).max(degree as i64 - k - lo).max(0) as usize;
    (gap <= MAX_GAP).then_some(gap.next_multiple_of(STRIP))
}

/// How a worker's gapped buffer is laid out: lines of `n` points, `gap` zeros before each
/// line and after the last, `lines` lines.
#[derive(Clone, Copy, PartialEq, Eq)]
struct GapLayout {
    n: usize,
    gap: usize,
    lines: usize,
}

/// `shift_contiguous_lines` for a zero boundary (the momentum axes of a kick): the lines are
/// copied into a buffer where `gap` zeros lie between them, laid out and zeroed once per
/// worker and shape (only the lines are rewritten after that), and each output is summed
/// straight from there into `dst`, `STRIP` at a time with the weights in registers. No halo
/// is filled per line and no output is computed at a halo position. Each output is
/// `shift_line`'s (the same products added in the same order).
#[inline(always)]
fn shift_gapped_lines(
    src: &[f64],
    dst: &mut [f64],
    n: usize,
    k: i64,
    gap: usize,
    w: &[f64],
    scratch: &mut TileScratch,
) {
    let lines = src.len() / n;
    let want = GapLayout { n, gap, lines };
    // A wider gap laid out before serves as well.
    let fits = scratch
        .gap_layout
        .is_some_and(|l| l.n == n && l.lines == lines && l.gap >= gap);
    if !fits {
        scratch.gapped.clear();
        scratch.gapped.resize(gap + lines * (n + gap), 0.0);
        scratch.gap_layout = Some(want);
    }
    let gap = scratch.gap_layout.map_or(gap, |l| l.gap);
    let pitch = n + gap;
    let gapped = &mut scratch.gapped;
    for (l, line) in src.chunks_exact(n).enumerate() {
        gapped[gap + l * pitch..][..n].copy_from_slice(line);
    }
    // Tap 0 of output j of line l is gapped[first + l·pitch + j].
    let lo = (w.len() as i64 - 2) / 2;
    let first = (gap as i64 - k - lo) as usize;
    with_taps!(
        w.len(),
        gapped_sums(gapped, dst, n, pitch, first, w),
        for (l, o) in dst.chunks_exact_mut(n).enumerate() {
            let mut taps: [&[f64]; MAX_DEGREE + 1] = [&[]; MAX_DEGREE + 1];
            for (m, tap) in taps[..w.len()].iter_mut().enumerate() {
                *tap = &gapped[first + l * pitch + m..][..n];
            }
            weighted_sum(o, &taps[..w.len()], w);
        }
    );
}

/// The `T`-tap sums of `shift_gapped_lines`: output j of line l is
/// Σ_m w_m·src[first + l·pitch + j + m], written to dst[l·n + j].
#[inline(always)]
fn gapped_sums<const T: usize>(
    src: &[f64],
    dst: &mut [f64],
    n: usize,
    pitch: usize,
    first: usize,
    w: &[f64],
) {
    let lines = dst.len() / n;
    if lines == 0 {
        return;
    }
    assert!(w.len() == T && first + (lines - 1) * pitch + n + T - 1 <= src.len());
    let wv: [[f64; STRIP]; T] = std::array::from_fn(|m| [w[m]; STRIP]);
    let (per_line, whole) = (n / STRIP, n / STRIP * STRIP);
    let (src_at, dst_at) = (src.as_ptr(), dst.as_mut_ptr());
    // The whole strips of every line, then the rest: a remainder loop inside the line loop
    // compiled to bound computations that cost more than the line's sums.
    for l in 0..lines {
        for q in 0..per_line {
            // SAFETY: the assert bounds every read, first + l·pitch + q·STRIP + m + STRIP ≤
            // first + (lines − 1)·pitch + n + T − 1, and the write, l·n + q·STRIP + STRIP ≤
            // lines·n.
            unsafe {
                let p = src_at.add(first + l * pitch + q * STRIP);
                let v: [f64; STRIP] = std::ptr::read_unaligned(p as *const [f64; STRIP]);
                let mut acc = [0.0; STRIP];
                for i in 0..STRIP {
                    acc[i] = wv[0][i] * v[i];
                }
                for (m, wm) in wv.iter().enumerate().skip(1) {
                    let v: [f64; STRIP] = std::ptr::read_unaligned(p.add(m) as *const [f64; STRIP]);
                    for i in 0..STRIP {
                        acc[i] += wm[i] * v[i];
                    }
                }
                std::ptr::write_unaligned(dst_at.add(l * n + q * STRIP) as *mut [f64; STRIP], acc);
            }
        }
    }
    // Guarded: unguarded, the empty loop still cost a fifth of the sweep in bound checks.
    if whole < n {
        for l in 0..lines {
            let at = first + l * pitch;
            for j in whole..n {
                let mut acc = w[0] * src[at + j];
                for m in 1..T {
                    acc += w[m] * src[at + j + m];
                }
                dst[l * n + j] = acc;
            }
        }
    }
}

/// Copies the rows `first + r·stride ..][..w]` of the array behind `ptr` (r = 0, 1, … as
/// many as `tile` holds rows of w) into `tile`, back to back.
///
/// SAFETY: every row lies inside the array, and no other task writes them meanwhile.
unsafe fn gather_rows(
    ptr: SharedMut<f64>,
    first: usize,
    stride: usize,
    w: usize,
    tile: &mut [f64],
) {
    for (r, row) in tile.chunks_exact_mut(w).enumerate() {
        row.copy_from_slice(std::slice::from_raw_parts(ptr.0.add(first + r * stride), w));
    }
}

/// The inverse of `gather_rows`: the rows of `tile` back into the array behind `ptr`.
///
/// SAFETY: every row lies inside the array, and no other task reads or writes them meanwhile.
unsafe fn scatter_rows(ptr: SharedMut<f64>, first: usize, stride: usize, w: usize, tile: &[f64]) {
    for (r, row) in tile.chunks_exact(w).enumerate() {
        std::slice::from_raw_parts_mut(ptr.0.add(first + r * stride), w).copy_from_slice(row);
    }
}

/// Columns of one task of a strided per-axis sweep (`shift_strided`): rows of this many
/// contiguous elements (2 KiB of f64) are gathered, n at a time, which streams where the 16
/// columns of a transposed line batch would not.
const STRIDED_CHUNK: usize = 256;

/// One shift of every line along a strided axis of `data` (shape `shape`), the shift of the
/// line through element e given by `shift_at(e)`: each task takes the n rows of a run of up to
/// `STRIDED_CHUNK` neighbouring columns of one outer block, shifts them as a tile of shape
/// [n, columns] (`sweep_tile`: whole rows where neighbouring columns share a shift or have a
/// shift each) and writes them back. Each line gets exactly the arithmetic of `shift_line`.
fn shift_strided(
    data: &mut [f64],
    shape: &[usize],
    axis: usize,
    degree: usize,
    boundary: LineBoundary,
    shift_at: &(dyn Fn(usize) -> f64 + Sync),
) {
    let n = shape[axis];
    let stride = strides_of(shape)[axis];
    let outer = data.len() / (n * stride);
    let chunks = stride.div_ceil(STRIDED_CHUNK);
    let ptr = SharedMut(data.as_mut_ptr());
    (0..outer * chunks).into_par_iter().for_each_init(
        || (TileScratch::default(), Vec::new()),
        |(scratch, column_shifts), task| {
            // Capture the whole wrapper (which is Send), not its raw-pointer field.
            #[allow(clippy::redundant_locals)]
            let ptr = ptr;
            let (o, c0) = (task / chunks, (task % chunks) * STRIDED_CHUNK);
            let w = STRIDED_CHUNK.min(stride - c0);
            let first = o * n * stride + c0;
            let mut tile = std::mem::take(&mut scratch.tile);
            let mut out = std::mem::take(&mut scratch.tile2);
            tile.resize(n * w, 0.0);
            out.resize(n * w, 0.0);
            // SAFETY: the task owns columns c0..c0 + w of outer block o, which no other task
            // reads or writes; all indices are below data.len().
            unsafe { gather_rows(ptr, first, stride, w, &mut tile) };
            column_shifts.clear();
            column_shifts.extend((0..w).map(|c| shift_at(first + c)));
            let sweep = SweepShift::Columns(column_shifts);
            sweep_tile(
                &tile,
                &mut out,
                &[n, w],
                0,
                degree,
                boundary,
                &sweep,
                scratch,
            );
            // SAFETY: as for the gather.
            unsafe { scatter_rows(ptr, first, stride, w, &out) };
            scratch.tile = tile;
            scratch.tile2 = out;
        },
    );
}

/// One shift of every line of `data` along its last axis (contiguous lines of n points), the
/// shift of the line through element e given by `shift_at(e)`: tasks of whole lines (about
/// `ROW_CHUNK_ELEMS` elements), each a tile of shape [lines, n] for `sweep_tile` (one flat halo
/// sum where the task's lines share one shift, as a kick's do).
fn shift_contiguous(
    data: &mut [f64],
    n: usize,
    degree: usize,
    boundary: LineBoundary,
    shift_at: &(dyn Fn(usize) -> f64 + Sync),
) {
    let lines = (ROW_CHUNK_ELEMS / n).max(1);
    data.par_chunks_mut(lines * n).enumerate().for_each_init(
        TileScratch::default,
        |scratch, (task, block)| {
            let first = task * lines * n;
            let mut out = std::mem::take(&mut scratch.tile2);
            out.resize(block.len(), 0.0);
            let at = |e: usize| shift_at(first + e);
            let s0 = at(0);
            let shared = (n..block.len())
                .step_by(n)
                .all(|e| at(e).to_bits() == s0.to_bits());
            let sweep = if shared {
                SweepShift::Uniform(s0)
            } else {
                SweepShift::General(&at)
            };
            let shape = [block.len() / n, n];
            sweep_tile(
                block, &mut out, &shape, 1, degree, boundary, &sweep, scratch,
            );
            block.copy_from_slice(&out);
            scratch.tile2 = out;
        },
    );
}

impl Advection for CpuBackend {
    fn shift_lines(&self, f: &mut CpuField, table: &CpuField, shift: &LineShift) -> Result<()> {
        check_shift(f, table, shift)?;
        let table = real(table)?;
        let shape = f.shape().to_vec();
        let n = shape[shift.axis];
        let data = real_mut(f)?;
        let shift_at = |e: usize| shift.scale * table[(e / shift.table_div) % table.len()];
        if strides_of(&shape)[shift.axis] > 1 {
            shift_strided(
                data,
                &shape,
                shift.axis,
                shift.degree,
                shift.boundary,
                &shift_at,
            );
        } else {
            shift_contiguous(data, n, shift.degree, shift.boundary, &shift_at);
        }
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
                        // The first sweep reads f, the others the buffer the one before
                        // wrote; the last of several writes back into f.
                        let g = group.len();
                        let mut a = std::mem::take(&mut scratch.tile);
                        let mut b = std::mem::take(&mut scratch.tile2);
                        a.resize(span, 0.0);
                        b.resize(span, 0.0);
                        for (k, (_, shift)) in group.iter().enumerate() {
                            let at = |e: usize| shift_of(k, i * span + e);
                            // One table entry for the whole tile (a kick) or a general table.
                            let (e0, e1) = (i * span, i * span + span - 1);
                            let sweep = if e0 / shift.table_div == e1 / shift.table_div {
                                SweepShift::Uniform(at(0))
                            } else {
                                SweepShift::General(&at)
                            };
                            let (src, dst): (&[f64], &mut [f64]) = match (k == 0, k + 1 == g) {
                                (true, _) => (tile, &mut b),
                                (false, false) => (&a, &mut b),
                                (false, true) => (&a, tile),
                            };
                            sweep_tile(
                                src,
                                dst,
                                tile_shape,
                                shift.axis - first,
                                shift.degree,
                                shift.boundary,
                                &sweep,
                                scratch,
                            );
                            std::mem::swap(&mut a, &mut b);
                        }
                        if g == 1 {
                            tile.copy_from_slice(&a);
                        }
                        scratch.tile = a;
                        scratch.tile2 = b;
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
                (0..runs).into_par_iter().for_each_init(
                    || (TileScratch::default(), Vec::new()),
                    |(scratch, column_shifts), run| {
                        // Capture the whole wrapper (which is Send), not its raw-pointer field.
                        #[allow(clippy::redundant_locals)]
                        let ptr = ptr;
                        let c0 = run * width;
                        let w = width.min(columns - c0);
                        let mut tile = std::mem::take(&mut scratch.tile);
                        let mut other = std::mem::take(&mut scratch.tile2);
                        tile.resize(block * w, 0.0);
                        other.resize(block * w, 0.0);
                        // SAFETY: this task owns columns c0..c0 + w of every leading index,
                        // which no other task reads or writes; all indices are in bounds.
                        unsafe { gather_rows(ptr, c0, columns, w, &mut tile) };
                        let mut tile_shape = shape[..end].to_vec();
                        tile_shape.push(w);
                        for (k, (_, shift)) in group.iter().enumerate() {
                            let at = |e: usize| shift_of(k, e / w * columns + c0 + e % w);
                            // Where the table index follows the column alone (a drift: the
                            // shift along x_i is a function of p_i), one shift per column.
                            let period = shift.table_div * tables[k].len();
                            let sweep = if columns.is_multiple_of(period) {
                                column_shifts.clear();
                                column_shifts.extend((0..w).map(|c| shift_of(k, c0 + c)));
                                SweepShift::Columns(column_shifts)
                            } else {
                                SweepShift::General(&at)
                            };
                            sweep_tile(
                                &tile,
                                &mut other,
                                &tile_shape,
                                shift.axis,
                                shift.degree,
                                shift.boundary,
                                &sweep,
                                scratch,
                            );
                            std::mem::swap(&mut tile, &mut other);
                        }
                        // SAFETY: as for the gather.
                        unsafe { scatter_rows(ptr, c0, columns, w, &tile) };
                        scratch.tile = tile;
                        scratch.tile2 = other;
                    },
                );
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
