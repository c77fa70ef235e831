//! Host-side dense measurements of the comparison (f64, faer): Hermitian parts, the trace and
//! Hilbert–Schmidt norms of ω − ω̃, the position commutators [x_i, ω] with minimal-image
//! separations on a torus, and the density of their absolute value (paper eq. 1.9).
//!
//! Matrices are row-major P × P slices of `Complex64` (P = n^d grid points), in the storage of
//! `hartree`: A_ab = h^d ω(x_a; x_b), so matrix trace norms are operator trace norms.

use anyhow::Result;
use num_complex::Complex64;

use crate::hartree::spectrum::{hermitian_eigen_mat, hermitian_eigenvalues};
use crate::hartree::HartreeGrid;
use crate::poisson::Boundary;

/// (A + A†)/2: f32 downloads from the GPU are Hermitian only to round-off, and the dense
/// eigensolver reads one triangle.
pub fn hermitian_part(rows: usize, a: &[Complex64]) -> Vec<Complex64> {
    let mut out = a.to_vec();
    crate::kernels::hermitise(rows, &mut out);
    out
}

/// The separation of two grid points along one axis as a function of their index difference,
/// a table of 2n values: entry r is s(δ) for the difference δ ≡ r (mod 2n), δ ∈ (−n, n) (entry
/// n is never read). On a periodic box it is the minimal image: δ·h for δ mod n in (−n/2, n/2),
/// and 0 at δ ≡ n/2 exactly (the mean of ±L/2, which keeps the table antisymmetric and so
/// i[x, ω] Hermitian). On an isolated box it is the plain difference δ·h (hence 2n entries,
/// not n: δ and δ − n differ there).
pub fn separation_line(grid: &HartreeGrid, boundary: Boundary) -> Vec<f64> {
    let n = grid.n as i64;
    (0..2 * n)
        .map(|r| {
            let delta = if r < n { r } else { r - 2 * n };
            let s = match boundary {
                Boundary::Isolated => delta,
                Boundary::Periodic => {
                    let m = delta.rem_euclid(n);
                    if 2 * m < n {
                        m
                    } else if 2 * m > n {
                        m - n
                    } else {
                        0
                    }
                }
            };
            s as f64 * grid.h
        })
        .collect()
}

/// The separation (x_a − x_b)_i along axis `axis` for every pair of grid points, row-major
/// P × P, from `separation_line`.
pub fn separation_table(grid: &HartreeGrid, boundary: Boundary, axis: usize) -> Vec<f64> {
    let points = grid.points();
    let n = grid.n;
    let stride = n.pow((grid.dim - 1 - axis) as u32);
    let line = separation_line(grid, boundary);
    let index = |a: usize| a / stride % n;
    let mut out = vec![0.0; points * points];
    for a in 0..points {
        for b in 0..points {
            out[a * points + b] = line[(2 * n + index(a) - index(b)) % (2 * n)];
        }
    }
    out
}

/// i[x_i, A]_ab = i (x_a − x_b) A_ab with the separations of `separation_table`: Hermitian
/// when A is, with the same trace norm as [x_i, A].
pub fn commutator(separation: &[f64], a: &[Complex64]) -> Vec<Complex64> {
    a.iter()
        .zip(separation)
        .map(|(z, s)| Complex64::new(0.0, *s) * z)
        .collect()
}

/// Eigenvalues of a Hermitian matrix (ascending) and the diagonal of its absolute value,
/// |H|_aa = Σ_j |λ_j| |V_aj|².
pub fn abs_diagonal(rows: usize, h: &[Complex64]) -> Result<(Vec<f64>, Vec<f64>)> {
    let (values, v) = hermitian_eigen_mat(rows, h)?;
    let mut diag = vec![0.0; rows];
    for (j, l) in values.iter().enumerate() {
        let col = v.col(j);
        let w = l.abs();
        for (a, d) in diag.iter_mut().enumerate() {
            *d += w * col[a].norm_sqr();
        }
    }
    Ok((values, diag))
}

