//! The phase-space kernels (line shifts, block sums, phase-space sums) of the GPU against the
//! CPU reference on fresh random data, in one chunk and across many; and the interpolation
//! order of the shift, measured by refinement.

mod common;

use common::{gpu, random_real, rel_err_real, rng};
use hvp::cpu::CpuBackend;
use hvp::gpu::GpuBackend;
use hvp::kernels::{Advection, LineBoundary, LineShift, MomentumAxes};
use hvp::{Backend, Elem, FieldInfo};
use rand::Rng;

fn backends() -> Vec<GpuBackend> {
    // 256-byte chunks hold 32 elements: every axis but the last crosses chunks.
    [None, Some(256), Some(4096)]
        .into_iter()
        .filter_map(gpu)
        .collect()
}

fn field<B: Backend>(b: &B, shape: &[usize], data: &[f64]) -> B::Field {
    let mut f = b.zeros(shape, Elem::Real).unwrap();
    b.upload_real(&mut f, data).unwrap();
    f
}

/// 2D2V-like shape [x0, x1, p0, p1] with sizes that are not powers of two.
const SHAPE: [usize; 4] = [8, 9, 10, 12];

/// The shifts a Vlasov step makes: drifts along x_i by a table of p_i, kicks along p_i by a
/// table over x; with shifts of several grid points, both signs.
fn shifts() -> Vec<(LineShift, usize)> {
    let np = SHAPE[2] * SHAPE[3];
    let mut v = Vec::new();
    for degree in [3, 5, 7] {
        for boundary in [LineBoundary::Periodic, LineBoundary::Zero] {
            v.push((
                LineShift {
                    axis: 0,
                    degree,
                    boundary,
                    scale: 2.7,
                    table_div: SHAPE[3],
                },
                SHAPE[2],
            ));
            v.push((
                LineShift {
                    axis: 1,
                    degree,
                    boundary,
                    scale: -3.3,
                    table_div: 1,
                },
                SHAPE[3],
            ));
            v.push((
                LineShift {
                    axis: 2,
                    degree,
                    boundary,
                    scale: 1.9,
                    table_div: np,
                },
                SHAPE[0] * SHAPE[1],
            ));
            v.push((
                LineShift {
                    axis: 3,
                    degree,
                    boundary,
                    scale: -0.6,
                    table_div: np,
                },
                SHAPE[0] * SHAPE[1],
            ));
        }
    }
    v
}

#[test]
fn shift_lines_matches_cpu() {
    let cpu = CpuBackend::new();
    let n: usize = SHAPE.iter().product();
    for g in backends() {
        let mut r = rng("shift_lines");
        for (shift, table_len) in shifts() {
            let data = random_real(&mut r, n);
            let table = random_real(&mut r, table_len);
            let mut fc = field(&cpu, &SHAPE, &data);
            let tc = field(&cpu, &[table_len], &table);
            cpu.shift_lines(&mut fc, &tc, &shift).unwrap();
            let want = cpu.download_real(&fc).unwrap();

            let mut fg = field(&g, &SHAPE, &vec![f64::NAN; n]);
            g.upload_real(&mut fg, &data).unwrap();
            let tg = field(&g, &[table_len], &table);
            g.shift_lines(&mut fg, &tg, &shift).unwrap();
            let got = g.download_real(&fg).unwrap();
            let err = rel_err_real(&got, &want);
            assert!(
                err < 2e-6,
                "{shift:?} chunk {}: error {err:e}",
                g.max_chunk_len()
            );
        }
    }
}

#[test]
fn shift_refuses_a_table_that_varies_along_the_line() {
    let cpu = CpuBackend::new();
    let mut f = cpu.zeros(&SHAPE, Elem::Real).unwrap();
    let t = cpu.zeros(&[SHAPE[2]], Elem::Real).unwrap();
    let bad = LineShift {
        axis: 2,
        degree: 5,
        boundary: LineBoundary::Zero,
        scale: 1.0,
        table_div: SHAPE[3],
    };
    let e = cpu.shift_lines(&mut f, &t, &bad).unwrap_err();
    assert!(e.to_string().contains("varies along axis 2"), "{e}");
    let even = LineShift { degree: 4, ..bad };
    assert!(cpu
        .shift_lines(&mut f, &t, &even)
        .unwrap_err()
        .to_string()
        .contains("odd"));
}

