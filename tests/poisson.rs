//! The Poisson solver against exact answers, on the CPU backend (f64) and on the GPU (f32, in
//! one chunk and in many): periodic manufactured solutions in 1, 2 and 3 dimensions, and the
//! free-space potential and force of Gaussian densities (erf in 3D, the exponential integral
//! in 2D, the closed form in 1D) with absolute values checked, so that a solver off by a
//! factor (of h^d, of n^d, ...) cannot pass.

mod common;

use hvp::cpu::CpuBackend;
use hvp::field::{len_of, strides_of};
use hvp::poisson::{analytic, Boundary, Poisson, PoissonSpec};
use hvp::{Backend, Elem};

/// The GPU backend with one chunk per field and, given `small_chunk_bytes`, with chunks that
/// small (small enough that the test's fields span several chunks, large enough to keep
/// lavapipe quick). 1D grids have none: a line must fit in one chunk, so a 1D field cannot
/// split (`one_d_fields_cannot_split` checks the refusal).
fn gpus(small_chunk_bytes: Option<u64>) -> Vec<hvp::gpu::GpuBackend> {
    std::iter::once(None)
        .chain(small_chunk_bytes.map(Some))
        .filter_map(common::gpu)
        .collect()
}

/// Chunks of the real fields of `spec.shape` and of the solver's grid (doubled per axis when
/// isolated) on `g`; asserts that both split when `g` has small chunks.
fn chunk_counts(g: &hvp::gpu::GpuBackend, spec: &PoissonSpec, small: bool) -> (usize, usize) {
    let grid: Vec<usize> = match spec.boundary {
        Boundary::Periodic => spec.shape.clone(),
        Boundary::Isolated => spec.shape.iter().map(|n| 2 * n).collect(),
    };
    let count = |shape: &[usize]| g.zeros(shape, Elem::Complex).unwrap().chunks.len();
    let counts = (count(&spec.shape), count(&grid));
    if small {
        assert!(
            counts.0 >= 2 && counts.1 >= 2,
            "{:?} with {}-byte chunks: {} and {} chunks, expected several",
            spec.shape,
            g.ctx.max_chunk_bytes,
            counts.0,
            counts.1
        );
    }
    counts
}

/// max |a − b| / max |b|, infinite if `a` holds a NaN.
fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    if a.iter().any(|x| !x.is_finite()) {
        return f64::INFINITY;
    }
    let diff = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    diff / b.iter().map(|y| y.abs()).fold(0.0, f64::max)
}

/// The same over all components of a vector field.
fn max_rel_vec(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    assert_eq!(a.len(), b.len());
    max_rel(&a.concat(), &b.concat())
}

/// Grid coordinates x_a = i_a·L_a/n_a of every point.
fn coordinates(shape: &[usize], lengths: &[f64]) -> Vec<Vec<f64>> {
    let strides = strides_of(shape);
    (0..len_of(shape))
        .map(|flat| {
            (0..shape.len())
                .map(|a| (flat / strides[a] % shape[a]) as f64 * lengths[a] / shape[a] as f64)
                .collect()
        })
        .collect()
}

/// Solves through device fields (potential and force), poisoning the outputs first.
fn solve_on<B: Backend>(b: &B, spec: &PoissonSpec, rho: &[f64]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let mut solver = Poisson::new(b, spec).unwrap();
    let shape = &spec.shape;
    let nan = vec![f64::NAN; len_of(shape)];
    let mut rho_f = b.zeros(shape, Elem::Real).unwrap();
    b.upload_real(&mut rho_f, rho).unwrap();
    let mut u = b.zeros(shape, Elem::Real).unwrap();
    b.upload_real(&mut u, &nan).unwrap();
    let mut force: Vec<B::Field> = (0..shape.len())
        .map(|_| {
            let mut f = b.zeros(shape, Elem::Real).unwrap();
            b.upload_real(&mut f, &nan).unwrap();
            f
        })
        .collect();
    solver.solve(b, &rho_f, &mut u, &mut force).unwrap();
    // Twice: a second solve with the same solver gives the same answer (no state left over).
    solver.solve(b, &rho_f, &mut u, &mut force).unwrap();
    (
        b.download_real(&u).unwrap(),
        force.iter().map(|f| b.download_real(f).unwrap()).collect(),
    )
}

