//! Dense complex matrix products and their companions on P × P matrices: the kernels of the
//! Newton–Schulz trace norm (`tracenorm`).
//!
//! A matrix is a complex field of shape [P, P], or an operator [n; d] ++ [n; d] read as
//! P × P with P = n^d, row-major (row index first), as everywhere in the crate.

use anyhow::{bail, Result};
use num_complex::Complex64;

use crate::backend::{Backend, FieldInfo};
use crate::field::Elem;

/// Dense complex matrix products C ← α·A·B + β·C on P × P matrices (see the module doc for the
/// shapes). β = 0 never reads C. A and B may be the same field; C must be another.
///
/// The GPU computes in f32 with blocked f32 accumulation and needs each matrix in one storage
/// binding (`gpu::matmul` says what happens above that); the CPU uses faer in f64.
pub trait MatMul: Backend {
    fn matmul(
        &self,
        a: &Self::Field,
        b: &Self::Field,
        c: &mut Self::Field,
        alpha: Complex64,
        beta: Complex64,
    ) -> Result<()>;

    /// A ← (A + A†)/2 in place (same storage rule as `matmul`): the iteration's guard against
    /// anti-Hermitian round-off, which Newton–Schulz would amplify (`tracenorm`'s module doc).
    fn hermitise(&self, a: &mut Self::Field) -> Result<()>;

    /// ⟨A, B⟩ = Σ_e conj(a_e)·b_e over fields of one shape (= tr(A B) for a Hermitian A),
    /// accumulated in f32 partial sums finished in f64 on the GPU, in f64 on the CPU.
    fn frobenius_inner(&self, a: &Self::Field, b: &Self::Field) -> Result<Complex64>;
}

/// P for a complex field of shape [P, P] or [n..] ++ [n..] (the two halves holding P points
/// each).
pub fn matrix_rows(field: &impl FieldInfo) -> Result<usize> {
    if field.elem() != Elem::Complex {
        bail!(
            "a matrix here is a complex field, not a {:?} one",
            field.elem()
        );
    }
    let shape = field.shape();
    let d = shape.len() / 2;
    if shape.is_empty() || !shape.len().is_multiple_of(2) {
        bail!("a matrix has shape [rows..] ++ [cols..] with an even number of axes, not {shape:?}");
    }
    let rows: usize = shape[..d].iter().product();
    let cols: usize = shape[d..].iter().product();
    if rows != cols {
        bail!("a square matrix is needed: shape {shape:?} has {rows} rows and {cols} columns");
    }
    Ok(rows)
}

/// Checks the operands of a product; returns P.
pub(crate) fn check_matmul(
    a: &impl FieldInfo,
    b: &impl FieldInfo,
    c: &impl FieldInfo,
) -> Result<usize> {
    let p = matrix_rows(a)?;
    for (name, f) in [("B", matrix_rows(b)?), ("C", matrix_rows(c)?)] {
        if f != p {
            bail!("matmul: A is {p} × {p} but {name} is {f} × {f}");
        }
    }
    Ok(p)
}

/// Checks the operands of an inner product.
pub(crate) fn check_inner(a: &impl FieldInfo, b: &impl FieldInfo) -> Result<()> {
    if a.elem() != Elem::Complex || b.elem() != Elem::Complex {
        bail!("the inner product needs complex fields");
    }
    if a.shape() != b.shape() {
        bail!(
            "inner product of shapes {:?} and {:?}",
            a.shape(),
            b.shape()
        );
    }
    Ok(())
}

/// A ← (A + A†)/2 for a row-major `rows × rows` matrix on the host: the formula of
/// `MatMul::hermitise`, which the CPU backend applies to its storage.
pub fn hermitise(rows: usize, a: &mut [Complex64]) {
    for i in 0..rows {
        a[i * rows + i].im = 0.0;
        for j in i + 1..rows {
            let z = 0.5 * (a[i * rows + j] + a[j * rows + i].conj());
            a[i * rows + j] = z;
            a[j * rows + i] = z.conj();
        }
    }
}
