//! Numerical checks of two tools of the paper (docs/design.md section 3), in f64 on the host.
//!
//! Lemma 2.2 (Fefferman–de la Llave with Gaussians): with χ_(r,z)(x) = exp(−|x − z|²/r²) in
//! R³,
//!
//!   1/|x − y| = (4/π²) ∫_0^∞ dr r^(−5) ∫_(R³) dz χ_(r,z)(x) χ_(r,z)(y),          (2.9)
//!
//! and in the original form, with χ the indicator of the ball of radius r about z,
//!
//!   1/|x − y| = (1/π) ∫_0^∞ dr r^(−5) ∫_(R³) dz 1_(|x−z|≤r) 1_(|y−z|≤r).
//!
//! `fdll_gaussian` and `fdll_ball` evaluate the right-hand sides by quadrature.
//!
//! Lemma 2.4: tr|[χ_(r,z), ω̃]| ≤ C r^(3/2 − 3δ) Σ_i ‖ρ_[x_i,ω̃]‖₁^(1/6+δ) (ρ*_[x_i,ω̃](z))^(5/6−δ)
//! in 3D. `chi_commutator_trace_norm` computes the left side on a grid of any dimension,
//! `x_commutator_density` the density ρ_[x_i,ω̃] (eq. 1.9), `maximal_function` its
//! Hardy–Littlewood maximal function (over cubes) and `lemma_2_4_rhs` the right side without C;
//! `hvp lemma24` (src/lemma24.rs) puts them together.

use std::f64::consts::PI;

use anyhow::{bail, Result};
use num_complex::Complex64;

use crate::compare::dense;
use crate::hartree::spectrum;
use crate::hartree::HartreeGrid;
use crate::poisson::Boundary;

