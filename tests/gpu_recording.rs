//! The GPU backend records a run between outputs into one command encoder: a Vlasov or a
//! Hartree `advance` of several steps is one submit, with no host wait inside it, and once the
//! first steps have run it creates no bind groups (their params come from the uniform arena
//! and the bind groups from the cache). A recording too long for the arena is split into
//! several submits and gives the same bits as one submit.

mod common;

use common::{calibration_mixture, gpu, hartree_physics, start_hartree};
use hvp::bench::{recorded, weak_landau};
use hvp::gpu::GpuBackend;
use hvp::vlasov::Numerics;
use hvp::Backend;

/// The test GPU without scratch poisoning (each poisoning write submits what was recorded
/// before it, which is what these tests count).
fn counting_gpu() -> Option<GpuBackend> {
    let mut g = gpu(None)?;
    g.poison_scratch = false;
    Some(g)
}

#[test]
fn a_vlasov_run_between_outputs_is_one_submit() {
    let Some(g) = counting_gpu() else { return };
    for (dim, nx, np) in [(1, 32, 64), (2, 8, 16), (3, 8, 8)] {
        let mut s = weak_landau(&g, dim, nx, np, 0.05, &Numerics::default()).unwrap();
        // Warm-up: pipelines, scratch and the bind groups of each arena slot are made here.
        s.advance(&g, 0.1, 5).unwrap();
        let c = recorded(&g, || s.advance(&g, 0.1, 5)).unwrap();
        eprintln!("d = {dim}: 5 steps: {c:?}");
        assert_eq!(c.submits, 1, "d = {dim}: {c:?}");
        assert_eq!(c.bind_groups_created, 0, "d = {dim}: {c:?}");
        // Each step shifts along 2d axes and solves for the field: at least 2d + 1 dispatches.
        assert!(c.dispatches >= 5 * (2 * dim as u64 + 1), "d = {dim}: {c:?}");
    }
}

#[test]
fn a_hartree_run_between_outputs_is_one_submit() {
    let Some(g) = counting_gpu() else { return };
    for (dim, n) in [(1, 32), (2, 8)] {
        let ph = hartree_physics(dim, 0.25, 4.0, false);
        let mut s = start_hartree(
            &g,
            &ph,
            n,
            2.0 * std::f64::consts::PI,
            &calibration_mixture(dim),
        );
        s.advance(&g, 0.01, 5).unwrap();
        let c = recorded(&g, || s.advance(&g, 0.01, 5)).unwrap();
        eprintln!("Hartree d = {dim}: 5 steps: {c:?}");
        assert_eq!(c.submits, 1, "d = {dim}: {c:?}");
        assert_eq!(c.bind_groups_created, 0, "d = {dim}: {c:?}");
        assert!(c.dispatches >= 5, "d = {dim}: {c:?}");
    }
}

/// A recording split into many submits (here every 7 dispatches, so that splits fall inside
/// steps and inside the FFT, and the arena pages are rewritten while earlier submits that read
/// them are queued) gives the same bits as one submit.
#[test]
fn a_recording_split_into_submits_gives_the_same_bits() {
    let Some(mut g) = counting_gpu() else { return };
    for (dim, nx, np) in [(1, 16, 32), (2, 8, 16)] {
        let mut run = |split: Option<usize>| {
            g.max_dispatches_per_submit_override = split;
            let mut s = weak_landau(&g, dim, nx, np, 0.05, &Numerics::default()).unwrap();
            let c = recorded(&g, || s.advance(&g, 0.05, 40)).unwrap();
            (g.download_real(&s.f).unwrap(), c)
        };
        let (whole, c_whole) = run(None);
        let (split, c_split) = run(Some(7));
        g.max_dispatches_per_submit_override = None;
        eprintln!("d = {dim}: one recording {c_whole:?}; split {c_split:?}");
        assert_eq!(c_whole.submits, 1);
        assert!(c_split.submits >= c_split.dispatches / 7, "{c_split:?}");
        assert_eq!(c_whole.dispatches, c_split.dispatches);
        assert!(whole.iter().all(|v| v.is_finite()));
        assert!(whole == split, "d = {dim}: the split recording differs");
    }
}

/// The bind groups of a dropped field leave the cache (they would keep its memory): a solver
/// made and dropped again and again leaves the cache as it was.
#[test]
fn dropped_fields_leave_the_bind_group_cache() {
    let Some(g) = counting_gpu() else { return };
    let mut sizes = Vec::new();
    for _ in 0..3 {
        let mut s = weak_landau(&g, 2, 8, 16, 0.05, &Numerics::default()).unwrap();
        s.advance(&g, 0.1, 3).unwrap();
        g.synchronize().unwrap();
        let with_solver = g.cached_bind_groups();
        drop(s);
        // Eviction happens at the next allocation or dispatch.
        let probe = g.zeros(&[4], hvp::Elem::Real).unwrap();
        sizes.push((with_solver, g.cached_bind_groups()));
        drop(probe);
    }
    eprintln!("(with the solver, after dropping it): {sizes:?}");
    for &(with, after) in &sizes {
        assert!(with > after, "{sizes:?}");
    }
    assert!(sizes.iter().all(|s| *s == sizes[0]), "{sizes:?}");
}
