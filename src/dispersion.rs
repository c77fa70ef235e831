//! Roots of the kinetic (Vlasov–Poisson) dispersion relations for Maxwellian velocity
//! distributions: the reference numbers of the classical validation runs (Landau damping,
//! two-stream, bump-on-tail, Jeans).
//!
//! Units are the plasma units of docs/design.md section 1: mass m = 1, κ = 1 in −ΔU = κγ(ρ − ρ_b),
//! so a unit mean density has plasma frequency ω_p = 1; velocities are in the same units as
//! the thermal speed vt of each Maxwellian (vt = 1 means a Debye length of 1). A perturbation
//! e^(i(kx − ωt)) with Im ω > 0 grows, with Im ω < 0 is damped; the field energy (∝ |E|²)
//! then changes at the rate 2 Im ω.
//!
//! Special functions: the Faddeeva function w(z) = e^(−z²) erfc(−iz) ([`faddeeva_w`]) from
//! Weideman's rational approximation (SIAM J. Numer. Anal. 31 (1994) 1497) with N = 40 terms
//! in the upper half plane and the analytic continuation w(z) = 2e^(−z²) − w(−z) below it;
//! the plasma dispersion function Z(ζ) = i√π w(ζ) ([`plasma_z`], analytic continuation, so
//! valid for damped modes) and Z'(ζ) = −2(1 + ζZ(ζ)) ([`plasma_z_prime`]), where 1 + ζZ is
//! taken from the Laplace continued fraction for |ζ| ≥ 8 to avoid the cancellation of
//! 1 + ζZ ≈ −1/(2ζ²) (cold beams). Measured against 40-digit arithmetic: w has relative
//! error ≤ 2e-15 on |Re z| ≤ 4, |Im z| ≤ 3.2 and beyond; 1 + ζZ ≤ 1e-13 (worst just inside
//! |ζ| = 8 on the real axis). The tests check w against the Taylor series, a trapezoidal
//! quadrature of the Cauchy integral and the continued fraction.

use anyhow::{bail, Result};
use num_complex::Complex64;
use std::f64::consts::{PI, SQRT_2};
use std::sync::OnceLock;

/// Number of terms of Weideman's rational approximation.
const WEIDEMAN_N: usize = 40;

/// √π.
const SQRT_PI: f64 = 1.772_453_850_905_516;

/// Weideman's polynomial coefficients a_1..a_N (index 0 holds a_1) and L = √(N/√2).
fn weideman_coefficients() -> &'static (Vec<f64>, f64) {
    static COEFFS: OnceLock<(Vec<f64>, f64)> = OnceLock::new();
    COEFFS.get_or_init(|| {
        let n = WEIDEMAN_N;
        let m = 2 * n;
        let l = (n as f64 / SQRT_2).sqrt();
        // f(t_k) = e^(−t²)(L² + t²) at t_k = L tan(θ_k/2), θ_k = kπ/M, k = −M+1..M−1 (the
        // k = −M sample is 0). f is even in k, so the FFT of the paper is a cosine sum.
        let samples: Vec<(f64, f64)> = (1..m)
            .map(|k| {
                let t = l * (k as f64 * PI / m as f64 / 2.0).tan();
                (k as f64, (-t * t).exp() * (l * l + t * t))
            })
            .collect();
        let f0 = l * l; // k = 0: t = 0
        let a = (1..=n)
            .map(|j| {
                let mut s = f0;
                for &(k, fk) in &samples {
                    s += 2.0 * fk * (PI * k * j as f64 / m as f64).cos();
                }
                s / (2.0 * m as f64)
            })
            .collect();
        (a, l)
    })
}

