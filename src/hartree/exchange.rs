//! The Hartree–Fock exchange term (the paper's eq. 1.15) on the position grid, and the potential
//! step with it.
//!
//! Convention. The paper writes iε∂tω = [−ε²Δ + V * ρ − X, ω] with X(x; y) = V(x − y) ω(x; y)/N
//! and the same pair interaction V in both terms. Here the mean field is U = γ G * ρ
//! (docs/design.md section 1, −ΔG = κδ), so V = γG and
//!
//!   h = −(ε²/2m)Δ + U + V_ext − X,   X(x; y) = γ G(x − y) ω(x; y) / N.
//!
//! X enters with a minus sign and carries the same γ as U: for Coulomb (γ = +1) exchange lowers
//! the energy. This is what removes the self-interaction: for a single orbital (N = 1,
//! ω = |ψ⟩⟨ψ|) Xψ = (γ G * |ψ|²) ψ = Uψ, so U − X annihilates ψ and the orbital moves as a free
//! particle (in V_ext alone).
//!
//! On the grid. A_ab = h^d ω(x_a; x_b), so ω = A/h^d, and the operator X acts on a grid vector
//! as (Xψ)_a = Σ_b X(x_a; x_b) ψ_b h^d: as a matrix on coefficient vectors it is
//!
//!   M_ab = h^d X(x_a; x_b) = V_ab A_ab / N,   V_ab = γ G(x_a − x_b),
//!
//! and the potential part of h is the Hermitian P × P matrix H = diag(U + V_ext) − M (V is real
//! and symmetric, A Hermitian). V_ab is exactly the kernel the Poisson module convolves with:
//! U_a = Σ_b V_ab ρ_b h^d. It is obtained by one Poisson solve (CPU, f64) of the unit point
//! density δ_0/h^d at grid point 0, which returns V at every separation:
//!
//! - periodic: the mean-free periodic Green's function (1/L^d) Σ_(k≠0) κγ e^(ik·x)/|k|² summed
//!   over the grid's wave numbers (finite at x = 0 on the grid), V_ab = V((a − b) mod n per axis);
//! - isolated: the truncated free-space kernel of the Vico–Greengard–Ferrando solver (even in
//!   every axis), V_ab = V(|a − b| per axis).
//!
//! So Uψ and Mψ use one and the same discrete kernel, and the single-orbital cancellation
//! holds on the grid to round-off.
//!
//! The potential sub-step solves iε∂tA = [H(A), A] for a time τ. H depends on A, and unlike
//! the diagonal Hartree phase this flow moves ρ and the coherences, so H is not frozen: a
//! predictor–corrector (`Exchange::step_host`) conjugates A by e^(−iτH̄/ε) with
//! H̄ = ½(H(A) + H(A*)), A* the state conjugated by e^(−iτH(A)/ε), which keeps the Strang step
//! second order (freezing H at the start of the sub-step makes it first order: measured order
//! 0.7 in the energy error). Each exponential is applied through the eigendecomposition
//! H = QΛQ†. U is recomputed on the host from diag(A) by the direct sum over V (the Poisson
//! module's U to round-off, on either backend), so U and X always share one kernel; V_ext
//! comes from the solver. This path is host-bound on both backends: A is downloaded, the step
//! runs in f64 on the CPU (faer: two Hermitian eigendecompositions and eight P × P products,
//! O(P³)), and A is uploaded again. Hence d ≤ 2 and P = n^d ≤ `MAX_POINTS`.
//!
//! The exchange energy per particle is −½ tr(Xω)/N = −½ Σ_ab M_ab A_ba / N (for N = 1 and a
//! pure state it is minus the Hartree energy ½∫ρU).

use anyhow::{bail, Result};
use faer::MatRef;
use num_complex::Complex64;
use rayon::prelude::*;

use super::grid::{HartreeGrid, HartreePhysics};
use crate::backend::Backend;
use crate::poisson::{Boundary, Poisson, PoissonSpec};

/// The largest number of grid points P = n^d the exchange step accepts (a 4096 × 4096 complex
/// f64 matrix is 256 MiB; one step costs of the order of 10^13 flops there).
pub const MAX_POINTS: usize = 4096;

/// The exchange operator of one grid: the pair interaction V_ab = γ G(x_a − x_b).
#[derive(Clone, Debug)]
pub struct Exchange {
    dim: usize,
    n: usize,
    points: usize,
    boundary: Boundary,
    particles: f64,
    /// V at the separation index (per axis: (a − b) mod n on a torus, |a − b| isolated),
    /// row-major over [n; d].
    table: Vec<f64>,
}

