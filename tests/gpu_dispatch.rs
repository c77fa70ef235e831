//! Dispatches of more workgroups than one grid dimension holds: with the grid limit forced down
//! to a few workgroups per dimension (`max_workgroups_per_dim_override`), every kernel family
//! wraps its workgroups into a 2D grid with a partial last row (the path that only runs past
//! 65,535 workgroups otherwise), and must still match the CPU backend on fresh random data with
//! poisoned outputs. Also: a line longer than one chunk is refused with an error that says why.

mod common;

use common::{gpu, random_complex, random_real, rel_err, rel_err_real, rng};
use hvp::cpu::{CpuBackend, CpuField};
use hvp::gpu::{GpuBackend, GpuField};
use hvp::kernels::MatMul;
use hvp::kernels::MatrixKernels;
use hvp::kernels::{Advection, LineBoundary, LineShift, MomentumAxes};
use hvp::kernels::{QuantizeGeom, QuantizeKernels};
use hvp::{Backend, Elem, FftDirection, FieldInfo};
use num_complex::Complex64;

const TOL: f64 = 1e-6;

/// Runs `op` with the grid limited to `limit` workgroups per dimension and checks that every
/// grid it shaped wrapped: `limit` columns, at least two rows, the last one partial.
fn wrapped<T>(g: &mut GpuBackend, limit: u32, what: &str, op: impl FnOnce(&GpuBackend) -> T) -> T {
    g.max_workgroups_per_dim_override = Some(limit);
    g.take_dispatch_log();
    let out = op(g);
    g.synchronize().unwrap();
    let log = g.take_dispatch_log();
    g.max_workgroups_per_dim_override = None;
    eprintln!("{what}: limit {limit}: (workgroups, grid) {log:?}");
    assert!(!log.is_empty(), "{what}: no grid shaped");
    for &(groups, (x, y)) in &log {
        assert!(
            x == limit && y >= 2 && (x * y) as u64 > groups,
            "{what}: {groups} workgroups as a {x} × {y} grid: no wrap with a partial last row"
        );
    }
    out
}

fn real<B: Backend>(b: &B, shape: &[usize], data: &[f64]) -> B::Field {
    let mut f = b.zeros(shape, Elem::Real).unwrap();
    b.upload_real(&mut f, data).unwrap();
    f
}

fn complex<B: Backend>(b: &B, shape: &[usize], data: &[Complex64]) -> B::Field {
    let mut f = b.zeros(shape, Elem::Complex).unwrap();
    b.upload_complex(&mut f, data).unwrap();
    f
}

fn nan_complex<B: Backend>(b: &B, shape: &[usize]) -> B::Field {
    let n: usize = shape.iter().product();
    complex(b, shape, &vec![Complex64::new(f64::NAN, f64::NAN); n])
}

fn check(what: &str, err: f64, tol: f64) {
    eprintln!("{what}: rel err {err:.2e}");
    assert!(err < tol, "{what}: rel err {err:.2e}");
}

/// A field of `elem` holding `re` (real) or `z` (complex).
fn upload<B: Backend>(b: &B, shape: &[usize], elem: Elem, re: &[f64], z: &[Complex64]) -> B::Field {
    match elem {
        Elem::Real => real(b, shape, re),
        Elem::Complex => complex(b, shape, z),
    }
}

/// Relative error of a GPU field against a CPU field of the same kind.
fn field_err(g: &GpuBackend, gf: &GpuField, cpu: &CpuBackend, cf: &CpuField) -> f64 {
    match gf.elem() {
        Elem::Real => rel_err_real(
            &g.download_real(gf).unwrap(),
            &cpu.download_real(cf).unwrap(),
        ),
        Elem::Complex => rel_err(
            &g.download_complex(gf).unwrap(),
            &cpu.download_complex(cf).unwrap(),
        ),
    }
}

