//! Initial phase-space densities f(x, p) (docs/design.md section 4), evaluated on the host in f64.
//!
//! Plasma tests are in plasma units (m = κ = 1, mean density 1 on the periodic box); the
//! self-gravitating states fix their own mass; the coherent-state (Husimi) density has
//! ∫∫f = Σ weights.

use std::f64::consts::PI;
use std::ops::Range;

use anyhow::{bail, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{PhaseGrid, Physics};
use crate::poisson::Boundary;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Initial {
    /// (1 + α Σ_i cos(k x_i)) · Maxwellian of momentum spread `thermal`.
    Landau {
        alpha: f64,
        k: f64,
        #[serde(default = "one")]
        thermal: f64,
    },
    /// (1 + α cos(k x_0)) · two Maxwellian beams at p_0 = ±v0 (spread `thermal`), each of
    /// density ½; Maxwellian along the other momentum axes.
    TwoStream {
        alpha: f64,
        k: f64,
        v0: f64,
        #[serde(default = "one")]
        thermal: f64,
    },
    /// (1 + α cos(k x_0)) · [(1 − n_b) M(p; 0, 1) + n_b M(p; v_b, v_tb)] along p_0.
    BumpOnTail {
        alpha: f64,
        k: f64,
        #[serde(default = "bump_fraction")]
        bump_fraction: f64,
        #[serde(default = "bump_velocity")]
        bump_velocity: f64,
        #[serde(default = "bump_thermal")]
        bump_thermal: f64,
    },
    /// Gravity: ρ0 (1 + α cos(k x_0)) · Maxwellian of momentum spread `sigma`.
    Jeans {
        alpha: f64,
        k: f64,
        #[serde(default = "one")]
        density: f64,
        sigma: f64,
    },
    /// The self-gravitating isothermal sheet (1D, isolated, γ = −1): f = ρ(x) M_θ(p) with
    /// ρ = ρ0 sech²(x/x0), x0 = 4θ/(κ M), ρ0 = M/(2 x0); a stationary state f = Φ(H).
    IsothermalSheet {
        temperature: f64,
        #[serde(default = "one")]
        total_mass: f64,
    },
    /// The Plummer sphere (3D, isolated, γ = −1, G = κ/4π): f = F(GM/√(r²+a²) − |v|²/2),
    /// F(ε) = 24√2/(7π³) a²/(G⁵M⁴) ε^(7/2), v = p/m; a stationary state.
    Plummer {
        #[serde(default = "one")]
        total_mass: f64,
        radius: f64,
    },
    /// The coherent-state (Husimi) density of M(q, p) = Σ components: f = M * g with
    /// g = e^(−|x|²/δ² − δ²|p|²/ε²)/(πε)^d (docs/design.md section 4); images summed on a torus.
    Husimi {
        epsilon: f64,
        /// Default √ε.
        delta: Option<f64>,
        components: Vec<Component>,
    },
}

/// One term of a user-given phase-space density M(q, p), each normalised to ∫∫ = weight.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(tag = "shape", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Component {
    /// A Gaussian centred at (q, p) with spreads sigma_q, sigma_p on every axis.
    Gaussian {
        weight: f64,
        q: Vec<f64>,
        p: Vec<f64>,
        sigma_q: f64,
        sigma_p: f64,
    },
    /// The indicator of the box [q_min, q_max] × [p_min, p_max] (sharp-edged data).
    Box {
        weight: f64,
        q_min: Vec<f64>,
        q_max: Vec<f64>,
        p_min: Vec<f64>,
        p_max: Vec<f64>,
    },
}

/// The factor of one Husimi term along one axis: (axis, coordinate) → density.
type AxisProfile<'a> = Box<dyn Fn(usize, f64) -> f64 + 'a>;

fn one() -> f64 {
    1.0
}
fn bump_fraction() -> f64 {
    0.1
}
fn bump_velocity() -> f64 {
    4.5
}
fn bump_thermal() -> f64 {
    0.5
}

/// The normal density N(x; mean, s²).
pub(crate) fn normal(x: f64, mean: f64, s: f64) -> f64 {
    (-(x - mean).powi(2) / (2.0 * s * s)).exp() / ((2.0 * PI).sqrt() * s)
}

/// P(a ≤ X ≤ b) density of the uniform law on [a, b] smoothed by N(0, s²), at x.
fn smoothed_box(x: f64, a: f64, b: f64, s: f64) -> f64 {
    let c = std::f64::consts::SQRT_2 * s;
    (libm::erf((x - a) / c) - libm::erf((x - b) / c)) / (2.0 * (b - a))
}

