//! Wigner_s and Weyl quantization (src/wigner.rs, docs/design.md section 2) on the CPU (f64) and the
//! GPU (f32): the phase-grid layout against the Vlasov solver's, Weyl(Wigner_s(A)) = A for random
//! Hermitian A, the coherent state's analytic Wigner function, ∫∫W_s = tr A / N, the
//! Hilbert–Schmidt identity, the tensor-product structure in 2D and 3D, GPU against CPU in one
//! chunk and across many, and the grids the GPU path refuses.

mod common;

use common::{gpu, random_complex, random_real, rel_err, rel_err_real, rng};
use hvp::cpu::CpuBackend;
use hvp::hartree::HartreeGrid;
use hvp::kernels::{place_sources, QuantizeKernels};
use hvp::poisson::Boundary;
use hvp::vlasov::PhaseGrid;
use hvp::wigner::{coherent_matrix, coherent_wigner, PhaseGridSpec, Wigner};
use hvp::{Backend, Elem};
use num_complex::Complex64;
use rand_chacha::ChaCha8Rng;

const TWO_PI: f64 = 2.0 * std::f64::consts::PI;

fn spec(dim: usize, n: usize, length: f64, eps: f64, particles: f64) -> PhaseGridSpec {
    let grid = HartreeGrid::new(dim, n, length, Boundary::Periodic).unwrap();
    PhaseGridSpec::new(&grid, eps, particles).unwrap()
}

/// A random Hermitian matrix of `points` rows, (X + X^H)/2.
fn random_hermitian(rng: &mut ChaCha8Rng, points: usize) -> Vec<Complex64> {
    let x = random_complex(rng, points * points);
    let mut a = vec![Complex64::new(0.0, 0.0); points * points];
    for i in 0..points {
        for j in 0..points {
            a[i * points + j] = 0.5 * (x[i * points + j] + x[j * points + i].conj());
        }
    }
    a
}

fn wigner_of<B: QuantizeKernels>(b: &B, s: &PhaseGridSpec, a: &[Complex64]) -> Vec<f64> {
    let mut wig = Wigner::new(b, s).unwrap();
    let mut af = b.zeros(&s.matrix_shape(), Elem::Complex).unwrap();
    b.upload_complex(&mut af, a).unwrap();
    let mut w = b.zeros(&s.shape(), Elem::Real).unwrap();
    b.fill(&mut w, Complex64::new(f64::NAN, 0.0)).unwrap();
    wig.wigner(b, &af, &mut w).unwrap();
    b.download_real(&w).unwrap()
}

fn weyl_of<B: QuantizeKernels>(b: &B, s: &PhaseGridSpec, f: &[f64]) -> Vec<Complex64> {
    let mut wig = Wigner::new(b, s).unwrap();
    let mut ff = b.zeros(&s.shape(), Elem::Real).unwrap();
    b.upload_real(&mut ff, f).unwrap();
    let mut a = b.zeros(&s.matrix_shape(), Elem::Complex).unwrap();
    b.fill(&mut a, Complex64::new(f64::NAN, f64::NAN)).unwrap();
    wig.weyl(b, &ff, &mut a).unwrap();
    b.download_complex(&a).unwrap()
}

/// Weyl(Wigner_s(A)) through the backend, with the intermediate W kept on the device.
fn round_trip<B: QuantizeKernels>(b: &B, s: &PhaseGridSpec, a: &[Complex64]) -> Vec<Complex64> {
    let mut wig = Wigner::new(b, s).unwrap();
    let mut af = b.zeros(&s.matrix_shape(), Elem::Complex).unwrap();
    b.upload_complex(&mut af, a).unwrap();
    let mut w = b.zeros(&s.shape(), Elem::Real).unwrap();
    wig.wigner(b, &af, &mut w).unwrap();
    let mut back = b.zeros(&s.matrix_shape(), Elem::Complex).unwrap();
    b.fill(&mut back, Complex64::new(f64::NAN, f64::NAN))
        .unwrap();
    wig.weyl(b, &w, &mut back).unwrap();
    b.download_complex(&back).unwrap()
}

fn trace(s: &PhaseGridSpec, a: &[Complex64]) -> Complex64 {
    let points = s.n.pow(s.dim as u32);
    (0..points).map(|i| a[i * points + i]).sum()
}

fn hs_norm(a: &[Complex64]) -> f64 {
    a.iter().map(|z| z.norm_sqr()).sum::<f64>().sqrt()
}