#[test]
fn elementwise_corner_and_reduce_wrap() {
    let Some(mut g) = gpu(None) else { return };
    let cpu = CpuBackend::new();
    let mut r = rng("elementwise wrap");
    // 5000 elements: 20 workgroups of 256, a 7 × 3 grid.
    let shape = [50, 100];
    let n = 5000;
    let a = Complex64::new(0.7, -1.3);
    let nan_r = vec![f64::NAN; n];
    let nan_z = vec![Complex64::new(f64::NAN, f64::NAN); n];
    for elem in [Elem::Real, Elem::Complex] {
        let (xr, yr) = (random_real(&mut r, n), random_real(&mut r, n));
        let (xz, yz) = (random_complex(&mut r, n), random_complex(&mut r, n));
        let scalar = match elem {
            Elem::Real => Complex64::new(a.re, 0.0),
            Elem::Complex => a,
        };
        let x_g = upload(&g, &shape, elem, &xr, &xz);
        let x_c = upload(&cpu, &shape, elem, &xr, &xz);
        // fill, over NaN.
        let mut y_g = upload(&g, &shape, elem, &nan_r, &nan_z);
        let mut y_c = upload(&cpu, &shape, elem, &nan_r, &nan_z);
        wrapped(&mut g, 7, "fill", |g| g.fill(&mut y_g, scalar).unwrap());
        cpu.fill(&mut y_c, scalar).unwrap();
        check(
            &format!("fill {elem:?}"),
            field_err(&g, &y_g, &cpu, &y_c),
            TOL,
        );
        // scale, axpy, mul in turn on random y (an element a kernel skips keeps a wrong value).
        let mut y_g = upload(&g, &shape, elem, &yr, &yz);
        let mut y_c = upload(&cpu, &shape, elem, &yr, &yz);
        wrapped(&mut g, 7, "scale", |g| g.scale(&mut y_g, scalar).unwrap());
        cpu.scale(&mut y_c, scalar).unwrap();
        check(
            &format!("scale {elem:?}"),
            field_err(&g, &y_g, &cpu, &y_c),
            TOL,
        );
        wrapped(&mut g, 7, "axpy", |g| {
            g.axpy(scalar, &x_g, &mut y_g).unwrap()
        });
        cpu.axpy(scalar, &x_c, &mut y_c).unwrap();
        check(
            &format!("axpy {elem:?}"),
            field_err(&g, &y_g, &cpu, &y_c),
            TOL,
        );
        wrapped(&mut g, 7, "mul", |g| g.mul(&x_g, &mut y_g).unwrap());
        cpu.mul(&x_c, &mut y_c).unwrap();
        check(
            &format!("mul {elem:?}"),
            field_err(&g, &y_g, &cpu, &y_c),
            TOL,
        );
        // copy into the other kind (the convert kernel), over NaN.
        let other = match elem {
            Elem::Real => Elem::Complex,
            Elem::Complex => Elem::Real,
        };
        let mut y_g = upload(&g, &shape, other, &nan_r, &nan_z);
        let mut y_c = upload(&cpu, &shape, other, &nan_r, &nan_z);
        wrapped(&mut g, 7, "copy", |g| g.copy(&x_g, &mut y_g).unwrap());
        cpu.copy(&x_c, &mut y_c).unwrap();
        check(
            &format!("copy {elem:?} into {other:?}"),
            field_err(&g, &y_g, &cpu, &y_c),
            TOL,
        );
    }

    // copy_corner in one dispatch: a 60 × 80 corner is 4800 elements, 19 workgroups (7 × 3).
    let (src_shape, dst_shape) = ([60, 90], [70, 80]);
    let src = random_complex(&mut r, 60 * 90);
    let dst = random_complex(&mut r, 70 * 80);
    let src_g = complex(&g, &src_shape, &src);
    let mut dst_g = complex(&g, &dst_shape, &dst);
    assert_eq!((src_g.chunks.len(), dst_g.chunks.len()), (1, 1));
    wrapped(&mut g, 7, "copy_corner", |g| {
        g.copy_corner(&src_g, &mut dst_g).unwrap()
    });
    let mut dst_c = complex(&cpu, &dst_shape, &dst);
    cpu.copy_corner(&complex(&cpu, &src_shape, &src), &mut dst_c)
        .unwrap();
    let err = rel_err(
        &g.download_complex(&dst_g).unwrap(),
        &cpu.download_complex(&dst_c).unwrap(),
    );
    check("copy_corner", err, TOL);

    // reduce of 75000 elements: 19 workgroups of 4096 values real (7 × 3), 37 complex (7 × 6).
    let shape = [300, 250];
    let n = 75000;
    let re: Vec<f64> = random_real(&mut r, n).iter().map(|x| x + 0.5).collect();
    let z: Vec<Complex64> = random_complex(&mut r, n)
        .iter()
        .map(|z| z + Complex64::new(0.5, -0.25))
        .collect();
    for elem in [Elem::Real, Elem::Complex] {
        let (fg, fc) = match elem {
            Elem::Real => (real(&g, &shape, &re), real(&cpu, &shape, &re)),
            Elem::Complex => (complex(&g, &shape, &z), complex(&cpu, &shape, &z)),
        };
        let s = wrapped(&mut g, 7, "reduce", |g| g.reduce(&fg).unwrap());
        let c = cpu.reduce(&fc).unwrap();
        assert_eq!(s.count, c.count);
        check(
            &format!("reduce {elem:?} sum"),
            (s.sum - c.sum).norm() / c.sum.norm(),
            TOL,
        );
        check(
            &format!("reduce {elem:?} sum_sq"),
            (s.sum_sq - c.sum_sq).abs() / c.sum_sq,
            TOL,
        );
        assert!((s.min - c.min).abs() < 1e-7 && (s.max - c.max).abs() < 1e-7);
    }
}

