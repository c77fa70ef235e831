//! Element-wise kernels, reductions and transfers of the GPU backend against the CPU backend,
//! on fresh random data, in one chunk and in many (with a ragged last chunk).

mod common;

use common::{gpu, random_complex, random_real, rel_err, rel_err_real, rng};
use hvp::cpu::CpuBackend;
use hvp::gpu::GpuBackend;
use hvp::{Backend, Elem, FieldInfo};
use num_complex::Complex64;

const TOL: f64 = 1e-6;

/// Shapes with one chunk and with many: 256-byte chunks hold 32 elements, so [7, 5, 3] splits
/// into chunks of 30 elements (two rows of 15) plus a ragged last one of 15.
fn backends() -> Vec<GpuBackend> {
    [None, Some(256)].into_iter().filter_map(gpu).collect()
}

const SHAPES: [&[usize]; 3] = [&[7, 5, 3], &[4, 4, 4, 4, 4, 4], &[1000]];

fn upload<B: Backend>(b: &B, shape: &[usize], elem: Elem, re: &[f64], z: &[Complex64]) -> B::Field {
    let mut f = b.zeros(shape, elem).unwrap();
    match elem {
        Elem::Real => b.upload_real(&mut f, re).unwrap(),
        Elem::Complex => b.upload_complex(&mut f, z).unwrap(),
    }
    f
}

fn download<B: Backend>(b: &B, f: &B::Field) -> Vec<Complex64> {
    match f.elem() {
        Elem::Real => b
            .download_real(f)
            .unwrap()
            .into_iter()
            .map(|x| Complex64::new(x, 0.0))
            .collect(),
        Elem::Complex => b.download_complex(f).unwrap(),
    }
}

#[test]
fn transfers_round_trip() {
    for g in backends() {
        for shape in SHAPES {
            let n: usize = shape.iter().product();
            let mut r = rng("transfers");
            let (re, z) = (random_real(&mut r, n), random_complex(&mut r, n));
            let f = upload(&g, shape, Elem::Real, &re, &z);
            assert!(rel_err_real(&g.download_real(&f).unwrap(), &re) < 1e-7);
            let f = upload(&g, shape, Elem::Complex, &re, &z);
            assert!(rel_err(&g.download_complex(&f).unwrap(), &z) < 1e-7);
        }
    }
}

/// Range uploads and downloads (the streamed load of a large f, slices without a whole
/// download) on both backends: ranges that start and end inside chunks and cross them, over a
/// poisoned field; the untouched elements keep their values; out-of-range requests are errors.
#[test]
fn range_transfers_match_whole_transfers() {
    fn check<B: Backend>(b: &B, shape: &[usize], tol: f64) {
        let n: usize = shape.iter().product();
        let mut r = rng("range transfers");
        let (data, poison) = (random_real(&mut r, n), vec![f64::NAN; n]);
        let mut f = b.zeros(shape, Elem::Real).unwrap();
        b.upload_real(&mut f, &poison).unwrap();
        // Pieces of uneven lengths cover the field: 1, 7, 31, 2, 45, ... elements.
        let mut start = 0;
        for len in [1usize, 7, 31, 2, 45].iter().cycle() {
            let end = (start + len).min(n);
            b.upload_real_range(&mut f, start, &data[start..end])
                .unwrap();
            if end == n {
                break;
            }
            start = end;
        }
        assert!(rel_err_real(&b.download_real(&f).unwrap(), &data) <= tol);
        for range in [0..1, 3..40, n / 3..n / 2 + 17, n - 5..n, 0..n] {
            let got = b.download_real_range(&f, range.clone()).unwrap();
            assert!(rel_err_real(&got, &data[range.clone()]) <= tol, "{range:?}");
        }
        assert!(b.download_real_range(&f, n - 2..n + 1).is_err());
        assert!(b.upload_real_range(&mut f, n - 1, &[1.0, 2.0]).is_err());
        let z = b.zeros(shape, Elem::Complex).unwrap();
        assert!(b.download_real_range(&z, 0..1).is_err());
    }
    for shape in SHAPES {
        check(&CpuBackend::new(), shape, 0.0);
        for g in backends() {
            check(&g, shape, 1e-7);
        }
    }
}

