//! `kind = "poisson-demo"`: a Poisson solve against a known answer, the job the README's first
//! command runs until the solvers land. With `boundary = "periodic"` (the default) the answer
//! is a manufactured solution of a few Fourier modes; with `boundary = "isolated"` it is the
//! free-space potential of a Gaussian density centred in the box (width min(L)/12). It
//! exercises the FFT across all axes, the pointwise kernels and the transfers on whichever
//! backend was chosen, and checks the force −∇U as well as U.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::field::Elem;
use crate::field::{len_of, strides_of};
use crate::poisson::{analytic, Boundary, Poisson, PoissonSpec};

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PoissonDemoConfig {
    pub grid: GridConfig,
    #[serde(default)]
    pub poisson: PoissonConfig,
    /// Timed repetitions of the solve (after one warm-up).
    #[serde(default = "default_reps")]
    pub reps: usize,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GridConfig {
    /// Points per axis (1 to 3 axes; of the form 2^a·3^b·5^c on the GPU).
    pub n: Vec<usize>,
    /// Box length per axis.
    pub length: Vec<f64>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PoissonConfig {
    #[serde(default = "default_kappa")]
    pub kappa: f64,
    /// U = γ G * ρ: +1 repulsive, −1 attractive.
    #[serde(default = "default_kappa")]
    pub gamma: f64,
    /// `periodic` or `isolated`.
    #[serde(default)]
    pub boundary: Boundary,
}

impl Default for PoissonConfig {
    fn default() -> Self {
        Self {
            kappa: default_kappa(),
            gamma: default_kappa(),
            boundary: Boundary::default(),
        }
    }
}

fn default_kappa() -> f64 {
    1.0
}
fn default_reps() -> usize {
    10
}

/// What the demo reports (also written to DIR/poisson.json).
#[derive(Debug, Serialize)]
pub struct PoissonDemoResult {
    pub backend: String,
    pub config: PoissonDemoConfig,
    pub points: usize,
    /// ‖U − U_exact‖₂ / ‖U_exact‖₂ and max |U − U_exact|.
    pub rel_l2_error: f64,
    pub max_abs_error: f64,
    /// ‖F − F_exact‖₂ / ‖F_exact‖₂ over all components of the force F = −∇U.
    pub force_rel_l2_error: f64,
    /// Seconds per solve (potential and force, on the backend), transfers excluded.
    pub seconds_per_solve: f64,
}

/// The density and the exact potential and force of the configured problem.
fn reference(cfg: &PoissonDemoConfig) -> (Vec<f64>, Vec<f64>, Vec<Vec<f64>>) {
    match cfg.poisson.boundary {
        Boundary::Periodic => manufactured(cfg),
        Boundary::Isolated => gaussian(cfg),
    }
}

/// A Gaussian of width min(L)/12 centred on the grid point nearest the box centre.
fn gaussian(cfg: &PoissonDemoConfig) -> (Vec<f64>, Vec<f64>, Vec<Vec<f64>>) {
    let shape = &cfg.grid.n;
    let d = shape.len();
    let strides = strides_of(shape);
    let h: Vec<f64> = (0..d)
        .map(|a| cfg.grid.length[a] / shape[a] as f64)
        .collect();
    let s = cfg
        .grid
        .length
        .iter()
        .cloned()
        .fold(f64::INFINITY, f64::min)
        / 12.0;
    let n = len_of(shape);
    let (mut rho, mut u) = (vec![0.0; n], vec![0.0; n]);
    let mut force = vec![vec![0.0; n]; d];
    let norm = (2.0 * std::f64::consts::PI * s * s).powf(-(d as f64) / 2.0);
    for flat in 0..n {
        let x: Vec<f64> = (0..d)
            .map(|a| ((flat / strides[a] % shape[a]) as f64 - (shape[a] / 2) as f64) * h[a])
            .collect();
        let r = x.iter().map(|v| v * v).sum::<f64>().sqrt();
        rho[flat] = norm * (-r * r / (2.0 * s * s)).exp();
        let (pot, du) = analytic::gaussian_potential(d, cfg.poisson.kappa, cfg.poisson.gamma, s, r);
        u[flat] = pot;
        if r > 0.0 {
            for a in 0..d {
                force[a][flat] = -du * x[a] / r;
            }
        }
    }
    (rho, u, force)
}

/// The manufactured potential: a few Fourier modes per axis, with −ΔU = κγ(ρ − 1).
fn manufactured(cfg: &PoissonDemoConfig) -> (Vec<f64>, Vec<f64>, Vec<Vec<f64>>) {
    let shape = &cfg.grid.n;
    let strides = strides_of(shape);
    let tau = 2.0 * std::f64::consts::PI;
    let modes: [(f64, [f64; 3], f64); 3] = [
        (1.0, [1.0, 0.0, 2.0], 0.3),
        (0.5, [2.0, 1.0, 1.0], 1.1),
        (0.25, [3.0, 2.0, 0.0], -0.7),
    ];
    let n = len_of(shape);
    let d = shape.len();
    let kg = cfg.poisson.kappa * cfg.poisson.gamma;
    let mut u = vec![0.0; n];
    let mut rho = vec![1.0; n];
    let mut force = vec![vec![0.0; n]; d];
    for flat in 0..n {
        for (amp, m, phase) in modes {
            let mut arg = phase;
            let mut k2 = 0.0;
            for a in 0..shape.len() {
                let x =
                    (flat / strides[a] % shape[a]) as f64 * cfg.grid.length[a] / shape[a] as f64;
                let k = tau * m[a] / cfg.grid.length[a];
                arg += k * x;
                k2 += k * k;
            }
            u[flat] += amp * arg.cos();
            rho[flat] += amp * k2 * arg.cos() / kg;
            for (a, f) in force.iter_mut().enumerate() {
                // F = −∂_a U.
                f[flat] += amp * tau * m[a] / cfg.grid.length[a] * arg.sin();
            }
        }
    }
    (rho, u, force)
}

pub fn run<B: Backend>(
    backend: &B,
    cfg: PoissonDemoConfig,
    out: &Path,
) -> Result<PoissonDemoResult> {
    let d = cfg.grid.n.len();
    if !(1..=3).contains(&d) || cfg.grid.length.len() != d {
        bail!("grid.n and grid.length need 1 to 3 entries each, the same number");
    }
    if cfg.poisson.kappa == 0.0 || cfg.poisson.gamma == 0.0 {
        bail!("poisson.kappa and poisson.gamma must not be 0");
    }
    if cfg.reps == 0 {
        bail!("reps must be at least 1");
    }
    let points = len_of(&cfg.grid.n);
    println!(
        "poisson-demo: grid {:?}, box {:?}, kappa {}, gamma {}, {:?} boundary on {}",
        cfg.grid.n,
        cfg.grid.length,
        cfg.poisson.kappa,
        cfg.poisson.gamma,
        cfg.poisson.boundary,
        backend.describe()
    );
    let (rho, exact, exact_force) = reference(&cfg);
    let spec = PoissonSpec {
        shape: cfg.grid.n.clone(),
        lengths: cfg.grid.length.clone(),
        kappa: cfg.poisson.kappa,
        gamma: cfg.poisson.gamma,
        boundary: cfg.poisson.boundary,
    };
    let mut solver = Poisson::new(backend, &spec)?;
    let (u, force) = solver.solve_host(backend, &rho)?;
    let (mut num, mut den, mut max_abs) = (0.0f64, 0.0f64, 0.0f64);
    for (a, b) in u.iter().zip(&exact) {
        num += (a - b) * (a - b);
        den += b * b;
        max_abs = max_abs.max((a - b).abs());
    }
    let (mut fnum, mut fden) = (0.0f64, 0.0f64);
    for (fa, fb) in force.iter().zip(&exact_force) {
        for (a, b) in fa.iter().zip(fb) {
            fnum += (a - b) * (a - b);
            fden += b * b;
        }
    }
    let mut rho_field = backend.zeros(&spec.shape, Elem::Real)?;
    backend.upload_real(&mut rho_field, &rho)?;
    let mut potential = backend.zeros(&spec.shape, Elem::Real)?;
    let mut force_fields = (0..d)
        .map(|_| backend.zeros(&spec.shape, Elem::Real))
        .collect::<Result<Vec<_>>>()?;
    solver.solve(backend, &rho_field, &mut potential, &mut force_fields)?;
    backend.synchronize()?;
    let t = Instant::now();
    for _ in 0..cfg.reps {
        solver.solve(backend, &rho_field, &mut potential, &mut force_fields)?;
    }
    backend.synchronize()?;
    let result = PoissonDemoResult {
        backend: backend.describe(),
        points,
        rel_l2_error: (num / den).sqrt(),
        max_abs_error: max_abs,
        force_rel_l2_error: (fnum / fden).sqrt(),
        seconds_per_solve: t.elapsed().as_secs_f64() / cfg.reps as f64,
        config: cfg,
    };
    println!(
        "poisson-demo: relative L2 error {:.3e}, max error {:.3e}, force relative L2 error {:.3e}, {:.3} ms per solve ({} points)",
        result.rel_l2_error,
        result.max_abs_error,
        result.force_rel_l2_error,
        result.seconds_per_solve * 1e3,
        points
    );
    std::fs::create_dir_all(out)?;
    let path = out.join("poisson.json");
    std::fs::write(&path, serde_json::to_string_pretty(&result)? + "\n")?;
    println!("poisson-demo: wrote {}", path.display());
    Ok(result)
}
