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
use crate::cpu::fft_axis;
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
    let mut planner = rustfft::FftPlanner::new();
    let mut spectrum: Vec<Complex64> = f.iter().map(|&v| Complex64::new(v, 0.0)).collect();
    for a in 0..axes {
        fft_axis(
            &mut spectrum,
            &shape,
            a,
            &*planner.plan_fft_forward(shape[a]),
        );
    }
    let inverse: Vec<_> = (0..axes)
        .map(|a| planner.plan_fft_inverse(shape[a]))
        .collect();
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
            for (a, plan) in inverse.iter().enumerate() {
                fft_axis(&mut work, &shape, a, &**plan);
            }
            // rustfft leaves the inverse unnormalised: |work|² carries a factor len².
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
}