/// Runs `check` on the CPU backend with tolerance `cpu_tol` and on each GPU with `gpu_tol`.
fn on_every_backend(
    name: &str,
    spec: &PoissonSpec,
    small_chunk_bytes: Option<u64>,
    cpu_tol: f64,
    gpu_tol: f64,
    check: impl Fn(&dyn Solve) -> (f64, f64),
) {
    let cpu = CpuBackend::new();
    let t = std::time::Instant::now();
    let (eu, ef) = check(&cpu);
    eprintln!(
        "{name}: CPU: U max rel err {eu:.2e}, force {ef:.2e} ({:.2} s)",
        t.elapsed().as_secs_f64()
    );
    assert!(
        eu <= cpu_tol && ef <= cpu_tol,
        "{name} on the CPU: U {eu:.2e}, force {ef:.2e}"
    );
    for (i, g) in gpus(small_chunk_bytes).iter().enumerate() {
        let chunks = chunk_counts(g, spec, i == 1);
        let t = std::time::Instant::now();
        let (eu, ef) = check(g);
        eprintln!(
            "{name}: GPU ({} B chunks: {} and {} chunks per field): U max rel err {eu:.2e}, \
             force {ef:.2e} ({:.2} s)",
            g.ctx.max_chunk_bytes,
            chunks.0,
            chunks.1,
            t.elapsed().as_secs_f64()
        );
        assert!(
            eu <= gpu_tol && ef <= gpu_tol,
            "{name} on the GPU: U {eu:.2e}, force {ef:.2e}"
        );
    }
}

/// Object-safe view of a backend for the checks above.
trait Solve {
    fn solve(&self, spec: &PoissonSpec, rho: &[f64]) -> (Vec<f64>, Vec<Vec<f64>>);
    fn solve_host(&self, spec: &PoissonSpec, rho: &[f64]) -> (Vec<f64>, Vec<Vec<f64>>);
}

impl<B: Backend> Solve for B {
    fn solve(&self, spec: &PoissonSpec, rho: &[f64]) -> (Vec<f64>, Vec<Vec<f64>>) {
        solve_on(self, spec, rho)
    }
    fn solve_host(&self, spec: &PoissonSpec, rho: &[f64]) -> (Vec<f64>, Vec<Vec<f64>>) {
        Poisson::new(self, spec)
            .unwrap()
            .solve_host(self, rho)
            .unwrap()
    }
}

/// A periodic manufactured solution: U = Σ A cos(k·x + φ) over a few modes (one of them at
/// index n/2 − 1 of the first axis), ρ = ρ₀ − ΔU/(κγ).
fn manufactured(spec: &PoissonSpec) -> (Vec<f64>, Vec<f64>, Vec<Vec<f64>>) {
    let d = spec.shape.len();
    let tau = 2.0 * std::f64::consts::PI;
    let top = (spec.shape[0] / 2 - 1) as f64;
    let modes: [(f64, [f64; 3], f64); 4] = [
        (1.0, [1.0, 0.0, 2.0], 0.3),
        (0.5, [2.0, -1.0, 1.0], 1.1),
        (0.25, [0.0, 2.0, -3.0], -0.7),
        (0.1, [top, 1.0, 1.0], 2.0),
    ];
    let xs = coordinates(&spec.shape, &spec.lengths);
    let kg = spec.kappa * spec.gamma;
    let mut rho = vec![0.37; xs.len()];
    let mut u = vec![0.0; xs.len()];
    let mut force = vec![vec![0.0; xs.len()]; d];
    for (i, x) in xs.iter().enumerate() {
        // (Modes with no wave number in these dimensions are constants: left out.)
        for (amp, m, phase) in modes
            .into_iter()
            .filter(|(_, m, _)| m[..d].iter().any(|&v| v != 0.0))
        {
            let k: Vec<f64> = (0..d).map(|a| tau * m[a] / spec.lengths[a]).collect();
            let arg = phase + (0..d).map(|a| k[a] * x[a]).sum::<f64>();
            let k2: f64 = k.iter().map(|k| k * k).sum();
            u[i] += amp * arg.cos();
            rho[i] += amp * k2 * arg.cos() / kg;
            for a in 0..d {
                force[a][i] += amp * k[a] * arg.sin();
            }
        }
    }
    (rho, u, force)
}

#[test]
fn periodic_manufactured_solutions_in_1_2_3_dimensions() {
    // Small chunks of 128 and 512 elements: 4 and 8 chunks.
    let cases: [(&[usize], &[f64], Option<u64>); 3] = [
        (&[64], &[3.0], None),
        (&[32, 16], &[2.0, 5.0], Some(1024)),
        (&[16, 8, 32], &[1.5, 2.5, 4.0], Some(4096)),
    ];
    for (shape, lengths, small) in cases {
        let spec = PoissonSpec {
            shape: shape.to_vec(),
            lengths: lengths.to_vec(),
            kappa: 4.0 * std::f64::consts::PI,
            gamma: -0.7,
            boundary: Boundary::Periodic,
        };
        let (rho, u_exact, f_exact) = manufactured(&spec);
        on_every_backend(
            &format!("periodic {shape:?}"),
            &spec,
            small,
            1e-12,
            1e-5,
            |b| {
                let (u, f) = b.solve(&spec, &rho);
                let (u2, f2) = b.solve_host(&spec, &rho);
                assert_eq!(u, u2, "solve and solve_host differ");
                assert_eq!(f, f2, "solve and solve_host differ");
                (max_rel(&u, &u_exact), max_rel_vec(&f, &f_exact))
            },
        );
    }
}

