//! The Hartree solver on the CPU and the GPU: the operator kernels against the CPU reference,
//! trace and Hermiticity kept, a free packet's spreading, a coherent state's return in a
//! harmonic trap, the energy error's order in τ, and GPU against CPU.

mod common;

use std::f64::consts::PI;

use common::{
    calibration_mixture, gpu, hartree_physics, random_complex, random_real, rel_err, rel_err_real,
    rng, start_hartree,
};
use hvp::cpu::CpuBackend;
use hvp::hartree::init::HartreeInitial;
use hvp::hartree::solver::measure;
use hvp::hartree::{External, HartreePhysics};
use hvp::kernels::MatrixKernels;
use hvp::{Backend, Elem};
use num_complex::Complex64;

#[test]
fn operator_kernels_match_cpu() {
    let cpu = CpuBackend::new();
    for chunk in [None, Some(1024)] {
        let Some(g) = gpu(chunk) else { return };
        let mut r = rng("operator_kernels");
        for shape in [vec![12, 12], vec![4, 6, 4, 6], vec![4, 4, 4, 4, 4, 4]] {
            let d = shape.len() / 2;
            let points: usize = shape[..d].iter().product();
            let a = random_complex(&mut r, points * points);
            let t = random_real(&mut r, points);
            let mut ac = cpu.zeros(&shape, Elem::Complex).unwrap();
            cpu.upload_complex(&mut ac, &a).unwrap();
            let mut tc = cpu.zeros(&shape[..d], Elem::Real).unwrap();
            cpu.upload_real(&mut tc, &t).unwrap();
            let mut ag = g.zeros(&shape, Elem::Complex).unwrap();
            g.upload_complex(&mut ag, &a).unwrap();
            let mut tg = g.zeros(&shape[..d], Elem::Real).unwrap();
            g.upload_real(&mut tg, &t).unwrap();

            cpu.conjugation_phase(&mut ac, &tc, 0.7).unwrap();
            g.conjugation_phase(&mut ag, &tg, 0.7).unwrap();
            let err = rel_err(
                &g.download_complex(&ag).unwrap(),
                &cpu.download_complex(&ac).unwrap(),
            );
            assert!(err < 1e-6, "{shape:?} chunk {chunk:?}: phase error {err:e}");

            let mut dc = cpu.zeros(&shape[..d], Elem::Real).unwrap();
            cpu.diagonal(&ac, &mut dc).unwrap();
            let mut dg = g.zeros(&shape[..d], Elem::Real).unwrap();
            g.upload_real(&mut dg, &vec![f64::NAN; points]).unwrap();
            g.diagonal(&ag, &mut dg).unwrap();
            let err = rel_err_real(
                &g.download_real(&dg).unwrap(),
                &cpu.download_real(&dc).unwrap(),
            );
            assert!(
                err < 1e-6,
                "{shape:?} chunk {chunk:?}: diagonal error {err:e}"
            );
        }
    }
}

fn hermiticity_error(n: usize, a: &[Complex64]) -> f64 {
    let num: f64 = (0..n * n)
        .map(|k| (a[k] - a[(k % n) * n + k / n].conj()).norm_sqr())
        .sum();
    let den: f64 = a.iter().map(|z| z.norm_sqr()).sum();
    (num / den).sqrt()
}

/// `tol` bounds the relative change of the trace; purity and Hermiticity get 10 × tol. In f32
/// (GPU) the FFT's round-off accumulates over the 800 axis passes of 100 steps: measured on
/// lavapipe, trace 2e-5, purity 4e-5, Hermiticity 3e-6.
fn check_invariants<B: Backend + MatrixKernels>(b: &B, name: &str, tol: f64) {
    let ph = hartree_physics(1, 0.1, 4.0, false);
    let mut s = start_hartree(b, &ph, 64, 2.0 * PI, &calibration_mixture(1));
    let d0 = measure(&mut s, b, false).unwrap();
    s.advance(b, 0.01, 100).unwrap();
    let d1 = measure(&mut s, b, false).unwrap();
    let a = b.download_complex(&s.a).unwrap();
    let herm = hermiticity_error(64, &a);
    eprintln!(
        "{name}: 100 steps: trace {:.12} → {:.12}, purity {:.9} → {:.9}, Hermiticity error {herm:.2e}, energy {:.9} → {:.9}",
        d0.trace, d1.trace, d0.purity, d1.purity, d0.total, d1.total
    );
    assert!(
        (d1.trace - d0.trace).abs() < tol * d0.trace,
        "{name}: trace"
    );
    assert!(
        (d1.purity - d0.purity).abs() < tol * 10.0 * d0.purity,
        "{name}: purity"
    );
    assert!(herm < tol * 10.0, "{name}: Hermiticity {herm:e}");
}

