//! What a Vlasov run reports at each output time (the columns of diagnostics.csv).

use anyhow::Result;

use super::Vlasov;
use crate::backend::Backend;
use crate::kernels::Advection;
use crate::poisson::Boundary;

/// Fourier modes of U reported (m = 1 ..= U_MODES along x_0).
pub const U_MODES: usize = 4;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diagnostics {
    pub t: f64,
    /// ∫∫ f
    pub mass: f64,
    /// ∫∫ f p_i (d components)
    pub momentum: Vec<f64>,
    /// ∫∫ f |p|²/2m
    pub kinetic: f64,
    /// ½ ∫ (ρ − ρ_b) U
    pub potential: f64,
    pub total: f64,
    /// ∫∫ |f|
    pub l1: f64,
    /// (∫∫ f²)^½
    pub l2: f64,
    /// −∫∫ f ln f over f > 0
    pub entropy: f64,
    pub min_f: f64,
    pub max_f: f64,
    /// ½ ∫ |∇U|² (the electric energy of the plasma tests)
    pub field_energy: f64,
    /// Amplitude of cos(2π m x_0/L) in U averaged over the other axes, m = 1..=U_MODES.
    pub u_modes: [f64; U_MODES],
    /// Mass that has left the box (through the momentum boundary, and through the position
    /// boundary of isolated runs) since t = 0: initial mass − mass. The interior scheme
    /// conserves mass (Lagrange weights sum to 1), so this is the outflow up to round-off.
    pub mass_lost: f64,
}

impl Diagnostics {
    /// Column names, in the order of `row`.
    pub fn columns(dim: usize) -> Vec<String> {
        let mut c: Vec<String> = vec!["t".into(), "mass".into()];
        for i in 0..dim {
            c.push(format!("momentum_{i}"));
        }
        for name in [
            "kinetic_energy",
            "potential_energy",
            "total_energy",
            "l1",
            "l2",
            "entropy",
            "min_f",
            "max_f",
            "field_energy",
        ] {
            c.push(name.into());
        }
        for m in 1..=U_MODES {
            c.push(format!("u_mode_{m}"));
        }
        c.push("mass_lost".into());
        c
    }

    pub fn row(&self) -> Vec<f64> {
        let mut r = vec![self.t, self.mass];
        r.extend(&self.momentum);
        r.extend([
            self.kinetic,
            self.potential,
            self.total,
            self.l1,
            self.l2,
            self.entropy,
            self.min_f,
            self.max_f,
            self.field_energy,
        ]);
        r.extend(self.u_modes);
        r.push(self.mass_lost);
        r
    }
}

/// Measures the state now; solves for the field of the current f first. `initial_mass` is the
/// mass at t = 0 (None at t = 0 itself).
pub fn measure<B: Backend + Advection>(
    solver: &mut Vlasov<B>,
    backend: &B,
    initial_mass: Option<f64>,
) -> Result<Diagnostics> {
    solver.solve_field(backend)?;
    let g = solver.grid.clone();
    let d = g.dim;
    let dv = g.cell_volume();
    let hx = g.h.powi(d as i32);
    let sums = backend.phase_sums(&solver.f, &g.momentum_axes())?;
    let rho = backend.download_real(solver.rho())?;
    let u = backend.download_real(solver.potential())?;
    let mut grad_sq = 0.0;
    for f in solver.force() {
        grad_sq += backend.download_real(f)?.iter().map(|e| e * e).sum::<f64>();
    }
    let rho_b = match solver.physics.boundary {
        Boundary::Periodic => rho.iter().sum::<f64>() / rho.len() as f64,
        Boundary::Isolated => 0.0,
    };
    let potential = 0.5
        * hx
        * rho
            .iter()
            .zip(&u)
            .map(|(r, u)| (r - rho_b) * u)
            .sum::<f64>();
    let kinetic = sums.p_sq * dv / (2.0 * solver.physics.mass);
    let mass = sums.sum * dv;

    // U averaged over every axis but x_0, then its cosine amplitudes.
    let n = g.nx;
    let per = u.len() / n;
    let line: Vec<f64> = (0..n)
        .map(|i| u[i * per..(i + 1) * per].iter().sum::<f64>() / per as f64)
        .collect();
    let mut u_modes = [0.0; U_MODES];
    for (m, amp) in u_modes.iter_mut().enumerate() {
        let k = 2.0 * std::f64::consts::PI * (m + 1) as f64 / n as f64;
        let (c, s) = line.iter().enumerate().fold((0.0, 0.0), |(c, s), (j, v)| {
            (c + v * (k * j as f64).cos(), s + v * (k * j as f64).sin())
        });
        *amp = 2.0 * (c * c + s * s).sqrt() / n as f64;
    }

    Ok(Diagnostics {
        t: solver.time,
        mass,
        momentum: sums.momentum[..d].iter().map(|m| m * dv).collect(),
        kinetic,
        potential,
        total: kinetic + potential,
        l1: sums.abs_sum * dv,
        l2: (sums.sum_sq * dv).sqrt(),
        entropy: -sums.f_log_f * dv,
        min_f: sums.min,
        max_f: sums.max,
        field_energy: 0.5 * hx * grad_sq,
        u_modes,
        mass_lost: initial_mass.map_or(0.0, |m0| m0 - mass),
    })
}
