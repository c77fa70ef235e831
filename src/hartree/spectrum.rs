//! Dense Hermitian spectra in f64 on the CPU: occupation spectra, thermal states and the exact
//! trace norm tr|A| = Σ|λ| (docs/design.md section 3, the exact path for matrices up to 8192 rows).
//!
//! Matrices are row-major n × n slices of `Complex64`. Every entry point checks the size and
//! the Hermiticity first (the solver reads one triangle only, so a non-Hermitian input would
//! silently give the spectrum of a different matrix), then calls faer's dense self-adjoint
//! eigensolver.

use std::time::Instant;

use anyhow::{bail, Result};
use faer::{Mat, MatRef, Side};
use num_complex::Complex64;

/// The largest matrix the dense path accepts (8192 rows: 1 GiB of complex f64 per copy).
pub const MAX_ROWS: usize = 8192;

/// Relative Hermiticity defect above which a matrix is refused.
pub const HERMITIAN_TOLERANCE: f64 = 1e-8;

/// max_ab |A_ab − conj(A_ba)| / max_ab |A_ab| (0 for the zero matrix).
pub fn hermiticity_defect(rows: usize, a: &[Complex64]) -> f64 {
    let mut defect = 0.0f64;
    let mut largest = 0.0f64;
    for i in 0..rows {
        for j in i..rows {
            let aij = a[i * rows + j];
            let aji = a[j * rows + i];
            defect = defect.max((aij - aji.conj()).norm());
            largest = largest.max(aij.norm()).max(aji.norm());
        }
    }
    if largest == 0.0 {
        0.0
    } else {
        defect / largest
    }
}

/// Size, length and Hermiticity checks shared by every entry point.
fn check(rows: usize, a: &[Complex64]) -> Result<()> {
    if rows == 0 {
        bail!("a Hermitian spectrum needs at least one row");
    }
    if rows > MAX_ROWS {
        bail!(
            "a {rows} × {rows} matrix is beyond the dense eigensolver's limit of {MAX_ROWS} rows \
             (use the Hilbert–Schmidt norm or an iterative trace norm at this size)"
        );
    }
    if a.len() != rows * rows {
        bail!(
            "{} entries for a {rows} × {rows} matrix (expected {})",
            a.len(),
            rows * rows
        );
    }
    if let Some(bad) = a.iter().find(|z| !(z.re.is_finite() && z.im.is_finite())) {
        bail!("the matrix has a non-finite entry ({bad})");
    }
    let defect = hermiticity_defect(rows, a);
    if defect > HERMITIAN_TOLERANCE {
        bail!(
            "the matrix is not Hermitian: max|A − A†| / max|A| = {defect:.3e} \
             (tolerance {HERMITIAN_TOLERANCE:.0e})"
        );
    }
    Ok(())
}

fn view(rows: usize, a: &[Complex64]) -> MatRef<'_, Complex64> {
    MatRef::from_row_major_slice(a, rows, rows)
}

/// Eigenvalues of the Hermitian row-major `rows × rows` matrix `a`, ascending.
pub fn hermitian_eigenvalues(rows: usize, a: &[Complex64]) -> Result<Vec<f64>> {
    check(rows, a)?;
    view(rows, a)
        .self_adjoint_eigenvalues(Side::Lower)
        .map_err(|e| anyhow::anyhow!("the Hermitian eigensolver failed: {e:?}"))
}

/// Eigenvalues (ascending) and eigenvectors as a faer matrix (column j belongs to λ_j).
pub(crate) fn hermitian_eigen_mat(
    rows: usize,
    a: &[Complex64],
) -> Result<(Vec<f64>, Mat<Complex64>)> {
    check(rows, a)?;
    let evd = view(rows, a)
        .self_adjoint_eigen(Side::Lower)
        .map_err(|e| anyhow::anyhow!("the Hermitian eigensolver failed: {e:?}"))?;
    let s = evd.S().column_vector();
    let values = (0..rows).map(|j| s[j].re).collect();
    Ok((values, evd.U().to_owned()))
}

