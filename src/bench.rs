//! Measurements: the FFT's effective bandwidth next to a plain copy of the same bytes, measured
//! in the same run on the same backend (docs/design.md section 7: the ratio is the figure of merit;
//! absolute numbers hold only for the named device).

use std::time::Instant;

use anyhow::Result;
use num_complex::Complex64;
use serde::Serialize;

use crate::backend::{Backend, FftDirection, FieldInfo};
use crate::field::Elem;
use crate::vlasov::{init::Initial, GridConfig, Numerics, Physics, Vlasov};

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

/// What one step records for the device, averaged over the steps of one call (after the
/// warm-ups, so that no bind group is new): zero on the CPU.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct StepRecording {
    pub submits_per_step: f64,
    pub dispatches_per_step: f64,
    pub copies_per_step: f64,
    pub bind_groups_created_per_step: f64,
}

/// What `op` recorded for the device, from a synchronised start to its completion.
pub fn recorded<B: Backend>(
    backend: &B,
    op: impl FnOnce() -> Result<()>,
) -> Result<crate::backend::RecordCounts> {
    backend.synchronize()?;
    let before = backend.record_counts();
    op()?;
    backend.synchronize()?;
    Ok(backend.record_counts().since(&before))
}

/// The recording of one call of `op`, which makes `steps` steps (call it after `time_op`).
pub fn step_recording<B: Backend>(
    backend: &B,
    steps: usize,
    op: impl FnOnce() -> Result<()>,
) -> Result<StepRecording> {
    let c = recorded(backend, op)?;
    let per = |v: u64| v as f64 / steps as f64;
    Ok(StepRecording {
        submits_per_step: per(c.submits),
        dispatches_per_step: per(c.dispatches),
        copies_per_step: per(c.copies),
        bind_groups_created_per_step: per(c.bind_groups_created),
    })
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
    /// One sweep along each axis x_0 … x_(d−1), p_0 … p_(d−1) alone, as a fraction of the copy
    /// bandwidth: a drift along x_i (one shift per p_i) and a kick along p_i (one shift per
    /// position cell).
    pub sweep_ratio_per_axis: Vec<f64>,
    /// Submits, dispatches and copies per step on a device.
    #[serde(flatten)]
    pub recording: StepRecording,
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
    let mut solver = Vlasov::new(backend, &physics, &grid_cfg, numerics)?;
    let init = Initial::Landau {
        alpha,
        k: 0.5,
        thermal: 1.0,
    };
    // Slab by slab: the host never holds all of f (8 GiB of f64 at 32⁶).
    solver.load(backend, &init)?;
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
    let recording = step_recording(backend, VLASOV_BENCH_STEPS, || {
        solver.advance(backend, dt, VLASOV_BENCH_STEPS)
    })?;
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
    let sweeps = (0..2 * dim)
        .map(|axis| match axis < dim {
            // A drift: the shift along x_i follows p_i.
            true => sweep(axis, strides[dim + axis]),
            // A kick: one shift per position cell (the table index changes once per momentum
            // block).
            false => sweep(axis, np.pow(dim as u32)),
        })
        .collect::<Result<Vec<f64>>>()?;
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
        sweep_ratio_x0: sweeps[0] / copy,
        sweep_ratio_p_last: sweeps[2 * dim - 1] / copy,
        sweep_ratio_per_axis: sweeps.iter().map(|s| s / copy).collect(),
        recording,
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
        (3, 24, 24),
        (3, 32, 32),
    ];
    all.into_iter()
        .filter(|&(d, nx, np)| ((nx * np) as u64).pow(d as u32) * 4 <= max_bytes)
        .collect()
}

