//! A short check of a GPU adapter before a run trusts it: the kernels the run will use, on small
//! fixed pseudo-random data, against their CPU twins in f64.
//!
//! What it guards against is a driver that compiles a kernel into something else. It has
//! happened: Mesa's GL driver computed `%` of a negative integer as the remainder of its bit
//! pattern read as unsigned, and the line shift of every strided axis was wrong by 40–50%
//! while the same WGSL was right through Vulkan. Consumer drivers have such bugs; a run must
//! not produce wrong physics without a word.
//!
//! Passing checks are cached per (adapter, API, driver, hvp version) in the user's cache
//! directory (`HVP_CACHE_DIR` overrides it), so the cost is paid once per driver; a failure is
//! never cached, so a run against a bad adapter is refused every time, with the reason.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use num_complex::Complex64;
use serde::{Deserialize, Serialize};

use crate::backend::{Backend, FftDirection};
use crate::cpu::CpuBackend;
use crate::field::Elem;
use crate::gpu::{AdapterSummary, GpuBackend};
use crate::kernels::{Advection, LineBoundary, LineShift, MatrixKernels};

/// Largest relative error ‖gpu − cpu‖₂/‖cpu‖₂ an f32 kernel may show on these O(1) data.
/// Correct kernels give 1e-7 to 3e-7 here; a miscompiled one gives errors of order one.
pub const TOLERANCE: f64 = 1e-5;

/// Test hook: a kernel name here makes its check see a GPU result perturbed by 1e-3, so that
/// the refusal path can be exercised on a correct adapter. Checks under a fault are not cached.
pub const FAULT_ENV: &str = "HVP_SELF_CHECK_FAULT";

/// One kernel family, as the check exercises it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Kernel {
    /// Forward and inverse FFT over all axes of a [8, 12, 60] field: radix 2, 3, 4 and 5 and
    /// both contiguous and strided lines.
    Fft,
    /// Lagrange shift (degree 5, periodic) of contiguous lines.
    ShiftContiguous,
    /// Lagrange shift (degree 3, periodic and zero) of strided lines of 9 points, with shifts
    /// of both signs: the case Mesa's GL driver got wrong.
    ShiftStrided,
    /// Sum, sum of squares, min and max of a real field.
    Reduce,
    /// The Hartree step's conjugation phase exp(−i s (t_a − t_b)) A_ab.
    HartreePhase,
}

impl Kernel {
    pub const ALL: [Kernel; 5] = [
        Kernel::Fft,
        Kernel::ShiftContiguous,
        Kernel::ShiftStrided,
        Kernel::Reduce,
        Kernel::HartreePhase,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Fft => "fft",
            Kernel::ShiftContiguous => "shift-contiguous",
            Kernel::ShiftStrided => "shift-strided",
            Kernel::Reduce => "reduce",
            Kernel::HartreePhase => "hartree-phase",
        }
    }
}

/// The kernels a job of each kind runs.
pub fn kernels_for(job: JobKernels) -> &'static [Kernel] {
    match job {
        JobKernels::Poisson => &[Kernel::Fft, Kernel::Reduce],
        JobKernels::Vlasov => &[
            Kernel::Fft,
            Kernel::ShiftContiguous,
            Kernel::ShiftStrided,
            Kernel::Reduce,
        ],
        JobKernels::Hartree => &[Kernel::Fft, Kernel::Reduce, Kernel::HartreePhase],
        JobKernels::All => &Kernel::ALL,
    }
}

/// Which solver a job drives (compare and benchmarks drive both: `All`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobKernels {
    Poisson,
    Vlasov,
    Hartree,
    All,
}

/// The result of one kernel's check.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Outcome {
    pub kernel: Kernel,
    /// ‖gpu − cpu‖₂/‖cpu‖₂ (infinite when the GPU gave NaN or the kernel failed to run).
    pub error: f64,
    /// Why the kernel did not run, when it did not.
    pub failure: Option<String>,
    /// Wall time of the check, pipeline builds included.
    pub seconds: f64,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.failure.is_none() && self.error <= TOLERANCE
    }
}

