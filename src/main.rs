//! The `hvp` command line.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use clap::{Parser, Subcommand, ValueEnum};

use hvp::bench::{self, FftCase};
use hvp::cpu::CpuBackend;
use hvp::gpu::{self, AdapterSpec, AdapterSummary, GpuBackend, GpuOptions};
use hvp::selfcheck::{self, JobKernels};
use hvp::{compare, config, demo, hartree, vlasov, Backend};

#[derive(Parser)]
#[command(
    name = "hvp",
    version,
    about = "Hartree and Vlasov–Poisson side by side, GPU and CPU"
)]
struct Cli {
    /// Where to run. Default: the best hardware GPU adapter, else the CPU backend (with a
    /// notice). `gpu`: the best adapter, software ones (lavapipe, llvmpipe) included. `cpu`: the
    /// CPU backend.
    #[arg(long, global = true, value_enum)]
    backend: Option<BackendChoice>,
    /// Use the best adapter whose name contains NAME (case-insensitive), software ones included;
    /// BACKEND (vulkan, metal, dx12, gl) narrows it to one API, e.g. `gl:llvmpipe`.
    #[arg(long, global = true, env = "HVP_ADAPTER", value_name = "[BACKEND:]NAME", value_parser = parse_adapter)]
    adapter: Option<AdapterSpec>,
    /// Cap one chunk of a GPU field at this many bytes (default: the adapter's binding limit).
    #[arg(long, global = true)]
    max_chunk_bytes: Option<u64>,
    #[command(subcommand)]
    command: Command,
}

