//! The smallest and largest eigenvalue of a Hermitian matrix by Lanczos iteration on the host
//! (f64): the occupation bounds min/max eig(ω) of the comparison where the dense eigensolver
//! does not reach (the Newton–Schulz path, above `spectrum::MAX_ROWS` rows).
//!
//! Full reorthogonalisation (classical Gram–Schmidt against every earlier Lanczos vector, done
//! twice) keeps the basis orthonormal, so no ghost copies of converged Ritz values appear and
//! the Ritz values θ of the tridiagonal T_k are those of an orthogonal projection of A. For a
//! Ritz pair (θ, y = Q s) the residual is ‖A y − θ y‖ = β_k |s_k| (s_k the last component of the
//! unit eigenvector s of T_k), so an eigenvalue of A lies within β_k |s_k| of θ; the extreme Ritz
//! values move monotonically outwards towards the extreme eigenvalues. The iteration stops when
//! that bound is at most `tol`·max|θ| for both ends, or when the Krylov space is exhausted
//! (β_k = 0 or k = P, where T_k's extreme eigenvalues are A's). Matrix–vector products and the
//! projections run in parallel (rayon); memory: the matrix plus k vectors of P.

use anyhow::{bail, Result};
use faer::{Mat, Side};
use num_complex::Complex64;
use rayon::prelude::*;

use crate::host::{ordered_reduce, REDUCE_RUN};

/// What `extreme_eigenvalues` found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExtremeEigen {
    pub min: f64,
    pub max: f64,
    /// Lanczos steps (matrix–vector products) taken.
    pub steps: usize,
    /// max of the two residual bounds β_k |s_k|, relative to max(|min|, |max|).
    pub residual: f64,
    /// Whether `residual` reached the tolerance (or the Krylov space was exhausted).
    pub converged: bool,
}

/// A fixed pseudo-random unit start vector (splitmix64), so that runs repeat exactly and the
/// start has a component along every eigenvector with probability one.
fn start_vector(rows: usize) -> Vec<Complex64> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut v: Vec<Complex64> = (0..rows).map(|_| Complex64::new(next(), next())).collect();
    let norm = norm(&v);
    v.iter_mut().for_each(|z| *z /= norm);
    v
}

fn norm(v: &[Complex64]) -> f64 {
    ordered_reduce(
        v.len(),
        REDUCE_RUN,
        0.0,
        |r| v[r].iter().map(|z| z.norm_sqr()).sum::<f64>(),
        |a, b| a + b,
    )
    .sqrt()
}

/// w ← w − Σ_j (q_j† w) q_j, twice ("twice is enough" for orthogonality to round-off).
fn reorthogonalise(basis: &[Vec<Complex64>], w: &mut [Complex64]) {
    for _ in 0..2 {
        let c: Vec<Complex64> = basis
            .par_iter()
            .map(|q| q.iter().zip(w.iter()).map(|(a, b)| a.conj() * b).sum())
            .collect();
        w.par_iter_mut().enumerate().for_each(|(i, wi)| {
            for (q, cj) in basis.iter().zip(&c) {
                *wi -= cj * q[i];
            }
        });
    }
}