/// Weideman's approximation, valid for Im z ≥ 0.
fn faddeeva_upper(z: Complex64) -> Complex64 {
    let (a, l) = weideman_coefficients();
    let iz = Complex64::i() * z;
    let denom = *l - iz;
    let zz = (*l + iz) / denom;
    // p(Z) = Σ_{j=1}^{N} a_j Z^(j−1), Horner from the top.
    let mut p = Complex64::new(0.0, 0.0);
    for &aj in a.iter().rev() {
        p = p * zz + aj;
    }
    2.0 * p / (denom * denom) + (1.0 / SQRT_PI) / denom
}

/// The Faddeeva function w(z) = e^(−z²) erfc(−iz), for any complex z. For real y,
/// w(iy) = e^(y²) erfc(y) (the scaled complementary error function).
pub fn faddeeva_w(z: Complex64) -> Complex64 {
    if z.im >= 0.0 {
        faddeeva_upper(z)
    } else {
        2.0 * (-z * z).exp() - faddeeva_upper(-z)
    }
}

/// e^(y²) erfc(y) for real y ≥ 0, computed without overflow or cancellation (w(iy)).
pub fn erfcx(y: f64) -> f64 {
    faddeeva_w(Complex64::new(0.0, y)).re
}

/// The plasma dispersion function Z(ζ) = i√π w(ζ) (Fried and Conte), analytically continued
/// to Im ζ ≤ 0 (the Landau prescription), so it serves damped modes as well.
pub fn plasma_z(zeta: Complex64) -> Complex64 {
    Complex64::new(0.0, SQRT_PI) * faddeeva_w(zeta)
}

/// Beyond this |ζ|, 1 + ζZ(ζ) ≈ −1/(2ζ²) is taken from the continued fraction instead of
/// the cancelling sum 1 + ζZ.
const CF_RADIUS: f64 = 8.0;
/// Terms of the continued fraction used for |ζ| ≥ CF_RADIUS.
const CF_TERMS: usize = 120;

/// 1 + ζZ(ζ) for Im ζ ≥ 0, |ζ| ≥ CF_RADIUS, from the Laplace continued fraction
/// Z(ζ) = −1/D_1, D_n = ζ − (n/2)/D_(n+1): then 1 + ζZ = −(1/2)/(D_1 D_2), free of the
/// cancellation between 1 and ζZ ≈ −1.
fn one_plus_zeta_z_cf(zeta: Complex64) -> Complex64 {
    let mut d = zeta;
    for n in (2..CF_TERMS).rev() {
        d = zeta - (n as f64 / 2.0) / d;
    }
    let d2 = d;
    let d1 = zeta - 0.5 / d2;
    -0.5 / (d1 * d2)
}

/// 1 + ζZ(ζ) (the susceptibility factor of a Maxwellian; Z' = −2(1 + ζZ)), accurate in the
/// relative sense also for large |ζ| (cold beams), where it behaves as −1/(2ζ²).
pub fn plasma_one_plus_zeta_z(zeta: Complex64) -> Complex64 {
    if zeta.norm() < CF_RADIUS {
        1.0 + zeta * plasma_z(zeta)
    } else if zeta.im >= 0.0 {
        one_plus_zeta_z_cf(zeta)
    } else {
        // Z(ζ) = 2i√π e^(−ζ²) − Z(−ζ), so 1 + ζZ(ζ) = [1 + (−ζ)Z(−ζ)] + 2i√π ζ e^(−ζ²).
        one_plus_zeta_z_cf(-zeta) + Complex64::new(0.0, 2.0 * SQRT_PI) * zeta * (-zeta * zeta).exp()
    }
}

/// Z'(ζ) = −2(1 + ζZ(ζ)).
pub fn plasma_z_prime(zeta: Complex64) -> Complex64 {
    -2.0 * plasma_one_plus_zeta_z(zeta)
}

/// Z(ζ) and its first two derivatives, Z' = −2(1 + ζZ), Z'' = −2(Z + ζZ').
fn plasma_z_derivs(zeta: Complex64) -> (Complex64, Complex64, Complex64) {
    let z = plasma_z(zeta);
    let z1 = plasma_z_prime(zeta);
    let z2 = -2.0 * (z + zeta * z1);
    (z, z1, z2)
}

