//! What every run shares before it starts: the time schedule, the limits of the backend that
//! will run it, and the host's memory, with errors that say why a run cannot go ahead.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TimeConfig {
    /// Time step τ.
    pub dt: f64,
    /// Final time (a whole number of steps).
    pub t_end: f64,
    /// Time between rows of diagnostics.csv (a whole number of steps).
    pub output_every: f64,
    /// Time between phase-space slices (default: only the first and the last time).
    #[serde(default)]
    pub slice_every: Option<f64>,
}

impl TimeConfig {
    pub fn schedule(&self) -> Result<Schedule> {
        let t = self;
        if !(t.dt > 0.0 && t.dt.is_finite()) {
            bail!("time.dt = {} must be a positive number", t.dt);
        }
        let steps = whole_steps(t.t_end, t.dt, "t_end")?;
        let output_every = whole_steps(t.output_every, t.dt, "output_every")?;
        let slice_every = match t.slice_every {
            Some(s) => whole_steps(s, t.dt, "slice_every")?,
            None => steps,
        };
        Ok(Schedule {
            steps,
            output_every,
            slice_every,
        })
    }
}

/// What the plan checks a run against, from the backend that will run it.
#[derive(Clone, Debug, Serialize)]
pub struct Limits {
    pub device: String,
    /// Bytes of one stored real number.
    pub real_bytes: usize,
    /// Largest chunk of a real field, in bytes (None: one array).
    pub chunk_bytes: Option<u64>,
    /// Longest line the shift kernel takes (None: any).
    pub max_line: Option<usize>,
    /// Largest single buffer the device allows (None: host memory).
    pub max_buffer_bytes: Option<u64>,
}

impl Limits {
    /// Whether the backend keeps its fields in host memory (the CPU backend: no device buffer
    /// limit), so that a plan counts them against the host's free memory.
    pub fn fields_on_host(&self) -> bool {
        self.max_buffer_bytes.is_none()
    }
}

/// Refuses a run whose host memory (what it holds on the host, plus its fields where the
/// backend keeps them there) exceeds what the host has free.
pub fn check_host_memory(limits: &Limits, host_bytes: u64, field_bytes: u64) -> anyhow::Result<()> {
    let on_host = limits.fields_on_host();
    let need = host_bytes + if on_host { field_bytes } else { 0 };
    let what = if on_host {
        "the run needs {need} of host memory (the CPU backend keeps its fields there)"
    } else {
        "the run needs {need} of host memory"
    };
    require_host_memory(need, what)
}

/// Refuses a need of `need` bytes of host memory beyond what the host has free; `what` says
/// what needs it, with `{need}` where the amount goes. Where the free memory cannot be read,
/// the plan says so and goes ahead.
pub fn require_host_memory(need: u64, what: &str) -> anyhow::Result<()> {
    let what = what.replace("{need}", &human(need));
    match host_available_bytes() {
        Some(avail) if need > avail => {
            anyhow::bail!("{what}, {} is available", human(avail))
        }
        Some(_) => Ok(()),
        None => {
            println!(
                "  host memory: not checked ({what}; this system does not report its free memory)"
            );
            Ok(())
        }
    }
}

/// The schedule of a run, from the time settings.
#[derive(Clone, Debug, Serialize)]
pub struct Schedule {
    pub steps: usize,
    pub output_every: usize,
    pub slice_every: usize,
}

pub fn whole_steps(value: f64, dt: f64, what: &str) -> Result<usize> {
    let n = (value / dt).round();
    if value.is_nan()
        || value <= 0.0
        || n < 1.0
        || ((n * dt - value).abs() > 1e-9 * value.abs().max(1.0))
    {
        bail!("time.{what} = {value} is not a positive whole number of steps of dt = {dt}");
    }
    Ok(n as usize)
}

/// Bytes as KiB, MiB or GiB.
pub fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= (1u64 << 30) as f64 {
        format!("{:.2} GiB", b / (1u64 << 30) as f64)
    } else if b >= (1u64 << 20) as f64 {
        format!("{:.1} MiB", b / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KiB", b / 1024.0)
    }
}

/// A duration for a person: seconds below 90, minutes above.
pub fn human_seconds(seconds: f64) -> String {
    if seconds < 90.0 {
        format!("{seconds:.0} s")
    } else {
        format!("{:.1} min", seconds / 60.0)
    }
}

/// Host memory available to a new allocation without swapping (Linux: MemAvailable; macOS and
/// Windows: what the OS reports as available), or `None` where the system does not say.
pub fn host_available_bytes() -> Option<u64> {
    let mut system = sysinfo::System::new();
    system.refresh_memory();
    Some(system.available_memory()).filter(|&b| b > 0)
}

/// Progress of a run: a bar with the ETA when a terminal shows it, else a line about every 5%
/// of the run (logs, CI).
pub struct Progress {
    bar: indicatif::ProgressBar,
    quiet: bool,
    steps: usize,
    print_every: usize,
    last_print: usize,
}

impl Progress {
    pub fn new(steps: usize, quiet: bool) -> Self {
        let bar = if quiet {
            indicatif::ProgressBar::hidden()
        } else {
            indicatif::ProgressBar::new(steps as u64)
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} steps, {msg}, ETA {eta}")
                .expect("a valid progress template"),
        );
        Self {
            bar,
            quiet,
            steps,
            print_every: (steps / 20).max(1),
            last_print: 0,
        }
    }

    /// After `step` steps: `msg` on the bar, or `line()` printed when the bar is not shown.
    pub fn update(&mut self, step: usize, msg: String, line: impl FnOnce() -> String) {
        self.bar.set_position(step as u64);
        self.bar.set_message(msg);
        let due = step - self.last_print >= self.print_every || step == self.steps;
        if self.bar.is_hidden() && !self.quiet && due {
            self.last_print = step;
            println!("  step {step}/{}: {}", self.steps, line());
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
