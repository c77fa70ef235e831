//! The Hartree–Fock exchange term (paper eq. 1.15): trace, Hermiticity and spectrum kept; no
//! self-interaction for a single orbital (Hartree and exchange cancel, so the packet moves as a
//! free one); the exchange energy; GPU against CPU; d = 3 and oversized grids refused.

mod common;

use std::f64::consts::PI;

use common::{calibration_mixture, gpu, hartree_physics, rel_err, start_hartree};
use hvp::cpu::CpuBackend;
use hvp::hartree::exchange::Exchange;
use hvp::hartree::init::HartreeInitial;
use hvp::hartree::solver::{measure, Hartree};
use hvp::hartree::spectrum::hermitian_eigenvalues;
use hvp::hartree::HartreePhysics;
use hvp::kernels::MatrixKernels;
use hvp::poisson::Boundary;
use hvp::Backend;
use num_complex::Complex64;

fn hermitian_part(p: usize, a: &[Complex64]) -> Vec<Complex64> {
    (0..p * p)
        .map(|k| 0.5 * (a[k] + a[(k % p) * p + k / p].conj()))
        .collect()
}

fn hermiticity_error(p: usize, a: &[Complex64]) -> f64 {
    let num: f64 = (0..p * p)
        .map(|k| (a[k] - a[(k % p) * p + k / p].conj()).norm_sqr())
        .sum();
    let den: f64 = a.iter().map(|z| z.norm_sqr()).sum();
    (num / den).sqrt()
}

/// The periodic 1D pair interaction on n points of a box of length L, V_ab = V(x_a − x_b), from
/// the mean-free Green's function's Fourier series over the grid's wave numbers,
/// V(x) = (κγ/L) Σ_(k≠0) cos(kx)/k²; row-major n × n.
fn periodic_kernel_1d(n: usize, length: f64, kappa_gamma: f64) -> Vec<f64> {
    let h = length / n as f64;
    let at = |m: usize| -> f64 {
        (1..n)
            .map(|i| {
                let k = hvp::poisson::wave_number(i, n, length);
                (k * m as f64 * h).cos() / (k * k)
            })
            .sum::<f64>()
            * kappa_gamma
            / length
    };
    let by_separation: Vec<f64> = (0..n).map(at).collect();
    (0..n * n)
        .map(|k| by_separation[(k / n + n - k % n) % n])
        .collect()
}

/// −½ Σ_ab V_ab |A_ab|² / N²: the exchange energy per particle −½ tr(Xω)/N written out for a
/// Hermitian A (M_ab = V_ab A_ab/N, tr(MA) = Σ_ab V_ab |A_ab|²/N).
fn double_sum_exchange(p: usize, v: &[f64], a: &[Complex64], particles: f64) -> f64 {
    let herm = hermitian_part(p, a);
    -0.5 * (0..p * p).map(|k| v[k] * herm[k].norm_sqr()).sum::<f64>() / (particles * particles)
}

