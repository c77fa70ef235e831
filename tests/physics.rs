//! Physics named in docs/design.md sections 4 and 5 that the other test files do not assert,
//! on the f64 CPU backend at small grids (and on the GPU where cheap): the Plummer sphere's
//! stationarity, nonlinear Landau damping's energy drift (order 2 in τ for Strang) and
//! non-increasing L² norm, the bump-on-tail growth rate against its dispersion root, and the
//! thermal Hartree state's stationarity.

mod common;

use std::path::Path;
use std::time::Instant;

use hvp::cpu::CpuBackend;
use hvp::dispersion;
use hvp::hartree::job::HartreeJob;
use hvp::hartree::solver::{measure as measure_hartree, Hartree};
use hvp::hartree::External;
use hvp::kernels::Advection;
use hvp::kernels::MatrixKernels;
use hvp::vlasov::diagnostics::{measure, Diagnostics};
use hvp::vlasov::fit::growth_rate;
use hvp::vlasov::init::Initial;
use hvp::vlasov::job::VlasovJob;
use hvp::vlasov::{PhaseGrid, Vlasov};
use hvp::Backend;
use num_complex::Complex64;

/// A job from one of configs/, with `--set`-style overrides.
fn config_job<T: serde::de::DeserializeOwned>(name: &str, sets: &[&str]) -> T {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("configs")
        .join(name);
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let table = hvp::config::load(&path, &sets).unwrap();
    hvp::config::job(&table).unwrap()
}

/// A Vlasov solver of `job` started from its initial state.
fn start_vlasov<B: Backend + Advection>(b: &B, job: &VlasovJob) -> Vlasov<B> {
    let mut s = Vlasov::new(b, &job.physics, &job.grid, &job.numerics).unwrap();
    s.load(b, &job.initial).unwrap();
    s
}

/// Steps `s` by `dt` up to `t_end`, measuring every `every` steps (and at t = 0).
fn history<B: Backend + Advection>(
    b: &B,
    s: &mut Vlasov<B>,
    dt: f64,
    t_end: f64,
    every: usize,
) -> Vec<Diagnostics> {
    let steps = (t_end / dt).round() as usize;
    let first = measure(s, b, None).unwrap();
    let m0 = first.mass;
    let mut h = vec![first];
    for i in 1..=steps {
        s.step(b, dt).unwrap();
        if i % every == 0 {
            h.push(measure(s, b, Some(m0)).unwrap());
        }
    }
    h
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().map(|x| x.abs()).fold(0.0, f64::max)
}

// ---------------------------------------------------------------------------------------------
// Plummer sphere

/// ρ at t = 0 and at `t_end` for the Plummer job of configs/plummer_3d.toml on a small grid,
/// evolved with κ scaled by `gravity` (1: the self-consistent, stationary state; less: the
/// same f under weaker gravity, which is out of equilibrium and expands).
fn plummer_densities<B: Backend + Advection>(
    b: &B,
    n: usize,
    length: f64,
    p_max: f64,
    dt: f64,
    t_end: f64,
    gravity: f64,
) -> (Vec<f64>, Vec<f64>, Diagnostics, Diagnostics) {
    let job: VlasovJob = config_job(
        "plummer_3d.toml",
        &[
            &format!("grid.nx={n}"),
            &format!("grid.np={n}"),
            &format!("grid.length={length}"),
            &format!("grid.p_max={p_max}"),
            &format!(
                "numerics.degree={}",
                std::env::var("PL_DEG").unwrap_or("5".into())
            ),
        ],
    );
    let grid = PhaseGrid::new(3, &job.grid, job.physics.boundary).unwrap();
    let f0 = job.initial.sample(&grid, &job.physics);
    let mut physics = job.physics.clone();
    physics.kappa *= gravity;
    let mut s = Vlasov::new(b, &physics, &job.grid, &job.numerics).unwrap();
    s.set_f(b, &f0).unwrap();
    drop(f0);
    let d0 = measure(&mut s, b, None).unwrap();
    let rho0 = b.download_real(s.rho()).unwrap();
    let steps = (t_end / dt).round() as usize;
    for _ in 0..steps {
        s.step(b, dt).unwrap();
    }
    let d1 = measure(&mut s, b, Some(d0.mass)).unwrap();
    let rho1 = b.download_real(s.rho()).unwrap();
    (rho0, rho1, d0, d1)
}

