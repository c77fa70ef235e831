//! Vlasov–Poisson in d = 1, 2, 3 (phase space of 2d axes) by semi-Lagrangian splitting.
//!
//! ∂t f + (p/m)·∇x f − ∇U·∇p f = 0, −ΔU = κγ(ρ − ρ_b) (docs/design.md section 1). The phase-space
//! array has the position axes first and the momentum axes last, so the density is a sum over
//! the trailing block and every drift and kick is a shift of lines with a per-line amount:
//!
//! - drift along x_i by τ p_i/m: lines along axis i, shift table p over momentum axis d + i;
//! - kick along p_i by −τ ∂_iU: lines along axis d + i, shift table the force −∂_iU over x.
//!
//! A Strang step is half drift, field solve, kick, half drift (3d sweeps); the fourth-order
//! option composes three Strang steps with Yoshida's weights. Both backends run the same code.

pub mod diagnostics;
pub mod fit;
pub mod init;
pub mod job;
pub mod norms;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::field::{strides_of, Elem};
use crate::kernels::{Advection, GroupPath, LineBoundary, LineShift, MomentumAxes};
use crate::poisson::{Boundary, Poisson, PoissonSpec};
use init::Initial;

/// Host bytes of f64 that `Vlasov::load` samples at a time.
pub const LOAD_SLAB_BYTES: usize = 64 << 20;

/// The physical model: docs/design.md section 1.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Physics {
    /// Space dimension d (1, 2 or 3); phase space has 2d axes.
    pub dim: usize,
    /// Particle mass m in H = |p|²/2m + U.
    #[serde(default = "one")]
    pub mass: f64,
    /// Coupling κ in −ΔG = κδ (κ = 4π gives G = 1/|x| in 3D; plasma units use κ = 1).
    #[serde(default = "one")]
    pub kappa: f64,
    /// +1 Coulomb (repulsive), −1 gravity.
    #[serde(default = "one")]
    pub gamma: f64,
    /// `periodic` (torus, neutralising background / Jeans swindle) or `isolated` (free space).
    #[serde(default = "periodic")]
    pub boundary: Boundary,
}

fn one() -> f64 {
    1.0
}
fn periodic() -> Boundary {
    Boundary::Periodic
}

/// The phase-space grid: the same number of points on every position axis and on every
/// momentum axis.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GridConfig {
    /// Points per position axis.
    pub nx: usize,
    /// Points per momentum axis.
    pub np: usize,
    /// Side L of the position box: [0, L) when periodic, [−L/2, L/2) when isolated.
    pub length: f64,
    /// Momentum box [−P, P) per axis, with f = 0 outside.
    pub p_max: f64,
}

/// Time splitting of one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Splitting {
    /// Half drift, field, kick, half drift: second order.
    Strang,
    /// Three Strang steps with Yoshida's weights: fourth order.
    FourthOrder,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Numerics {
    /// Odd Lagrange interpolation degree (5 or more recommended; 1..15 accepted).
    #[serde(default = "default_degree")]
    pub degree: usize,
    #[serde(default = "strang")]
    pub splitting: Splitting,
}

impl Default for Numerics {
    fn default() -> Self {
        Self {
            degree: default_degree(),
            splitting: Splitting::Strang,
        }
    }
}

fn default_degree() -> usize {
    5
}
fn strang() -> Splitting {
    Splitting::Strang
}

/// Coordinates of the grid: x_i = x_min + i·h, p_k = −P + k·dp.
#[derive(Clone, Debug, PartialEq)]
pub struct PhaseGrid {
    pub dim: usize,
    pub nx: usize,
    pub np: usize,
    pub length: f64,
    pub p_max: f64,
    pub h: f64,
    pub dp: f64,
    pub x_min: f64,
}

