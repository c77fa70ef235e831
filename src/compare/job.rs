//! `kind = "compare"` (and `hvp compare CONFIG`): Hartree and Vlasov side by side from one
//! initial density matrix, with a plan and the resolution check first, progress while it
//! runs, and its outputs:
//!
//! - DIR/compare.csv: one row per output time, columns of `CompareRow::columns`;
//! - DIR/trace_norm.png: tr|ω_t − ω̃_t|/N, ‖ω_t − ω̃_t‖_HS/N and ‖ρ_t − ρ̃_t‖_L1 against t;
//! - DIR/bounds.png: the quantities eq. 1.11–1.12 bound by C Nε (divided by Nε) and the
//!   Sobolev bracket, against t (log scale);
//! - DIR/run.json: the config as run, version, backend, resolution check, timings, the
//!   largest tr/N and when it was reached.

use std::f64::consts::PI;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::{momentum_spread, vlasov_physics, CompareBackend, CompareRow, Comparison};
use super::{IterationReport, MeasureOptions, MomentumSpread, TraceNormChoice, DEFAULT_MAX_ITER};
use super::{LANCZOS_MAX_STEPS, LANCZOS_TOLERANCE};
use crate::hartree::init::HartreeInitial;
use crate::hartree::job::HartreeGridConfig;
use crate::hartree::spectrum::MAX_ROWS;
use crate::hartree::{HartreeGrid, HartreePhysics};
use crate::output::{plot_lines, CsvWriter};
use crate::plan::{check_host_memory, human, human_seconds, Limits, Schedule, TimeConfig};
use crate::tracenorm::{default_tolerance, roundoff_floor, TraceNormMethod};
use crate::vlasov::{Numerics, PhaseGrid, Splitting};
use crate::wigner::PhaseGridSpec;