/// One Maxwellian component of a 1D velocity distribution:
/// density · e^(−(v − drift)²/(2 vt²)) / (√(2π) vt).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Maxwellian {
    /// Number density of the component (its plasma frequency squared, in these units).
    pub density: f64,
    /// Mean velocity.
    pub drift: f64,
    /// Thermal speed (standard deviation of the velocity), > 0.
    pub vt: f64,
}

/// The electrostatic dielectric function of a sum of Maxwellians (mobile electrons of
/// charge-to-mass ratio 1 in a fixed neutralising background; m = κ = 1):
///
///   ε(k, ω) = 1 − Σ_s n_s / (2 k² vt_s²) · Z'((ω − k v_s) / (√2 k vt_s)),
///
/// and its derivative ∂ε/∂ω. k > 0.
pub fn dielectric(k: f64, omega: Complex64, species: &[Maxwellian]) -> (Complex64, Complex64) {
    let mut eps = Complex64::new(1.0, 0.0);
    let mut deps = Complex64::new(0.0, 0.0);
    for s in species {
        let scale = SQRT_2 * k * s.vt;
        let zeta = (omega - k * s.drift) / scale;
        let (_, z1, z2) = plasma_z_derivs(zeta);
        let c = s.density / (2.0 * k * k * s.vt * s.vt);
        eps -= c * z1;
        deps -= c * z2 / scale;
    }
    (eps, deps)
}

/// Newton's method for ε(k, ω) = 0 in the complex ω plane, with step halving when |ε| grows.
/// Converges to the root nearest (in Newton's sense) to `guess`.
pub fn dielectric_root(k: f64, species: &[Maxwellian], guess: Complex64) -> Result<Complex64> {
    if !(k > 0.0 && k.is_finite()) {
        bail!("dispersion root: wave number k = {k} must be positive");
    }
    if species.iter().any(|s| s.vt.is_nan() || s.vt <= 0.0) {
        bail!("dispersion root: every thermal speed must be positive");
    }
    let mut omega = guess;
    let (mut eps, mut deps) = dielectric(k, omega, species);
    for _ in 0..200 {
        if deps.norm() == 0.0 || !deps.is_finite() {
            bail!("dispersion root: zero or non-finite derivative at ω = {omega}");
        }
        let step = eps / deps;
        let mut lambda = 1.0;
        let (mut next, mut eps_next, mut deps_next);
        loop {
            next = omega - lambda * step;
            (eps_next, deps_next) = dielectric(k, next, species);
            if (eps_next.is_finite() && eps_next.norm() < eps.norm()) || lambda < 1e-6 {
                break;
            }
            lambda *= 0.5;
        }
        let moved = (next - omega).norm();
        omega = next;
        eps = eps_next;
        deps = deps_next;
        if !omega.is_finite() {
            break;
        }
        if moved <= 1e-14 * (1.0 + omega.norm()) || eps.norm() < 1e-15 {
            return Ok(omega);
        }
    }
    bail!("dispersion root: Newton's method did not converge from ω = {guess} (k = {k})")
}

/// Root ω of the Landau-damping dispersion relation for a single Maxwellian of unit density
/// and unit thermal speed (plasma units, ω_p = λ_D = 1):
///
///   ε(k, ω) = 1 − (1/(2k²)) Z'(ω / (√2 k)) = 0.
///
/// A good guess for the least-damped mode is the Bohm–Gross frequency √(1 + 3k²).
/// For k = 0.5 the root is ω = 1.4156619 − 0.1533595i.
pub fn landau_root(k: f64, guess: Complex64) -> Result<Complex64> {
    dielectric_root(
        k,
        &[Maxwellian {
            density: 1.0,
            drift: 0.0,
            vt: 1.0,
        }],
        guess,
    )
}

