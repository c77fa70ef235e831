//! The WGSL FFT against the CPU reference (rustfft, f64) on fresh random data, including
//! arrays split into many chunks and lines that cross chunk boundaries.

mod common;

use common::{gpu, random_complex, rel_err, rng};
use hvp::cpu::CpuBackend;
use hvp::gpu::GpuBackend;
use hvp::{Backend, Elem, FftDirection};

/// The bound on the relative L2 error of an f32 FFT.
const TOL: f64 = 1e-5;

/// Runs the FFT of `data` (shape `shape`) along `axes` on both backends and returns the
/// relative error of the GPU result, and of the GPU inverse(forward(x)) against x.
fn check(gpu: &GpuBackend, shape: &[usize], axes: &[usize], test: &str) -> (f64, f64) {
    let cpu = CpuBackend::new();
    let n: usize = shape.iter().product();
    let data = random_complex(&mut rng(test), n);

    let mut reference = cpu.zeros(shape, Elem::Complex).unwrap();
    cpu.upload_complex(&mut reference, &data).unwrap();
    cpu.fft(&mut reference, axes, FftDirection::Forward)
        .unwrap();
    let reference = cpu.download_complex(&reference).unwrap();

    let mut field = gpu.zeros(shape, Elem::Complex).unwrap();
    // Poison first: whatever the upload or the kernel fails to write stays NaN.
    gpu.fill(&mut field, num_complex::Complex64::new(f64::NAN, f64::NAN))
        .unwrap();
    gpu.upload_complex(&mut field, &data).unwrap();
    gpu.fft(&mut field, axes, FftDirection::Forward).unwrap();
    let forward = gpu.download_complex(&field).unwrap();
    gpu.fft(&mut field, axes, FftDirection::Inverse).unwrap();
    let back = gpu.download_complex(&field).unwrap();
    let errs = (rel_err(&forward, &reference), rel_err(&back, &data));
    eprintln!(
        "{test}: shape {shape:?} axes {axes:?} chunks {}: forward error {:.2e}, round trip {:.2e}",
        field.layout.n_chunks, errs.0, errs.1
    );
    errs
}

#[test]
fn every_power_of_two_length_batched() {
    let Some(gpu) = gpu(None) else { return };
    let max = gpu.max_fft_len();
    assert!(max >= 4096, "adapter holds lines of {max} only");
    let mut n = 2;
    while n <= max {
        // Contiguous lines (last axis) and strided lines (first axis), batched.
        let batch = (1 << 15) / n;
        for (shape, axis) in [([batch, n], 1), ([n, batch.min(8) + 3], 0)] {
            let (fwd, back) = check(&gpu, &shape, &[axis], &format!("len{n}"));
            assert!(
                fwd <= TOL && back <= TOL,
                "length {n} shape {shape:?}: {fwd:.2e} {back:.2e}"
            );
        }
        n *= 2;
    }
}

/// Lengths 2^a·3^b·5^c that are not powers of two: each stage radix alone and mixed.
const MIXED: [usize; 16] = [
    3, 5, 6, 10, 12, 15, 20, 24, 40, 48, 60, 80, 96, 160, 320, 480,
];

#[test]
fn mixed_radix_lengths_along_every_axis() {
    let Some(gpu) = gpu(None) else { return };
    for n in MIXED {
        // Contiguous lines batched many to a workgroup, strided lines, and the middle axis of a
        // 3D array; then all three axes of it.
        let batch = (1 << 13) / n;
        for (shape, axes) in [
            (vec![batch, n], vec![1]),
            (vec![n, 7], vec![0]),
            (vec![3, n, 5], vec![1]),
            (vec![3, n, 5], vec![0, 1, 2]),
        ] {
            let (fwd, back) = check(&gpu, &shape, &axes, &format!("mixed{n}"));
            assert!(
                fwd <= TOL && back <= TOL,
                "length {n} shape {shape:?} axes {axes:?}: {fwd:.2e} {back:.2e}"
            );
        }
    }
}