/// A normalised Gaussian of width `s` centred at `centre`, and its free-space potential and
/// force (U = γ G * ρ, F = −∇U).
fn gaussian(spec: &PoissonSpec, centre: &[f64], s: f64) -> (Vec<f64>, Vec<f64>, Vec<Vec<f64>>) {
    let d = spec.shape.len();
    let xs = coordinates(&spec.shape, &spec.lengths);
    let norm = (2.0 * std::f64::consts::PI * s * s).powf(-(d as f64) / 2.0);
    let mut rho = vec![0.0; xs.len()];
    let mut u = vec![0.0; xs.len()];
    let mut force = vec![vec![0.0; xs.len()]; d];
    for (i, x) in xs.iter().enumerate() {
        let dx: Vec<f64> = (0..d).map(|a| x[a] - centre[a]).collect();
        let r = dx.iter().map(|v| v * v).sum::<f64>().sqrt();
        rho[i] = norm * (-r * r / (2.0 * s * s)).exp();
        let (pot, du) = analytic::gaussian_potential(d, spec.kappa, spec.gamma, s, r);
        u[i] = pot;
        if r > 0.0 {
            for a in 0..d {
                force[a][i] = -du * dx[a] / r;
            }
        }
    }
    (rho, u, force)
}

fn isolated(shape: &[usize], lengths: &[f64], kappa: f64, gamma: f64) -> PoissonSpec {
    PoissonSpec {
        shape: shape.to_vec(),
        lengths: lengths.to_vec(),
        kappa,
        gamma,
        boundary: Boundary::Isolated,
    }
}

#[test]
fn isolated_3d_gaussian_matches_the_erf_potential() {
    // s = 0.5 in a box of 12 s: the density at the nearest face is e^(−(5.6)²/2) ≈ 1e-7 of
    // its peak, and the grid (h = 0.375 s) resolves it to round-off. κ = 4π, γ = −1: gravity
    // with G = 1, U(0) = −√(2/π)/s.
    let s = 0.5;
    let spec = isolated(
        &[32, 32, 32],
        &[6.0, 6.0, 6.0],
        4.0 * std::f64::consts::PI,
        -1.0,
    );
    let centre = [3.0, 3.0, 3.0];
    let (rho, u_exact, f_exact) = gaussian(&spec, &centre, s);
    let centre_index = 16 * 32 * 32 + 16 * 32 + 16;
    let u0 = -(2.0 / std::f64::consts::PI).sqrt() / s;
    assert!((u_exact[centre_index] - u0).abs() < 1e-14);
    on_every_backend(
        "isolated 3D Gaussian",
        &spec,
        Some(1 << 16),
        1e-6,
        1e-5,
        |b| {
            let (u, f) = b.solve(&spec, &rho);
            eprintln!(
                "  U at the centre {:.10} (exact {u0:.10}), rel err {:.2e}",
                u[centre_index],
                (u[centre_index] / u0 - 1.0).abs()
            );
            (max_rel(&u, &u_exact), max_rel_vec(&f, &f_exact))
        },
    );
}

#[test]
fn isolated_3d_two_gaussians_in_an_anisotropic_box() {
    // Two Gaussians of different widths and signs in an 8 × 6 × 16 box with unequal cells
    // (h = 0.25, 0.1875, 0.25): superposition, uncentred densities and unequal axes at once.
    let spec = isolated(&[32, 32, 64], &[8.0, 6.0, 16.0], 1.0, 1.0);
    let (rho_a, ua, fa) = gaussian(&spec, &[4.0, 3.0, 6.0], 0.5);
    let (rho_b, ub, fb) = gaussian(&spec, &[3.5, 3.0, 10.5], 0.55);
    let w = -0.5;
    let rho: Vec<f64> = rho_a.iter().zip(&rho_b).map(|(a, b)| a + w * b).collect();
    let u_exact: Vec<f64> = ua.iter().zip(&ub).map(|(a, b)| a + w * b).collect();
    let f_exact: Vec<Vec<f64>> = fa
        .iter()
        .zip(&fb)
        .map(|(a, b)| a.iter().zip(b).map(|(a, b)| a + w * b).collect())
        .collect();
    on_every_backend(
        "isolated 3D, two Gaussians, anisotropic box",
        &spec,
        Some(1 << 18),
        1e-6,
        1e-5,
        |b| {
            let (u, f) = b.solve(&spec, &rho);
            (max_rel(&u, &u_exact), max_rel_vec(&f, &f_exact))
        },
    );
}

