//! Initial density matrices A_ab = h^d ω(x_a; x_b) (docs/design.md section 4), built on the host in
//! f64.

use std::f64::consts::PI;

use anyhow::{bail, Result};
use num_complex::Complex64;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::grid::{HartreeGrid, HartreePhysics};
use crate::poisson::Boundary;
use crate::vlasov::init::{normal, Component};

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum HartreeInitial {
    /// The coherent-state mixture ω = N ∫∫ M(q, p) |φ_(q,p)⟩⟨φ_(q,p)| dq dp (paper eq. 4.1) with
    /// φ_(q,p)(x) = e^(+ip·x/ε) e^(−|x−q|²/2δ²)/(πδ²)^(d/4) and M a sum of Gaussian and box
    /// (indicator) components; its kernel is analytic (summed over images on a torus).
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
    /// The Weyl quantization (docs/design.md section 2, the torus map) of the phase-space density
    /// f = Σ components (Gaussians, or indicators of boxes for sharp-edged data), each
    /// normalised to ∫∫ = weight, sampled on the Wigner phase grid.
    Weyl { components: Vec<Component> },
    /// The Fermi–Dirac thermal state 1/(e^(β(h − μ)) + 1) of the self-consistent Hartree
    /// Hamiltonian, μ fixed by tr ω = N (dense eigenvalues on the host: small grids).
    Thermal {
        beta: f64,
        #[serde(default = "thermal_tolerance")]
        tolerance: f64,
        #[serde(default = "thermal_iterations")]
        max_iterations: usize,
    },
}

fn thermal_tolerance() -> f64 {
    1e-10
}
fn thermal_iterations() -> usize {
    200
}

/// f at (x, p) for a sum of normalised Gaussian and box components.
fn phase_density(components: &[Component], x: &[f64], p: &[f64]) -> f64 {
    components
        .iter()
        .map(|c| match c {
            Component::Gaussian {
                weight,
                q,
                p: p0,
                sigma_q,
                sigma_p,
            } => (0..x.len()).fold(*weight, |v, i| {
                v * normal(x[i], q[i], *sigma_q) * normal(p[i], p0[i], *sigma_p)
            }),
            Component::Box {
                weight,
                q_min,
                q_max,
                p_min,
                p_max,
            } => (0..x.len()).fold(*weight, |v, i| {
                let inside =
                    (q_min[i]..=q_max[i]).contains(&x[i]) && (p_min[i]..=p_max[i]).contains(&p[i]);
                if inside {
                    v / ((q_max[i] - q_min[i]) * (p_max[i] - p_min[i]))
                } else {
                    0.0
                }
            }),
        })
        .sum()
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
    let amp =
        (-(ax.sp2 * r * r) / (2.0 * eps * eps) - r * r / (4.0 * dd) - (m - ax.q0).powi(2) / width)
            .exp()
            * (dd / width).sqrt()
            / (PI * dd).sqrt();
    Complex64::from_polar(amp, ax.p0 * r / eps)
}

