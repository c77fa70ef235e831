//! The two kernels the Hartree step needs beyond the FFT, on an operator stored as a complex
//! array whose first half of axes is the row index and second half the column index
//! (A_ab with a, b flat over P = n^d points): both backends implement them.

use anyhow::{bail, Result};

use crate::backend::{Backend, FieldInfo};
use crate::field::Elem;

pub trait MatrixKernels: Backend {
    /// A_ab ← exp(−i·scale·(t_a − t_b)) A_ab, with t a real table of the P points: a unitary
    /// conjugation by a diagonal phase (the potential step, and the kinetic step in the
    /// Fourier basis).
    fn conjugation_phase(&self, a: &mut Self::Field, table: &Self::Field, scale: f64)
        -> Result<()>;

    /// out_a = Re A_aa.
    fn diagonal(&self, a: &Self::Field, out: &mut Self::Field) -> Result<()>;

    /// A_ab ← i·s(a_i − b_i)·A_ab along axis i, with s a real table of 2n values indexed by
    /// the index difference (a_i − b_i) mod 2n (`compare::dense::separation_line`): the
    /// commutator i[x_i, A] of the comparison's bounds, Hermitian when A is.
    fn position_commutator(
        &self,
        a: &mut Self::Field,
        table: &Self::Field,
        axis: usize,
    ) -> Result<()>;
}

/// The per-axis addressing of `position_commutator`.
pub(crate) struct AxisTable {
    pub points: usize,
    /// Points along the axis.
    pub n: usize,
    /// Flat-index stride of the axis within the P points.
    pub stride: usize,
}

/// The grid shape [n..] of an operator [n..] ++ [n..] (complex) with a real table.
fn operator_grid(a: &impl FieldInfo, table: &impl FieldInfo) -> Result<Vec<usize>> {
    if a.elem() != Elem::Complex || table.elem() != Elem::Real {
        bail!("operator kernels need a complex operator and a real table");
    }
    let shape = a.shape();
    let d = shape.len() / 2;
    if !shape.len().is_multiple_of(2) || shape[..d] != shape[d..] {
        bail!("an operator has shape [n..] ++ [n..] with equal halves, not {shape:?}");
    }
    Ok(shape[..d].to_vec())
}

/// Checks an operator, an axis of it and a separation table of 2n values along that axis.
pub(crate) fn check_axis_table(
    a: &impl FieldInfo,
    table: &impl FieldInfo,
    axis: usize,
) -> Result<AxisTable> {
    let grid = operator_grid(a, table)?;
    if axis >= grid.len() {
        bail!(
            "axis {axis} of an operator on a {}-dimensional grid",
            grid.len()
        );
    }
    let d = grid.len();
    let n = grid[axis];
    if table.len() != 2 * n {
        bail!(
            "separation table of {} values along an axis of {n} points (expected 2n = {})",
            table.len(),
            2 * n
        );
    }
    Ok(AxisTable {
        points: grid.iter().product(),
        n,
        stride: grid[axis + 1..d].iter().product(),
    })
}

/// Checks an operator and a table over its points; returns P.
pub(crate) fn check_operator(a: &impl FieldInfo, table: &impl FieldInfo) -> Result<usize> {
    let grid = operator_grid(a, table)?;
    let points: usize = grid.iter().product();
    if table.len() != points {
        bail!(
            "table of {} values for an operator on {points} points",
            table.len()
        );
    }
    Ok(points)
}