/// The density of eq. 1.9 for one axis: ρ_|[x_i, ω]|(x_a) = |i[x_i, A]|_aa / h^d, with the
/// separations of `separation_table` (minimal images on a torus), and tr|[x_i, ω]| (its L¹
/// norm, Σ_a ρ_a h^d). One dense eigendecomposition with vectors.
pub fn commutator_density(
    separation: &[f64],
    a: &[Complex64],
    rows: usize,
    cell: f64,
) -> Result<(f64, Vec<f64>)> {
    let c = commutator(separation, a);
    let (values, diag) = abs_diagonal(rows, &c)?;
    let trace_norm = values.iter().map(|l| l.abs()).sum();
    Ok((trace_norm, diag.iter().map(|v| v / cell).collect()))
}

/// The trace norm Σ|λ| of a Hermitian matrix, with its eigenvalues (ascending).
pub fn trace_norm_and_spectrum(rows: usize, h: &[Complex64]) -> Result<(f64, Vec<f64>)> {
    let values = hermitian_eigenvalues(rows, h)?;
    Ok((values.iter().map(|l| l.abs()).sum(), values))
}

/// The L^p norm (Σ_a |ρ_a|^p · cell)^(1/p) of a density sampled on the grid points.
pub fn lp_norm(rho: &[f64], cell: f64, p: f64) -> f64 {
    (rho.iter().map(|r| r.abs().powf(p)).sum::<f64>() * cell).powf(1.0 / p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separations_are_minimal_images_and_antisymmetric() {
        let g = HartreeGrid::new(2, 6, 6.0, Boundary::Periodic).unwrap();
        for axis in 0..2 {
            let s = separation_table(&g, Boundary::Periodic, axis);
            let p = g.points();
            for a in 0..p {
                for b in 0..p {
                    assert_eq!(s[a * p + b], -s[b * p + a]);
                    assert!(s[a * p + b].abs() < 3.0);
                }
            }
        }
        // Axis 1 varies fastest: points 0 and 5 are neighbours across the boundary, x_0 − x_5 = +h.
        let s = separation_table(&g, Boundary::Periodic, 1);
        assert_eq!(s[5], 1.0);
        assert_eq!(s[3], 0.0);
        assert_eq!(s[2], -2.0);
        let s = separation_table(&g, Boundary::Isolated, 0);
        assert_eq!(s[5 * 6 * 36], 5.0);
    }

    /// |σ_y| = 1: the diagonal of the absolute value of a 2 × 2 Hermitian matrix.
    #[test]
    fn absolute_value_diagonal() {
        let z = Complex64::new(0.0, 0.0);
        let sy = [z, Complex64::new(0.0, -1.0), Complex64::new(0.0, 1.0), z];
        let (values, diag) = abs_diagonal(2, &sy).unwrap();
        assert!((values[0] + 1.0).abs() < 1e-14 && (values[1] - 1.0).abs() < 1e-14);
        assert!((diag[0] - 1.0).abs() < 1e-14 && (diag[1] - 1.0).abs() < 1e-14);
        // diag(2, −3): |H| = diag(2, 3).
        let h = [Complex64::new(2.0, 0.0), z, z, Complex64::new(-3.0, 0.0)];
        let (_, diag) = abs_diagonal(2, &h).unwrap();
        assert!((diag[0] - 2.0).abs() < 1e-14 && (diag[1] - 3.0).abs() < 1e-14);
        let (tn, _) = trace_norm_and_spectrum(2, &h).unwrap();
        assert!((tn - 5.0).abs() < 1e-14);
    }

    #[test]
    fn hermitian_part_and_commutator() {
        let a = [
            Complex64::new(1.0, 0.1),
            Complex64::new(2.0, 1.0),
            Complex64::new(2.0, -3.0),
            Complex64::new(4.0, 0.0),
        ];
        let h = hermitian_part(2, &a);
        assert_eq!(h[0], Complex64::new(1.0, 0.0));
        assert_eq!(h[1], Complex64::new(2.0, 2.0));
        assert_eq!(h[2], Complex64::new(2.0, -2.0));
        let s = [0.0, -0.5, 0.5, 0.0];
        let c = commutator(&s, &h);
        assert!(crate::hartree::spectrum::hermiticity_defect(2, &c) < 1e-15);
        assert!((lp_norm(&[1.0, -2.0], 0.5, 2.0) - (2.5f64).sqrt()).abs() < 1e-15);
    }
}
