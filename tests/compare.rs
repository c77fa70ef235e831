//! Hartree against Vlasov (docs/design.md sections 2, 3 and 5): the interacting calibration of the
//! comparison against the independent f64 reference, free flow, the W_d trap, and the GPU
//! against the CPU.

mod common;

use std::f64::consts::PI;
use std::time::Instant;

use common::gpu;
use hvp::compare::{CompareBackend, CompareRow, Comparison, MeasureOptions};
use hvp::cpu::CpuBackend;
use hvp::hartree::init::HartreeInitial;
use hvp::hartree::{HartreeGrid, HartreePhysics};
use hvp::poisson::Boundary;
use hvp::vlasov::init::Component;
use hvp::vlasov::{Numerics, Splitting};
use hvp::Backend;

/// The calibration physics: d = 1, periodic, L = 2π, m = 1, κ = 4 (or 0), γ = +1, ε = 0.1,
/// N = 1/ε.
fn physics(kappa: f64) -> HartreePhysics {
    HartreePhysics {
        dim: 1,
        epsilon: 0.1,
        particles: None,
        mass: 1.0,
        kappa,
        gamma: 1.0,
        boundary: Boundary::Periodic,
        external: None,
        exchange: false,
    }
}

/// M(q, p) = e^(−(q−π)²/2 − p²/2)/(2π), δ = √ε.
fn calibration_state() -> HartreeInitial {
    HartreeInitial::CoherentMixture {
        delta: None,
        components: vec![Component::Gaussian {
            weight: 1.0,
            q: vec![PI],
            p: vec![0.0],
            sigma_q: 1.0,
            sigma_p: 1.0,
        }],
    }
}

fn numerics(degree: usize) -> Numerics {
    Numerics {
        degree,
        splitting: Splitting::Strang,
    }
}

/// tr/N only (the other measurements off): what the calibration compares.
fn trace_only() -> MeasureOptions {
    MeasureOptions {
        spectra: false,
        commutators: false,
        p_values: vec![],
        sobolev: false,
        energies: false,
        ..Default::default()
    }
}

/// Runs the calibration setting to t_end with outputs every 0.1 (τ = 0.01) and returns the
/// rows (the first at t = 0, measured with `first`, the rest with `rest`).
fn run<B: CompareBackend>(
    b: &B,
    kappa: f64,
    n: usize,
    degree: usize,
    t_end: f64,
    first: &MeasureOptions,
    rest: &MeasureOptions,
) -> Vec<CompareRow> {
    let phys = physics(kappa);
    let mut cmp = Comparison::new(b, &phys, n, 2.0 * PI, &numerics(degree)).unwrap();
    let grid = HartreeGrid::new(1, n, 2.0 * PI, Boundary::Periodic).unwrap();
    let a0 = calibration_state().matrix(&grid, &phys).unwrap();
    cmp.start(b, &a0).unwrap();
    let mut rows = vec![cmp.measure(b, first).unwrap()];
    let outputs = (t_end / 0.1).round() as usize;
    for _ in 0..outputs {
        cmp.advance(b, 0.01, 10).unwrap();
        rows.push(cmp.measure(b, rest).unwrap());
    }
    rows
}

fn max_row(rows: &[CompareRow]) -> (f64, f64) {
    rows.iter()
        .map(|r| (r.trace_norm_over_n(), r.t))
        .fold(
            (f64::NEG_INFINITY, 0.0),
            |m, v| if v.0 > m.0 { v } else { m },
        )
}

fn print_rows(label: &str, rows: &[CompareRow]) {
    for r in rows {
        eprintln!(
            "{label}: t = {:.2}  tr/N = {:.6e}  HS/N = {:.3e}  ‖ρ − ρ̃‖_L1 = {:.3e}",
            r.t,
            r.trace_norm_over_n(),
            r.hs_norm / r.particles,
            r.rho_l1
        );
    }
}

/// The reference numbers of docs/design.md section 5 (independent f64 reference, n = 160).
const REF_MAX: f64 = 4.259e-4;
const REF_T_MAX: f64 = 1.5;
const REF_END: f64 = 3.662e-4;