/// The Plummer sphere (G = M = a = 1, docs/design.md section 4) is stationary: its density
/// holds over about three dynamical times (t = 5, t_dyn = (3π/16Gρ_0)^½ = 1.57), while the same
/// f under half the gravity (out of equilibrium) expands. 12⁶ cells in a box of side 6
/// (h = 0.5, dp = 0.25), Lagrange degree 9, τ = 0.5: the smallest grid that shows it in a few
/// seconds. Measured: max|ρ(5) − ρ(0)|/max ρ(0) = 0.212, ‖ρ(5) − ρ(0)‖₂/‖ρ(0)‖₂ = 0.117
/// (central density 0.239 → 0.188: the coarse grid's diffusion), against 0.888 and 0.757
/// (central density → 0.027) under half the gravity; the energy changes by 4%.
#[test]
fn plummer_sphere_density_stays_stationary_cpu() {
    let (n, length, p_max, dt, t_end) = (12, 6.0, 1.5, 0.5, 5.0);
    let cpu = CpuBackend::new();
    let started = Instant::now();
    let (rho0, rho1, d0, d1) = plummer_densities(&cpu, n, length, p_max, dt, t_end, 1.0);
    let dev = max_abs_diff(&rho1, &rho0) / max_abs(&rho0);
    let l2 = common::rel_err_real(&rho1, &rho0);
    eprintln!(
        "Plummer {n}^6, L = {length}, P = {p_max}, τ = {dt}, t = {t_end}: max|ρ(T) − ρ(0)|/max ρ(0) = {dev:.3e}, L2 {l2:.3e}; central ρ {:.4} → {:.4}; mass {:.6} → {:.6} (lost {:.2e}); energy {:.6} → {:.6}; {:.1} s",
        max_abs(&rho0), max_abs(&rho1), d0.mass, d1.mass, d1.mass_lost, d0.total, d1.total,
        started.elapsed().as_secs_f64()
    );
    let (c0, c1, _, e1) = plummer_densities(&cpu, n, length, p_max, dt, t_end, 0.5);
    let cdev = max_abs_diff(&c1, &c0) / max_abs(&c0);
    let cl2 = common::rel_err_real(&c1, &c0);
    eprintln!(
        "half gravity: max|ρ(T) − ρ(0)|/max ρ(0) = {cdev:.3e}, L2 {cl2:.3e}, central ρ → {:.4}, lost {:.2e}",
        max_abs(&c1),
        e1.mass_lost,
    );
    assert!(dev < 0.3 && l2 < 0.15, "Plummer: {dev:e}, {l2:e}");
    assert!(
        cl2 > 4.0 * l2 && cdev > 0.6,
        "half gravity: {cdev:e}, {cl2:e}"
    );
    // The box of side 6 holds 0.89 of the mass; what leaves is the outer tail.
    assert!(d1.mass_lost < 0.03, "mass lost {:e}", d1.mass_lost);
    assert!((d1.total / d0.total - 1.0).abs() < 0.08);
}

// ---------------------------------------------------------------------------------------------
// Nonlinear Landau damping

/// Energy history of configs/landau_strong_1d.toml stepped by `dt` up to `t_end`, sampled every
/// `sample` time units.
fn strong_landau(dt: f64, t_end: f64, sample: f64) -> Vec<Diagnostics> {
    let job: VlasovJob = config_job("landau_strong_1d.toml", &[]);
    let cpu = CpuBackend::new();
    let mut s = start_vlasov(&cpu, &job);
    history(&cpu, &mut s, dt, t_end, (sample / dt).round() as usize)
}

fn energy_drift(h: &[Diagnostics]) -> f64 {
    let e0 = h[0].total;
    h.iter()
        .map(|d| ((d.total - e0) / e0).abs())
        .fold(0.0, f64::max)
}