#[test]
fn elementwise_kernels_match_cpu() {
    let cpu = CpuBackend::new();
    for g in backends() {
        for shape in SHAPES {
            let n: usize = shape.iter().product();
            let mut r = rng("elementwise");
            let a = Complex64::new(0.7, -1.3);
            for (ex, ey) in [
                (Elem::Real, Elem::Real),
                (Elem::Complex, Elem::Complex),
                (Elem::Real, Elem::Complex),
            ] {
                let (xr, xz) = (random_real(&mut r, n), random_complex(&mut r, n));
                let (yr, yz) = (random_real(&mut r, n), random_complex(&mut r, n));
                let real_y = ey == Elem::Real;
                let scalar = if real_y { Complex64::new(a.re, 0.0) } else { a };
                type Op<B> = fn(&B, Complex64, &<B as Backend>::Field, &mut <B as Backend>::Field);
                let ops: Vec<(&str, Op<GpuBackend>, Op<CpuBackend>)> = vec![
                    (
                        "mul",
                        |b, _, x, y| b.mul(x, y).unwrap(),
                        |b, _, x, y| b.mul(x, y).unwrap(),
                    ),
                    (
                        "scale",
                        |b, a, _, y| b.scale(y, a).unwrap(),
                        |b, a, _, y| b.scale(y, a).unwrap(),
                    ),
                    (
                        "fill",
                        |b, a, _, y| b.fill(y, a).unwrap(),
                        |b, a, _, y| b.fill(y, a).unwrap(),
                    ),
                ];
                let mut all = ops;
                if ex == ey {
                    all.push((
                        "axpy",
                        |b, a, x, y| b.axpy(a, x, y).unwrap(),
                        |b, a, x, y| b.axpy(a, x, y).unwrap(),
                    ));
                    all.push((
                        "copy",
                        |b, _, x, y| b.copy(x, y).unwrap(),
                        |b, _, x, y| b.copy(x, y).unwrap(),
                    ));
                }
                for (name, gop, cop) in all {
                    let gx = upload(&g, shape, ex, &xr, &xz);
                    let mut gy = upload(&g, shape, ey, &yr, &yz);
                    gop(&g, scalar, &gx, &mut gy);
                    let cx = upload(&cpu, shape, ex, &xr, &xz);
                    let mut cy = upload(&cpu, shape, ey, &yr, &yz);
                    cop(&cpu, scalar, &cx, &mut cy);
                    let err = rel_err(&download(&g, &gy), &download(&cpu, &cy));
                    assert!(
                        err < TOL,
                        "{name} {ex:?}x{ey:?} {shape:?} chunks {}: {err:.2e}",
                        gy.layout.n_chunks
                    );
                }
            }
        }
    }
}

/// `n` values of the kind `elem`, all NaN: what a kernel did not write shows up.
fn nan_field<B: Backend>(b: &B, shape: &[usize], elem: Elem) -> B::Field {
    let n: usize = shape.iter().product();
    let nan = f64::NAN;
    upload(
        b,
        shape,
        elem,
        &vec![nan; n],
        &vec![Complex64::new(nan, nan); n],
    )
}

#[test]
fn copy_between_kinds_matches_cpu() {
    let cpu = CpuBackend::new();
    for g in backends() {
        for shape in SHAPES {
            let n: usize = shape.iter().product();
            let mut r = rng("copy between kinds");
            let (xr, xz) = (random_real(&mut r, n), random_complex(&mut r, n));
            for (ex, ey) in [(Elem::Real, Elem::Complex), (Elem::Complex, Elem::Real)] {
                let gx = upload(&g, shape, ex, &xr, &xz);
                let mut gy = nan_field(&g, shape, ey);
                g.copy(&gx, &mut gy).unwrap();
                let cx = upload(&cpu, shape, ex, &xr, &xz);
                let mut cy = nan_field(&cpu, shape, ey);
                cpu.copy(&cx, &mut cy).unwrap();
                let c = download(&cpu, &cy);
                // The CPU result itself: real parts kept, imaginary parts 0.
                let expect: Vec<Complex64> = match ex {
                    Elem::Real => xr.iter().map(|&x| Complex64::new(x, 0.0)).collect(),
                    Elem::Complex => xz.iter().map(|z| Complex64::new(z.re, 0.0)).collect(),
                };
                assert_eq!(c, expect, "CPU copy {ex:?} into {ey:?}");
                let err = rel_err(&download(&g, &gy), &c);
                assert!(
                    err < TOL,
                    "copy {ex:?} into {ey:?} {shape:?} chunks {}: {err:.2e}",
                    gy.layout.n_chunks
                );
            }
            let x = g.zeros(shape, Elem::Real).unwrap();
            let mut y = g.zeros(&[n + 1], Elem::Complex).unwrap();
            assert!(g.copy(&x, &mut y).is_err(), "copy between shapes");
        }
    }
}

