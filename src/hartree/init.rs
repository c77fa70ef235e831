//! Initial density matrices A_ab = h^d ω(x_a; x_b) (DESIGN.md section 4), built on the host in
//! f64.

use std::f64::consts::PI;

use anyhow::{bail, Result};
use num_complex::Complex64;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::grid::{HartreeGrid, HartreePhysics};
use crate::poisson::Boundary;
use crate::vlasov::init::Component;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum HartreeInitial {
    /// The coherent-state mixture ω = N ∫∫ M(q, p) |φ_(q,p)⟩⟨φ_(q,p)| dq dp (paper eq. 4.1) with
    /// φ_(q,p)(x) = e^(+ip·x/ε) e^(−|x−q|²/2δ²)/(πδ²)^(d/4) and M a sum of Gaussian
    /// components; its kernel is analytic (summed over images on a torus).
    CoherentMixture {
        /// Default √ε.
        delta: Option<f64>,
        components: Vec<Component>,
    },
    /// A pure Gaussian wave packet ω = N |ψ⟩⟨ψ|, ψ(x) = e^(ip0·x/ε) e^(−|x−q0|²/2σ²)/(πσ²)^(d/4)
    /// (fermionic only for N ≤ 1; for tests of the free and harmonic dynamics).
    GaussianPacket {
        q0: Vec<f64>,
        p0: Vec<f64>,
        sigma: f64,
    },
}

/// One axis of the Gaussian-mixture kernel on R (see `coherent_kernel_1d`).
struct Axis {
    q0: f64,
    p0: f64,
    sq2: f64,
    sp2: f64,
}

/// ∫∫ N(q; q0, s_q²) N(p; p0, s_p²) φ_(q,p)(x) conj φ_(q,p)(y) dq dp in one dimension:
/// e^(ip0(x−y)/ε) e^(−s_p²(x−y)²/2ε²) e^(−(x−y)²/4δ²) √(δ²/(δ²+2s_q²)) e^(−(m−q0)²/(δ²+2s_q²))
/// / √(πδ²), m = (x+y)/2.
fn coherent_kernel_1d(ax: &Axis, x: f64, y: f64, eps: f64, delta: f64) -> Complex64 {
    let (dd, r) = (delta * delta, x - y);
    let m = 0.5 * (x + y);
    let width = dd + 2.0 * ax.sq2;
    let amp = (-(ax.sp2 * r * r) / (2.0 * eps * eps) - r * r / (4.0 * dd)
        - (m - ax.q0).powi(2) / width)
        .exp()
        * (dd / width).sqrt()
        / (PI * dd).sqrt();
    Complex64::from_polar(amp, ax.p0 * r / eps)
}

impl HartreeInitial {
    pub fn validate(&self, physics: &HartreePhysics) -> Result<()> {
        match self {
            HartreeInitial::CoherentMixture { delta, components } => {
                if let Some(d) = delta {
                    if d.is_nan() || *d <= 0.0 {
                        bail!("initial.delta = {d} must be positive");
                    }
                }
                if components.is_empty() {
                    bail!("initial.components is empty: give at least one Gaussian of M(q, p)");
                }
                for c in components {
                    match c {
                        Component::Gaussian { q, p, sigma_q, sigma_p, .. } => {
                            if q.len() != physics.dim || p.len() != physics.dim {
                                bail!("initial.components: q and p need {} entries", physics.dim);
                            }
                            if *sigma_q <= 0.0 || *sigma_p <= 0.0 {
                                bail!("initial.components: sigma_q and sigma_p must be positive");
                            }
                        }
                        Component::Box { .. } => bail!(
                            "initial.components: a box M has no closed-form coherent-state kernel \
                             here; use Gaussian components"
                        ),
                    }
                }
            }
            HartreeInitial::GaussianPacket { q0, p0, sigma } => {
                if q0.len() != physics.dim || p0.len() != physics.dim || *sigma <= 0.0 {
                    bail!("initial: q0 and p0 need {} entries and sigma > 0", physics.dim);
                }
            }
        }
        Ok(())
    }

