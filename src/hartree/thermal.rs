//! Fermi–Dirac thermal states of the Hartree Hamiltonian (docs/design.md section 4), by dense
//! diagonalisation in f64 on the CPU: small grids only (n^d up to `spectrum::MAX_ROWS`, and in
//! practice a few thousand points, as every iteration diagonalises an n^d × n^d matrix).
//!
//! The state is ω = 1/(exp(β(h − μ)) + 1) with h = −(ε²/2m)Δ + U + V_ext, U = γ G * ρ and μ
//! fixed by tr ω = N. In the grid representation A_ab = h^d ω(x_a; x_b) (section 2) the
//! operator ω and the matrix A have the same eigenvectors once these are normalised in the
//! discrete sense (Σ_a |ψ_a|² = 1, the unit-norm eigenvectors of the matrix of h), and A's
//! eigenvalues are the occupations: A = V diag(n) V†, tr A = Σ n_j = N.

use anyhow::{bail, Result};
use num_complex::Complex64;
use rayon::prelude::*;

use super::grid::{External, HartreeGrid, HartreePhysics};
use super::spectrum;
use crate::backend::FftDirection;
use crate::host;
use crate::poisson::{Boundary, Poisson, PoissonSpec};

/// The row-major n^d × n^d matrix of the kinetic energy −(ε²/2m)Δ, spectral on the periodic
/// grid: diagonal in the discrete Fourier basis,
/// K_ab = (1/n^d) Σ_q (ε²|k_q|²/2m) e^(i k_q·(x_a − x_b)).
///
/// K depends on a − b only (per axis, mod n), so the kernel is one inverse FFT of the symbol;
/// as the symbol is real and even in q, K is real and symmetric, and is stored so exactly.
/// (For an isolated boundary this is still the periodic Laplacian of the box: the Hartree
/// solver's kinetic step is periodic in either case.)
pub fn kinetic_matrix(grid: &HartreeGrid, physics: &HartreePhysics) -> Vec<Complex64> {
    let n = grid.n;
    let d = grid.dim;
    let p = grid.points();
    let scale = physics.epsilon * physics.epsilon / (2.0 * physics.mass);
    let mut kernel: Vec<Complex64> = (0..p)
        .map(|q| Complex64::new(scale * grid.k_squared(q) / p as f64, 0.0))
        .collect();
    // Inverse d-dimensional FFT (the 1/n^d is in the symbol).
    let axes: Vec<usize> = (0..d).collect();
    host::fft_unnormalised(&mut kernel, &vec![n; d], &axes, FftDirection::Inverse)
        .expect("the FFT of a Hartree grid's points");
    // Flat index of the per-axis difference (a − b) mod n.
    let digits = |mut a: usize| {
        let mut out = [0usize; 3];
        for ax in (0..d).rev() {
            out[ax] = a % n;
            a /= n;
        }
        out
    };
    let difference = |a: usize, b: usize| {
        let (da, db) = (digits(a), digits(b));
        (0..d).fold(0, |acc, ax| acc * n + (da[ax] + n - db[ax]) % n)
    };
    // Real and even: K(r) = ½ (Re K(r) + Re K(−r)), exact symmetry under round-off.
    let real: Vec<f64> = (0..p)
        .map(|r| 0.5 * (kernel[r].re + kernel[difference(0, r)].re))
        .collect();
    let mut k = vec![Complex64::new(0.0, 0.0); p * p];
    k.par_chunks_mut(p).enumerate().for_each(|(a, row)| {
        for (b, z) in row.iter_mut().enumerate() {
            *z = Complex64::new(real[difference(a, b)], 0.0);
        }
    });
    k
}

/// The external potential V_ext on the grid (zero without one). Harmonic:
/// ½ m ω² |x − centre|², with the minimal-image displacement on a periodic box (so the
/// potential is periodic, with a kink half a box away from the centre).
pub fn external_potential(grid: &HartreeGrid, physics: &HartreePhysics) -> Vec<f64> {
    let p = grid.points();
    match &physics.external {
        None => vec![0.0; p],
        Some(External::Harmonic { omega, centre }) => (0..p)
            .map(|a| {
                let x = grid.point(a);
                let r2: f64 = x
                    .iter()
                    .zip(centre)
                    .map(|(xi, ci)| {
                        let mut dx = xi - ci;
                        if physics.boundary == Boundary::Periodic {
                            dx -= grid.length * (dx / grid.length).round();
                        }
                        dx * dx
                    })
                    .sum();
                0.5 * physics.mass * omega * omega * r2
            })
            .collect(),
    }
}

