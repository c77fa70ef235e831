//! Where the two solvers meet (docs/design.md sections 2 and 3): Hartree from ω_0, Vlasov from
//! W_0 = Wigner_s(ω_0) on the matching phase grid, both advanced with the same τ, and the
//! paper's quantities between them at each output time.
//!
//! - ω̃_t = Weyl(f_t), the torus Weyl quantization of the Vlasov solution (`wigner::Wigner`).
//! - tr|ω_t − ω̃_t| on one of two paths (`TraceNormChoice`, `[diagnostics] trace_norm`):
//!   - exact: dense Hermitian eigenvalues in f64 on the host (up to `spectrum::MAX_ROWS`
//!     points; GPU downloads (f32) are symmetrised first), and every other matrix quantity
//!     below from the same downloads;
//!   - Newton–Schulz (any size the backend's matrix product holds): everything on the backend
//!     without an eigen-decomposition. D = A − Ã is formed on the device, tr|D| by Newton–Schulz
//!     (`tracenorm`), ‖D‖_HS by a reduction, ‖ρ − ρ̃‖_L1 from D's diagonal; the commutators
//!     C = i[x_i, ·] by the `position_commutator` kernel, tr|C| by Newton–Schulz, the diagonal of
//!     |C| = C·sign(C) by one more product; min/max eig(ω) and eig(ω̃) by Lanczos on the host
//!     (`lanczos`). Measured against the exact path (tests/compare_newton_schulz.rs, d = 1 and
//!     2, interacting states): every column to 1e-14 relative in f64, 1.4e-6 in f32.
//!   - auto: the exact path up to `MAX_ROWS` rows, Newton–Schulz above.
//! - ‖ω_t − ω̃_t‖_HS.
//! - ‖ρ_t − ρ̃_t‖_L1 on the position grid, ρ̃ = diag(Ã)/(N h^d): the Weyl density of the
//!   Vlasov state, which is the Vlasov density ∫f dp at the even points X_2a of the half grid
//!   plus the alternating antipodal sum of the torus map (negligible for resolved states). So
//!   ‖ρ − ρ̃‖_L1 = Σ_a |A_aa − Ã_aa| / N ≤ tr|ω − ω̃| / N.
//! - min/max eigenvalues of ω_t and ω̃_t.
//! - per axis i: tr|[x_i, ω_t]| and tr|[x_i, ω̃_t]| with minimal-image separations on a torus
//!   (`dense::separation_table`), and the density of eq. 1.9 for ω̃_t,
//!   ρ_|[x_i, ω̃]|(x_a) = |[x_i, ω̃]|(x_a; x_a) = |C|_aa / h^d (the kernel of the operator at the
//!   diagonal, no 1/N: its L¹ norm is tr|[x_i, ω̃]|, as in eq. 1.13), with its L¹ and L^p norms
//!   (Σ_a |ρ(x_a)|^p h^d)^(1/p); each also divided by Nε (eq. 1.11 bounds them by C Nε).
//! - the bracket 1 + Σ_(i=1..4) ε^i ‖f_t‖_(H^(i+2)_4) of eq. 1.12 from the downloaded f (f64,
//!   spectral derivatives; optional, slow beyond d = 1).
//! - the energies per particle of both sides (they drift alike).

pub mod dense;
pub mod job;
pub mod lanczos;

use anyhow::{bail, Result};
use num_complex::Complex64;
use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::field::Elem;
use crate::hartree::solver::Hartree;
use crate::hartree::spectrum::MAX_ROWS;
use crate::hartree::{HartreeGrid, HartreePhysics};
use crate::kernels::{Advection, MatMul, MatrixKernels, MomentumAxes, QuantizeKernels};
use crate::tracenorm::{
    default_tolerance, newton_schulz_sign, SignWork, TraceNormMethod, TraceNormResult,
};
use crate::vlasov::norms::sobolev_norms;
use crate::vlasov::{Numerics, Physics, Vlasov};
use crate::wigner::{PhaseGridSpec, Wigner};

