//! `hvp study CONFIG --eps LIST`: one comparison per ε, the grid chosen by the resolution rule,
//! and the rate in ε of max_t tr|ω_t − ω̃_t|/N (Theorem 1.1 bounds it by C ε; smooth data may
//! show ε², sharp-edged data less: docs/design.md sections 3 and 5).
//!
//! Writes DIR/study.csv (one row per ε), DIR/study.json (rows, fitted slopes) and
//! DIR/study.png (log–log), and each comparison's own outputs under DIR/eps_<ε>/.

use std::path::Path;

use anyhow::{bail, Result};
use serde::Serialize;

use crate::compare::job::{points_needed, run as run_compare, CompareJob};
use crate::compare::{CompareBackend, CompareRow};
use crate::output::{plot_lines, CsvWriter};
use crate::plan::Limits;
use crate::vlasov::fit::linear_fit;

/// The maxima over t of one comparison.
#[derive(Clone, Debug, Serialize)]
pub struct StudyRow {
    pub epsilon: f64,
    pub n: usize,
    pub particles: f64,
    /// max_t tr|ω_t − ω̃_t| / N and the time it is reached.
    pub max_trace_norm_over_n: f64,
    pub t_of_max: f64,
    /// The same divided by ε (eq. 1.12 says it stays bounded).
    pub max_trace_norm_over_n_eps: f64,
    /// max_t ‖ω_t − ω̃_t‖_HS / N.
    pub max_hs_over_n: f64,
    /// max_t ‖ρ_t − ρ̃_t‖_L1.
    pub max_rho_l1: f64,
    /// max_t tr|[x_0, ω̃_t]| / (Nε) (the bound (1.11) with the trace norm).
    pub max_comm_tilde_over_n_eps: f64,
    /// max_t ‖ρ_|[x_0, ω̃_t]|‖_(L^p) / (Nε) for each p of the config.
    pub max_rho_comm_lp_over_n_eps: Vec<f64>,
    /// max_t of the Sobolev bracket 1 + Σ ε^i ‖W̃_t‖_(H^(i+2)_4) (NaN when not measured).
    pub max_sobolev_bracket: f64,
    pub seconds: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct StudyResult {
    pub rows: Vec<StudyRow>,
    /// Least-squares slope of ln max_t tr|ω_t − ω̃_t|/N against ln ε.
    pub slope_trace_norm: f64,
    /// The same for the Hilbert–Schmidt norm / N.
    pub slope_hs: f64,
    pub p_values: Vec<f64>,
}

fn max_over<F: Fn(&CompareRow) -> f64>(rows: &[CompareRow], f: F) -> f64 {
    rows.iter()
        .map(f)
        .fold(f64::NAN, |m, v| if v.is_nan() { m } else { m.max(v) })
}

/// The grid points for `epsilon`: the same momentum box πεn/L as the base config, so the
/// resolution rule that holds there holds at every ε; rounded up to an even length the GPU FFT
/// takes (2^a·3^b·5^c) when `gpu_fft`.
pub fn grid_for(base: &CompareJob, epsilon: f64, gpu_fft: bool) -> usize {
    let box_p = std::f64::consts::PI * base.physics.epsilon * base.grid.n as f64 / base.grid.length;
    let n = points_needed(epsilon, base.grid.length, box_p).max(8);
    if gpu_fft {
        crate::gpu::next_fft_len(n)
    } else {
        n + n % 2
    }
}

/// Runs the study on `backend` (`limits.max_line` set: the GPU, whose FFT takes 2^a·3^b·5^c).
pub fn run<B: CompareBackend>(
    backend: &B,
    limits: Limits,
    base: CompareJob,
    eps: &[f64],
    out: &Path,
    quiet: bool,
) -> Result<StudyResult> {
    if eps.len() < 2 {
        bail!("a study needs at least two values of ε (--eps 0.2,0.1,0.05)");
    }
    if let Some(e) = eps.iter().find(|e| e.is_nan() || **e <= 0.0) {
        bail!("--eps: {e} is not a positive number");
    }
    if base.physics.particles.is_some() {
        bail!("physics.particles is set: a study scales N = ε^(−d) with ε; remove it");
    }
    let gpu_fft = limits.max_line.is_some();
    std::fs::create_dir_all(out)?;
    let p_values = base.diagnostics.p_values.clone();
    let mut rows = Vec::new();
    for (i, &epsilon) in eps.iter().enumerate() {
        let mut job = base.clone();
        job.physics.epsilon = epsilon;
        job.grid.n = grid_for(&base, epsilon, gpu_fft);
        if !quiet {
            println!(
                "study: ε = {epsilon}, n = {} ({} of {})",
                job.grid.n,
                i + 1,
                eps.len()
            );
        }
        let dir = out.join(format!("eps_{epsilon}"));
        let started = std::time::Instant::now();
        let (summary, cmp) = run_compare(backend, limits.clone(), job.clone(), &dir, true)?;
        let (i_max, _) = cmp
            .iter()
            .enumerate()
            .fold((0, f64::NEG_INFINITY), |(bi, bv), (k, r)| {
                let v = r.trace_norm_over_n();
                if v > bv {
                    (k, v)
                } else {
                    (bi, bv)
                }
            });
        let particles = cmp[0].particles;
        let row = StudyRow {
            epsilon,
            n: job.grid.n,
            particles,
            max_trace_norm_over_n: cmp[i_max].trace_norm_over_n(),
            t_of_max: cmp[i_max].t,
            max_trace_norm_over_n_eps: cmp[i_max].trace_norm_over_n() / epsilon,
            max_hs_over_n: max_over(&cmp, |r| r.hs_norm / r.particles),
            max_rho_l1: max_over(&cmp, |r| r.rho_l1),
            max_comm_tilde_over_n_eps: max_over(&cmp, |r| r.over_n_eps(r.axes[0].comm_tilde)),
            max_rho_comm_lp_over_n_eps: (0..p_values.len())
                .map(|k| max_over(&cmp, |r| r.over_n_eps(r.axes[0].rho_lp[k])))
                .collect(),
            max_sobolev_bracket: max_over(&cmp, |r| r.sobolev_bracket),
            seconds: started.elapsed().as_secs_f64(),
        };
        if !quiet {
            println!(
                "  max_t tr|ω − ω̃|/N = {:.4e} at t = {:.2}, /(Nε) = {:.4e}; {:.1} s ({})",
                row.max_trace_norm_over_n,
                row.t_of_max,
                row.max_trace_norm_over_n_eps,
                row.seconds,
                summary.backend
            );
        }
        rows.push(row);
    }
    let ln_eps: Vec<f64> = rows.iter().map(|r| r.epsilon.ln()).collect();
    let slope = |f: fn(&StudyRow) -> f64| {
        let y: Vec<f64> = rows.iter().map(|r| f(r).ln()).collect();
        linear_fit(&ln_eps, &y).0
    };
    let result = StudyResult {
        slope_trace_norm: slope(|r| r.max_trace_norm_over_n),
        slope_hs: slope(|r| r.max_hs_over_n),
        rows,
        p_values,
    };
    write_outputs(&result, out)?;
    if !quiet {
        println!(
            "study: slope of max_t tr|ω_t − ω̃_t|/N against ε: {:.3} (Hilbert–Schmidt: {:.3}); wrote {}",
            result.slope_trace_norm,
            result.slope_hs,
            out.display()
        );
    }
    Ok(result)
}

fn write_outputs(result: &StudyResult, out: &Path) -> Result<()> {
    let mut cols: Vec<String> = [
        "epsilon",
        "n",
        "particles",
        "max_trace_norm_over_n",
        "t_of_max",
        "max_trace_norm_over_n_eps",
        "max_hs_over_n",
        "max_rho_l1",
        "max_comm_x0_tilde_over_n_eps",
    ]
    .map(String::from)
    .to_vec();
    cols.extend(
        result
            .p_values
            .iter()
            .map(|p| format!("max_rho_comm_x0_l{p}_over_n_eps")),
    );
    cols.extend(["max_sobolev_bracket".to_string(), "seconds".to_string()]);
    let mut csv = CsvWriter::create(out.join("study.csv"), &cols)?;
    for r in &result.rows {
        let mut v = vec![
            r.epsilon,
            r.n as f64,
            r.particles,
            r.max_trace_norm_over_n,
            r.t_of_max,
            r.max_trace_norm_over_n_eps,
            r.max_hs_over_n,
            r.max_rho_l1,
            r.max_comm_tilde_over_n_eps,
        ];
        v.extend(&r.max_rho_comm_lp_over_n_eps);
        v.extend([r.max_sobolev_bracket, r.seconds]);
        csv.row(&v)?;
    }
    std::fs::write(
        out.join("study.json"),
        serde_json::to_string_pretty(result)? + "\n",
    )?;
    let eps: Vec<f64> = result.rows.iter().map(|r| r.epsilon).collect();
    let tr: Vec<f64> = result
        .rows
        .iter()
        .map(|r| r.max_trace_norm_over_n)
        .collect();
    let hs: Vec<f64> = result.rows.iter().map(|r| r.max_hs_over_n).collect();
    // Reference lines through the largest ε: slopes 1 and 2.
    let (e0, t0) = (eps[0], tr[0]);
    let line = |k: i32| {
        eps.iter()
            .map(|e| t0 * (e / e0).powi(k))
            .collect::<Vec<f64>>()
    };
    let (l1, l2) = (line(1), line(2));
    // The plot's x axis is ln ε (the plotting helper has a log y axis only).
    let ln_eps: Vec<f64> = eps.iter().map(|e| e.ln()).collect();
    plot_lines(
        out.join("study.png"),
        &format!(
            "max over t of tr|ω − Weyl(f)|/N against ε: slope {:.2}",
            result.slope_trace_norm
        ),
        "ln ε",
        "max over t",
        &[
            ("tr|ω − Weyl(f)|/N", &ln_eps, &tr),
            ("‖ω − Weyl(f)‖_HS/N", &ln_eps, &hs),
            ("∝ ε", &ln_eps, &l1),
            ("∝ ε²", &ln_eps, &l2),
        ],
        true,
    )
}
