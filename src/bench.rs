//! Measurements: the FFT's effective bandwidth next to a plain copy of the same bytes, measured
//! in the same run on the same backend (docs/design.md section 7: the ratio is the figure of merit;
//! absolute numbers hold only for the named device).

use std::time::Instant;

use anyhow::Result;
use num_complex::Complex64;
use serde::Serialize;

use crate::backend::{Backend, FftDirection, FieldInfo};
use crate::field::Elem;
use crate::vlasov::{init::Initial, GridConfig, Numerics, PhaseGrid, Physics, Vlasov};

/// One measured FFT case.
#[derive(Clone, Debug, Serialize)]
pub struct FftCase {
    pub case: String,
    pub backend: String,
    pub shape: Vec<usize>,
    pub axes: Vec<usize>,
    /// Bytes of one stored complex number (8 for f32, 16 for f64).
    pub complex_bytes: usize,
    /// Calls per timed batch (three batches; the fastest counts).
    pub reps: usize,
    /// Wall-clock seconds per transform (all axes), from first submit to completion.
    pub seconds: f64,
    /// Bytes read plus written per pass over the array, times the number of axes, per second.
    pub fft_gb_per_s: f64,
    /// The same for a device-to-device copy of the array, measured in the same run.
    pub copy_gb_per_s: f64,
    /// fft_gb_per_s / copy_gb_per_s.
    pub ratio: f64,
    /// GPU time per transform from timestamp queries (sum of the kernel passes; the copies of
    /// the cross-chunk gather are not inside passes and not counted), where the adapter has them.
    pub gpu_pass_seconds: Option<f64>,
}

/// Calls of the operation that `time_op` makes before the timed batches (warm-ups).
pub const WARMUP_CALLS: usize = 2;
/// Timed batches of `time_op`.
pub const BATCHES: usize = 3;

/// Times `op`: after the warm-ups, three batches of calls filling about `budget` seconds in
/// all; returns (seconds per call of the fastest batch, calls per batch). The fastest batch is
/// the least disturbed by whatever else the machine does.
pub fn time_op<B: Backend>(
    backend: &B,
    budget: f64,
    mut op: impl FnMut() -> Result<()>,
) -> Result<(f64, usize)> {
    op()?;
    backend.synchronize()?;
    let t0 = Instant::now();
    op()?;
    backend.synchronize()?;
    let first = t0.elapsed().as_secs_f64();
    let reps = ((budget / BATCHES as f64 / first.max(1e-6)) as usize).clamp(1, 100);
    let mut best = f64::INFINITY;
    for _ in 0..BATCHES {
        let t = Instant::now();
        for _ in 0..reps {
            op()?;
        }
        backend.synchronize()?;
        best = best.min(t.elapsed().as_secs_f64() / reps as f64);
    }
    Ok((best, reps))
}

/// Copy bandwidth (read + write bytes per second) for an array of `shape` and `elem`.
pub fn copy_bandwidth<B: Backend>(
    backend: &B,
    shape: &[usize],
    elem: Elem,
    budget: f64,
) -> Result<f64> {
    let mut src = backend.zeros(shape, elem)?;
    let mut dst = backend.zeros(shape, elem)?;
    // Write both first: never-touched memory can read as the shared zero page and make a copy
    // look many times faster than memory is.
    let one = match elem {
        Elem::Real => Complex64::new(1.0, 0.0),
        Elem::Complex => Complex64::new(1.0, 0.5),
    };
    backend.fill(&mut src, one)?;
    backend.fill(&mut dst, Complex64::new(0.0, 0.0))?;
    let (secs, _) = time_op(backend, budget, || backend.copy(&src, &mut dst))?;
    let bytes = 2.0 * src.len() as f64 * elem.components() as f64 * backend.real_bytes() as f64;
    Ok(bytes / secs)
}

