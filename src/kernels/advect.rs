//! The kernels of a semi-Lagrangian phase-space solver, on either backend: shifting every line
//! of an array along one axis by a per-line amount (Lagrange interpolation), summing trailing
//! blocks (the density ρ = ∫f dp), and the one-pass statistics of a phase-space array.
//!
//! They are array operations, not physics: the Vlasov solver decides what the shifts are.
//! `gpu::GpuBackend` runs them as WGSL kernels (shaders/advect.wgsl, shaders/phase.wgsl) in f32;
//! `cpu::CpuBackend` runs the same formulas in f64.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::backend::{Backend, FieldInfo};
use crate::field::Elem;

/// What a line holds beyond its ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineBoundary {
    /// The line is a circle of n points.
    Periodic,
    /// Zero outside [0, n): what leaves the line is lost.
    Zero,
}

/// A shift of every line along `axis`: the new value at point j is the old line's Lagrange
/// interpolant of odd `degree` evaluated at j − s, with s (in grid points) the same for the
/// whole line: s = `scale` · table[(e / `table_div`) % table.len()] for any element e of the
/// line (the table must not vary along the line, i.e. `table_div` skips the axis).
#[derive(Clone, Debug, PartialEq)]
pub struct LineShift {
    pub axis: usize,
    pub degree: usize,
    pub boundary: LineBoundary,
    pub scale: f64,
    pub table_div: usize,
}

/// The momentum axes of a phase-space array: the trailing `n.len()` axes, with the value
/// p_i = p_min[i] + k·dp[i] at index k.
#[derive(Clone, Debug, PartialEq)]
pub struct MomentumAxes {
    pub n: Vec<usize>,
    pub p_min: Vec<f64>,
    pub dp: Vec<f64>,
}

/// Sums over every cell of a phase-space array f (not yet multiplied by the cell volume).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PhaseSums {
    pub count: usize,
    /// Σ f
    pub sum: f64,
    /// Σ |f|
    pub abs_sum: f64,
    /// Σ f²
    pub sum_sq: f64,
    /// Σ f ln f over the cells with f > 0
    pub f_log_f: f64,
    /// Σ f p_i (zero beyond the momentum axes present)
    pub momentum: [f64; 3],
    /// Σ f |p|²
    pub p_sq: f64,
    pub min: f64,
    pub max: f64,
}

/// Highest interpolation degree the kernels accept (degree + 1 points per output).
pub const MAX_DEGREE: usize = 15;

/// How a group of line shifts along distinct axes (`Advection::shift_group`) goes over the
/// array: what the plan reports and what the byte counts multiply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupPath {
    /// One read and one write of every element: the array is cut into tiles that each hold
    /// whole lines along every axis of the group, and all the shifts run on a tile while it is
    /// in cache. `tile_elems` is the size of one tile.
    Fused { tile_elems: usize },
    /// The last `fused` axes of the group in one pass (tiles of `tile_elems`), after one sweep
    /// per axis for the others, and why the whole group was not fused.
    Split {
        fused: usize,
        tile_elems: usize,
        reason: String,
    },
    /// One sweep over the array per axis, and why the group was not fused.
    PerAxis { reason: String },
}

impl GroupPath {
    /// Reads and writes of the whole array that a group of `axes` shifts costs.
    pub fn passes(&self, axes: usize) -> usize {
        match self {
            GroupPath::Fused { .. } => 1,
            GroupPath::Split { fused, .. } => 1 + axes - fused,
            GroupPath::PerAxis { .. } => axes,
        }
    }

    /// A few words for the plan.
    pub fn describe(&self, axes: usize) -> String {
        let axes = format!("{axes} {}", if axes == 1 { "axis" } else { "axes" });
        match self {
            GroupPath::Fused { tile_elems } => {
                format!("{axes} in one pass (tiles of {tile_elems} elements)")
            }
            GroupPath::Split {
                fused,
                tile_elems,
                reason,
            } => format!(
                "{axes}: the last {fused} in one pass (tiles of {tile_elems} elements), the \
                 others one sweep each ({reason})"
            ),
            GroupPath::PerAxis { reason } => format!("{axes}, one sweep each ({reason})"),
        }
    }
}

pub trait Advection: Backend {
    /// Shifts every line along `shift.axis` of the real field `f` in place (see `LineShift`).
    fn shift_lines(
        &self,
        f: &mut Self::Field,
        table: &Self::Field,
        shift: &LineShift,
    ) -> Result<()>;

    /// The path `shift_group` takes for shifts along `axes` of an array of `shape`.
    fn group_path(&self, shape: &[usize], axes: &[usize]) -> GroupPath {
        let _ = (shape, axes);
        GroupPath::PerAxis {
            reason: "this backend has no fused pass".into(),
        }
    }

    /// The shifts of `group`, along distinct axes, one after the other: the result of calling
    /// `shift_lines` for each in order (bit for bit), in one pass over `f` where
    /// `group_path` says so. Shifts along distinct axes whose amounts do not depend on the
    /// other axes of the group commute, so a Strang step's d drifts (or d kicks) are one group.
    fn shift_group(&self, f: &mut Self::Field, group: &[(&Self::Field, LineShift)]) -> Result<()> {
        check_group(f, group)?;
        for (table, shift) in group {
            self.shift_lines(f, table, shift)?;
        }
        Ok(())
    }