/// Forward then inverse FFT along `axis` on the GPU (limit 7) and the CPU.
fn fft_both(g: &mut GpuBackend, shape: &[usize], axis: usize, what: &str) {
    let cpu = CpuBackend::new();
    let n: usize = shape.iter().product();
    let data = random_complex(&mut rng(what), n);
    let mut fg = nan_complex(g, shape);
    g.upload_complex(&mut fg, &data).unwrap();
    let mut fc = complex(&cpu, shape, &data);
    for dir in [FftDirection::Forward, FftDirection::Inverse] {
        wrapped(g, 7, &format!("{what} {dir:?}"), |g| {
            g.fft(&mut fg, &[axis], dir).unwrap()
        });
        cpu.fft(&mut fc, &[axis], dir).unwrap();
        let err = rel_err(
            &g.download_complex(&fg).unwrap(),
            &cpu.download_complex(&fc).unwrap(),
        );
        check(&format!("{what} {dir:?}"), err, 1e-5);
    }
}

#[test]
fn fft_wraps_along_contiguous_and_strided_axes_and_in_four_steps() {
    let Some(mut g) = gpu(None) else { return };
    // [200, 64]: 200 contiguous lines of 64 (16 per workgroup) and 64 strided lines of 200 (5
    // per workgroup), 13 workgroups each: a 7 × 2 grid.
    fft_both(&mut g, &[200, 64], 1, "fft contiguous");
    fft_both(&mut g, &[200, 64], 0, "fft strided");
    // Four steps with single passes of at most 16 points: 256 = 16 · 16 and 40 = 4 · 10; the
    // passes take 10 or 11 workgroups (7 × 2) and the digit transposition 40 (7 × 6).
    g.max_fft_len_override = Some(16);
    fft_both(&mut g, &[40, 256], 1, "four-step fft contiguous");
    fft_both(&mut g, &[40, 256], 0, "four-step fft strided");
}