pub fn print_vlasov_table(cases: &[VlasovCase]) {
    println!(
        "{:<8} {:>3} {:>5} {:>5} {:>11} {:>10} {:>13} {:>7} {:>10} {:>13} {:>7} {:>9} {:>9} {:>8} {:>10}",
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
        "sweep p",
        "submits",
        "dispatches"
    );
    for c in cases {
        println!(
            "{:<8} {:>3} {:>5} {:>5} {:>11} {:>10.3} {:>13.3e} {:>7.1} {:>10.2} {:>13.3e} {:>7.3} {:>9.3} {:>9.3} {:>8.3} {:>10.2}",
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
            c.sweep_ratio_p_last,
            c.recording.submits_per_step,
            c.recording.dispatches_per_step
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
    /// Submits, dispatches and copies per step on a device.
    #[serde(flatten)]
    pub recording: StepRecording,
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
    let recording = step_recording(backend, steps, || solver.advance(backend, 0.01, steps))?;
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
        recording,
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
        "{:<8} {:>3} {:>5} {:>11} {:>10} {:>10} {:>10} {:>12} {:>7} {:>8} {:>10}",
        "backend",
        "d",
        "n",
        "entries",
        "ms/step",
        "steps/s",
        "copy GB/s",
        "roofline/s",
        "ratio",
        "submits",
        "dispatches"
    );
    for c in cases {
        println!(
            "{:<8} {:>3} {:>5} {:>11} {:>10.3} {:>10.2} {:>10.2} {:>12.2} {:>7.3} {:>8.3} {:>10.2}",
            c.backend,
            c.dim,
            c.n,
            c.entries,
            c.seconds_per_step * 1e3,
            c.steps_per_s,
            c.copy_gb_per_s,
            c.roofline_steps_per_s,
            c.ratio,
            c.recording.submits_per_step,
            c.recording.dispatches_per_step
        );
    }
}

/// One copy of a real array: the roofline the other cases are fractions of.
#[derive(Clone, Debug, Serialize)]
pub struct CopyCase {
    pub backend: String,
    pub elements: usize,
    /// Bytes read plus written per copy.
    pub bytes: f64,
    pub gb_per_s: f64,
}

/// What `hvp bench all` measured on one backend, and the cases it did not run, with why.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AllReport {
    pub device: String,
    pub copy: Vec<CopyCase>,
    /// Each axis of the 6D arrays that Hartree at d = 3 transforms.
    pub fft: Vec<FftCase>,
    /// Strang steps of the 6D Landau state (with the sweep of each axis alone).
    pub vlasov: Vec<VlasovCase>,
    pub hartree: Vec<HartreeCase>,
    pub not_run: Vec<String>,
}

/// Arrays `hvp bench all` copies: 2^24, 2^28 and 2^30 reals.
pub const ALL_COPY_LOG2: [u32; 3] = [24, 28, 30];
/// Points per axis of the 6D FFT cases (one per axis).
pub const ALL_FFT_6D: [usize; 2] = [16, 24];
/// (d, nx, np) of the Strang cases.
pub const ALL_VLASOV: [(usize, usize, usize); 4] =
    [(3, 16, 16), (3, 24, 24), (3, 32, 32), (3, 48, 48)];
/// (d, n) of the Hartree cases.
pub const ALL_HARTREE: [(usize, usize); 2] = [(3, 16), (3, 24)];

/// Runs one case of `hvp bench all` unless its arrays need more than `max_bytes`; a case
/// skipped or failed goes to `not_run` with the reason, so that the others go on.
fn attempt<T>(
    not_run: &mut Vec<String>,
    label: &str,
    max_bytes: u64,
    name: String,
    bytes: u64,
    run: impl FnOnce() -> Result<T>,
) -> Option<T> {
    let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
    if bytes > max_bytes {
        not_run.push(format!(
            "{name}: needs {:.1} GiB, over the limit of {:.1} GiB",
            gib(bytes),
            gib(max_bytes)
        ));
        return None;
    }
    eprintln!("bench all: {label} {name} ...");
    run()
        .map_err(|e| {
            eprintln!("bench all: {label} {name}: {e:#}");
            not_run.push(format!("{name}: {e:#}"));
        })
        .ok()
}

/// Every case of `hvp bench all` on one backend, each skipped (and listed in `not_run`) when
/// its arrays would exceed `max_bytes` in all or when it fails (out of memory, beyond an index
/// limit), so that one missing case does not lose the others. `seconds` is the timing budget
/// of each case.
pub fn run_all<B>(backend: &B, label: &str, max_bytes: u64, seconds: f64) -> Result<AllReport>
where
    B: Backend + crate::kernels::Advection + crate::kernels::MatrixKernels,
{
    let rb = backend.real_bytes() as u64;
    let mut r = AllReport {
        device: backend.describe(),
        ..Default::default()
    };
    let nr = &mut r.not_run;
    for log2 in ALL_COPY_LOG2 {
        let n = 1usize << log2;
        let bytes = 2 * n as u64 * rb;
        r.copy.extend(attempt(
            nr,
            label,
            max_bytes,
            format!("copy 2^{log2}"),
            bytes,
            || {
                Ok(CopyCase {
                    backend: label.to_string(),
                    elements: n,
                    bytes: bytes as f64,
                    gb_per_s: copy_bandwidth(backend, &[n], Elem::Real, seconds)? * 1e-9,
                })
            },
        ));
    }
    for n in ALL_FFT_6D {
        // The complex array and the copy's second one.
        let bytes = 2 * (n as u64).pow(6) * 2 * rb;
        for axis in 0..6 {
            let case = format!("{n}^6 axis {axis}");
            r.fft.extend(attempt(
                nr,
                label,
                max_bytes,
                format!("fft {case}"),
                bytes,
                || fft_case(backend, label, &case, &[n; 6], &[axis], seconds),
            ));
        }
    }
    for (d, nx, np) in ALL_VLASOV {
        let bytes = 2 * ((nx * np) as u64).pow(d as u32) * rb;
        let name = format!("vlasov {d}D nx = {nx}, np = {np}");
        r.vlasov
            .extend(attempt(nr, label, max_bytes, name, bytes, || {
                vlasov_case(backend, label, d, nx, np, seconds)
            }));
    }
    for (d, n) in ALL_HARTREE {
        // The matrix, the solver's work matrix and the copy's second array, complex.
        let bytes = 3 * (n as u64).pow(2 * d as u32) * 2 * rb;
        let name = format!("hartree {d}D n = {n}");
        r.hartree
            .extend(attempt(nr, label, max_bytes, name, bytes, || {
                hartree_case(backend, label, d, n, seconds)
            }));
    }
    Ok(r)
}