impl Exchange {
    /// Builds V on the grid by one Poisson solve of a unit point density (CPU, f64).
    pub fn new(grid: &HartreeGrid, physics: &HartreePhysics) -> Result<Self> {
        let points = grid.points();
        if grid.dim > 2 {
            bail!(
                "the exchange term needs dim ≤ 2, not {}: on {} points (n = {}) the step would be \
                 a dense {points} × {points} eigendecomposition per step",
                grid.dim,
                points,
                grid.n
            );
        }
        if points > MAX_POINTS {
            bail!(
                "the exchange term on {points} grid points (n = {}, d = {}) is beyond the \
                 {MAX_POINTS}-point limit of its dense host step ({points} × {points} \
                 eigendecomposition per step)",
                grid.n,
                grid.dim
            );
        }
        let spec = PoissonSpec {
            shape: grid.x_shape(),
            lengths: vec![grid.length; grid.dim],
            kappa: physics.kappa,
            gamma: physics.gamma,
            boundary: physics.boundary,
        };
        let cpu = crate::host::backend();
        let mut poisson = Poisson::new(&cpu, &spec)?;
        let mut delta = vec![0.0; points];
        delta[0] = 1.0 / grid.cell();
        let mut rho = cpu.zeros(&spec.shape, crate::field::Elem::Real)?;
        cpu.upload_real(&mut rho, &delta)?;
        let mut u = cpu.zeros(&spec.shape, crate::field::Elem::Real)?;
        poisson.solve(&cpu, &rho, &mut u, &mut [])?;
        let mut table = cpu.download_real(&u)?;
        if physics.boundary == Boundary::Periodic {
            // G(−x) = G(x) holds to round-off after the FFTs: make it exact, so that V_ab = V_ba.
            let n = grid.n;
            let reflect = |flat: usize| -> usize {
                let (mut rest, mut out, mut stride) = (flat, 0, 1);
                for _ in 0..grid.dim {
                    out += (n - rest % n) % n * stride;
                    stride *= n;
                    rest /= n;
                }
                out
            };
            let raw = table.clone();
            for (k, t) in table.iter_mut().enumerate() {
                *t = 0.5 * (raw[k] + raw[reflect(k)]);
            }
        }
        Ok(Self {
            dim: grid.dim,
            n: grid.n,
            points,
            boundary: physics.boundary,
            particles: physics.particles(),
            table,
        })
    }

    /// P = n^d.
    pub fn points(&self) -> usize {
        self.points
    }

    /// V_ab = γ G(x_a − x_b) for flat grid points a, b.
    pub fn kernel(&self, a: usize, b: usize) -> f64 {
        let n = self.n;
        let (mut ra, mut rb) = (a, b);
        let (mut at, mut stride) = (0, 1);
        for _ in 0..self.dim {
            let (i, j) = (ra % n, rb % n);
            let m = match self.boundary {
                Boundary::Periodic => (i + n - j) % n,
                Boundary::Isolated => i.abs_diff(j),
            };
            at += m * stride;
            stride *= n;
            ra /= n;
            rb /= n;
        }
        self.table[at]
    }

    fn check(&self, a: &[Complex64]) -> Result<()> {
        let p = self.points;
        if a.len() != p * p {
            bail!(
                "exchange: {} entries for an operator on {p} points",
                a.len()
            );
        }
        Ok(())
    }

    /// M_ab = V_ab A_ab / N (the matrix of X on coefficient vectors), built from the Hermitian
    /// part of A so that M is exactly Hermitian; row-major P × P.
    pub fn matrix(&self, a: &[Complex64]) -> Result<Vec<Complex64>> {
        self.check(a)?;
        let p = self.points;
        let inv_n = 1.0 / self.particles;
        let mut out = vec![Complex64::new(0.0, 0.0); p * p];
        out.par_chunks_mut(p).enumerate().for_each(|(i, row)| {
            for (j, z) in row.iter_mut().enumerate() {
                // The Hermitian part of A, computed from the upper triangle so that entry
                // (j, i) is exactly the conjugate of (i, j) and the diagonal is real.
                let (r, c) = (i.min(j), i.max(j));
                let upper = 0.5 * (a[r * p + c] + a[c * p + r].conj());
                let herm = match i.cmp(&j) {
                    std::cmp::Ordering::Less => upper,
                    std::cmp::Ordering::Equal => Complex64::new(upper.re, 0.0),
                    std::cmp::Ordering::Greater => upper.conj(),
                };
                *z = self.kernel(i, j) * inv_n * herm;
            }
        });
        Ok(out)
    }

    /// The Hartree potential U_a = Σ_b V_ab ρ_b h^d = Σ_b V_ab Re A_bb / N, by the direct sum
    /// over the same kernel as X (equal to the Poisson module's U to round-off).
    pub fn hartree_potential(&self, a: &[Complex64]) -> Result<Vec<f64>> {
        self.check(a)?;
        let p = self.points;
        let inv_n = 1.0 / self.particles;
        Ok((0..p)
            .into_par_iter()
            .map(|i| {
                (0..p)
                    .map(|j| self.kernel(i, j) * a[j * p + j].re)
                    .sum::<f64>()
                    * inv_n
            })
            .collect())
    }

