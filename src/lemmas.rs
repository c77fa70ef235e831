//! Numerical checks of two tools of the paper (DESIGN.md section 3), in f64 on the host.
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
//! in 3D. `chi_commutator_trace_norm` computes the left side on a grid of any dimension.

use std::f64::consts::PI;

use anyhow::{bail, Result};
use num_complex::Complex64;

use crate::hartree::spectrum;
use crate::hartree::HartreeGrid;

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
/// the commutator, eq. 1.9), on a grid without wrap-around (isolated boundary: x_i is the
/// plain coordinate). Σ_a ρ_a h^d = tr|[x_i, ω]|.
pub fn x_commutator_density(grid: &HartreeGrid, a: &[Complex64], axis: usize) -> Result<Vec<f64>> {
    let p = grid.points();
    let xs: Vec<f64> = (0..p).map(|b| grid.point(b)[axis]).collect();
    let c = i_commutator_diagonal(&xs, a);
    let (values, v) = spectrum::hermitian_eigen(p, &c)?;
    let cell = grid.cell();
    Ok((0..p)
        .map(|b| {
            (0..p)
                .map(|j| values[j].abs() * v[b * p + j].norm_sqr())
                .sum::<f64>()
                / cell
        })
        .collect())
}

/// The (uncentred) Hardy–Littlewood maximal function of a 1D grid density at index `k`:
/// the largest average over windows of grid cells [i, j] that contain k.
pub fn maximal_function_1d(rho: &[f64], k: usize) -> f64 {
    let n = rho.len();
    let mut prefix = vec![0.0; n + 1];
    for i in 0..n {
        prefix[i + 1] = prefix[i] + rho[i];
    }
    let mut best = 0.0f64;
    for i in 0..=k {
        for j in k..n {
            best = best.max((prefix[j + 1] - prefix[i]) / (j + 1 - i) as f64);
        }
    }
    best
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
