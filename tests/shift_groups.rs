//! Shift groups (`Advection::shift_group`): the d drifts or the d kicks of a Vlasov step in
//! one pass over f. On the CPU the fused tiles give, bit for bit, what the per-axis sweeps
//! give, on random data and random shift tables, d = 1, 2, 3, both boundaries; the paths are
//! the ones the plan reports; the GPU's fused tiles in workgroup memory agree with the CPU in
//! f32, on one chunk and many. Then the passes
//! a run of steps makes (bytes per cell and step, d = 1, 2, 3) and the merged drift half
//! steps.

mod common;

use common::{gpu, random_real, rel_err_real, rng};
use hvp::cpu::CpuBackend;
use hvp::field::strides_of;
use hvp::kernels::{Advection, GroupPath, LineBoundary, LineShift};
use hvp::vlasov::{Numerics, Splitting, Vlasov};
use hvp::{Backend, Elem};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

fn field<B: Backend>(b: &B, shape: &[usize], data: &[f64]) -> B::Field {
    let mut f = b.zeros(shape, Elem::Real).unwrap();
    b.upload_real(&mut f, data).unwrap();
    f
}

/// Phase-space shapes [x.., p..] with sizes that are not powers of two; per d the degree
/// (periodic lines need more than degree + 1 points).
fn cases() -> Vec<(Vec<usize>, usize)> {
    vec![
        (vec![24, 20], 9),
        (vec![10, 11, 12, 13], 9),
        (vec![6, 7, 6, 6, 7, 8], 5),
    ]
}

/// A random table of `len` shifts in grid points, between −4.5 and 4.5.
fn table(r: &mut ChaCha8Rng, len: usize) -> Vec<f64> {
    (0..len).map(|_| r.random_range(-4.5..4.5)).collect()
}

/// The drift group (along x_i by a table over p_i) and the kick group (along p_i by a table
/// over the position cell) of a d-dimensional phase space, with their tables.
fn groups(
    r: &mut ChaCha8Rng,
    shape: &[usize],
    degree: usize,
    boundary: LineBoundary,
) -> [Vec<(Vec<f64>, LineShift)>; 2] {
    let d = shape.len() / 2;
    let strides = strides_of(shape);
    let block: usize = shape[d..].iter().product();
    let positions: usize = shape[..d].iter().product();
    let drifts = (0..d)
        .map(|i| {
            let shift = LineShift {
                axis: i,
                degree,
                boundary,
                scale: 0.9,
                table_div: strides[d + i],
            };
            (table(r, shape[d + i]), shift)
        })
        .collect();
    let kicks = (0..d)
        .map(|i| {
            let shift = LineShift {
                axis: d + i,
                degree,
                boundary: LineBoundary::Zero,
                scale: -1.1,
                table_div: block,
            };
            (table(r, positions), shift)
        })
        .collect();
    [drifts, kicks]
}

/// `group` on `b`: per-axis sweeps (`shift_lines`) and the group pass (`shift_group`) from
/// the same data; returns both results.
fn both<B: Advection>(
    b: &B,
    shape: &[usize],
    data: &[f64],
    group: &[(Vec<f64>, LineShift)],
) -> (Vec<f64>, Vec<f64>) {
    let tables: Vec<B::Field> = group.iter().map(|(t, _)| field(b, &[t.len()], t)).collect();
    let mut per_axis = field(b, shape, data);
    for (t, (_, shift)) in tables.iter().zip(group) {
        b.shift_lines(&mut per_axis, t, shift).unwrap();
    }
    let mut grouped = field(b, shape, data);
    let refs: Vec<(&B::Field, LineShift)> = tables
        .iter()
        .zip(group)
        .map(|(t, (_, s))| (t, s.clone()))
        .collect();
    b.shift_group(&mut grouped, &refs).unwrap();
    (
        b.download_real(&per_axis).unwrap(),
        b.download_real(&grouped).unwrap(),
    )
}