/// Measures the forward FFT of a random complex array of `shape` along `axes`.
pub fn fft_case<B: Backend>(
    backend: &B,
    label: &str,
    case: &str,
    shape: &[usize],
    axes: &[usize],
    budget: f64,
) -> Result<FftCase> {
    let mut field = backend.zeros(shape, Elem::Complex)?;
    let n = field.len();
    // Cheap deterministic "random" data: the values do not change the timing.
    let data: Vec<Complex64> = (0..n)
        .map(|i| {
            let x = (i as f64 * 0.618_033_988_749).fract();
            Complex64::new(x - 0.5, 0.25 - x * x)
        })
        .collect();
    backend.upload_complex(&mut field, &data)?;
    drop(data);
    let (seconds, reps) = time_op(backend, budget, || {
        backend.fft(&mut field, axes, FftDirection::Forward)
    })?;
    let complex_bytes = 2 * backend.real_bytes();
    let bytes = 2.0 * n as f64 * complex_bytes as f64 * axes.len() as f64;
    let fft_bw = bytes / seconds;
    drop(field);
    let copy_bw = copy_bandwidth(backend, shape, Elem::Complex, budget)?;
    Ok(FftCase {
        case: case.to_string(),
        backend: label.to_string(),
        shape: shape.to_vec(),
        axes: axes.to_vec(),
        complex_bytes,
        reps,
        seconds,
        fft_gb_per_s: fft_bw * 1e-9,
        copy_gb_per_s: copy_bw * 1e-9,
        ratio: fft_bw / copy_bw,
        gpu_pass_seconds: None,
    })
}

/// The FFT cases of `hvp bench fft` for an array budget of `max_bytes` per array (f32 complex
/// counted at 8 bytes per element): batched lines of several lengths, the largest cube that
/// fits, and each axis of a 6D array.
pub fn fft_cases(max_bytes: u64, max_line: usize) -> Vec<(String, Vec<usize>, Vec<usize>)> {
    let max_elems = (max_bytes / 8) as usize;
    let mut cases = Vec::new();
    let total_1d = max_elems.min(1 << 24);
    for n in [64usize, 1024, 4096] {
        if n <= max_line && n <= total_1d {
            cases.push((format!("lines n={n}"), vec![total_1d / n, n], vec![1]));
        }
    }
    let mut cube = 2usize;
    while (2 * cube).pow(3) <= max_elems && 2 * cube <= max_line {
        cube *= 2;
    }
    cases.push((format!("cube {cube}^3"), vec![cube; 3], vec![0, 1, 2]));
    let six = if 16usize.pow(6) <= max_elems { 16 } else { 8 };
    for axis in 0..6 {
        cases.push((format!("{six}^6 axis {axis}"), vec![six; 6], vec![axis]));
    }
    cases
}

/// Prints the cases as a table.
pub fn print_fft_table(cases: &[FftCase]) {
    println!(
        "{:<18} {:<8} {:>12} {:>10} {:>13} {:>11} {:>11} {:>7}",
        "case", "backend", "elements", "ms", "GPU pass ms", "FFT GB/s", "copy GB/s", "ratio"
    );
    for c in cases {
        let pass = c
            .gpu_pass_seconds
            .map_or("-".to_string(), |s| format!("{:.3}", s * 1e3));
        println!(
            "{:<18} {:<8} {:>12} {:>10.3} {:>13} {:>11.2} {:>11.2} {:>7.2}",
            c.case,
            c.backend,
            c.shape.iter().product::<usize>(),
            c.seconds * 1e3,
            pass,
            c.fft_gb_per_s,
            c.copy_gb_per_s,
            c.ratio
        );
    }
}

