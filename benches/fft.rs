//! Criterion benchmarks of the FFT and of a plain copy of the same array, GPU and CPU.
//! `hvp bench fft` gives the full table with bandwidth ratios; this is the quick regression view.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hvp::cpu::CpuBackend;
use hvp::gpu::{GpuBackend, GpuOptions};
use hvp::{Backend, Elem, FftDirection};

fn bench_backend<B: Backend>(c: &mut Criterion, label: &str, b: &B) {
    let mut group = c.benchmark_group(format!("fft-{label}"));
    for (name, shape, axes) in [
        ("cube64", vec![64usize, 64, 64], vec![0usize, 1, 2]),
        ("lines1024", vec![256, 1024], vec![1]),
        ("6d8-axis0", vec![8; 6], vec![0]),
    ] {
        let n: usize = shape.iter().product();
        let mut f = b.zeros(&shape, Elem::Complex).unwrap();
        b.fill(&mut f, num_complex::Complex64::new(0.5, -0.25))
            .unwrap();
        let mut g = b.zeros(&shape, Elem::Complex).unwrap();
        // Bytes read plus written per pass, times the passes.
        group.throughput(Throughput::Bytes(
            (2 * n * 2 * b.real_bytes() * axes.len()) as u64,
        ));
        group.bench_function(name, |bench| {
            bench.iter(|| {
                b.fft(&mut f, &axes, FftDirection::Forward).unwrap();
                b.synchronize().unwrap();
            })
        });
        group.throughput(Throughput::Bytes((2 * n * 2 * b.real_bytes()) as u64));
        group.bench_function(format!("{name}-copy"), |bench| {
            bench.iter(|| {
                b.copy(&f, &mut g).unwrap();
                b.synchronize().unwrap();
            })
        });
    }
    group.finish();
}

fn fft(c: &mut Criterion) {
    // The best adapter, software ones included (a benchmark of lavapipe is still a measurement).
    let options = GpuOptions {
        allow_software: true,
        ..GpuOptions::default()
    };
    match GpuBackend::new(&options) {
        Ok(g) => bench_backend(c, "gpu", &g),
        Err(e) => eprintln!("!!! no GPU adapter ({e:#}): GPU FFT not benchmarked"),
    }
    bench_backend(c, "cpu", &CpuBackend::new());
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = fft
}
criterion_main!(benches);