/// Coordinates (x, p) of flat phase index g.
fn phase_point(s: &PhaseGridSpec, mut g: usize) -> (Vec<f64>, Vec<f64>) {
    let d = s.dim;
    let m = 2 * s.n;
    let mut idx = vec![0; 2 * d];
    for a in (0..2 * d).rev() {
        idx[a] = g % m;
        g /= m;
    }
    let x = (0..d).map(|i| s.x(idx[i])).collect();
    let p = (0..d).map(|i| s.p(idx[d + i])).collect();
    (x, p)
}

/// The analytic W of the coherent state, summed over periodic images in x.
fn coherent_reference(s: &PhaseGridSpec, q: &[f64], p0: &[f64], delta: f64) -> Vec<f64> {
    let d = s.dim;
    (0..s.shape().iter().product::<usize>())
        .map(|g| {
            let (x, p) = phase_point(s, g);
            let mut sum = 0.0;
            for img in 0..5usize.pow(d as u32) {
                let mut rest = img;
                let xs: Vec<f64> = x
                    .iter()
                    .map(|xi| {
                        let m = (rest % 5) as f64 - 2.0;
                        rest /= 5;
                        xi + m * s.length
                    })
                    .collect();
                sum += coherent_wigner(&xs, &p, q, p0, delta, s.epsilon);
            }
            sum
        })
        .collect()
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            if x.is_finite() {
                (x - y).abs()
            } else {
                f64::INFINITY
            }
        })
        .fold(0.0, f64::max)
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().map(|x| x.abs()).fold(0.0, f64::max)
}

#[test]
fn layout_is_the_vlasov_phase_grid() {
    for (dim, n, boundary) in [
        (1, 16, Boundary::Periodic),
        (2, 8, Boundary::Isolated),
        (3, 4, Boundary::Periodic),
    ] {
        let (length, eps) = (TWO_PI * 1.3, 0.07);
        let grid = HartreeGrid::new(dim, n, length, boundary).unwrap();
        let s = PhaseGridSpec::new(&grid, eps, 10.0).unwrap();
        assert_eq!(s.boundary(), boundary);
        let v = PhaseGrid::new(dim, &s.vlasov_grid(), boundary).unwrap();
        assert_eq!(v.shape(), s.shape());
        // nx = np = 2n, h_x = h/2, P = πε/h, dp = Δp = πε/L.
        assert_eq!((v.nx, v.np), (2 * n, 2 * n));
        assert!((v.h - grid.h / 2.0).abs() < 1e-15);
        assert!((v.p_max - std::f64::consts::PI * eps / grid.h).abs() < 1e-14);
        assert!((v.dp - std::f64::consts::PI * eps / length).abs() < 1e-15);
        for i in 0..2 * n {
            assert!((v.x(i) - s.x(i)).abs() < 1e-13, "x({i})");
            assert!((v.p(i) - s.p(i)).abs() < 1e-13, "p({i})");
        }
        // Phase point j = a + b is the midpoint of matrix points a and b.
        assert!((s.x(3 + 1) - 0.5 * (grid.x(3) + grid.x(1))).abs() < 1e-13);
        // p = 0 at index n, p = −P at index 0.
        assert_eq!(s.p(n), 0.0);
        assert!((s.p(0) + v.p_max).abs() < 1e-13);
        assert!((v.cell_volume() - s.cell_volume()).abs() < 1e-15 * s.cell_volume());
    }
}

/// Each Fourier pair (q1, q2) of the matrix reaches the phase grid with total weight 1.
#[test]
fn placement_covers_every_fourier_pair_once() {
    for n in [2, 4, 5, 8, 9] {
        let mut total = vec![0.0; n * n];
        let mut pairs = [(0, 0, 0.0); 4];
        for qi in 0..2 * n {
            for ki in 0..2 * n {
                let c = place_sources(n, qi, ki, &mut pairs);
                assert!(c <= 2);
                for &(q1, q2, w) in &pairs[..c] {
                    total[q1 * n + q2] += w;
                }
            }
        }
        assert!(
            total.iter().all(|&t| (t - 1.0).abs() < 1e-15),
            "n = {n}: {total:?}"
        );
    }
}