/// The two symmetric beams of the two-stream test: densities ½ at drifts ±v0, thermal speed
/// vt each, f(v) = (1/(2√(2π) vt)) (e^(−(v−v0)²/(2vt²)) + e^(−(v+v0)²/(2vt²))).
pub fn two_stream_species(v0: f64, vt: f64) -> [Maxwellian; 2] {
    [
        Maxwellian {
            density: 0.5,
            drift: v0,
            vt,
        },
        Maxwellian {
            density: 0.5,
            drift: -v0,
            vt,
        },
    ]
}

/// Root ω of the two-stream dispersion relation (two beams of density ½ at ±v0, thermal
/// speed vt, total ω_p = 1):
///
///   1 − Σ_± (1/2)/(2k²vt²) Z'((ω ∓ k v0)/(√2 k vt)) = 0,
///
/// by Newton's method from `guess`. It must be the growing root: an error is returned if the
/// root found has Im ω ≤ 0. For symmetric beams the growing root is purely imaginary
/// (Re ω = 0 up to round-off); [`two_stream_growth_rate`] finds it without a guess.
/// Cold limit (vt → 0): 1 = (1/2)/(ω−kv0)² + (1/2)/(ω+kv0)², i.e.
/// ω² = k²v0² + ½ − ½√(1 + 8k²v0²), unstable for k v0 < 1.
///
/// Reference value of the classic test f = (1/(2√(2π)))(e^(−(v−2.4)²/2) + e^(−(v+2.4)²/2)),
/// k = 0.2 (L = 10π): ω = 0.2258443 i, so the field energy grows as e^(0.4516887 t).
pub fn two_stream_root(k: f64, v0: f64, vt: f64, guess: Complex64) -> Result<Complex64> {
    let omega = dielectric_root(k, &two_stream_species(v0, vt), guess)?;
    if omega.im <= 0.0 {
        bail!("two-stream root: Newton from {guess} found ω = {omega}, which does not grow");
    }
    Ok(omega)
}

/// Growth rate γ > 0 of the fastest growing purely imaginary root ω = iγ of the symmetric
/// two-stream relation (see [`two_stream_root`]), or `None` if ε(k, iγ) has no zero for γ > 0
/// (stable wave number). On the imaginary axis ε is real for symmetric beams; the largest
/// sign change is bracketed on a grid and then refined by bisection.
pub fn two_stream_growth_rate(k: f64, v0: f64, vt: f64) -> Option<f64> {
    if !(k > 0.0 && vt > 0.0) {
        return None;
    }
    let species = two_stream_species(v0, vt);
    let eps = |g: f64| dielectric(k, Complex64::new(0.0, g), &species).0.re;
    // ε(iγ) → 1 for γ → ∞; a growing mode has γ < ω_p = 1 for a unit total density. Scan
    // downwards (linear grid to 1e-3, then a few decades) for the first sign change.
    let g_max = 2.0;
    let steps = 2000;
    let grid = (1..steps)
        .rev()
        .map(|i| g_max * i as f64 / steps as f64)
        .chain((4..=9).map(|e| 10f64.powi(-e)));
    let mut hi = g_max;
    if eps(hi) <= 0.0 {
        return None;
    }
    for lo in grid {
        if eps(lo) <= 0.0 {
            let (mut a, mut b) = (lo, hi);
            for _ in 0..200 {
                let mid = 0.5 * (a + b);
                if eps(mid) <= 0.0 {
                    a = mid;
                } else {
                    b = mid;
                }
                if b - a <= 1e-16 * b {
                    break;
                }
            }
            return Some(0.5 * (a + b));
        }
        hi = lo;
    }
    None
}