impl PhaseGrid {
    pub fn new(dim: usize, grid: &GridConfig, boundary: Boundary) -> Result<Self> {
        if !(1..=3).contains(&dim) {
            bail!("physics.dim = {dim}: the dimension must be 1, 2 or 3");
        }
        if grid.nx < 2 || grid.np < 2 {
            bail!(
                "grid.nx = {} and grid.np = {}: need at least 2 points per axis",
                grid.nx,
                grid.np
            );
        }
        if !(grid.length > 0.0 && grid.length.is_finite()) {
            bail!("grid.length = {} is not a positive number", grid.length);
        }
        if !(grid.p_max > 0.0 && grid.p_max.is_finite()) {
            bail!("grid.p_max = {} is not a positive number", grid.p_max);
        }
        let cells = (grid.nx as u128 * grid.np as u128).checked_pow(dim as u32);
        if cells.is_none_or(|c| c > 1 << 40) {
            bail!(
                "a {dim}D{dim}V grid of {} × {} points per axis is beyond any memory (more than 2^40 cells)",
                grid.nx,
                grid.np
            );
        }
        let x_min = match boundary {
            Boundary::Periodic => 0.0,
            Boundary::Isolated => -grid.length / 2.0,
        };
        Ok(Self {
            dim,
            nx: grid.nx,
            np: grid.np,
            length: grid.length,
            p_max: grid.p_max,
            h: grid.length / grid.nx as f64,
            dp: 2.0 * grid.p_max / grid.np as f64,
            x_min,
        })
    }

    /// [nx; d] followed by [np; d].
    pub fn shape(&self) -> Vec<usize> {
        let mut s = vec![self.nx; self.dim];
        s.extend(vec![self.np; self.dim]);
        s
    }
    pub fn x_shape(&self) -> Vec<usize> {
        vec![self.nx; self.dim]
    }
    pub fn cells(&self) -> usize {
        (self.nx * self.np).pow(self.dim as u32)
    }
    pub fn x(&self, i: usize) -> f64 {
        self.x_min + i as f64 * self.h
    }
    pub fn p(&self, k: usize) -> f64 {
        -self.p_max + k as f64 * self.dp
    }
    pub fn cell_volume(&self) -> f64 {
        (self.h * self.dp).powi(self.dim as i32)
    }
    pub fn momentum_axes(&self) -> MomentumAxes {
        MomentumAxes {
            n: vec![self.np; self.dim],
            p_min: vec![-self.p_max; self.dim],
            dp: vec![self.dp; self.dim],
        }
    }
}

/// Yoshida's weights for a fourth-order composition of a symmetric second-order step.
pub fn yoshida_weights() -> [f64; 3] {
    let w1 = 1.0 / (2.0 - 2f64.powf(1.0 / 3.0));
    [w1, 1.0 - 2.0 * w1, w1]
}

/// The passes a run of Vlasov steps makes over f (`Vlasov::advance`), from their geometry:
/// per stage one kick group and one drift group (each one pass when fused, d sweeps when not)
/// and one read of f for ρ; the drift groups between stages and steps are merged, so `steps`
/// steps between two outputs make stages·steps + 1 drift groups.
#[derive(Clone, Debug, PartialEq)]
pub struct StepTraffic {
    pub dim: usize,
    /// Stages per step: 1 (Strang) or 3 (fourth order).
    pub stages: usize,
    /// Bytes of one stored real (8 on the CPU, 4 on the GPU).
    pub real_bytes: usize,
    pub drift: GroupPath,
    pub kick: GroupPath,
}

impl StepTraffic {
    /// The passes that a solver of `grid` and `numerics` makes on `backend`, from the pass
    /// geometry alone (nothing is allocated: the plan prints this before a run).
    pub fn of<B: Advection>(backend: &B, grid: &PhaseGrid, numerics: &Numerics) -> Self {
        let d = grid.dim;
        let shape = grid.shape();
        StepTraffic {
            dim: d,
            stages: match numerics.splitting {
                Splitting::Strang => 1,
                Splitting::FourthOrder => 3,
            },
            real_bytes: backend.real_bytes(),
            drift: backend.group_path(&shape, &(0..d).collect::<Vec<_>>()),
            kick: backend.group_path(&shape, &(d..2 * d).collect::<Vec<_>>()),
        }
    }

    /// Reads and writes of f per step (one pass = one read and one write of every cell; ρ is
    /// a read only, half a pass) for runs of `steps` steps between outputs.
    pub fn passes_per_step(&self, steps: usize) -> f64 {
        let (d, stages, k) = (self.dim, self.stages as f64, steps.max(1) as f64);
        let drift_groups = (stages * k + 1.0) / k;
        stages * self.kick.passes(d) as f64
            + drift_groups * self.drift.passes(d) as f64
            + 0.5 * stages
    }