#[test]
fn weyl_inverts_wigner_cpu() {
    let cpu = CpuBackend::new();
    let mut rng = rng("weyl_inverts_wigner_cpu");
    for (dim, n) in [(1, 16), (1, 9), (1, 12), (2, 8), (2, 6), (3, 4)] {
        let s = spec(dim, n, TWO_PI, 0.1, 25.0);
        let a = random_hermitian(&mut rng, n.pow(dim as u32));
        let back = round_trip(&cpu, &s, &a);
        let e = rel_err(&back, &a);
        eprintln!("CPU d = {dim}, n = {n}: Weyl(Wigner_s(A)) relative error {e:.2e}");
        assert!(e < 1e-12, "d = {dim}, n = {n}: {e:.2e}");
    }
}

/// W_s of a coherent state against the analytic Gaussian (sum over periodic images).
#[test]
fn coherent_state_matches_analytic_cpu() {
    let cpu = CpuBackend::new();
    // 1D, resolved to round-off: kernel e^(−(L/2)²/4δ²) ≈ 7e-18 at separation L/2, and the
    // spectrum e^(−δ²(π/h − p0/ε)²/2) ≈ 1e-14 at the Nyquist wave number.
    let (eps, delta) = (1.0 / 16.0, 0.25);
    let s = spec(1, 128, TWO_PI, eps, 16.0);
    let (q, p0) = ([2.0], [0.5]);
    let w = wigner_of(&cpu, &s, &coherent_matrix(&s, &q, &p0, delta, 2));
    let g = coherent_reference(&s, &q, &p0, delta);
    let e = max_abs_diff(&w, &g) / max_abs(&g);
    eprintln!("CPU 1D coherent state, n = 128: max |W_s − g| / max g = {e:.2e}");
    assert!(e < 1e-12, "{e:.2e}");
    // The peak sits at (q, +p0).
    let peak = (0..w.len()).max_by(|&a, &b| w[a].total_cmp(&w[b])).unwrap();
    let (x, p) = phase_point(&s, peak);
    assert!((x[0] - q[0]).abs() <= s.dx() && (p[0] - p0[0]).abs() <= s.dp());

    // 2D at n = 16: both truncations are ~e^(−9) here (16 points per axis cannot resolve
    // both the separation window and the spectrum of a state further).
    let (eps, delta) = (0.25, 0.5);
    let s = spec(2, 16, TWO_PI, eps, 16.0);
    let (q, p0) = ([3.0, 2.5], [0.0, 0.25]);
    let w = wigner_of(&cpu, &s, &coherent_matrix(&s, &q, &p0, delta, 2));
    let g = coherent_reference(&s, &q, &p0, delta);
    let e = max_abs_diff(&w, &g) / max_abs(&g);
    eprintln!("CPU 2D coherent state, n = 16: max |W_s − g| / max g = {e:.2e}");
    assert!(e < 2e-3, "{e:.2e}");
}

/// ∫∫W_s = tr A / N and ‖A − B‖_HS = N (2πε)^(d/2) ‖W_s(A) − W_s(B)‖_L2 for resolved states.
#[test]
fn integral_and_hilbert_schmidt_identities_cpu() {
    let cpu = CpuBackend::new();
    let (eps, delta, particles) = (1.0 / 16.0, 0.25, 16.0);
    let s = spec(1, 128, TWO_PI, eps, particles);
    let a1 = coherent_matrix(&s, &[2.0], &[0.5], delta, 2);
    let a2 = coherent_matrix(&s, &[4.0], &[-0.3], delta, 2);
    // A mixture 0.3 A1 + 0.7 A2, and A1 alone.
    let a: Vec<Complex64> = a1.iter().zip(&a2).map(|(x, y)| 0.3 * x + 0.7 * y).collect();
    let wa = wigner_of(&cpu, &s, &a);
    let wb = wigner_of(&cpu, &s, &a1);
    let integral = wa.iter().sum::<f64>() * s.cell_volume();
    let tr = trace(&s, &a).re / particles;
    let e_int = (integral - tr).abs() / tr;
    eprintln!("CPU 1D: ∫∫W_s = {integral:.15}, tr A / N = {tr:.15}, relative {e_int:.2e}");
    assert!(e_int < 1e-12);

    let diff: Vec<Complex64> = a.iter().zip(&a1).map(|(x, y)| x - y).collect();
    let hs = hs_norm(&diff);
    let l2 = (wa
        .iter()
        .zip(&wb)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        * s.cell_volume())
    .sqrt();
    let from_w = particles * (TWO_PI * eps).sqrt() * l2;
    let e_hs = (hs - from_w).abs() / hs;
    eprintln!(
        "CPU 1D: ‖A − B‖_HS = {hs:.15}, N (2πε)^(1/2) ‖ΔW‖ = {from_w:.15}, relative {e_hs:.2e}"
    );
    assert!(e_hs < 1e-12);

    // 2D (n = 16, the truncations of the test above): the same identities to ~e^(−9).
    let (eps, delta, particles) = (0.25, 0.5, 16.0);
    let s = spec(2, 16, TWO_PI, eps, particles);
    let a1 = coherent_matrix(&s, &[3.0, 2.5], &[0.0, 0.25], delta, 2);
    let a2 = coherent_matrix(&s, &[3.5, 3.0], &[0.25, 0.0], delta, 2);
    let w1 = wigner_of(&cpu, &s, &a1);
    let w2 = wigner_of(&cpu, &s, &a2);
    let integral = w1.iter().sum::<f64>() * s.cell_volume();
    let tr = trace(&s, &a1).re / particles;
    let e_int = (integral - tr).abs() / tr;
    let diff: Vec<Complex64> = a1.iter().zip(&a2).map(|(x, y)| x - y).collect();
    let hs = hs_norm(&diff);
    let l2 = (w1
        .iter()
        .zip(&w2)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        * s.cell_volume())
    .sqrt();
    let e_hs = (hs - particles * TWO_PI * eps * l2).abs() / hs;
    eprintln!("CPU 2D, n = 16: ∫∫W_s vs tr A / N {e_int:.2e}, HS identity {e_hs:.2e}");
    assert!(e_int < 1e-5 && e_hs < 1e-4, "{e_int:.2e} {e_hs:.2e}");
}