/// Runs the checks of `kernels` on `gpu` against the CPU backend.
pub fn check_kernels(gpu: &GpuBackend, kernels: &[Kernel]) -> Vec<Outcome> {
    let cpu = CpuBackend::new();
    let fault = std::env::var(FAULT_ENV).ok();
    kernels
        .iter()
        .map(|&kernel| {
            let perturb = fault.as_deref() == Some(kernel.name());
            let start = std::time::Instant::now();
            let result = check_one(gpu, &cpu, kernel);
            let seconds = start.elapsed().as_secs_f64();
            match result {
                Ok(error) => Outcome {
                    kernel,
                    error: if perturb { error + 1e-3 } else { error },
                    failure: None,
                    seconds,
                },
                Err(e) => Outcome {
                    kernel,
                    error: f64::INFINITY,
                    failure: Some(format!("{e:#}")),
                    seconds,
                },
            }
        })
        .collect()
}

/// The relative error of one kernel family (the worst of its cases).
fn check_one(gpu: &GpuBackend, cpu: &CpuBackend, kernel: Kernel) -> Result<f64> {
    let mut data = Lcg(0x9e37_79b9_7f4a_7c15 ^ kernel as u64);
    match kernel {
        Kernel::Fft => {
            let shape = [8, 12, 60];
            let x = data.complex(shape.iter().product());
            let mut worst: f64 = 0.0;
            for dir in [FftDirection::Forward, FftDirection::Inverse] {
                let (g, c) = (
                    on_complex(gpu, &shape, &x, |b, f| b.fft(f, &[0, 1, 2], dir))?,
                    on_complex(cpu, &shape, &x, |b, f| b.fft(f, &[0, 1, 2], dir))?,
                );
                worst = worst.max(rel_err(&g, &c));
            }
            Ok(worst)
        }
        Kernel::ShiftContiguous | Kernel::ShiftStrided => {
            // [x0, x1, p]: lines of 12 points along p (contiguous), of 9 along x0 (strided).
            let shape = [9, 10, 12];
            let n: usize = shape.iter().product();
            let shifts = if kernel == Kernel::ShiftContiguous {
                vec![(2, 5, LineBoundary::Periodic, 2.7, 12 * 10, 9)]
            } else {
                vec![
                    (0, 3, LineBoundary::Periodic, -3.3, 1, 12),
                    (0, 3, LineBoundary::Zero, 2.2, 1, 12),
                ]
            };
            let mut worst: f64 = 0.0;
            for (axis, degree, boundary, scale, table_div, table_len) in shifts {
                let shift = LineShift {
                    axis,
                    degree,
                    boundary,
                    scale,
                    table_div,
                };
                let (f, t) = (data.real(n), data.real(table_len));
                let run = |b: &dyn ShiftOn| b.shifted(&shape, &f, &t, &shift);
                worst = worst.max(rel_err_real(&run(gpu)?, &run(cpu)?));
            }
            Ok(worst)
        }
        Kernel::Reduce => {
            let x = data.real(5003);
            let stats = |s: crate::Stats| [s.sum.re, s.sum_sq, s.min, s.max];
            let (g, c) = (stats(reduce_of(gpu, &x)?), stats(reduce_of(cpu, &x)?));
            Ok(g.iter()
                .zip(&c)
                .map(|(a, b)| (a - b).abs() / b.abs().max(1.0))
                .fold(0.0, f64::max))
        }
        Kernel::HartreePhase => {
            // An operator on a 2D grid of 6 × 10 points: A is [6, 10, 6, 10].
            let shape = [6, 10, 6, 10];
            let a = data.complex(shape.iter().product());
            let t = data.real(60);
            let run = |b: &dyn PhaseOn| b.phased(&shape, &a, &t, 1.7);
            Ok(rel_err(&run(gpu)?, &run(cpu)?))
        }
    }
}

