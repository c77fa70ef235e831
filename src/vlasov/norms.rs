//! Velocity moments (paper eq. 1.8) and weighted Sobolev norms ‖f‖ in H^s_m (paper, before
//! eq. 1.8), computed on the host in f64 from a downloaded phase-space array: diagnostics on
//! request, for grids that fit in host memory.
//!
//! ‖f‖²_(H^s_m) = Σ_(|β| ≤ s) ∫∫ (1 + |x|² + |p|²)^m |∂^β f|² dx dp, each multi-index β over
//! the 2d phase-space variables counted once, derivatives spectral (FFT over every axis).
//! Variables are the grid's (x, p), p = m·v (for m = 1 the paper's (x, v)); on a periodic box
//! x is measured from the box centre.

use anyhow::{bail, Result};
use num_complex::Complex64;

use super::PhaseGrid;
use crate::backend::FftDirection;
use crate::host;
use crate::poisson::wave_number;

/// M_m(f) = ∫∫ |v|^m f dx dv with v = p / mass.
pub fn velocity_moment(grid: &PhaseGrid, mass: f64, f: &[f64], order: f64) -> f64 {
    let d = grid.dim;
    let block = grid.np.pow(d as u32);
    let weights: Vec<f64> = (0..block)
        .map(|q| {
            let mut rest = q;
            let mut v2 = 0.0;
            for _ in 0..d {
                v2 += (grid.p(rest % grid.np) / mass).powi(2);
                rest /= grid.np;
            }
            v2.sqrt().powf(order)
        })
        .collect();
    f.chunks(block)
        .map(|b| b.iter().zip(&weights).map(|(v, w)| v * w).sum::<f64>())
        .sum::<f64>()
        * grid.cell_volume()
}

/// Every multi-index over `vars` variables with |β| = order.
fn multi_indices(vars: usize, order: usize) -> Vec<Vec<usize>> {
    if vars == 1 {
        return vec![vec![order]];
    }
    (0..=order)
        .flat_map(|first| {
            multi_indices(vars - 1, order - first)
                .into_iter()
                .map(move |mut rest| {
                    rest.insert(0, first);
                    rest
                })
        })
        .collect()
}