/// 50 steps of the interacting mixture with exchange: trace, Hermiticity and the whole
/// occupation spectrum are kept; the Hartree–Fock energy (kinetic + Hartree + exchange) is
/// printed with its drift.
fn check_invariants<B: Backend + MatrixKernels>(b: &B, name: &str, tol: f64) {
    let ph = hartree_physics(1, 0.1, 4.0, true);
    let p = 64;
    let mut s = start_hartree(b, &ph, p, 2.0 * PI, &calibration_mixture(1));
    let a0 = b.download_complex(&s.a).unwrap();
    let e0 = hermitian_eigenvalues(p, &hermitian_part(p, &a0)).unwrap();
    let d0 = measure(&mut s, b, false).unwrap();
    let x0 = s.exchange().unwrap().energy(&a0).unwrap();
    s.advance(b, 0.01, 50).unwrap();
    let d1 = measure(&mut s, b, false).unwrap();
    let a1 = b.download_complex(&s.a).unwrap();
    let x1 = s.exchange().unwrap().energy(&a1).unwrap();
    let herm = hermiticity_error(p, &a1);
    let e1 = hermitian_eigenvalues(p, &hermitian_part(p, &a1)).unwrap();
    let spec = e0
        .iter()
        .zip(&e1)
        .map(|(u, v)| (u - v).abs())
        .fold(0.0, f64::max);
    // The exchange energy against a plain double sum over a kernel built here from its
    // Fourier series (not from the Poisson solve the solver uses): −½ Σ_ab V_ab |A_ab|²/N²,
    // V(x) = (κγ/L) Σ_(k≠0) cos(kx)/k². Both the direct `Exchange::energy` and the
    // diagnostics' value (the one that enters the Hartree–Fock total) must equal it.
    let v = periodic_kernel_1d(p, 2.0 * PI, ph.kappa * ph.gamma);
    let ex = s.exchange().unwrap();
    let kernel_err = (0..p * p)
        .map(|k| (ex.kernel(k / p, k % p) - v[k]).abs())
        .fold(0.0, f64::max);
    let v_max = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    assert!(
        kernel_err < 1e-12 * v_max,
        "{name}: V_ab off its Fourier series by {kernel_err:e} (max |V| {v_max})"
    );
    let n_particles = ph.particles();
    for (label, a, direct, diag) in [
        ("t = 0", &a0, x0, d0.exchange),
        ("t = 0.5", &a1, x1, d1.exchange),
    ] {
        let expected = double_sum_exchange(p, &v, a, n_particles);
        eprintln!(
            "{name}: exchange energy at {label}: double sum {expected:.12e}, Exchange::energy \
             {direct:.12e}, diagnostics {diag:.12e}"
        );
        assert!(
            expected < 0.0,
            "{name}: the exchange energy must be negative for γ = +1"
        );
        for (what, got) in [("Exchange::energy", direct), ("diagnostics", diag)] {
            assert!(
                (got - expected).abs() < 1e-10 * expected.abs(),
                "{name}: {what} {got:e} against the double sum {expected:e} at {label}"
            );
        }
    }
    let (hf0, hf1) = (d0.total, d1.total);
    eprintln!(
        "{name}: exchange, 50 steps: trace {:.12} → {:.12}, Hermiticity error {herm:.2e}, \
         spectrum max|Δλ| {spec:.2e} (max occupation {:.9} → {:.9}), exchange energy \
         −½tr(Xω)/N {x0:.9} → {x1:.9}, Hartree energy {:.9}, HF energy {hf0:.9} → {hf1:.9} \
         (drift {:.2e})",
        d0.trace,
        d1.trace,
        e0[p - 1],
        e1[p - 1],
        d0.potential,
        hf1 - hf0
    );
    assert!(
        (d1.trace - d0.trace).abs() < tol * d0.trace,
        "{name}: trace"
    );
    assert!(herm < tol, "{name}: Hermiticity {herm:e}");
    assert!(spec < tol * 10.0, "{name}: spectrum moved by {spec:e}");
    assert!(
        x0 < 0.0 && x0.abs() < d0.potential,
        "{name}: exchange energy {x0}"
    );
    assert!(
        (hf1 - hf0).abs() < 2e-5 * hf0.abs(),
        "{name}: HF energy drift {}",
        hf1 - hf0
    );
}

#[test]
fn exchange_keeps_trace_hermiticity_and_spectrum() {
    check_invariants(&CpuBackend::new(), "cpu", 1e-12);
    if let Some(g) = gpu(None) {
        check_invariants(&g, "gpu", 1e-5);
    }
}

/// One orbital (N = 1): U − X annihilates it, so with exchange the interacting packet evolves
/// exactly as a free one (κ = 0), on a torus and in free space, in 1D and 2D, repulsive and
/// attractive. Without exchange it does not (printed for contrast).
#[test]
fn single_orbital_has_no_self_interaction() {
    let cpu = CpuBackend::new();
    let cases = [
        (1, 64, Boundary::Periodic, 1.0),
        (1, 64, Boundary::Isolated, -1.0),
        (2, 12, Boundary::Periodic, -1.0),
        (2, 12, Boundary::Isolated, 1.0),
    ];
    for (dim, n, boundary, gamma) in cases {
        let (length, eps) = (2.0 * PI, 0.1);
        let centre = match boundary {
            Boundary::Periodic => PI,
            Boundary::Isolated => 0.0,
        };
        let init = HartreeInitial::GaussianPacket {
            q0: vec![centre; dim],
            p0: vec![0.3; dim],
            sigma: 0.6,
        };
        let run = |kappa: f64, exchange: bool| -> Vec<Complex64> {
            let ph = HartreePhysics {
                particles: Some(1.0),
                gamma,
                boundary,
                ..hartree_physics(dim, eps, kappa, exchange)
            };
            let mut s = start_hartree(&cpu, &ph, n, length, &init);
            s.advance(&cpu, 0.01, 50).unwrap();
            cpu.download_complex(&s.a).unwrap()
        };
        let free = run(0.0, false);
        let hf = run(4.0, true);
        let hartree = run(4.0, false);
        let err = rel_err(&hf, &free);
        let contrast = rel_err(&hartree, &free);
        // The exchange energy of the initial orbital is minus its Hartree energy.
        let ph = HartreePhysics {
            particles: Some(1.0),
            gamma,
            boundary,
            ..hartree_physics(dim, eps, 4.0, true)
        };
        let mut s = start_hartree(&cpu, &ph, n, length, &init);
        let a0 = cpu.download_complex(&s.a).unwrap();
        let x = s.exchange().unwrap().energy(&a0).unwrap();
        let hartree_energy = measure(&mut s, &cpu, false).unwrap().potential;
        eprintln!(
            "d = {dim}, n = {n}, {boundary:?}, γ = {gamma}: ‖A_HF − A_free‖/‖A_free‖ = {err:.2e} after \
             50 steps (Hartree alone: {contrast:.2e}); exchange energy {x:.12}, Hartree energy \
             {hartree_energy:.12}"
        );
        assert!(err < 1e-10, "d = {dim} {boundary:?}: {err:e}");
        assert!(
            contrast > 1e-4,
            "d = {dim} {boundary:?}: the interaction does nothing ({contrast:e})"
        );
        assert!(
            (x + hartree_energy).abs() < 1e-12 * hartree_energy.abs().max(1e-3),
            "{x} {hartree_energy}"
        );
    }
}