#[test]
fn copy_corner_matches_cpu() {
    let cpu = CpuBackend::new();
    // With 256-byte chunks, rows of 40 and 50 elements are split inside (32-element chunks),
    // at different places in the source and the destination.
    let pairs: [(&[usize], &[usize]); 11] = [
        (&[3, 40], &[3, 50]),
        (&[3, 50], &[2, 45]),
        (&[7, 5, 3], &[14, 10, 6]),
        (&[14, 10, 6], &[7, 5, 3]),
        (&[7, 5, 3], &[9, 4, 5]),
        (&[7, 5, 3], &[7, 5, 3]),
        (&[1000], &[2048]),
        (&[2048], &[1000]),
        (&[4, 4, 4, 4, 4, 4], &[8, 3, 4, 4, 4, 4]),
        (&[16, 16, 16], &[32, 32, 32]),
        (&[32, 32, 32], &[16, 16, 16]),
    ];
    for g in backends() {
        for (src_shape, dst_shape) in pairs {
            let ns: usize = src_shape.iter().product();
            let nd: usize = dst_shape.iter().product();
            let covered = src_shape.iter().zip(dst_shape).all(|(s, d)| s >= d);
            let mut r = rng("copy_corner");
            let (sr, sz) = (random_real(&mut r, ns), random_complex(&mut r, ns));
            // A destination that the copy covers starts as NaN; one it covers in part starts
            // as other random values, which the copy must leave in place.
            let (dr, dz) = (random_real(&mut r, nd), random_complex(&mut r, nd));
            for elem in [Elem::Real, Elem::Complex] {
                let gs = upload(&g, src_shape, elem, &sr, &sz);
                let cs = upload(&cpu, src_shape, elem, &sr, &sz);
                let (mut gd, mut cd) = if covered {
                    (
                        nan_field(&g, dst_shape, elem),
                        nan_field(&cpu, dst_shape, elem),
                    )
                } else {
                    (
                        upload(&g, dst_shape, elem, &dr, &dz),
                        upload(&cpu, dst_shape, elem, &dr, &dz),
                    )
                };
                g.copy_corner(&gs, &mut gd).unwrap();
                cpu.copy_corner(&cs, &mut cd).unwrap();
                let c = download(&cpu, &cd);
                // The CPU result against a direct index-by-index copy.
                let src_host = download(&cpu, &cs);
                let mut expect = if covered {
                    vec![Complex64::new(f64::NAN, 0.0); nd]
                } else {
                    download(&cpu, &upload(&cpu, dst_shape, elem, &dr, &dz))
                };
                let ss = hvp::field::strides_of(src_shape);
                let ds = hvp::field::strides_of(dst_shape);
                for (flat, e) in expect.iter_mut().enumerate() {
                    let idx: Vec<usize> =
                        (0..ds.len()).map(|a| flat / ds[a] % dst_shape[a]).collect();
                    if idx.iter().zip(src_shape).all(|(i, n)| i < n) {
                        *e = src_host[idx.iter().zip(&ss).map(|(i, s)| i * s).sum::<usize>()];
                    }
                }
                assert!(
                    rel_err(&c, &expect) == 0.0,
                    "CPU copy_corner {src_shape:?} -> {dst_shape:?} {elem:?}"
                );
                let err = rel_err(&download(&g, &gd), &c);
                assert!(
                    err < TOL,
                    "copy_corner {src_shape:?} -> {dst_shape:?} {elem:?} chunks {}/{}: {err:.2e}",
                    gs.layout.n_chunks,
                    gd.layout.n_chunks
                );
            }
        }
    }
    let Some(g) = gpu(None) else { return };
    let x = g.zeros(&[4, 4], Elem::Real).unwrap();
    let mut y = g.zeros(&[4, 4], Elem::Complex).unwrap();
    assert!(
        g.copy_corner(&x, &mut y).is_err(),
        "corner copy between kinds"
    );
    let mut z = g.zeros(&[4, 4, 1], Elem::Real).unwrap();
    assert!(
        g.copy_corner(&x, &mut z).is_err(),
        "corner copy between ranks"
    );
}