#[test]
fn trace_purity_and_hermiticity_are_kept() {
    check_invariants(&CpuBackend::new(), "cpu", 1e-12);
    if let Some(g) = gpu(None) {
        check_invariants(&g, "gpu", 1e-4);
    }
}

/// A free Gaussian packet (κ = 0): the variance of ρ grows as σ²/2 (1 + (εt/mσ²)²).
#[test]
fn free_packet_spreads_as_the_analytic_formula() {
    let check = |name: &str, var_t: f64, want: f64, tol: f64| {
        eprintln!("{name}: variance at t = 2: {var_t:.10} (analytic {want:.10})");
        assert!(
            (var_t / want - 1.0).abs() < tol,
            "{name}: {var_t} against {want}"
        );
    };
    let (eps, sigma, q0, length, n) = (0.5, 1.0, 10.0, 20.0, 128);
    let ph = HartreePhysics {
        particles: Some(1.0),
        ..hartree_physics(1, eps, 0.0, false)
    };
    let init = HartreeInitial::GaussianPacket {
        q0: vec![q0],
        p0: vec![0.0],
        sigma,
    };
    let want = sigma * sigma / 2.0 * (1.0 + (eps * 2.0 / (sigma * sigma)).powi(2));
    let run = |rho: Vec<f64>, h: f64| -> f64 {
        let x = |i: usize| i as f64 * h;
        let m: f64 = rho.iter().enumerate().map(|(i, r)| r * x(i)).sum::<f64>() * h;
        rho.iter()
            .enumerate()
            .map(|(i, r)| r * (x(i) - m).powi(2))
            .sum::<f64>()
            * h
    };
    let cpu = CpuBackend::new();
    let mut s = start_hartree(&cpu, &ph, n, length, &init);
    for _ in 0..100 {
        s.step(&cpu, 0.02).unwrap();
    }
    s.solve_field(&cpu).unwrap();
    check(
        "cpu",
        run(cpu.download_real(s.rho()).unwrap(), s.grid.h),
        want,
        1e-9,
    );
    if let Some(g) = gpu(None) {
        let mut s = start_hartree(&g, &ph, n, length, &init);
        for _ in 0..100 {
            s.step(&g, 0.02).unwrap();
        }
        s.solve_field(&g).unwrap();
        // f32: the tails of ρ, weighted by (x − m)² up to (L/2)², carry round-off.
        check(
            "gpu",
            run(g.download_real(s.rho()).unwrap(), s.grid.h),
            want,
            1e-3,
        );
    }
}

/// A coherent state in a harmonic trap returns to itself after one period 2π/ω.
#[test]
fn harmonic_coherent_state_returns_after_one_period() {
    let (eps, omega, length, n) = (0.1, 1.0, 16.0, 256);
    let ph = HartreePhysics {
        particles: Some(1.0),
        external: Some(External::Harmonic {
            omega,
            centre: vec![8.0],
        }),
        ..hartree_physics(1, eps, 0.0, false)
    };
    // σ² = ε/(mω): the ground-state width, displaced by 2.
    let init = HartreeInitial::GaussianPacket {
        q0: vec![10.0],
        p0: vec![0.0],
        sigma: (eps / omega).sqrt(),
    };
    let steps = 400;
    let dt = 2.0 * PI / omega / steps as f64;
    let check = |name: &str, a0: &[Complex64], a1: &[Complex64], tol: f64| {
        let err = rel_err(a1, a0);
        eprintln!("{name}: ‖A(T) − A(0)‖/‖A(0)‖ = {err:.3e} after one period ({steps} steps)");
        assert!(err < tol, "{name}: {err:e}");
    };
    let cpu = CpuBackend::new();
    let mut s = start_hartree(&cpu, &ph, n, length, &init);
    let a0 = cpu.download_complex(&s.a).unwrap();
    for _ in 0..steps {
        s.step(&cpu, dt).unwrap();
    }
    check("cpu", &a0, &cpu.download_complex(&s.a).unwrap(), 1e-3);
    if let Some(g) = gpu(None) {
        let mut s = start_hartree(&g, &ph, n, length, &init);
        for _ in 0..steps {
            s.step(&g, dt).unwrap();
        }
        check("gpu", &a0, &g.download_complex(&s.a).unwrap(), 2e-3);
    }
}