/// What a comparison needs of a backend.
pub trait CompareBackend: Backend + MatrixKernels + Advection + QuantizeKernels + MatMul {}
impl<B: Backend + MatrixKernels + Advection + QuantizeKernels + MatMul> CompareBackend for B {}

/// Newton–Schulz steps allowed per trace norm unless the config says otherwise.
pub const DEFAULT_MAX_ITER: usize = 100;

/// Relative residual bound at which the Lanczos iteration for min/max eig stops, and its step
/// limit (`lanczos::extreme_eigenvalues`; host f64 on the downloaded matrix, so the same for
/// either backend).
pub const LANCZOS_TOLERANCE: f64 = 1e-10;
pub const LANCZOS_MAX_STEPS: usize = 500;

/// The trace-norm path (`[diagnostics] trace_norm`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TraceNormChoice {
    /// Exact up to `spectrum::MAX_ROWS` rows, Newton–Schulz above.
    #[default]
    Auto,
    /// Dense f64 eigen-decompositions on the host.
    Exact,
    /// Newton–Schulz and Lanczos iterations, no eigen-decomposition.
    NewtonSchulz,
}

impl TraceNormChoice {
    /// The path for matrices of `points` rows; exact above `MAX_ROWS` is refused.
    pub fn resolve(self, points: usize) -> Result<TraceNormMethod> {
        Ok(match self {
            Self::Exact if points > MAX_ROWS => bail!(
                "diagnostics.trace_norm = \"exact\" needs dense eigen-decompositions of {points} \
                 rows, at most {MAX_ROWS}: set trace_norm = \"newton-schulz\" (or \"auto\") or \
                 lower grid.n"
            ),
            Self::Exact => TraceNormMethod::Exact,
            Self::Auto if points <= MAX_ROWS => TraceNormMethod::Exact,
            Self::Auto | Self::NewtonSchulz => TraceNormMethod::NewtonSchulz,
        })
    }
}

/// Which measurements to take at an output time. The trace norm, the Hilbert–Schmidt norm and
/// ‖ρ − ρ̃‖_L1 are always taken.
#[derive(Clone, Debug)]
pub struct MeasureOptions {
    /// min/max eigenvalues of ω_t and ω̃_t (two more eigensolves).
    pub spectra: bool,
    /// Commutator trace norms and the densities of |[x_i, ω̃]| (2d more eigensolves).
    pub commutators: bool,
    /// The exponents p of the L^p norms of ρ_|[x_i, ω̃]|.
    pub p_values: Vec<f64>,
    /// The Sobolev bracket of eq. 1.12.
    pub sobolev: bool,
    /// The energies of both sides.
    pub energies: bool,
    /// The trace-norm path.
    pub trace_norm: TraceNormChoice,
    /// Relative tolerance of the Newton–Schulz iterations (None: `default_tolerance` of the
    /// backend, 1e-6 in f32, 1e-12 in f64).
    pub tolerance: Option<f64>,
    /// Newton–Schulz steps allowed per trace norm.
    pub max_iter: usize,
    /// A line on stderr after each eigensolve or iteration (for large matrices, where one
    /// output takes minutes).
    pub progress: bool,
}

impl Default for MeasureOptions {
    fn default() -> Self {
        Self {
            spectra: true,
            commutators: true,
            p_values: vec![5.5, 6.0, 8.0],
            sobolev: false,
            energies: true,
            trace_norm: TraceNormChoice::Auto,
            tolerance: None,
            max_iter: DEFAULT_MAX_ITER,
            progress: false,
        }
    }
}

/// Counts the expensive pieces of one measurement and reports each when asked.
struct Stages {
    on: bool,
    started: std::time::Instant,
    done: usize,
    total: usize,
}

impl Stages {
    /// One trace norm of ω − ω̃, two spectra, two commutators per axis.
    fn new(opts: &MeasureOptions, dim: usize) -> Self {
        Self {
            on: opts.progress,
            started: std::time::Instant::now(),
            done: 0,
            total: 1 + 2 * opts.spectra as usize + 2 * dim * opts.commutators as usize,
        }
    }

