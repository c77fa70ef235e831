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
}

/// Checks an operator and a table over its points; returns P.
pub(crate) fn check_operator(a: &impl FieldInfo, table: &impl FieldInfo) -> Result<usize> {
    if a.elem() != Elem::Complex || table.elem() != Elem::Real {
        bail!("operator kernels need a complex operator and a real table");
    }
    let shape = a.shape();
    let d = shape.len() / 2;
    if !shape.len().is_multiple_of(2) || shape[..d] != shape[d..] {
        bail!("an operator has shape [n..] ++ [n..] with equal halves, not {shape:?}");
    }
    let points: usize = shape[..d].iter().product();
    if table.len() != points {
        bail!(
            "table of {} values for an operator on {points} points",
            table.len()
        );
    }
    Ok(points)
}