#[test]
fn isolated_3d_scale_does_not_depend_on_n() {
    // The same Gaussian on 16³ and 32³ points over the same box, and on 32³ points over a box
    // twice as large: U at the centre agrees with the exact value (and so across grids) to the
    // discretisation error of the coarsest grid, not by a power of n.
    let s = 1.0;
    let u0 = 1.0 / (4.0 * std::f64::consts::PI) * (2.0 / std::f64::consts::PI).sqrt() / s;
    // Small chunks of 2048 and 8192 elements: 2 and 4 chunks of the n³ fields.
    let cases: [(usize, f64, f64, u64); 3] = [
        (16, 12.0, 1e-6, 1 << 14),
        (32, 12.0, 3e-8, 1 << 16),
        (32, 24.0, 1e-6, 1 << 16),
    ];
    let cpu = CpuBackend::new();
    for (n, l, tol, small) in cases {
        let spec = isolated(&[n, n, n], &[l, l, l], 1.0, 1.0);
        let gpus = gpus(Some(small));
        for (i, g) in gpus.iter().enumerate() {
            let chunks = chunk_counts(g, &spec, i == 1);
            eprintln!(
                "scale: n = {n}: {} B chunks: {chunks:?}",
                g.ctx.max_chunk_bytes
            );
        }
        let (rho, _, _) = gaussian(&spec, &[l / 2.0; 3], s);
        let centre = (n / 2) * (n * n + n + 1);
        let mut backends: Vec<(&str, &dyn Solve, f64)> = vec![("CPU", &cpu, tol)];
        for g in &gpus {
            backends.push(("GPU", g, tol.max(1e-5)));
        }
        for (name, b, tol) in backends {
            let (u, _) = b.solve(&spec, &rho);
            let err = (u[centre] / u0 - 1.0).abs();
            eprintln!("scale: n = {n}, L = {l}: {name} U(centre) = {:.10} (exact {u0:.10}), rel err {err:.2e}", u[centre]);
            assert!(
                err < tol,
                "n = {n}, L = {l} on the {name}: {} vs {u0}",
                u[centre]
            );
        }
    }
}

#[test]
fn isolated_1d_gaussian_matches_the_closed_form() {
    // U = −(γκ/2) ∫|x − y| ρ(y) dy = −(γκ/2)[x erf(x/√2s) + s√(2/π) e^(−x²/2s²)],
    // F = (γκ/2) erf(x/√2s), with the Gaussian off the box centre.
    let spec = isolated(&[128], &[10.0], 2.0, 1.0);
    let (rho, u_exact, f_exact) = gaussian(&spec, &[4.3], 0.5);
    on_every_backend("isolated 1D Gaussian", &spec, None, 1e-6, 1e-5, |b| {
        let (u, f) = b.solve(&spec, &rho);
        (max_rel(&u, &u_exact), max_rel_vec(&f, &f_exact))
    });
}

#[test]
fn isolated_2d_gaussian_matches_the_log_potential() {
    // U = −(γκ/2π)[ln r + ½ E1(r²/2s²)], F = (γκ/2π)(1 − e^(−r²/2s²))/r r̂.
    let spec = isolated(&[64, 32], &[8.0, 4.0], 2.0 * std::f64::consts::PI, -1.0);
    let (rho, u_exact, f_exact) = gaussian(&spec, &[4.0, 2.0], 0.3);
    on_every_backend("isolated 2D Gaussian", &spec, Some(4096), 1e-6, 1e-5, |b| {
        let (u, f) = b.solve(&spec, &rho);
        (max_rel(&u, &u_exact), max_rel_vec(&f, &f_exact))
    });
}

#[test]
fn one_d_fields_cannot_split() {
    // A 1D field in several chunks has lines longer than a chunk: the solve is refused with an
    // error that says so, instead of a wrong answer.
    let Some(g) = common::gpu(Some(256)) else {
        return;
    };
    let spec = isolated(&[64], &[10.0], 2.0, 1.0);
    assert_eq!(chunk_counts(&g, &spec, true), (2, 4));
    let rho = vec![0.0; 64];
    let e = Poisson::new(&g, &spec)
        .unwrap()
        .solve_host(&g, &rho)
        .unwrap_err();
    assert!(e.to_string().contains("longer than one chunk"), "{e}");
}