#[test]
fn sum_inner_and_phase_sums_match_cpu() {
    let cpu = CpuBackend::new();
    let n: usize = SHAPE.iter().product();
    let momenta = MomentumAxes {
        n: vec![SHAPE[2], SHAPE[3]],
        p_min: vec![-5.0, -6.0],
        dp: vec![1.0, 1.0],
    };
    for g in backends() {
        let mut r = rng("sum_inner");
        // Positive with some negatives, as an interpolated f is.
        let data: Vec<f64> = (0..n).map(|_| r.random_range(-0.1..1.0)).collect();
        let fc = field(&cpu, &SHAPE, &data);
        let fg = field(&g, &SHAPE, &data);
        let mut rho_c = cpu.zeros(&SHAPE[..2], Elem::Real).unwrap();
        cpu.sum_inner(&fc, &mut rho_c, 0.25).unwrap();
        let mut rho_g = field(&g, &SHAPE[..2], &vec![f64::NAN; SHAPE[0] * SHAPE[1]]);
        g.sum_inner(&fg, &mut rho_g, 0.25).unwrap();
        let err = rel_err_real(
            &g.download_real(&rho_g).unwrap(),
            &cpu.download_real(&rho_c).unwrap(),
        );
        assert!(err < 1e-6, "sum_inner chunk {}: {err:e}", g.max_chunk_len());

        let want = cpu.phase_sums(&fc, &momenta).unwrap();
        let got = g.phase_sums(&fg, &momenta).unwrap();
        let close = |a: f64, b: f64, what: &str| {
            assert!(
                (a - b).abs() <= 1e-6 * b.abs().max(1.0),
                "{what}: GPU {a} CPU {b}"
            );
        };
        close(got.sum, want.sum, "sum");
        close(got.abs_sum, want.abs_sum, "abs");
        close(got.sum_sq, want.sum_sq, "sq");
        close(got.f_log_f, want.f_log_f, "f ln f");
        close(got.momentum[0], want.momentum[0], "p0");
        close(got.momentum[1], want.momentum[1], "p1");
        close(got.p_sq, want.p_sq, "p²");
        close(got.min, want.min, "min");
        close(got.max, want.max, "max");
        assert_eq!(got.momentum[2], 0.0);
        assert_eq!(got.count, n);
    }
}

/// Shifting a smooth periodic profile by a fraction of a cell: the error falls like h^(q+1)
/// for Lagrange degree q.
#[test]
fn shift_order_by_refinement() {
    let cpu = CpuBackend::new();
    for degree in [3usize, 5, 7] {
        let mut errs = Vec::new();
        for n in [32usize, 64] {
            let h = 2.0 * std::f64::consts::PI / n as f64;
            let profile = |x: f64| (x.sin()).exp();
            let data: Vec<f64> = (0..n).map(|j| profile(j as f64 * h)).collect();
            let mut f = field(&cpu, &[n], &data);
            let t = field(&cpu, &[1], &[1.0]);
            let s = 0.37; // grid points
            let shift = LineShift {
                axis: 0,
                degree,
                boundary: LineBoundary::Periodic,
                scale: s,
                table_div: 1,
            };
            cpu.shift_lines(&mut f, &t, &shift).unwrap();
            let got = cpu.download_real(&f).unwrap();
            let err = (0..n)
                .map(|j| (got[j] - profile((j as f64 - s) * h)).abs())
                .fold(0.0, f64::max);
            errs.push(err);
        }
        let order = (errs[0] / errs[1]).log2();
        eprintln!("degree {degree}: errors {errs:?}, order {order:.2}");
        assert!(
            order > degree as f64 + 0.5,
            "degree {degree}: order {order}"
        );
    }
}