/// h = K + diag(potential), row-major n^d × n^d; `potential` is the whole multiplicative
/// part (U + V_ext). Panics if `potential` does not have n^d values.
pub fn hamiltonian_matrix(
    grid: &HartreeGrid,
    physics: &HartreePhysics,
    potential: &[f64],
) -> Vec<Complex64> {
    let p = grid.points();
    assert_eq!(
        potential.len(),
        p,
        "a potential of {} values on a grid of {p} points",
        potential.len()
    );
    let mut h = kinetic_matrix(grid, physics);
    for (a, v) in potential.iter().enumerate() {
        h[a * p + a].re += v;
    }
    h
}

/// 1/(exp(t) + 1) without overflow.
fn fermi(t: f64) -> f64 {
    if t > 0.0 {
        let e = (-t).exp();
        e / (1.0 + e)
    } else {
        1.0 / (1.0 + t.exp())
    }
}

/// Fermi–Dirac occupations n_j = 1/(exp(β(λ_j − μ)) + 1) with μ fixed by Σ n_j = N, by
/// bisection on μ (Σ n_j is increasing in μ), run until the bracket stops shrinking in f64; the
/// exponentials are evaluated without overflow, so any finite β > 0 works. Returns
/// (occupations, μ). N must lie in (0, number of states]; N equal to the number of states is
/// the full state (every n_j = 1), returned with μ = +∞.
pub fn fermi_dirac(eigenvalues: &[f64], beta: f64, particles: f64) -> Result<(Vec<f64>, f64)> {
    let states = eigenvalues.len();
    if !(beta > 0.0 && beta.is_finite()) {
        bail!("the inverse temperature β = {beta} must be positive and finite");
    }
    if !(particles > 0.0 && particles.is_finite()) {
        bail!("the particle number N = {particles} must be positive");
    }
    if eigenvalues.iter().any(|l| !l.is_finite()) {
        bail!("non-finite eigenvalue in the Fermi–Dirac filling");
    }
    if particles > states as f64 {
        bail!(
            "N = {particles} fermions do not fit in {states} states (at most one per state: \
             refine the grid or lower N)"
        );
    }
    if particles == states as f64 {
        return Ok((vec![1.0; states], f64::INFINITY));
    }
    // μ = λ_r + δ about a reference level λ_r: first λ_r = 0 (bracket μ), then the level
    // nearest μ, so that at large β the argument β((λ_j − λ_r) − δ) keeps the resolution of δ
    // rather than of μ (one ulp of μ can move Σ n_j by β·ulp(μ) on a partly filled level).
    let count = |reference: f64, delta: f64| -> f64 {
        eigenvalues
            .iter()
            .map(|l| fermi(beta * ((l - reference) - delta)))
            .sum()
    };
    let bisect = |reference: f64, mut lo: f64, mut hi: f64| -> f64 {
        for _ in 0..2000 {
            let mid = 0.5 * (lo + hi);
            if mid <= lo || mid >= hi {
                break;
            }
            if count(reference, mid) < particles {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        // Of the two ends, the one whose count is closer to N.
        if (count(reference, lo) - particles).abs() <= (count(reference, hi) - particles).abs() {
            lo
        } else {
            hi
        }
    };
    let lowest = eigenvalues.iter().copied().fold(f64::INFINITY, f64::min);
    let highest = eigenvalues
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    let mut width = (highest - lowest).max(1.0 / beta).max(f64::MIN_POSITIVE);
    let (mut lo, mut hi) = (lowest - width, highest + width);
    // Widen until the bracket holds N (a few steps: the tails fall like e^(−β·width)).
    while count(0.0, lo) > particles {
        width *= 2.0;
        lo = lowest - width;
        if !lo.is_finite() {
            bail!("Fermi–Dirac: no chemical potential below the spectrum gives N = {particles}");
        }
    }
    while count(0.0, hi) < particles {
        width *= 2.0;
        hi = highest + width;
        if !hi.is_finite() {
            bail!("Fermi–Dirac: no chemical potential above the spectrum gives N = {particles}");
        }
    }
    let rough = bisect(0.0, lo, hi);
    let reference = eigenvalues
        .iter()
        .copied()
        .min_by(|a, b| (a - rough).abs().total_cmp(&(b - rough).abs()))
        .unwrap_or(0.0);
    // The refined bracket: a few ulps of μ either side of the rough root (Σ n_j is monotone,
    // so widen until it holds N again).
    let mut pad = 4.0 * f64::EPSILON * rough.abs().max(f64::MIN_POSITIVE) + 1e-300;
    let (mut dlo, mut dhi) = (rough - reference - pad, rough - reference + pad);
    while count(reference, dlo) > particles || count(reference, dhi) < particles {
        pad *= 2.0;
        dlo = rough - reference - pad;
        dhi = rough - reference + pad;
        if pad > 2.0 * width {
            break;
        }
    }
    let delta = bisect(reference, dlo, dhi);
    let mu = reference + delta;
    let occupations = eigenvalues
        .iter()
        .map(|l| fermi(beta * ((l - reference) - delta)))
        .collect();
    Ok((occupations, mu))
}

/// The linear mixing weight of the self-consistent loop: U ← (1 − α) U + α U_new, starting at
/// α = 0.5 and halved (down to `MIN_MIXING`) whenever the residual grows.
pub const MIXING: f64 = 0.5;
/// The smallest mixing weight the loop falls back to.
pub const MIN_MIXING: f64 = 1.0 / 64.0;

/// A self-consistent Fermi–Dirac state of the Hartree Hamiltonian.
#[derive(Clone, Debug)]
pub struct ThermalState {
    /// A_ab = h^d ω(x_a; x_b), row-major n^d × n^d, Hermitian, tr A = N.
    pub matrix: Vec<Complex64>,
    /// The chemical potential.
    pub mu: f64,
    /// Diagonalisations done (1 when the mean field is off).
    pub iterations: usize,
    /// max_a |U_new − U| at the last iteration (0 when the mean field is off).
    pub residual: f64,
    /// Occupations n_j (the eigenvalues of A), in the order of `levels`.
    pub occupations: Vec<f64>,
    /// Eigenvalues of the Hamiltonian h = K + U + V_ext that A was built from, ascending.
    pub levels: Vec<f64>,
    /// The mean-field potential U = γ G * ρ of A's own density (it differs from the U of the
    /// Hamiltonian that was diagonalised by at most `residual`). The Hamiltonian of A is
    /// `hamiltonian_matrix(grid, physics, U + external_potential(grid, physics))`.
    pub potential: Vec<f64>,
}

/// The self-consistent thermal state at inverse temperature β: start from U = 0 (the external
/// potential alone), then repeat: diagonalise h = K + U + V_ext, fill the levels by Fermi–Dirac
/// (μ from tr A = N), form A = V diag(n) V†, its density ρ = diag(A)/(N h^d), the potential
/// U_new = γ G * ρ (Poisson module, CPU backend), and stop when max|U_new − U| < `tolerance`;
/// otherwise mix linearly, U ← (1 − α)U + αU_new (α = `MIXING`, halved when the residual grows).
/// With κ = 0 one diagonalisation is exact. Fails if `max_iterations` pass without convergence.
pub fn thermal_state(
    grid: &HartreeGrid,
    physics: &HartreePhysics,
    beta: f64,
    tolerance: f64,
    max_iterations: usize,
) -> Result<ThermalState> {
    physics.validate()?;
    if grid.dim != physics.dim {
        bail!(
            "a {}-dimensional grid for {}-dimensional physics",
            grid.dim,
            physics.dim
        );
    }
    let p = grid.points();
    if p > spectrum::MAX_ROWS {
        bail!(
            "a thermal state on {p} grid points needs a {p} × {p} dense diagonalisation per \
             iteration; the limit is {} points",
            spectrum::MAX_ROWS
        );
    }
    if tolerance.is_nan() || tolerance <= 0.0 || max_iterations == 0 {
        bail!(
            "thermal state: tolerance {tolerance} must be positive and max_iterations at least 1"
        );
    }
    let particles = physics.particles();
    let v_ext = external_potential(grid, physics);
    let kinetic = kinetic_matrix(grid, physics);
    let interacting = physics.kappa != 0.0;
    let backend = host::backend();
    let mut poisson = if interacting {
        Some(Poisson::new(
            &backend,
            &PoissonSpec {
                shape: grid.x_shape(),
                lengths: vec![grid.length; grid.dim],
                kappa: physics.kappa,
                gamma: physics.gamma,
                boundary: physics.boundary,
            },
        )?)
    } else {
        None
    };

    let mut u = vec![0.0; p];
    let mut alpha = MIXING;
    let mut previous = f64::INFINITY;
    for iteration in 1..=max_iterations {
        let mut h = kinetic.clone();
        for a in 0..p {
            h[a * p + a].re += u[a] + v_ext[a];
        }
        let (levels, vectors) = spectrum::hermitian_eigen_mat(p, &h)?;
        let (occupations, mu) = fermi_dirac(&levels, beta, particles)?;
        let matrix = density_matrix(p, &vectors, &occupations);
        let (u_new, residual) = match poisson.as_mut() {
            None => (vec![0.0; p], 0.0),
            Some(poisson) => {
                let norm = 1.0 / (particles * grid.cell());
                let rho: Vec<f64> = (0..p).map(|a| matrix[a * p + a].re * norm).collect();
                let (u_new, _) = poisson.solve_host(&backend, &rho)?;
                let residual = u_new
                    .iter()
                    .zip(&u)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0.0, f64::max);
                (u_new, residual)
            }
        };
        if !residual.is_finite() {
            bail!("thermal state: the mean-field potential is not finite at iteration {iteration}");
        }
        if residual < tolerance {
            return Ok(ThermalState {
                matrix,
                mu,
                iterations: iteration,
                residual,
                occupations,
                levels,
                potential: u_new,
            });
        }
        if residual > previous {
            alpha = (0.5 * alpha).max(MIN_MIXING);
        }
        previous = residual;
        for (ui, ni) in u.iter_mut().zip(&u_new) {
            *ui = (1.0 - alpha) * *ui + alpha * ni;
        }
    }
    bail!(
        "thermal state: no convergence in {max_iterations} iterations (last max|ΔU| = {previous:.3e}, \
         tolerance {tolerance:.1e})"
    )
}

/// A = V diag(n) V† = W W† with W = V diag(√n), Hermitised exactly.
fn density_matrix(p: usize, vectors: &faer::Mat<Complex64>, occupations: &[f64]) -> Vec<Complex64> {
    let mut w = vectors.clone();
    for (j, n) in occupations.iter().enumerate() {
        let s = n.max(0.0).sqrt();
        w.col_mut(j).iter_mut().for_each(|z| *z *= s);
    }
    let a = &w * w.adjoint();
    let mut out = vec![Complex64::new(0.0, 0.0); p * p];
    for i in 0..p {
        out[i * p + i] = Complex64::new(a[(i, i)].re, 0.0);
        for k in i + 1..p {
            let z = 0.5 * (a[(i, k)] + a[(k, i)].conj());
            out[i * p + k] = z;
            out[k * p + i] = z.conj();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn physics(epsilon: f64, kappa: f64, gamma: f64) -> HartreePhysics {
        HartreePhysics {
            dim: 1,
            epsilon,
            particles: None,
            mass: 1.0,
            kappa,
            gamma,
            boundary: Boundary::Periodic,
            external: None,
            exchange: false,
        }
    }

    fn max_abs(a: &[Complex64]) -> f64 {
        a.iter().map(|z| z.norm()).fold(0.0, f64::max)
    }

    #[test]
    fn kinetic_matrix_is_diagonal_on_plane_waves() {
        for (dim, n, length) in [(1, 16, 3.0), (1, 15, 2.0), (2, 6, 1.5), (3, 4, 2.5)] {
            let grid = HartreeGrid::new(dim, n, length, Boundary::Periodic).unwrap();
            let mut phys = physics(0.3, 0.0, 1.0);
            phys.dim = dim;
            phys.mass = 0.7;
            let k = kinetic_matrix(&grid, &phys);
            let p = grid.points();
            assert!(spectrum::hermiticity_defect(p, &k) == 0.0);
            // Every plane wave that the grid holds, m_ax ∈ (−n/2, n/2].
            for q in 0..p {
                let mut wave = vec![0.0; dim];
                let mut rest = q;
                for ax in (0..dim).rev() {
                    let i = rest % n;
                    rest /= n;
                    let m = if 2 * i <= n {
                        i as f64
                    } else {
                        i as f64 - n as f64
                    };
                    wave[ax] = 2.0 * std::f64::consts::PI * m / length;
                }
                let v: Vec<Complex64> = (0..p)
                    .map(|a| {
                        let x = grid.point(a);
                        Complex64::from_polar(1.0, x.iter().zip(&wave).map(|(x, k)| x * k).sum())
                    })
                    .collect();
                let energy = phys.epsilon.powi(2) * wave.iter().map(|k| k * k).sum::<f64>()
                    / (2.0 * phys.mass);
                let err = (0..p)
                    .map(|a| {
                        let kv: Complex64 = (0..p).map(|b| k[a * p + b] * v[b]).sum();
                        (kv - energy * v[a]).norm()
                    })
                    .fold(0.0, f64::max);
                assert!(
                    err < 1e-12 * energy.max(1.0),
                    "d={dim} n={n} q={q}: {err:e}"
                );
            }
        }
    }

    #[test]
    fn fermi_dirac_fills_to_n() {
        let levels: Vec<f64> = (0..20).map(|j| 0.1 * j as f64).collect();
        for beta in [0.5, 10.0, 1e3, 1e8, 1e14] {
            for particles in [0.3, 4.0, 7.5, 19.9] {
                let (occ, mu) = fermi_dirac(&levels, beta, particles).unwrap();
                let sum: f64 = occ.iter().sum();
                assert!(
                    (sum - particles).abs() < 1e-12,
                    "β={beta} N={particles}: {sum}"
                );
                assert!(occ.iter().all(|&o| (0.0..=1.0).contains(&o)));
                assert!(occ.windows(2).all(|w| w[0] >= w[1]));
                assert!(mu.is_finite());
            }
        }
        // Low temperature, integer N: the N lowest levels filled, μ in the gap.
        let (occ, mu) = fermi_dirac(&levels, 1e3, 4.0).unwrap();
        assert!(occ[..4].iter().all(|o| (o - 1.0).abs() < 1e-12));
        assert!(occ[4..].iter().all(|o| o.abs() < 1e-12));
        assert!(mu > 0.3 && mu < 0.4, "μ = {mu}");
        assert!(fermi_dirac(&levels, 1.0, 21.0).is_err());
        assert!(fermi_dirac(&levels, 0.0, 2.0).is_err());
        let (full, _) = fermi_dirac(&levels, 1.0, 20.0).unwrap();
        assert!(full.iter().all(|&o| o == 1.0));
    }

    #[test]
    fn free_fermions_fill_plane_waves() {
        let n = 32;
        let length = 2.0 * std::f64::consts::PI;
        let grid = HartreeGrid::new(1, n, length, Boundary::Periodic).unwrap();
        let mut phys = physics(0.1, 0.0, 1.0);
        phys.particles = Some(7.0);
        let beta = 200.0;
        let state = thermal_state(&grid, &phys, beta, 1e-12, 5).unwrap();
        assert_eq!(state.iterations, 1);
        // Plane waves e^(ikx), k = −15 … 16: energies ε²k²/2m, filled by Fermi–Dirac.
        let waves: Vec<f64> = (0..n)
            .map(|i| crate::poisson::wave_number(i, n, length))
            .collect();
        let energies: Vec<f64> = waves.iter().map(|k| 0.01 * k * k / 2.0).collect();
        let (occ, mu) = fermi_dirac(&energies, beta, 7.0).unwrap();
        assert!((state.mu - mu).abs() < 1e-10, "μ {} vs {mu}", state.mu);
        let mut sorted = energies.clone();
        sorted.sort_by(f64::total_cmp);
        let level_err = state
            .levels
            .iter()
            .zip(&sorted)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(level_err < 1e-13, "levels off by {level_err:e}");
        // A_ab = (1/n) Σ_k n(k) e^(ik(x_a − x_b)).
        let mut err = 0.0f64;
        for a in 0..n {
            for b in 0..n {
                let exact: Complex64 = waves
                    .iter()
                    .zip(&occ)
                    .map(|(k, o)| Complex64::from_polar(o / n as f64, k * (grid.x(a) - grid.x(b))))
                    .sum();
                err = err.max((state.matrix[a * n + b] - exact).norm());
            }
        }
        assert!(err < 1e-13, "A off the plane-wave filling by {err:e}");
        let trace: f64 = (0..n).map(|a| state.matrix[a * n + a].re).sum();
        assert!((trace - 7.0).abs() < 1e-12, "tr A = {trace}");
        let spec = spectrum::hermitian_eigenvalues(n, &state.matrix).unwrap();
        assert!(spec[0] > -1e-13 && spec[n - 1] < 1.0 + 1e-13, "{spec:?}");
        let mut occ_sorted = occ.clone();
        occ_sorted.sort_by(f64::total_cmp);
        let spec_err = spec
            .iter()
            .zip(&occ_sorted)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(spec_err < 1e-13, "eig(A) vs occupations: {spec_err:e}");
    }

    /// ‖[h, A]‖_max / (‖h‖_max ‖A‖_max) for the state's own Hamiltonian.
    fn commutator(grid: &HartreeGrid, phys: &HartreePhysics, state: &ThermalState) -> f64 {
        let p = grid.points();
        let v: Vec<f64> = state
            .potential
            .iter()
            .zip(external_potential(grid, phys))
            .map(|(u, v)| u + v)
            .collect();
        let h = hamiltonian_matrix(grid, phys, &v);
        let a = &state.matrix;
        let mut c = 0.0f64;
        for i in 0..p {
            for k in 0..p {
                let z: Complex64 = (0..p)
                    .map(|j| h[i * p + j] * a[j * p + k] - a[i * p + j] * h[j * p + k])
                    .sum();
                c = c.max(z.norm());
            }
        }
        c / (max_abs(&h) * max_abs(a))
    }

    #[test]
    fn self_consistent_interacting_state_is_stationary() {
        let n = 32;
        let length = 4.0;
        let grid = HartreeGrid::new(1, n, length, Boundary::Periodic).unwrap();
        for gamma in [1.0, -1.0] {
            let mut phys = physics(0.1, 1.0, gamma);
            phys.external = Some(External::Harmonic {
                omega: 2.0,
                centre: vec![length / 2.0],
            });
            let state = thermal_state(&grid, &phys, 50.0, 1e-10, 200).unwrap();
            let particles = 10.0;
            assert!(state.residual < 1e-10);
            let trace: f64 = (0..n).map(|a| state.matrix[a * n + a].re).sum();
            assert!((trace - particles).abs() < 1e-11, "tr A = {trace}");
            let spec = spectrum::hermitian_eigenvalues(n, &state.matrix).unwrap();
            assert!(spec[0] > -1e-13 && spec[n - 1] < 1.0 + 1e-13);
            // The potential is not trivial (the density is not uniform).
            let spread = state
                .potential
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max)
                - state
                    .potential
                    .iter()
                    .copied()
                    .fold(f64::INFINITY, f64::min);
            assert!(spread > 0.05, "γ = {gamma}: U spread {spread}");
            let c = commutator(&grid, &phys, &state);
            eprintln!(
                "γ = {gamma:+}: {} iterations, residual {:.2e}, μ = {:.6}, U spread {spread:.4}, \
                 |[h, A]| / (|h||A|) = {c:.2e}",
                state.iterations, state.residual, state.mu
            );
            assert!(c < 1e-11, "γ = {gamma}: commutator {c:e}");
            // Repulsion spreads the cloud, gravity contracts it: U has a maximum (γ = +1) or a
            // minimum (γ = −1) at the centre.
            let centre = state.potential[n / 2];
            let mean = state.potential.iter().sum::<f64>() / n as f64;
            assert!(gamma * (centre - mean) > 0.0);
        }
    }

    #[test]
    fn harmonic_oscillator_levels_at_low_temperature() {
        let n = 64;
        let length = 8.0;
        let omega = 1.0;
        let epsilon = 0.1;
        for boundary in [Boundary::Periodic, Boundary::Isolated] {
            let grid = HartreeGrid::new(1, n, length, boundary).unwrap();
            let centre = grid.x_min + length / 2.0;
            let mut phys = physics(epsilon, 0.0, 1.0);
            phys.boundary = boundary;
            phys.particles = Some(4.0);
            phys.external = Some(External::Harmonic {
                omega,
                centre: vec![centre],
            });
            let state = thermal_state(&grid, &phys, 1e3, 1e-12, 3).unwrap();
            let mut worst = 0.0f64;
            for j in 0..8 {
                let exact = epsilon * omega * (j as f64 + 0.5);
                worst = worst.max((state.levels[j] - exact).abs());
            }
            eprintln!("{boundary:?}: first 8 oscillator levels within {worst:.2e}");
            assert!(worst < 1e-12, "oscillator levels off by {worst:e}");
            assert!(state.occupations[..4]
                .iter()
                .all(|o| (o - 1.0).abs() < 1e-12));
            assert!(state.occupations[4..].iter().all(|o| o.abs() < 1e-12));
            assert!(state.mu > 0.35 && state.mu < 0.45);
            let trace: f64 = (0..n).map(|a| state.matrix[a * n + a].re).sum();
            assert!((trace - 4.0).abs() < 1e-12);
        }
    }
}
