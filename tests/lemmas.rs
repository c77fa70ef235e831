//! The paper's tools checked numerically: Lemma 2.2 (the Fefferman–de la Llave representation
//! of 1/|x − y|, with Gaussians and constant 4/π², and with balls and constant 1/π) and the
//! r-dependence of Lemma 2.4's tr|[χ_(r,z), ω̃]| for a coherent-state mixture.

use hvp::compare::dense;
use hvp::hartree::init::HartreeInitial;
use hvp::hartree::spectrum;
use hvp::hartree::{HartreeGrid, HartreePhysics};
use hvp::lemmas::{
    chi_commutator_trace_norm, fdll_ball, fdll_gaussian, gauss_legendre, i_commutator_diagonal,
    lemma_2_4_exponents, lemma_2_4_rhs, log_log_slope, maximal_function, nearest_grid_index,
    x_commutator_density,
};
use hvp::poisson::Boundary;
use hvp::vlasov::init::Component;

#[test]
fn gauss_legendre_integrates_polynomials() {
    let (x, w) = gauss_legendre(12);
    for k in 0..24 {
        let got: f64 = x.iter().zip(&w).map(|(x, w)| w * x.powi(k)).sum();
        let want = if k % 2 == 1 {
            0.0
        } else {
            2.0 / (k as f64 + 1.0)
        };
        assert!((got - want).abs() < 1e-14, "x^{k}: {got} vs {want}");
    }
}

/// Lemma 2.2, eq. (2.9): 1/|x − y| = (4/π²) ∫_0^∞ r^(−5) ∫ χ_(r,z)(x) χ_(r,z)(y) dz dr with
/// χ_(r,z)(x) = exp(−|x − z|²/r²), and the ball form with 1/π, at pairs from 1e-2 to 1e2
/// apart.
#[test]
fn lemma_2_2_fefferman_de_la_llave() {
    let pairs: [([f64; 3], [f64; 3]); 4] = [
        ([0.0, 0.0, 0.0], [1.0, 0.0, 0.0]),
        ([0.3, -0.2, 0.5], [-1.1, 0.4, 2.0]),
        ([1.0, 1.0, 1.0], [1.004, 0.993, 1.005]),
        ([-20.0, 35.0, 3.0], [40.0, -12.0, 7.5]),
    ];
    for (x, y) in pairs {
        let a: f64 = (0..3).map(|i| (x[i] - y[i]).powi(2)).sum::<f64>().sqrt();
        let g = fdll_gaussian(x, y);
        let b = fdll_ball(x, y);
        let (eg, eb) = ((g * a - 1.0).abs(), (b * a - 1.0).abs());
        eprintln!(
            "|x − y| = {a:.4e}: 1/|x − y| = {:.12e}; (4/π²)∫∫ Gaussians = {g:.12e} (relative \
             error {eg:.1e}); (1/π)∫∫ balls = {b:.12e} ({eb:.1e})",
            1.0 / a
        );
        assert!(eg < 1e-6 && eb < 1e-6, "{x:?} {y:?}: {eg:e} {eb:e}");
    }
}