fn bits_equal(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// Calls `check(shape, d, boundary, name, group, data)` for each case, each boundary and
/// each of the two groups, with fresh random data and tables from the test's generator.
fn for_each_group(
    test: &str,
    mut check: impl FnMut(&[usize], usize, LineBoundary, &str, &[(Vec<f64>, LineShift)], &[f64]),
) {
    let mut r = rng(test);
    for (shape, degree) in cases() {
        let d = shape.len() / 2;
        for boundary in [LineBoundary::Periodic, LineBoundary::Zero] {
            let data = random_real(&mut r, shape.iter().product());
            for (name, group) in ["drifts", "kicks"]
                .into_iter()
                .zip(groups(&mut r, &shape, degree, boundary))
            {
                check(&shape, d, boundary, name, &group, &data);
            }
        }
    }
}

#[test]
fn cpu_groups_are_fused_and_equal_the_sweeps_bit_for_bit() {
    let cpu = CpuBackend::new();
    for_each_group(
        "shift_groups_cpu",
        |shape, d, boundary, name, group, data| {
            let axes: Vec<usize> = group.iter().map(|(_, s)| s.axis).collect();
            let path = cpu.group_path(shape, &axes);
            assert!(
                matches!(path, GroupPath::Fused { .. }),
                "{name} of {shape:?}: {path:?}"
            );
            assert_eq!(path.passes(d), 1);
            let (per_axis, grouped) = both(&cpu, shape, data, group);
            // The shifts moved the data (not a no-op that trivially agrees).
            assert!(rel_err_real(&per_axis, data) > 0.1, "{name}: nothing moved");
            assert!(
                bits_equal(&per_axis, &grouped),
                "{name} of {shape:?} ({boundary:?}): fused differs from the sweeps by {:e}",
                rel_err_real(&grouped, &per_axis)
            );
            eprintln!(
                "cpu {name} of {shape:?} ({boundary:?}): {} bit-identical",
                path.describe(d)
            );
        },
    );
}

/// Drifts whose shifts grow slowly with the momentum (a physical drift p·τ/dx), so that the
/// columns of a tile have a few stencil offsets and share one widened stencil: still bit for
/// bit the per-axis sweeps.
#[test]
fn cpu_smooth_drifts_share_a_widened_stencil_bit_for_bit() {
    let cpu = CpuBackend::new();
    let mut r = rng("shift_groups_cpu_smooth");
    for shape in [vec![40, 64], vec![10, 12, 16, 24], vec![8, 8, 8, 8, 8, 16]] {
        let d = shape.len() / 2;
        let strides = strides_of(&shape);
        for boundary in [LineBoundary::Periodic, LineBoundary::Zero] {
            let slope = r.random_range(0.05..0.4);
            let group: Vec<(Vec<f64>, LineShift)> = (0..d)
                .map(|i| {
                    let n = shape[d + i];
                    let table = (0..n)
                        .map(|k| slope * (k as f64 - n as f64 / 2.0))
                        .collect();
                    let shift = LineShift {
                        axis: i,
                        degree: 5,
                        boundary,
                        scale: 1.0,
                        table_div: strides[d + i],
                    };
                    (table, shift)
                })
                .collect();
            let data = random_real(&mut r, shape.iter().product());
            let (per_axis, grouped) = both(&cpu, &shape, &data, &group);
            assert!(
                rel_err_real(&per_axis, &data) > 0.1,
                "{shape:?}: nothing moved"
            );
            assert!(
                bits_equal(&per_axis, &grouped),
                "{shape:?} ({boundary:?}), slope {slope}: fused differs by {:e}",
                rel_err_real(&grouped, &per_axis)
            );
        }
    }
}

/// The per-axis sweep (`shift_lines`) on every axis, strided ones included (which go as
/// chunks of whole rows), equals `shift_line` applied to each line alone, bit for bit: random
/// data, random shifts of up to ±4.5 points (many stencil offsets side by side), smooth shifts
/// (a few), one shift for all lines, both boundaries; degrees 5 and 9 (stencils of up to 12
/// taps, whose weights the strips hold in registers) and 15 (wider: read from the cache).
#[test]
fn cpu_per_axis_sweeps_equal_the_line_reference_bit_for_bit() {
    let cpu = CpuBackend::new();
    let mut r = rng("shift_lines_cpu_reference");
    for (shape, degree) in [
        (vec![7, 300, 6], 5),
        (vec![12, 9, 7, 11], 5),
        (vec![600, 8], 5),
        (vec![7, 9, 16], 5),
        (vec![40, 32], 9),
        (vec![20, 36, 12], 9),
        (vec![18, 40, 17], 15),
    ] {
        let strides = strides_of(&shape);
        let total: usize = shape.iter().product();
        for axis in 0..shape.len() {
            let n = shape[axis];
            for boundary in [LineBoundary::Periodic, LineBoundary::Zero] {
                for kind in ["random columns", "smooth columns", "per block"] {
                    // The shift of the line through element e is table[(e / table_div) % len],
                    // constant along the line: one per column (len = the stride), or one per
                    // block of n·stride elements.
                    let stride = strides[axis];
                    let (table_div, len) = match kind {
                        "per block" => (n * stride, total / (n * stride)),
                        _ => (1, stride),
                    };
                    let table: Vec<f64> = match kind {
                        "smooth columns" => (0..len).map(|k| 0.003 * k as f64 - 0.4).collect(),
                        _ => (0..len).map(|_| r.random_range(-4.5..4.5)).collect(),
                    };
                    let shift = LineShift {
                        axis,
                        degree,
                        boundary,
                        scale: 1.0,
                        table_div,
                    };
                    let data = random_real(&mut r, total);
                    let t = field(&cpu, &[len], &table);
                    let mut f = field(&cpu, &shape, &data);
                    cpu.shift_lines(&mut f, &t, &shift).unwrap();
                    let got = cpu.download_real(&f).unwrap();
                    let mut want = data.clone();
                    let (mut ext, mut w) = (Vec::new(), [0.0; 16]);
                    let mut line = vec![0.0; n];
                    for o in 0..total / (n * stride) {
                        for c in 0..stride {
                            let at = o * n * stride + c;
                            for (j, v) in line.iter_mut().enumerate() {
                                *v = data[at + j * stride];
                            }
                            let s = table[(at / table_div) % len];
                            hvp::cpu::shift_line(&mut line, s, degree, boundary, &mut ext, &mut w);
                            for (j, v) in line.iter().enumerate() {
                                want[at + j * stride] = *v;
                            }
                        }
                    }
                    assert!(
                        rel_err_real(&want, &data) > 1e-3,
                        "{shape:?} {axis}: no move"
                    );
                    assert!(
                        bits_equal(&got, &want),
                        "{shape:?} axis {axis} ({boundary:?}, {kind}, degree {degree}): differs by {:e}",
                        rel_err_real(&got, &want)
                    );
                }
            }
        }
    }
}

/// Groups the CPU cannot tile run as sweeps, and say so: a group spanning the first and the
/// last axis, and a drift whose position block exceeds the largest tile.
#[test]
fn cpu_groups_without_a_tile_fall_back_to_sweeps() {
    let cpu = CpuBackend::new();
    let mut r = rng("shift_groups_fallback");
    let shape = [10, 11, 12, 13];
    let spread = vec![
        (
            table(&mut r, 12),
            LineShift {
                axis: 0,
                degree: 5,
                boundary: LineBoundary::Periodic,
                scale: 1.0,
                table_div: 13,
            },
        ),
        (
            table(&mut r, 110),
            LineShift {
                axis: 3,
                degree: 5,
                boundary: LineBoundary::Zero,
                scale: 1.0,
                table_div: 156,
            },
        ),
    ];
    let path = cpu.group_path(&shape, &[0, 3]);
    let GroupPath::PerAxis { reason } = &path else {
        panic!("{path:?}")
    };
    assert!(reason.contains("no tile"), "{reason}");
    assert_eq!(path.passes(2), 2);
    let data = random_real(&mut r, shape.iter().product());
    let (per_axis, grouped) = both(&cpu, &shape, &data, &spread);
    assert!(bits_equal(&per_axis, &grouped));
    // 80^3 positions (512000 > 2^18) cannot be one tile of a drift; the kicks still fuse.
    let big = [80, 80, 80, 4, 4, 4];
    assert!(matches!(
        cpu.group_path(&big, &[0, 1, 2]),
        GroupPath::PerAxis { .. }
    ));
    assert!(matches!(
        cpu.group_path(&big, &[3, 4, 5]),
        GroupPath::Fused { tile_elems: 64 }
    ));
}

#[test]
fn a_group_naming_an_axis_twice_is_refused() {
    let cpu = CpuBackend::new();
    let shape = [8, 8];
    let t = field(&cpu, &[8], &[0.5; 8]);
    let shift = LineShift {
        axis: 0,
        degree: 3,
        boundary: LineBoundary::Periodic,
        scale: 1.0,
        table_div: 1,
    };
    let mut f = field(&cpu, &shape, &[1.0; 64]);
    let e = cpu
        .shift_group(&mut f, &[(&t, shift.clone()), (&t, shift)])
        .unwrap_err();
    assert!(format!("{e}").contains("axis 0 twice"), "{e}");
}

/// The GPU's groups against the CPU's fused f64 groups: fused in workgroup memory for d = 2, 3
/// (the one-axis groups of d = 1 are one sweep already), and equal to the GPU's own per-axis
/// sweeps to f32 round-off (the same arithmetic; only a compiler's contraction may differ).
#[test]
fn gpu_groups_match_the_cpu() {
    let Some(mut g) = gpu(None) else { return };
    // Fused tiles are the default on hardware adapters only; here they run on any.
    g.fuse_groups = true;
    let cpu = CpuBackend::new();
    let mut fused = 0;
    for_each_group(
        "shift_groups_gpu",
        |shape, d, boundary, name, group, data| {
            let (_, reference) = both(&cpu, shape, data, group);
            let (per_axis, grouped) = both(&g, shape, data, group);
            let e = rel_err_real(&grouped, &reference);
            let e_sweeps = rel_err_real(&grouped, &per_axis);
            let axes: Vec<usize> = group.iter().map(|(_, s)| s.axis).collect();
            let path = g.group_path(shape, &axes);
            eprintln!(
                "gpu {name} of {shape:?} ({boundary:?}, {}): {e:.2e} against the CPU, \
                 {e_sweeps:.2e} against its sweeps",
                path.describe(d)
            );
            if d > 1 {
                assert!(matches!(path, GroupPath::Fused { .. }), "{path:?}");
                fused += 1;
            }
            assert!(rel_err_real(&per_axis, data) > 0.1, "{name}: nothing moved");
            assert!(e < 1e-5, "{name} of {shape:?}: {e:e}");
            assert!(e_sweeps < 1e-6, "{name} of {shape:?}: {e_sweeps:e}");
        },
    );
    assert_eq!(fused, 8, "fused groups checked");
}

/// A fused kick over a field of many chunks: the tiles of each chunk find their force entries
/// from the chunk's first position block (outer0), poisoned scratch and all. Then a drift over
/// the same field, whose tiles would cross the chunks, falls back to sweeps and says so.
#[test]
fn gpu_fused_kicks_hold_across_chunks() {
    // 6·7·6 positions × 6·7·8 momenta, in chunks of 4 momentum blocks (4·336 f32 values).
    let Some(mut g) = gpu(Some(4 * 336 * 8)) else {
        return;
    };
    g.fuse_groups = true;
    let cpu = CpuBackend::new();
    let mut r = rng("shift_groups_chunks");
    let shape = [6, 7, 6, 6, 7, 8];
    let data = random_real(&mut r, shape.iter().product());
    let [drifts, kicks] = groups(&mut r, &shape, 5, LineBoundary::Periodic);
    let path = g.group_path(&shape, &[3, 4, 5]);
    assert!(
        matches!(path, GroupPath::Fused { tile_elems: 336 }),
        "{path:?}"
    );
    let (_, reference) = both(&cpu, &shape, &data, &kicks);
    let (per_axis, grouped) = both(&g, &shape, &data, &kicks);
    let e = rel_err_real(&grouped, &reference);
    eprintln!(
        "gpu kicks over {} chunks: {e:.2e} against the CPU",
        252usize.div_ceil(4)
    );
    assert!(e < 1e-5, "{e:e}");
    assert!(rel_err_real(&grouped, &per_axis) < 1e-6);
    let path = g.group_path(&shape, &[0, 1, 2]);
    let GroupPath::PerAxis { reason } = &path else {
        panic!("{path:?}")
    };
    assert!(reason.contains("chunks"), "{reason}");
    let (_, reference) = both(&cpu, &shape, &data, &drifts);
    let (_, grouped) = both(&g, &shape, &data, &drifts);
    assert!(rel_err_real(&grouped, &reference) < 1e-5);
}

/// Groups whose tiles do not fit (here a tile of at most 100 elements): the first axis of
/// each is swept, the last two fused; at 40 elements nothing fuses. Both against the CPU.
#[test]
fn gpu_groups_too_large_for_a_tile_split() {
    let Some(mut g) = gpu(None) else { return };
    g.fuse_groups = true;
    let cpu = CpuBackend::new();
    let mut r = rng("shift_groups_split");
    let shape = [6, 7, 6, 6, 7, 8];
    let data = random_real(&mut r, shape.iter().product());
    for (tile, expect) in [(100, "split"), (40, "per axis")] {
        g.group_tile_override = Some(tile);
        for (name, group) in
            ["drifts", "kicks"]
                .into_iter()
                .zip(groups(&mut r, &shape, 5, LineBoundary::Zero))
        {
            let axes: Vec<usize> = group.iter().map(|(_, s)| s.axis).collect();
            let path = g.group_path(&shape, &axes);
            match expect {
                "split" => assert!(
                    matches!(path, GroupPath::Split { fused: 2, .. }),
                    "{path:?}"
                ),
                _ => assert!(matches!(path, GroupPath::PerAxis { .. }), "{path:?}"),
            }
            let (_, reference) = both(&cpu, &shape, &data, &group);
            let (per_axis, grouped) = both(&g, &shape, &data, &group);
            let e = rel_err_real(&grouped, &reference);
            eprintln!("gpu {name} ({}): {e:.2e} against the CPU", path.describe(3));
            assert!(e < 1e-5, "{name}: {e:e}");
            assert!(rel_err_real(&grouped, &per_axis) < 1e-6);
        }
    }
}

/// The bench's Landau state (amplitude 0.05) with the given splitting.
fn landau_solver<B: hvp::kernels::Advection>(
    b: &B,
    dim: usize,
    nx: usize,
    np: usize,
    splitting: Splitting,
) -> Vlasov<B> {
    let numerics = Numerics {
        splitting,
        ..Numerics::default()
    };
    hvp::bench::weak_landau(b, dim, nx, np, 0.05, &numerics).unwrap()
}

/// The bytes a run of steps moves per cell, from the passes' geometry, d = 1, 2, 3: on the
/// CPU both groups are fused (one pass each), so a Strang step between outputs k steps apart
/// is 1 kick pass + (k + 1)/k drift passes + half a pass for ρ: 56 B at k = 1, 42 B at k = 8,
/// in f64, whatever d; the fourth-order composition has three stages (3 kicks, 3 ρ reads,
/// 3 + 1/k drifts). The GPU fuses the same groups at these sizes, in f32, or sweeps each group
/// axis by axis (d passes) where `fuse_groups` is off (software adapters by default).
#[test]
fn bytes_per_cell_and_step_follow_the_pass_geometry() {
    let cpu = CpuBackend::new();
    for (d, nx, np) in [(1, 16, 16), (2, 8, 8), (3, 4, 4)] {
        let s = landau_solver(&cpu, d, nx, np, Splitting::Strang);
        let t = s.traffic(&cpu);
        assert!(
            matches!(t.kick, GroupPath::Fused { .. }) && matches!(t.drift, GroupPath::Fused { .. })
        );
        assert_eq!(t.bytes_per_cell_step(1), 56.0, "d = {d}");
        assert_eq!(t.bytes_per_cell_step(8), 42.0, "d = {d}");
        let y = landau_solver(&cpu, d, nx, np, Splitting::FourthOrder).traffic(&cpu);
        assert_eq!(y.passes_per_step(1), 3.0 + 4.0 + 1.5, "d = {d}");
        eprintln!("cpu d = {d}: {}", t.describe(8));
    }
    if let Some(mut g) = gpu(None) {
        for (d, nx, np) in [(1, 16, 16), (2, 8, 8), (3, 4, 4)] {
            // Fused groups as on the CPU (d = 1: one axis, one sweep), in f32.
            g.fuse_groups = true;
            let t = landau_solver(&g, d, nx, np, Splitting::Strang).traffic(&g);
            assert_eq!(t.passes_per_step(1), 3.5, "d = {d}");
            assert_eq!(t.bytes_per_cell_step(1), 28.0, "d = {d}");
            assert_eq!(t.bytes_per_cell_step(8), 21.0, "d = {d}");
            eprintln!("gpu d = {d}: {}", t.describe(8));
            // Per-axis sweeps: d passes per group.
            g.fuse_groups = false;
            let t = landau_solver(&g, d, nx, np, Splitting::Strang).traffic(&g);
            let df = d as f64;
            assert_eq!(t.passes_per_step(1), df + 2.0 * df + 0.5, "d = {d}");
            assert_eq!(t.bytes_per_cell_step(1), 8.0 * (3.0 * df + 0.5), "d = {d}");
        }
    }
}

/// `advance` merges the drift half steps between steps: 20 steps in one call differ from 20
/// single steps (which are unmerged) by the interpolation error of the 19 shifts saved, which
/// is small and not zero; mass agrees to what the momentum edges let out.
#[test]
fn merged_drifts_change_only_the_interpolation_error() {
    let cpu = CpuBackend::new();
    for d in [1, 2] {
        let (nx, np) = if d == 1 { (32, 64) } else { (12, 24) };
        let mut merged = landau_solver(&cpu, d, nx, np, Splitting::Strang);
        let mut single = landau_solver(&cpu, d, nx, np, Splitting::Strang);
        merged.advance(&cpu, 0.1, 20).unwrap();
        for _ in 0..20 {
            single.advance(&cpu, 0.1, 1).unwrap();
        }
        assert_eq!(merged.time.to_bits(), single.time.to_bits());
        let (a, b) = (
            cpu.download_real(&merged.f).unwrap(),
            cpu.download_real(&single.f).unwrap(),
        );
        let diff = rel_err_real(&a, &b);
        let mass = |v: &[f64]| v.iter().sum::<f64>();
        eprintln!(
            "d = {d}: merged against single steps {diff:.2e}, mass {:.2e}",
            (mass(&a) / mass(&b) - 1.0).abs()
        );
        // Measured 1.1e-7 (d = 1, 32 × 64) and 6.6e-6 (d = 2, 12² × 24²).
        assert!(diff > 1e-14 && diff < 2e-5, "d = {d}: {diff:e}");
        // What the kicks' zero boundary lets out at the momentum edges differs (1.3e-13 in 2D).
        assert!((mass(&a) / mass(&b) - 1.0).abs() < 1e-11);
    }
}

/// A GPU Vlasov run with fused tiles (the default on hardware adapters) against the same run
/// swept axis by axis (the default on software ones), d = 2, 3: the same arithmetic, so the
/// same f to f32 round-off after 10 steps, and the fused run moves fewer bytes.
#[test]
fn gpu_vlasov_runs_fused_and_swept_agree() {
    let Some(mut g) = gpu(None) else { return };
    for (d, nx, np) in [(2, 8, 16), (3, 6, 8)] {
        let mut run = |fuse: bool| {
            g.fuse_groups = fuse;
            let mut s = landau_solver(&g, d, nx, np, Splitting::Strang);
            s.advance(&g, 0.1, 10).unwrap();
            (g.download_real(&s.f).unwrap(), s.traffic(&g))
        };
        let (fused, t_fused) = run(true);
        let (swept, t_swept) = run(false);
        assert!(
            matches!(t_fused.kick, GroupPath::Fused { .. }),
            "{t_fused:?}"
        );
        assert!(
            matches!(t_fused.drift, GroupPath::Fused { .. }),
            "{t_fused:?}"
        );
        assert!(t_fused.bytes_per_cell_step(8) < t_swept.bytes_per_cell_step(8));
        let e = rel_err_real(&fused, &swept);
        eprintln!("gpu d = {d}: fused against swept after 10 steps {e:.2e}");
        assert!(e < 1e-6, "d = {d}: {e:e}");
    }
}
