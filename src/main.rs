//! The `hvp` command line.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use clap::{Parser, Subcommand, ValueEnum};

use hvp::bench::{self, FftCase};
use hvp::cpu::CpuBackend;
use hvp::gpu::{self, AdapterSummary, GpuBackend, GpuOptions};
use hvp::{compare, config, demo, hartree, vlasov, Backend};

#[derive(Parser)]
#[command(
    name = "hvp",
    version,
    about = "Hartree and Vlasov–Poisson side by side, GPU and CPU"
)]
struct Cli {
    /// Where to run: the best GPU adapter (falling back to the CPU when there is none) or the CPU.
    #[arg(long, global = true, value_enum)]
    backend: Option<BackendChoice>,
    /// Use the first adapter whose name contains this (case-insensitive).
    #[arg(long, global = true)]
    adapter: Option<String>,
    /// Cap one chunk of a GPU field at this many bytes (default: the adapter's binding limit).
    #[arg(long, global = true)]
    max_chunk_bytes: Option<u64>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendChoice {
    Gpu,
    Cpu,
}

#[derive(Subcommand)]
enum Command {
    /// List every adapter wgpu finds, with the limits that shape hvp's storage.
    Adapters {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run a job from a TOML config (see configs/).
    Run {
        config: PathBuf,
        /// Output directory (default: out/<config name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Override a config key by its dotted name, e.g. --set grid.n=[64,64,64].
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Print the plan (grid, memory against the device, steps) and its checks, then stop
        /// without allocating anything.
        #[arg(long)]
        plan_only: bool,
    },
    /// Hartree against Vlasov from one initial density matrix: tr|ω_t − ω̃_t| and the paper's
    /// bounds (a kind = "compare" config, or a kind = "hartree" one without its diagnostics).
    Compare {
        config: PathBuf,
        /// Output directory (default: out/<config name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Override a config key by its dotted name, e.g. --set grid.n=160.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Run even when the grid does not resolve the state's momentum spread.
        #[arg(long)]
        force: bool,
        /// Print the plan and its checks, then stop (the resolution check needs W_0 and is not
        /// part of it).
        #[arg(long)]
        plan_only: bool,
    },
    /// One comparison per ε (grid from the resolution rule) and the rate in ε of
    /// max_t tr|ω_t − ω̃_t|/N: study.csv, study.json, study.png.
    Study {
        config: PathBuf,
        /// Values of ε, e.g. --eps 0.2,0.1,0.05.
        #[arg(long, value_delimiter = ',', required = true)]
        eps: Vec<f64>,
        /// Output directory (default: out/study-<config name>).
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Run even when a grid does not resolve the state's momentum spread.
        #[arg(long)]
        force: bool,
    },
    /// Lemma 2.4 on the initial density matrix ω~ of a compare or hartree config:
    /// tr|[χ_(r,z), ω~]| against r^(d/2 − dδ) Σ_i ‖ρ_[x_i,ω~]‖₁^(1/2−1/d+δ) ρ*_[x_i,ω~](z)^(1/2+1/d−δ)
    /// (dense eigensolves on the host): lemma24.csv, lemma24.json, lemma24.png.
    Lemma24 {
        config: PathBuf,
        /// Radii of χ_(r,z) = exp(−|x − z|²/r²), e.g. --r 0.4,0.5,0.7,1.0.
        #[arg(long = "r", value_delimiter = ',', required = true)]
        radii: Vec<f64>,
        /// Centre z of χ (default: the grid point where the density is largest).
        #[arg(long, value_delimiter = ',')]
        z: Option<Vec<f64>>,
        /// Output directory (default: out/lemma24-<config name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Override a config key by its dotted name, e.g. --set grid.n=8.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
    },
    /// Measure kernels against the copy bandwidth of the same device, GPU and CPU.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// FFT bandwidth (bytes read and written per pass) against a device-to-device copy.
    Fft {
        /// Write the results as JSON here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Largest array in MiB (f32 complex); the cube and 6D sizes follow from it.
        #[arg(long, default_value_t = 1024)]
        max_mib: u64,
        /// Seconds of timing per case and backend.
        #[arg(long, default_value_t = 0.5)]
        seconds: f64,
    },
    /// Hartree steps per second for d = 1, 2, 3 against the copy roofline (every FFT axis pass
    /// and phase pass reading and writing the whole matrix once).
    Hartree {
        /// Write the results as JSON here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Largest complex f32 matrix in MiB (d = 3, n = 16 needs 128).
        #[arg(long, default_value_t = 128)]
        max_mib: u64,
        /// Seconds of timing per case and backend.
        #[arg(long, default_value_t = 1.0)]
        seconds: f64,
    },
    /// Vlasov cell updates per second (Strang steps) for d = 1, 2, 3 against the copy
    /// roofline (every sweep reading and writing each cell once).
    Vlasov {
        /// Write the results as JSON here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Largest f32 phase space in MiB (32^6 needs 4096).
        #[arg(long, default_value_t = 256)]
        max_mib: u64,
        /// Seconds of timing per case and backend.
        #[arg(long, default_value_t = 1.0)]
        seconds: f64,
    },
}

// One of these lives per process; the size difference does not matter.
#[allow(clippy::large_enum_variant)]
enum AnyBackend {
    Gpu(GpuBackend),
    Cpu(CpuBackend),
}

/// Runs a generic function on whichever backend was opened.
macro_rules! with_backend {
    ($any:expr, $b:ident => $body:expr) => {
        match $any {
            AnyBackend::Gpu($b) => $body,
            AnyBackend::Cpu($b) => $body,
        }
    };
}

impl AnyBackend {
    /// The short name benchmark rows carry.
    fn label(&self) -> &'static str {
        match self {
            AnyBackend::Gpu(_) => "gpu",
            AnyBackend::Cpu(_) => "cpu",
        }
    }