/// The same for M the normalised indicator of [a, b] × [c, d] (sharp-edged data): the p
/// integral is e^(i p̄ r/ε) sinc((d − c) r/2ε) with p̄ = (c + d)/2, and the q integral
/// e^(−r²/4δ²) √π δ (erf((b − m)/δ) − erf((a − m)/δ)) / (2(b − a)), over √(πδ²).
fn coherent_box_kernel_1d(
    (a, b, c, d): (f64, f64, f64, f64),
    x: f64,
    y: f64,
    eps: f64,
    delta: f64,
) -> Complex64 {
    let r = x - y;
    let m = 0.5 * (x + y);
    let arg = (d - c) * r / (2.0 * eps);
    let sinc = if arg.abs() < 1e-12 {
        1.0
    } else {
        arg.sin() / arg
    };
    let q_part = (-r * r / (4.0 * delta * delta)).exp()
        * PI.sqrt()
        * delta
        * (libm::erf((b - m) / delta) - libm::erf((a - m) / delta))
        / (2.0 * (b - a));
    Complex64::from_polar(
        q_part * sinc / (PI * delta * delta).sqrt(),
        0.5 * (c + d) * r / eps,
    )
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
                        Component::Gaussian {
                            q,
                            p,
                            sigma_q,
                            sigma_p,
                            ..
                        } => {
                            if q.len() != physics.dim || p.len() != physics.dim {
                                bail!("initial.components: q and p need {} entries", physics.dim);
                            }
                            if *sigma_q <= 0.0 || *sigma_p <= 0.0 {
                                bail!("initial.components: sigma_q and sigma_p must be positive");
                            }
                        }
                        Component::Box {
                            q_min,
                            q_max,
                            p_min,
                            p_max,
                            ..
                        } => {
                            let all = [q_min, q_max, p_min, p_max];
                            if all.iter().any(|v| v.len() != physics.dim) {
                                bail!("initial.components: box edges need {} entries", physics.dim);
                            }
                            if (0..physics.dim)
                                .any(|i| q_max[i] <= q_min[i] || p_max[i] <= p_min[i])
                            {
                                bail!("initial.components: every box needs q_min < q_max and p_min < p_max");
                            }
                        }
                    }
                }
            }
            HartreeInitial::GaussianPacket { q0, p0, sigma } => {
                if q0.len() != physics.dim || p0.len() != physics.dim || *sigma <= 0.0 {
                    bail!(
                        "initial: q0 and p0 need {} entries and sigma > 0",
                        physics.dim
                    );
                }
            }
            HartreeInitial::Weyl { components } => {
                if components.is_empty() {
                    bail!("initial.components is empty");
                }
            }
            HartreeInitial::Thermal { beta, .. } => {
                if beta.is_nan() || *beta <= 0.0 {
                    bail!("initial.beta = {beta} must be positive");
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
                    .map(|c| match c {
                        Component::Gaussian {
                            weight,
                            q,
                            p,
                            sigma_q,
                            sigma_p,
                        } => (
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
                        ),
                        Component::Box {
                            weight,
                            q_min,
                            q_max,
                            p_min,
                            p_max,
                        } => (
                            *weight,
                            (0..grid.dim)
                                .map(|i| {
                                    let edges = (q_min[i], q_max[i], p_min[i], p_max[i]);
                                    table(&|x, y| coherent_box_kernel_1d(edges, x, y, eps, delta))
                                })
                                .collect(),
                        ),
                    })
                    .collect()
            }
            HartreeInitial::Weyl { .. } | HartreeInitial::Thermal { .. } => Vec::new(),
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
    pub fn matrix(&self, grid: &HartreeGrid, physics: &HartreePhysics) -> Result<Vec<Complex64>> {
        match self {
            HartreeInitial::Weyl { components } => return weyl_matrix(grid, physics, components),
            HartreeInitial::Thermal {
                beta,
                tolerance,
                max_iterations,
            } => {
                let state = super::thermal::thermal_state(
                    grid,
                    physics,
                    *beta,
                    *tolerance,
                    *max_iterations,
                )?;
                return Ok(state.matrix);
            }
            _ => {}
        }
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
        Ok(out)
    }
}