#[test]
fn line_shifts_and_phase_space_sums_wrap() {
    let Some(mut g) = gpu(None) else { return };
    let cpu = CpuBackend::new();
    let mut r = rng("advect wrap");
    // [200, 64]: 13 workgroups of lines along either axis (7 × 2).
    let shape = [200, 64];
    let n = 200 * 64;
    for boundary in [LineBoundary::Periodic, LineBoundary::Zero] {
        for (axis, table_div, table_len) in [(1, 64, 200), (0, 1, 64)] {
            let shift = LineShift {
                axis,
                degree: 5,
                boundary,
                scale: 2.3,
                table_div,
            };
            let data = random_real(&mut r, n);
            let table = random_real(&mut r, table_len);
            let mut fg = real(&g, &shape, &vec![f64::NAN; n]);
            g.upload_real(&mut fg, &data).unwrap();
            let tg = real(&g, &[table_len], &table);
            wrapped(&mut g, 7, "shift_lines", |g| {
                g.shift_lines(&mut fg, &tg, &shift).unwrap()
            });
            let mut fc = real(&cpu, &shape, &data);
            cpu.shift_lines(&mut fc, &real(&cpu, &[table_len], &table), &shift)
                .unwrap();
            let err = rel_err_real(
                &g.download_real(&fg).unwrap(),
                &cpu.download_real(&fc).unwrap(),
            );
            check(&format!("shift axis {axis} {boundary:?}"), err, 2e-6);
        }
    }

    // sum_inner to 20 outputs: one workgroup each (7 × 3).
    let data = random_real(&mut r, 20 * 64);
    let fg = real(&g, &[20, 64], &data);
    let mut out_g = real(&g, &[20], &[f64::NAN; 20]);
    wrapped(&mut g, 7, "sum_inner", |g| {
        g.sum_inner(&fg, &mut out_g, 0.25).unwrap()
    });
    let mut out_c = cpu.zeros(&[20], Elem::Real).unwrap();
    cpu.sum_inner(&real(&cpu, &[20, 64], &data), &mut out_c, 0.25)
        .unwrap();
    let err = rel_err_real(
        &g.download_real(&out_g).unwrap(),
        &cpu.download_real(&out_c).unwrap(),
    );
    check("sum_inner", err, TOL);

    // phase_sums of 96000 cells: 24 workgroups of 4096 (7 × 4).
    let shape = [60, 40, 40];
    let data: Vec<f64> = random_real(&mut r, 96000)
        .iter()
        .map(|x| 0.45 * x + 0.55)
        .collect();
    let momenta = MomentumAxes {
        n: vec![40, 40],
        // Momenta of one sign, so that Σ f p does not cancel to round-off.
        p_min: vec![1.0, 2.0],
        dp: vec![0.25, 0.3],
    };
    let fg = real(&g, &shape, &data);
    let got = wrapped(&mut g, 7, "phase_sums", |g| {
        g.phase_sums(&fg, &momenta).unwrap()
    });
    let want = cpu
        .phase_sums(&real(&cpu, &shape, &data), &momenta)
        .unwrap();
    assert_eq!(got.count, want.count);
    for (what, a, b) in [
        ("sum", got.sum, want.sum),
        ("abs", got.abs_sum, want.abs_sum),
        ("sq", got.sum_sq, want.sum_sq),
        ("f ln f", got.f_log_f, want.f_log_f),
        ("p0", got.momentum[0], want.momentum[0]),
        ("p1", got.momentum[1], want.momentum[1]),
        ("p²", got.p_sq, want.p_sq),
        ("min", got.min, want.min),
        ("max", got.max, want.max),
    ] {
        check(
            &format!("phase_sums {what}"),
            (a - b).abs() / b.abs().max(1.0),
            TOL,
        );
    }
}