/// Nodes and weights of the n-point Gauss–Legendre rule on [−1, 1] (Newton on P_n).
pub fn gauss_legendre(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut x = vec![0.0; n];
    let mut w = vec![0.0; n];
    for i in 0..n {
        let mut t = (PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut dp = 0.0;
        for _ in 0..100 {
            let (mut p0, mut p1) = (1.0, t);
            for k in 2..=n {
                let p2 = ((2 * k - 1) as f64 * t * p1 - (k - 1) as f64 * p0) / k as f64;
                p0 = p1;
                p1 = p2;
            }
            let pn = if n == 1 { t } else { p1 };
            let pn1 = if n == 1 { 1.0 } else { p0 };
            dp = n as f64 * (t * pn - pn1) / (t * t - 1.0);
            let dt = pn / dp;
            t -= dt;
            if dt.abs() < 1e-16 {
                break;
            }
        }
        x[i] = t;
        w[i] = 2.0 / ((1.0 - t * t) * dp * dp);
    }
    (x, w)
}

/// (4/π²) ∫_0^∞ dr r^(−5) ∫ dz e^(−|x−z|²/r²) e^(−|y−z|²/r²), the right side of (2.9).
///
/// Quadrature: the z integral is a product over the three axes (the Gaussians factor); each
/// axis by the trapezoid rule with step r/8 over ±8r about the midpoint of x_i and y_i (where
/// the integrand e^(−2(z − m)²/r²) e^(−(x_i−y_i)²/2r²) lives; the rule is spectrally accurate
/// for a Gaussian). The r integral by the trapezoid rule in s = ln r (step 1/32) from
/// ln|x − y| − 6 to ln|x − y| + 40, where the integrand has decayed below 1e-17 at both ends.
pub fn fdll_gaussian(x: [f64; 3], y: [f64; 3]) -> f64 {
    let a = dist(x, y);
    let (s0, s1, ds) = (a.ln() - 6.0, a.ln() + 40.0, 1.0 / 32.0);
    let steps = ((s1 - s0) / ds).round() as usize;
    let mut total = 0.0;
    for k in 0..=steps {
        let r = (s0 + k as f64 * ds).exp();
        let mut z_integral = 1.0;
        for i in 0..3 {
            let m = 0.5 * (x[i] + y[i]);
            let h = r / 8.0;
            let mut axis = 0.0;
            for j in -64i32..=64 {
                let z = m + j as f64 * h;
                axis += (-((x[i] - z).powi(2) + (y[i] - z).powi(2)) / (r * r)).exp();
            }
            z_integral *= axis * h;
        }
        // dr = r ds.
        let w = if k == 0 || k == steps { 0.5 } else { 1.0 };
        total += w * z_integral / r.powi(4) * ds;
    }
    4.0 / (PI * PI) * total
}

/// (1/π) ∫_0^∞ dr r^(−5) |B(x, r) ∩ B(y, r)|, the Fefferman–de la Llave form.
///
/// The lens volume by quadrature along the axis through x and y (twice the cap of one ball
/// beyond the mid plane: 2π ∫_(a/2)^r (r² − s²) ds, Gauss–Legendre), the r integral over
/// r > a/2 (smaller balls do not meet) in t = a/(2r) ∈ (0, 1] by Gauss–Legendre.
pub fn fdll_ball(x: [f64; 3], y: [f64; 3]) -> f64 {
    let a = dist(x, y);
    let (gx, gw) = gauss_legendre(48);
    let lens = |r: f64| -> f64 {
        let (lo, hi) = (a / 2.0, r);
        let half = 0.5 * (hi - lo);
        let cap: f64 = gx
            .iter()
            .zip(&gw)
            .map(|(u, w)| {
                let s = lo + half * (u + 1.0);
                w * half * PI * (r * r - s * s)
            })
            .sum();
        2.0 * cap
    };
    let total: f64 = gx
        .iter()
        .zip(&gw)
        .map(|(u, w)| {
            let t = 0.5 * (u + 1.0);
            let r = a / (2.0 * t);
            // dr = a/(2t²) dt, dt = du/2.
            0.5 * w * lens(r) / r.powi(5) * a / (2.0 * t * t)
        })
        .sum();
    total / PI
}

fn dist(x: [f64; 3], y: [f64; 3]) -> f64 {
    (0..3).map(|i| (x[i] - y[i]).powi(2)).sum::<f64>().sqrt()
}

/// χ_(r,z) at the grid points, exp(−|x − z|²/r²) with the minimal-image separation when
/// `periodic`.
pub fn chi(grid: &HartreeGrid, r: f64, z: &[f64], periodic: bool) -> Vec<f64> {
    (0..grid.points())
        .map(|a| {
            let x = grid.point(a);
            let d2: f64 = (0..grid.dim)
                .map(|i| {
                    let mut d = x[i] - z[i];
                    if periodic {
                        d -= grid.length * (d / grid.length).round();
                    }
                    d * d
                })
                .sum();
            (-d2 / (r * r)).exp()
        })
        .collect()
}

/// i[D, A] for a diagonal (multiplication) operator D = diag(dv) and a Hermitian A:
/// (i[D, A])_ab = i (d_a − d_b) A_ab, Hermitian (the commutator itself is anti-Hermitian and
/// has the same trace norm).
pub fn i_commutator_diagonal(dv: &[f64], a: &[Complex64]) -> Vec<Complex64> {
    let p = dv.len();
    let mut c = vec![Complex64::new(0.0, 0.0); p * p];
    for i in 0..p {
        for j in 0..p {
            c[i * p + j] = Complex64::new(0.0, dv[i] - dv[j]) * a[i * p + j];
        }
    }
    c
}

/// tr|[χ_(r,z), ω]| for the operator A_ab = h^d ω(x_a; x_b) on `grid` (exact, dense
/// eigenvalues of i[χ, A]).
pub fn chi_commutator_trace_norm(
    grid: &HartreeGrid,
    a: &[Complex64],
    r: f64,
    z: &[f64],
    periodic: bool,
) -> Result<f64> {
    let p = grid.points();
    if a.len() != p * p || z.len() != grid.dim {
        bail!(
            "an operator on {p} points and a centre of {} coordinates",
            grid.dim
        );
    }
    let c = i_commutator_diagonal(&chi(grid, r, z, periodic), a);
    spectrum::trace_norm(p, &c)
}

/// The density ρ_|[x_i, ω]|(x_a) = |i[x_i, A]|_aa / h^d (the diagonal of the absolute value of
/// the commutator, eq. 1.9) on a grid of any dimension, with plain separations on an isolated
/// box and minimal images on a periodic one (`dense::separation_table`), and tr|[x_i, ω]|
/// = Σ_a ρ_a h^d.
pub fn x_commutator_density(
    grid: &HartreeGrid,
    boundary: Boundary,
    a: &[Complex64],
    axis: usize,
) -> Result<(f64, Vec<f64>)> {
    let p = grid.points();
    if a.len() != p * p {
        bail!(
            "an operator with {} entries on a grid of {p} points",
            a.len()
        );
    }
    if axis >= grid.dim {
        bail!("axis {axis} on a grid of dimension {}", grid.dim);
    }
    let separation = dense::separation_table(grid, boundary, axis);
    dense::commutator_density(&separation, a, p, grid.cell())
}

/// The grid point nearest to `z` as per-axis indices (minimal image on a periodic box; on an
/// isolated box `z` must lie inside it).
pub fn nearest_grid_index(grid: &HartreeGrid, z: &[f64], periodic: bool) -> Result<Vec<usize>> {
    if z.len() != grid.dim {
        bail!(
            "a point of {} coordinates on a grid of dimension {}",
            z.len(),
            grid.dim
        );
    }
    z.iter()
        .enumerate()
        .map(|(i, &zi)| {
            if !zi.is_finite() {
                bail!("coordinate {i} of the point is {zi}");
            }
            let k = ((zi - grid.x_min) / grid.h).round();
            if periodic {
                Ok((k as i64).rem_euclid(grid.n as i64) as usize)
            } else if k < 0.0 || k > (grid.n - 1) as f64 {
                bail!(
                    "coordinate {i} = {zi} is outside the box [{}, {})",
                    grid.x_min,
                    grid.x_min + grid.length
                )
            } else {
                Ok(k as usize)
            }
        })
        .collect()
}

/// The uncentred Hardy–Littlewood maximal function of a grid density at the grid point `at`
/// (per-axis indices): the largest average of ρ over the axis-aligned cubes of k^d grid cells
/// (k = 1..n) that contain the point. Cubes stand in for the paper's balls (eq. 2.13): each
/// ball average is within a dimensional constant of a cube average and back. On an isolated box
/// the cubes lie inside the grid; on a periodic one they wrap around (side at most n).
///
/// Direct: a summed-area table over the grid (doubled per axis when periodic, so that a
/// wrapped cube is one block) and every cube by inclusion–exclusion of its 2^d corners,
/// Σ_k k^d cubes in all (18 496 at d = 3, n = 16).
pub fn maximal_function(
    rho: &[f64],
    n: usize,
    dim: usize,
    at: &[usize],
    periodic: bool,
) -> Result<f64> {
    if n == 0 || dim == 0 || rho.len() != n.pow(dim as u32) {
        bail!(
            "a density of {} values on a grid of {n}^{dim} points",
            rho.len()
        );
    }
    if at.len() != dim || at.iter().any(|&k| k >= n) {
        bail!("grid point {at:?} is not on a grid of {n}^{dim} points");
    }
    let table = SummedArea::new(rho, n, dim, periodic);
    // The one-cell cube exactly (the table's differences round), so that ρ* ≥ ρ holds exactly.
    let mut best = rho[at.iter().fold(0, |acc, &k| acc * n + k)];
    let mut start = vec![0usize; dim];
    for side in 1..=n {
        // Every offset of the point inside a cube of this side.
        'offsets: for t in 0..side.pow(dim as u32) {
            let mut rest = t;
            for i in 0..dim {
                let offset = rest % side;
                rest /= side;
                let s = at[i] as i64 - offset as i64;
                start[i] = if periodic {
                    s.rem_euclid(n as i64) as usize
                } else if s < 0 || s as usize + side > n {
                    continue 'offsets;
                } else {
                    s as usize
                };
            }
            best = best.max(table.cube_sum(&start, side) / side.pow(dim as u32) as f64);
        }
    }
    Ok(best)
}