#[test]
fn mixed_radix_lines_across_chunks() {
    // 16 KiB chunks (2048 elements): the 160-point and 96-point axes cross chunk boundaries.
    let Some(gpu) = gpu(Some(16 << 10)) else {
        return;
    };
    for (shape, axes) in [
        (vec![160, 24, 5], vec![0]),
        (vec![160, 24, 5], vec![2, 1, 0]),
        (vec![96, 40], vec![0, 1]),
    ] {
        let (fwd, back) = check(&gpu, &shape, &axes, "mixed-chunked");
        assert!(
            fwd <= TOL && back <= TOL,
            "{shape:?} axes {axes:?}: {fwd:.2e} {back:.2e}"
        );
    }
}

#[test]
fn mixed_radix_four_step() {
    // Three times the adapter's single-pass limit: 3 x max.
    let Some(gpu) = gpu(None) else { return };
    let max = gpu.max_fft_len();
    let (fwd, back) = check(&gpu, &[3 * max, 2], &[0], "mixed-four-step-hw");
    assert!(fwd <= TOL && back <= TOL, "{fwd:.2e} {back:.2e}");
    // Single-pass limit forced to 60 points: splits 96 = 2·48, 160 = 4·40, 480 = 8·60,
    // 3000 = 50·60, 3600 = 60·60, contiguous, strided and across 64 KiB chunks.
    let Some(mut gpu) = common::gpu(Some(64 << 10)) else {
        return;
    };
    gpu.max_fft_len_override = Some(60);
    for n in [96, 160, 480, 3000, 3600] {
        for (shape, axis) in [(vec![3, n], 1), (vec![n, 5], 0)] {
            let (fwd, back) = check(&gpu, &shape, &[axis], &format!("mixed-four-step-{n}"));
            assert!(fwd <= TOL && back <= TOL, "{shape:?}: {fwd:.2e} {back:.2e}");
        }
    }
    let (fwd, back) = check(&gpu, &[3000, 6], &[0], "mixed-four-step-across-chunks");
    assert!(fwd <= TOL && back <= TOL, "{fwd:.2e} {back:.2e}");
    // 3^7 = 2187 fits under 60² but has no split with both factors at most 60 (27 · 81).
    let mut no_split = gpu.zeros(&[2187], Elem::Complex).unwrap();
    let e = gpu
        .fft(&mut no_split, &[0], FftDirection::Forward)
        .unwrap_err();
    assert!(format!("{e}").contains("no split"), "{e}");
}

#[test]
fn cube_64_along_each_axis_and_all() {
    let Some(gpu) = gpu(None) else { return };
    for axes in [vec![0], vec![1], vec![2], vec![0, 1, 2]] {
        let (fwd, back) = check(&gpu, &[64, 64, 64], &axes, "cube64");
        assert!(
            fwd <= TOL && back <= TOL,
            "axes {axes:?}: {fwd:.2e} {back:.2e}"
        );
    }
}

#[test]
fn six_d_8_along_each_axis_in_64kib_chunks() {
    // 8^6 complex is 2 MiB: 32 chunks of 64 KiB; axes 0 and 1 cross chunk boundaries.
    let Some(gpu) = gpu(Some(64 << 10)) else {
        return;
    };
    for axis in 0..6 {
        let (fwd, back) = check(&gpu, &[8; 6], &[axis], "sixd8");
        assert!(
            fwd <= TOL && back <= TOL,
            "axis {axis}: {fwd:.2e} {back:.2e}"
        );
    }
    let (fwd, back) = check(&gpu, &[8; 6], &[0, 1, 2, 3, 4, 5], "sixd8-all");
    assert!(fwd <= TOL && back <= TOL, "all axes: {fwd:.2e} {back:.2e}");
}

