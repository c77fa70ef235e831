//! Where the two solvers meet (DESIGN.md sections 2 and 3): Hartree from ω_0, Vlasov from
//! W_0 = Wigner_s(ω_0) on the matching phase grid, both advanced with the same τ, and the
//! paper's quantities between them at each output time.
//!
//! - ω̃_t = Weyl(f_t), the torus Weyl quantization of the Vlasov solution (`wigner::Wigner`).
//! - tr|ω_t − ω̃_t| by dense Hermitian eigenvalues in f64 on the host (up to
//!   `spectrum::MAX_ROWS` points); GPU downloads (f32) are symmetrised first.
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

use anyhow::{bail, Result};
use num_complex::Complex64;

use crate::advect::{Advection, MomentumAxes};
use crate::backend::Backend;
use crate::field::Elem;
use crate::hartree::kernels::MatrixKernels;
use crate::hartree::solver::Hartree;
use crate::hartree::spectrum::MAX_ROWS;
use crate::hartree::{HartreeGrid, HartreePhysics};
use crate::vlasov::norms::sobolev_norms;
use crate::vlasov::{Numerics, Physics, Vlasov};
use crate::wigner::{PhaseGridSpec, QuantizeKernels, Wigner};

/// What a comparison needs of a backend.
pub trait CompareBackend: Backend + MatrixKernels + Advection + QuantizeKernels {}
impl<B: Backend + MatrixKernels + Advection + QuantizeKernels> CompareBackend for B {}

/// Which of the (dense, host-side) measurements to take at an output time. The trace norm,
/// the Hilbert–Schmidt norm and ‖ρ − ρ̃‖_L1 are always taken.
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
}

impl Default for MeasureOptions {
    fn default() -> Self {
        Self {
            spectra: true,
            commutators: true,
            p_values: vec![5.5, 6.0, 8.0],
            sobolev: false,
            energies: true,
        }
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
/// spread (second central moment)^½ (DESIGN.md section 2's resolution check reads these from
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

    /// `steps` steps of τ on both sides (Hartree with its kinetic half steps merged).
    pub fn advance(&mut self, backend: &B, tau: f64, steps: usize) -> Result<()> {
        self.hartree.advance(backend, tau, steps)?;
        for _ in 0..steps {
            self.vlasov.step(backend, tau)?;
        }
        Ok(())
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
        let points = self.grid().points();
        if points > MAX_ROWS {
            bail!(
                "the exact trace norm needs dense eigenvalues of {points} rows (at most {MAX_ROWS})"
            );
        }
        let grid = self.grid().clone();
        let n_particles = self.hartree.physics.particles();
        let eps = self.hartree.physics.epsilon;
        let a = self.hartree_matrix(backend)?;
        let at = self.weyl_matrix(backend)?;
        let diff: Vec<Complex64> = a.iter().zip(&at).map(|(x, y)| x - y).collect();
        let (trace_norm, _) = dense::trace_norm_and_spectrum(points, &diff)?;
        let hs_norm = crate::hartree::spectrum::hilbert_schmidt(&diff);
        let rho_l1 = (0..points)
            .map(|i| diff[i * points + i].re.abs())
            .sum::<f64>()
            / n_particles;
        drop(diff);
        let nan = f64::NAN;
        let (mut min_eig, mut max_eig, mut min_eig_tilde, mut max_eig_tilde) = (nan, nan, nan, nan);
        if opts.spectra {
            let e = crate::hartree::spectrum::hermitian_eigenvalues(points, &a)?;
            (min_eig, max_eig) = (e[0], e[points - 1]);
            let e = crate::hartree::spectrum::hermitian_eigenvalues(points, &at)?;
            (min_eig_tilde, max_eig_tilde) = (e[0], e[points - 1]);
        }
        let mut axes = Vec::new();
        if opts.commutators {
            if self.separations.is_empty() {
                self.separations = (0..grid.dim)
                    .map(|i| dense::separation_table(&grid, self.hartree.physics.boundary, i))
                    .collect();
            }
            let cell = grid.cell();
            for sep in &self.separations {
                let c = dense::commutator(sep, &a);
                let (comm, _) = dense::trace_norm_and_spectrum(points, &c)?;
                let (comm_tilde, rho) = dense::commutator_density(sep, &at, points, cell)?;
                axes.push(AxisBounds {
                    comm,
                    comm_tilde,
                    rho_l1: dense::lp_norm(&rho, cell, 1.0),
                    rho_lp: opts
                        .p_values
                        .iter()
                        .map(|&p| dense::lp_norm(&rho, cell, p))
                        .collect(),
                });
            }
        } else {
            axes = (0..grid.dim)
                .map(|_| AxisBounds {
                    comm: nan,
                    comm_tilde: nan,
                    rho_l1: nan,
                    rho_lp: vec![nan; opts.p_values.len()],
                })
                .collect();
        }
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
        let hartree_trace = (0..points).map(|i| a[i * points + i].re).sum::<f64>() / n_particles;
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
            trace_norm,
            hs_norm,
            rho_l1,
            min_eig,
            max_eig,
            min_eig_tilde,
            max_eig_tilde,
            axes,
            sobolev,
            sobolev_bracket,
            hartree_energy,
            vlasov_energy,
            hartree_trace,
            vlasov_mass,
        })
    }
}