/// One measured Vlasov case: Strang steps and single sweeps against the copy roofline.
#[derive(Clone, Debug, Serialize)]
pub struct VlasovCase {
    pub backend: String,
    pub dim: usize,
    pub nx: usize,
    pub np: usize,
    pub cells: usize,
    /// Seconds per Strang step, timed over runs of `VLASOV_BENCH_STEPS` steps as a run
    /// between outputs makes them (kick and drift groups, half drifts merged, the density
    /// sum and the Poisson solve).
    pub seconds_per_step: f64,
    pub cell_updates_per_s: f64,
    /// Reads and writes of f per step from the passes' geometry (`vlasov::StepTraffic`).
    pub passes_per_step: f64,
    /// Bytes per cell and step: 2 × passes × (bytes of one real).
    pub bytes_per_cell_step: f64,
    /// The passes, in words (fused or per-axis, and why).
    pub passes: String,
    /// Copy bandwidth (read + write) of an array of the same cells, same run.
    pub copy_gb_per_s: f64,
    /// copy bandwidth / bytes_per_cell_step: the cell updates per second a step would reach
    /// at copy speed.
    pub roofline_cell_updates_per_s: f64,
    /// cell_updates_per_s / roofline_cell_updates_per_s.
    pub ratio: f64,
    /// One sweep along x_0 (the most strided axis) and along the last momentum axis
    /// (contiguous), each as a fraction of the copy bandwidth.
    pub sweep_ratio_x0: f64,
    pub sweep_ratio_p_last: f64,
}

/// Steps per timed call of the Vlasov bench: a run between outputs, whose drift half steps
/// merge (8 steps make 9 drift groups).
pub const VLASOV_BENCH_STEPS: usize = 8;

/// The Vlasov state the bench times: Landau damping (k = 0.5, unit thermal spread, amplitude
/// `alpha`) on a periodic box of side 4π with p in [−6, 6), nx and np points per axis.
pub fn weak_landau<B: Backend + crate::kernels::Advection>(
    backend: &B,
    dim: usize,
    nx: usize,
    np: usize,
    alpha: f64,
    numerics: &Numerics,
) -> Result<Vlasov<B>> {
    let physics = Physics {
        dim,
        mass: 1.0,
        kappa: 1.0,
        gamma: 1.0,
        boundary: crate::poisson::Boundary::Periodic,
    };
    let grid_cfg = GridConfig {
        nx,
        np,
        length: 4.0 * std::f64::consts::PI,
        p_max: 6.0,
    };
    let grid = PhaseGrid::new(dim, &grid_cfg, physics.boundary)?;
    let mut solver = Vlasov::new(backend, &physics, &grid_cfg, numerics)?;
    let init = Initial::Landau {
        alpha,
        k: 0.5,
        thermal: 1.0,
    };
    solver.set_f(backend, &init.sample(&grid, &physics))?;
    Ok(solver)
}