    /// Bytes moved per phase-space cell per step for runs of `steps` steps between outputs.
    pub fn bytes_per_cell_step(&self, steps: usize) -> f64 {
        2.0 * self.real_bytes as f64 * self.passes_per_step(steps)
    }

    /// One line for the plan and the bench.
    pub fn describe(&self, steps: usize) -> String {
        format!(
            "kicks: {}; drifts: {} (half steps merged); ρ: one read; {:.2} passes, {:.1} B per \
             cell per step at {steps} step(s) between outputs (f{})",
            self.kick.describe(self.dim),
            self.drift.describe(self.dim),
            self.passes_per_step(steps),
            self.bytes_per_cell_step(steps),
            8 * self.real_bytes
        )
    }
}

/// The solver state on one backend.
pub struct Vlasov<B: Backend + Advection> {
    pub grid: PhaseGrid,
    pub physics: Physics,
    pub numerics: Numerics,
    /// f(x, p), shape `grid.shape()`.
    pub f: B::Field,
    rho: B::Field,
    potential: B::Field,
    force: Vec<B::Field>,
    momenta: B::Field,
    poisson: Poisson<B>,
    pub time: f64,
}

impl<B: Backend + Advection> Vlasov<B> {
    /// Allocates the state with f = 0; `set_f` loads an initial condition.
    pub fn new(
        backend: &B,
        physics: &Physics,
        grid: &GridConfig,
        numerics: &Numerics,
    ) -> Result<Self> {
        let g = PhaseGrid::new(physics.dim, grid, physics.boundary)?;
        if physics.mass.is_nan() || physics.mass <= 0.0 {
            bail!("physics.mass = {} must be positive", physics.mass);
        }
        if physics.gamma != 1.0 && physics.gamma != -1.0 {
            bail!(
                "physics.gamma = {}: +1 (Coulomb) or −1 (gravity)",
                physics.gamma
            );
        }
        if numerics.degree.is_multiple_of(2) || numerics.degree > crate::kernels::MAX_DEGREE {
            bail!(
                "numerics.degree = {}: odd Lagrange degrees 1 to {} are supported",
                numerics.degree,
                crate::kernels::MAX_DEGREE
            );
        }
        let spec = PoissonSpec {
            shape: g.x_shape(),
            lengths: vec![g.length; g.dim],
            kappa: physics.kappa,
            gamma: physics.gamma,
            boundary: physics.boundary,
        };
        let poisson = Poisson::new(backend, &spec)?;
        let xs = g.x_shape();
        let mut momenta = backend.zeros(&[g.np], Elem::Real)?;
        let p: Vec<f64> = (0..g.np).map(|k| g.p(k)).collect();
        backend.upload_real(&mut momenta, &p)?;
        Ok(Self {
            f: backend.zeros(&g.shape(), Elem::Real)?,
            rho: backend.zeros(&xs, Elem::Real)?,
            potential: backend.zeros(&xs, Elem::Real)?,
            force: (0..g.dim)
                .map(|_| backend.zeros(&xs, Elem::Real))
                .collect::<Result<_>>()?,
            momenta,
            poisson,
            grid: g,
            physics: physics.clone(),
            numerics: numerics.clone(),
            time: 0.0,
        })
    }

    /// Loads f from host values (row-major over `grid.shape()`) and solves for its field.
    pub fn set_f(&mut self, backend: &B, values: &[f64]) -> Result<()> {
        backend.upload_real(&mut self.f, values)?;
        self.solve_field(backend)
    }

    /// f = `initial`, sampled slab by slab straight into the field (about `LOAD_SLAB_BYTES`
    /// of f64 on the host at a time, where `set_f` needs all of f: 8 GiB at 32⁶ cells), then
    /// its field.
    pub fn load(&mut self, backend: &B, initial: &Initial) -> Result<()> {
        self.load_in_slabs(backend, initial, LOAD_SLAB_BYTES)
    }