/// Maxwellian density of the momentum vector p with spread s per axis.
fn maxwellian(p: &[f64], s: f64) -> f64 {
    p.iter().map(|&pi| normal(pi, 0.0, s)).product()
}

impl Initial {
    /// Checks the parameters against the run, with errors that name the key.
    pub fn validate(&self, physics: &Physics) -> Result<()> {
        let positive = |v: f64, name: &str| -> Result<()> {
            if !(v > 0.0 && v.is_finite()) {
                bail!("initial.{name} = {v} must be a positive number");
            }
            Ok(())
        };
        match self {
            Initial::Landau { k, thermal, .. } | Initial::TwoStream { k, thermal, .. } => {
                positive(*k, "k")?;
                positive(*thermal, "thermal")?;
            }
            Initial::BumpOnTail {
                k,
                bump_thermal,
                bump_fraction,
                ..
            } => {
                positive(*k, "k")?;
                positive(*bump_thermal, "bump_thermal")?;
                if !(0.0..=1.0).contains(bump_fraction) {
                    bail!("initial.bump_fraction = {bump_fraction} must lie in [0, 1]");
                }
            }
            Initial::Jeans {
                k, sigma, density, ..
            } => {
                positive(*k, "k")?;
                positive(*sigma, "sigma")?;
                positive(*density, "density")?;
            }
            Initial::IsothermalSheet {
                temperature,
                total_mass,
            } => {
                positive(*temperature, "temperature")?;
                positive(*total_mass, "total_mass")?;
                if physics.dim != 1
                    || physics.boundary != Boundary::Isolated
                    || physics.gamma != -1.0
                {
                    bail!("the isothermal sheet is a 1D isolated self-gravitating state: set physics.dim = 1, physics.boundary = \"isolated\", physics.gamma = -1");
                }
            }
            Initial::Plummer { total_mass, radius } => {
                positive(*total_mass, "total_mass")?;
                positive(*radius, "radius")?;
                if physics.dim != 3
                    || physics.boundary != Boundary::Isolated
                    || physics.gamma != -1.0
                {
                    bail!("the Plummer sphere is a 3D isolated self-gravitating state: set physics.dim = 3, physics.boundary = \"isolated\", physics.gamma = -1");
                }
            }
            Initial::Husimi {
                epsilon,
                delta,
                components,
            } => {
                positive(*epsilon, "epsilon")?;
                if let Some(d) = delta {
                    positive(*d, "delta")?;
                }
                if components.is_empty() {
                    bail!("initial.components is empty: give at least one term of M(q, p)");
                }
                for c in components {
                    let vectors: Vec<&Vec<f64>> = match c {
                        Component::Gaussian {
                            q,
                            p,
                            sigma_q,
                            sigma_p,
                            ..
                        } => {
                            positive(*sigma_q, "components.sigma_q")?;
                            positive(*sigma_p, "components.sigma_p")?;
                            vec![q, p]
                        }
                        Component::Box {
                            q_min,
                            q_max,
                            p_min,
                            p_max,
                            ..
                        } => {
                            for (lo, hi) in q_min.iter().chain(p_min).zip(q_max.iter().chain(p_max))
                            {
                                if hi.partial_cmp(lo) != Some(std::cmp::Ordering::Greater) {
                                    bail!("initial.components: box edge {lo} ≥ {hi}");
                                }
                            }
                            vec![q_min, q_max, p_min, p_max]
                        }
                    };
                    if vectors.iter().any(|v| v.len() != physics.dim) {
                        bail!(
                            "initial.components: every position and momentum needs {} entries",
                            physics.dim
                        );
                    }
                }
            }
        }
        Ok(())
    }

