//! `kind = "vlasov"`: a Vlasov–Poisson run from a TOML config, with a plan printed first,
//! progress while it runs, and the documented outputs (README "Output formats"):
//!
//! - DIR/diagnostics.csv: one row per output time, columns of `Diagnostics::columns`;
//! - DIR/norms.csv (when requested): t, velocity moments M_m and Sobolev norms H^s_m;
//! - DIR/slices/f_NNNNNN.npy: the (x_0, p_0) slice of f through the box centre, float64,
//!   shape (nx, np), at the configured cadence; DIR/slices/times.csv lists their times;
//! - DIR/field_energy.png and DIR/phase_slice.png;
//! - DIR/run.json: the config as run, version, backend, timings.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::diagnostics::{measure, Diagnostics};
use super::init::Initial;
use super::norms::{sobolev_norms, velocity_moment};
use super::{GridConfig, Numerics, PhaseGrid, Physics, StepTraffic, Vlasov};
use crate::backend::Backend;
use crate::kernels::Advection;
use crate::output::{plot_heatmap, plot_lines, write_npy_f64, CsvWriter};
use crate::plan::{check_host_memory, human, Limits, Progress, Schedule, TimeConfig};

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VlasovJob {
    /// Free text: what the run shows.
    #[serde(default)]
    pub description: Option<String>,
    pub physics: Physics,
    pub grid: GridConfig,
    pub time: TimeConfig,
    #[serde(default)]
    pub numerics: Numerics,
    pub initial: Initial,
    #[serde(default)]
    pub diagnostics: ExtraDiagnostics,
}

/// Diagnostics on request: they download f to the host at each output time.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraDiagnostics {
    /// Orders m of the velocity moments M_m (paper eq. 1.8).
    #[serde(default)]
    pub moments: Vec<f64>,
    /// Orders s of the weighted Sobolev norms ‖f‖_(H^s_m).
    #[serde(default)]
    pub sobolev: Vec<usize>,
    /// The weight power m of H^s_m (the paper uses 4).
    #[serde(default = "four")]
    pub sobolev_weight: i32,
}

fn four() -> i32 {
    4
}

impl VlasovJob {
    /// `plan`, and then the passes over f that a step makes on `backend` and the bytes they
    /// move per cell (`StepTraffic`).
    pub fn plan_on<B: Backend + Advection>(
        &self,
        backend: &B,
        limits: &Limits,
    ) -> Result<(PhaseGrid, Schedule)> {
        let (grid, schedule) = self.plan(limits)?;
        let traffic = StepTraffic::of(backend, &grid, &self.numerics);
        println!(
            "  passes over f: {}",
            traffic.describe(schedule.output_every)
        );
        Ok((grid, schedule))
    }

    /// Prints the plan and refuses runs that cannot work, saying why.
    pub fn plan(&self, limits: &Limits) -> Result<(PhaseGrid, Schedule)> {
        let grid = PhaseGrid::new(self.physics.dim, &self.grid, self.physics.boundary)?;
        self.initial.validate(&self.physics)?;
        let schedule = self.time.schedule()?;
        let d = grid.dim;
        let cells = grid.cells();
        let f_bytes = cells as u64 * limits.real_bytes as u64;
        let x_bytes = grid.nx.pow(d as u32) as u64 * limits.real_bytes as u64 * (10 + 2 * d as u64);
        let chunks = limits.chunk_bytes.map_or(1, |c| f_bytes.div_ceil(c.max(1)));
        let scratch = limits.chunk_bytes.unwrap_or(0).min(f_bytes) * 2;
        // Loading streams slabs of f64 (and their f32 copy on the GPU); the norms download f.
        let needs_host =
            !self.diagnostics.moments.is_empty() || !self.diagnostics.sobolev.is_empty();
        let host_bytes = if needs_host {
            cells as u64 * 8 * 2
        } else {
            (cells as u64 * 8).min(super::LOAD_SLAB_BYTES as u64) * 3 / 2
        };
        println!("plan: {}", limits.device);
        if let (Some(chunk), Some(buffer)) = (limits.chunk_bytes, limits.max_buffer_bytes) {
            println!(
                "  adapter limits: {} per storage binding (one chunk), {} per buffer, lines up to {} points",
                human(chunk),
                human(buffer),
                limits.max_line.unwrap_or(0)
            );
        }
        println!(
            "  phase space {}D{}V: {} × {} points ({} cells), x in [{}, {}), p in [{}, {})",
            d,
            d,
            grid.nx,
            grid.np,
            cells,
            grid.x_min,
            grid.x_min + grid.length,
            -grid.p_max,
            grid.p_max
        );
        println!(
            "  memory: f {} in {} chunk(s), fields {}, scratch ≤ {}; host {}",
            human(f_bytes),
            chunks,
            human(x_bytes),
            human(scratch),
            human(host_bytes)
        );
        println!(
            "  steps: {} of dt = {} to t = {} ({} splitting, Lagrange degree {}), {} output rows",
            schedule.steps,
            self.time.dt,
            self.time.t_end,
            match self.numerics.splitting {
                super::Splitting::Strang => "Strang",
                super::Splitting::FourthOrder => "fourth-order",
            },
            self.numerics.degree,
            schedule.steps.div_ceil(schedule.output_every) + 1
        );
        if let Some(max) = limits.max_line {
            let longest = grid.nx.max(grid.np);
            if longest > max {
                bail!("lines of {longest} points exceed the {max} the shift kernel holds in workgroup memory on {}; use at most {max} points per axis or --backend cpu", limits.device);
            }
        }
        check_host_memory(limits, host_bytes, f_bytes + x_bytes + scratch)?;
        if needs_host && cells > 1 << 26 {
            bail!("diagnostics.moments / sobolev download f at every output; {cells} cells is too many (at most 2^26)");
        }
        if self.diagnostics.sobolev.iter().any(|&s| s > 6) {
            bail!("diagnostics.sobolev: orders up to 6 are supported");
        }
        Ok((grid, schedule))
    }
}

