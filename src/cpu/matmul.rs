//! `kernels::MatMul` on the CPU: faer's complex f64 product, threaded through rayon.

use anyhow::{bail, Result};
use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use num_complex::Complex64;
use rayon::prelude::*;

use super::{CpuBackend, CpuData, CpuField};
use crate::kernels::{check_inner, check_matmul, hermitise, matrix_rows, MatMul};

impl MatMul for CpuBackend {
    fn matmul(
        &self,
        a: &CpuField,
        b: &CpuField,
        c: &mut CpuField,
        alpha: Complex64,
        beta: Complex64,
    ) -> Result<()> {
        let p = check_matmul(a, b, c)?;
        let (CpuData::Complex(a), CpuData::Complex(b)) = (&a.data, &b.data) else {
            bail!("matmul needs complex fields")
        };
        let CpuData::Complex(c) = &mut c.data else {
            bail!("matmul needs a complex output")
        };
        let accum = if beta == Complex64::new(0.0, 0.0) {
            // Replace never reads C (it may hold anything, NaN included).
            Accum::Replace
        } else {
            if beta != Complex64::new(1.0, 0.0) {
                c.par_iter_mut().for_each(|z| *z *= beta);
            }
            Accum::Add
        };
        matmul(
            MatMut::from_row_major_slice_mut(c, p, p),
            accum,
            MatRef::from_row_major_slice(a, p, p),
            MatRef::from_row_major_slice(b, p, p),
            alpha,
            Par::rayon(0),
        );
        Ok(())
    }

    fn hermitise(&self, a: &mut CpuField) -> Result<()> {
        let p = matrix_rows(a)?;
        let CpuData::Complex(data) = &mut a.data else {
            bail!("hermitise needs a complex field")
        };
        hermitise(p, data);
        Ok(())
    }

    fn frobenius_inner(&self, a: &CpuField, b: &CpuField) -> Result<Complex64> {
        check_inner(a, b)?;
        let (CpuData::Complex(a), CpuData::Complex(b)) = (&a.data, &b.data) else {
            bail!("the inner product needs complex fields")
        };
        let zero = Complex64::new(0.0, 0.0);
        Ok(super::ordered_reduce(
            a.len(),
            super::REDUCE_RUN,
            zero,
            |r| {
                a[r.clone()]
                    .iter()
                    .zip(&b[r])
                    .fold(zero, |s, (x, y)| s + x.conj() * y)
            },
            |s, t| s + t,
        ))
    }
}