/// In d dimensions every step is a tensor product of the 1D steps: W_s(A1 ⊗ A2 ⊗ ...) with
/// N = N1·N2·... is the product of the 1D W_s(A_i) with N_i. Checks the index maps of d = 2, 3
/// against d = 1 to round-off.
#[test]
fn tensor_products_factorise_cpu() {
    let cpu = CpuBackend::new();
    let mut rng = rng("tensor_products_factorise_cpu");
    for (dim, n) in [(2, 8), (3, 4)] {
        let s1 = spec(1, n, TWO_PI, 0.2, 3.0);
        let s = spec(dim, n, TWO_PI, 0.2, 3f64.powi(dim as i32));
        let factors: Vec<Vec<Complex64>> =
            (0..dim).map(|_| random_hermitian(&mut rng, n)).collect();
        let w1: Vec<Vec<f64>> = factors.iter().map(|a| wigner_of(&cpu, &s1, a)).collect();
        // A[(a_0..a_d), (b_0..b_d)] = Π A_i[a_i, b_i]
        let a: Vec<Complex64> = (0..n.pow(2 * dim as u32))
            .map(|mut g| {
                let mut idx = vec![0; 2 * dim];
                for ax in (0..2 * dim).rev() {
                    idx[ax] = g % n;
                    g /= n;
                }
                (0..dim)
                    .map(|i| factors[i][idx[i] * n + idx[dim + i]])
                    .product()
            })
            .collect();
        let w = wigner_of(&cpu, &s, &a);
        let m = 2 * n;
        let reference: Vec<f64> = (0..m.pow(2 * dim as u32))
            .map(|mut g| {
                let mut idx = vec![0; 2 * dim];
                for ax in (0..2 * dim).rev() {
                    idx[ax] = g % m;
                    g /= m;
                }
                (0..dim).map(|i| w1[i][idx[i] * m + idx[dim + i]]).product()
            })
            .collect();
        let e = rel_err_real(&w, &reference);
        eprintln!("CPU d = {dim}, n = {n}: W_s of a tensor product, relative error {e:.2e}");
        assert!(e < 1e-12, "d = {dim}: {e:.2e}");
        // Weyl of a product is the product of the Weyls.
        let back = weyl_of(&cpu, &s, &w);
        let e = rel_err(&back, &a);
        assert!(e < 1e-12, "d = {dim}: Weyl {e:.2e}");
    }
}