/// ‖f‖_(H^s_m) for each s in `orders` (s ≤ 6 recommended), weight power m = `weight_power`.
pub fn sobolev_norms(
    grid: &PhaseGrid,
    f: &[f64],
    orders: &[usize],
    weight_power: i32,
) -> Result<Vec<f64>> {
    let shape = grid.shape();
    if f.len() != grid.cells() {
        bail!(
            "Sobolev norm of {} values on a grid of {}",
            f.len(),
            grid.cells()
        );
    }
    let Some(&max_order) = orders.iter().max() else {
        return Ok(Vec::new());
    };
    let d = grid.dim;
    let axes = 2 * d;
    let strides = crate::field::strides_of(&shape);
    let coord = |flat: usize, a: usize| -> f64 {
        let i = flat / strides[a] % shape[a];
        if a < d {
            grid.x(i) - (grid.x_min + grid.length / 2.0)
        } else {
            grid.p(i)
        }
    };
    let weight: Vec<f64> = (0..f.len())
        .map(|flat| {
            let r2: f64 = (0..axes).map(|a| coord(flat, a).powi(2)).sum();
            (1.0 + r2).powi(weight_power)
        })
        .collect();
    let lengths: Vec<f64> = (0..axes)
        .map(|a| if a < d { grid.length } else { 2.0 * grid.p_max })
        .collect();
    let all_axes: Vec<usize> = (0..axes).collect();
    let mut spectrum: Vec<Complex64> = f.iter().map(|&v| Complex64::new(v, 0.0)).collect();
    host::fft(&mut spectrum, &shape, &all_axes, FftDirection::Forward)?;
    // i·k per axis and index; the Nyquist mode of an odd derivative is dropped.
    let ik: Vec<Vec<Complex64>> = (0..axes)
        .map(|a| {
            (0..shape[a])
                .map(|i| Complex64::new(0.0, wave_number(i, shape[a], lengths[a])))
                .collect()
        })
        .collect();
    let volume = grid.cell_volume() / f.len() as f64 / f.len() as f64;
    let mut by_order = vec![0.0; max_order + 1];
    let mut work = vec![Complex64::default(); f.len()];
    for (order, total) in by_order.iter_mut().enumerate() {
        for beta in multi_indices(axes, order) {
            for (flat, w) in work.iter_mut().enumerate() {
                let mut factor = Complex64::new(1.0, 0.0);
                for a in 0..axes {
                    let i = flat / strides[a] % shape[a];
                    let nyquist = shape[a].is_multiple_of(2) && i == shape[a] / 2;
                    if beta[a] > 0 {
                        factor *= if nyquist && beta[a] % 2 == 1 {
                            Complex64::default()
                        } else {
                            ik[a][i].powu(beta[a] as u32)
                        };
                    }
                }
                *w = spectrum[flat] * factor;
            }
            host::fft_unnormalised(&mut work, &shape, &all_axes, FftDirection::Inverse)?;
            // The inverse is unnormalised: |work|² carries a factor len².
            *total += work
                .iter()
                .zip(&weight)
                .map(|(z, w)| w * z.norm_sqr())
                .sum::<f64>()
                * volume;
        }
    }
    Ok(orders
        .iter()
        .map(|&s| by_order[..=s].iter().sum::<f64>().sqrt())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poisson::Boundary;
    use crate::vlasov::GridConfig;

    #[test]
    fn multi_index_counts() {
        assert_eq!(multi_indices(2, 6).len(), 7);
        assert_eq!(multi_indices(6, 6).len(), 462);
        assert!(multi_indices(3, 2)
            .iter()
            .all(|b| b.iter().sum::<usize>() == 2));
    }

    /// A Gaussian in 1D1V: moments and H^1_0 in closed form.
    #[test]
    fn gaussian_norms_match_closed_forms() {
        let cfg = GridConfig {
            nx: 64,
            np: 64,
            length: 20.0,
            p_max: 10.0,
        };
        let g = PhaseGrid::new(1, &cfg, Boundary::Isolated).unwrap();
        let s = 1.0;
        let f: Vec<f64> = (0..g.cells())
            .map(|c| {
                let (x, p) = (g.x(c / g.np), g.p(c % g.np));
                (-(x * x + p * p) / (2.0 * s * s)).exp() / (2.0 * std::f64::consts::PI)
            })
            .collect();
        // M_2 = E|p|² = 1 for unit mass.
        assert!((velocity_moment(&g, 1.0, &f, 2.0) - 1.0).abs() < 1e-10);
        // ‖f‖²_L2 = 1/(4π); ‖∂x f‖² + ‖∂p f‖² = 2 · 1/(8π) for s = 1.
        let n = sobolev_norms(&g, &f, &[0, 1], 0).unwrap();
        let pi = std::f64::consts::PI;
        assert!((n[0] - (1.0 / (4.0 * pi)).sqrt()).abs() < 1e-10, "{}", n[0]);
        assert!(
            (n[1] - (1.0 / (4.0 * pi) + 1.0 / (4.0 * pi)).sqrt()).abs() < 1e-10,
            "{}",
            n[1]
        );
        // The weight (1 + x² + p²): ∫∫(1 + r²) f² = 1/(4π) (1 + 1) for s = 1/√2 per axis of f².
        let w = sobolev_norms(&g, &f, &[0], 1).unwrap();
        assert!((w[0] - (2.0 / (4.0 * pi)).sqrt()).abs() < 1e-10, "{}", w[0]);
    }

    /// Coefficients of the probabilists' Hermite polynomial He_k (index = power):
    /// He_(k+1) = u He_k − k He_(k−1). d^k/du^k e^(−u²/2) = (−1)^k He_k(u) e^(−u²/2).
    fn hermite(k: usize) -> Vec<f64> {
        let (mut prev, mut cur) = (vec![0.0; k + 2], vec![0.0; k + 2]);
        cur[0] = 1.0;
        for j in 0..k {
            let mut next = vec![0.0; k + 2];
            for (i, c) in cur.iter().enumerate().take(k + 1) {
                next[i + 1] += c;
            }
            for (i, c) in prev.iter().enumerate() {
                next[i] -= j as f64 * c;
            }
            prev = cur;
            cur = next;
        }
        cur
    }

    /// ∫ u^(2j) He_k(u)² e^(−u²) du, exactly: the square expanded, each power integrated
    /// against e^(−u²) (∫ u^(2n) e^(−u²) du = Γ(n + ½) = √π (2n)! / (4^n n!), odd powers 0).
    fn hermite_moment(k: usize, j: usize) -> f64 {
        let h = hermite(k);
        let gamma_half = |n: usize| -> f64 {
            let mut g = std::f64::consts::PI.sqrt();
            for i in 0..n {
                g *= i as f64 + 0.5;
            }
            g
        };
        let mut total = 0.0;
        for (a, ca) in h.iter().enumerate() {
            for (b, cb) in h.iter().enumerate() {
                let power = a + b + 2 * j;
                if power.is_multiple_of(2) {
                    total += ca * cb * gamma_half(power / 2);
                }
            }
        }
        total
    }

    /// ‖f‖²_(H^s_m) of f = e^(−x²/2a² − p²/2b²) in closed form, m = 4, 1D1V:
    /// ∂_x^k ∂_p^l f = (−1)^(k+l) a^(−k) b^(−l) He_k(x/a) He_l(p/b) f, and
    /// (1 + x² + p²)^4 = Σ_(i+j+l=4) 4!/(i! j! l!) x^(2j) p^(2l), so each term is a product of
    /// two one-dimensional Hermite moments (`hermite_moment`) scaled by powers of a and b.
    fn gaussian_sobolev_squared(s: usize, a: f64, b: f64) -> f64 {
        let fact = |n: usize| (1..=n).map(|i| i as f64).product::<f64>();
        let mut total = 0.0;
        for order in 0..=s {
            for k in 0..=order {
                let l = order - k;
                for j in 0..=4 {
                    for m in 0..=4 - j {
                        let i = 4 - j - m;
                        let coef = fact(4) / (fact(i) * fact(j) * fact(m));
                        let ix = a.powi(2 * j as i32 + 1 - 2 * k as i32) * hermite_moment(k, j);
                        let ip = b.powi(2 * m as i32 + 1 - 2 * l as i32) * hermite_moment(l, m);
                        total += coef * ix * ip;
                    }
                }
            }
        }
        total
    }

    /// The weighted norms the comparison reports, H^s_4 for s = 3…6, on an anisotropic
    /// Gaussian against their closed form (Hermite polynomials × Gaussian moments): spectral
    /// derivatives up to order 6 and the weight (1 + x² + p²)^4 are exact to round-off here (measured: 1e-15 relative).
    #[test]
    fn gaussian_weighted_norms_of_order_3_to_6_match_closed_form() {
        let cfg = GridConfig {
            nx: 96,
            np: 96,
            length: 24.0,
            p_max: 14.0,
        };
        let g = PhaseGrid::new(1, &cfg, Boundary::Isolated).unwrap();
        let (a, b) = (0.8, 1.3);
        let centre = g.x_min + g.length / 2.0;
        let f: Vec<f64> = (0..g.cells())
            .map(|c| {
                let (x, p) = (g.x(c / g.np) - centre, g.p(c % g.np));
                (-x * x / (2.0 * a * a) - p * p / (2.0 * b * b)).exp()
            })
            .collect();
        // The closed form itself: H^0_0 of a unit Gaussian is ∫∫ e^(−x²−p²) = π.
        assert!((hermite_moment(0, 0).powi(2) - std::f64::consts::PI).abs() < 1e-14);
        assert_eq!(hermite(3), vec![0.0, -3.0, 0.0, 1.0, 0.0]);
        let orders = [3, 4, 5, 6];
        let measured = sobolev_norms(&g, &f, &orders, 4).unwrap();
        for (s, got) in orders.iter().zip(&measured) {
            let want = gaussian_sobolev_squared(*s, a, b).sqrt();
            let rel = (got - want).abs() / want;
            eprintln!("H^{s}_4: grid {got:.12e}, closed form {want:.12e}, relative {rel:.1e}");
            assert!(rel < 1e-12, "H^{s}_4: {got:e} against {want:e} ({rel:e})");
        }
        // Each order adds non-negative terms.
        assert!(measured.windows(2).all(|w| w[1] > w[0]));
    }
}
