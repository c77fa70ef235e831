//! The Hartree Strang step on either backend (see the module doc of `hartree`).

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use super::exchange::Exchange;
use super::grid::{HartreeGrid, HartreePhysics};
use super::thermal::external_potential;
use crate::backend::{Backend, FftDirection};
use crate::field::Elem;
use crate::kernels::MatrixKernels;
use crate::poisson::{Boundary, Poisson, PoissonSpec};

/// Time splitting of one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum HartreeSplitting {
    /// Kinetic half step, potential step, kinetic half step.
    #[default]
    Strang,
}

pub struct Hartree<B: Backend + MatrixKernels> {
    pub grid: HartreeGrid,
    pub physics: HartreePhysics,
    /// A_ab = h^d ω(x_a; x_b), shape [n; d] ++ [n; d].
    pub a: B::Field,
    /// |k|² over the Fourier indices of the points.
    k_squared: B::Field,
    /// The external potential over the points (zeros when there is none).
    external: B::Field,
    rho: B::Field,
    potential: B::Field,
    /// U + V_ext.
    total_potential: B::Field,
    poisson: Poisson<B>,
    /// The Hartree–Fock exchange operator (when `physics.exchange`): the potential step then
    /// runs through `exchange::Exchange::potential_step` on the host.
    exchange: Option<Exchange>,
    pub time: f64,
}

/// A → F A F† with F the unitary DFT: forward over the row axes, normalised inverse over the
/// column axes (an operator of dimension d has 2d axes).
pub fn to_fourier<B: Backend>(backend: &B, a: &mut B::Field, d: usize) -> Result<()> {
    backend.fft(a, &(0..d).collect::<Vec<_>>(), FftDirection::Forward)?;
    backend.fft(a, &(d..2 * d).collect::<Vec<_>>(), FftDirection::Inverse)
}

/// The inverse of `to_fourier`.
pub fn from_fourier<B: Backend>(backend: &B, a: &mut B::Field, d: usize) -> Result<()> {
    backend.fft(a, &(0..d).collect::<Vec<_>>(), FftDirection::Inverse)?;
    backend.fft(a, &(d..2 * d).collect::<Vec<_>>(), FftDirection::Forward)
}

impl<B: Backend + MatrixKernels> Hartree<B> {
    pub fn new(backend: &B, physics: &HartreePhysics, n: usize, length: f64) -> Result<Self> {
        physics.validate()?;
        let grid = HartreeGrid::new(physics.dim, n, length, physics.boundary)?;
        let exchange = if physics.exchange {
            Some(Exchange::new(&grid, physics)?)
        } else {
            None
        };
        let points = grid.points();
        if (points as u64).pow(2) > u32::MAX as u64 {
            bail!("an operator on {points} points exceeds the 2^32 elements the kernels index");
        }
        let xs = grid.x_shape();
        let real = |values: &[f64]| -> Result<B::Field> {
            let mut f = backend.zeros(&xs, Elem::Real)?;
            backend.upload_real(&mut f, values)?;
            Ok(f)
        };
        let k2: Vec<f64> = (0..points).map(|q| grid.k_squared(q)).collect();
        let spec = PoissonSpec {
            shape: xs.clone(),
            lengths: vec![length; grid.dim],
            kappa: physics.kappa,
            gamma: physics.gamma,
            boundary: physics.boundary,
        };
        Ok(Self {
            a: backend.zeros(&grid.matrix_shape(), Elem::Complex)?,
            k_squared: real(&k2)?,
            external: real(&external_potential(&grid, physics))?,
            rho: backend.zeros(&xs, Elem::Real)?,
            potential: backend.zeros(&xs, Elem::Real)?,
            total_potential: backend.zeros(&xs, Elem::Real)?,
            poisson: Poisson::new(backend, &spec)?,
            exchange,
            grid,
            physics: physics.clone(),
            time: 0.0,
        })
    }

    /// Loads A from host values (row-major over `grid.matrix_shape()`) and solves for U.
    pub fn set_matrix(&mut self, backend: &B, values: &[num_complex::Complex64]) -> Result<()> {
        backend.upload_complex(&mut self.a, values)?;
        self.solve_field(backend)
    }

    /// ρ = diag(A)/(N h^d), U = γ G * ρ, and U + V_ext.
    pub fn solve_field(&mut self, backend: &B) -> Result<()> {
        backend.diagonal(&self.a, &mut self.rho)?;
        let scale = 1.0 / (self.physics.particles() * self.grid.cell());
        backend.scale(&mut self.rho, num_complex::Complex64::new(scale, 0.0))?;
        self.poisson
            .solve(backend, &self.rho, &mut self.potential, &mut [])?;
        backend.copy(&self.potential, &mut self.total_potential)?;
        backend.axpy(
            num_complex::Complex64::new(1.0, 0.0),
            &self.external,
            &mut self.total_potential,
        )
    }

    fn kinetic(&mut self, backend: &B, tau: f64) -> Result<()> {
        let d = self.grid.dim;
        to_fourier(backend, &mut self.a, d)?;
        let scale = tau * self.physics.epsilon / (2.0 * self.physics.mass);
        backend.conjugation_phase(&mut self.a, &self.k_squared, scale)?;
        from_fourier(backend, &mut self.a, d)
    }

    fn potential_step(&mut self, backend: &B, tau: f64) -> Result<()> {
        if let Some(x) = &self.exchange {
            let scale = tau / self.physics.epsilon;
            return x.potential_step(backend, &mut self.a, &self.external, scale);
        }
        backend.conjugation_phase(
            &mut self.a,
            &self.total_potential,
            tau / self.physics.epsilon,
        )
    }