    /// `load` with slabs of about `slab_bytes` (at least one position cell's np^d values).
    pub fn load_in_slabs(
        &mut self,
        backend: &B,
        initial: &Initial,
        slab_bytes: usize,
    ) -> Result<()> {
        let block = self.grid.np.pow(self.grid.dim as u32);
        let positions = self.grid.nx.pow(self.grid.dim as u32);
        let per_slab = (slab_bytes / (8 * block)).max(1);
        for start in (0..positions).step_by(per_slab) {
            let cells = start..(start + per_slab).min(positions);
            let values = initial.sample_slab(&self.grid, &self.physics, cells);
            backend.upload_real_range(&mut self.f, start * block, &values)?;
        }
        self.solve_field(backend)
    }

    /// ρ = ∫f dp, then U and −∇U from it.
    pub fn solve_field(&mut self, backend: &B) -> Result<()> {
        let dp_volume = self.grid.dp.powi(self.grid.dim as i32);
        backend.sum_inner(&self.f, &mut self.rho, dp_volume)?;
        self.poisson
            .solve(backend, &self.rho, &mut self.potential, &mut self.force)
    }

    /// The d drifts x_i += τ p_i/m as one shift group (the shift along x_i depends on p_i
    /// only, so the d shifts commute).
    fn drift(&mut self, backend: &B, tau: f64) -> Result<()> {
        let d = self.grid.dim;
        let strides = strides_of(&self.grid.shape());
        let boundary = match self.physics.boundary {
            Boundary::Periodic => LineBoundary::Periodic,
            Boundary::Isolated => LineBoundary::Zero,
        };
        let group: Vec<(&B::Field, LineShift)> = (0..d)
            .map(|i| {
                let shift = LineShift {
                    axis: i,
                    degree: self.numerics.degree,
                    boundary,
                    scale: tau / (self.physics.mass * self.grid.h),
                    table_div: strides[d + i],
                };
                (&self.momenta, shift)
            })
            .collect();
        backend.shift_group(&mut self.f, &group)
    }

    /// The d kicks p_i += τ E_i(x) as one shift group (the shift along p_i depends on x only).
    fn kick(&mut self, backend: &B, tau: f64) -> Result<()> {
        let d = self.grid.dim;
        let block = self.grid.np.pow(d as u32);
        let group: Vec<(&B::Field, LineShift)> = (0..d)
            .map(|i| {
                let shift = LineShift {
                    axis: d + i,
                    degree: self.numerics.degree,
                    boundary: LineBoundary::Zero,
                    scale: tau / self.grid.dp,
                    table_div: block,
                };
                (&self.force[i], shift)
            })
            .collect();
        backend.shift_group(&mut self.f, &group)
    }

    /// One step of length `tau` (`advance` over one step); the field afterwards belongs to
    /// the half-step state, so call `solve_field` before reading diagnostics.
    pub fn step(&mut self, backend: &B, tau: f64) -> Result<()> {
        self.advance(backend, tau, 1)
    }

    /// `steps` steps of length `tau`. Each stage of a step (one for Strang, three for the
    /// fourth-order composition) is drift(wτ/2), field, kick(wτ), drift(wτ/2); the drifts that
    /// meet between stages and between steps are merged into one (the drift group is a
    /// translation along x by p/m per cell, so two in a row are one of the summed time, up to
    /// the interpolation error of one fewer shift). Between two outputs f is thus read and
    /// written once per kick group and once per drift group (`StepTraffic`). As after `step`,
    /// the field belongs to the last half-step state.
    pub fn advance(&mut self, backend: &B, tau: f64, steps: usize) -> Result<()> {
        let stages: &[f64] = match self.numerics.splitting {
            Splitting::Strang => &[1.0],
            Splitting::FourthOrder => &yoshida_weights(),
        };
        let mut pending = 0.0;
        for _ in 0..steps {
            for &w in stages {
                self.drift(backend, pending + w * tau / 2.0)?;
                self.solve_field(backend)?;
                self.kick(backend, w * tau)?;
                pending = w * tau / 2.0;
            }
            self.time += tau;
        }
        if steps > 0 {
            self.drift(backend, pending)?;
        }
        Ok(())
    }

    /// The passes over f that `advance` makes on `backend`, and the bytes they move.
    pub fn traffic(&self, backend: &B) -> StepTraffic {
        StepTraffic::of(backend, &self.grid, &self.numerics)
    }

    pub fn rho(&self) -> &B::Field {
        &self.rho
    }
    pub fn potential(&self) -> &B::Field {
        &self.potential
    }
    pub fn force(&self) -> &[B::Field] {
        &self.force
    }
}