/// min and max eigenvalue of the Hermitian row-major `rows × rows` matrix `a` (which must be
/// Hermitian: only then are the Ritz values bounds; the caller Hermitises f32 downloads),
/// with at most `max_steps` products and the relative residual tolerance `tol`.
pub fn extreme_eigenvalues(
    rows: usize,
    a: &[Complex64],
    tol: f64,
    max_steps: usize,
) -> Result<ExtremeEigen> {
    if rows == 0 || a.len() != rows * rows {
        bail!("Lanczos: {} entries for a {rows} × {rows} matrix", a.len());
    }
    if tol.is_nan() || tol <= 0.0 || max_steps == 0 {
        bail!("Lanczos: tolerance {tol} and step limit {max_steps} must be positive");
    }
    if let Some(bad) = a.iter().find(|z| !(z.re.is_finite() && z.im.is_finite())) {
        bail!("Lanczos: the matrix has a non-finite entry ({bad})");
    }
    let limit = max_steps.min(rows);
    let mut basis: Vec<Vec<Complex64>> = vec![start_vector(rows)];
    let (mut alpha, mut beta): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
    let mut result = ExtremeEigen {
        min: 0.0,
        max: 0.0,
        steps: 0,
        residual: f64::INFINITY,
        converged: false,
    };
    for k in 0..limit {
        let q = &basis[k];
        let mut w: Vec<Complex64> = a
            .par_chunks(rows)
            .map(|row| row.iter().zip(q).map(|(x, y)| x * y).sum())
            .collect();
        alpha.push(q.iter().zip(&w).map(|(x, y)| (x.conj() * y).re).sum());
        reorthogonalise(&basis, &mut w);
        let b = norm(&w);
        result.steps = k + 1;
        // The tridiagonal eigenproblem costs O(k³): solve it every step early, then every tenth.
        let last = k + 1 == limit || b == 0.0;
        if !(last || k < 20 || (k + 1) % 10 == 0) {
            w.iter_mut().for_each(|z| *z /= b);
            beta.push(b);
            basis.push(w);
            continue;
        }
        let m = k + 1;
        let t = Mat::<f64>::from_fn(m, m, |i, j| {
            if i == j {
                alpha[i]
            } else if i == j + 1 {
                beta[j]
            } else if j == i + 1 {
                beta[i]
            } else {
                0.0
            }
        });
        let evd = t
            .self_adjoint_eigen(Side::Lower)
            .map_err(|e| anyhow::anyhow!("Lanczos: the tridiagonal eigensolver failed: {e:?}"))?;
        let s = evd.S().column_vector();
        let u = evd.U();
        let (lo, hi) = (s[0], s[m - 1]);
        let scale = lo.abs().max(hi.abs());
        result.min = lo;
        result.max = hi;
        // Exhausted Krylov space: the Ritz values are eigenvalues.
        let bound = if last && (b == 0.0 || m == rows) {
            0.0
        } else {
            b * u[(m - 1, 0)].abs().max(u[(m - 1, m - 1)].abs())
        };
        result.residual = if scale > 0.0 { bound / scale } else { 0.0 };
        if bound <= tol * scale || scale == 0.0 {
            result.converged = true;
            break;
        }
        if b == 0.0 {
            break;
        }
        w.iter_mut().for_each(|z| *z /= b);
        beta.push(b);
        basis.push(w);
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// U diag(λ) U† with U a product of two Householder reflections (a dense unitary), so the
    /// spectrum is known exactly.
    fn with_spectrum(lambda: &[f64]) -> Vec<Complex64> {
        let p = lambda.len();
        let v1 = start_vector(p);
        let v2: Vec<Complex64> = start_vector(2 * p)[p..].to_vec();
        let house = |v: &[Complex64], m: &mut Vec<Complex64>| {
            // m ← (I − 2 v v†) m (I − 2 v v†) for a unit v (‖v‖ = 1 up to round-off).
            let nv = norm(v);
            let v: Vec<Complex64> = v.iter().map(|z| z / nv).collect();
            let mut left = m.clone();
            for j in 0..p {
                let c: Complex64 = (0..p).map(|i| v[i].conj() * m[i * p + j]).sum();
                for i in 0..p {
                    left[i * p + j] -= 2.0 * v[i] * c;
                }
            }
            for i in 0..p {
                let c: Complex64 = (0..p).map(|j| left[i * p + j] * v[j]).sum();
                for j in 0..p {
                    left[i * p + j] -= 2.0 * c * v[j].conj();
                }
            }
            *m = left;
        };
        let mut m = vec![Complex64::new(0.0, 0.0); p * p];
        for (i, l) in lambda.iter().enumerate() {
            m[i * p + i] = Complex64::new(*l, 0.0);
        }
        house(&v1, &mut m);
        house(&v2, &mut m);
        crate::kernels::hermitise(p, &mut m);
        m
    }

    /// A density-matrix-like spectrum (a cluster of P − 20 eigenvalues at ±1e-15, occupations
    /// decaying from 0.9, one slightly negative value) and one with separated ends: the
    /// extremes to 1e-12, the second well before P steps.
    #[test]
    fn extreme_eigenvalues_of_known_spectra() {
        let p = 300;
        let mut lambda: Vec<f64> = (0..p)
            .map(|i| if i % 2 == 0 { 1e-15 } else { -1e-15 })
            .collect();
        for (i, l) in lambda.iter_mut().take(20).enumerate() {
            *l = 0.9 * 0.7f64.powi(i as i32);
        }
        lambda[25] = -3e-3;
        let a = with_spectrum(&lambda);
        let r = extreme_eigenvalues(p, &a, 1e-12, 500).unwrap();
        assert!(r.converged, "{r:?}");
        assert!(
            (r.max - 0.9).abs() < 1e-12 && (r.min + 3e-3).abs() < 1e-12,
            "{r:?}"
        );

        let mut lambda: Vec<f64> = (0..p).map(|i| i as f64 / p as f64).collect();
        lambda[0] = -2.0;
        lambda[p - 1] = 3.0;
        let a = with_spectrum(&lambda);
        let r = extreme_eigenvalues(p, &a, 1e-12, 500).unwrap();
        assert!(r.converged && r.steps < 60, "{r:?}");
        assert!(
            (r.max - 3.0).abs() < 1e-12 && (r.min + 2.0).abs() < 1e-12,
            "{r:?}"
        );

        // A tiny matrix: the Krylov space is exhausted at k = P.
        let r = extreme_eigenvalues(3, &with_spectrum(&[0.5, -1.0, 0.5]), 1e-14, 10).unwrap();
        assert!(r.converged && (r.min + 1.0).abs() < 1e-14 && (r.max - 0.5).abs() < 1e-14);
        assert!(extreme_eigenvalues(2, &a[..3], 1e-12, 10).is_err());
    }
}