/// Sums over [0, k_1) × … × [0, k_d) of a grid density (periodically extended to 2n per axis
/// when `periodic`), stored with one extra leading slot per axis, in the grid's axis order.
struct SummedArea {
    dim: usize,
    width: usize,
    sums: Vec<f64>,
}

impl SummedArea {
    fn new(rho: &[f64], n: usize, dim: usize, periodic: bool) -> Self {
        let m = if periodic { 2 * n } else { n };
        let width = m + 1;
        let mut sums = vec![0.0; width.pow(dim as u32)];
        for (flat, v) in sums.iter_mut().enumerate() {
            // Table index (k_1 .. k_d), k_i ≥ 1, holds the value of cell (k_i − 1) mod n.
            let (mut rest, mut source, mut inside) = (flat, 0usize, true);
            for _ in 0..dim {
                let k = rest % width;
                rest /= width;
                inside &= k > 0;
            }
            if !inside {
                continue;
            }
            rest = flat;
            let mut stride = 1;
            for _ in 0..dim {
                let k = rest % width;
                rest /= width;
                source += ((k - 1) % n) * stride;
                stride *= n;
            }
            *v = rho[source];
        }
        // Cumulative sums along each axis in turn.
        let mut stride = 1;
        for _ in 0..dim {
            for flat in 0..sums.len() {
                if (flat / stride) % width > 0 {
                    sums[flat] += sums[flat - stride];
                }
            }
            stride *= width;
        }
        Self { dim, width, sums }
    }

    /// The sum over the cube [start_i, start_i + side) per axis.
    fn cube_sum(&self, start: &[usize], side: usize) -> f64 {
        let mut total = 0.0;
        for corner in 0..1usize << self.dim {
            let (mut flat, mut stride, mut lower) = (0, 1, 0);
            // Axis 0 varies slowest, as in the grid's flat index.
            for (i, &s) in start.iter().enumerate().rev() {
                let upper = corner >> i & 1 == 1;
                flat += if upper { s + side } else { s } * stride;
                lower += usize::from(!upper);
                stride *= self.width;
            }
            let sign = if lower % 2 == 0 { 1.0 } else { -1.0 };
            total += sign * self.sums[flat];
        }
        total
    }
}