    /// The potential part of the Hartree–Fock Hamiltonian on coefficient vectors,
    /// H = diag(U + V_ext) − M, with U and M from A; row-major P × P, exactly Hermitian.
    pub fn hamiltonian(&self, a: &[Complex64], external: &[f64]) -> Result<Vec<Complex64>> {
        let p = self.points;
        if external.len() != p {
            bail!(
                "exchange: an external potential of {} values on {p} points",
                external.len()
            );
        }
        let u = self.hartree_potential(a)?;
        let mut h = self.matrix(a)?;
        h.par_iter_mut().for_each(|z| *z = -*z);
        for i in 0..p {
            h[i * p + i] += u[i] + external[i];
        }
        Ok(h)
    }

    /// The exchange energy per particle −½ tr(Xω)/N = −½ Σ_ab M_ab A_ba / N.
    pub fn energy(&self, a: &[Complex64]) -> Result<f64> {
        let m = self.matrix(a)?;
        let p = self.points;
        let tr: f64 = (0..p * p)
            .into_par_iter()
            .map(|k| (m[k] * a[(k % p) * p + k / p]).re)
            .sum();
        Ok(-0.5 * tr / self.particles)
    }

    /// The potential sub-step iε∂tA = [H(A), A] over a time τ (`scale` = τ/ε), in f64 on the
    /// host (`a` row-major P × P, Hermitised on output; `external` = V_ext on the points).
    ///
    /// Unlike the Hartree-only step, H(A) = diag(U + V_ext) − M changes during the sub-step
    /// (ρ and the coherences move), so freezing it at the start would make the Strang step
    /// first order. Here it is a predictor–corrector: A* = e^(−iτH(A)/ε) A e^(+iτH(A)/ε), then
    /// A ← e^(−iτH̄/ε) A e^(+iτH̄/ε) with H̄ = ½(H(A) + H(A*)) (the trapezoidal Magnus
    /// exponent, local error O(τ³)). The result is still one unitary conjugation of A: trace,
    /// Hermiticity and spectrum are kept exactly. For a single orbital without V_ext,
    /// H(A)ψ = 0 and A* = A.
    pub fn step_host(&self, a: &mut [Complex64], external: &[f64], scale: f64) -> Result<()> {
        let h0 = self.hamiltonian(a, external)?;
        let mut predicted = a.to_vec();
        self.conjugate(&mut predicted, &h0, scale)?;
        let mut h = self.hamiltonian(&predicted, external)?;
        drop(predicted);
        h.par_iter_mut()
            .zip(&h0)
            .for_each(|(z, z0)| *z = 0.5 * (*z + z0));
        self.conjugate(a, &h, scale)
    }

    /// A ← e^(−i·scale·H) A e^(+i·scale·H) for an exactly Hermitian H, by H = QΛQ†:
    /// B = Q†AQ, B_ij ← e^(−i·scale·(λ_i − λ_j)) B_ij, A = QBQ†, Hermitised.
    pub fn conjugate(&self, a: &mut [Complex64], h: &[Complex64], scale: f64) -> Result<()> {
        self.check(a)?;
        let p = self.points;
        let (lambda, q) = super::spectrum::hermitian_eigen_mat(p, h)?;
        let am = MatRef::from_row_major_slice(a, p, p);
        let mut b = q.adjoint() * (am * &q);
        for j in 0..p {
            for i in 0..p {
                b[(i, j)] *= Complex64::from_polar(1.0, -scale * (lambda[i] - lambda[j]));
            }
        }
        let out = &q * (&b * q.adjoint());
        for i in 0..p {
            a[i * p + i] = Complex64::new(out[(i, i)].re, 0.0);
            for j in i + 1..p {
                let z = 0.5 * (out[(i, j)] + out[(j, i)].conj());
                a[i * p + j] = z;
                a[j * p + i] = z.conj();
            }
        }
        Ok(())
    }

    /// The potential step with exchange on either backend: downloads A and V_ext, runs
    /// `step_host` with scale τ/ε, uploads A (host-bound: two P × P transfers, two
    /// eigendecompositions and eight P × P products per step).
    pub fn potential_step<B: Backend>(
        &self,
        backend: &B,
        a: &mut B::Field,
        external: &B::Field,
        scale: f64,
    ) -> Result<()> {
        let mut host = backend.download_complex(a)?;
        let v = backend.download_real(external)?;
        self.step_host(&mut host, &v, scale)?;
        backend.upload_complex(a, &host)
    }
}