#[test]
fn hartree_matrix_kernels_wrap() {
    let Some(mut g) = gpu(None) else { return };
    let cpu = CpuBackend::new();
    let mut r = rng("hartree wrap");
    // An operator on a 6 × 10 grid: 3600 entries, 15 workgroups (7 × 3).
    let shape = [6, 10, 6, 10];
    let a = random_complex(&mut r, 3600);
    let t = random_real(&mut r, 60);
    let mut ag = complex(&g, &shape, &a);
    let tg = real(&g, &[60], &t);
    wrapped(&mut g, 7, "conjugation_phase", |g| {
        g.conjugation_phase(&mut ag, &tg, 0.8).unwrap()
    });
    let mut ac = complex(&cpu, &shape, &a);
    cpu.conjugation_phase(&mut ac, &real(&cpu, &[60], &t), 0.8)
        .unwrap();
    check("conjugation_phase", field_err(&g, &ag, &cpu, &ac), TOL);
    for (axis, n) in [(0, 6), (1, 10)] {
        let s = random_real(&mut r, 2 * n);
        let sg = real(&g, &[2 * n], &s);
        wrapped(&mut g, 7, "position_commutator", |g| {
            g.position_commutator(&mut ag, &sg, axis).unwrap()
        });
        cpu.position_commutator(&mut ac, &real(&cpu, &[2 * n], &s), axis)
            .unwrap();
        let what = format!("position_commutator axis {axis}");
        check(&what, field_err(&g, &ag, &cpu, &ac), TOL);
    }
    // The diagonal of a 600 × 600 operator: 3 workgroups of 256, a 2 × 2 grid.
    let a = random_complex(&mut r, 600 * 600);
    let ag = complex(&g, &[600, 600], &a);
    let mut dg = real(&g, &[600], &[f64::NAN; 600]);
    wrapped(&mut g, 2, "diagonal", |g| g.diagonal(&ag, &mut dg).unwrap());
    let mut dc = cpu.zeros(&[600], Elem::Real).unwrap();
    cpu.diagonal(&complex(&cpu, &[600, 600], &a), &mut dc)
        .unwrap();
    check("diagonal", field_err(&g, &dg, &cpu, &dc), TOL);
}

#[test]
fn quantize_kernels_wrap() {
    let Some(mut g) = gpu(None) else { return };
    let cpu = CpuBackend::new();
    let mut r = rng("quantize wrap");
    // d = 1, n = 48: the phase grid 96 × 96 takes 36 workgroups (7 × 6), the matrix 48 × 48
    // takes 9 (7 × 2).
    let geom = QuantizeGeom { dim: 1, n: 48 };
    let (ms, ps) = (geom.matrix_shape(), geom.phase_shape());
    let m = random_complex(&mut r, 48 * 48);
    let mg = complex(&g, &ms, &m);
    let mut pg = nan_complex(&g, &ps);
    wrapped(&mut g, 7, "wigner_place", |g| {
        g.wigner_place(&mg, &mut pg, geom, 0.3).unwrap()
    });
    let mut pc = nan_complex(&cpu, &ps);
    cpu.wigner_place(&complex(&cpu, &ms, &m), &mut pc, geom, 0.3)
        .unwrap();
    check("wigner_place", field_err(&g, &pg, &cpu, &pc), TOL);

    let p = random_complex(&mut r, 96 * 96);
    let mut pg = complex(&g, &ps, &p);
    wrapped(&mut g, 7, "separation_window", |g| {
        g.separation_window(&mut pg, geom).unwrap()
    });
    let mut pc = complex(&cpu, &ps, &p);
    cpu.separation_window(&mut pc, geom).unwrap();
    check("separation_window", field_err(&g, &pg, &cpu, &pc), TOL);

    let mut out_g = nan_complex(&g, &ms);
    wrapped(&mut g, 7, "weyl_gather", |g| {
        g.weyl_gather(&pg, &mut out_g, geom, 0.7).unwrap()
    });
    let mut out_c = nan_complex(&cpu, &ms);
    cpu.weyl_gather(&pc, &mut out_c, geom, 0.7).unwrap();
    check("weyl_gather", field_err(&g, &out_g, &cpu, &out_c), TOL);
}