    /// One Strang step: kinetic half step, field, potential step, kinetic half step.
    pub fn step(&mut self, backend: &B, tau: f64) -> Result<()> {
        self.kinetic(backend, tau / 2.0)?;
        self.solve_field(backend)?;
        self.potential_step(backend, tau)?;
        self.kinetic(backend, tau / 2.0)?;
        self.time += tau;
        Ok(())
    }

    /// `steps` Strang steps with the kinetic half steps between them merged into whole ones:
    /// the same result as calling `step` that often, with half the FFTs (so half the f32
    /// round-off on the GPU).
    pub fn advance(&mut self, backend: &B, tau: f64, steps: usize) -> Result<()> {
        if steps == 0 {
            return Ok(());
        }
        self.kinetic(backend, tau / 2.0)?;
        for i in 0..steps {
            self.solve_field(backend)?;
            self.potential_step(backend, tau)?;
            let last = i + 1 == steps;
            self.kinetic(backend, if last { tau / 2.0 } else { tau })?;
            self.time += tau;
        }
        Ok(())
    }

    pub fn rho(&self) -> &B::Field {
        &self.rho
    }
    pub fn potential(&self) -> &B::Field {
        &self.potential
    }
    pub fn external(&self) -> &B::Field {
        &self.external
    }
    pub fn k_squared(&self) -> &B::Field {
        &self.k_squared
    }
    /// The exchange operator, when the run has one (for its energy, `Exchange::energy`).
    pub fn exchange(&self) -> Option<&Exchange> {
        self.exchange.as_ref()
    }
}

/// What a Hartree run reports at one time (the columns of diagnostics.csv).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct HartreeDiagnostics {
    pub t: f64,
    /// tr A (= N).
    pub trace: f64,
    /// tr A² / N (1 for a pure fermionic state of N orbitals).
    pub purity: f64,
    /// tr(−(ε²/2m)Δ ω) / N.
    pub kinetic: f64,
    /// ½∫ρU + ∫ρV_ext (ρ normalised to ∫ρ = 1).
    pub potential: f64,
    /// −½ tr(Xω)/N with the Hartree–Fock exchange on (0 without).
    pub exchange: f64,
    pub total: f64,
    /// Smallest and largest eigenvalue of A (NaN where the spectrum is not computed).
    pub min_occupation: f64,
    pub max_occupation: f64,
}

impl HartreeDiagnostics {
    pub fn columns() -> Vec<String> {
        [
            "t",
            "trace",
            "purity",
            "kinetic_energy",
            "potential_energy",
            "exchange_energy",
            "total_energy",
            "min_occupation",
            "max_occupation",
        ]
        .map(String::from)
        .to_vec()
    }
    pub fn row(&self) -> Vec<f64> {
        vec![
            self.t,
            self.trace,
            self.purity,
            self.kinetic,
            self.potential,
            self.exchange,
            self.total,
            self.min_occupation,
            self.max_occupation,
        ]
    }
}

/// Measures the state now (solving for its field first). With `spectrum` the matrix is
/// downloaded and its eigenvalues computed densely on the host (f64; up to
/// `spectrum::MAX_ROWS` points).
pub fn measure<B: Backend + MatrixKernels>(
    solver: &mut Hartree<B>,
    backend: &B,
    spectrum: bool,
) -> Result<HartreeDiagnostics> {
    solver.solve_field(backend)?;
    let g = solver.grid.clone();
    let n_particles = solver.physics.particles();
    let points = g.points();
    let mut diag = backend.zeros(&g.x_shape(), Elem::Real)?;
    backend.diagonal(&solver.a, &mut diag)?;
    let d = backend.download_real(&diag)?;
    let trace: f64 = d.iter().sum();
    let stats = backend.reduce(&solver.a)?;
    // Momentum occupations: the diagonal of F A F†.
    let mut work = backend.zeros(&g.matrix_shape(), Elem::Complex)?;
    backend.copy(&solver.a, &mut work)?;
    to_fourier(backend, &mut work, g.dim)?;
    backend.diagonal(&work, &mut diag)?;
    let nq = backend.download_real(&diag)?;
    drop(work);
    let eps = solver.physics.epsilon;
    let kinetic: f64 = nq
        .iter()
        .enumerate()
        .map(|(q, n)| eps * eps * g.k_squared(q) / (2.0 * solver.physics.mass) * n)
        .sum::<f64>()
        / n_particles;
    let rho = backend.download_real(solver.rho())?;
    let u = backend.download_real(solver.potential())?;
    let v = backend.download_real(solver.external())?;
    let cell = g.cell();
    let rho_b = match solver.physics.boundary {
        Boundary::Periodic => rho.iter().sum::<f64>() / points as f64,
        Boundary::Isolated => 0.0,
    };
    let potential: f64 = (0..points)
        .map(|i| 0.5 * (rho[i] - rho_b) * u[i] + rho[i] * v[i])
        .sum::<f64>()
        * cell;
    let (min_occupation, max_occupation) = if spectrum {
        let a = backend.download_complex(&solver.a)?;
        // f32 storage leaves A Hermitian only to round-off: use its Hermitian part.
        let sym: Vec<num_complex::Complex64> = (0..points * points)
            .map(|k| 0.5 * (a[k] + a[(k % points) * points + k / points].conj()))
            .collect();
        let eig = super::spectrum::hermitian_eigenvalues(points, &sym)?;
        (eig[0], eig[points - 1])
    } else {
        (f64::NAN, f64::NAN)
    };
    let exchange = match solver.exchange() {
        Some(x) => x.energy(&backend.download_complex(&solver.a)?)?,
        None => 0.0,
    };
    Ok(HartreeDiagnostics {
        t: solver.time,
        trace,
        purity: stats.sum_sq / n_particles,
        kinetic,
        potential,
        exchange,
        total: kinetic + potential + exchange,
        min_occupation,
        max_occupation,
    })
}