/// What a run returns (and writes into run.json).
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    pub version: &'static str,
    pub backend: String,
    pub limits: Limits,
    pub config: VlasovJob,
    pub steps: usize,
    pub cells: usize,
    pub seconds_total: f64,
    pub seconds_stepping: f64,
    /// Cell updates per second: cells × steps / stepping seconds.
    pub cell_updates_per_second: f64,
    pub first: Vec<f64>,
    pub last: Vec<f64>,
    pub columns: Vec<String>,
}

/// The (x_0, p_0) slice through the box centre (other position indices nx/2, other momentum
/// indices np/2), shape (nx, np), read with `read(range)` one position cell (np^d values) per
/// x_0: from a downloaded f or, for grids too large to download, from the device.
fn centre_slice(
    grid: &PhaseGrid,
    mut read: impl FnMut(std::ops::Range<usize>) -> Result<Vec<f64>>,
) -> Result<Vec<f64>> {
    let d = grid.dim;
    let strides = crate::field::strides_of(&grid.shape());
    let block = strides[d - 1];
    let mut cell = 0;
    for s in &strides[1..d] {
        cell += grid.nx / 2 * s;
    }
    let mut p_base = 0;
    for s in &strides[d + 1..2 * d] {
        p_base += grid.np / 2 * s;
    }
    let mut out = Vec::with_capacity(grid.nx * grid.np);
    for i in 0..grid.nx {
        let start = cell + i * strides[0];
        let values = read(start..start + block)?;
        out.extend((0..grid.np).map(|k| values[p_base + k * strides[d]]));
    }
    Ok(out)
}

/// Spectral derivatives of order s amplify what is not smooth by k^s: the cut of f at the
/// momentum box edge and, in f32, round-off. Says so before a run that asks for H^s norms.
fn warn_about_sobolev(grid: &PhaseGrid, f: &[f64], real_bytes: usize) {
    let d = grid.dim;
    let max = f.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let shape = grid.shape();
    let strides = crate::field::strides_of(&shape);
    let edge = f
        .iter()
        .enumerate()
        .filter(|(c, _)| (d..2 * d).any(|a| (c / strides[a]).is_multiple_of(grid.np)))
        .fold(0.0f64, |m, (_, v)| m.max(v.abs()));
    if edge > 1e-12 * max {
        println!(
            "  warning: f at the momentum box edge is {:.1e} of its maximum; the H^s norms see the cut \
             there (raise grid.p_max until this is below 1e-12)",
            edge / max.max(f64::MIN_POSITIVE)
        );
    }
    if real_bytes < 8 {
        println!(
            "  warning: Sobolev norms of order 4 and more of f32 data are dominated by round-off \
             (k^s amplifies it); run with --backend cpu for them"
        );
    }
}