/// A markdown section: a heading, a table with `header`'s columns, and `rows`.
fn markdown_table(md: &mut String, heading: &str, header: &[&str], rows: &[Vec<String>]) {
    use std::fmt::Write;
    let line = |cells: &[String]| format!("| {} |", cells.join(" | "));
    let _ = writeln!(md, "### {heading}\n");
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let _ = writeln!(md, "{}", line(&header));
    let _ = writeln!(md, "{}", line(&vec!["---".to_string(); header.len()]));
    for row in rows {
        let _ = writeln!(md, "{}", line(row));
    }
    md.push('\n');
}

/// `hvp bench all`'s tables, in markdown, one section per kind, naming the device.
pub fn all_markdown(r: &AllReport, command: &str) -> String {
    let mut md = format!(
        "# hvp bench all\n\nCommand: `{command}`, hvp {}.\n\n## {}\n\n",
        env!("CARGO_PKG_VERSION"),
        r.device
    );
    let rows: Vec<Vec<String>> = r
        .copy
        .iter()
        .map(|c| {
            vec![
                c.elements.to_string(),
                format!("{:.3e}", c.bytes),
                format!("{:.2}", c.gb_per_s),
            ]
        })
        .collect();
    markdown_table(
        &mut md,
        "Copy bandwidth",
        &["elements", "bytes moved", "GB/s"],
        &rows,
    );
    let rows: Vec<Vec<String>> = r
        .fft
        .iter()
        .map(|c| {
            vec![
                c.case.clone(),
                format!("{:.3}", c.seconds * 1e3),
                format!("{:.2}", c.fft_gb_per_s),
                format!("{:.2}", c.copy_gb_per_s),
                format!("{:.3}", c.ratio),
            ]
        })
        .collect();
    markdown_table(
        &mut md,
        "FFT, one axis of a 6D array (each pass reads and writes every element)",
        &["case", "ms", "FFT GB/s", "copy GB/s", "ratio"],
        &rows,
    );
    let rows: Vec<Vec<String>> = r
        .vlasov
        .iter()
        .map(|c| {
            let sweeps: Vec<String> = c
                .sweep_ratio_per_axis
                .iter()
                .map(|v| format!("{v:.2}"))
                .collect();
            vec![
                c.backend.clone(),
                c.dim.to_string(),
                c.nx.to_string(),
                c.np.to_string(),
                c.cells.to_string(),
                format!("{:.3}", c.seconds_per_step * 1e3),
                format!("{:.3e}", c.cell_updates_per_s),
                format!("{:.1}", c.bytes_per_cell_step),
                format!("{:.2}", c.copy_gb_per_s),
                format!("{:.3}", c.ratio),
                format!("{:.2}", c.recording.submits_per_step),
                format!("{:.1}", c.recording.dispatches_per_step),
                sweeps.join(", "),
            ]
        })
        .collect();
    markdown_table(
        &mut md,
        &format!("Vlasov–Poisson, Strang steps (runs of {VLASOV_BENCH_STEPS} steps)"),
        &[
            "backend",
            "d",
            "nx",
            "np",
            "cells",
            "ms/step",
            "cell updates/s",
            "B/cell/step",
            "copy GB/s",
            "ratio to copy roofline",
            "submits/step",
            "dispatches/step",
            "sweep ratio per axis (x…, p…)",
        ],
        &rows,
    );
    let rows: Vec<Vec<String>> = r
        .hartree
        .iter()
        .map(|c| {
            vec![
                c.dim.to_string(),
                c.n.to_string(),
                c.entries.to_string(),
                format!("{:.3}", c.seconds_per_step * 1e3),
                format!("{:.2}", c.copy_gb_per_s),
                format!("{:.3}", c.ratio),
                format!("{:.2}", c.recording.submits_per_step),
                format!("{:.1}", c.recording.dispatches_per_step),
            ]
        })
        .collect();
    markdown_table(
        &mut md,
        "Hartree, merged steps",
        &[
            "d",
            "n",
            "entries",
            "ms/step",
            "copy GB/s",
            "ratio to copy roofline",
            "submits/step",
            "dispatches/step",
        ],
        &rows,
    );
    if !r.not_run.is_empty() {
        md.push_str("### Not run\n\n");
        for n in &r.not_run {
            md.push_str(&format!("- {n}\n"));
        }
    }
    md
}