fn parse_adapter(s: &str) -> Result<AdapterSpec, String> {
    s.parse().map_err(|e: anyhow::Error| e.to_string())
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendChoice {
    Gpu,
    Cpu,
}

#[derive(Subcommand)]
enum Command {
    /// List every adapter wgpu finds, with the limits that shape hvp's storage; `*` marks the
    /// one a run takes by default.
    Adapters {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Run the kernel self-check on every adapter and print a table of its errors.
        #[arg(long)]
        check: bool,
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
    /// Everything, for a first look at a device: copy bandwidth, the FFT along each axis of a
    /// 6D array, the Vlasov Strang step at 16⁶, 24⁶, 32⁶ and 48⁶ cells (with each axis's sweep
    /// alone) and Hartree at d = 3, n = 16 and 24. On the GPU when one opens (the CPU only when
    /// there is none, or with --backend cpu); cases over --max-mib, or that fail, are listed as
    /// not run. Writes bench-all.json and bench-all.md to OUT, both naming the device.
    All {
        /// Directory for bench-all.json and bench-all.md.
        #[arg(long)]
        out: PathBuf,
        /// Largest total of arrays one case may hold, in MiB (48⁶ in f32 needs about 93 GiB
        /// with its copy; lower it on smaller devices).
        #[arg(long, default_value_t = 100 << 10)]
        max_mib: u64,
        /// Seconds of timing per case.
        #[arg(long, default_value_t = 1.0)]
        seconds: f64,
    },
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
            allow_software: self.backend == Some(BackendChoice::Gpu),
            max_chunk_bytes: self.max_chunk_bytes,
        }
    }

    /// Whether the user left the device to hvp (no --backend, no --adapter).
    fn default_choice(&self) -> bool {
        self.backend.is_none() && self.adapter.is_none()
    }

    /// The GPU backend unless the CPU was asked for, after its self-check of `kernels`. With the
    /// default choice, no hardware adapter (or one that fails its self-check) gives `None` and
    /// one notice ending in `fallback`; an adapter asked for that cannot be used is an error.
    fn gpu_if_wanted(&self, kernels: JobKernels, fallback: &str) -> Result<Option<GpuBackend>> {
        if self.backend == Some(BackendChoice::Cpu) {
            return Ok(None);
        }
        let opened = GpuBackend::new(&self.gpu_options()).and_then(|g| {
            selfcheck::verify(&g, selfcheck::kernels_for(kernels))?;
            Ok(g)
        });
        match opened {
            Ok(g) => Ok(Some(g)),
            Err(e) if self.default_choice() => {
                eprintln!("hvp: {e:#}; {fallback}");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The backend asked for; with the default choice, the GPU if a hardware adapter opens and
    /// passes its self-check, else the CPU with a notice.
    fn open_backend(&self, kernels: JobKernels) -> Result<AnyBackend> {
        Ok(
            match self.gpu_if_wanted(kernels, "running on the CPU backend")? {
                Some(g) => AnyBackend::Gpu(g),
                None => AnyBackend::Cpu(CpuBackend::new()),
            },
        )
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
        Command::Adapters { json, check } => adapters(*json, *check),
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
            BenchCommand::All {
                out,
                max_mib,
                seconds,
            } => bench_all(cli, out, *max_mib, *seconds),
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

fn adapters(json: bool, check: bool) -> Result<()> {
    let all = gpu::list_all_adapters();
    // The adapter a run would take (chosen as a run chooses, from the list without GL when a
    // primary API has a hardware adapter), found in the full list.
    let chosen = gpu::choose_adapter(&GpuOptions::default())
        .ok()
        .map(|a| a.get_info());
    let default = chosen.and_then(|c| {
        all.iter().position(|a| {
            let info = a.get_info();
            (info.name, info.backend, info.device, info.driver_info)
                == (c.name.clone(), c.backend, c.device, c.driver_info.clone())
        })
    });
    let list: Vec<AdapterSummary> = all.iter().map(AdapterSummary::of).collect();
    if json && !check {
        let marked: Vec<serde_json::Value> = list
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let mut v = serde_json::to_value(a).expect("plain data");
                v["default"] = (default == Some(i)).into();
                v
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&marked)?);
        return Ok(());
    }
    if list.is_empty() {
        println!("no adapters found: hvp runs on the CPU backend (a GPU needs its Vulkan, Metal, DX12 or GL driver; for Mesa's software Vulkan adapter on Debian: apt-get install mesa-vulkan-drivers)");
        return Ok(());
    }
    if check {
        return check_adapters(all, &list, default, json);
    }
    let mib = |b: u64| format!("{:.0} MiB", b as f64 / (1u64 << 20) as f64);
    for (i, a) in list.iter().enumerate() {
        let mark = if default == Some(i) { "*" } else { " " };
        println!("{mark}[{i}] {}", a.name);
        println!(
            "     {} backend, type {}{}, driver {}",
            a.backend,
            a.device_type,
            if a.software { " (software)" } else { "" },
            a.driver
        );
        println!(
            "     max storage binding {}, max buffer {}, workgroup storage {} KiB, {} invocations per workgroup, {} workgroups per dimension",
            mib(a.max_storage_binding_bytes),
            mib(a.max_buffer_bytes),
            a.max_workgroup_storage_bytes / 1024,
            a.max_invocations_per_workgroup,
            a.max_workgroups_per_dimension
        );
        println!(
            "     SHADER_F64 {}, timestamp queries {}",
            if a.shader_f64 { "yes" } else { "no" },
            if a.timestamp_query { "yes" } else { "no" }
        );
    }
    match default {
        Some(_) => println!("* the default device; --adapter [BACKEND:]NAME picks another"),
        None => println!(
            "no hardware adapter: runs use the CPU backend by default; --backend gpu or --adapter [BACKEND:]NAME picks a software one"
        ),
    }
    Ok(())
}

/// `hvp adapters --check`: the self-check of every kernel on every adapter, as a table (or
/// JSON). Passes are recorded in the self-check cache; a refused adapter makes the command
/// fail, after the whole table.
fn check_adapters(
    all: Vec<wgpu::Adapter>,
    list: &[AdapterSummary],
    default: Option<usize>,
    json: bool,
) -> Result<()> {
    let kernels = selfcheck::Kernel::ALL;
    let mut rows = Vec::new();
    for (adapter, summary) in all.into_iter().zip(list) {
        let start = std::time::Instant::now();
        let outcomes = gpu::GpuContext::open(adapter, None)
            .map(GpuBackend::with_context)
            .map(|g| selfcheck::check_kernels(&g, &kernels));
        let seconds = start.elapsed().as_secs_f64();
        if let Ok(o) = &outcomes {
            selfcheck::record_passes(summary, o);
        }
        rows.push((summary, outcomes, seconds));
    }
    let refused = rows
        .iter()
        .filter(|(_, o, _)| o.as_ref().map_or(true, |o| o.iter().any(|k| !k.passed())))
        .count();
    if json {
        let doc: Vec<serde_json::Value> = rows
            .iter()
            .map(|(a, o, seconds)| {
                serde_json::json!({
                    "adapter": a,
                    "seconds": seconds,
                    "tolerance": selfcheck::TOLERANCE,
                    "outcomes": o.as_ref().ok(),
                    "open_error": o.as_ref().err().map(|e| format!("{e:#}")),
                    "passed": o.as_ref().is_ok_and(|o| o.iter().all(|k| k.passed())),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!("{:<4} {:<34} {:<7}", "", "adapter", "api");
        for k in kernels {
            print!(" {:>16}", k.name());
        }
        println!(" {:>8}  verdict", "time");
        for (i, (a, o, seconds)) in rows.iter().enumerate() {
            let mark = if default == Some(i) { "*" } else { " " };
            let name: String = a.name.chars().take(34).collect();
            print!("{mark}[{i}] {name:<34} {:<7}", a.backend);
            match o {
                Ok(o) => {
                    for k in o {
                        let cell = match &k.failure {
                            Some(_) => "failed".to_string(),
                            None => format!("{:.1e}", k.error),
                        };
                        print!(" {cell:>16}");
                    }
                    let verdict = match selfcheck::refusal(a, o) {
                        None => "ok".to_string(),
                        Some(_) => "REFUSED".to_string(),
                    };
                    println!(" {:>7.2}s  {verdict}", seconds);
                }
                Err(e) => println!("  could not open: {e:#}"),
            }
        }
        println!(
            "errors: ‖gpu − cpu‖₂/‖cpu‖₂ on fixed random data against the f64 CPU twin; tolerance {:.0e}",
            selfcheck::TOLERANCE
        );
        for (a, o, _) in &rows {
            if let Ok(o) = o {
                if let Some(message) = selfcheck::refusal(a, o) {
                    println!("{message}");
                }
            }
        }
    }
    if refused > 0 {
        bail!("{refused} adapter(s) failed the self-check");
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
    // A job of the config's kind on the opened backend: its plan alone (by default
    // `job.plan(limits)`), or the whole run.
    macro_rules! plan_or_run {
        ($job:ty, $run:path, $kernels:expr) => {
            plan_or_run!($job, $run, $kernels, |job, _b, limits| job.plan(limits))
        };
        ($job:ty, $run:path, $kernels:expr, |$j:ident, $b:ident, $l:ident| $plan:expr) => {{
            let job: $job = config::job(&table)?;
            let backend = cli.open_backend($kernels)?;
            let limits = backend.limits();
            if plan_only {
                return with_backend!(&backend, $b => {
                    let ($j, $l) = (&job, &limits);
                    $plan.map(|_| ())
                });
            }
            with_backend!(&backend, b => $run(b, limits, job, &out, false).map(|_| ()))
        }};
    }
    match kind.as_str() {
        "poisson-demo" if plan_only => bail!("--plan-only: a poisson-demo job has no plan"),
        "poisson-demo" => {
            let cfg: demo::PoissonDemoConfig = config::job(&table)?;
            let backend = cli.open_backend(JobKernels::Poisson)?;
            with_backend!(&backend, b => demo::run(b, cfg, &out).map(|_| ()))
        }
        // The Vlasov plan also names the passes a step makes on the opened backend.
        "vlasov" => plan_or_run!(
            vlasov::job::VlasovJob,
            vlasov::job::run,
            JobKernels::Vlasov,
            |job, b, limits| job.plan_on(b, limits)
        ),
        "hartree" => plan_or_run!(
            hartree::job::HartreeJob,
            hartree::job::run,
            JobKernels::Hartree
        ),
        "compare" => plan_or_run!(compare::job::CompareJob, compare::job::run, JobKernels::All),
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
    let backend = cli.open_backend(JobKernels::All)?;
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
    let backend = cli.open_backend(JobKernels::All)?;
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
fn bench_backends(cli: &Cli, kernels: JobKernels) -> Result<Vec<AnyBackend>> {
    let mut backends = Vec::new();
    if let Some(g) = cli.gpu_if_wanted(kernels, "benchmarking the CPU backend only")? {
        backends.push(AnyBackend::Gpu(g));
    }
    if cli.backend != Some(BackendChoice::Gpu) {
        backends.push(AnyBackend::Cpu(CpuBackend::new()));
    }
    Ok(backends)
}

/// The GPU's alternatives to its default Vlasov path that the bench times beside it: the
/// workgroup-memory shift on strided axes (row `gpu-wg`, against the barrier-free one), and
/// for d > 1 the other way of running shift groups (row `gpu-sweeps` where fused tiles are the
/// default, `gpu-fused` where per-axis sweeps are: `GpuBackend::fuse_groups`).
#[derive(Clone, Copy)]
enum GpuVariant {
    WorkgroupShift,
    OtherGroupPath,
}

impl GpuVariant {
    fn label(self, g: &GpuBackend) -> &'static str {
        match self {
            GpuVariant::WorkgroupShift => "gpu-wg",
            GpuVariant::OtherGroupPath if g.fuse_groups => "gpu-sweeps",
            GpuVariant::OtherGroupPath => "gpu-fused",
        }
    }

    /// The variants that differ from the default on a case.
    fn for_case(d: usize, nx: usize, np: usize) -> Vec<GpuVariant> {
        let mut v = Vec::new();
        if nx.max(np) <= hvp::gpu::DIRECT_MAX_LEN {
            v.push(GpuVariant::WorkgroupShift);
        }
        if d > 1 {
            v.push(GpuVariant::OtherGroupPath);
        }
        v
    }
}

/// A Vlasov bench case on the GPU with `variant` in place of the default path.
fn variant_case(
    g: &mut GpuBackend,
    variant: GpuVariant,
    d: usize,
    nx: usize,
    np: usize,
    seconds: f64,
) -> Result<bench::VlasovCase> {
    let label = variant.label(g);
    eprintln!("bench: {label} vlasov d = {d}, nx = {nx}, np = {np} ...");
    let fuse_groups = g.fuse_groups;
    match variant {
        GpuVariant::WorkgroupShift => g.shift_form_override = Some(hvp::gpu::ShiftForm::Workgroup),
        GpuVariant::OtherGroupPath => g.fuse_groups = !fuse_groups,
    }
    let case = bench::vlasov_case(g, label, d, nx, np, seconds);
    g.shift_form_override = None;
    g.fuse_groups = fuse_groups;
    case
}

fn bench_all(cli: &Cli, out: &Path, max_mib: u64, seconds: f64) -> Result<()> {
    if !(seconds > 0.0 && seconds.is_finite()) {
        bail!("--seconds {seconds}: a positive number of seconds per case");
    }
    let backend = cli.open_backend(JobKernels::All)?;
    if let AnyBackend::Cpu(_) = backend {
        eprintln!("hvp: bench all on the CPU backend (f64)");
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let label = backend.label();
    let mut report =
        with_backend!(&backend, b => bench::run_all(b, label, max_mib << 20, seconds))?;
    // The 16⁶ step again with the workgroup-memory shift on strided axes and with per-axis
    // sweeps, against the defaults (barrier-free shift, fused groups): what wins on this device.
    if let AnyBackend::Gpu(mut g) = backend {
        if report.vlasov.iter().any(|c| c.nx == 16) {
            for variant in GpuVariant::for_case(3, 16, 16) {
                match variant_case(&mut g, variant, 3, 16, 16, seconds) {
                    Ok(c) => report.vlasov.push(c),
                    Err(e) => report
                        .not_run
                        .push(format!("{} vlasov 16⁶: {e:#}", variant.label(&g))),
                }
            }
        }
    }
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let doc = serde_json::json!({
        "benchmark": "all",
        "hvp_version": env!("CARGO_PKG_VERSION"),
        "command": command,
        "devices": [report.device.clone()],
        "bytes_counted": "copy: read + write; fft: read + write of every element per axis pass; vlasov: bytes_per_cell_step from the pass geometry (see bench vlasov); hartree: (4d + 2) passes of read + write of every complex entry per step",
        "report": &report,
    });
    let json = out.join("bench-all.json");
    let md = out.join("bench-all.md");
    std::fs::write(&json, serde_json::to_string_pretty(&doc)? + "\n")
        .with_context(|| format!("writing {}", json.display()))?;
    let table = bench::all_markdown(&report, &command);
    std::fs::write(&md, &table).with_context(|| format!("writing {}", md.display()))?;
    print!("{table}");
    println!("wrote {} and {}", json.display(), md.display());
    Ok(())
}

fn bench_hartree(cli: &Cli, out: Option<&Path>, max_mib: u64, seconds: f64) -> Result<()> {
    let backends = bench_backends(cli, JobKernels::Hartree)?;
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
    let mut backends = bench_backends(cli, JobKernels::Vlasov)?;
    let mut results = Vec::new();
    let mut devices = Vec::new();
    for any in &mut backends {
        let label = any.label();
        devices.push(with_backend!(&*any, b => b.describe()));
        for (d, nx, np) in bench::vlasov_cases(max_mib << 20) {
            eprintln!("bench vlasov: {label} d = {d}, nx = {nx}, np = {np} ...");
            results
                .push(with_backend!(&*any, b => bench::vlasov_case(b, label, d, nx, np, seconds))?);
            // On the GPU, the same case again along each alternative path.
            if let AnyBackend::Gpu(g) = any {
                for variant in GpuVariant::for_case(d, nx, np) {
                    results.push(variant_case(g, variant, d, nx, np, seconds)?);
                }
            }
        }
    }
    for d in &devices {
        println!("# {d}");
    }
    bench::print_vlasov_table(&results);
    for c in &results {
        println!("# {} d = {}: {}", c.backend, c.dim, c.passes);
    }
    write_bench_json(out, "vlasov", "per Strang step, timed over runs of 8 steps with merged half drifts: bytes_per_cell_step = 2 × passes_per_step × (bytes of one real), the passes counted from their geometry (one per kick or drift group when fused, d when not, half a pass for the read of rho); copy: read + write of an array of the same cells", &devices, &results)
}

fn bench_fft(cli: &Cli, out: Option<&Path>, max_mib: u64, seconds: f64) -> Result<()> {
    let backends = bench_backends(cli, JobKernels::Poisson)?;
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