/// docs/design.md section 5: max_t tr|ω_t − ω̃_t|/N = 4.259e-4 at t = 1.5, 3.662e-4 at T = 2, top
/// occupation of ω_0 0.90909, energies drifting alike by about 4.3e-6. Measured with Lagrange
/// degree 9 (degree 7 gives the same four digits, degree 5 is 0.09% off at T = 2; see
/// `calibration_survey_cpu`): 4.2593e-4 at t = 1.5 and 3.6625e-4, so the reference's four
/// digits are reproduced (asserted to 0.02%). Every other measurement runs at every output too.
#[test]
fn interacting_calibration_cpu() {
    let cpu = CpuBackend::new();
    let full = MeasureOptions {
        sobolev: true,
        ..Default::default()
    };
    let started = Instant::now();
    let rows = run(&cpu, 4.0, 160, 9, 2.0, &full, &full);
    eprintln!(
        "n = 160, degree 9: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    print_rows("n = 160", &rows);
    let (max, t_max) = max_row(&rows);
    let (r0, last) = (&rows[0], rows.last().unwrap());
    let end = last.trace_norm_over_n();
    eprintln!("max tr/N = {max:.6e} at t = {t_max}, at T = 2: {end:.6e}");
    assert!(
        (r0.max_eig - 0.90909).abs() < 5e-6,
        "top occupation {}",
        r0.max_eig
    );
    assert!((r0.max_eig_tilde - r0.max_eig).abs() < 1e-12);
    assert!(
        r0.trace_norm_over_n() < 1e-12,
        "t = 0: {:e}",
        r0.trace_norm_over_n()
    );
    assert!((max - REF_MAX).abs() < 2e-4 * REF_MAX, "max tr/N {max:e}");
    assert!((t_max - REF_T_MAX).abs() < 1e-9, "max at t = {t_max}");
    assert!(
        (end - REF_END).abs() < 2e-4 * REF_END,
        "tr/N at T = 2: {end:e}"
    );

    // The energies drift alike (reference: by 4.3e-6 over t ≤ 2).
    let dh = last.hartree_energy - r0.hartree_energy;
    let dv = last.vlasov_energy - r0.vlasov_energy;
    eprintln!(
        "energy drift: Hartree {dh:.3e} (from {:.9}), Vlasov {dv:.3e} (from {:.9}); Vlasov mass {:.12}",
        r0.hartree_energy, r0.vlasov_energy, last.vlasov_mass
    );
    assert!((r0.hartree_energy - r0.vlasov_energy).abs() < 1e-10);
    // Measured: both drift by +4.319e-6, the reference's 4.3e-6; asserted to ±3% each (a
    // first-order splitting or a wrong field sign moves them by far more), and alike to 1%.
    eprintln!("energy drifts differ by {:.3e}", dh - dv);
    for (name, d) in [("Hartree", dh), ("Vlasov", dv)] {
        assert!((d / 4.3e-6 - 1.0).abs() < 0.03, "{name} energy drift {d:e}");
    }
    assert!((dh - dv).abs() < 0.01 * dh.abs(), "{dh:e} {dv:e}");
    assert!((last.vlasov_mass - 1.0).abs() < 1e-12 && (last.hartree_trace - 1.0).abs() < 1e-12);

    // The bounds: every value finite; ‖ρ − ρ̃‖_L1 ≤ tr/N; the density of |[x, ω̃]| integrates
    // to tr|[x, ω̃]|; the commutators agree between the two states as closely as the states.
    for r in &rows {
        let ax = &r.axes[0];
        assert!(
            r.row().iter().all(|v| v.is_finite()),
            "t = {}: {:?}",
            r.t,
            r.row()
        );
        assert!(r.rho_l1 <= r.trace_norm_over_n() * (1.0 + 1e-9) + 1e-15);
        assert!((ax.rho_l1 - ax.comm_tilde).abs() < 1e-10 * ax.comm_tilde);
        assert!((ax.comm - ax.comm_tilde).abs() < 0.01 * ax.comm);
        assert!(r.over_n_eps(ax.comm) < 10.0);
        // The bracket is 1 + Σ_i ε^i ‖f‖_(H^(i+2)_4) of its own columns, and the norms grow with
        // the order.
        let from_norms = 1.0
            + (1..=4)
                .map(|i| r.epsilon.powi(i) * r.sobolev[i as usize - 1])
                .sum::<f64>();
        assert!((r.sobolev_bracket - from_norms).abs() < 1e-12 * from_norms);
        assert!(
            r.sobolev.windows(2).all(|w| w[1] >= w[0]),
            "{:?}",
            r.sobolev
        );
        assert!(r.min_eig_tilde > -1e-3 && r.max_eig_tilde < 1.0);
    }
    for r in &rows {
        eprintln!(
            "t = {:.1}: Sobolev bracket {:.6}, ‖f‖_(H^s_4), s = 3..6: {:?}",
            r.t, r.sobolev_bracket, r.sobolev
        );
    }
    // The bracket along the flow (n = 160, degree 9), measured: 2.895962 at t = 0 and 149.5327
    // at t = 2 (the high derivatives of f grow as the state shears); asserted to 1e-4 and 1e-3
    // relative. tests/vlasov.rs checks the norms themselves against a closed form.
    assert!(
        (r0.sobolev_bracket / 2.895962 - 1.0).abs() < 1e-4,
        "t = 0: bracket {}",
        r0.sobolev_bracket
    );
    assert!(
        (last.sobolev_bracket / 149.5327 - 1.0).abs() < 1e-3,
        "t = 2: bracket {}",
        last.sobolev_bracket
    );
    eprintln!(
        "t = 0: tr|[x, ω]|/Nε = {:.4}, ‖ρ_|[x, ω̃]|‖_L(5.5, 6, 8)/Nε = {:?}, Sobolev bracket {:.4}",
        r0.over_n_eps(r0.axes[0].comm),
        r0.axes[0]
            .rho_lp
            .iter()
            .map(|v| r0.over_n_eps(*v))
            .collect::<Vec<_>>(),
        r0.sobolev_bracket
    );
    eprintln!(
        "t = 2: tr|[x, ω]|/Nε = {:.4}, tr|[x, ω̃]|/Nε = {:.4}, eig(ω̃) in [{:.3e}, {:.6}], Sobolev bracket {:.4}",
        last.over_n_eps(last.axes[0].comm),
        last.over_n_eps(last.axes[0].comm_tilde),
        last.min_eig_tilde,
        last.max_eig_tilde,
        last.sobolev_bracket
    );
}

/// The reference is converged in n: n = 128 (what the GPU runs) gives the same four digits on
/// the CPU.
#[test]
fn calibration_at_n128_cpu() {
    let cpu = CpuBackend::new();
    let rows = run(&cpu, 4.0, 128, 9, 2.0, &trace_only(), &trace_only());
    let (max, t_max) = max_row(&rows);
    let end = rows.last().unwrap().trace_norm_over_n();
    eprintln!("n = 128: max tr/N = {max:.6e} at t = {t_max}, at T = 2: {end:.6e}");
    assert!((max - REF_MAX).abs() < 2e-4 * REF_MAX, "max tr/N {max:e}");
    assert!((t_max - REF_T_MAX).abs() < 1e-9, "max at t = {t_max}");
    assert!(
        (end - REF_END).abs() < 2e-4 * REF_END,
        "tr/N at T = 2: {end:e}"
    );
}

/// The two paths to the Hilbert–Schmidt distance agree (docs/design.md sections 2, 3):
/// ‖ω_t − ω̃_t‖_HS = N (2πε)^(d/2) ‖Wigner_s(ω_t) − f_t‖_L2 for resolved states.
#[test]
fn hilbert_schmidt_equals_the_phase_space_l2_distance_cpu() {
    let cpu = CpuBackend::new();
    let n = 128;
    let phys = physics(4.0);
    let mut cmp = Comparison::new(&cpu, &phys, n, 2.0 * PI, &numerics(9)).unwrap();
    let grid = HartreeGrid::new(1, n, 2.0 * PI, Boundary::Periodic).unwrap();
    cmp.start(&cpu, &calibration_state().matrix(&grid, &phys).unwrap())
        .unwrap();
    cmp.advance(&cpu, 0.01, 100).unwrap();
    let row = cmp.measure(&cpu, &trace_only()).unwrap();
    let mut w = cpu.zeros(&cmp.spec.shape(), hvp::Elem::Real).unwrap();
    cmp.wigner.wigner(&cpu, &cmp.hartree.a, &mut w).unwrap();
    let w = cpu.download_real(&w).unwrap();
    let f = cpu.download_real(&cmp.vlasov.f).unwrap();
    let l2 = (w.iter().zip(&f).map(|(a, b)| (a - b).powi(2)).sum::<f64>() * cmp.spec.cell_volume())
        .sqrt();
    let via_phase = phys.particles() * (2.0 * PI * phys.epsilon).sqrt() * l2;
    let rel = (via_phase / row.hs_norm - 1.0).abs();
    eprintln!(
        "t = 1: ‖ω − ω̃‖_HS = {:.8e}, N(2πε)^½‖W_s − f‖_L2 = {via_phase:.8e} (relative {rel:.1e})",
        row.hs_norm
    );
    assert!(rel < 1e-9, "{rel:e}");
}

/// (1 + P)(1 + G) along the one axis of a 1D phase grid of 2n × 2n: the p-alias
/// P W(X_j, p) = (−1)^j W(X_j, p + πε/h) and the X-ghost G W(X, p_k) = (−1)^k W(X + L/2, p_k),
/// which turn W_s into the discrete Wigner function W_d (tests/wigner.rs checks the identity).
fn discrete_from_single(n: usize, w: &[f64]) -> Vec<f64> {
    let m = 2 * n;
    let at = |j: usize, k: usize| w[(j % m) * m + k % m];
    let ghost: Vec<f64> = (0..m * m)
        .map(|g| {
            let (j, k) = (g / m, g % m);
            let sign = if (k + n).is_multiple_of(2) { 1.0 } else { -1.0 };
            at(j, k) + sign * at(j + n, k)
        })
        .collect();
    (0..m * m)
        .map(|g| {
            let (j, k) = (g / m, g % m);
            let sign = if j.is_multiple_of(2) { 1.0 } else { -1.0 };
            ghost[g] + sign * ghost[j * m + (k + n) % m]
        })
        .collect()
}

/// docs/design.md section 2's trap: the Vlasov run started from W_d instead of W_s is nonsense
/// (reference: tr/N ≈ 0.77), although W_d is an exact, invertible transform of ω_0: here
/// Weyl(W_d) = 4A (each of the four copies quantises to A), so ω̃_t = Weyl(f_t)/4 and the
/// distance is 0 at t = 0, but the copies do not transport like the physical one.
#[test]
fn starting_from_the_discrete_wigner_function_is_wrong_cpu() {
    let cpu = CpuBackend::new();
    let n = 128;
    let phys = physics(4.0);
    let mut cmp = Comparison::new(&cpu, &phys, n, 2.0 * PI, &numerics(9)).unwrap();
    let grid = HartreeGrid::new(1, n, 2.0 * PI, Boundary::Periodic).unwrap();
    cmp.start(&cpu, &calibration_state().matrix(&grid, &phys).unwrap())
        .unwrap();
    let ws = cpu.download_real(&cmp.vlasov.f).unwrap();
    cmp.set_vlasov(&cpu, &discrete_from_single(n, &ws)).unwrap();
    let distance = |cmp: &mut Comparison<CpuBackend>| {
        let a = cmp.hartree_matrix(&cpu).unwrap();
        let at = cmp.weyl_matrix(&cpu).unwrap();
        let d: Vec<_> = a.iter().zip(&at).map(|(x, y)| x - 0.25 * y).collect();
        hvp::hartree::spectrum::trace_norm(n, &d).unwrap() / phys.particles()
    };
    let mut values = vec![distance(&mut cmp)];
    for _ in 0..20 {
        cmp.advance(&cpu, 0.01, 10).unwrap();
        values.push(distance(&mut cmp));
    }
    eprintln!(
        "from W_d: tr|ω_t − Weyl(f_t)/4|/N at t = 0: {:.3e}, 0.5: {:.4}, 1: {:.4}, 1.5: {:.4}, 2: {:.4}",
        values[0], values[5], values[10], values[15], values[20]
    );
    assert!(values[0] < 1e-12, "{:e}", values[0]);
    assert!(values[20] > 0.5, "W_d start at t = 2: {}", values[20]);
}

/// Free flow (κ = 0): Hartree and Vlasov agree up to the Vlasov drift's interpolation error
/// (the Weyl map itself is exact; a spectral shift would give round-off).
#[test]
fn free_flow_cpu() {
    let cpu = CpuBackend::new();
    for (n, degree) in [(160, 9), (128, 9)] {
        let rows = run(&cpu, 0.0, n, degree, 10.0, &trace_only(), &trace_only());
        let (max, t_max) = max_row(&rows);
        eprintln!("free flow, n = {n}, degree {degree}: max tr/N over t ≤ 10 = {max:.3e} at t = {t_max:.1}");
        let bound = if n == 160 { 1e-12 } else { 1e-9 };
        assert!(max < bound, "n = {n}, degree {degree}: {max:e}");
    }
}

/// The calibration on the GPU (f32, n = 128) against the CPU (f64, n = 128): the trace norm of
/// a difference of nearby states is where f32 round-off shows first.
#[test]
fn calibration_gpu_matches_cpu() {
    let Some(g) = gpu(None) else { return };
    let cpu = CpuBackend::new();
    let opts = MeasureOptions::default();
    let started = Instant::now();
    let reference = run(&cpu, 4.0, 128, 9, 2.0, &opts, &opts);
    let cpu_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let rows = run(&g, 4.0, 128, 9, 2.0, &opts, &opts);
    eprintln!(
        "{}: {:.1} s, CPU {cpu_s:.1} s",
        g.describe(),
        started.elapsed().as_secs_f64()
    );
    let mut worst: f64 = 0.0;
    for (r, c) in rows.iter().zip(&reference) {
        let (a, b) = (r.trace_norm_over_n(), c.trace_norm_over_n());
        eprintln!(
            "t = {:.1}: GPU tr/N = {a:.5e}, CPU {b:.5e} ({:+.3}%); tr|[x, ω̃]| GPU {:.6e} CPU {:.6e}",
            r.t,
            100.0 * (a / b - 1.0),
            r.axes[0].comm_tilde,
            c.axes[0].comm_tilde
        );
        if r.t > 0.05 {
            worst = worst.max((a / b - 1.0).abs());
        } else {
            assert!(a < 1e-5, "GPU at t = 0: tr/N {a:e}");
        }
        assert!((r.max_eig - c.max_eig).abs() < 1e-5);
        assert!((r.axes[0].comm_tilde - c.axes[0].comm_tilde).abs() < 1e-4 * c.axes[0].comm_tilde);
    }
    let (max, t_max) = max_row(&rows);
    eprintln!("GPU: max tr/N = {max:.5e} at t = {t_max:.1}; worst relative difference from the CPU {worst:.2e}");
    assert!(worst < 0.02, "GPU against CPU: {worst:e}");
    assert!((max - REF_MAX).abs() < 0.02 * REF_MAX);
}

/// The calibration against the Vlasov interpolation degree at n = 128: degree 7 and more give
/// the reference's four digits (0.02%), degree 5 is within 0.1%.
#[test]
fn calibration_against_interpolation_degree() {
    let cpu = CpuBackend::new();
    let n = 128;
    for degree in [5, 7, 11] {
        let started = Instant::now();
        let rows = run(&cpu, 4.0, n, degree, 2.0, &trace_only(), &trace_only());
        let (max, t_max) = max_row(&rows);
        let last = rows.last().unwrap().trace_norm_over_n();
        eprintln!(
            "n = {n}, degree {degree}: max tr/N = {max:.6e} at t = {t_max:.1} ({:+.3}%), T = 2: {last:.6e} ({:+.3}%), {:.1} s",
            100.0 * (max / 4.259e-4 - 1.0),
            100.0 * (last / 3.662e-4 - 1.0),
            started.elapsed().as_secs_f64()
        );
        let tol = if degree >= 7 { 2e-4 } else { 1e-3 };
        assert!(
            (max / 4.259e-4 - 1.0).abs() < tol,
            "degree {degree}: max {max:e}"
        );
        assert!(
            (last / 3.662e-4 - 1.0).abs() < tol,
            "degree {degree}: T = 2: {last:e}"
        );
    }
}

fn hvp_cli() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_hvp"))
}