    fn finished(&mut self, what: &str) {
        self.done += 1;
        if self.on {
            eprintln!(
                "    measuring: {}/{} {what} ({:.1} s)",
                self.done,
                self.total,
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}

/// How the iterative path fared at one output (all zero on the exact path).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct IterationReport {
    /// The path taken.
    pub method: TraceNormMethod,
    /// Newton–Schulz runs (1, plus 2 per axis with the commutators), the most steps one took,
    /// the largest last relative change of its trace estimate, and the tolerance it stopped on.
    pub newton_schulz_runs: usize,
    pub newton_schulz_steps: usize,
    pub newton_schulz_residual: f64,
    pub newton_schulz_tolerance: f64,
    /// Lanczos: the most steps and the largest relative residual bound of the two spectra.
    pub lanczos_steps: usize,
    pub lanczos_residual: f64,
    /// Whether every iteration reached its tolerance.
    pub converged: bool,
}

impl IterationReport {
    fn new(method: TraceNormMethod) -> Self {
        Self {
            method,
            newton_schulz_runs: 0,
            newton_schulz_steps: 0,
            newton_schulz_residual: 0.0,
            newton_schulz_tolerance: 0.0,
            lanczos_steps: 0,
            lanczos_residual: 0.0,
            converged: true,
        }
    }

    fn add_newton_schulz(&mut self, r: &TraceNormResult) {
        self.newton_schulz_runs += 1;
        self.newton_schulz_steps = self.newton_schulz_steps.max(r.iterations);
        self.newton_schulz_residual = self.newton_schulz_residual.max(r.residual);
        self.newton_schulz_tolerance = r.tolerance;
        self.converged &= r.converged;
    }

    /// The worst of two reports (for a whole run).
    pub fn merge(&mut self, other: &IterationReport) {
        self.newton_schulz_runs += other.newton_schulz_runs;
        self.newton_schulz_steps = self.newton_schulz_steps.max(other.newton_schulz_steps);
        self.newton_schulz_residual = self
            .newton_schulz_residual
            .max(other.newton_schulz_residual);
        self.newton_schulz_tolerance = self
            .newton_schulz_tolerance
            .max(other.newton_schulz_tolerance);
        self.lanczos_steps = self.lanczos_steps.max(other.lanczos_steps);
        self.lanczos_residual = self.lanczos_residual.max(other.lanczos_residual);
        self.converged &= other.converged;
    }

    fn add_lanczos(&mut self, r: &lanczos::ExtremeEigen) {
        self.lanczos_steps = self.lanczos_steps.max(r.steps);
        self.lanczos_residual = self.lanczos_residual.max(r.residual);
        self.converged &= r.converged;
    }
}

/// The commutator quantities of one axis (NaN when not measured).
#[derive(Clone, Debug, PartialEq)]
pub struct AxisBounds {
    /// tr|[x_i, ω_t]|.
    pub comm: f64,
    /// tr|[x_i, ω̃_t]|.
    pub comm_tilde: f64,
    /// ‖ρ_|[x_i, ω̃_t]|‖_L1 (equal to `comm_tilde` up to round-off: a consistency check).
    pub rho_l1: f64,
    /// ‖ρ_|[x_i, ω̃_t]|‖_(L^p) for each p of `MeasureOptions::p_values`.
    pub rho_lp: Vec<f64>,
}

/// One row of compare.csv.
#[derive(Clone, Debug, PartialEq)]
pub struct CompareRow {
    pub t: f64,
    /// N and ε of the run (for the scaled columns).
    pub particles: f64,
    pub epsilon: f64,
    /// tr|ω_t − ω̃_t|.
    pub trace_norm: f64,
    /// ‖ω_t − ω̃_t‖_HS.
    pub hs_norm: f64,
    /// ‖ρ_t − ρ̃_t‖_L1 (ρ̃ = diag(Ã)/(N h^d)).
    pub rho_l1: f64,
    pub min_eig: f64,
    pub max_eig: f64,
    pub min_eig_tilde: f64,
    pub max_eig_tilde: f64,
    pub axes: Vec<AxisBounds>,
    /// ‖f_t‖_(H^s_4) for s = 3, 4, 5, 6 (NaN when not measured).
    pub sobolev: [f64; 4],
    /// 1 + Σ_(i=1..4) ε^i ‖f_t‖_(H^(i+2)_4).
    pub sobolev_bracket: f64,
    /// Energy per particle of the Hartree state and of the Vlasov state.
    pub hartree_energy: f64,
    pub vlasov_energy: f64,
    /// tr A / N and ∫∫ f.
    pub hartree_trace: f64,
    pub vlasov_mass: f64,
    /// How the measurement was made (not a CSV column).
    pub iterations: IterationReport,
}

impl CompareRow {
    pub fn trace_norm_over_n(&self) -> f64 {
        self.trace_norm / self.particles
    }
    pub fn over_n_eps(&self, v: f64) -> f64 {
        v / (self.particles * self.epsilon)
    }

    /// Column names, in the order of `row`.
    pub fn columns(dim: usize, p_values: &[f64]) -> Vec<String> {
        let mut c: Vec<String> = [
            "t",
            "trace_norm",
            "trace_norm_over_n",
            "trace_norm_over_n_eps",
            "hs_norm",
            "hs_norm_over_n",
            "rho_l1",
            "min_eig",
            "max_eig",
            "min_eig_tilde",
            "max_eig_tilde",
        ]
        .map(String::from)
        .to_vec();
        for i in 0..dim {
            let mut names = vec![
                format!("comm_x{i}"),
                format!("comm_x{i}_tilde"),
                format!("rho_comm_x{i}_l1"),
            ];
            names.extend(p_values.iter().map(|p| format!("rho_comm_x{i}_l{p}")));
            for name in names {
                c.push(name.clone());
                c.push(format!("{name}_over_n_eps"));
            }
        }
        for s in 3..=6 {
            c.push(format!("sobolev_h{s}_4"));
        }
        c.extend(
            [
                "sobolev_bracket",
                "hartree_trace",
                "vlasov_mass",
                "hartree_energy",
                "vlasov_energy",
            ]
            .map(String::from),
        );
        c
    }

    pub fn row(&self) -> Vec<f64> {
        let mut r = vec![
            self.t,
            self.trace_norm,
            self.trace_norm_over_n(),
            self.over_n_eps(self.trace_norm),
            self.hs_norm,
            self.hs_norm / self.particles,
            self.rho_l1,
            self.min_eig,
            self.max_eig,
            self.min_eig_tilde,
            self.max_eig_tilde,
        ];
        for ax in &self.axes {
            let mut values = vec![ax.comm, ax.comm_tilde, ax.rho_l1];
            values.extend(&ax.rho_lp);
            for v in values {
                r.push(v);
                r.push(self.over_n_eps(v));
            }
        }
        r.extend(self.sobolev);
        r.extend([
            self.sobolev_bracket,
            self.hartree_trace,
            self.vlasov_mass,
            self.hartree_energy,
            self.vlasov_energy,
        ]);
        r
    }
}

/// The momentum statistics of the Vlasov state per axis: ∫∫f, the mean momentum and the
/// spread (second central moment)^½ (docs/design.md section 2's resolution check reads these from
/// W_0).
#[derive(Clone, Debug, PartialEq)]
pub struct MomentumSpread {
    pub mass: f64,
    pub mean: Vec<f64>,
    pub spread: Vec<f64>,
}

/// `MomentumSpread` of f from device reductions, so that nothing of the size of f (4 GiB at
/// d = 3, n = 16) comes to the host: one `phase_sums` per axis with the other momentum axes
/// set to p = 0, so that Σ f |p|² is Σ f p_i².
pub fn momentum_spread<B: Advection>(
    backend: &B,
    f: &B::Field,
    axes: &MomentumAxes,
    cell: f64,
) -> Result<MomentumSpread> {
    let d = axes.n.len();
    let (mut mass, mut mean, mut spread) = (0.0, vec![0.0; d], vec![0.0; d]);
    for i in 0..d {
        let mut one = axes.clone();
        for j in (0..d).filter(|&j| j != i) {
            one.p_min[j] = 0.0;
            one.dp[j] = 0.0;
        }
        let s = backend.phase_sums(f, &one)?;
        mass = s.sum;
        mean[i] = s.momentum[i] / s.sum;
        spread[i] = (s.p_sq / s.sum - mean[i] * mean[i]).max(0.0).sqrt();
    }
    Ok(MomentumSpread {
        mass: mass * cell,
        mean,
        spread,
    })
}

/// Hartree and Vlasov on one backend, on matching grids.
pub struct Comparison<B: CompareBackend> {
    pub hartree: Hartree<B>,
    pub vlasov: Vlasov<B>,
    pub wigner: Wigner<B>,
    pub spec: PhaseGridSpec,
    /// Ã = Weyl(f), complex of the matrix shape.
    a_tilde: B::Field,
    /// Separation tables per axis (built on first use).
    separations: Vec<Vec<f64>>,
    /// The Newton–Schulz path's device work (allocated on first use).
    iterative: Option<IterativeWork<B>>,
}

/// The device fields of the Newton–Schulz path: D = A − Ã or a commutator, the three work
/// matrices of the iteration, the separation line of each axis (2n values) and a diagonal.
struct IterativeWork<B: Backend> {
    matrix: B::Field,
    sign: SignWork<B>,
    lines: Vec<B::Field>,
    diagonal: B::Field,
}

/// The quantities of a row that the two paths compute differently.
struct MatrixMeasures {
    trace_norm: f64,
    hs_norm: f64,
    rho_l1: f64,
    /// min/max eig of ω and of ω̃.
    spectra: [f64; 4],
    axes: Vec<AxisBounds>,
    hartree_trace: f64,
    iterations: IterationReport,
}

/// The L¹ and L^p norms of the density ρ_|[x_i, ω̃]| (one piece for both paths).
fn density_norms(rho: &[f64], cell: f64, p_values: &[f64]) -> (f64, Vec<f64>) {
    (
        dense::lp_norm(rho, cell, 1.0),
        p_values
            .iter()
            .map(|&p| dense::lp_norm(rho, cell, p))
            .collect(),
    )
}

/// The Vlasov physics of a Hartree run: m, κ, γ and the boundary. An external potential or
/// the exchange term have no counterpart in the Vlasov solver and are refused.
pub fn vlasov_physics(physics: &HartreePhysics) -> Result<Physics> {
    if physics.external.is_some() {
        bail!(
            "physics.external: the Vlasov solver has no external potential, so the comparison \
             would pit two different Hamiltonians against each other; remove it"
        );
    }
    if physics.exchange {
        bail!(
            "physics.exchange: the Vlasov side has no exchange term (it vanishes in the \
             classical limit, but the comparison of this program is Hartree against \
             Vlasov–Poisson); switch it off"
        );
    }
    Ok(Physics {
        dim: physics.dim,
        mass: physics.mass,
        kappa: physics.kappa,
        gamma: physics.gamma,
        boundary: physics.boundary,
    })
}

impl<B: CompareBackend> Comparison<B> {
    pub fn new(
        backend: &B,
        physics: &HartreePhysics,
        n: usize,
        length: f64,
        numerics: &Numerics,
    ) -> Result<Self> {
        physics.validate()?;
        let vphysics = vlasov_physics(physics)?;
        let grid = HartreeGrid::new(physics.dim, n, length, physics.boundary)?;
        let spec = PhaseGridSpec::new(&grid, physics.epsilon, physics.particles())?;
        let wigner = Wigner::new(backend, &spec)?;
        let hartree = Hartree::new(backend, physics, n, length)?;
        let vlasov = Vlasov::new(backend, &vphysics, &spec.vlasov_grid(), numerics)?;
        Ok(Self {
            a_tilde: backend.zeros(&spec.matrix_shape(), Elem::Complex)?,
            hartree,
            vlasov,
            wigner,
            spec,
            separations: Vec::new(),
            iterative: None,
        })
    }

    pub fn grid(&self) -> &HartreeGrid {
        &self.hartree.grid
    }

    /// Hartree from `a0` (A_ab = h^d ω_0(x_a; x_b), host values) and Vlasov from
    /// W_0 = Wigner_s(A).
    pub fn start(&mut self, backend: &B, a0: &[Complex64]) -> Result<()> {
        self.hartree.set_matrix(backend, a0)?;
        self.wigner
            .wigner(backend, &self.hartree.a, &mut self.vlasov.f)?;
        self.vlasov.solve_field(backend)?;
        self.hartree.time = 0.0;
        self.vlasov.time = 0.0;
        Ok(())
    }

    /// Replaces the Vlasov datum (host values on the phase grid): for tests of other data.
    pub fn set_vlasov(&mut self, backend: &B, f: &[f64]) -> Result<()> {
        self.vlasov.set_f(backend, f)
    }

    /// `steps` steps of τ on both sides (the Hartree kinetic and the Vlasov drift half steps
    /// merged between them).
    pub fn advance(&mut self, backend: &B, tau: f64, steps: usize) -> Result<()> {
        self.hartree.advance(backend, tau, steps)?;
        self.vlasov.advance(backend, tau, steps)
    }

    /// The Weyl quantization Ã of the current Vlasov state, downloaded (Hermitian part).
    pub fn weyl_matrix(&mut self, backend: &B) -> Result<Vec<Complex64>> {
        self.wigner
            .weyl(backend, &self.vlasov.f, &mut self.a_tilde)?;
        let a = backend.download_complex(&self.a_tilde)?;
        Ok(dense::hermitian_part(self.grid().points(), &a))
    }

    /// The Hartree matrix A, downloaded (Hermitian part).
    pub fn hartree_matrix(&self, backend: &B) -> Result<Vec<Complex64>> {
        let a = backend.download_complex(&self.hartree.a)?;
        Ok(dense::hermitian_part(self.grid().points(), &a))
    }

    /// Every quantity of `CompareRow` now.
    pub fn measure(&mut self, backend: &B, opts: &MeasureOptions) -> Result<CompareRow> {
        let grid = self.grid().clone();
        let n_particles = self.hartree.physics.particles();
        let eps = self.hartree.physics.epsilon;
        let nan = f64::NAN;
        let m = match opts.trace_norm.resolve(grid.points())? {
            TraceNormMethod::Exact => self.measure_exact(backend, opts)?,
            TraceNormMethod::NewtonSchulz => self.measure_newton_schulz(backend, opts)?,
        };
        let axes = if opts.commutators {
            m.axes
        } else {
            (0..grid.dim)
                .map(|_| AxisBounds {
                    comm: nan,
                    comm_tilde: nan,
                    rho_l1: nan,
                    rho_lp: vec![nan; opts.p_values.len()],
                })
                .collect()
        };
        let [min_eig, max_eig, min_eig_tilde, max_eig_tilde] = m.spectra;
        let (mut sobolev, mut sobolev_bracket) = ([nan; 4], nan);
        if opts.sobolev {
            let f = backend.download_real(&self.vlasov.f)?;
            let s = sobolev_norms(&self.vlasov.grid, &f, &[3, 4, 5, 6], 4)?;
            sobolev.copy_from_slice(&s);
            sobolev_bracket = 1.0
                + (1..=4)
                    .map(|i| eps.powi(i) * s[i as usize - 1])
                    .sum::<f64>();
        }
        let (mut hartree_energy, mut vlasov_energy, mut vlasov_mass) = (nan, nan, nan);
        if opts.energies {
            let h = crate::hartree::solver::measure(&mut self.hartree, backend, false)?;
            hartree_energy = h.total;
            let v = crate::vlasov::diagnostics::measure(&mut self.vlasov, backend, None)?;
            vlasov_energy = v.total;
            vlasov_mass = v.mass;
        }
        Ok(CompareRow {
            t: self.hartree.time,
            particles: n_particles,
            epsilon: eps,
            trace_norm: m.trace_norm,
            hs_norm: m.hs_norm,
            rho_l1: m.rho_l1,
            min_eig,
            max_eig,
            min_eig_tilde,
            max_eig_tilde,
            axes,
            sobolev,
            sobolev_bracket,
            hartree_energy,
            vlasov_energy,
            hartree_trace: m.hartree_trace,
            vlasov_mass,
            iterations: m.iterations,
        })
    }

    /// The exact path: A and Ã downloaded, dense f64 eigen-decompositions on the host.
    fn measure_exact(&mut self, backend: &B, opts: &MeasureOptions) -> Result<MatrixMeasures> {
        let grid = self.grid().clone();
        let points = grid.points();
        let n_particles = self.hartree.physics.particles();
        let a = self.hartree_matrix(backend)?;
        let at = self.weyl_matrix(backend)?;
        let mut stages = Stages::new(opts, grid.dim);
        let diff: Vec<Complex64> = a.iter().zip(&at).map(|(x, y)| x - y).collect();
        let (trace_norm, _) = dense::trace_norm_and_spectrum(points, &diff)?;
        stages.finished("tr|ω − ω~|");
        let hs_norm = crate::hartree::spectrum::hilbert_schmidt(&diff);
        let rho_l1 = (0..points)
            .map(|i| diff[i * points + i].re.abs())
            .sum::<f64>()
            / n_particles;
        drop(diff);
        let mut spectra = [f64::NAN; 4];
        if opts.spectra {
            let e = crate::hartree::spectrum::hermitian_eigenvalues(points, &a)?;
            (spectra[0], spectra[1]) = (e[0], e[points - 1]);
            stages.finished("spectrum of ω");
            let e = crate::hartree::spectrum::hermitian_eigenvalues(points, &at)?;
            (spectra[2], spectra[3]) = (e[0], e[points - 1]);
            stages.finished("spectrum of ω~");
        }
        let mut axes = Vec::new();
        if opts.commutators {
            if self.separations.is_empty() {
                self.separations = (0..grid.dim)
                    .map(|i| dense::separation_table(&grid, self.hartree.physics.boundary, i))
                    .collect();
            }
            let cell = grid.cell();
            for (i, sep) in self.separations.iter().enumerate() {
                let c = dense::commutator(sep, &a);
                let (comm, _) = dense::trace_norm_and_spectrum(points, &c)?;
                stages.finished(&format!("tr|[x{i}, ω]|"));
                let (comm_tilde, rho) = dense::commutator_density(sep, &at, points, cell)?;
                stages.finished(&format!("tr|[x{i}, ω~]| and its density"));
                let (rho_l1, rho_lp) = density_norms(&rho, cell, &opts.p_values);
                axes.push(AxisBounds {
                    comm,
                    comm_tilde,
                    rho_l1,
                    rho_lp,
                });
            }
        }
        Ok(MatrixMeasures {
            trace_norm,
            hs_norm,
            rho_l1,
            spectra,
            axes,
            hartree_trace: (0..points).map(|i| a[i * points + i].re).sum::<f64>() / n_particles,
            iterations: IterationReport::new(TraceNormMethod::Exact),
        })
    }

    /// The Newton–Schulz path: no eigen-decomposition; matrices stay on the backend except
    /// for the Lanczos spectra (one host copy at a time).
    fn measure_newton_schulz(
        &mut self,
        backend: &B,
        opts: &MeasureOptions,
    ) -> Result<MatrixMeasures> {
        let grid = self.grid().clone();
        let n_particles = self.hartree.physics.particles();
        let tol = opts
            .tolerance
            .unwrap_or_else(|| default_tolerance(backend.real_bytes()));
        let max_iter = opts.max_iter;
        let mut report = IterationReport::new(TraceNormMethod::NewtonSchulz);
        let mut work = match self.iterative.take() {
            Some(w) => w,
            None => {
                let shape = self.spec.matrix_shape();
                let line = dense::separation_line(&grid, self.hartree.physics.boundary);
                let mut lines = Vec::new();
                for _ in 0..grid.dim {
                    let mut f = backend.zeros(&[line.len()], Elem::Real)?;
                    backend.upload_real(&mut f, &line)?;
                    lines.push(f);
                }
                IterativeWork {
                    matrix: backend.zeros(&shape, Elem::Complex)?,
                    sign: SignWork::new(backend, &shape)?,
                    lines,
                    diagonal: backend.zeros(&grid.x_shape(), Elem::Real)?,
                }
            }
        };
        let one = Complex64::new(1.0, 0.0);
        let zero = Complex64::new(0.0, 0.0);
        self.wigner
            .weyl(backend, &self.vlasov.f, &mut self.a_tilde)?;
        let a = &self.hartree.a;
        let at = &self.a_tilde;

        // D = A − Ã: ‖D‖_HS, its diagonal, tr|D|.
        backend.copy(a, &mut work.matrix)?;
        backend.axpy(-one, at, &mut work.matrix)?;
        // The Hermitian part, as the exact path's downloads (at t = 0 D is round-off and as far
        // from Hermitian as it is large).
        backend.hermitise(&mut work.matrix)?;
        let hs_norm = backend.reduce(&work.matrix)?.sum_sq.sqrt();
        backend.diagonal(&work.matrix, &mut work.diagonal)?;
        let rho_l1 = backend
            .download_real(&work.diagonal)?
            .iter()
            .map(|v| v.abs())
            .sum::<f64>()
            / n_particles;
        let mut stages = Stages::new(opts, grid.dim);
        let r = newton_schulz_sign(backend, &work.matrix, tol, max_iter, &mut work.sign)?;
        report.add_newton_schulz(&r);
        let trace_norm = r.value;
        stages.finished("tr|ω − ω~|");
        backend.diagonal(a, &mut work.diagonal)?;
        let hartree_trace =
            backend.download_real(&work.diagonal)?.iter().sum::<f64>() / n_particles;

        let mut axes = Vec::new();
        if opts.commutators {
            let cell = grid.cell();
            for (i, line) in work.lines.iter().enumerate() {
                backend.copy(a, &mut work.matrix)?;
                backend.position_commutator(&mut work.matrix, line, i)?;
                backend.hermitise(&mut work.matrix)?;
                let r = newton_schulz_sign(backend, &work.matrix, tol, max_iter, &mut work.sign)?;
                report.add_newton_schulz(&r);
                let comm = r.value;
                stages.finished(&format!("tr|[x{i}, ω]|"));
                backend.copy(at, &mut work.matrix)?;
                backend.position_commutator(&mut work.matrix, line, i)?;
                backend.hermitise(&mut work.matrix)?;
                let r = newton_schulz_sign(backend, &work.matrix, tol, max_iter, &mut work.sign)?;
                report.add_newton_schulz(&r);
                // |C| = C·sign(C): its diagonal is the density of eq. 1.9 times h^d.
                let SignWork { x, y, .. } = &mut work.sign;
                backend.matmul(&work.matrix, x, y, one, zero)?;
                backend.diagonal(y, &mut work.diagonal)?;
                let rho: Vec<f64> = backend
                    .download_real(&work.diagonal)?
                    .iter()
                    .map(|v| v / cell)
                    .collect();
                let (rho_l1, rho_lp) = density_norms(&rho, cell, &opts.p_values);
                stages.finished(&format!("tr|[x{i}, ω~]| and its density"));
                axes.push(AxisBounds {
                    comm,
                    comm_tilde: r.value,
                    rho_l1,
                    rho_lp,
                });
            }
        }
        self.iterative = Some(work);

        let mut spectra = [f64::NAN; 4];
        if opts.spectra {
            let points = grid.points();
            for (k, m) in [&self.hartree.a, &self.a_tilde].into_iter().enumerate() {
                let mut host = backend.download_complex(m)?;
                crate::kernels::hermitise(points, &mut host);
                let e = lanczos::extreme_eigenvalues(
                    points,
                    &host,
                    LANCZOS_TOLERANCE,
                    LANCZOS_MAX_STEPS,
                )?;
                report.add_lanczos(&e);
                (spectra[2 * k], spectra[2 * k + 1]) = (e.min, e.max);
                stages.finished(if k == 0 {
                    "spectrum of ω"
                } else {
                    "spectrum of ω~"
                });
            }
        }
        Ok(MatrixMeasures {
            trace_norm,
            hs_norm,
            rho_l1,
            spectra,
            axes,
            hartree_trace,
            iterations: report,
        })
    }
}