    /// What a run's plan is checked against.
    fn limits(&self) -> hvp::plan::Limits {
        match self {
            AnyBackend::Gpu(g) => hvp::plan::Limits {
                device: g.describe(),
                real_bytes: g.real_bytes(),
                chunk_bytes: Some(g.max_chunk_len() as u64 * g.real_bytes() as u64),
                max_line: Some(g.max_shift_len()),
                max_buffer_bytes: Some(g.ctx.limits.max_buffer_size),
            },
            AnyBackend::Cpu(c) => hvp::plan::Limits {
                device: c.describe(),
                real_bytes: c.real_bytes(),
                chunk_bytes: None,
                max_line: None,
                max_buffer_bytes: None,
            },
        }
    }
}

impl Cli {
    fn gpu_options(&self) -> GpuOptions {
        GpuOptions {
            adapter: self.adapter.clone(),
            max_chunk_bytes: self.max_chunk_bytes,
        }
    }

    /// The GPU backend unless the CPU was asked for. With no choice and no adapter named, a GPU
    /// that fails to open gives `None` and one notice ending in `fallback`.
    fn gpu_if_wanted(&self, fallback: &str) -> Result<Option<GpuBackend>> {
        if self.backend == Some(BackendChoice::Cpu) {
            return Ok(None);
        }
        match GpuBackend::new(&self.gpu_options()) {
            Ok(g) => Ok(Some(g)),
            Err(e) if self.backend.is_none() && self.adapter.is_none() => {
                eprintln!("hvp: no usable GPU adapter ({e:#}); {fallback}");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The backend asked for; with no choice, the GPU if one opens, else the CPU with a note.
    fn open_backend(&self) -> Result<AnyBackend> {
        Ok(match self.gpu_if_wanted("running on the CPU backend")? {
            Some(g) => AnyBackend::Gpu(g),
            None => AnyBackend::Cpu(CpuBackend::new()),
        })
    }
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(&cli) {
        eprintln!("hvp: error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: &Cli) -> Result<()> {
    match &cli.command {
        Command::Adapters { json } => adapters(*json),
        Command::Run {
            config,
            out,
            sets,
            plan_only,
        } => run_config(cli, config, out.as_deref(), sets, *plan_only),
        Command::Compare {
            config,
            out,
            sets,
            force,
            plan_only,
        } => run_compare(cli, config, out.as_deref(), sets, *force, *plan_only),
        Command::Study {
            config,
            eps,
            out,
            sets,
            force,
        } => run_study(cli, config, eps, out.as_deref(), sets, *force),
        Command::Lemma24 {
            config,
            radii,
            z,
            out,
            sets,
        } => run_lemma24(config, radii, z.as_deref(), out.as_deref(), sets),
        Command::Bench { what } => match what {
            BenchCommand::Fft {
                out,
                max_mib,
                seconds,
            } => bench_fft(cli, out.as_deref(), *max_mib, *seconds),
            BenchCommand::Vlasov {
                out,
                max_mib,
                seconds,
            } => bench_vlasov(cli, out.as_deref(), *max_mib, *seconds),
            BenchCommand::Hartree {
                out,
                max_mib,
                seconds,
            } => bench_hartree(cli, out.as_deref(), *max_mib, *seconds),
        },
    }
}

fn adapters(json: bool) -> Result<()> {
    let list: Vec<AdapterSummary> = gpu::list_all_adapters()
        .iter()
        .map(AdapterSummary::of)
        .collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    if list.is_empty() {
        println!("no adapters found (hvp runs on the CPU backend; for a software Vulkan adapter on Debian: apt-get install mesa-vulkan-drivers)");
        return Ok(());
    }
    let mib = |b: u64| format!("{:.0} MiB", b as f64 / (1u64 << 20) as f64);
    for (i, a) in list.iter().enumerate() {
        println!("[{i}] {}", a.name);
        println!(
            "    backend {}, type {}, driver {}",
            a.backend, a.device_type, a.driver
        );
        println!(
            "    max storage binding {}, max buffer {}, workgroup storage {} KiB, {} invocations per workgroup, {} workgroups per dimension",
            mib(a.max_storage_binding_bytes),
            mib(a.max_buffer_bytes),
            a.max_workgroup_storage_bytes / 1024,
            a.max_invocations_per_workgroup,
            a.max_workgroups_per_dimension
        );
        println!(
            "    SHADER_F64 {}, timestamp queries {}",
            if a.shader_f64 { "yes" } else { "no" },
            if a.timestamp_query { "yes" } else { "no" }
        );
    }
    Ok(())
}

fn run_config(
    cli: &Cli,
    path: &Path,
    out: Option<&Path>,
    sets: &[String],
    plan_only: bool,
) -> Result<()> {
    let table = config::load(path, sets)?;
    let kind = config::kind(&table)?;
    let out = match out {
        Some(o) => o.to_path_buf(),
        None => PathBuf::from("out").join(path.file_stem().context("config path has no name")?),
    };
    // A job of the config's kind on the opened backend: its plan alone, or the whole run.
    macro_rules! plan_or_run {
        ($job:ty, $run:path) => {{
            let job: $job = config::job(&table)?;
            let backend = cli.open_backend()?;
            let limits = backend.limits();
            if plan_only {
                return job.plan(&limits).map(|_| ());
            }
            with_backend!(&backend, b => $run(b, limits, job, &out, false).map(|_| ()))
        }};
    }
    match kind.as_str() {
        "poisson-demo" if plan_only => bail!("--plan-only: a poisson-demo job has no plan"),
        "poisson-demo" => {
            let cfg: demo::PoissonDemoConfig = config::job(&table)?;
            let backend = cli.open_backend()?;
            with_backend!(&backend, b => demo::run(b, cfg, &out).map(|_| ()))
        }
        "vlasov" => plan_or_run!(vlasov::job::VlasovJob, vlasov::job::run),
        "hartree" => plan_or_run!(hartree::job::HartreeJob, hartree::job::run),
        "compare" => plan_or_run!(compare::job::CompareJob, compare::job::run),
        other => {
            bail!("unknown job kind {other:?} (known: poisson-demo, vlasov, hartree, compare)")
        }
    }
}

/// `hvp study`: one comparison per ε.
fn run_study(
    cli: &Cli,
    path: &Path,
    eps: &[f64],
    out: Option<&Path>,
    sets: &[String],
    force: bool,
) -> Result<()> {
    let job = compare_job(path, sets, force)?;
    let out = match out {
        Some(o) => o.to_path_buf(),
        None => PathBuf::from("out").join(format!(
            "study-{}",
            path.file_stem()
                .context("config path has no name")?
                .to_string_lossy()
        )),
    };
    let backend = cli.open_backend()?;
    let limits = backend.limits();
    with_backend!(&backend, b => hvp::study::run(b, limits, job, eps, &out, false).map(|_| ()))
}

/// A comparison job from a kind = "compare" or "hartree" config.
fn compare_job(path: &Path, sets: &[String], force: bool) -> Result<compare::job::CompareJob> {
    let mut table = config::load(path, sets)?;
    match config::kind(&table)?.as_str() {
        "compare" => {}
        "hartree" => {
            if table.remove("diagnostics").is_some() {
                eprintln!("hvp: a Hartree config; its [diagnostics] table is not used");
            }
        }
        other => bail!(
            "hvp compare, hvp study and hvp lemma24 need a kind = \"compare\" or \"hartree\" config (a Hartree initial state), not {other:?}"
        ),
    }
    if force {
        config::apply_set(&mut table, "diagnostics.force=true")?;
    }
    config::job(&table)
}

/// `hvp lemma24`: the initial state of a compare or hartree config, on the host.
fn run_lemma24(
    path: &Path,
    radii: &[f64],
    z: Option<&[f64]>,
    out: Option<&Path>,
    sets: &[String],
) -> Result<()> {
    let job = compare_job(path, sets, false)?;
    let out = match out {
        Some(o) => o.to_path_buf(),
        None => PathBuf::from("out").join(format!(
            "lemma24-{}",
            path.file_stem()
                .context("config path has no name")?
                .to_string_lossy()
        )),
    };
    hvp::lemma24::run(&job, radii, z, &out, false).map(|_| ())
}

/// `hvp compare`: a compare config, or a Hartree config whose diagnostics table is dropped.
fn run_compare(
    cli: &Cli,
    path: &Path,
    out: Option<&Path>,
    sets: &[String],
    force: bool,
    plan_only: bool,
) -> Result<()> {
    let job = compare_job(path, sets, force)?;
    let out = match out {
        Some(o) => o.to_path_buf(),
        None => PathBuf::from("out").join(path.file_stem().context("config path has no name")?),
    };
    let backend = cli.open_backend()?;
    let limits = backend.limits();
    if plan_only {
        return job.plan(&limits).map(|_| ());
    }
    with_backend!(&backend, b => compare::job::run(b, limits, job, &out, false).map(|_| ()))
}

/// Writes a benchmark's JSON document (when asked): devices, what the bytes count, cases.
fn write_bench_json<T: serde::Serialize>(
    out: Option<&Path>,
    name: &str,
    bytes_counted: &str,
    devices: &[String],
    cases: &[T],
) -> Result<()> {
    let Some(path) = out else { return Ok(()) };
    let doc = serde_json::json!({
        "benchmark": name,
        "hvp_version": env!("CARGO_PKG_VERSION"),
        "devices": devices,
        "bytes_counted": bytes_counted,
        "cases": cases,
    });
    std::fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

/// The backends a benchmark compares: the GPU (unless the CPU alone was asked for) and the CPU
/// (unless the GPU alone was asked for).
fn bench_backends(cli: &Cli) -> Result<Vec<AnyBackend>> {
    let mut backends = Vec::new();
    if let Some(g) = cli.gpu_if_wanted("benchmarking the CPU backend only")? {
        backends.push(AnyBackend::Gpu(g));
    }
    if cli.backend != Some(BackendChoice::Gpu) {
        backends.push(AnyBackend::Cpu(CpuBackend::new()));
    }
    Ok(backends)
}

fn bench_hartree(cli: &Cli, out: Option<&Path>, max_mib: u64, seconds: f64) -> Result<()> {
    let backends = bench_backends(cli)?;
    let mut results = Vec::new();
    let mut devices = Vec::new();
    for any in &backends {
        let label = any.label();
        devices.push(with_backend!(any, b => b.describe()));
        for (d, n) in bench::hartree_cases(max_mib << 20) {
            eprintln!("bench hartree: {label} d = {d}, n = {n} ...");
            results.push(with_backend!(any, b => bench::hartree_case(b, label, d, n, seconds))?);
        }
    }
    for d in &devices {
        println!("# {d}");
    }
    bench::print_hartree_table(&results);
    write_bench_json(out, "hartree", "per step (kinetic half steps merged): 4d FFT axis passes and 2 phase passes, each reading and writing every complex entry once; copy: read + write of a complex array of the same entries", &devices, &results)
}

fn bench_vlasov(cli: &Cli, out: Option<&Path>, max_mib: u64, seconds: f64) -> Result<()> {
    let backends = bench_backends(cli)?;
    let mut results = Vec::new();
    let mut devices = Vec::new();
    for any in &backends {
        let label = any.label();
        devices.push(with_backend!(any, b => b.describe()));
        for (d, nx, np) in bench::vlasov_cases(max_mib << 20) {
            eprintln!("bench vlasov: {label} d = {d}, nx = {nx}, np = {np} ...");
            results
                .push(with_backend!(any, b => bench::vlasov_case(b, label, d, nx, np, seconds))?);
        }
    }
    for d in &devices {
        println!("# {d}");
    }
    bench::print_vlasov_table(&results);
    write_bench_json(out, "vlasov", "per Strang step: 3d sweeps, each reading and writing every cell once (72 B/cell for f32 in 3D); copy: read + write of an array of the same cells", &devices, &results)
}

fn bench_fft(cli: &Cli, out: Option<&Path>, max_mib: u64, seconds: f64) -> Result<()> {
    let backends = bench_backends(cli)?;
    // One list of cases for both backends, sized from the GPU's limits when there is one, so
    // that the rows compare like with like.
    let (mut limit, mut max_line) = (max_mib << 20, 4096);
    if let Some(AnyBackend::Gpu(g)) = backends.first() {
        limit = limit.min(g.ctx.max_chunk_bytes);
        max_line = g.max_fft_len();
    }
    let cases = bench::fft_cases(limit, max_line);
    let mut results: Vec<FftCase> = Vec::new();
    let mut devices = Vec::new();
    for any in &backends {
        let label = any.label();
        devices.push(with_backend!(any, b => b.describe()));
        for (case, shape, axes) in cases.iter() {
            eprintln!("bench fft: {label} {case} ...");
            if let AnyBackend::Gpu(g) = any {
                g.start_pass_timer();
            }
            let mut r =
                with_backend!(any, b => bench::fft_case(b, label, case, shape, axes, seconds))?;
            if let AnyBackend::Gpu(g) = any {
                if let Some(total) = g.read_pass_timer()?.get("fft") {
                    // Mean over every call, warm-ups included.
                    r.gpu_pass_seconds =
                        Some(total / (bench::BATCHES * r.reps + bench::WARMUP_CALLS) as f64);
                }
            }
            results.push(r);
        }
    }
    for d in &devices {
        println!("# {d}");
    }
    bench::print_fft_table(&results);
    write_bench_json(out, "fft", "per axis pass: every element read once and written once; copy: read + write of the same array", &devices, &results)
}