/// A fresh complex field of `shape` holding `x`, transformed by `op`, read back. The GPU
/// field is first filled with NaN, so that an element a kernel forgets to write shows.
fn on_complex<B: Backend>(
    b: &B,
    shape: &[usize],
    x: &[Complex64],
    op: impl FnOnce(&B, &mut B::Field) -> Result<()>,
) -> Result<Vec<Complex64>> {
    let mut f = b.zeros(shape, Elem::Complex)?;
    b.fill(&mut f, Complex64::new(f64::NAN, f64::NAN))?;
    b.upload_complex(&mut f, x)?;
    op(b, &mut f)?;
    b.download_complex(&f)
}

fn reduce_of<B: Backend>(b: &B, x: &[f64]) -> Result<crate::Stats> {
    let mut f = b.zeros(&[x.len()], Elem::Real)?;
    b.upload_real(&mut f, x)?;
    b.reduce(&f)
}

/// The line shift on either backend, behind one object-safe call.
trait ShiftOn {
    fn shifted(&self, shape: &[usize], f: &[f64], t: &[f64], s: &LineShift) -> Result<Vec<f64>>;
}

impl<B: Backend + Advection> ShiftOn for B {
    fn shifted(&self, shape: &[usize], f: &[f64], t: &[f64], s: &LineShift) -> Result<Vec<f64>> {
        let mut field = self.zeros(shape, Elem::Real)?;
        self.fill(&mut field, Complex64::new(f64::NAN, 0.0))?;
        self.upload_real(&mut field, f)?;
        let mut table = self.zeros(&[t.len()], Elem::Real)?;
        self.upload_real(&mut table, t)?;
        self.shift_lines(&mut field, &table, s)?;
        self.download_real(&field)
    }
}

/// The conjugation phase on either backend.
trait PhaseOn {
    fn phased(&self, shape: &[usize], a: &[Complex64], t: &[f64], s: f64)
        -> Result<Vec<Complex64>>;
}

impl<B: MatrixKernels> PhaseOn for B {
    fn phased(
        &self,
        shape: &[usize],
        a: &[Complex64],
        t: &[f64],
        s: f64,
    ) -> Result<Vec<Complex64>> {
        let mut table = self.zeros(&[t.len()], Elem::Real)?;
        self.upload_real(&mut table, t)?;
        on_complex(self, shape, a, |b, f| b.conjugation_phase(f, &table, s))
    }
}

/// ‖out − reference‖₂/‖reference‖₂; a non-finite value anywhere in `out` gives infinity.
fn rel_err(out: &[Complex64], reference: &[Complex64]) -> f64 {
    if out.iter().any(|z| !z.re.is_finite() || !z.im.is_finite()) {
        return f64::INFINITY;
    }
    let num: f64 = out
        .iter()
        .zip(reference)
        .map(|(a, b)| (a - b).norm_sqr())
        .sum();
    let den: f64 = reference.iter().map(|b| b.norm_sqr()).sum();
    (num / den).sqrt()
}

fn rel_err_real(out: &[f64], reference: &[f64]) -> f64 {
    let c = |v: &[f64]| -> Vec<Complex64> { v.iter().map(|&x| Complex64::new(x, 0.0)).collect() };
    rel_err(&c(out), &c(reference))
}

/// Values uniform in [−1, 1) from a 64-bit linear congruential generator: the same data on
/// every run and machine, with no dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
    fn real(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.next()).collect()
    }
    fn complex(&mut self, n: usize) -> Vec<Complex64> {
        (0..n)
            .map(|_| Complex64::new(self.next(), self.next()))
            .collect()
    }
}