/// Eigenvalues (ascending) and orthonormal eigenvectors of the Hermitian matrix `a`. The
/// vectors are the columns of a row-major `rows × rows` array: `v[i * rows + j]` is component
/// i of the eigenvector of eigenvalue j, so A = V diag(λ) V†.
pub fn hermitian_eigen(rows: usize, a: &[Complex64]) -> Result<(Vec<f64>, Vec<Complex64>)> {
    let (values, u) = hermitian_eigen_mat(rows, a)?;
    let mut v = vec![Complex64::new(0.0, 0.0); rows * rows];
    for j in 0..rows {
        let col = u.col(j);
        for i in 0..rows {
            v[i * rows + j] = col[i];
        }
    }
    Ok((values, v))
}

/// Seconds for one dense Hermitian eigensolve of `rows` rows (values only, and with vectors),
/// scaled as rows³ from a timed solve of a smaller random Hermitian matrix.
pub fn eigensolve_seconds(rows: usize) -> Result<(f64, f64)> {
    let m = rows.min(640);
    let mut a = vec![Complex64::default(); m * m];
    for i in 0..m {
        for j in 0..=i {
            let v = Complex64::new(
                ((i * 31 + j * 17) % 101) as f64 / 101.0,
                if i == j {
                    0.0
                } else {
                    ((i * 7 + j * 3) % 53) as f64 / 53.0
                },
            );
            a[i * m + j] = v;
            a[j * m + i] = v.conj();
        }
    }
    let scale = (rows as f64 / m as f64).powi(3);
    let t = Instant::now();
    hermitian_eigenvalues(m, &a)?;
    let values = t.elapsed().as_secs_f64() * scale;
    let t = Instant::now();
    hermitian_eigen(m, &a)?;
    let vectors = t.elapsed().as_secs_f64() * scale;
    Ok((values, vectors))
}

/// The trace norm tr|A| = Σ_j |λ_j| of a Hermitian matrix (exact, by its eigenvalues).
pub fn trace_norm(rows: usize, a: &[Complex64]) -> Result<f64> {
    Ok(hermitian_eigenvalues(rows, a)?
        .iter()
        .map(|l| l.abs())
        .sum())
}