#[test]
fn gpu_field_is_real_f32() {
    // The phase-space field of the GPU is stored as f32: a guard for the byte counts of the
    // benchmark.
    if let Some(g) = gpu(None) {
        assert_eq!(g.real_bytes(), 4);
        let f = g.zeros(&SHAPE, Elem::Real).unwrap();
        assert_eq!(f.len(), SHAPE.iter().product::<usize>());
    }
}

/// A thousand periodic sweeps keep the sum of the values: the kernel's increment form makes the
/// f32 rounding of the weights cancel over a line (the plain weighted sum drifted by 1.2e-8 per
/// sweep, 1.2e-5 after 1000).
#[test]
fn periodic_sweeps_keep_the_sum() {
    let Some(g) = gpu(None) else { return };
    let shape = [32usize, 128];
    let n = shape[0] * shape[1];
    let mut r = rng("periodic_sweeps_keep_the_sum");
    let data: Vec<f64> = (0..n).map(|_| r.random_range(0.0..0.4)).collect();
    let table: Vec<f64> = (0..128).map(|k| -8.0 + k as f64 * 0.125).collect();
    let t = field(&g, &[128], &table);
    for shift in [
        LineShift {
            axis: 0,
            degree: 5,
            boundary: LineBoundary::Periodic,
            scale: 0.256,
            table_div: 1,
        },
        LineShift {
            axis: 1,
            degree: 5,
            boundary: LineBoundary::Periodic,
            scale: 0.37,
            table_div: 128,
        },
    ] {
        let mut f = field(&g, &shape, &data);
        let m0: f64 = g.download_real(&f).unwrap().iter().sum();
        for _ in 0..1000 {
            g.shift_lines(&mut f, &t, &shift).unwrap();
        }
        let m: f64 = g.download_real(&f).unwrap().iter().sum();
        let change = (m - m0).abs() / m0;
        eprintln!(
            "axis {}: relative change of the sum after 1000 sweeps {change:.2e}",
            shift.axis
        );
        assert!(change < 2e-7, "axis {}: {change:e}", shift.axis);
    }
}

/// The barrier-free shift (one invocation per line) and the workgroup form give the same bits
/// on every strided axis, periodic and zero boundaries, in one chunk and across chunks (the
/// same operations in the same order); and both match the CPU reference.
#[test]
fn barrier_free_and_workgroup_shifts_agree() {
    use hvp::gpu::ShiftForm;
    let mut rng = rng("barrier_free_and_workgroup_shifts_agree");
    let n: usize = SHAPE.iter().product();
    let data = random_real(&mut rng, n);
    let table: Vec<f64> = (0..12).map(|_| rng.random_range(-7.0..7.0)).collect();
    let cpu = CpuBackend::new();
    for mut g in backends() {
        g.poison_scratch = true;
        for axis in 0..SHAPE.len() - 1 {
            for boundary in [LineBoundary::Periodic, LineBoundary::Zero] {
                let shift = LineShift {
                    axis,
                    degree: 5,
                    boundary,
                    scale: 0.7,
                    table_div: 1,
                };
                let mut out = Vec::new();
                for form in [ShiftForm::Workgroup, ShiftForm::Direct] {
                    g.shift_form_override = Some(form);
                    let mut f = field(&g, &SHAPE, &data);
                    let t = field(&g, &[12], &table);
                    g.shift_lines(&mut f, &t, &shift).unwrap();
                    out.push(g.download_real(&f).unwrap());
                }
                g.shift_form_override = None;
                let mut f = field(&cpu, &SHAPE, &data);
                let t = field(&cpu, &[12], &table);
                cpu.shift_lines(&mut f, &t, &shift).unwrap();
                let reference = cpu.download_real(&f).unwrap();
                let err = rel_err_real(&out[1], &reference);
                assert!(
                    out[0] == out[1],
                    "axis {axis} {boundary:?}: the forms differ"
                );
                assert!(err < 1e-6, "axis {axis} {boundary:?}: rel err {err:.2e}");
            }
        }
    }
}