/// The energy error of the Strang step shrinks like τ² (interacting 1D state).
#[test]
fn energy_error_is_second_order_in_tau() {
    let cpu = CpuBackend::new();
    let ph = hartree_physics(1, 0.1, 4.0, false);
    let drift = |dt: f64| -> f64 {
        let mut s = start_hartree(&cpu, &ph, 64, 2.0 * PI, &calibration_mixture(1));
        let e0 = measure(&mut s, &cpu, false).unwrap().total;
        let steps = (1.0 / dt).round() as usize;
        let mut worst: f64 = 0.0;
        for _ in 0..steps {
            s.step(&cpu, dt).unwrap();
            worst = worst.max((measure(&mut s, &cpu, false).unwrap().total - e0).abs());
        }
        worst
    };
    let (e1, e2) = (drift(0.04), drift(0.02));
    let order = (e1 / e2).log2();
    eprintln!(
        "energy error over t ≤ 1: {e1:.3e} (τ = 0.04), {e2:.3e} (τ = 0.02): order {order:.2}"
    );
    assert!(order > 1.7, "order {order}");
}

/// Merged kinetic half steps give the Strang steps themselves.
#[test]
fn advance_equals_repeated_steps() {
    let cpu = CpuBackend::new();
    let ph = hartree_physics(1, 0.1, 4.0, false);
    let mut s1 = start_hartree(&cpu, &ph, 64, 2.0 * PI, &calibration_mixture(1));
    let mut s2 = start_hartree(&cpu, &ph, 64, 2.0 * PI, &calibration_mixture(1));
    for _ in 0..10 {
        s1.step(&cpu, 0.02).unwrap();
    }
    s2.advance(&cpu, 0.02, 10).unwrap();
    let err = rel_err(
        &cpu.download_complex(&s2.a).unwrap(),
        &cpu.download_complex(&s1.a).unwrap(),
    );
    assert!(err < 1e-13, "{err:e}");
    assert!((s1.time - s2.time).abs() < 1e-15);
}

fn evolve<B: Backend + MatrixKernels>(b: &B) -> Vec<Complex64> {
    let ph = hartree_physics(2, 0.25, 4.0, false);
    let mut s = start_hartree(b, &ph, 8, 2.0 * PI, &calibration_mixture(2));
    for _ in 0..20 {
        s.step(b, 0.02).unwrap();
    }
    b.download_complex(&s.a).unwrap()
}

#[test]
fn gpu_and_cpu_agree_after_20_steps() {
    let want = evolve(&CpuBackend::new());
    for chunk in [None, Some(8 << 10)] {
        if let Some(g) = gpu(chunk) {
            let err = rel_err(&evolve(&g), &want);
            eprintln!("2D Hartree, GPU (chunk {chunk:?}) against CPU after 20 steps: {err:.2e}");
            assert!(err < 1e-5, "{err:e}");
        }
    }
}

/// The spectrum is kept (unitary conjugation): min and max eigenvalue of A over 100 steps of
/// an interacting state, so 0 ≤ ω ≤ 1 propagates (paper eq. 1.5).
#[test]
fn spectrum_is_kept_over_100_steps() {
    let check = |name: &str, d0: (f64, f64), d1: (f64, f64), tol: f64| {
        eprintln!(
            "{name}: occupations min {:.3e} → {:.3e}, max {:.9} → {:.9}",
            d0.0, d1.0, d0.1, d1.1
        );
        assert!(
            (d1.0 - d0.0).abs() < tol && (d1.1 - d0.1).abs() < tol,
            "{name}"
        );
        assert!(
            (d0.1 - 0.90909).abs() < 1e-4,
            "{name}: largest occupation {}",
            d0.1
        );
    };
    let ph = hartree_physics(1, 0.1, 4.0, false);
    let run = |name: &str, tol: f64, b: &dyn Fn() -> ((f64, f64), (f64, f64))| {
        let (d0, d1) = b();
        check(name, d0, d1, tol);
    };
    let cpu = CpuBackend::new();
    run("cpu", 1e-10, &|| {
        let mut s = start_hartree(&cpu, &ph, 128, 2.0 * PI, &calibration_mixture(1));
        let d0 = measure(&mut s, &cpu, true).unwrap();
        s.advance(&cpu, 0.01, 100).unwrap();
        let d1 = measure(&mut s, &cpu, true).unwrap();
        (
            (d0.min_occupation, d0.max_occupation),
            (d1.min_occupation, d1.max_occupation),
        )
    });
    if let Some(g) = gpu(None) {
        run("gpu", 1e-5, &|| {
            let mut s = start_hartree(&g, &ph, 128, 2.0 * PI, &calibration_mixture(1));
            let d0 = measure(&mut s, &g, true).unwrap();
            s.advance(&g, 0.01, 100).unwrap();
            let d1 = measure(&mut s, &g, true).unwrap();
            (
                (d0.min_occupation, d0.max_occupation),
                (d1.min_occupation, d1.max_occupation),
            )
        });
    }
}