fn evolve<B: Backend + MatrixKernels>(b: &B) -> Vec<Complex64> {
    let ph = hartree_physics(2, 0.25, 4.0, true);
    let mut s = start_hartree(b, &ph, 8, 2.0 * PI, &calibration_mixture(2));
    s.advance(b, 0.02, 20).unwrap();
    b.download_complex(&s.a).unwrap()
}

#[test]
fn exchange_gpu_and_cpu_agree() {
    let want = evolve(&CpuBackend::new());
    if let Some(g) = gpu(None) {
        let err = rel_err(&evolve(&g), &want);
        eprintln!("2D Hartree–Fock, GPU against CPU after 20 steps: {err:.2e}");
        assert!(err < 1e-5, "{err:e}");
    }
}

/// Exchange on the mixture changes the dynamics (it is not a no-op) by an amount of the size
/// of the exchange energy relative to the Hartree one.
#[test]
fn exchange_changes_the_mixture() {
    let cpu = CpuBackend::new();
    let run = |exchange: bool| {
        let mut s = start_hartree(
            &cpu,
            &hartree_physics(1, 0.1, 4.0, exchange),
            64,
            2.0 * PI,
            &calibration_mixture(1),
        );
        s.advance(&cpu, 0.01, 50).unwrap();
        cpu.download_complex(&s.a).unwrap()
    };
    let diff = rel_err(&run(true), &run(false));
    eprintln!("1D mixture, 50 steps: ‖A_HF − A_H‖/‖A_H‖ = {diff:.3e}");
    assert!(diff > 1e-8, "{diff:e}");
}

#[test]
fn exchange_refuses_three_dimensions_and_large_grids() {
    let cpu = CpuBackend::new();
    let err = Hartree::new(&cpu, &hartree_physics(3, 0.25, 4.0, true), 8, 2.0 * PI)
        .err()
        .expect("d = 3 with exchange must be refused");
    let msg = format!("{err:#}");
    eprintln!("d = 3: {msg}");
    assert!(msg.contains("dim ≤ 2") && msg.contains("P × P"), "{msg}");
    let err = Hartree::new(&cpu, &hartree_physics(2, 0.25, 4.0, true), 72, 2.0 * PI)
        .err()
        .expect("5184 points with exchange must be refused");
    let msg = format!("{err:#}");
    eprintln!("2D, n = 72: {msg}");
    assert!(msg.contains("5184"), "{msg}");
    // The kernel is symmetric and real: V_ab = V_ba.
    let ph = hartree_physics(2, 0.25, 4.0, true);
    let grid = hvp::hartree::HartreeGrid::new(2, 8, 2.0 * PI, Boundary::Periodic).unwrap();
    let x = Exchange::new(&grid, &ph).unwrap();
    for a in 0..x.points() {
        for b in 0..x.points() {
            assert_eq!(x.kernel(a, b), x.kernel(b, a));
        }
    }
}

/// The Hartree–Fock energy E = kinetic + ½∫ρU − ½tr(Xω)/N is what the exchange dynamics
/// conserves: its Strang error shrinks like τ² (a wrong factor or sign in X or in the energy
/// would leave an O(1) drift).
#[test]
fn hartree_fock_energy_error_is_second_order_in_tau() {
    let cpu = CpuBackend::new();
    let ph = hartree_physics(1, 0.1, 4.0, true);
    // The diagnostics' total includes the exchange energy.
    let energy = |s: &mut Hartree<CpuBackend>| -> f64 { measure(s, &cpu, false).unwrap().total };
    let drift = |dt: f64| -> f64 {
        let mut s = start_hartree(&cpu, &ph, 64, 2.0 * PI, &calibration_mixture(1));
        let e0 = energy(&mut s);
        let steps = (1.0 / dt).round() as usize;
        let mut worst: f64 = 0.0;
        for _ in 0..steps {
            s.step(&cpu, dt).unwrap();
            worst = worst.max((energy(&mut s) - e0).abs());
        }
        worst
    };
    let (e1, e2) = (drift(0.04), drift(0.02));
    let order = (e1 / e2).log2();
    eprintln!(
        "HF energy error over t ≤ 1: {e1:.3e} (τ = 0.04), {e2:.3e} (τ = 0.02): order {order:.2}"
    );
    assert!(order > 1.7, "order {order}");
}