fn tmp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("hvp-compare-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// `hvp compare` end to end on the CPU: the plan with the resolution check, compare.csv with
/// every documented column, the plots and run.json; `hvp run` takes the same config.
#[test]
fn cli_compare_writes_its_outputs() {
    let out = tmp_dir("cli");
    let o = hvp_cli()
        .args([
            "--backend",
            "cpu",
            "compare",
            "configs/compare_calibration_1d.toml",
        ])
        .args(["--set", "time.t_end=0.5", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("resolution: momentum box πε/h = 6.4000"),
        "{stdout}"
    );
    assert!(stdout.contains("resolved"), "{stdout}");
    let csv = std::fs::read_to_string(out.join("compare.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    for col in [
        "t",
        "trace_norm",
        "trace_norm_over_n",
        "trace_norm_over_n_eps",
        "hs_norm",
        "rho_l1",
        "min_eig_tilde",
        "max_eig_tilde",
        "comm_x0",
        "comm_x0_tilde",
        "comm_x0_over_n_eps",
        "rho_comm_x0_l1",
        "rho_comm_x0_l5.5",
        "rho_comm_x0_l8_over_n_eps",
        "sobolev_bracket",
    ] {
        assert!(header.contains(&col), "no column {col} in {header:?}");
    }
    assert_eq!(csv.lines().count(), 1 + 6);
    let last: Vec<f64> = csv
        .lines()
        .last()
        .unwrap()
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    let col = |name: &str| last[header.iter().position(|c| *c == name).unwrap()];
    assert!((col("t") - 0.5).abs() < 1e-12);
    // Regression pin: the CPU value at t = 0.5 of the calibration (n = 128, degree 9, τ = 0.01),
    // a number this code produced (exact path). It is checked independently below.
    let pinned = col("trace_norm_over_n");
    assert!((pinned - 1.70584e-4).abs() < 1e-8, "{pinned:e}");
    // Independent of the pin: the same state resolved more finely (n = 160 points, and τ halved
    // at n = 128) must give the same value; docs/design.md section 5 has the reference converged
    // to 1e-5 relative in τ and to eight digits in n. Measured: n = 160 differs from the CSV by
    // −1.1e-5 relative, τ = 0.005 by −1.9e-5; asserted to 1e-4 relative (the GPU's f32, 0.4% off
    // here, or degree 5, would not pass a check this tight at T = 2).
    let cpu = CpuBackend::new();
    let finer_n = run(&cpu, 4.0, 160, 9, 0.5, &trace_only(), &trace_only());
    let finer_n = finer_n.last().unwrap();
    assert!((finer_n.t - 0.5).abs() < 1e-12);
    let finer_tau = {
        let phys = physics(4.0);
        let mut cmp = Comparison::new(&cpu, &phys, 128, 2.0 * PI, &numerics(9)).unwrap();
        let grid = HartreeGrid::new(1, 128, 2.0 * PI, Boundary::Periodic).unwrap();
        cmp.start(&cpu, &calibration_state().matrix(&grid, &phys).unwrap())
            .unwrap();
        cmp.advance(&cpu, 0.005, 100).unwrap();
        cmp.measure(&cpu, &trace_only()).unwrap()
    };
    assert!((finer_tau.t - 0.5).abs() < 1e-12);
    let (dn, dtau) = (
        finer_n.trace_norm_over_n() / pinned - 1.0,
        finer_tau.trace_norm_over_n() / pinned - 1.0,
    );
    eprintln!(
        "t = 0.5: CSV tr/N = {pinned:.8e}; n = 160: {:.8e} ({dn:+.2e}); τ = 0.005: {:.8e} ({dtau:+.2e})",
        finer_n.trace_norm_over_n(),
        finer_tau.trace_norm_over_n()
    );
    assert!(dn.abs() < 1e-4 && dtau.abs() < 1e-4, "{dn:e} {dtau:e}");
    for f in ["trace_norm.png", "bounds.png", "run.json"] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["resolution"]["resolved"], true);
    assert!((run["t_of_max"].as_f64().unwrap() - 0.5).abs() < 1e-9);

    let out2 = tmp_dir("cli-run");
    let o = hvp_cli()
        .args([
            "--backend",
            "cpu",
            "run",
            "configs/compare_calibration_1d.toml",
        ])
        .args([
            "--set",
            "time.t_end=0.1",
            "--set",
            "diagnostics.sobolev=false",
        ])
        .arg("--out")
        .arg(&out2)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out2.join("compare.csv").exists());
}

/// An unresolved grid is refused unless forced; an external potential (which the Vlasov
/// solver lacks) is refused with a message that says so.
#[test]
fn cli_compare_refuses_what_it_cannot_compare() {
    let out = tmp_dir("refuse");
    let base = |extra: &[&str]| {
        hvp_cli()
            .args([
                "--backend",
                "cpu",
                "compare",
                "configs/compare_calibration_1d.toml",
            ])
            .args([
                "--set",
                "time.t_end=0.1",
                "--set",
                "diagnostics.sobolev=false",
            ])
            .args(extra)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap()
    };
    // n = 48: the box holds |p| < 2.4, the state needs 6σ ≈ 6.1.
    let o = base(&["--set", "grid.n=48"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("does not resolve") && err.contains("--force") && err.contains("raise grid.n"),
        "{err}"
    );
    let o = base(&["--set", "grid.n=48", "--force"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("running anyway"));
    let o = base(&[
        "--set",
        "physics.external={type = \"harmonic\", omega = 1.0, centre = [3.0]}",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("no external potential"),
        "{err}"
    );
}