/// tr|[χ_(r,z), ω]| at each r, ρ*_|[x,ω]|(z) and tr|[x, ω]| for a 1D coherent-state mixture
/// (Gaussian M with unit spreads at the origin, δ = √ε, N = 1/ε) on an isolated box [−5, 5).
fn measure(eps: f64, n: usize, z: f64, rs: &[f64]) -> (Vec<f64>, f64, f64, f64) {
    let physics = HartreePhysics {
        dim: 1,
        epsilon: eps,
        particles: None,
        mass: 1.0,
        kappa: 0.0,
        gamma: 1.0,
        boundary: Boundary::Isolated,
        external: None,
        exchange: false,
    };
    let grid = HartreeGrid::new(1, n, 10.0, Boundary::Isolated).unwrap();
    let init = HartreeInitial::CoherentMixture {
        delta: None,
        components: vec![Component::Gaussian {
            weight: 1.0,
            q: vec![0.0],
            p: vec![0.0],
            sigma_q: 1.0,
            sigma_p: 1.0,
        }],
    };
    let a = init.matrix(&grid, &physics).unwrap();
    let t: Vec<f64> = rs
        .iter()
        .map(|&r| chi_commutator_trace_norm(&grid, &a, r, &[z], false).unwrap())
        .collect();
    let (l1, rho) = x_commutator_density(&grid, Boundary::Isolated, &a, 0).unwrap();
    let k = nearest_grid_index(&grid, &[z], false).unwrap();
    let star = maximal_function(&rho, n, 1, &k, false).unwrap();
    eprintln!(
        "ε = {eps}, N = {:.1}, h = {:.4}: tr|[x, ω]| = {l1:.4}, ρ*_|[x,ω]|(z = {z}) = {star:.4}",
        1.0 / eps,
        grid.h
    );
    for i in 0..rs.len() {
        let slope = if i > 0 {
            format!("{:.3}", (t[i] / t[i - 1]).ln() / (rs[i] / rs[i - 1]).ln())
        } else {
            "-".into()
        };
        eprintln!(
            "  r = {:.4}: tr|[χ, ω]| = {:.5e}, tr|[χ, ω]|/ρ*(z) = {:.3}, local slope {slope}",
            rs[i],
            t[i],
            t[i] / star
        );
    }
    (t, star, l1, grid.h)
}

/// Lemma 2.4 is stated in 3D: tr|[χ_(r,z), ω̃]| ≤ C r^(3/2−3δ) ‖ρ_[x,ω̃]‖₁^(1/6+δ)
/// ρ*(z)^(5/6−δ). Its proof bounds the commutator by (1/r) ∫ s^(−1/2) A_s^½ B_s^½ ds with
/// B_s ≲ r^d ρ* and A_s interpolated between r^d ρ*/s^(d/2) and ‖ρ‖₁ with weight θ; in d
/// dimensions that gives r^((dθ + d)/2 − 1) ‖ρ‖₁^((1−θ)/2) ρ*^((1+θ)/2) for θ < 2/d, θ ≤ 1
/// (d = 3, θ = 2/3 − 2δ: the paper's 3/2 − 3δ, 1/6 + δ, 5/6 − δ). In 1D θ = 1 is allowed and
/// the bound is tr|[χ_(r,z), ω̃]| ≤ C ρ*(z), flat in r; the exponent d/2 − dδ of the
/// r-power that the 3D lemma is sharp for (δ → 0: the law tr|[χ, ω]| ~ ‖χ‖₂ ~ r^(d/2) of
/// scales r below the kernel's off-diagonal width ε/σ_p) is 1/2 in 1D.
///
/// Measured here on coherent mixtures, with the grid fine enough that χ is resolved (r ≥ 3h):
/// (a) below the off-diagonal width (ε = 0.4, width ≈ 0.37, r from 0.03 to 0.09) the log–log
/// slope is d/2 = 1/2 (measured 0.43 over the window, local slope 0.46 at its small end and
/// rising towards 0.5 as r falls; asserted within 0.1: the 1D analogue of 3/2 − 3δ as δ → 0);
/// (b) in the semiclassical range ε ≪ r ≪ 1 (ε = 0.1) the slope is d − 1 = 0 (measured −0.09;
/// |slope| < 0.15 asserted), for r ≫ 1 it tends to −2 (χ ≈ 1 − |x − z|²/r²),
/// the flat 1D bound; (c) the ratio tr|[χ, ω]|/ρ*(z), the constant of the 1D bound, stays
/// bounded over r from 0.03 to 6 (measured at most 2.14, asserted ≤ 3). The 3D measurement is
/// `hvp lemma24` (docs/results/lemma-2-4.md) and `lemma_2_4_in_3d` below.
#[test]
fn lemma_2_4_commutator_against_r() {
    let z = 0.3;
    // (a) r below the kernel's off-diagonal width.
    let rs: Vec<f64> = (0..6).map(|k| 0.03 * 1.25f64.powi(k)).collect();
    let (t, star_a, _, h) = measure(0.4, 1024, z, &rs);
    assert!(rs[0] >= 3.0 * h);
    let slope_small = log_log_slope(&rs, &t);
    // (b) and (c): the semiclassical range and beyond.
    let rs_wide: Vec<f64> = (0..16).map(|k| 0.04 * 1.4f64.powi(k)).collect();
    let (t_wide, star_b, l1, _) = measure(0.1, 512, z, &rs_wide);
    let window: Vec<usize> = (0..rs_wide.len())
        .filter(|&i| (0.08..=0.45).contains(&rs_wide[i]))
        .collect();
    let slope_mid = log_log_slope(
        &window.iter().map(|&i| rs_wide[i]).collect::<Vec<_>>(),
        &window.iter().map(|&i| t_wide[i]).collect::<Vec<_>>(),
    );
    let ratio = t
        .iter()
        .map(|v| v / star_a)
        .chain(t_wide.iter().map(|v| v / star_b))
        .fold(0.0f64, f64::max);
    eprintln!(
        "Lemma 2.4 (d = 1): slope {slope_small:.3} for r ≪ ε/σ_p (d/2 = 0.5; 3D: 3/2 − 3δ), \
         slope {slope_mid:.3} for ε < r < 0.45 (d − 1 = 0); max tr|[χ, ω]|/ρ*(z) = {ratio:.3}; \
         tr|[x, ω]| = {l1:.3} at ε = 0.1 (Nε = 1)"
    );
    assert!((slope_small - 0.5).abs() < 0.1, "{slope_small}");
    assert!(slope_mid.abs() < 0.15, "{slope_mid}");
    assert!(ratio.is_finite() && ratio <= 3.0, "{ratio}");
}

