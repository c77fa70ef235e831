//! The Newton–Schulz path of the comparison against the exact one (docs/design.md section 3: "both
//! paths cross-checked"): the `position_commutator` kernel on both backends, then every column
//! of compare.csv measured both ways on the same interacting states (advanced so that ω − ω̃ is
//! well above round-off), and what the plan says and refuses.

mod common;

use std::f64::consts::PI;
use std::time::Instant;

use common::{gpu, random_complex, rel_err, rng};
use hvp::compare::dense::{commutator, separation_line, separation_table};
use hvp::compare::job::CompareJob;
use hvp::compare::{CompareBackend, CompareRow, Comparison, MeasureOptions, TraceNormChoice};
use hvp::cpu::CpuBackend;
use hvp::hartree::init::HartreeInitial;
use hvp::hartree::spectrum::MAX_ROWS;
use hvp::hartree::{HartreeGrid, HartreePhysics};
use hvp::kernels::MatMul;
use hvp::kernels::MatrixKernels;
use hvp::plan::Limits;
use hvp::poisson::Boundary;
use hvp::tracenorm::TraceNormMethod;
use hvp::vlasov::init::Component;
use hvp::vlasov::{Numerics, Splitting};
use hvp::{Backend, Elem};

/// i[x_i, A] by the kernel against the dense host reference (`separation_table`), on a
/// non-cubic index range (d = 2, n = 6), both boundaries, each axis; on the GPU with chunks of
/// 30 elements (256 bytes, the smallest the backend takes) so that
/// chunks start mid-row chunk boundaries.
fn check_position_commutator<B: MatrixKernels>(b: &B, tol: f64, label: &str) {
    let mut r = rng(label);
    for boundary in [Boundary::Periodic, Boundary::Isolated] {
        let grid = HartreeGrid::new(2, 6, 3.0, boundary).unwrap();
        let p = grid.points();
        let a = random_complex(&mut r, p * p);
        let line = separation_line(&grid, boundary);
        let mut table = b.zeros(&[line.len()], Elem::Real).unwrap();
        b.upload_real(&mut table, &line).unwrap();
        for axis in 0..2 {
            let mut f = b.zeros(&grid.matrix_shape(), Elem::Complex).unwrap();
            b.upload_complex(&mut f, &a).unwrap();
            b.position_commutator(&mut f, &table, axis).unwrap();
            let want = commutator(&separation_table(&grid, boundary, axis), &a);
            let err = rel_err(&b.download_complex(&f).unwrap(), &want);
            assert!(err < tol, "{label} {boundary:?} axis {axis}: {err:e}");
        }
        // A table of the wrong length and an axis beyond the grid are errors, not panics.
        let mut f = b.zeros(&grid.matrix_shape(), Elem::Complex).unwrap();
        let short = b.zeros(&[6], Elem::Real).unwrap();
        assert!(b.position_commutator(&mut f, &short, 0).is_err());
        assert!(b.position_commutator(&mut f, &table, 2).is_err());
    }
}

/// (A + A†)/2 on the GPU against the host, and the refusal of a chunked matrix.
#[test]
fn hermitise_kernel_gpu() {
    let Some(g) = gpu(None) else { return };
    let mut r = rng("hermitise_gpu");
    for p in [1, 7, 100] {
        let a = random_complex(&mut r, p * p);
        let mut f = g.zeros(&[p, p], Elem::Complex).unwrap();
        g.upload_complex(&mut f, &a).unwrap();
        g.hermitise(&mut f).unwrap();
        let mut want = a.clone();
        hvp::kernels::hermitise(p, &mut want);
        let err = rel_err(&g.download_complex(&f).unwrap(), &want);
        assert!(err < 1e-7, "P = {p}: {err:e}");
    }
    let Some(small) = gpu(Some(64 << 10)) else {
        return;
    };
    let mut f = small.zeros(&[128, 128], Elem::Complex).unwrap();
    let err = small.hermitise(&mut f).unwrap_err().to_string();
    assert!(err.contains("one storage binding"), "{err}");
}