/// Measures the Vlasov step of a weak Landau state on a dim-D grid of nx, np points per axis.
pub fn vlasov_case<B: Backend + crate::kernels::Advection>(
    backend: &B,
    label: &str,
    dim: usize,
    nx: usize,
    np: usize,
    budget: f64,
) -> Result<VlasovCase> {
    use crate::kernels::{LineBoundary, LineShift};
    let mut solver = weak_landau(backend, dim, nx, np, 0.01, &Numerics::default())?;
    let grid = solver.grid.clone();
    let dt = 0.1;
    let traffic = solver.traffic(backend);
    let (seconds, _) = time_op(backend, budget, || {
        solver.advance(backend, dt, VLASOV_BENCH_STEPS)
    })?;
    let seconds = seconds / VLASOV_BENCH_STEPS as f64;
    let cells = grid.cells();
    let shape = grid.shape();
    let sweep_bytes = 2.0 * cells as f64 * backend.real_bytes() as f64;
    let mut table = backend.zeros(&[np], Elem::Real)?;
    backend.upload_real(&mut table, &vec![0.37; np])?;
    let mut sweep = |axis: usize, div: usize| -> Result<f64> {
        let shift = LineShift {
            axis,
            degree: solver.numerics.degree,
            boundary: LineBoundary::Periodic,
            scale: 1.0,
            table_div: div,
        };
        let (s, _) = time_op(backend, budget / 2.0, || {
            backend.shift_lines(&mut solver.f, &table, &shift)
        })?;
        Ok(sweep_bytes / s)
    };
    let strides = crate::field::strides_of(&shape);
    let sweep_x0 = sweep(0, strides[dim])?;
    // Along the last momentum axis, as a kick does: one shift per position (the table index
    // changes once per momentum block).
    let sweep_last = sweep(2 * dim - 1, np.pow(dim as u32))?;
    drop(solver);
    let copy = copy_bandwidth(backend, &shape, Elem::Real, budget)?;
    let bytes_per_cell_step = traffic.bytes_per_cell_step(VLASOV_BENCH_STEPS);
    let rate = cells as f64 / seconds;
    let roofline = copy / bytes_per_cell_step;
    Ok(VlasovCase {
        backend: label.to_string(),
        dim,
        nx,
        np,
        cells,
        seconds_per_step: seconds,
        cell_updates_per_s: rate,
        passes_per_step: traffic.passes_per_step(VLASOV_BENCH_STEPS),
        bytes_per_cell_step,
        passes: traffic.describe(VLASOV_BENCH_STEPS),
        copy_gb_per_s: copy * 1e-9,
        roofline_cell_updates_per_s: roofline,
        ratio: rate / roofline,
        sweep_ratio_x0: sweep_x0 / copy,
        sweep_ratio_p_last: sweep_last / copy,
    })
}

/// The Vlasov cases of `hvp bench vlasov` whose f32 phase space fits `max_bytes`.
pub fn vlasov_cases(max_bytes: u64) -> Vec<(usize, usize, usize)> {
    let all = [
        (1, 256, 1024),
        (1, 1024, 4096),
        (2, 32, 64),
        (2, 64, 128),
        (3, 16, 16),
        (3, 16, 32),
        (3, 32, 32),
    ];
    all.into_iter()
        .filter(|&(d, nx, np)| ((nx * np) as u64).pow(d as u32) * 4 <= max_bytes)
        .collect()
}

pub fn print_vlasov_table(cases: &[VlasovCase]) {
    println!(
        "{:<8} {:>3} {:>5} {:>5} {:>11} {:>10} {:>13} {:>7} {:>10} {:>13} {:>7} {:>9} {:>9}",
        "backend",
        "d",
        "nx",
        "np",
        "cells",
        "ms/step",
        "cells/s",
        "B/cell",
        "copy GB/s",
        "roofline/s",
        "ratio",
        "sweep x0",
        "sweep p"
    );
    for c in cases {
        println!(
            "{:<8} {:>3} {:>5} {:>5} {:>11} {:>10.3} {:>13.3e} {:>7.1} {:>10.2} {:>13.3e} {:>7.3} {:>9.3} {:>9.3}",
            c.backend,
            c.dim,
            c.nx,
            c.np,
            c.cells,
            c.seconds_per_step * 1e3,
            c.cell_updates_per_s,
            c.bytes_per_cell_step,
            c.copy_gb_per_s,
            c.roofline_cell_updates_per_s,
            c.ratio,
            c.sweep_ratio_x0,
            c.sweep_ratio_p_last
        );
    }
}

/// One measured Hartree case: Strang steps (kinetic half steps merged, as runs do) against the
/// copy roofline.
#[derive(Clone, Debug, Serialize)]
pub struct HartreeCase {
    pub backend: String,
    pub dim: usize,
    pub n: usize,
    /// Entries of the density matrix, (n^d)².
    pub entries: usize,
    pub seconds_per_step: f64,
    pub steps_per_s: f64,
    /// Bytes per step if every pass reads and writes the matrix once: per step two FFTs over
    /// all 2d axes (4d axis passes) and two phase passes, each reading and writing every
    /// complex entry: (4d + 2) × 2 × (bytes of a complex number) × entries.
    pub bytes_per_step: f64,
    /// Copy bandwidth (read + write) of a complex array of the same entries, same run.
    pub copy_gb_per_s: f64,
    /// copy bandwidth / bytes_per_step.
    pub roofline_steps_per_s: f64,
    /// steps_per_s / roofline_steps_per_s.
    pub ratio: f64,
}

