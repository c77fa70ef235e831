//! `kind = "hartree"`: a Hartree run from a TOML config, with a plan printed first, progress
//! while it runs, and its outputs (README "Output formats"):
//!
//! - DIR/diagnostics.csv: one row per output time, columns of `HartreeDiagnostics::columns`;
//! - DIR/slices/rho_NNNNNN.npy: the density ρ on the grid, float64, shape [n; d], at the
//!   configured cadence; DIR/slices/times.csv lists their times;
//! - DIR/energy.png (kinetic, potential, total against t) and DIR/density.png (the last ρ:
//!   a curve in 1D, the (x_0, x_1) plane through the box centre in 2D and 3D);
//! - DIR/run.json: the config as run, version, backend, timings.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::init::HartreeInitial;
use super::solver::{measure, Hartree, HartreeDiagnostics};
use super::spectrum::MAX_ROWS;
use super::{HartreeGrid, HartreePhysics};
use crate::backend::Backend;
use crate::kernels::MatrixKernels;
use crate::output::{plot_heatmap, plot_lines, write_npy_f64, CsvWriter};
use crate::plan::{check_host_memory, human, Limits, Progress, Schedule, TimeConfig};

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HartreeJob {
    /// Free text: what the run shows.
    #[serde(default)]
    pub description: Option<String>,
    pub physics: HartreePhysics,
    pub grid: HartreeGridConfig,
    pub time: TimeConfig,
    pub initial: HartreeInitial,
    #[serde(default)]
    pub diagnostics: HartreeDiagnosticsConfig,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HartreeGridConfig {
    /// Points per axis (of the form 2^a·3^b·5^c on the GPU).
    pub n: usize,
    /// Side L of the box: [0, L) when periodic, [−L/2, L/2) when isolated.
    pub length: f64,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HartreeDiagnosticsConfig {
    /// Min and max occupation (dense eigenvalues on the host) at every output; default: when
    /// the matrix has at most 2048 rows.
    #[serde(default)]
    pub spectrum: Option<bool>,
}

/// What a run returns (and writes into run.json).
#[derive(Clone, Debug, Serialize)]
pub struct HartreeRunSummary {
    pub version: &'static str,
    pub backend: String,
    pub limits: Limits,
    pub config: HartreeJob,
    pub steps: usize,
    pub points: usize,
    pub seconds_total: f64,
    pub seconds_stepping: f64,
    pub steps_per_second: f64,
    pub columns: Vec<String>,
    pub first: Vec<f64>,
    pub last: Vec<f64>,
}

impl HartreeJob {
    /// Prints the plan and refuses runs that cannot work, saying why.
    pub fn plan(&self, limits: &Limits) -> Result<(HartreeGrid, Schedule, bool)> {
        self.physics.validate()?;
        self.initial.validate(&self.physics)?;
        let grid = HartreeGrid::new(
            self.physics.dim,
            self.grid.n,
            self.grid.length,
            self.physics.boundary,
        )?;
        let schedule = self.time.schedule()?;
        let points = grid.points();
        let elements = points as u128 * points as u128;
        if elements > u32::MAX as u128 {
            bail!("an operator on {points} points has {elements} entries, beyond the 2^32 the kernels index; lower grid.n");
        }
        let complex_bytes = 2 * limits.real_bytes as u64;
        let a_bytes = elements as u64 * complex_bytes;
        let spectrum = self.diagnostics.spectrum.unwrap_or(points <= 2048);
        if spectrum && points > MAX_ROWS {
            bail!("diagnostics.spectrum needs dense eigenvalues of {points} rows (at most {MAX_ROWS})");
        }
        // Host: the initial matrix in f64 (and its f32 copy for the GPU); a spectrum download.
        let host_bytes = elements as u64 * 16 * if spectrum { 3 } else { 2 };
        let chunks = limits.chunk_bytes.map_or(1, |c| a_bytes.div_ceil(c * 2));
        let epsilon = self.physics.epsilon;
        println!("plan: {}", limits.device);
        println!(
            "  Hartree {}D: {} points per axis ({} points), x in [{}, {}), ε = {}, N = {}",
            grid.dim,
            grid.n,
            points,
            grid.x_min,
            grid.x_min + grid.length,
            epsilon,
            self.physics.particles()
        );
        println!(
            "  memory: A {} in {} chunk(s) (+ {} during outputs); host {} while loading",
            human(a_bytes),
            chunks,
            human(a_bytes),
            human(host_bytes)
        );
        println!(
            "  momentum resolution: the grid holds |p| < πε/h = {:.4}",
            std::f64::consts::PI * epsilon / grid.h
        );
        println!(
            "  steps: {} of dt = {} to t = {} (Strang, kinetic half steps merged between outputs), {} output rows{}",
            schedule.steps,
            self.time.dt,
            self.time.t_end,
            schedule.steps.div_ceil(schedule.output_every) + 1,
            if spectrum { ", occupation spectrum at each" } else { "" }
        );
        check_host_memory(limits, host_bytes, 2 * a_bytes)?;
        Ok((grid, schedule, spectrum))
    }
}

/// ρ's (x_0, x_1) plane through the box centre (2D, 3D) as (nx, ny, values).
fn density_plane(grid: &HartreeGrid, rho: &[f64]) -> (usize, usize, Vec<f64>) {
    let n = grid.n;
    let offset = if grid.dim == 3 { n / 2 } else { 0 };
    let stride = if grid.dim == 3 { n } else { 1 };
    let values = (0..n)
        .flat_map(|i| (0..n).map(move |j| (i, j)))
        .map(|(i, j)| rho[(i * n + j) * stride + offset])
        .collect();
    (n, n, values)
}

/// Runs the job on `backend`, writing into `out`.
pub fn run<B: Backend + MatrixKernels>(
    backend: &B,
    limits: Limits,
    job: HartreeJob,
    out: &Path,
    quiet: bool,
) -> Result<(HartreeRunSummary, Vec<HartreeDiagnostics>)> {
    let started = Instant::now();
    let (grid, schedule, spectrum) = job.plan(&limits)?;
    std::fs::create_dir_all(out.join("slices"))
        .with_context(|| format!("creating the output folder {}", out.display()))?;
    let mut solver = Hartree::new(backend, &job.physics, job.grid.n, job.grid.length)?;
    let a0 = job.initial.matrix(&grid, &job.physics)?;
    solver.set_matrix(backend, &a0)?;
    drop(a0);

    let columns = HartreeDiagnostics::columns();
    let mut csv = CsvWriter::create(out.join("diagnostics.csv"), &columns)?;
    let mut slice_times =
        CsvWriter::create(out.join("slices/times.csv"), &["index".into(), "t".into()])?;
    let mut history: Vec<HartreeDiagnostics> = Vec::new();
    let mut last_rho = Vec::new();
    let mut slice_index = 0usize;
    let mut record = |solver: &mut Hartree<B>,
                      step: usize,
                      history: &mut Vec<HartreeDiagnostics>|
     -> Result<()> {
        let d = measure(solver, backend, spectrum)?;
        csv.row(&d.row())?;
        if step.is_multiple_of(schedule.slice_every) || step == schedule.steps {
            last_rho = backend.download_real(solver.rho())?;
            write_npy_f64(
                out.join(format!("slices/rho_{slice_index:06}.npy")),
                &grid.x_shape(),
                &last_rho,
            )?;
            slice_times.row(&[slice_index as f64, d.t])?;
            slice_index += 1;
        }
        history.push(d);
        Ok(())
    };
    record(&mut solver, 0, &mut history)?;

    let mut progress = Progress::new(schedule.steps, quiet);
    let mut stepping = 0.0;
    let mut step = 0;
    while step < schedule.steps {
        // Up to the next output time in one merged run of steps.
        let next = ((step / schedule.output_every + 1) * schedule.output_every).min(schedule.steps);
        let t0 = Instant::now();
        solver.advance(backend, job.time.dt, next - step)?;
        backend.synchronize()?;
        stepping += t0.elapsed().as_secs_f64();
        step = next;
        record(&mut solver, step, &mut history)?;
        let rate = step as f64 / stepping.max(1e-12);
        let last = history.last().unwrap();
        progress.update(
            step,
            format!("t = {:.4}, {:.3} steps/s", last.t, rate),
            || {
                format!(
                    "t = {:.4}, trace {:.9}, energy {:.9e}, {:.3} steps/s",
                    last.t, last.trace, last.total, rate
                )
            },
        );
    }
    progress.finish();

    let t: Vec<f64> = history.iter().map(|h| h.t).collect();
    let series = |f: fn(&HartreeDiagnostics) -> f64| history.iter().map(f).collect::<Vec<f64>>();
    let (k, p, e) = (
        series(|h| h.kinetic),
        series(|h| h.potential),
        series(|h| h.total),
    );
    plot_lines(
        out.join("energy.png"),
        "energy per particle",
        "t",
        "energy",
        &[
            ("kinetic", &t, &k),
            ("potential", &t, &p),
            ("total", &t, &e),
        ],
        false,
    )?;
    if grid.dim == 1 {
        let x: Vec<f64> = (0..grid.n).map(|i| grid.x(i)).collect();
        plot_lines(
            out.join("density.png"),
            &format!("ρ(x) at t = {:.3}", solver.time),
            "x",
            "ρ",
            &[("", &x, &last_rho)],
            false,
        )?;
    } else {
        let (nx, ny, values) = density_plane(&grid, &last_rho);
        let range = (grid.x_min, grid.x_min + grid.length);
        plot_heatmap(
            out.join("density.png"),
            &format!("ρ(x0, x1) at t = {:.3}", solver.time),
            "x0",
            "x1",
            range,
            range,
            nx,
            ny,
            &values,
        )?;
    }
    let summary = HartreeRunSummary {
        version: env!("CARGO_PKG_VERSION"),
        backend: backend.describe(),
        limits,
        config: job,
        steps: schedule.steps,
        points: grid.points(),
        seconds_total: started.elapsed().as_secs_f64(),
        seconds_stepping: stepping,
        steps_per_second: schedule.steps as f64 / stepping.max(1e-12),
        columns,
        first: history.first().unwrap().row(),
        last: history.last().unwrap().row(),
    };
    std::fs::write(
        out.join("run.json"),
        serde_json::to_string_pretty(&summary)? + "\n",
    )?;
    if !quiet {
        let (a, b) = (history.first().unwrap(), history.last().unwrap());
        println!(
            "done: {} steps in {:.2} s ({:.3} steps/s); trace {:.9} → {:.9}, energy {:.9e} → {:.9e}, occupations in [{:.3e}, {:.6}]",
            schedule.steps, stepping, summary.steps_per_second, a.trace, b.trace, a.total, b.total, b.min_occupation, b.max_occupation
        );
        println!("wrote {}", out.display());
    }
    Ok((summary, history))
}