/// Nonlinear Landau damping (configs/landau_strong_1d.toml, α = 0.5, 128 × 256): over t ≤ 10
/// the largest relative energy error max_t |E(t) − E(0)|/|E(0)| falls by 4 per halving of τ
/// (measured: 3.490e-3, 8.650e-4, 2.158e-4, 5.391e-5 at τ = 0.2 … 0.025, orders 2.013, 2.003,
/// 2.001); the L² norm never rises between samples (largest relative change −3.3e-10) and the
/// mass holds to 2e-14.
#[test]
fn strong_landau_energy_drift_is_second_order_cpu() {
    let t_end = 10.0;
    let dts = [0.2, 0.1, 0.05, 0.025];
    let runs: Vec<Vec<Diagnostics>> = dts
        .iter()
        .map(|&dt| strong_landau(dt, t_end, 0.2))
        .collect();
    let drifts: Vec<f64> = runs.iter().map(|h| energy_drift(h)).collect();
    for (h, dt) in runs.iter().zip(dts) {
        let l2_rise = h
            .windows(2)
            .map(|w| w[1].l2 / w[0].l2 - 1.0)
            .fold(f64::NEG_INFINITY, f64::max);
        let mass = h
            .iter()
            .map(|d| (d.mass / h[0].mass - 1.0).abs())
            .fold(0.0, f64::max);
        eprintln!(
            "τ = {dt}: max |E − E0|/|E0| over t ≤ {t_end} = {:.3e}; L2 {:.9} → {:.9}, largest relative rise between samples {l2_rise:.2e}; mass {mass:.1e}",
            energy_drift(h),
            h[0].l2,
            h.last().unwrap().l2,
        );
        assert!(l2_rise < 1e-12, "τ = {dt}: L² rose by {l2_rise:e}");
        assert!(mass < 1e-12, "τ = {dt}: mass {mass:e}");
    }
    for (w, dt) in drifts.windows(2).zip(dts) {
        let order = (w[0] / w[1]).log2();
        eprintln!("τ = {dt} → {}: order {order:.3}", dt / 2.0);
        assert!((1.9..=2.1).contains(&order), "order {order}");
    }
    assert!(drifts[0] < 5e-3, "{:e}", drifts[0]);
}

// ---------------------------------------------------------------------------------------------
// Bump-on-tail

/// The field energy of the bump-on-tail run over t in [15, 35] (configs/bump_on_tail_1d.toml
/// with α = 1e-4 so that the mode stays linear until t ≈ 40, and nx = 32).
fn bump_on_tail_rate<B: Backend + Advection>(b: &B, job: &VlasovJob) -> f64 {
    let mut s = start_vlasov(b, job);
    let h = history(b, &mut s, job.time.dt, 36.0, 1);
    let t: Vec<f64> = h.iter().map(|d| d.t).collect();
    let e: Vec<f64> = h.iter().map(|d| d.field_energy).collect();
    growth_rate(&t, &e, 15.0, 35.0).unwrap()
}

/// Bump-on-tail (0.9 of the density in M(p; 0, 1), 0.1 in M(p; 4.5, 0.5), k = 0.3): the mode
/// grows at the imaginary part of the dispersion root ω = 1.00122 + 0.19810 i. Measured from
/// the field energy over t in [15, 35] (after the damped roots have died out, before the
/// trapping saturation near t ≈ 45): 0.19786 (−0.12%) on the CPU; asserted to 2%.
#[test]
fn bump_on_tail_growth_matches_dispersion_root() {
    let job: VlasovJob = config_job(
        "bump_on_tail_1d.toml",
        &["initial.alpha=1e-4", "grid.nx=32"],
    );
    let Initial::BumpOnTail {
        k,
        bump_fraction,
        bump_velocity,
        bump_thermal,
        ..
    } = job.initial
    else {
        panic!("not a bump-on-tail job")
    };
    let root = dispersion::bump_on_tail_root(
        k,
        1.0 - bump_fraction,
        bump_fraction,
        bump_velocity,
        bump_thermal,
        Complex64::new(1.0, 0.2),
    )
    .unwrap();
    assert!(
        (root.im - 0.19810).abs() < 1e-4 && (root.re - 1.00122).abs() < 1e-4,
        "{root}"
    );
    let check = |backend: &str, rate: f64| {
        eprintln!(
            "{backend}: bump-on-tail growth {rate:.5}, dispersion root {root:.5} ({:+.2}%)",
            100.0 * (rate / root.im - 1.0)
        );
        assert!(
            (rate / root.im - 1.0).abs() < 0.02,
            "{backend}: {rate} against {root}"
        );
    };
    check("cpu", bump_on_tail_rate(&CpuBackend::new(), &job));
    if let Some(g) = common::gpu(None) {
        check("gpu", bump_on_tail_rate(&g, &job));
    }
}

// ---------------------------------------------------------------------------------------------
// Thermal Hartree state