/// The Weyl quantization of a phase-space density, on the host in f64.
fn weyl_matrix(
    grid: &HartreeGrid,
    physics: &HartreePhysics,
    components: &[Component],
) -> Result<Vec<Complex64>> {
    use crate::backend::Backend;
    use crate::field::Elem;
    use crate::wigner::{PhaseGridSpec, Wigner};
    let cpu = crate::host::backend();
    let spec = PhaseGridSpec::new(grid, physics.epsilon, physics.particles())?;
    let shape = spec.shape();
    let d = grid.dim;
    let m = 2 * grid.n;
    let cells: usize = shape.iter().product();
    let per_axis: Vec<f64> = match physics.boundary {
        Boundary::Periodic => (-2..=2).map(|m| m as f64 * grid.length).collect(),
        Boundary::Isolated => vec![0.0],
    };
    let images: Vec<Vec<f64>> = (0..per_axis.len().pow(d as u32))
        .map(|s| {
            let mut rest = s;
            (0..d)
                .map(|_| {
                    let v = per_axis[rest % per_axis.len()];
                    rest /= per_axis.len();
                    v
                })
                .collect()
        })
        .collect();
    let f: Vec<f64> = (0..cells)
        .into_par_iter()
        .map(|c| {
            let mut rest = c;
            let mut idx = vec![0usize; 2 * d];
            for a in (0..2 * d).rev() {
                idx[a] = rest % m;
                rest /= m;
            }
            let p: Vec<f64> = idx[d..].iter().map(|&i| spec.p(i)).collect();
            // On a torus, f is summed over the images of x (|m| ≤ 2 per axis).
            images
                .iter()
                .map(|shift| {
                    let x: Vec<f64> = (0..d).map(|i| spec.x(idx[i]) + shift[i]).collect();
                    phase_density(components, &x, &p)
                })
                .sum::<f64>()
        })
        .collect();
    let mut field = cpu.zeros(&shape, Elem::Real)?;
    cpu.upload_real(&mut field, &f)?;
    let mut a = cpu.zeros(&spec.matrix_shape(), Elem::Complex)?;
    Wigner::new(&cpu, &spec)?.weyl(&cpu, &field, &mut a)?;
    let mut a = cpu.download_complex(&a)?;
    // The trace of the torus map samples f at the even half-grid points and adds an
    // alternating antipodal sum: for a sharp edge that misses Σ weights by O(h/width).
    // Normalise to tr Ã = N (Σ weights · N), as a smooth f gives by itself.
    let weights: f64 = components
        .iter()
        .map(|c| match c {
            Component::Gaussian { weight, .. } | Component::Box { weight, .. } => *weight,
        })
        .sum();
    let p = grid.points();
    let trace: f64 = (0..p).map(|i| a[i * p + i].re).sum();
    if trace.abs() < 1e-300 {
        bail!("initial: the phase-space density is zero on the grid (is the box inside it?)");
    }
    let scale = weights * physics.particles() / trace;
    a.iter_mut().for_each(|z| *z *= scale);
    Ok(a)
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
            exchange: false,
        }
    }

    /// The calibration state of docs/design.md section 5 (d = 1, ε = 0.1, Gaussian M of unit
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
        let a = init.matrix(&grid, &ph).unwrap();
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
            let w: Vec<Complex64> = (0..n)
                .map(|i| (0..n).map(|j| a[i * n + j] * v[j]).sum())
                .collect();
            lambda = w.iter().map(|z| z.norm_sqr()).sum::<f64>().sqrt();
            v = w.iter().map(|z| z / lambda).collect();
        }
        assert!(
            (lambda - 0.90909).abs() < 1e-5,
            "largest occupation {lambda}"
        );
    }

    /// Wigner(coherent mixture of a Gaussian M) = M * g (docs/design.md section 4), and Weyl inverts
    /// Wigner_s: the Weyl quantization of the Gaussian with the widened spreads is the
    /// coherent mixture's matrix.
    #[test]
    fn weyl_of_the_smoothed_density_is_the_coherent_mixture() {
        let ph = physics(1, 0.1);
        let grid = HartreeGrid::new(1, 128, 2.0 * PI, Boundary::Periodic).unwrap();
        let (eps, delta): (f64, f64) = (0.1, 0.1f64.sqrt());
        let gaussian = |sq: f64, sp: f64| Component::Gaussian {
            weight: 1.0,
            q: vec![PI],
            p: vec![0.3],
            sigma_q: sq,
            sigma_p: sp,
        };
        let mixture = HartreeInitial::CoherentMixture {
            delta: None,
            components: vec![gaussian(0.8, 0.9)],
        };
        let weyl = HartreeInitial::Weyl {
            components: vec![gaussian(
                (0.64 + delta * delta / 2.0).sqrt(),
                (0.81 + eps * eps / (2.0 * delta * delta)).sqrt(),
            )],
        };
        let a = mixture.matrix(&grid, &ph).unwrap();
        let b = weyl.matrix(&grid, &ph).unwrap();
        let num: f64 = a.iter().zip(&b).map(|(x, y)| (x - y).norm_sqr()).sum();
        let den: f64 = a.iter().map(|x| x.norm_sqr()).sum();
        let err = (num / den).sqrt();
        assert!(err < 1e-6, "relative difference {err:e}");
    }

    /// The Wigner function of a coherent-state mixture is M * g (docs/design.md section 4): for a
    /// box M, Wigner_s of the analytic kernel against the Husimi density of the Vlasov side.
    #[test]
    fn box_mixture_wigner_is_the_smoothed_box() {
        use crate::backend::Backend;
        use crate::field::Elem;
        use crate::wigner::{PhaseGridSpec, Wigner};
        let ph = physics(1, 0.1);
        let grid = HartreeGrid::new(1, 160, 2.0 * PI, Boundary::Periodic).unwrap();
        let component = Component::Box {
            weight: 1.0,
            q_min: vec![PI - 1.0],
            q_max: vec![PI + 1.0],
            p_min: vec![-1.0],
            p_max: vec![1.0],
        };
        let init = HartreeInitial::CoherentMixture {
            delta: None,
            components: vec![component.clone()],
        };
        let a = init.matrix(&grid, &ph).unwrap();
        let cpu = crate::host::backend();
        let spec = PhaseGridSpec::new(&grid, 0.1, 10.0).unwrap();
        let mut af = cpu.zeros(&spec.matrix_shape(), Elem::Complex).unwrap();
        cpu.upload_complex(&mut af, &a).unwrap();
        let mut w = cpu.zeros(&spec.shape(), Elem::Real).unwrap();
        Wigner::new(&cpu, &spec)
            .unwrap()
            .wigner(&cpu, &af, &mut w)
            .unwrap();
        let w = cpu.download_real(&w).unwrap();
        let husimi = crate::vlasov::init::Initial::Husimi {
            epsilon: 0.1,
            delta: None,
            components: vec![component],
        };
        let vg = crate::vlasov::PhaseGrid::new(1, &spec.vlasov_grid(), Boundary::Periodic).unwrap();
        let vph = crate::vlasov::Physics {
            dim: 1,
            mass: 1.0,
            kappa: 4.0,
            gamma: 1.0,
            boundary: Boundary::Periodic,
        };
        let f = husimi.sample(&vg, &vph);
        let num: f64 = w.iter().zip(&f).map(|(x, y)| (x - y) * (x - y)).sum();
        let den: f64 = f.iter().map(|y| y * y).sum();
        let err = (num / den).sqrt();
        assert!(err < 1e-6, "relative difference {err:e}");
    }
}