/// The discrete Wigner function W_d of docs/design.md section 2, by its definition (host, f64):
/// W_d(X_j, p_k) = (πε)^(−d)/N Σ_(r ≡ j mod 2) A_((j+r)/2, (j−r)/2) e^(−iπ k·r/n), r ∈ Z_2n per
/// axis.
fn discrete_wigner(s: &PhaseGridSpec, a: &[Complex64]) -> Vec<f64> {
    let (d, n) = (s.dim, s.n);
    let m = 2 * n;
    let points = n.pow(d as u32);
    let c = 1.0 / ((std::f64::consts::PI * s.epsilon).powi(d as i32) * s.particles);
    (0..m.pow(2 * d as u32))
        .map(|g| {
            let mut idx = vec![0; 2 * d];
            let mut rest = g;
            for ax in (0..2 * d).rev() {
                idx[ax] = rest % m;
                rest /= m;
            }
            let mut sum = Complex64::new(0.0, 0.0);
            for rr in 0..m.pow(d as u32) {
                let (mut row, mut col, mut phase, mut rest, mut ok) = (0, 0, 0.0, rr, true);
                for i in 0..d {
                    let r = rest % m;
                    rest /= m;
                    let j = idx[i];
                    if !(j + r).is_multiple_of(2) {
                        ok = false;
                        break;
                    }
                    row = row * n + ((j + r) / 2) % n;
                    col = col * n + ((j + m - r) / 2) % n;
                    phase += (idx[d + i] as f64 - n as f64) * r as f64;
                }
                if ok {
                    let arg = -std::f64::consts::PI * phase / n as f64;
                    sum += a[row * points + col] * Complex64::from_polar(1.0, arg);
                }
            }
            c * sum.re
        })
        .collect()
}

/// (1 + P_i)(1 + G_i) along axis i: the p-alias P W(X_j, p) = (−1)^j W(X_j, p + πε/h) (momenta
/// wrap mod 2n) and the X-ghost G W(X, p_k) = (−1)^k W(X + L/2, p_k).
fn add_aliases(s: &PhaseGridSpec, w: &[f64], axis: usize) -> Vec<f64> {
    let (d, n) = (s.dim, s.n);
    let m = 2 * n;
    let strides: Vec<usize> = (0..2 * d).map(|a| m.pow((2 * d - 1 - a) as u32)).collect();
    let digit = |g: usize, a: usize| (g / strides[a]) % m;
    let (sx, sp) = (strides[axis], strides[d + axis]);
    let ghost: Vec<f64> = (0..w.len())
        .map(|g| {
            let (j, k) = (digit(g, axis), digit(g, d + axis));
            let sign = if (k + n) % 2 == 0 { 1.0 } else { -1.0 };
            w[g] + sign * w[g - j * sx + ((j + n) % m) * sx]
        })
        .collect();
    (0..w.len())
        .map(|g| {
            let (j, k) = (digit(g, axis), digit(g, d + axis));
            let sign = if j % 2 == 0 { 1.0 } else { -1.0 };
            ghost[g] + sign * ghost[g - k * sp + ((k + n) % m) * sp]
        })
        .collect()
}

/// W_d = Π_i (1 + P_i)(1 + G_i) W_s exactly, for any Hermitian A; and W_d has both alias
/// symmetries, which W_s lacks.
#[test]
fn discrete_wigner_is_four_copies_of_wigner_s_cpu() {
    let cpu = CpuBackend::new();
    let mut rng = rng("discrete_wigner_is_four_copies_of_wigner_s_cpu");
    for (dim, n) in [(1, 8), (1, 7), (2, 4)] {
        let s = spec(dim, n, TWO_PI, 0.15, 7.0);
        let a = random_hermitian(&mut rng, n.pow(dim as u32));
        let ws = wigner_of(&cpu, &s, &a);
        let wd = discrete_wigner(&s, &a);
        let mut copies = ws.clone();
        for axis in 0..dim {
            copies = add_aliases(&s, &copies, axis);
        }
        let e = rel_err_real(&copies, &wd);
        eprintln!("CPU d = {dim}, n = {n}: W_d vs (1 + P)(1 + G) W_s, relative {e:.2e}");
        assert!(e < 1e-12, "{e:.2e}");
        // The alias identities: (1 + P)(1 + G) W_d = 4^d W_d; not so for W_s.
        let mut wd4 = wd.clone();
        let mut ws4 = ws.clone();
        for axis in 0..dim {
            wd4 = add_aliases(&s, &wd4, axis);
            ws4 = add_aliases(&s, &ws4, axis);
        }
        let f = 4f64.powi(dim as i32);
        let wd_scaled: Vec<f64> = wd.iter().map(|x| f * x).collect();
        let ws_scaled: Vec<f64> = ws.iter().map(|x| f * x).collect();
        let e = rel_err_real(&wd4, &wd_scaled);
        assert!(e < 1e-12, "alias identities of W_d: {e:.2e}");
        assert!(rel_err_real(&ws4, &ws_scaled) > 0.1);
    }
}