/// The classic bump-on-tail distribution f(v) = (n_p e^(−v²/2) + n_b' e^(−(v−v_b)²/(2vt_b²)))
/// / √(2π), written as two Maxwellians: bulk of density n_p and unit thermal speed, beam of
/// density n_b (= n_b' vt_b) at drift v_b with thermal speed vt_b. The common test uses
/// f = (0.9 e^(−v²/2) + 0.2 e^(−4(v−4.5)²))/√(2π), k = 0.3: n_p = 0.9, v_b = 4.5,
/// vt_b = 1/(2√2), n_b = 0.2 vt_b. Its most unstable root is ω = 1.039776 + 0.191188 i
/// (the other roots near it, 1.737066 − 0.006831 i and 0.997112 − 0.157320 i, are damped).
pub fn bump_on_tail_species(n_p: f64, n_b: f64, v_b: f64, vt_b: f64) -> [Maxwellian; 2] {
    [
        Maxwellian {
            density: n_p,
            drift: 0.0,
            vt: 1.0,
        },
        Maxwellian {
            density: n_b,
            drift: v_b,
            vt: vt_b,
        },
    ]
}

/// Root ω of the bump-on-tail dispersion relation ε(k, ω) = 0 for [`bump_on_tail_species`]
/// (ε as in [`dielectric`]), by Newton's method from `guess` (the unstable mode has
/// Re ω ≈ the beam-resonant phase velocity times k, near the Bohm–Gross frequency).
pub fn bump_on_tail_root(
    k: f64,
    n_p: f64,
    n_b: f64,
    v_b: f64,
    vt_b: f64,
    guess: Complex64,
) -> Result<Complex64> {
    dielectric_root(k, &bump_on_tail_species(n_p, n_b, v_b, vt_b), guess)
}