/// An isotropic coherent mixture in 3D on 8^3 points (512 rows), h = 0.25, spread over the box
/// (the state of configs/lemma24_3d.toml on a smaller box).
fn isotropic_3d(boundary: Boundary) -> (HartreeGrid, Vec<num_complex::Complex64>, f64) {
    let physics = HartreePhysics {
        dim: 3,
        epsilon: 0.5,
        particles: Some(1.0),
        mass: 1.0,
        kappa: 0.0,
        gamma: 1.0,
        boundary,
        external: None,
        exchange: false,
    };
    let grid = HartreeGrid::new(3, 8, 2.0, boundary).unwrap();
    let centre = grid.x(4);
    let init = HartreeInitial::CoherentMixture {
        delta: None,
        components: vec![Component::Gaussian {
            weight: 1.0,
            q: vec![centre; 3],
            p: vec![0.0; 3],
            sigma_q: 1.5,
            sigma_p: 0.02,
        }],
    };
    let a = init.matrix(&grid, &physics).unwrap();
    (grid, a, centre)
}

/// The 3D pieces of Lemma 2.4 on 512 rows, each against something that can fail:
/// (a) the L¹ identity Σ_a ρ_[x_i,ω](x_a) h³ = tr|[x_i, ω]|, with the trace norm from an
///     independent construction of i[x_i, ω] (plain coordinates on an isolated box);
/// (b) for an isotropic state, ρ_[x_1] is ρ_[x_0] with axes 0 and 1 swapped, and
///     tr|[χ_(r,z), ω]| is unchanged when the coordinates of z (off the centre) are permuted;
/// (c) the maximal function dominates the density at every point and equals a constant;
/// (d) tr|[χ, ω]| grows like r^1.5 (d/2, δ → 0) below the kernel width and the ratio to the
///     right side without C (δ = 0) stays bounded over r from h to 4w.
#[test]
fn lemma_2_4_in_3d() {
    for boundary in [Boundary::Isolated, Boundary::Periodic] {
        let periodic = boundary == Boundary::Periodic;
        let (grid, a, centre) = isotropic_3d(boundary);
        let p = grid.points();
        let cell = grid.cell();
        let mut densities = Vec::new();
        for axis in 0..3 {
            let (l1, rho) = x_commutator_density(&grid, boundary, &a, axis).unwrap();
            let sum: f64 = rho.iter().sum::<f64>() * cell;
            let independent = if periodic {
                let sep = dense::separation_table(&grid, boundary, axis);
                spectrum::trace_norm(p, &dense::commutator(&sep, &a)).unwrap()
            } else {
                let xs: Vec<f64> = (0..p).map(|b| grid.point(b)[axis]).collect();
                spectrum::trace_norm(p, &i_commutator_diagonal(&xs, &a)).unwrap()
            };
            eprintln!(
                "{boundary:?}, axis {axis}: Σρ h³ = {sum:.12e}, tr|[x_i, ω]| = {independent:.12e}"
            );
            assert!(
                (sum - independent).abs() < 1e-10 * independent,
                "(a) {sum} vs {independent}"
            );
            assert!((l1 - independent).abs() < 1e-10 * independent);
            densities.push(rho);
        }
        // (b) flat index of (i, j, k), axis 0 slowest.
        let flat = |i: usize, j: usize, k: usize| (i * 8 + j) * 8 + k;
        for (i, j, k) in [(1, 5, 2), (4, 4, 0), (7, 2, 6)] {
            let r0 = densities[0][flat(i, j, k)];
            let r1 = densities[1][flat(j, i, k)];
            let r2 = densities[2][flat(k, j, i)];
            assert!(
                (r0 - r1).abs() < 1e-9 * r0 && (r0 - r2).abs() < 1e-9 * r0,
                "(b) {r0} {r1} {r2}"
            );
        }
        let z = [centre + 0.25, centre - 0.5, centre];
        let z_permuted = [centre - 0.5, centre, centre + 0.25];
        let t = chi_commutator_trace_norm(&grid, &a, 0.4, &z, periodic).unwrap();
        let t_permuted = chi_commutator_trace_norm(&grid, &a, 0.4, &z_permuted, periodic).unwrap();
        assert!((t - t_permuted).abs() < 1e-9 * t, "(b) {t} vs {t_permuted}");
        // (c)
        for rho in &densities {
            for b in 0..p {
                let at = [b / 64, b / 8 % 8, b % 8];
                let star = maximal_function(rho, 8, 3, &at, periodic).unwrap();
                assert!(star >= rho[b], "(c) {star} < {}", rho[b]);
            }
        }
        for at in [[0, 0, 0], [3, 7, 1]] {
            let star = maximal_function(&[2.5; 512], 8, 3, &at, periodic).unwrap();
            assert!((star - 2.5).abs() < 1e-12, "(c) {star}");
        }
    }
    // (d) on the periodic box, z at the centre.
    let (grid, a, centre) = isotropic_3d(Boundary::Periodic);
    let z = [centre; 3];
    let at = nearest_grid_index(&grid, &z, true).unwrap();
    let (mut l1s, mut stars) = (Vec::new(), Vec::new());
    for axis in 0..3 {
        let (l1, rho) = x_commutator_density(&grid, Boundary::Periodic, &a, axis).unwrap();
        l1s.push(l1);
        stars.push(maximal_function(&rho, 8, 3, &at, true).unwrap());
    }
    let rs = [0.25, 0.3, 0.375, 0.5, 0.7, 1.0];
    let t: Vec<f64> = rs
        .iter()
        .map(|&r| chi_commutator_trace_norm(&grid, &a, r, &z, true).unwrap())
        .collect();
    let ratios: Vec<f64> = rs
        .iter()
        .zip(&t)
        .map(|(&r, v)| v / lemma_2_4_rhs(3, 0.0, r, &l1s, &stars))
        .collect();
    let slope = log_log_slope(&rs[..3], &t[..3]);
    let (lo, hi) = ratios.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &v| {
        (lo.min(v), hi.max(v))
    });
    eprintln!(
        "3D, n = 8: tr|[χ, ω]| = {t:.4?}; slope {slope:.3} for r ≤ 0.375 (d/2 = {}); LHS/RHS(δ = 0) = {ratios:.3?}",
        lemma_2_4_exponents(3, 0.0).0
    );
    assert!((1.2..=1.6).contains(&slope), "(d) slope {slope}");
    assert!(
        lo > 0.0 && hi <= 2.5 && hi / lo < 10.0,
        "(d) ratios {ratios:?}"
    );
}
