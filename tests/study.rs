//! The semiclassical rate (Theorem 1.1): for a smooth 1D mixed state, Coulomb and gravity,
//! over three values of ε, the slope of max_t tr|ω_t − ω̃_t|/N against ε. The theorem bounds
//! the rate by ε (slope ≥ 1); for smooth data the first Moyal correction is O(ε²), and the
//! measured slopes are 1.88 (Coulomb) and 1.89 (gravity), so the band asserted is [1.8, 2.0]:
//! a loss of the Wigner/Weyl scaling or of the second-order splitting shows up as a slope
//! near 1. The sharp-edged state (a phase-space box) is limited by its edges to about ε¹
//! (measured 0.97), asserted in [0.9, 1.1].

mod common;

use hvp::compare::job::CompareJob;
use hvp::cpu::CpuBackend;
use hvp::plan::Limits;
use hvp::study::{run, StudyResult};
use hvp::Backend;

const EPS: [f64; 3] = [0.2, 0.1, 0.05];

/// The slope band of the smooth state (measured 1.88 Coulomb, 1.89 gravity; module doc).
const SMOOTH_SLOPE: std::ops::RangeInclusive<f64> = 1.8..=2.0;
/// The slope band of the sharp-edged state (measured 0.97; module doc).
const BOX_SLOPE: std::ops::RangeInclusive<f64> = 0.9..=1.1;

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
fn smooth_state_rate_is_near_eps_squared_coulomb_and_gravity() {
    let cpu = CpuBackend::new();
    for config in [
        "configs/study_smooth_coulomb_1d.toml",
        "configs/study_smooth_gravity_1d.toml",
    ] {
        let r = study(&cpu, false, config);
        assert!(
            SMOOTH_SLOPE.contains(&r.slope_trace_norm),
            "{config}: slope {} outside {SMOOTH_SLOPE:?}",
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
            SMOOTH_SLOPE.contains(&r.slope_trace_norm),
            "gpu: slope {} outside {SMOOTH_SLOPE:?}",
            r.slope_trace_norm
        );
    }
}

/// The sharp-edged state (M the indicator of a phase-space box) next to the smooth one: its
/// edges limit the rate to about ε¹ (measured 0.97).
#[test]
fn sharp_edged_state_rate_is_near_eps() {
    let cpu = CpuBackend::new();
    let r = study(&cpu, false, "configs/study_box_coulomb_1d.toml");
    assert!(
        BOX_SLOPE.contains(&r.slope_trace_norm),
        "slope {} outside {BOX_SLOPE:?}",
        r.slope_trace_norm
    );
}