/// Kinetic Jeans growth rate γ_J of a self-gravitating Maxwellian (velocity spread σ, mean
/// density ρ0, κ in place of 4πG, periodic box with the Jeans swindle): the purely growing
/// mode ω = iγ_J, with y = γ_J / (√2 k σ) > 0 the root of
///
///   k² / k_J² = 1 − √π y e^(y²) erfc(y),   k_J² = κ ρ0 / σ².
///
/// (This is ε = 1 − (k_J²/k²)(1 + ζZ(ζ)) = 0 at ζ = iy.) Returns `None` for k ≥ k_J (no
/// growing root) or invalid input. The rate is below the fluid value √(κρ0 − k²σ²) and
/// tends to it as k → 0; the field energy grows at 2γ_J. γ_J/√(κρ0) depends on k/k_J only;
/// for k/k_J = 0.5 it is 0.6872019 (fluid: 0.8660254).
pub fn jeans_growth_rate(k: f64, sigma: f64, kappa_rho0: f64) -> Option<f64> {
    if !(k > 0.0 && sigma > 0.0 && kappa_rho0 > 0.0) {
        return None;
    }
    let kj2 = kappa_rho0 / (sigma * sigma);
    let target = k * k / kj2;
    if target.is_nan() || target >= 1.0 {
        return None;
    }
    // g(y) = 1 − √π y e^(y²) erfc(y) falls monotonically from 1 (y = 0) to 0 (y → ∞),
    // g(y) ≈ 1/(2y²) for large y.
    let g = |y: f64| plasma_one_plus_zeta_z(Complex64::new(0.0, y)).re;
    let mut hi = 1.0;
    while g(hi) > target {
        hi *= 2.0;
        if hi > 1e8 {
            return None;
        }
    }
    let mut lo = 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if g(mid) > target {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-15 * hi {
            break;
        }
    }
    let y = 0.5 * (lo + hi);
    Some(SQRT_2 * k * sigma * y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(re: f64, im: f64) -> Complex64 {
        Complex64::new(re, im)
    }

    /// Taylor series w(z) = Σ (iz)^n / Γ(n/2 + 1): entire, fine for |z| ≲ 3 in f64.
    fn w_taylor(z: Complex64) -> Complex64 {
        let iz = Complex64::i() * z;
        // 1/Γ(n/2+1): n = 0 → 1, n = 1 → 2/√π, then 1/Γ(m+1) = 1/(m Γ(m)).
        let mut inv_gamma = [1.0, 2.0 / SQRT_PI];
        let mut pow = c(1.0, 0.0);
        let mut sum = c(0.0, 0.0);
        for n in 0..400 {
            let term = pow * inv_gamma[n % 2];
            sum += term;
            if n > 10 && term.norm() < 1e-18 * sum.norm() {
                break;
            }
            pow *= iz;
            // advance the factor for index n to index n + 2
            inv_gamma[n % 2] /= n as f64 / 2.0 + 1.0;
        }
        sum
    }

    /// w(z) = (i/π) ∫ e^(−t²)/(z − t) dt for Im z > 0, trapezoidal rule (spectrally accurate
    /// for an integrand analytic in the strip |Im t| < Im z).
    fn w_quadrature(z: Complex64) -> Complex64 {
        assert!(z.im > 0.3);
        let h = 0.005;
        let n = (12.0 / h) as i64;
        let mut s = c(0.0, 0.0);
        for j in -n..=n {
            let t = j as f64 * h;
            s += (-t * t).exp() / (z - t);
        }
        Complex64::i() / PI * s * h
    }

    /// Laplace continued fraction w(z) = (i/√π) / (z − (1/2)/(z − 1/(z − (3/2)/(z − …)))),
    /// Im z > 0, good for large |z|.
    fn w_continued_fraction(z: Complex64) -> Complex64 {
        let mut tail = z;
        for n in (1..400).rev() {
            tail = z - (n as f64 / 2.0) / tail;
        }
        Complex64::new(0.0, 1.0 / SQRT_PI) / tail
    }

    fn rel(a: Complex64, b: Complex64) -> f64 {
        (a - b).norm() / b.norm().max(1e-300)
    }

    #[test]
    fn faddeeva_known_values() {
        let w = faddeeva_w(c(1.0, 1.0));
        let expect = c(0.304_744_205_256_912_6, 0.208_218_938_202_831_6);
        assert!(rel(w, expect) < 1e-13, "w(1+i) = {w}");
        assert!(rel(w_quadrature(c(1.0, 1.0)), expect) < 1e-12);
        assert!(rel(w_taylor(c(1.0, 1.0)), expect) < 1e-13);
        // Z(0) = i√π.
        assert!(rel(plasma_z(c(0.0, 0.0)), c(0.0, SQRT_PI)) < 1e-14);
        // w(iy) = e^(y²) erfc(y): erfc(1) = 0.157299207050285130658...
        let erfc1 = 0.157_299_207_050_285_13;
        assert!((erfcx(1.0) - std::f64::consts::E * erfc1).abs() < 1e-14);
    }

    #[test]
    fn plasma_z_large_real_argument() {
        // Z(x) ≈ −Σ_{n≥0} (2n−1)!!/(2^n x^(2n+1)) + i√π e^(−x²); asymptotic, use few terms.
        for &x in &[8.0, 10.0, 20.0, -12.0] {
            let mut s = 0.0;
            let mut term = 1.0 / x;
            for n in 0..12 {
                s -= term;
                term *= (2 * n + 1) as f64 / (2.0 * x * x);
            }
            let expect = c(s, SQRT_PI * (-x * x).exp());
            let z = plasma_z(c(x, 0.0));
            assert!(rel(z, expect) < 1e-12, "Z({x}) = {z}, expected {expect}");
            // The two leading terms quoted in the literature.
            assert!((z.re - (-1.0 / x - 0.5 / (x * x * x))).abs() < 1.0 / x.abs().powi(5));
        }
    }

    #[test]
    fn faddeeva_matches_independent_evaluations() {
        let mut worst: f64 = 0.0;
        // Both half planes against the Taylor series (entire, so it needs no continuation).
        for i in -6..=6 {
            for j in -6..=6 {
                let z = c(0.3 * i as f64, 0.25 * j as f64);
                worst = worst.max(rel(faddeeva_w(z), w_taylor(z)));
            }
        }
        assert!(worst < 1e-12, "Taylor: worst relative error {worst:e}");
        // Upper half plane, larger |z|: quadrature and continued fraction.
        let mut worst_q: f64 = 0.0;
        for &z in &[
            c(3.0, 0.5),
            c(-5.0, 1.0),
            c(0.5, 3.0),
            c(6.0, 2.0),
            c(-2.0, 4.0),
        ] {
            worst_q = worst_q.max(rel(faddeeva_w(z), w_quadrature(z)));
        }
        assert!(
            worst_q < 1e-11,
            "quadrature: worst relative error {worst_q:e}"
        );
        let mut worst_cf: f64 = 0.0;
        for &z in &[
            c(6.0, 0.5),
            c(-8.0, 1.0),
            c(10.0, 0.1),
            c(3.0, 5.0),
            c(30.0, 2.0),
        ] {
            worst_cf = worst_cf.max(rel(faddeeva_w(z), w_continued_fraction(z)));
        }
        assert!(
            worst_cf < 1e-12,
            "continued fraction: worst relative error {worst_cf:e}"
        );
        // Lower half plane away from the Taylor disc: the continuation identity, checked
        // against quadrature of w(−z).
        for &z in &[c(4.0, -0.5), c(-3.0, -1.0)] {
            let expect = 2.0 * (-z * z).exp() - w_quadrature(-z);
            assert!(rel(faddeeva_w(z), expect) < 1e-11);
        }
        // Z' against a centred difference of Z.
        let z = c(0.7, -0.3);
        let h = 1e-5;
        let fd = (plasma_z(z + h) - plasma_z(z - h)) / (2.0 * h);
        assert!(rel(plasma_z_prime(z), fd) < 1e-8);
    }

    #[test]
    fn landau_root_k_half() {
        let k: f64 = 0.5;
        let omega = landau_root(k, c((1.0 + 3.0 * k * k).sqrt(), 0.0)).unwrap();
        println!("Landau root k = 0.5: ω = {omega}");
        assert!((omega.re - 1.4156).abs() < 1e-4 && (omega.im + 0.1533).abs() < 1e-4);
        assert!((omega - c(1.41566, -0.153359)).norm() < 1e-5, "ω = {omega}");
        // 30-digit reference of the same root.
        assert!((omega - c(1.415_661_888_604_536, -0.153_359_466_909_604_8)).norm() < 1e-12);
        let (eps, _) = dielectric(
            k,
            omega,
            &[Maxwellian {
                density: 1.0,
                drift: 0.0,
                vt: 1.0,
            }],
        );
        assert!(eps.norm() < 1e-12);
        // The mirror root −ω* is also a root (real distribution function).
        let mirror = landau_root(k, c(-1.4, -0.15)).unwrap();
        assert!((mirror + omega.conj()).norm() < 1e-12);
    }

    #[test]
    fn two_stream_cold_limit() {
        let v0 = 1.0;
        for &k in &[0.3, 0.5, 0.8] {
            let a2: f64 = k * k * v0 * v0;
            let omega2 = a2 + 0.5 - 0.5 * (1.0 + 8.0 * a2).sqrt();
            assert!(omega2 < 0.0);
            let cold = (-omega2).sqrt();
            // Check the closed form against the cold relation itself.
            let w = c(0.0, cold);
            let resid =
                1.0 - 0.5 / ((w - k * v0) * (w - k * v0)) - 0.5 / ((w + k * v0) * (w + k * v0));
            assert!(resid.norm() < 1e-13);
            for &(vt, tol) in &[(0.01, 2e-3), (0.001, 2e-5)] {
                let root = two_stream_root(k, v0, vt, c(0.01, 0.9 * cold)).unwrap();
                assert!(root.re.abs() < 1e-10, "Re ω = {}", root.re);
                assert!(
                    (root.im - cold).abs() < tol * cold,
                    "k = {k}, vt = {vt}: {root} vs {cold}"
                );
                let g = two_stream_growth_rate(k, v0, vt).unwrap();
                assert!((g - root.im).abs() < 1e-12, "{g} vs {}", root.im);
            }
        }
        // Cold-stable wave number: k v0 > 1 has no growing root when the beams are cold.
        assert!(two_stream_growth_rate(1.2, 1.0, 0.01).is_none());
    }

    #[test]
    fn two_stream_classic_parameters() {
        // f = (1/(2√(2π))) (e^(−(v−2.4)²/2) + e^(−(v+2.4)²/2)), k = 0.2.
        let (k, v0, vt) = (0.2, 2.4, 1.0);
        let g = two_stream_growth_rate(k, v0, vt).expect("unstable");
        let root = two_stream_root(k, v0, vt, c(0.0, g * 1.2)).unwrap();
        println!("two-stream v0 = 2.4, vt = 1, k = 0.2: ω = {root}");
        assert!((root.im - g).abs() < 1e-12 && root.re.abs() < 1e-12);
        // 30-digit reference (independent arbitrary-precision evaluation of the same relation).
        assert!((g - 0.225_844_255_034_710_4).abs() < 1e-12, "γ = {g}");
    }

    #[test]
    fn bump_on_tail_classic_parameters() {
        let vt_b = 1.0 / (2.0 * SQRT_2);
        let (k, n_p, n_b, v_b) = (0.3, 0.9, 0.2 * vt_b, 4.5);
        let root = bump_on_tail_root(k, n_p, n_b, v_b, vt_b, c(1.0, 0.1)).unwrap();
        println!("bump-on-tail k = 0.3: ω = {root}");
        assert!(root.im > 0.0, "{root}");
        // 30-digit reference of the same root.
        assert!((root - c(1.039_776_052_060_91, 0.191_188_010_358_879_4)).norm() < 1e-12);
        let (eps, _) = dielectric(k, root, &bump_on_tail_species(n_p, n_b, v_b, vt_b));
        assert!(eps.norm() < 1e-12);
    }

    #[test]
    fn jeans_growth_rate_properties() {
        let (sigma, kappa_rho0) = (1.0, 1.0); // k_J = 1
        assert!(jeans_growth_rate(1.0, sigma, kappa_rho0).is_none());
        assert!(jeans_growth_rate(1.5, sigma, kappa_rho0).is_none());
        assert!(jeans_growth_rate(0.0, sigma, kappa_rho0).is_none());
        let mut prev = f64::INFINITY;
        for i in 1..100 {
            let k = i as f64 / 100.0;
            let g = jeans_growth_rate(k, sigma, kappa_rho0).unwrap();
            let fluid = (kappa_rho0 - k * k * sigma * sigma).sqrt();
            assert!(g > 0.0 && g < fluid, "k = {k}: kinetic {g}, fluid {fluid}");
            assert!(g < prev, "not monotone at k = {k}");
            prev = g;
            // The defining relation holds.
            let y = g / (SQRT_2 * k * sigma);
            let rhs = 1.0 - SQRT_PI * y * erfcx(y);
            assert!((rhs - k * k).abs() < 1e-12);
        }
        // Small-k limit: kinetic → fluid from below.
        let g = jeans_growth_rate(1e-3, sigma, kappa_rho0).unwrap();
        let fluid = (1.0f64 - 1e-6).sqrt();
        assert!(g < fluid && fluid - g < 1e-5, "{g} vs {fluid}");
        // Scaling: γ depends on k/k_J and √(κρ0) only.
        let g1 = jeans_growth_rate(0.5, 1.0, 1.0).unwrap();
        let g2 = jeans_growth_rate(1.0, 0.5, 4.0).unwrap(); // k_J = 4, k/k_J = 0.25
        let g3 = jeans_growth_rate(0.25, 1.0, 1.0).unwrap();
        assert!((g2 - 2.0 * g3).abs() < 1e-12 && g1 < g3);
        println!("Jeans k/k_J = 0.5: γ = {g1}");
        // 30-digit reference.
        assert!((g1 - 0.687_201_925_112_794_1).abs() < 1e-12);
    }
}
