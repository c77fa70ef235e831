//! The position grid and the physical parameters of a Hartree run.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::poisson::{wave_number, Boundary};

/// Physical parameters (docs/design.md section 1).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HartreePhysics {
    /// Space dimension d (1, 2 or 3).
    pub dim: usize,
    /// Semiclassical parameter ε (ħ in these units).
    pub epsilon: f64,
    /// Particle number N = tr ω; default ε^(−d) (fermionic mean-field scaling).
    #[serde(default)]
    pub particles: Option<f64>,
    /// Mass m in h = −(ε²/2m)Δ + U (the paper's scaling is m = 1/2).
    #[serde(default = "one")]
    pub mass: f64,
    /// Coupling κ in −ΔG = κδ (0 switches the mean field off).
    #[serde(default = "one")]
    pub kappa: f64,
    /// +1 Coulomb, −1 gravity.
    #[serde(default = "one")]
    pub gamma: f64,
    #[serde(default = "periodic")]
    pub boundary: Boundary,
    /// An external potential added to U (none by default).
    #[serde(default)]
    pub external: Option<External>,
    /// The Hartree–Fock exchange term of the paper's eq. 1.15: h − X with
    /// X(x; y) = γ G(x − y) ω(x; y)/N (the interaction V = γG of U = V * ρ; see
    /// `hartree::exchange`). d ≤ 2 only: the potential step becomes dense P × P work on the
    /// host, two Hermitian eigendecompositions and eight products per step (P = n^d ≤ 4096).
    #[serde(default)]
    pub exchange: bool,
}

/// External potentials.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum External {
    /// V(x) = ½ m ω² |x − centre|².
    Harmonic { omega: f64, centre: Vec<f64> },
}

fn one() -> f64 {
    1.0
}
fn periodic() -> Boundary {
    Boundary::Periodic
}

impl HartreePhysics {
    pub fn particles(&self) -> f64 {
        self.particles
            .unwrap_or_else(|| self.epsilon.powi(-(self.dim as i32)))
    }

    pub fn validate(&self) -> Result<()> {
        if !(1..=3).contains(&self.dim) {
            bail!(
                "physics.dim = {}: the dimension must be 1, 2 or 3",
                self.dim
            );
        }
        if self.epsilon.is_nan() || self.epsilon <= 0.0 {
            bail!("physics.epsilon = {} must be positive", self.epsilon);
        }
        if self.mass.is_nan() || self.mass <= 0.0 {
            bail!("physics.mass = {} must be positive", self.mass);
        }
        if self.gamma != 1.0 && self.gamma != -1.0 {
            bail!(
                "physics.gamma = {}: +1 (Coulomb) or −1 (gravity)",
                self.gamma
            );
        }
        if let Some(n) = self.particles {
            if n.is_nan() || n <= 0.0 {
                bail!("physics.particles = {n} must be positive");
            }
        }
        if self.exchange && self.dim > 2 {
            bail!(
                "physics.exchange needs dim ≤ 2, not {}: the exchange step is a dense P × P \
                 eigendecomposition with P = n^{} grid points (already 4096 × 4096 at n = 16)",
                self.dim,
                self.dim
            );
        }
        if let Some(External::Harmonic { omega, centre }) = &self.external {
            if centre.len() != self.dim || !omega.is_finite() {
                bail!(
                    "physics.external: a harmonic potential needs a finite omega and a centre of {} coordinates",
                    self.dim
                );
            }
        }
        Ok(())
    }
}

/// The position grid: n points per axis, x_a = x_min + a·h.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct HartreeGrid {
    pub dim: usize,
    pub n: usize,
    pub length: f64,
    pub h: f64,
    pub x_min: f64,
}

impl HartreeGrid {
    pub fn new(dim: usize, n: usize, length: f64, boundary: Boundary) -> Result<Self> {
        if n < 2 {
            bail!("grid.n = {n}: need at least 2 points per axis");
        }
        if length.is_nan() || length <= 0.0 || length.is_infinite() {
            bail!("grid.length = {length} must be a positive number");
        }
        let x_min = match boundary {
            Boundary::Periodic => 0.0,
            Boundary::Isolated => -length / 2.0,
        };
        Ok(Self {
            dim,
            n,
            length,
            h: length / n as f64,
            x_min,
        })
    }

    /// Grid points: n^d (the matrix has this many rows).
    pub fn points(&self) -> usize {
        self.n.pow(self.dim as u32)
    }
    pub fn x_shape(&self) -> Vec<usize> {
        vec![self.n; self.dim]
    }
    /// [n; d] ++ [n; d].
    pub fn matrix_shape(&self) -> Vec<usize> {
        vec![self.n; 2 * self.dim]
    }
    pub fn x(&self, i: usize) -> f64 {
        self.x_min + i as f64 * self.h
    }
    /// Coordinates of flat grid point `a`.
    pub fn point(&self, a: usize) -> Vec<f64> {
        let mut out = vec![0.0; self.dim];
        let mut rest = a;
        for ax in (0..self.dim).rev() {
            out[ax] = self.x(rest % self.n);
            rest /= self.n;
        }
        out
    }
    /// |k|² at flat Fourier index `q` (FFT order per axis).
    pub fn k_squared(&self, q: usize) -> f64 {
        let mut rest = q;
        let mut k2 = 0.0;
        for _ in 0..self.dim {
            k2 += wave_number(rest % self.n, self.n, self.length).powi(2);
            rest /= self.n;
        }
        k2
    }
    /// h^d, the weight of one grid point.
    pub fn cell(&self) -> f64 {
        self.h.powi(self.dim as i32)
    }
}