/// The Hilbert–Schmidt (Frobenius) norm (Σ|A_ab|²)^½ of any matrix.
pub fn hilbert_schmidt(a: &[Complex64]) -> f64 {
    a.iter().map(|z| z.norm_sqr()).sum::<f64>().sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A Haar-like random unitary: Gram–Schmidt (twice) of random complex columns.
    fn random_unitary(n: usize, rng: &mut ChaCha8Rng) -> Vec<Complex64> {
        let mut cols: Vec<Vec<Complex64>> = Vec::with_capacity(n);
        for _ in 0..n {
            let mut v: Vec<Complex64> = (0..n)
                .map(|_| Complex64::new(rng.random::<f64>() - 0.5, rng.random::<f64>() - 0.5))
                .collect();
            for _ in 0..2 {
                for c in &cols {
                    let dot: Complex64 = c.iter().zip(&v).map(|(ci, vi)| ci.conj() * vi).sum();
                    for (vi, ci) in v.iter_mut().zip(c) {
                        *vi -= dot * ci;
                    }
                }
            }
            let norm = v.iter().map(|z| z.norm_sqr()).sum::<f64>().sqrt();
            v.iter_mut().for_each(|z| *z /= norm);
            cols.push(v);
        }
        let mut u = vec![Complex64::new(0.0, 0.0); n * n];
        for (j, c) in cols.iter().enumerate() {
            for i in 0..n {
                u[i * n + j] = c[i];
            }
        }
        u
    }

    /// U diag(λ) U†, Hermitised exactly.
    fn conjugate(n: usize, u: &[Complex64], lambda: &[f64]) -> Vec<Complex64> {
        let mut a = vec![Complex64::new(0.0, 0.0); n * n];
        for i in 0..n {
            for k in 0..n {
                a[i * n + k] = (0..n)
                    .map(|j| u[i * n + j] * lambda[j] * u[k * n + j].conj())
                    .sum();
            }
        }
        for i in 0..n {
            for k in i..n {
                let z = 0.5 * (a[i * n + k] + a[k * n + i].conj());
                a[i * n + k] = z;
                a[k * n + i] = z.conj();
            }
        }
        a
    }

    #[test]
    fn unitary_conjugation_recovers_the_spectrum() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let n = 48;
        let u = random_unitary(n, &mut rng);
        // Mixed signs, a degenerate pair and a near-zero value.
        let mut lambda: Vec<f64> = (0..n).map(|_| 4.0 * rng.random::<f64>() - 2.0).collect();
        lambda[3] = 0.75;
        lambda[17] = 0.75;
        lambda[5] = 1e-14;
        let a = conjugate(n, &u, &lambda);
        let mut sorted = lambda.clone();
        sorted.sort_by(f64::total_cmp);

        let values = hermitian_eigenvalues(n, &a).unwrap();
        let err = values
            .iter()
            .zip(&sorted)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        assert!(err < 1e-12, "eigenvalue error {err:e}");

        let (values, v) = hermitian_eigen(n, &a).unwrap();
        let err_pair = values
            .iter()
            .zip(&sorted)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        assert!(err_pair < 1e-12, "eigenvalue error {err_pair:e}");
        // A V = V Λ and V† V = 1.
        let mut residual = 0.0f64;
        let mut orthogonality = 0.0f64;
        for j in 0..n {
            for i in 0..n {
                let av: Complex64 = (0..n).map(|k| a[i * n + k] * v[k * n + j]).sum();
                residual = residual.max((av - values[j] * v[i * n + j]).norm());
                let vv: Complex64 = (0..n).map(|k| v[k * n + i].conj() * v[k * n + j]).sum();
                let expect = if i == j { 1.0 } else { 0.0 };
                orthogonality = orthogonality.max((vv - expect).norm());
            }
        }
        assert!(residual < 1e-12, "|AV − VΛ| = {residual:e}");
        assert!(orthogonality < 1e-12, "|V†V − 1| = {orthogonality:e}");
    }

    #[test]
    fn trace_norm_of_mixed_signs() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let n = 24;
        let u = random_unitary(n, &mut rng);
        let lambda: Vec<f64> = (0..n)
            .map(|j| {
                if j % 3 == 0 {
                    -(j as f64) / 7.0
                } else {
                    j as f64 / 5.0
                }
            })
            .collect();
        let a = conjugate(n, &u, &lambda);
        let expect: f64 = lambda.iter().map(|l| l.abs()).sum();
        let got = trace_norm(n, &a).unwrap();
        assert!((got - expect).abs() < 1e-11 * expect, "{got} vs {expect}");
        // The trace itself (Σλ) is smaller than the trace norm for mixed signs.
        let trace: f64 = (0..n).map(|i| a[i * n + i].re).sum();
        assert!((trace - lambda.iter().sum::<f64>()).abs() < 1e-11);
        // Hilbert–Schmidt norm is unitarily invariant: (Σλ²)^½.
        let hs = hilbert_schmidt(&a);
        let hs_expect = lambda.iter().map(|l| l * l).sum::<f64>().sqrt();
        assert!(
            (hs - hs_expect).abs() < 1e-12 * hs_expect,
            "{hs} vs {hs_expect}"
        );
        // σ_y: eigenvalues ±1, trace norm 2.
        let z = Complex64::new(0.0, 0.0);
        let sy = [z, Complex64::new(0.0, -1.0), Complex64::new(0.0, 1.0), z];
        assert!((trace_norm(2, &sy).unwrap() - 2.0).abs() < 1e-15);
    }

    #[test]
    fn refuses_non_hermitian_and_oversized_matrices() {
        let one = Complex64::new(1.0, 0.0);
        let z = Complex64::new(0.0, 0.0);
        // Upper entry 1, lower entry 0.5: defect 0.5 relative to max|A| = 1.
        let a = [one, one, 0.5 * one, one];
        let err = hermitian_eigenvalues(2, &a).unwrap_err().to_string();
        assert!(
            err.contains("not Hermitian") && err.contains("5.000e-1"),
            "{err}"
        );
        // A complex diagonal is not Hermitian either.
        let b = [Complex64::new(1.0, 1e-3), z, z, one];
        assert!(trace_norm(2, &b)
            .unwrap_err()
            .to_string()
            .contains("not Hermitian"));
        // Round-off asymmetry below the tolerance passes.
        let c = [one, one, Complex64::new(1.0, 1e-12), one];
        assert!(hermitian_eigenvalues(2, &c).is_ok());
        let err = hermitian_eigenvalues(MAX_ROWS + 1, &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("8192"), "{err}");
        let err = hermitian_eigen(3, &a).unwrap_err().to_string();
        assert!(err.contains("4 entries"), "{err}");
    }
}