/// The exponents (a, b, c) of Lemma 2.4's right-hand side r^a ‖ρ‖₁^b (ρ*)^c in d dimensions:
/// the proof interpolates with weight θ = 2/d − 2δ, which gives a = d/2 − dδ, b = (1 − θ)/2 =
/// 1/2 − 1/d + δ and c = (1 + θ)/2 = 1/2 + 1/d − δ; d = 3: the paper's 3/2 − 3δ, 1/6 + δ,
/// 5/6 − δ. (The proof needs θ ≤ 1, i.e. δ ≥ 1/2 − 1/d: any δ > 0 for d ≥ 2; in 1D this is
/// only the formal analogue.)
pub fn lemma_2_4_exponents(dim: usize, delta: f64) -> (f64, f64, f64) {
    let d = dim as f64;
    (
        d / 2.0 - d * delta,
        0.5 - 1.0 / d + delta,
        0.5 + 1.0 / d - delta,
    )
}

/// Lemma 2.4's right-hand side without its constant: r^a Σ_i ‖ρ_i‖₁^b ρ*_i(z)^c with the
/// exponents of `lemma_2_4_exponents`, from the per-axis L¹ norms and maximal functions at z.
pub fn lemma_2_4_rhs(
    dim: usize,
    delta: f64,
    r: f64,
    l1_norms: &[f64],
    maximal_at_z: &[f64],
) -> f64 {
    let (a, b, c) = lemma_2_4_exponents(dim, delta);
    r.powf(a)
        * l1_norms
            .iter()
            .zip(maximal_at_z)
            .map(|(l1, star)| l1.powf(b) * star.powf(c))
            .sum::<f64>()
}

/// Least-squares slope of ln y against ln x.
pub fn log_log_slope(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let lx: Vec<f64> = x.iter().map(|v| v.ln()).collect();
    let ly: Vec<f64> = y.iter().map(|v| v.ln()).collect();
    let mx = lx.iter().sum::<f64>() / n;
    let my = ly.iter().sum::<f64>() / n;
    let sxy: f64 = lx.iter().zip(&ly).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = lx.iter().map(|a| (a - mx).powi(2)).sum();
    sxy / sxx
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The largest cube average by direct summation over the cells of every cube.
    fn brute_maximal(rho: &[f64], n: usize, dim: usize, at: &[usize], periodic: bool) -> f64 {
        let mut best = f64::NEG_INFINITY;
        let cells = n.pow(dim as u32);
        for side in 1..=n {
            for t in 0..side.pow(dim as u32) {
                let mut start = vec![0i64; dim];
                let mut rest = t;
                let mut ok = true;
                for i in 0..dim {
                    start[i] = at[i] as i64 - (rest % side) as i64;
                    rest /= side;
                    ok &= periodic || (start[i] >= 0 && start[i] + side as i64 <= n as i64);
                }
                if !ok {
                    continue;
                }
                // Axis 0 slowest.
                let inside = |c: usize| {
                    (0..dim).all(|i| {
                        let k = (c / n.pow((dim - 1 - i) as u32) % n) as i64;
                        (k - start[i]).rem_euclid(n as i64) < side as i64
                    })
                };
                let sum: f64 = (0..cells).filter(|&c| inside(c)).map(|c| rho[c]).sum();
                best = best.max(sum / side.pow(dim as u32) as f64);
            }
        }
        best
    }

    #[test]
    fn maximal_function_matches_direct_sums() {
        for dim in 1..=3 {
            let n: usize = 5;
            let cells = n.pow(dim as u32);
            // An uneven density: no symmetry between the axes.
            let rho: Vec<f64> = (0..cells)
                .map(|c| ((c * 7919 % 13) as f64 + 0.5) * if c % 3 == 0 { 4.0 } else { 1.0 })
                .collect();
            for periodic in [false, true] {
                for at in [vec![0, 1, 4], vec![4, 2, 0], vec![3, 3, 1]] {
                    let at = &at[..dim];
                    let fast = maximal_function(&rho, n, dim, at, periodic).unwrap();
                    let slow = brute_maximal(&rho, n, dim, at, periodic);
                    assert!(
                        (fast - slow).abs() < 1e-12 * slow,
                        "d = {dim}, periodic {periodic}, at {at:?}: {fast} vs {slow}"
                    );
                }
            }
        }
        assert!(maximal_function(&[1.0; 8], 2, 3, &[0, 2, 0], false).is_err());
        assert!(maximal_function(&[1.0; 7], 2, 3, &[0, 0, 0], false).is_err());
    }
}