#[test]
fn chunked_cube_and_long_lines_across_chunks() {
    // 64^3 in 64 KiB chunks (8192 elements: two planes), so the first axis crosses 32 chunks;
    // and 1024-point lines in 16 KiB chunks of 341 rows of 6, so every line of the leading axis
    // spans 4 chunks whose boundaries fall at rows that are not powers of two.
    let Some(gpu) = gpu(Some(64 << 10)) else {
        return;
    };
    for axes in [vec![0], vec![1, 2], vec![2, 1, 0]] {
        let (fwd, back) = check(&gpu, &[64, 64, 64], &axes, "cube64-chunked");
        assert!(
            fwd <= TOL && back <= TOL,
            "axes {axes:?}: {fwd:.2e} {back:.2e}"
        );
    }
    let Some(gpu) = common::gpu(Some(16 << 10)) else {
        return;
    };
    let (fwd, back) = check(&gpu, &[1024, 6], &[0], "long-across-chunks");
    assert!(fwd <= TOL && back <= TOL, "{fwd:.2e} {back:.2e}");
}

#[test]
fn clear_errors_for_unsupported_requests() {
    let Some(gpu) = gpu(None) else { return };
    // A factor 7 (14 = 2·7, 21 = 3·7): refused, naming the lengths that are taken.
    let mut f = gpu.zeros(&[14, 4], Elem::Complex).unwrap();
    let e = gpu.fft(&mut f, &[0], FftDirection::Forward).unwrap_err();
    assert!(format!("{e}").contains("2^a·3^b·5^c"), "{e}");
    let mut g = gpu.zeros(&[4, 21], Elem::Complex).unwrap();
    let e = gpu.fft(&mut g, &[0, 1], FftDirection::Inverse).unwrap_err();
    assert!(format!("{e}").contains("length 21 (axis 1)"), "{e}");
    let e = gpu.fft(&mut f, &[2], FftDirection::Forward).unwrap_err();
    assert!(format!("{e}").contains("axis 2"), "{e}");
    let mut r = gpu.zeros(&[8], Elem::Real).unwrap();
    assert!(gpu.fft(&mut r, &[0], FftDirection::Forward).is_err());
}

#[test]
fn lines_longer_than_workgroup_memory_take_the_four_step_route() {
    // Beyond the adapter's single-pass limit: 8192 and 65536 points, contiguous and strided.
    let Some(gpu) = gpu(None) else { return };
    let max = gpu.max_fft_len();
    for (shape, axis) in [
        (vec![3, 2 * max], 1),
        (vec![2 * max, 3], 0),
        (vec![2, 16 * max], 1),
    ] {
        let (fwd, back) = check(&gpu, &shape, &[axis], "four-step-hw");
        assert!(fwd <= TOL && back <= TOL, "{shape:?}: {fwd:.2e} {back:.2e}");
    }
    // Single-pass limit forced down to 64 points: every split n1 x 64 of 128..4096, contiguous,
    // strided, and inside the gather path of lines that cross chunks (64 KiB chunks).
    let Some(mut gpu) = common::gpu(Some(64 << 10)) else {
        return;
    };
    gpu.max_fft_len_override = Some(64);
    let mut n = 128;
    while n <= 4096 {
        for (shape, axis) in [(vec![4, n], 1), (vec![n, 5], 0)] {
            let (fwd, back) = check(&gpu, &shape, &[axis], &format!("four-step-{n}"));
            assert!(fwd <= TOL && back <= TOL, "{shape:?}: {fwd:.2e} {back:.2e}");
        }
        n *= 2;
    }
    let (fwd, back) = check(&gpu, &[4096, 6], &[0], "four-step-across-chunks");
    assert!(fwd <= TOL && back <= TOL, "{fwd:.2e} {back:.2e}");
    let mut too_long = gpu.zeros(&[8192], Elem::Complex).unwrap();
    let e = gpu
        .fft(&mut too_long, &[0], FftDirection::Forward)
        .unwrap_err();
    assert!(format!("{e}").contains("exceeds 4096"), "{e}");
}