/// Chunk limits for the GPU runs: one chunk, and chunks small enough that both the phase array
/// and (in 1D and 2D) the matrix split into many.
fn gpu_backends(dim: usize) -> Vec<(Option<u64>, hvp::gpu::GpuBackend)> {
    // 1D: 512 bytes hold one 48-point complex line (n = 24), which the FFT needs in one chunk.
    let small = match dim {
        1 => 512,
        2 => 4096,
        _ => 65536,
    };
    [None, Some(small)]
        .into_iter()
        .filter_map(|c| gpu(c).map(|b| (c, b)))
        .collect()
}

#[test]
fn gpu_matches_cpu() {
    let cpu = CpuBackend::new();
    let mut rng = rng("gpu_matches_cpu");
    // n = 24 and 6: FFT lengths with factors 3 (mixed-radix GPU FFT).
    for (dim, n) in [(1, 16), (2, 8), (3, 4), (1, 24), (2, 6)] {
        let s = spec(dim, n, TWO_PI, 0.1, 25.0);
        let a = random_hermitian(&mut rng, n.pow(dim as u32));
        let f = random_real(&mut rng, s.shape().iter().product());
        let w_cpu = wigner_of(&cpu, &s, &a);
        let a_cpu = weyl_of(&cpu, &s, &f);
        for (chunk, g) in gpu_backends(dim) {
            let w_gpu = wigner_of(&g, &s, &a);
            let e_w = rel_err_real(&w_gpu, &w_cpu);
            let a_gpu = weyl_of(&g, &s, &f);
            let e_a = rel_err(&a_gpu, &a_cpu);
            let back = round_trip(&g, &s, &a);
            let e_rt = rel_err(&back, &a);
            let chunks =
                |shape: Vec<usize>| g.zeros(&shape, Elem::Complex).unwrap().layout.n_chunks;
            let (pc, mc) = (chunks(s.shape()), chunks(s.matrix_shape()));
            eprintln!(
                "GPU d = {dim}, n = {n}, chunk limit {chunk:?} ({pc} phase / {mc} matrix chunks): \
                 Wigner_s vs CPU {e_w:.2e}, Weyl vs CPU {e_a:.2e}, Weyl(Wigner_s(A)) vs A {e_rt:.2e}"
            );
            if chunk.is_some() {
                assert!(pc > 1, "the small-chunk run must split the phase array");
            }
            assert!(e_w < 1e-5, "Wigner_s: {e_w:.2e}");
            assert!(e_a < 1e-5, "Weyl: {e_a:.2e}");
            assert!(e_rt < 1e-5, "round trip: {e_rt:.2e}");
        }
    }
}

#[test]
fn gpu_refuses_grids_it_cannot_handle() {
    let Some(g) = gpu(None) else { return };
    // The GPU FFT takes lengths 2^a·3^b·5^c only.
    let e = Wigner::new(&g, &spec(1, 7, TWO_PI, 0.1, 10.0))
        .err()
        .unwrap();
    assert!(format!("{e:#}").contains("2^a·3^b·5^c"), "{e:#}");
    // 64^6 phase cells exceed the kernels' 32-bit indices: refused before any allocation.
    let e = Wigner::new(&g, &spec(3, 32, TWO_PI, 0.1, 10.0))
        .err()
        .unwrap();
    assert!(format!("{e:#}").contains("32-bit"), "{e:#}");
}

#[test]
fn wrong_operands_are_refused() {
    let cpu = CpuBackend::new();
    let s = spec(1, 8, TWO_PI, 0.1, 10.0);
    let mut wig = Wigner::new(&cpu, &s).unwrap();
    let a = cpu.zeros(&s.matrix_shape(), Elem::Complex).unwrap();
    let mut w_complex = cpu.zeros(&s.shape(), Elem::Complex).unwrap();
    assert!(wig.wigner(&cpu, &a, &mut w_complex).is_err());
    let mut w_small = cpu.zeros(&[8, 8], Elem::Real).unwrap();
    assert!(wig.wigner(&cpu, &a, &mut w_small).is_err());
    let f = cpu.zeros(&s.shape(), Elem::Real).unwrap();
    let mut a_real = cpu.zeros(&s.matrix_shape(), Elem::Real).unwrap();
    assert!(wig.weyl(&cpu, &f, &mut a_real).is_err());
    assert!(PhaseGridSpec::new(
        &HartreeGrid::new(1, 8, 1.0, Boundary::Periodic).unwrap(),
        -0.1,
        1.0
    )
    .is_err());
}