/// Measures merged Hartree steps of the calibration-like state on a d-dimensional grid of n
/// points per axis.
pub fn hartree_case<B: Backend + crate::kernels::MatrixKernels>(
    backend: &B,
    label: &str,
    dim: usize,
    n: usize,
    budget: f64,
) -> Result<HartreeCase> {
    use crate::hartree::init::HartreeInitial;
    use crate::hartree::solver::Hartree;
    use crate::hartree::HartreePhysics;
    use crate::vlasov::init::Component;
    let length = 2.0 * std::f64::consts::PI;
    let epsilon = 0.1f64.max(1.0 / n as f64);
    let physics = HartreePhysics {
        dim,
        epsilon,
        particles: None,
        mass: 1.0,
        kappa: 4.0,
        gamma: 1.0,
        boundary: crate::poisson::Boundary::Periodic,
        external: None,
        exchange: false,
    };
    let mut solver = Hartree::new(backend, &physics, n, length)?;
    let init = HartreeInitial::CoherentMixture {
        delta: None,
        components: vec![Component::Gaussian {
            weight: 1.0,
            q: vec![std::f64::consts::PI; dim],
            p: vec![0.0; dim],
            sigma_q: 1.0,
            sigma_p: 1.0,
        }],
    };
    let a = init.matrix(&solver.grid, &physics)?;
    solver.set_matrix(backend, &a)?;
    drop(a);
    // Ten merged steps per call: the per-step cost of a run between outputs.
    let steps = 10;
    let (seconds, _) = time_op(backend, budget, || solver.advance(backend, 0.01, steps))?;
    let seconds_per_step = seconds / steps as f64;
    let entries = solver.grid.points().pow(2);
    let shape = solver.grid.matrix_shape();
    drop(solver);
    let copy = copy_bandwidth(backend, &shape, Elem::Complex, budget)?;
    let bytes_per_step =
        (4 * dim + 2) as f64 * 2.0 * 2.0 * backend.real_bytes() as f64 * entries as f64;
    let roofline = copy / bytes_per_step;
    Ok(HartreeCase {
        backend: label.to_string(),
        dim,
        n,
        entries,
        seconds_per_step,
        steps_per_s: 1.0 / seconds_per_step,
        bytes_per_step,
        copy_gb_per_s: copy * 1e-9,
        roofline_steps_per_s: roofline,
        ratio: 1.0 / seconds_per_step / roofline,
    })
}

/// The Hartree cases of `hvp bench hartree` whose complex f32 matrix fits `max_bytes`.
pub fn hartree_cases(max_bytes: u64) -> Vec<(usize, usize)> {
    [(1, 256), (1, 1024), (2, 16), (2, 32), (3, 8), (3, 16)]
        .into_iter()
        .filter(|&(d, n)| (n as u64).pow(2 * d as u32) * 8 <= max_bytes)
        .collect()
}

pub fn print_hartree_table(cases: &[HartreeCase]) {
    println!(
        "{:<8} {:>3} {:>5} {:>11} {:>10} {:>10} {:>10} {:>12} {:>7}",
        "backend", "d", "n", "entries", "ms/step", "steps/s", "copy GB/s", "roofline/s", "ratio"
    );
    for c in cases {
        println!(
            "{:<8} {:>3} {:>5} {:>11} {:>10.3} {:>10.2} {:>10.2} {:>12.2} {:>7.3}",
            c.backend,
            c.dim,
            c.n,
            c.entries,
            c.seconds_per_step * 1e3,
            c.steps_per_s,
            c.copy_gb_per_s,
            c.roofline_steps_per_s,
            c.ratio
        );
    }
}
