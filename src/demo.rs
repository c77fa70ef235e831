//! `kind = "poisson-demo"`: a periodic Poisson solve against a manufactured solution, the job
//! the README's first command runs until the solvers land. It exercises the FFT across all
//! axes, the pointwise kernels and the transfers on whichever backend was chosen.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::field::{len_of, strides_of};
use crate::poisson::PeriodicPoisson;

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
    /// Points per axis (1 to 3 axes; powers of two on the GPU).
    pub n: Vec<usize>,
    /// Box length per axis.
    pub length: Vec<f64>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PoissonConfig {
    #[serde(default = "default_kappa")]
    pub kappa: f64,
}

impl Default for PoissonConfig {
    fn default() -> Self {
        Self {
            kappa: default_kappa(),
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
    /// Seconds per solve (two FFTs over all axes and one product), transfers excluded.
    pub seconds_per_solve: f64,
}

/// The manufactured potential: a few Fourier modes per axis, with −ΔU = κ(ρ − 1).
fn manufactured(cfg: &PoissonDemoConfig) -> (Vec<f64>, Vec<f64>) {
    let shape = &cfg.grid.n;
    let strides = strides_of(shape);
    let tau = 2.0 * std::f64::consts::PI;
    let modes: [(f64, [f64; 3], f64); 3] = [
        (1.0, [1.0, 0.0, 2.0], 0.3),
        (0.5, [2.0, 1.0, 1.0], 1.1),
        (0.25, [3.0, 2.0, 0.0], -0.7),
    ];
    let n = len_of(shape);
    let mut u = vec![0.0; n];
    let mut rho = vec![1.0; n];
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
            rho[flat] += amp * k2 * arg.cos() / cfg.poisson.kappa;
        }
    }
    (rho, u)
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
    if cfg.poisson.kappa == 0.0 {
        bail!("poisson.kappa is 0");
    }
    if cfg.reps == 0 {
        bail!("reps must be at least 1");
    }
    let points = len_of(&cfg.grid.n);
    println!(
        "poisson-demo: grid {:?}, box {:?}, kappa {} on {}",
        cfg.grid.n,
        cfg.grid.length,
        cfg.poisson.kappa,
        backend.describe()
    );
    let (rho, exact) = manufactured(&cfg);
    let mut solver =
        PeriodicPoisson::new(backend, &cfg.grid.n, &cfg.grid.length, cfg.poisson.kappa)?;
    let u = solver.solve(backend, &rho)?;
    let (mut num, mut den, mut max_abs) = (0.0f64, 0.0f64, 0.0f64);
    for (a, b) in u.iter().zip(&exact) {
        num += (a - b) * (a - b);
        den += b * b;
        max_abs = max_abs.max((a - b).abs());
    }
    backend.synchronize()?;
    let t = Instant::now();
    for _ in 0..cfg.reps {
        solver.solve_in_place(backend)?;
    }
    backend.synchronize()?;
    let result = PoissonDemoResult {
        backend: backend.describe(),
        points,
        rel_l2_error: (num / den).sqrt(),
        max_abs_error: max_abs,
        seconds_per_solve: t.elapsed().as_secs_f64() / cfg.reps as f64,
        config: cfg,
    };
    println!(
        "poisson-demo: relative L2 error {:.3e}, max error {:.3e}, {:.3} ms per solve ({} points)",
        result.rel_l2_error,
        result.max_abs_error,
        result.seconds_per_solve * 1e3,
        points
    );
    std::fs::create_dir_all(out)?;
    let path = out.join("poisson.json");
    std::fs::write(&path, serde_json::to_string_pretty(&result)? + "\n")?;
    println!("poisson-demo: wrote {}", path.display());
    Ok(result)
}