    /// f at one phase-space point.
    pub fn value(&self, grid: &PhaseGrid, physics: &Physics, x: &[f64], p: &[f64]) -> f64 {
        let d = x.len();
        match self {
            Initial::Landau { alpha, k, thermal } => {
                let perturbation: f64 = x.iter().map(|&xi| (k * xi).cos()).sum();
                (1.0 + alpha * perturbation) * maxwellian(p, *thermal)
            }
            Initial::TwoStream {
                alpha,
                k,
                v0,
                thermal,
            } => {
                let beams = 0.5 * (normal(p[0], *v0, *thermal) + normal(p[0], -v0, *thermal));
                (1.0 + alpha * (k * x[0]).cos()) * beams * maxwellian(&p[1..], *thermal)
            }
            Initial::BumpOnTail {
                alpha,
                k,
                bump_fraction,
                bump_velocity,
                bump_thermal,
            } => {
                let v = (1.0 - bump_fraction) * normal(p[0], 0.0, 1.0)
                    + bump_fraction * normal(p[0], *bump_velocity, *bump_thermal);
                (1.0 + alpha * (k * x[0]).cos()) * v * maxwellian(&p[1..], 1.0)
            }
            Initial::Jeans {
                alpha,
                k,
                density,
                sigma,
            } => density * (1.0 + alpha * (k * x[0]).cos()) * maxwellian(p, *sigma),
            Initial::IsothermalSheet {
                temperature,
                total_mass,
            } => {
                let x0 = 4.0 * temperature / (physics.kappa * total_mass);
                let rho0 = total_mass / (2.0 * x0);
                let sech = 1.0 / (x[0] / x0).cosh();
                rho0 * sech * sech * normal(p[0], 0.0, (physics.mass * temperature).sqrt())
            }
            Initial::Plummer { total_mass, radius } => {
                let g = physics.kappa / (4.0 * PI);
                let m = physics.mass;
                let r2: f64 = x.iter().map(|v| v * v).sum();
                let v2: f64 = p.iter().map(|v| (v / m).powi(2)).sum();
                let eps = g * total_mass / (r2 + radius * radius).sqrt() - 0.5 * v2;
                if eps <= 0.0 {
                    return 0.0;
                }
                let c = 24.0 * std::f64::consts::SQRT_2 / (7.0 * PI.powi(3)) * radius * radius
                    / (g.powi(5) * total_mass.powi(4));
                c * eps.powf(3.5) / m.powi(3)
            }
            Initial::Husimi {
                epsilon,
                delta,
                components,
            } => {
                let delta = delta.unwrap_or(epsilon.sqrt());
                // g has x-variance δ²/2 and p-variance ε²/(2δ²) per axis.
                let sx = delta / std::f64::consts::SQRT_2;
                let sp = epsilon / (std::f64::consts::SQRT_2 * delta);
                let images: &[f64] = match physics.boundary {
                    Boundary::Periodic => &[-1.0, 0.0, 1.0],
                    Boundary::Isolated => &[0.0],
                };
                components
                    .iter()
                    .map(|c| {
                        let (weight, fx, fp): (f64, AxisProfile, AxisProfile) = match c {
                            Component::Gaussian {
                                weight,
                                q,
                                p,
                                sigma_q,
                                sigma_p,
                            } => {
                                let s_x = (sigma_q * sigma_q + sx * sx).sqrt();
                                let s_p = (sigma_p * sigma_p + sp * sp).sqrt();
                                (
                                    *weight,
                                    Box::new(move |i, xi| normal(xi, q[i], s_x)),
                                    Box::new(move |i, pi| normal(pi, p[i], s_p)),
                                )
                            }
                            Component::Box {
                                weight,
                                q_min,
                                q_max,
                                p_min,
                                p_max,
                            } => (
                                *weight,
                                Box::new(move |i, xi| smoothed_box(xi, q_min[i], q_max[i], sx)),
                                Box::new(move |i, pi| smoothed_box(pi, p_min[i], p_max[i], sp)),
                            ),
                        };
                        let mut v = weight;
                        for i in 0..d {
                            let along_x: f64 =
                                images.iter().map(|s| fx(i, x[i] + s * grid.length)).sum();
                            v *= along_x * fp(i, p[i]);
                        }
                        v
                    })
                    .sum()
            }
        }
    }

    /// f on every cell of the grid, row-major over `grid.shape()`.
    pub fn sample(&self, grid: &PhaseGrid, physics: &Physics) -> Vec<f64> {
        self.sample_slab(grid, physics, 0..grid.nx.pow(grid.dim as u32))
    }