#[test]
fn reductions_match_cpu() {
    let cpu = CpuBackend::new();
    for g in backends() {
        for shape in SHAPES.iter().copied().chain([&[64usize, 64, 64][..]]) {
            let n: usize = shape.iter().product();
            let mut r = rng("reduce");
            // Offset so that the sum is far from zero and its relative error is meaningful.
            let re: Vec<f64> = random_real(&mut r, n).iter().map(|x| x + 0.5).collect();
            let z: Vec<Complex64> = random_complex(&mut r, n)
                .iter()
                .map(|z| z + Complex64::new(0.5, -0.25))
                .collect();
            for elem in [Elem::Real, Elem::Complex] {
                let s = g.reduce(&upload(&g, shape, elem, &re, &z)).unwrap();
                let c = cpu.reduce(&upload(&cpu, shape, elem, &re, &z)).unwrap();
                assert_eq!(s.count, c.count);
                let sum_err = (s.sum - c.sum).norm() / c.sum.norm();
                let sq_err = (s.sum_sq - c.sum_sq).abs() / c.sum_sq;
                assert!(
                    sum_err < TOL,
                    "{shape:?} {elem:?} sum {:?} vs {:?}",
                    s.sum,
                    c.sum
                );
                assert!(
                    sq_err < TOL,
                    "{shape:?} {elem:?} sum_sq {} vs {}",
                    s.sum_sq,
                    c.sum_sq
                );
                assert!((s.min - c.min).abs() < 1e-7 && (s.max - c.max).abs() < 1e-7);
            }
        }
    }
}

#[test]
fn bad_operands_are_refused() {
    let Some(g) = gpu(None) else { return };
    let x = g.zeros(&[4, 4], Elem::Complex).unwrap();
    let mut y = g.zeros(&[4, 5], Elem::Complex).unwrap();
    assert!(g.mul(&x, &mut y).is_err());
    let mut yr = g.zeros(&[4, 4], Elem::Real).unwrap();
    assert!(g.mul(&x, &mut yr).is_err(), "complex x into a real y");
    assert!(g.scale(&mut yr, Complex64::new(1.0, 1.0)).is_err());
    assert!(g.upload_real(&mut yr, &[1.0; 3]).is_err());
    assert!(g.zeros(&[2; 7], Elem::Real).is_err());
}

#[test]
fn pass_timer_reports_kernel_times_where_the_adapter_has_timestamps() {
    let Some(g) = gpu(None) else { return };
    if !g.start_pass_timer() {
        // CI's adapters (lavapipe, llvmpipe on GL) both have timestamp queries.
        if std::env::var("HVP_REQUIRE_GPU").as_deref() == Ok("1") {
            panic!(
                "HVP_REQUIRE_GPU=1 but adapter {} has no timestamp queries",
                g.ctx.adapter.name
            );
        }
        eprintln!(
            "\n!!!!!!!! SKIPPED: adapter {} has no timestamp queries; pass timer NOT tested \
             !!!!!!!!\n",
            g.ctx.adapter.name
        );
        return;
    }
    let mut f = g.zeros(&[64, 64], Elem::Complex).unwrap();
    g.fill(&mut f, Complex64::new(1.0, 2.0)).unwrap();
    g.fft(&mut f, &[0, 1], hvp::FftDirection::Forward).unwrap();
    g.synchronize().unwrap();
    let times = g.read_pass_timer().unwrap();
    assert!(times["fft"] > 0.0 && times["fill"] > 0.0, "{times:?}");
    assert!(times["fft"] < 10.0, "{times:?}");
    // Read clears the record.
    assert!(g.read_pass_timer().unwrap().is_empty());
}

#[test]
fn device_errors_end_in_an_error_not_a_panic() {
    let Some(g) = gpu(None) else { return };
    let small = g.zeros(&[4], Elem::Real).unwrap();
    let large = g.zeros(&[8], Elem::Real).unwrap();
    let mut encoder = g.ctx.encoder("overrun");
    // 32 bytes into a 16-byte buffer: invalid.
    encoder.copy_buffer_to_buffer(&large.chunks[0], 0, &small.chunks[0], 0, 32);
    let err = g.ctx.submit_and_wait(encoder).unwrap_err();
    assert!(format!("{err}").contains("GPU error"), "{err}");
    // The error is reported once; the device goes on working.
    g.synchronize().unwrap();
}