#[test]
fn matmul_family_wraps() {
    let Some(mut g) = gpu(None) else { return };
    let cpu = CpuBackend::new();
    let mut r = rng("matmul wrap");
    let p = 200;
    let shape = [p, p];
    let (a, b, c) = (
        random_complex(&mut r, p * p),
        random_complex(&mut r, p * p),
        random_complex(&mut r, p * p),
    );
    // hermitise: 157 workgroups of 256 (13 × 13).
    let mut ag = complex(&g, &shape, &a);
    wrapped(&mut g, 13, "hermitise", |g| g.hermitise(&mut ag).unwrap());
    let mut ac = complex(&cpu, &shape, &a);
    cpu.hermitise(&mut ac).unwrap();
    check("hermitise", field_err(&g, &ag, &cpu, &ac), TOL);
    // frobenius_inner: 10 workgroups of 4096 (4 × 3).
    let bg = complex(&g, &shape, &b);
    let bc = complex(&cpu, &shape, &b);
    let got = wrapped(&mut g, 4, "frobenius_inner", |g| {
        g.frobenius_inner(&ag, &bg).unwrap()
    });
    let want = cpu.frobenius_inner(&ac, &bc).unwrap();
    check("frobenius_inner", (got - want).norm() / want.norm(), TOL);
    // The product runs on its own 2D grid of 64 × 64 tiles (4 × 4 here), which a limit of 4
    // still holds and a limit of 3 does not: refused with a clear error.
    let (alpha, beta) = (Complex64::new(0.5, 0.25), Complex64::new(-0.5, 1.0));
    let mut cg = complex(&g, &shape, &c);
    g.max_workgroups_per_dim_override = Some(4);
    g.matmul(&ag, &bg, &mut cg, alpha, beta).unwrap();
    let mut cc = complex(&cpu, &shape, &c);
    cpu.matmul(&ac, &bc, &mut cc, alpha, beta).unwrap();
    check("matmul", field_err(&g, &cg, &cpu, &cc), 1e-5);
    g.max_workgroups_per_dim_override = Some(3);
    let e = g.matmul(&ag, &bg, &mut cg, alpha, beta).unwrap_err();
    assert!(e.to_string().contains("4 × 4 workgroups exceed"), "{e}");
}

#[test]
fn a_line_longer_than_one_chunk_is_refused_clearly() {
    // 256-byte chunks hold 32 elements; lines of 64 cannot be gathered into one.
    let Some(g) = gpu(Some(256)) else { return };
    assert_eq!(g.max_chunk_len(), 32);
    let mut f = g.zeros(&[4, 64], Elem::Complex).unwrap();
    assert_eq!(f.chunks.len(), 8);
    // Lines along the last axis are gathered too when they cross chunks.
    let e = g.fft(&mut f, &[1], FftDirection::Forward).unwrap_err();
    let msg = e.to_string();
    eprintln!("refusal: {msg}");
    for part in [
        "lines of 64 elements along axis 1",
        "[4, 64]",
        "longer than one chunk (32 elements)",
        "at least 512 bytes",
    ] {
        assert!(msg.contains(part), "{msg}");
    }
    let mut fr = g.zeros(&[64], Elem::Real).unwrap();
    assert_eq!(fr.chunks.len(), 2);
    let t = g.zeros(&[1], Elem::Real).unwrap();
    let shift = LineShift {
        axis: 0,
        degree: 3,
        boundary: LineBoundary::Periodic,
        scale: 0.5,
        table_div: 1,
    };
    let e = g.shift_lines(&mut fr, &t, &shift).unwrap_err();
    assert!(e.to_string().contains("longer than one chunk"), "{e}");
}