/// ρ and the energy of configs/hartree_thermal_1d.toml at t = 0 and after `steps` steps of its
/// dt (over `refine`); `trap_shift` moves the trap's centre after ω_0 is built (a state no longer stationary).
fn thermal_run<B: Backend + MatrixKernels>(
    b: &B,
    steps: usize,
    trap_shift: f64,
    refine: usize,
) -> (Vec<f64>, Vec<f64>, f64, f64, f64, f64) {
    let job: HartreeJob = config_job("hartree_thermal_1d.toml", &[]);
    let mut s = Hartree::new(b, &job.physics, job.grid.n, job.grid.length).unwrap();
    let a0 = job.initial.matrix(&s.grid, &job.physics).unwrap();
    let mut physics = job.physics.clone();
    if let Some(External::Harmonic { centre, .. }) = physics.external.as_mut() {
        centre[0] += trap_shift;
    }
    if trap_shift != 0.0 {
        s = Hartree::new(b, &physics, job.grid.n, job.grid.length).unwrap();
    }
    s.set_matrix(b, &a0).unwrap();
    let d0 = measure_hartree(&mut s, b, true).unwrap();
    let rho0 = b.download_real(s.rho()).unwrap();
    s.advance(b, job.time.dt / refine as f64, steps).unwrap();
    let d1 = measure_hartree(&mut s, b, true).unwrap();
    let rho1 = b.download_real(s.rho()).unwrap();
    eprintln!(
        "trace {:.12} → {:.12}, occupations [{:.3e}, {:.9}] → [{:.3e}, {:.9}]",
        d0.trace,
        d1.trace,
        d0.min_occupation,
        d0.max_occupation,
        d1.min_occupation,
        d1.max_occupation
    );
    (rho0, rho1, d0.total, d1.total, d0.trace, d1.trace)
}

/// The thermal Hartree state (configs/hartree_thermal_1d.toml: Fermi–Dirac in a trap with
/// self-gravity, 64 points, N = 10, β = 50) through 400 real steps of τ = 0.005 (t = 2):
/// measured max|ρ(2) − ρ(0)|/max ρ(0) = 2.95e-5 and a relative energy change of 4.3e-10 on the
/// CPU (3.6e-5 and 1.5e-6 on the GPU in f32), against 0.65 when the trap is moved by 0.2 after
/// ω_0 is built. The density deviation is the splitting error: it falls ~4× with τ/2.
#[test]
fn thermal_hartree_state_stays_stationary() {
    let cpu = CpuBackend::new();
    let (r0, r1, e0, e1, t0, t1) = thermal_run(&cpu, 400, 0.0, 1);
    let dev = max_abs_diff(&r1, &r0) / max_abs(&r0);
    let de = (e1 / e0 - 1.0).abs();
    eprintln!(
        "cpu: 400 steps: max|ρ(T) − ρ(0)|/max ρ = {dev:.3e}, energy {e0:.12} → {e1:.12} ({de:.2e}), trace {t0:.12} → {t1:.12}"
    );
    let (h0, h1, _, _, _, _) = thermal_run(&cpu, 800, 0.0, 2);
    let half = max_abs_diff(&h1, &h0) / max_abs(&h0);
    eprintln!(
        "cpu: 800 steps of τ/2: max|ρ(T) − ρ(0)|/max ρ = {half:.3e} (ratio {:.2})",
        dev / half
    );
    let (c0, c1, _, _, _, _) = thermal_run(&cpu, 400, 0.2, 1);
    let moved = max_abs_diff(&c1, &c0) / max_abs(&c0);
    eprintln!("trap moved by 0.2: max|ρ(T) − ρ(0)|/max ρ = {moved:.3e}");
    assert!(dev < 1e-4 && de < 1e-8, "{dev:e} {de:e}");
    assert!(
        dev / half > 3.0,
        "not the splitting error: {dev:e} → {half:e}"
    );
    assert!((t1 - t0).abs() < 1e-10 && (t0 - 10.0).abs() < 1e-9);
    assert!(moved > 0.1, "{moved:e}");
    if let Some(g) = common::gpu(None) {
        let (g0, g1, ge0, ge1, _, _) = thermal_run(&g, 400, 0.0, 1);
        let gdev = max_abs_diff(&g1, &g0) / max_abs(&g0);
        let gde = (ge1 / ge0 - 1.0).abs();
        let against = max_abs_diff(&g1, &r1) / max_abs(&r1);
        eprintln!(
            "gpu: max|ρ(T) − ρ(0)|/max ρ = {gdev:.3e}, energy {ge0:.9} → {ge1:.9} ({gde:.2e}); ρ(T) against the CPU's {against:.2e}"
        );
        assert!(
            gdev < 1e-4 && gde < 1e-5 && against < 1e-4,
            "{gdev:e} {gde:e} {against:e}"
        );
    }
}