#[test]
fn position_commutator_kernel_cpu() {
    check_position_commutator(&CpuBackend::new(), 1e-15, "position_commutator_cpu");
}

#[test]
fn position_commutator_kernel_gpu() {
    let Some(g) = gpu(Some(256)) else { return };
    check_position_commutator(&g, 1e-6, "position_commutator_gpu");
}

/// A coherent-state mixture centred in the box, Coulomb (κ = 4), on a periodic box of side 2π.
fn setup<B: CompareBackend>(b: &B, dim: usize, n: usize, eps: f64) -> Comparison<B> {
    let physics = HartreePhysics {
        dim,
        epsilon: eps,
        particles: None,
        mass: 1.0,
        kappa: 4.0,
        gamma: 1.0,
        boundary: Boundary::Periodic,
        external: None,
        exchange: false,
    };
    let initial = HartreeInitial::CoherentMixture {
        delta: None,
        components: vec![Component::Gaussian {
            weight: 1.0,
            q: vec![PI; dim],
            p: vec![0.3; dim],
            sigma_q: 0.8,
            sigma_p: 1.0,
        }],
    };
    let numerics = Numerics {
        degree: 9,
        splitting: Splitting::Strang,
    };
    let mut cmp = Comparison::new(b, &physics, n, 2.0 * PI, &numerics).unwrap();
    let grid = HartreeGrid::new(dim, n, 2.0 * PI, Boundary::Periodic).unwrap();
    cmp.start(b, &initial.matrix(&grid, &physics).unwrap())
        .unwrap();
    cmp
}

fn options(trace_norm: TraceNormChoice) -> MeasureOptions {
    MeasureOptions {
        trace_norm,
        ..Default::default()
    }
}

/// Columns that both paths fill with one and the same code (the time, the Vlasov side's
/// Sobolev norms, mass and energy, the Hartree energy): equal by construction, so they prove
/// nothing about the Newton–Schulz path and are left out of the comparison.
const SHARED_COLUMNS: [&str; 9] = [
    "t",
    "sobolev_h3_4",
    "sobolev_h4_4",
    "sobolev_h5_4",
    "sobolev_h6_4",
    "sobolev_bracket",
    "vlasov_mass",
    "hartree_energy",
    "vlasov_energy",
];

/// The number of columns each path computes its own way: the trace norm and its scalings, the
/// Hilbert–Schmidt norm, ‖ρ − ρ̃‖_L1, the four extreme occupations (dense eigenvalues against
/// Lanczos), per axis the two commutator trace norms and the L1 and L^p norms of ρ_|[x,ω]|
/// (each with its /(Nε) scaling), and the Hartree trace.
fn path_columns(dim: usize, p_values: &[f64]) -> usize {
    10 + dim * 2 * (3 + p_values.len()) + 1
}

/// The largest relative difference per column between two rows, over the columns the two
/// paths compute differently (`SHARED_COLUMNS` left out), with min_eig measured against max_eig
/// (the smallest occupation sits at round-off, where a relative error means nothing); returns
/// (column, value) of the worst one, after asserting that every path column was compared.
fn worst_column(dim: usize, p_values: &[f64], a: &CompareRow, b: &CompareRow) -> (String, f64) {
    let names = CompareRow::columns(dim, p_values);
    let (ra, rb) = (a.row(), b.row());
    let mut worst = (String::new(), 0.0);
    let mut compared = 0;
    for (k, name) in names.iter().enumerate() {
        if SHARED_COLUMNS.contains(&name.as_str()) {
            continue;
        }
        assert!(
            ra[k].is_finite() && rb[k].is_finite(),
            "{name}: {} against {} (every path column must be measured)",
            ra[k],
            rb[k]
        );
        compared += 1;
        let scale = match name.as_str() {
            "min_eig" => rb[names.iter().position(|c| c == "max_eig").unwrap()].abs(),
            "min_eig_tilde" => rb[names.iter().position(|c| c == "max_eig_tilde").unwrap()].abs(),
            _ => rb[k].abs(),
        };
        let e = (ra[k] - rb[k]).abs() / scale.max(1e-300);
        assert!(e.is_finite(), "{name}: {} against {}", ra[k], rb[k]);
        if e > worst.1 {
            worst = (name.clone(), e);
        }
    }
    assert_eq!(
        compared,
        path_columns(dim, p_values),
        "columns compared (d = {dim}, {} p values)",
        p_values.len()
    );
    worst
}