    /// f on the position cells `cells` (flat indices of the position grid), each with its
    /// np^d momenta: the slab `cells.start·np^d .. cells.end·np^d` of `sample`.
    pub fn sample_slab(
        &self,
        grid: &PhaseGrid,
        physics: &Physics,
        cells: Range<usize>,
    ) -> Vec<f64> {
        let d = grid.dim;
        let np_block = grid.np.pow(d as u32);
        let mut out = vec![0.0; cells.len() * np_block];
        out.par_chunks_mut(np_block)
            .enumerate()
            .for_each(|(offset, block)| {
                let mut x = [0.0; 3];
                let mut rest = cells.start + offset;
                for a in (0..d).rev() {
                    x[a] = grid.x(rest % grid.nx);
                    rest /= grid.nx;
                }
                let mut p = [0.0; 3];
                for (q, v) in block.iter_mut().enumerate() {
                    let mut rest = q;
                    for a in (0..d).rev() {
                        p[a] = grid.p(rest % grid.np);
                        rest /= grid.np;
                    }
                    *v = self.value(grid, physics, &x[..d], &p[..d]);
                }
            });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vlasov::GridConfig;

    fn physics(dim: usize, kappa: f64, gamma: f64, boundary: Boundary) -> Physics {
        Physics {
            dim,
            mass: 1.0,
            kappa,
            gamma,
            boundary,
        }
    }

    /// ∫ F(ψ − v²/2) 4πv² dv equals the Plummer density (3M/4πa³)(1 + r²/a²)^(−5/2).
    #[test]
    fn plummer_distribution_integrates_to_its_density() {
        let ph = physics(3, 4.0 * PI, -1.0, Boundary::Isolated);
        let grid = PhaseGrid::new(
            3,
            &GridConfig {
                nx: 8,
                np: 8,
                length: 10.0,
                p_max: 2.0,
            },
            Boundary::Isolated,
        )
        .unwrap();
        let (m, a) = (1.0, 1.0);
        let init = Initial::Plummer {
            total_mass: m,
            radius: a,
        };
        for r in [0.0, 0.5, 1.0, 2.0, 4.0] {
            let psi: f64 = m / (r * r + a * a).sqrt(); // G = κ/4π = 1
            let vmax = (2.0 * psi).sqrt();
            let n = 4000;
            let h = vmax / n as f64;
            // Simpson's rule.
            let rho: f64 = (0..=n)
                .map(|i| {
                    let v = i as f64 * h;
                    let w = if i == 0 || i == n {
                        1.0
                    } else if i % 2 == 1 {
                        4.0
                    } else {
                        2.0
                    };
                    w * 4.0 * PI * v * v * init.value(&grid, &ph, &[r, 0.0, 0.0], &[v, 0.0, 0.0])
                })
                .sum::<f64>()
                * h
                / 3.0;
            let exact = 3.0 * m / (4.0 * PI * a.powi(3)) * (1.0 + r * r / (a * a)).powf(-2.5);
            assert!(
                (rho / exact - 1.0).abs() < 1e-6,
                "r = {r}: {rho} against {exact}"
            );
        }
    }

    /// The sheet's momentum integral is ρ0 sech²(x/x0) with total mass M.
    #[test]
    fn isothermal_sheet_density_and_mass() {
        let ph = physics(1, 1.0, -1.0, Boundary::Isolated);
        let grid = PhaseGrid::new(
            1,
            &GridConfig {
                nx: 256,
                np: 256,
                length: 40.0,
                p_max: 6.0,
            },
            Boundary::Isolated,
        )
        .unwrap();
        let init = Initial::IsothermalSheet {
            temperature: 0.5,
            total_mass: 2.0,
        };
        let f = init.sample(&grid, &ph);
        let mass: f64 = f.iter().sum::<f64>() * grid.cell_volume();
        assert!((mass - 2.0).abs() < 1e-9, "mass {mass}");
        let x0 = 4.0 * 0.5 / 2.0;
        let rho_centre: f64 = f[128 * 256..129 * 256].iter().sum::<f64>() * grid.dp;
        assert!((rho_centre - 2.0 / (2.0 * x0)).abs() < 1e-9, "{rho_centre}");
    }

    /// The Husimi density of a normalised Gaussian M has the weight as its mass and the
    /// variances of M plus those of g (δ²/2 in x, ε²/2δ² in p).
    #[test]
    fn husimi_of_a_gaussian_has_the_analytic_moments() {
        let ph = physics(1, 1.0, 1.0, Boundary::Periodic);
        let grid = PhaseGrid::new(
            1,
            &GridConfig {
                nx: 128,
                np: 128,
                length: 2.0 * PI,
                p_max: 6.0,
            },
            Boundary::Periodic,
        )
        .unwrap();
        let eps: f64 = 0.1;
        let init = Initial::Husimi {
            epsilon: eps,
            delta: None,
            components: vec![Component::Gaussian {
                weight: 0.7,
                q: vec![PI],
                p: vec![0.5],
                sigma_q: 0.5,
                sigma_p: 0.8,
            }],
        };
        let f = init.sample(&grid, &ph);
        let dv = grid.cell_volume();
        let mass: f64 = f.iter().sum::<f64>() * dv;
        assert!((mass - 0.7).abs() < 1e-9, "mass {mass}");
        let var_p: f64 = (0..f.len())
            .map(|c| f[c] * (grid.p(c % 128) - 0.5).powi(2))
            .sum::<f64>()
            * dv
            / mass;
        let want = 0.8f64.powi(2) + eps * eps / (2.0 * eps);
        assert!((var_p - want).abs() < 1e-6, "{var_p} against {want}");
    }
}