    /// out[i] = scale · Σ_(j < inner) f[i·inner + j], with `inner` = f.len() / out.len().
    fn sum_inner(&self, f: &Self::Field, out: &mut Self::Field, scale: f64) -> Result<()>;

    /// The sums of `PhaseSums` over the real phase-space field `f`.
    fn phase_sums(&self, f: &Self::Field, momenta: &MomentumAxes) -> Result<PhaseSums>;
}

/// Checks a shift request against the field and its table, with errors that say what is wrong.
pub(crate) fn check_shift(
    f: &impl FieldInfo,
    table: &impl FieldInfo,
    shift: &LineShift,
) -> Result<()> {
    if f.elem() != Elem::Real || table.elem() != Elem::Real {
        bail!("line shifts need a real field and a real table");
    }
    let shape = f.shape();
    if shift.axis >= shape.len() {
        bail!(
            "shift along axis {} of a {}-axis array",
            shift.axis,
            shape.len()
        );
    }
    if shift.degree.is_multiple_of(2) || shift.degree > MAX_DEGREE {
        bail!(
            "interpolation degree {} (odd degrees 1 to {MAX_DEGREE} are supported)",
            shift.degree
        );
    }
    if shift.degree + 1 > shape[shift.axis] && shift.boundary == LineBoundary::Periodic {
        bail!(
            "degree {} interpolation needs more than {} points per periodic line",
            shift.degree,
            shape[shift.axis]
        );
    }
    if shift.table_div == 0 || table.is_empty() {
        bail!("empty shift table or table divisor 0");
    }
    if !shift.scale.is_finite() {
        bail!("shift scale {} is not finite", shift.scale);
    }
    // The table index (e / div) % len is constant along every line when div is a multiple of
    // the line's span (the line lies inside one block of div elements) or when div·len divides
    // the stride (the index depends only on e mod stride).
    let stride = crate::field::strides_of(shape)[shift.axis];
    let span = stride * shape[shift.axis];
    let period = shift.table_div * table.len();
    let constant_on_lines = shift.table_div.is_multiple_of(span) || stride.is_multiple_of(period);
    if !constant_on_lines {
        bail!(
            "shift table (divisor {}, {} entries) varies along axis {}",
            shift.table_div,
            table.len(),
            shift.axis
        );
    }
    Ok(())
}

/// Checks every shift of a group and that their axes are distinct.
pub(crate) fn check_group<F: FieldInfo>(f: &F, group: &[(&F, LineShift)]) -> Result<()> {
    for (k, (table, shift)) in group.iter().enumerate() {
        check_shift(f, *table, shift)?;
        if group[..k].iter().any(|(_, s)| s.axis == shift.axis) {
            bail!("a shift group names axis {} twice", shift.axis);
        }
    }
    Ok(())
}

/// Checks the operands of `sum_inner` and returns `inner`.
pub(crate) fn check_sum_inner(f: &impl FieldInfo, out: &impl FieldInfo) -> Result<usize> {
    if f.elem() != Elem::Real || out.elem() != Elem::Real {
        bail!("sum_inner needs real fields");
    }
    if out.is_empty() || !f.len().is_multiple_of(out.len()) {
        bail!(
            "sum_inner: {} elements do not split into {} blocks",
            f.len(),
            out.len()
        );
    }
    Ok(f.len() / out.len())
}

/// Checks the momentum axes against the field.
pub(crate) fn check_momenta(f: &impl FieldInfo, m: &MomentumAxes) -> Result<usize> {
    let d = m.n.len();
    if f.elem() != Elem::Real {
        bail!("phase-space sums need a real field");
    }
    if d == 0 || d > 3 || m.p_min.len() != d || m.dp.len() != d || f.shape().len() < d {
        bail!(
            "momentum axes {m:?} do not fit a field of shape {:?}",
            f.shape()
        );
    }
    if f.shape()[f.shape().len() - d..] != m.n[..] {
        bail!(
            "momentum axes of sizes {:?} are not the trailing axes of shape {:?}",
            m.n,
            f.shape()
        );
    }
    Ok(d)
}

/// Lagrange weights of odd `degree` at fractional position `alpha` ∈ [0, 1): the interpolant
/// at j0 + alpha is Σ_m w[m] · f[j0 + m − (degree − 1)/2] for m = 0..=degree.
pub fn lagrange_weights(degree: usize, alpha: f64, w: &mut [f64]) {
    let lo = -((degree as i64 - 1) / 2);
    for (m, wm) in w[..=degree].iter_mut().enumerate() {
        let xm = (lo + m as i64) as f64;
        let mut v = 1.0;
        for l in 0..=degree {
            if l != m {
                let xl = (lo + l as i64) as f64;
                v *= (alpha - xl) / (xm - xl);
            }
        }
        *wm = v;
    }
}

/// Splits a shift s into the stencil origin offset and fraction used by both backends: the
/// new value at j is the interpolant at j − s = (j − k) + alpha with k integer and
/// alpha ∈ [0, 1).
pub fn split_shift(s: f64) -> (i64, f64) {
    let fl = s.floor();
    let beta = s - fl;
    if beta == 0.0 {
        (fl as i64, 0.0)
    } else {
        (fl as i64 + 1, 1.0 - beta)
    }
}