/// The first failed outcome as the message that refuses the adapter.
pub fn refusal(adapter: &AdapterSummary, outcomes: &[Outcome]) -> Option<String> {
    let bad = outcomes.iter().find(|o| !o.passed())?;
    let what = match &bad.failure {
        Some(f) => format!("failed to run ({f})"),
        None => format!(
            "differs from the CPU reference by {:.2e} (tolerance {TOLERANCE:.0e})",
            bad.error
        ),
    };
    Some(format!(
        "self-check of the {} kernel on {} ({}, driver {}) {what}; the adapter is refused. \
         Run on the CPU with --backend cpu, or pick another adapter with --adapter \
         (hvp adapters --check tests them all)",
        bad.kernel.name(),
        adapter.name,
        adapter.backend,
        adapter.driver
    ))
}

/// Checks `gpu` for the `kernels` a run needs, skipping those a cached check of the same
/// adapter, driver and hvp version passed; records new passes. Errors when a kernel fails.
pub fn verify(gpu: &GpuBackend, kernels: &[Kernel]) -> Result<()> {
    let adapter = &gpu.ctx.adapter;
    let faulty = std::env::var_os(FAULT_ENV).is_some();
    let mut cache = if faulty {
        Cache::default()
    } else {
        Cache::load()
    };
    let key = cache_key(adapter);
    let passed = cache.passed.get(&key).cloned().unwrap_or_default();
    let todo: Vec<Kernel> = kernels
        .iter()
        .copied()
        .filter(|k| !passed.contains(k))
        .collect();
    if todo.is_empty() {
        return Ok(());
    }
    let outcomes = check_kernels(gpu, &todo);
    if let Some(message) = refusal(adapter, &outcomes) {
        anyhow::bail!(message);
    }
    if !faulty {
        cache.record(key, &outcomes);
    }
    Ok(())
}

/// The adapter, API, driver and hvp version a cached pass holds for.
fn cache_key(a: &AdapterSummary) -> String {
    format!(
        "{} | {} | {} | hvp {}",
        a.name,
        a.backend,
        a.driver,
        env!("CARGO_PKG_VERSION")
    )
}

/// The cache of passed checks: `self-check.json` in hvp's cache directory, a map from the
/// cache key to the kernels that passed.
#[derive(Default, Serialize, Deserialize)]
struct Cache {
    passed: BTreeMap<String, Vec<Kernel>>,
}

impl Cache {
    fn path() -> Option<PathBuf> {
        let dir = match std::env::var_os("HVP_CACHE_DIR") {
            Some(d) => PathBuf::from(d),
            None => dirs::cache_dir()?.join("hvp"),
        };
        Some(dir.join("self-check.json"))
    }

    /// The cache on disk; an absent or unreadable cache is empty (it only saves time).
    fn load() -> Self {
        Self::path()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }

    /// Adds the passes among `outcomes` and writes the cache (atomically: runs started at the
    /// same time may each write, and the last one wins). A cache that cannot be written only
    /// costs a check next time, so it is not an error.
    fn record(&mut self, key: String, outcomes: &[Outcome]) {
        let entry = self.passed.entry(key).or_default();
        for o in outcomes.iter().filter(|o| o.passed()) {
            if !entry.contains(&o.kernel) {
                entry.push(o.kernel);
            }
        }
        entry.sort();
        if let Err(e) = self.write() {
            log::warn!("self-check cache not written: {e:#}");
        }
    }

    fn write(&self) -> Result<()> {
        let path = Self::path().context("no cache directory")?;
        let dir = path.parent().expect("a file in a directory");
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let tmp = dir.join(format!("self-check.json.{}", std::process::id()));
        std::fs::write(&tmp, serde_json::to_string_pretty(self)?)?;
        std::fs::rename(&tmp, &path)?;
        Ok(())
    }
}

/// Records the passes of a full check (`hvp adapters --check`) in the cache.
pub fn record_passes(adapter: &AdapterSummary, outcomes: &[Outcome]) {
    if std::env::var_os(FAULT_ENV).is_none() {
        Cache::load().record(cache_key(adapter), outcomes);
    }
}