    /// Each term of ω as a weight times one n × n kernel table per axis (every state here is
    /// a sum of products over the axes), with the images of both arguments summed on a torus.
    fn separable_terms(
        &self,
        grid: &HartreeGrid,
        physics: &HartreePhysics,
    ) -> Vec<(f64, Vec<Vec<Complex64>>)> {
        let eps = physics.epsilon;
        let n = grid.n;
        let images: Vec<f64> = match physics.boundary {
            Boundary::Periodic => (-2..=2).map(|m| m as f64 * grid.length).collect(),
            Boundary::Isolated => vec![0.0],
        };
        let table = |k: &dyn Fn(f64, f64) -> Complex64| -> Vec<Complex64> {
            let mut t = vec![Complex64::default(); n * n];
            for a in 0..n {
                for b in 0..n {
                    for sx in &images {
                        for sy in &images {
                            t[a * n + b] += k(grid.x(a) + sx, grid.x(b) + sy);
                        }
                    }
                }
            }
            t
        };
        match self {
            HartreeInitial::CoherentMixture { delta, components } => {
                let delta = delta.unwrap_or(eps.sqrt());
                components
                    .iter()
                    .filter_map(|c| match c {
                        Component::Gaussian { weight, q, p, sigma_q, sigma_p } => Some((
                            *weight,
                            (0..grid.dim)
                                .map(|i| {
                                    let ax = Axis {
                                        q0: q[i],
                                        p0: p[i],
                                        sq2: sigma_q * sigma_q,
                                        sp2: sigma_p * sigma_p,
                                    };
                                    table(&|x, y| coherent_kernel_1d(&ax, x, y, eps, delta))
                                })
                                .collect(),
                        )),
                        Component::Box { .. } => None,
                    })
                    .collect()
            }
            HartreeInitial::GaussianPacket { q0, p0, sigma } => {
                let axes = (0..grid.dim)
                    .map(|i| {
                        let psi = |z: f64| {
                            Complex64::from_polar(
                                (-(z - q0[i]).powi(2) / (2.0 * sigma * sigma)).exp()
                                    / (PI * sigma * sigma).powf(0.25),
                                p0[i] * z / eps,
                            )
                        };
                        table(&|x, y| psi(x) * psi(y).conj())
                    })
                    .collect();
                vec![(1.0, axes)]
            }
        }
    }

    /// A_ab = h^d ω(x_a; x_b), row-major over `grid.matrix_shape()`.
    pub fn matrix(&self, grid: &HartreeGrid, physics: &HartreePhysics) -> Vec<Complex64> {
        let points = grid.points();
        let (d, n) = (grid.dim, grid.n);
        let terms = self.separable_terms(grid, physics);
        let scale = grid.cell() * physics.particles();
        let mut out = vec![Complex64::default(); points * points];
        out.par_chunks_mut(points).enumerate().for_each(|(a, row)| {
            for (b, v) in row.iter_mut().enumerate() {
                let (mut ra, mut rb) = (a, b);
                let mut idx = [0usize; 3];
                for i in (0..d).rev() {
                    idx[i] = (ra % n) * n + rb % n;
                    ra /= n;
                    rb /= n;
                }
                *v = terms
                    .iter()
                    .map(|(w, tables)| {
                        (0..d).fold(Complex64::new(*w, 0.0), |acc, i| acc * tables[i][idx[i]])
                    })
                    .sum::<Complex64>()
                    * scale;
            }
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn physics(dim: usize, eps: f64) -> HartreePhysics {
        HartreePhysics {
            dim,
            epsilon: eps,
            particles: None,
            mass: 1.0,
            kappa: 4.0,
            gamma: 1.0,
            boundary: Boundary::Periodic,
            external: None,
        }
    }

    /// The calibration state of DESIGN.md section 5 (d = 1, ε = 0.1, Gaussian M of unit
    /// spreads at q = π): tr A = N, Hermitian, largest occupation 0.90909 (= 1/(1 + ε)).
    #[test]
    fn calibration_state_has_the_published_trace_and_top_occupation() {
        let ph = physics(1, 0.1);
        let grid = HartreeGrid::new(1, 160, 2.0 * PI, Boundary::Periodic).unwrap();
        let init = HartreeInitial::CoherentMixture {
            delta: None,
            components: vec![Component::Gaussian {
                weight: 1.0,
                q: vec![PI],
                p: vec![0.0],
                sigma_q: 1.0,
                sigma_p: 1.0,
            }],
        };
        let a = init.matrix(&grid, &ph);
        let n = grid.points();
        let trace: f64 = (0..n).map(|i| a[i * n + i].re).sum();
        assert!((trace - 10.0).abs() < 1e-9, "trace {trace}");
        let herm = (0..n * n)
            .map(|k| (a[k] - a[(k % n) * n + k / n].conj()).norm())
            .fold(0.0, f64::max);
        assert!(herm < 1e-14, "{herm}");
        // Largest eigenvalue by power iteration.
        let mut v = vec![Complex64::new(1.0, 0.0); n];
        let mut lambda = 0.0;
        for _ in 0..500 {
            let w: Vec<Complex64> = (0..n).map(|i| (0..n).map(|j| a[i * n + j] * v[j]).sum()).collect();
            lambda = w.iter().map(|z| z.norm_sqr()).sum::<f64>().sqrt();
            v = w.iter().map(|z| z / lambda).collect();
        }
        assert!((lambda - 0.90909).abs() < 1e-5, "largest occupation {lambda}");
    }
}