/// Both paths on one backend after `steps` steps of τ = 0.01; returns the worst column.
fn both_paths<B: CompareBackend>(
    b: &B,
    dim: usize,
    n: usize,
    eps: f64,
    steps: usize,
) -> (String, f64) {
    let mut cmp = setup(b, dim, n, eps);
    // t = 0: ω − ω̃ is round-off, as far from Hermitian as it is large; the iteration must
    // neither diverge nor report more than round-off.
    let r0 = cmp
        .measure(b, &options(TraceNormChoice::NewtonSchulz))
        .unwrap();
    let floor = if b.real_bytes() == 4 { 1e-5 } else { 1e-12 };
    assert!(
        r0.trace_norm_over_n() < floor,
        "t = 0: {:e}",
        r0.trace_norm_over_n()
    );
    cmp.advance(b, 0.01, steps).unwrap();
    let started = Instant::now();
    let exact = cmp.measure(b, &options(TraceNormChoice::Exact)).unwrap();
    let t_exact = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let ns = cmp
        .measure(b, &options(TraceNormChoice::NewtonSchulz))
        .unwrap();
    let t_ns = started.elapsed().as_secs_f64();
    let it = &ns.iterations;
    assert_eq!(it.method, TraceNormMethod::NewtonSchulz);
    assert_eq!(exact.iterations.method, TraceNormMethod::Exact);
    assert!(it.converged, "{it:?}");
    assert_eq!(it.newton_schulz_runs, 1 + 2 * dim);
    // Not round-off: ω − ω̃ has grown under the interaction.
    assert!(
        exact.trace_norm_over_n() > 1e-5,
        "{:e}",
        exact.trace_norm_over_n()
    );
    let (col, err) = worst_column(dim, &MeasureOptions::default().p_values, &ns, &exact);
    eprintln!(
        "{}: d = {dim}, n = {n}, t = 0: tr/N = {:.1e}; t = {:.2}: tr/N = {:.6e} (Newton–Schulz {:.6e}), ‖ρ − ρ̃‖_L1 = {:.3e}, \
         tr|[x0, ω̃]| = {:.6e}, eig(ω̃) in [{:.3e}, {:.6}]; Newton–Schulz ≤ {} steps (change ≤ {:.1e}), \
         Lanczos ≤ {} steps (residual ≤ {:.1e}); worst column {col}: {err:.2e}; exact {t_exact:.2} s, \
         iterative {t_ns:.2} s",
        b.describe(),
        r0.trace_norm_over_n(),
        exact.t,
        exact.trace_norm_over_n(),
        ns.trace_norm_over_n(),
        exact.rho_l1,
        exact.axes[0].comm_tilde,
        exact.min_eig_tilde,
        exact.max_eig_tilde,
        it.newton_schulz_steps,
        it.newton_schulz_residual,
        it.lanczos_steps,
        it.lanczos_residual,
    );
    (col, err)
}

/// f64: every column of the two paths agrees to 1e-9 relative (measured at t = 0.3, tr/N =
/// 1.4e-3 and 4.7e-2: d = 1, n = 32: worst 6e-15 (trace_norm); d = 2, n = 8: worst 9e-15
/// (rho_comm_x1_l5.5); Newton–Schulz took at most 31 steps, Lanczos reached P steps).
#[test]
fn newton_schulz_path_matches_exact_cpu() {
    let cpu = CpuBackend::new();
    for (dim, n, eps) in [(1, 32, 0.25), (2, 8, 0.5)] {
        let (col, err) = both_paths(&cpu, dim, n, eps, 30);
        assert!(err < 1e-9, "d = {dim}: {col} differs by {err:e}");
    }
}

