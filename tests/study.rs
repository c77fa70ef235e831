//! The semiclassical rate (Theorem 1.1): for a smooth 1D mixed state, Coulomb and gravity,
//! over three values of ε, the slope of max_t tr|ω_t − ω̃_t|/N against ε is at least 0.8,
//! i.e. tr|ω_t − ω̃_t|/(Nε) does not grow as ε falls. The sharp-edged state is measured next
//! to it.

mod common;

use hvp::compare::job::CompareJob;
use hvp::cpu::CpuBackend;
use hvp::plan::Limits;
use hvp::study::{run, StudyResult};
use hvp::Backend;

const EPS: [f64; 3] = [0.2, 0.1, 0.05];

fn job(path: &str) -> CompareJob {
    let table = hvp::config::load(std::path::Path::new(path), &[]).unwrap();
    hvp::config::job(&table).unwrap()
}

fn limits<B: Backend>(b: &B, gpu: bool) -> Limits {
    Limits {
        device: b.describe(),
        real_bytes: b.real_bytes(),
        chunk_bytes: None,
        max_line: gpu.then_some(4096),
        max_buffer_bytes: None,
    }
}

fn study<B: hvp::compare::CompareBackend>(b: &B, gpu: bool, config: &str) -> StudyResult {
    let out = std::env::temp_dir().join(format!(
        "hvp-study-{}-{}-{}",
        std::process::id(),
        if gpu { "gpu" } else { "cpu" },
        config.replace('/', "_")
    ));
    let r = run(b, limits(b, gpu), job(config), &EPS, &out, true).unwrap();
    let per_eps: Vec<String> = r
        .rows
        .iter()
        .map(|row| {
            format!(
                "ε = {}: {:.4e} (/ε {:.4e})",
                row.epsilon, row.max_trace_norm_over_n, row.max_trace_norm_over_n_eps
            )
        })
        .collect();
    eprintln!(
        "{} {config}: slope {:.3} (HS {:.3}); {}",
        if gpu { "gpu" } else { "cpu" },
        r.slope_trace_norm,
        r.slope_hs,
        per_eps.join(", ")
    );
    for name in ["study.csv", "study.json", "study.png"] {
        assert!(out.join(name).exists(), "{name} missing");
    }
    r
}

#[test]
fn smooth_state_rate_is_at_least_08_coulomb_and_gravity() {
    let cpu = CpuBackend::new();
    for config in [
        "configs/study_smooth_coulomb_1d.toml",
        "configs/study_smooth_gravity_1d.toml",
    ] {
        let r = study(&cpu, false, config);
        assert!(
            r.slope_trace_norm >= 0.8,
            "{config}: slope {}",
            r.slope_trace_norm
        );
        // tr|ω_t − ω̃_t|/(Nε) does not grow as ε falls.
        let scaled: Vec<f64> = r
            .rows
            .iter()
            .map(|row| row.max_trace_norm_over_n_eps)
            .collect();
        assert!(
            scaled.windows(2).all(|w| w[1] <= w[0] * 1.05),
            "{config}: {scaled:?}"
        );
    }
    if let Some(g) = common::gpu(None) {
        let r = study(&g, true, "configs/study_smooth_coulomb_1d.toml");
        assert!(
            r.slope_trace_norm >= 0.8,
            "gpu: slope {}",
            r.slope_trace_norm
        );
    }
}

/// The sharp-edged state (M the indicator of a phase-space box) next to the smooth one: its
/// slope is reported; the theorem bounds the rate by ε, and this measures about ε¹.
#[test]
fn sharp_edged_state_rate_is_measured() {
    let cpu = CpuBackend::new();
    let r = study(&cpu, false, "configs/study_box_coulomb_1d.toml");
    assert!(
        r.slope_trace_norm.is_finite() && r.slope_trace_norm > 0.5,
        "slope {}",
        r.slope_trace_norm
    );
}