/// Momentum spreads the box must hold on each side of the mean (docs/design.md section 2).
pub const RESOLUTION_SPREADS: f64 = 6.0;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CompareJob {
    /// Free text: what the run shows.
    #[serde(default)]
    pub description: Option<String>,
    pub physics: HartreePhysics,
    pub grid: HartreeGridConfig,
    /// `slice_every` is not used by this job.
    pub time: TimeConfig,
    pub initial: HartreeInitial,
    /// The Vlasov side's interpolation degree and splitting (default: Lagrange degree 9,
    /// Strang; the calibration needs degree 7 or more for four digits, degree 5 is 0.09% off).
    #[serde(default = "compare_numerics")]
    pub numerics: Numerics,
    #[serde(default)]
    pub diagnostics: CompareDiagnosticsConfig,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CompareDiagnosticsConfig {
    /// Exponents p of the L^p norms of ρ_|[x_i, ω̃]| (the paper needs p > 5).
    #[serde(default = "default_p_values")]
    pub p_values: Vec<f64>,
    /// The Sobolev bracket of eq. 1.12 (default: d = 1; slow beyond).
    #[serde(default)]
    pub sobolev: Option<bool>,
    /// min/max eigenvalues of ω_t and ω̃_t (default: at most 2048 points).
    #[serde(default)]
    pub spectra: Option<bool>,
    /// Commutator trace norms and densities (default: at most 2048 points).
    #[serde(default)]
    pub commutators: Option<bool>,
    /// Run even when the resolution check fails (as `--force`).
    #[serde(default)]
    pub force: bool,
    /// "auto" (exact up to 8192 rows, Newton–Schulz above), "exact" or "newton-schulz".
    #[serde(default)]
    pub trace_norm: TraceNormChoice,
    /// Relative tolerance of the Newton–Schulz iterations (default: 1e-6 on f32 backends,
    /// 1e-12 on f64).
    #[serde(default)]
    pub tolerance: Option<f64>,
    /// Newton–Schulz steps allowed per trace norm (default 100).
    #[serde(default = "default_max_iter")]
    pub max_iter: usize,
}

fn default_max_iter() -> usize {
    DEFAULT_MAX_ITER
}

impl Default for CompareDiagnosticsConfig {
    fn default() -> Self {
        Self {
            p_values: default_p_values(),
            sobolev: None,
            spectra: None,
            commutators: None,
            force: false,
            trace_norm: TraceNormChoice::Auto,
            tolerance: None,
            max_iter: DEFAULT_MAX_ITER,
        }
    }
}

fn compare_numerics() -> Numerics {
    Numerics {
        degree: 9,
        splitting: Splitting::Strang,
    }
}

fn default_p_values() -> Vec<f64> {
    vec![5.5, 6.0, 8.0]
}

/// The resolution check of docs/design.md section 2, from W_0.
#[derive(Clone, Debug, Serialize)]
pub struct Resolution {
    /// πε/h: the grid holds momenta |p| < p_max.
    pub p_max: f64,
    /// ∫∫W_0 (tr A / N for a resolved state).
    pub w_mass: f64,
    /// Mean momentum and spread of W_0 per axis.
    pub mean: Vec<f64>,
    pub spread: Vec<f64>,
    /// max_i |p̄_i| + 6σ_i.
    pub needed: f64,
    pub resolved: bool,
    /// The smallest grid.n whose box holds `needed`.
    pub n_needed: usize,
}

impl Resolution {
    pub fn from_spread(spec: &PhaseGridSpec, s: &MomentumSpread) -> Self {
        let p_max = spec.p_max();
        let needed = s
            .mean
            .iter()
            .zip(&s.spread)
            .map(|(m, sd)| m.abs() + RESOLUTION_SPREADS * sd)
            .fold(0.0, f64::max);
        Self {
            p_max,
            w_mass: s.mass,
            mean: s.mean.clone(),
            spread: s.spread.clone(),
            needed,
            resolved: needed <= p_max,
            n_needed: points_needed(spec.epsilon, spec.length, needed),
        }
    }
}

/// What a run returns (and writes into run.json).
#[derive(Clone, Debug, Serialize)]
pub struct CompareRunSummary {
    pub version: &'static str,
    pub backend: String,
    pub limits: Limits,
    pub config: CompareJob,
    pub resolution: Resolution,
    /// The trace-norm path and how its iterations fared over the run (the worst output).
    pub iterations: IterationReport,
    pub steps: usize,
    pub points: usize,
    pub phase_cells: usize,
    pub seconds_total: f64,
    pub seconds_stepping: f64,
    pub seconds_measuring: f64,
    pub max_trace_norm_over_n: f64,
    pub t_of_max: f64,
    pub columns: Vec<String>,
    pub first: Vec<f64>,
    pub last: Vec<f64>,
}

/// What the plan fixes before anything is allocated.
pub struct ComparePlan {
    pub grid: HartreeGrid,
    pub spec: PhaseGridSpec,
    pub schedule: Schedule,
    pub options: MeasureOptions,
}

impl CompareJob {
    /// Prints the plan and refuses runs that cannot work, saying why. The resolution check
    /// needs W_0 and comes after the initial state is built (`run`).
    pub fn plan(&self, limits: &Limits) -> Result<ComparePlan> {
        self.physics.validate()?;
        vlasov_physics(&self.physics)?;
        self.initial.validate(&self.physics)?;
        let grid = HartreeGrid::new(
            self.physics.dim,
            self.grid.n,
            self.grid.length,
            self.physics.boundary,
        )?;
        let spec = PhaseGridSpec::new(&grid, self.physics.epsilon, self.physics.particles())?;
        let phase = PhaseGrid::new(grid.dim, &spec.vlasov_grid(), self.physics.boundary)?;
        let schedule = self.time.schedule()?;
        let points = grid.points();
        let d = grid.dim;
        let method = self.diagnostics.trace_norm.resolve(points)?;
        let iterative = method == TraceNormMethod::NewtonSchulz;
        let tolerance = self
            .diagnostics
            .tolerance
            .unwrap_or_else(|| default_tolerance(limits.real_bytes));
        if tolerance.is_nan() || tolerance <= 0.0 || tolerance >= 1.0 {
            bail!("diagnostics.tolerance = {tolerance}: a relative tolerance in (0, 1) is needed");
        }
        if self.diagnostics.max_iter == 0 {
            bail!("diagnostics.max_iter must be at least 1");
        }
        if let (true, Some(chunk)) = (iterative, limits.chunk_bytes) {
            // The GPU product needs each P × P complex matrix in one storage binding (one
            // chunk of at most chunk_bytes / real_bytes elements).
            let max_elements = chunk / limits.real_bytes as u64;
            if (points as u64).pow(2) > max_elements {
                bail!(
                    "the Newton–Schulz trace norm multiplies {points} × {points} complex matrices, \
                     each of which must fit one storage binding, and {} holds at most {} rows \
                     there; lower grid.n or use --backend cpu",
                    limits.device,
                    (max_elements as f64).sqrt().floor()
                );
            }
        }
        if let Some(p) = self
            .diagnostics
            .p_values
            .iter()
            .find(|p| p.is_nan() || **p < 1.0)
        {
            bail!("diagnostics.p_values: {p} is not an exponent ≥ 1");
        }
        let cells = phase.cells();
        if cells as u64 > u32::MAX as u64 {
            bail!(
                "the phase grid has {cells} cells, beyond the 2^32 the kernels index; lower grid.n"
            );
        }
        if let Some(max) = limits.max_line {
            if 2 * grid.n > max {
                bail!(
                    "the Vlasov lines have 2n = {} points, more than the {max} the shift kernel \
                     holds on {}; lower grid.n or use --backend cpu",
                    2 * grid.n,
                    limits.device
                );
            }
        }
        let small = points <= 2048;
        let options = MeasureOptions {
            spectra: self.diagnostics.spectra.unwrap_or(small),
            commutators: self.diagnostics.commutators.unwrap_or(small),
            p_values: self.diagnostics.p_values.clone(),
            sobolev: self.diagnostics.sobolev.unwrap_or(d == 1),
            energies: true,
            trace_norm: self.diagnostics.trace_norm,
            tolerance: Some(tolerance),
            max_iter: self.diagnostics.max_iter,
            progress: !small,
        };
        let real = limits.real_bytes as u64;
        let m_bytes = (points as u64).pow(2) * 2 * real;
        let f_bytes = cells as u64 * real;
        // Device: A, Ã, Â scratch, the Hartree measure's work copy; f, the complex phase
        // scratch of `Wigner`; on the Newton–Schulz path its three work matrices and D or the
        // commutator.
        let device_matrices = if iterative { 8 } else { 4 };
        let device_bytes = device_matrices * m_bytes + 3 * f_bytes;
        // Host, exact path: A, Ã and ω − ω̃ in f64, eigenvectors, separations. Newton–Schulz
        // path: one matrix in f64 and the Lanczos basis for the spectra.
        let matrix_host = if iterative {
            if options.spectra {
                (points as u64).pow(2) * 16
                    + (points.min(LANCZOS_MAX_STEPS) as u64) * points as u64 * 16
            } else {
                0
            }
        } else {
            (points as u64).pow(2) * (16 * 5 + 8 * d as u64)
        };
        let host_bytes = matrix_host
            + if options.sobolev {
                cells as u64 * 40
            } else {
                0
            };
        let eps = self.physics.epsilon;
        println!("plan: {}", limits.device);
        println!(
            "  compare {}D: Hartree on {} points per axis ({points} rows), Vlasov on {} × {} per axis ({cells} cells), ε = {eps}, N = {}",
            d,
            grid.n,
            2 * grid.n,
            2 * grid.n,
            self.physics.particles()
        );
        println!(
            "  physics: m = {}, κ = {}, γ = {}, {} box of side {}",
            self.physics.mass,
            self.physics.kappa,
            self.physics.gamma,
            format!("{:?}", self.physics.boundary).to_lowercase(),
            grid.length
        );
        println!(
            "  memory: device {} (matrices {} each, f {}), host {} per output",
            human(device_bytes),
            human(m_bytes),
            human(f_bytes),
            human(host_bytes)
        );
        println!(
            "  steps: {} of dt = {} to t = {} (Hartree Strang; Vlasov {}, Lagrange degree {}), {} output rows",
            schedule.steps,
            self.time.dt,
            self.time.t_end,
            match self.numerics.splitting {
                Splitting::Strang => "Strang",
                Splitting::FourthOrder => "fourth-order",
            },
            self.numerics.degree,
            schedule.steps.div_ceil(schedule.output_every) + 1
        );
        let floor = roundoff_floor(limits.real_bytes);
        let path = if iterative {
            format!(
                "Newton–Schulz tr|ω − ω̃| on the backend ({points} rows, relative tolerance {:.0e}, at most {} steps; three work matrices and D or C = i[x_i, ·], 4 × {} more on the device{})",
                tolerance.max(floor),
                self.diagnostics.max_iter,
                human(m_bytes),
                if self.diagnostics.trace_norm == TraceNormChoice::Auto {
                    format!(", auto: above {MAX_ROWS} rows")
                } else {
                    String::new()
                }
            )
        } else {
            format!("exact tr|ω − ω̃| (dense f64 eigenvalues, {points} rows)")
        };
        println!(
            "  at each output: {path}{}{}{}",
            match (options.spectra, iterative) {
                (false, _) => String::new(),
                (true, false) => ", spectra of ω and ω̃".into(),
                (true, true) => format!(
                    ", min/max eig of ω and ω̃ (Lanczos on the host, residual ≤ {LANCZOS_TOLERANCE:.0e} relative)"
                ),
            },
            match (options.commutators, iterative) {
                (false, _) => "",
                (true, false) => ", commutators [x_i, ω], [x_i, ω̃] and ρ_|[x_i, ω̃]|",
                (true, true) => ", commutators [x_i, ω], [x_i, ω̃] (Newton–Schulz) and ρ_|[x_i, ω̃]| (diagonal of C·sign C)",
            },
            if options.sobolev {
                ", Sobolev bracket of f"
            } else {
                ""
            }
        );
        if options.sobolev && limits.real_bytes < 8 {
            println!(
                "  warning: Sobolev norms of order ≥ 4 of f32 data are dominated by round-off; use --backend cpu for them"
            );
        }
        // Large exact runs spend their outputs in host eigensolves: say how long, timed here.
        if !iterative && points > 2048 {
            let (values, vectors) = crate::hartree::spectrum::eigensolve_seconds(points)?;
            let with_values = 1 + 2 * options.spectra as usize + d * options.commutators as usize;
            let with_vectors = d * options.commutators as usize;
            let each = with_values as f64 * values + with_vectors as f64 * vectors;
            println!(
                "  time: about {} per output on this host ({with_values} eigensolves of {points} rows, {with_vectors} with vectors; scaled from a timed smaller one), {} for the {} outputs",
                human_seconds(each),
                human_seconds(each * (schedule.steps.div_ceil(schedule.output_every) + 1) as f64),
                schedule.steps.div_ceil(schedule.output_every) + 1
            );
        }
        check_host_memory(limits, host_bytes, device_bytes)?;
        Ok(ComparePlan {
            grid,
            spec,
            schedule,
            options,
        })
    }
}

/// Prints the resolution check and refuses an unresolved run unless forced.
fn check_resolution(res: &Resolution, force: bool) -> Result<()> {
    let spreads: Vec<String> = res
        .mean
        .iter()
        .zip(&res.spread)
        .map(|(m, s)| format!("p̄ = {m:.4}, σ = {s:.4}"))
        .collect();
    println!(
        "  resolution: momentum box πε/h = {:.4} against |p̄| + {}σ = {:.4} ({} from W_0's second moment; ∫∫W_0 = {:.6}): {}",
        res.p_max,
        RESOLUTION_SPREADS,
        res.needed,
        spreads.join("; "),
        res.w_mass,
        if res.resolved { "resolved" } else { "NOT resolved" }
    );
    if !res.resolved {
        let msg = format!(
            "the momentum box πε/h = {:.4} is smaller than |p̄| + {}σ = {:.4}: the grid does not \
             resolve the state (docs/design.md section 2: h ≲ πε/(6σ)); raise grid.n to at least {}",
            res.p_max, RESOLUTION_SPREADS, res.needed, res.n_needed
        );
        if force {
            println!("  warning: {msg}; running anyway (forced)");
        } else {
            bail!("{msg}, or pass --force (diagnostics.force = true) to run anyway");
        }
    }
    Ok(())
}

/// Runs the job on `backend`, writing into `out`.
pub fn run<B: CompareBackend>(
    backend: &B,
    limits: Limits,
    job: CompareJob,
    out: &Path,
    quiet: bool,
) -> Result<(CompareRunSummary, Vec<CompareRow>)> {
    let started = Instant::now();
    let plan = job.plan(&limits)?;
    let (grid, schedule) = (&plan.grid, &plan.schedule);
    let options = &MeasureOptions {
        progress: plan.options.progress && !quiet,
        ..plan.options.clone()
    };
    let mut cmp = Comparison::new(
        backend,
        &job.physics,
        job.grid.n,
        job.grid.length,
        &job.numerics,
    )?;
    let a0 = job.initial.matrix(grid, &job.physics)?;
    let t0 = Instant::now();
    cmp.start(backend, &a0)?;
    backend.synchronize()?;
    if !quiet {
        println!(
            "  started: ω_0 on {} rows, W_0 = Wigner_s(ω_0) on {} phase cells, its field ({:.1} s)",
            grid.points(),
            cmp.vlasov.grid.cells(),
            t0.elapsed().as_secs_f64()
        );
    }
    drop(a0);
    let spread = momentum_spread(
        backend,
        &cmp.vlasov.f,
        &cmp.vlasov.grid.momentum_axes(),
        plan.spec.cell_volume(),
    )?;
    let resolution = Resolution::from_spread(&plan.spec, &spread);
    check_resolution(&resolution, job.diagnostics.force)?;
    std::fs::create_dir_all(out)
        .with_context(|| format!("creating the output folder {}", out.display()))?;

    let columns = CompareRow::columns(grid.dim, &options.p_values);
    let mut csv = CsvWriter::create(out.join("compare.csv"), &columns)?;
    let mut rows: Vec<CompareRow> = Vec::new();
    let mut measuring = 0.0;
    let mut record = |cmp: &mut Comparison<B>, rows: &mut Vec<CompareRow>| -> Result<()> {
        let t0 = Instant::now();
        let r = cmp.measure(backend, options)?;
        measuring += t0.elapsed().as_secs_f64();
        let it = &r.iterations;
        if !it.converged {
            println!(
                "  warning: at t = {:.4} an iteration stopped at its step limit (Newton–Schulz: {} steps, last relative change {:.1e} against {:.1e}; Lanczos: {} steps, residual {:.1e} against {LANCZOS_TOLERANCE:.0e}); for Newton–Schulz raise diagnostics.max_iter or diagnostics.tolerance",
                r.t,
                it.newton_schulz_steps,
                it.newton_schulz_residual,
                it.newton_schulz_tolerance,
                it.lanczos_steps,
                it.lanczos_residual
            );
        }
        csv.row(&r.row())?;
        rows.push(r);
        Ok(())
    };
    record(&mut cmp, &mut rows)?;
    if !quiet {
        let r = &rows[0];
        println!(
            "  t = 0: tr|ω − ω̃|/N = {:.3e} (Weyl(Wigner_s(A)) = A up to round-off), occupations of ω_0 in [{:.3e}, {:.6}]",
            r.trace_norm_over_n(),
            r.min_eig,
            r.max_eig
        );
    }

    let mut stepping = 0.0;
    let mut step = 0;
    while step < schedule.steps {
        let next = ((step / schedule.output_every + 1) * schedule.output_every).min(schedule.steps);
        let t0 = Instant::now();
        cmp.advance(backend, job.time.dt, next - step)?;
        backend.synchronize()?;
        stepping += t0.elapsed().as_secs_f64();
        step = next;
        record(&mut cmp, &mut rows)?;
        if !quiet {
            let r = rows.last().unwrap();
            println!(
                "  step {step}/{}: t = {:.4}, tr|ω − ω̃|/N = {:.4e}, /Nε = {:.4e}, ‖ρ − ρ̃‖_L1 = {:.3e}, eig(ω̃) in [{:.3e}, {:.6}]",
                schedule.steps,
                r.t,
                r.trace_norm_over_n(),
                r.over_n_eps(r.trace_norm),
                r.rho_l1,
                r.min_eig_tilde,
                r.max_eig_tilde
            );
        }
    }

    let t: Vec<f64> = rows.iter().map(|r| r.t).collect();
    let series = |f: &dyn Fn(&CompareRow) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
    let tn = series(&|r| r.trace_norm_over_n());
    let hs = series(&|r| r.hs_norm / r.particles);
    let rl = series(&|r| r.rho_l1);
    plot_lines(
        out.join("trace_norm.png"),
        "Hartree against Vlasov",
        "t",
        "distance",
        &[
            ("tr|ω − ω~| / N", &t, &tn),
            ("‖ω − ω~‖_HS / N", &t, &hs),
            ("‖ρ − ρ~‖_L1", &t, &rl),
        ],
        false,
    )?;
    // Plot labels write ω̃ as ω~ (the embedded font has no combining tilde); the trace norm
    // starts at round-off, so its t = 0 point is left out of the log plot.
    let mut tn_eps = series(&|r| r.over_n_eps(r.trace_norm));
    tn_eps[0] = f64::NAN;
    let mut bound_series: Vec<(String, Vec<f64>)> = vec![("tr|ω − ω~| / Nε".into(), tn_eps)];
    if options.commutators {
        for i in 0..grid.dim {
            bound_series.push((
                format!("tr|[x{i}, ω]| / Nε"),
                series(&|r| r.over_n_eps(r.axes[i].comm)),
            ));
            bound_series.push((
                format!("tr|[x{i}, ω~]| / Nε"),
                series(&|r| r.over_n_eps(r.axes[i].comm_tilde)),
            ));
            for (k, p) in options.p_values.iter().enumerate() {
                bound_series.push((
                    format!("‖ρ_|[x{i}, ω~]|‖_L{p} / Nε"),
                    series(&|r| r.over_n_eps(r.axes[i].rho_lp[k])),
                ));
            }
        }
    }
    if options.sobolev {
        bound_series.push(("Sobolev bracket".into(), series(&|r| r.sobolev_bracket)));
    }
    let refs: Vec<(&str, &[f64], &[f64])> = bound_series
        .iter()
        .map(|(n, v)| (n.as_str(), t.as_slice(), v.as_slice()))
        .collect();
    plot_lines(
        out.join("bounds.png"),
        "bounded by C Nε (eq. 1.11–1.12)",
        "t",
        "value",
        &refs,
        true,
    )?;

    let (i_max, max_tn) =
        tn.iter().enumerate().fold(
            (0, f64::NEG_INFINITY),
            |(im, m), (i, &v)| {
                if v > m {
                    (i, v)
                } else {
                    (im, m)
                }
            },
        );
    let mut iterations = rows[0].iterations;
    for r in &rows[1..] {
        iterations.merge(&r.iterations);
    }
    if !quiet && iterations.method == TraceNormMethod::NewtonSchulz {
        println!(
            "  Newton–Schulz: {} runs, at most {} steps, last relative change ≤ {:.1e} (tolerance {:.1e}); Lanczos: at most {} steps, residual ≤ {:.1e}; {}",
            iterations.newton_schulz_runs,
            iterations.newton_schulz_steps,
            iterations.newton_schulz_residual,
            iterations.newton_schulz_tolerance,
            iterations.lanczos_steps,
            iterations.lanczos_residual,
            if iterations.converged { "all converged" } else { "NOT all converged" }
        );
    }
    let summary = CompareRunSummary {
        version: env!("CARGO_PKG_VERSION"),
        backend: backend.describe(),
        limits,
        config: job,
        resolution,
        iterations,
        steps: schedule.steps,
        points: grid.points(),
        phase_cells: cmp.vlasov.grid.cells(),
        seconds_total: started.elapsed().as_secs_f64(),
        seconds_stepping: stepping,
        seconds_measuring: measuring,
        max_trace_norm_over_n: max_tn,
        t_of_max: t[i_max],
        columns,
        first: rows.first().unwrap().row(),
        last: rows.last().unwrap().row(),
    };
    std::fs::write(
        out.join("run.json"),
        serde_json::to_string_pretty(&summary)? + "\n",
    )?;
    if !quiet {
        let last = rows.last().unwrap();
        println!(
            "done: {} steps in {:.2} s stepping, {:.2} s measuring; max tr|ω − ω̃|/N = {:.4e} at t = {:.3}, at t = {:.3}: {:.4e}",
            schedule.steps,
            stepping,
            measuring,
            max_tn,
            t[i_max],
            last.t,
            last.trace_norm_over_n()
        );
        println!("wrote {}", out.display());
    }
    Ok((summary, rows))
}

/// The smallest n with πε/h = πεn/L ≥ `needed` (the resolution rule solved for n).
pub fn points_needed(epsilon: f64, length: f64, needed: f64) -> usize {
    (needed * length / (PI * epsilon)).ceil() as usize
}