/// f32 on the GPU: both paths read the same device matrices (the exact one after download, in
/// f64 on the host); every column agrees to 1e-5 relative (measured on lavapipe:
/// d = 1, n = 32: worst 9e-8 (rho_comm_x0_l8); d = 2, n = 8: worst 1.4e-6 (comm_x1)).
#[test]
fn newton_schulz_path_matches_exact_gpu() {
    let Some(g) = gpu(None) else { return };
    for (dim, n, eps) in [(1, 32, 0.25), (2, 8, 0.5)] {
        let (col, err) = both_paths(&g, dim, n, eps, 30);
        assert!(err < 1e-5, "d = {dim}: {col} differs by {err:e}");
    }
}

/// Limits of a large device with its own memory (the plan's path choice is tested here, not
/// the host's memory, which the 9216-row case would exceed on the CPU backend).
fn limits(chunk_bytes: Option<u64>) -> Limits {
    Limits {
        device: "test device".into(),
        real_bytes: if chunk_bytes.is_some() { 4 } else { 8 },
        chunk_bytes,
        max_line: None,
        max_buffer_bytes: Some(1 << 40),
    }
}

/// The calibration config turned 2D at n = 96 (9216 rows, above the dense limit).
fn job_2d(trace_norm: &str) -> CompareJob {
    let table = hvp::config::load(
        std::path::Path::new("configs/compare_calibration_1d.toml"),
        &[
            "physics.dim=2".into(),
            "grid.n=96".into(),
            "diagnostics.sobolev=false".into(),
            format!("diagnostics.trace_norm=\"{trace_norm}\""),
            "initial.components=[{shape = \"gaussian\", weight = 1.0, q = [3.14, 3.14], \
             p = [0.0, 0.0], sigma_q = 1.0, sigma_p = 1.0}]"
                .into(),
        ],
    )
    .unwrap();
    hvp::config::job(&table).unwrap()
}

/// auto is exact up to MAX_ROWS and Newton–Schulz above; exact above is refused with what to
/// do; the plan takes 9216 rows on the Newton–Schulz path (f64 limits) and refuses them where
/// one matrix would not fit one storage binding.
#[test]
fn the_plan_picks_and_refuses_paths() {
    assert_eq!(
        TraceNormChoice::Auto.resolve(MAX_ROWS).unwrap(),
        TraceNormMethod::Exact
    );
    assert_eq!(
        TraceNormChoice::Auto.resolve(MAX_ROWS + 1).unwrap(),
        TraceNormMethod::NewtonSchulz
    );
    assert_eq!(
        TraceNormChoice::NewtonSchulz.resolve(8).unwrap(),
        TraceNormMethod::NewtonSchulz
    );
    let err = format!("{:#}", job_2d("exact").plan(&limits(None)).err().unwrap());
    assert!(
        err.contains("newton-schulz") && err.contains("9216"),
        "{err}"
    );
    for choice in ["auto", "newton-schulz"] {
        let plan = job_2d(choice).plan(&limits(None)).unwrap();
        assert_eq!(plan.grid.points(), 9216);
        assert_eq!(
            plan.options.trace_norm.resolve(9216).unwrap(),
            TraceNormMethod::NewtonSchulz
        );
        assert_eq!(plan.options.tolerance, Some(1e-12));
    }
    let err = format!(
        "{:#}",
        job_2d("newton-schulz")
            .plan(&limits(Some(128 << 20)))
            .err()
            .unwrap()
    );
    assert!(err.contains("one storage binding"), "{err}");
    let mut bad = job_2d("newton-schulz");
    bad.diagnostics.tolerance = Some(-1.0);
    assert!(bad.plan(&limits(None)).is_err());
}
