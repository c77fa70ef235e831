//! Helpers shared by the integration tests: the GPU backend (or a loud skip), fresh random
//! data with a printed seed, and relative errors.
#![allow(dead_code)]

use hvp::gpu::{GpuBackend, GpuOptions};
use hvp::hartree::init::HartreeInitial;
use hvp::hartree::solver::Hartree;
use hvp::hartree::HartreePhysics;
use hvp::kernels::MatrixKernels;
use hvp::poisson::Boundary;
use hvp::vlasov::init::Component;
use hvp::Backend;
use num_complex::Complex64;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The GPU backend for tests, with chunks of at most `max_chunk_bytes`.
///
/// Without an adapter the test is skipped with a loud message, unless HVP_REQUIRE_GPU=1 (set by
/// .ci/run), in which case it fails: CI installs lavapipe, so a missing adapter there is a bug.
pub fn gpu(max_chunk_bytes: Option<u64>) -> Option<GpuBackend> {
    // HVP_ADAPTER picks the adapter as --adapter does (CI: vulkan:llvmpipe, then gl:llvmpipe);
    // else the best one, software adapters included.
    let options = GpuOptions {
        adapter: std::env::var("HVP_ADAPTER")
            .ok()
            .map(|s| s.parse().expect("HVP_ADAPTER is [BACKEND:]NAME")),
        allow_software: true,
        max_chunk_bytes,
    };
    match GpuBackend::new(&options) {
        Ok(mut b) => {
            b.poison_scratch = true;
            Some(b)
        }
        Err(e) => {
            if std::env::var("HVP_REQUIRE_GPU").as_deref() == Ok("1") {
                panic!("HVP_REQUIRE_GPU=1 but no GPU backend: {e:#}");
            }
            eprintln!(
                "\n!!!!!!!! SKIPPED: no GPU adapter ({e:#}); GPU kernels NOT tested !!!!!!!!\n"
            );
            None
        }
    }
}

/// A generator seeded from HVP_TEST_SEED, or from the clock (printed, so a failure can be
/// replayed).
pub fn rng(test: &str) -> ChaCha8Rng {
    let seed = std::env::var("HVP_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("{test}: HVP_TEST_SEED={seed}");
    ChaCha8Rng::seed_from_u64(seed)
}

pub fn random_complex(rng: &mut ChaCha8Rng, n: usize) -> Vec<Complex64> {
    (0..n)
        .map(|_| Complex64::new(rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)))
        .collect()
}

pub fn random_real(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

/// ‖out − reference‖₂ / ‖reference‖₂; NaN anywhere in `out` gives infinity.
pub fn rel_err(out: &[Complex64], reference: &[Complex64]) -> f64 {
    assert_eq!(out.len(), reference.len());
    let mut num = 0.0;
    let mut den = 0.0;
    for (a, b) in out.iter().zip(reference) {
        if !(a.re.is_finite() && a.im.is_finite()) {
            return f64::INFINITY;
        }
        num += (a - b).norm_sqr();
        den += b.norm_sqr();
    }
    (num / den).sqrt()
}

pub fn rel_err_real(out: &[f64], reference: &[f64]) -> f64 {
    let a: Vec<Complex64> = out.iter().map(|&x| Complex64::new(x, 0.0)).collect();
    let b: Vec<Complex64> = reference.iter().map(|&x| Complex64::new(x, 0.0)).collect();
    rel_err(&a, &b)
}

/// Hartree physics on a periodic box: m = 1, γ = +1 (Coulomb), N = 1/ε^d, no external
/// potential.
pub fn hartree_physics(dim: usize, eps: f64, kappa: f64, exchange: bool) -> HartreePhysics {
    HartreePhysics {
        dim,
        epsilon: eps,
        particles: None,
        mass: 1.0,
        kappa,
        gamma: 1.0,
        boundary: Boundary::Periodic,
        external: None,
        exchange,
    }
}

/// The calibration-like mixture of docs/design.md section 5: a Gaussian M at q = π, p = 0, unit
/// spreads.
pub fn calibration_mixture(dim: usize) -> HartreeInitial {
    HartreeInitial::CoherentMixture {
        delta: None,
        components: vec![Component::Gaussian {
            weight: 1.0,
            q: vec![std::f64::consts::PI; dim],
            p: vec![0.0; dim],
            sigma_q: 1.0,
            sigma_p: 1.0,
        }],
    }
}

/// A Hartree solver on `n` points per axis, started from `init`.
pub fn start_hartree<B: Backend + MatrixKernels>(
    b: &B,
    ph: &HartreePhysics,
    n: usize,
    length: f64,
    init: &HartreeInitial,
) -> Hartree<B> {
    let mut s = Hartree::new(b, ph, n, length).unwrap();
    let a = init.matrix(&s.grid, ph).unwrap();
    s.set_matrix(b, &a).unwrap();
    s
}