/// Runs the job on `backend`, writing into `out`.
pub fn run<B: Backend + Advection>(
    backend: &B,
    limits: Limits,
    job: VlasovJob,
    out: &Path,
    quiet: bool,
) -> Result<(RunSummary, Vec<Diagnostics>)> {
    let started = Instant::now();
    let (grid, schedule) = job.plan_on(backend, &limits)?;
    std::fs::create_dir_all(out.join("slices"))
        .with_context(|| format!("creating the output folder {}", out.display()))?;
    let mut solver = Vlasov::new(backend, &job.physics, &job.grid, &job.numerics)?;
    solver.load(backend, &job.initial)?;
    if !job.diagnostics.sobolev.is_empty() {
        let f0 = backend.download_real(&solver.f)?;
        warn_about_sobolev(&grid, &f0, limits.real_bytes);
    }

    let d = grid.dim;
    let columns = Diagnostics::columns(d);
    let mut csv = CsvWriter::create(out.join("diagnostics.csv"), &columns)?;
    let extra = &job.diagnostics;
    let mut norms_csv = if extra.moments.is_empty() && extra.sobolev.is_empty() {
        None
    } else {
        let mut cols = vec!["t".to_string()];
        cols.extend(extra.moments.iter().map(|m| format!("moment_{m}")));
        cols.extend(
            extra
                .sobolev
                .iter()
                .map(|s| format!("sobolev_h{s}_{}", extra.sobolev_weight)),
        );
        Some(CsvWriter::create(out.join("norms.csv"), &cols)?)
    };
    let mut slice_times =
        CsvWriter::create(out.join("slices/times.csv"), &["index".into(), "t".into()])?;
    let mut history: Vec<Diagnostics> = Vec::new();
    let mut last_slice = Vec::new();
    let mut slice_index = 0usize;

    let mut record =
        |solver: &mut Vlasov<B>, step: usize, history: &mut Vec<Diagnostics>| -> Result<()> {
            let initial_mass = history.first().map(|h| h.mass);
            let diag = measure(solver, backend, initial_mass)?;
            csv.row(&diag.row())?;
            let want_slice = step.is_multiple_of(schedule.slice_every) || step == schedule.steps;
            if want_slice && norms_csv.is_none() {
                last_slice = centre_slice(&grid, |r| backend.download_real_range(&solver.f, r))?;
            }
            if let Some(norms) = norms_csv.as_mut() {
                let f = backend.download_real(&solver.f)?;
                let mut row = vec![diag.t];
                row.extend(
                    extra
                        .moments
                        .iter()
                        .map(|&m| velocity_moment(&grid, job.physics.mass, &f, m)),
                );
                row.extend(sobolev_norms(
                    &grid,
                    &f,
                    &extra.sobolev,
                    extra.sobolev_weight,
                )?);
                norms.row(&row)?;
                if want_slice {
                    last_slice = centre_slice(&grid, |r| Ok(f[r].to_vec()))?;
                }
            }
            if want_slice {
                write_npy_f64(
                    out.join(format!("slices/f_{slice_index:06}.npy")),
                    &[grid.nx, grid.np],
                    &last_slice,
                )?;
                slice_times.row(&[slice_index as f64, diag.t])?;
                slice_index += 1;
            }
            history.push(diag);
            Ok(())
        };
    record(&mut solver, 0, &mut history)?;

    let mut progress = Progress::new(schedule.steps, quiet);
    let cells = grid.cells();
    let mut stepping = 0.0;
    let mut step = 0;
    while step < schedule.steps {
        // The steps up to the next output in one call, so that their drifts merge.
        let run = schedule.output_every.min(schedule.steps - step);
        let t0 = Instant::now();
        solver.advance(backend, job.time.dt, run)?;
        backend.synchronize()?;
        stepping += t0.elapsed().as_secs_f64();
        step += run;
        record(&mut solver, step, &mut history)?;
        let rate = cells as f64 * step as f64 / stepping.max(1e-12);
        let last = history.last().unwrap();
        progress.update(
            step,
            format!("t = {:.4}, {:.3e} cell updates/s", last.t, rate),
            || {
                format!(
                    "t = {:.4}, mass {:.9e}, field energy {:.4e}, {:.3e} cell updates/s",
                    last.t, last.mass, last.field_energy, rate
                )
            },
        );
    }
    backend.synchronize()?;
    progress.finish();

    let t: Vec<f64> = history.iter().map(|h| h.t).collect();
    let fe: Vec<f64> = history.iter().map(|h| h.field_energy).collect();
    plot_lines(
        out.join("field_energy.png"),
        "field energy ½∫|∇U|²",
        "t",
        "field energy",
        &[("", &t, &fe)],
        true,
    )?;
    plot_heatmap(
        out.join("phase_slice.png"),
        &format!("f(x, p) at t = {:.3}", solver.time),
        "x",
        "p",
        (grid.x_min, grid.x_min + grid.length),
        (-grid.p_max, grid.p_max),
        grid.nx,
        grid.np,
        &last_slice,
    )?;

    let summary = RunSummary {
        version: env!("CARGO_PKG_VERSION"),
        backend: backend.describe(),
        limits,
        config: job,
        steps: schedule.steps,
        cells,
        seconds_total: started.elapsed().as_secs_f64(),
        seconds_stepping: stepping,
        cell_updates_per_second: cells as f64 * schedule.steps as f64 / stepping.max(1e-12),
        first: history.first().unwrap().row(),
        last: history.last().unwrap().row(),
        columns,
    };
    std::fs::write(
        out.join("run.json"),
        serde_json::to_string_pretty(&summary)? + "\n",
    )?;
    if !quiet {
        let (a, b) = (history.first().unwrap(), history.last().unwrap());
        println!(
            "done: {} steps in {:.2} s ({:.3e} cell updates/s); mass {:.9e} → {:.9e}, total energy {:.6e} → {:.6e}",
            schedule.steps, summary.seconds_stepping, summary.cell_updates_per_second, a.mass, b.mass, a.total, b.total
        );
        println!("wrote {}", out.display());
    }
    Ok((summary, history))
}
