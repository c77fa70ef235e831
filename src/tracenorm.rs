//! The trace norm tr|A| of a Hermitian matrix on any backend, for matrices too large for the
//! dense f64 eigensolver of `hartree::spectrum` (docs/design.md section 3): Newton–Schulz iteration
//! for the matrix sign, tr|A| = Re tr(A sign A), built from complex matrix products.
//!
//! A matrix is a complex field of shape [P, P], or an operator [n; d] ++ [n; d] read as
//! P × P with P = n^d, row-major (row index first), as everywhere in the crate.
//!
//! # The iteration and its error
//!
//! With α ≥ ‖A‖₂ and X₀ = A/α, X_(k+1) = ½ X_k (3 − X_k²) acts on each eigenvalue μ = λ/α of X₀
//! by g(x) = (3x − x³)/2: |x| grows by about 3/2 per step while it is small, then converges
//! quadratically to sign(λ). Every X_k is a real odd polynomial in A, hence Hermitian and
//! commuting with A, and 0 ≤ x_k(μ)·sign(μ) ≤ 1, so
//!
//!   tr|A| − Re tr(A X_k) = Σ_j |λ_j| (1 − |x_k(λ_j/α)|) ∈ [0, Σ_j |λ_j|]:
//!
//! the estimate never exceeds tr|A| (up to round-off), and what it misses comes from the
//! eigenvalues that have not yet left the linear phase, about |λ| ≲ α (2/3)^k; their share is
//! at most Σ_(|λ| small) |λ|. Exact zeros stay 0 and cost nothing.
//!
//! The stopping rule watches what is wanted, the estimate t_k = Re tr(A X_k) (a Frobenius
//! inner product ⟨A, X_k⟩, O(P²)): it stops when the increment |t_k − t_(k−1)| is at most
//! tol·|t_k| and no larger than the increment before it, on two steps in a row, or after
//! `max_iter` steps. (The step ‖X_(k+1) − X_k‖_F is reported too but is no stopping rule:
//! eigenvalues at the round-off level of A — every low-rank matrix has P − rank of them — take
//! about log_(3/2)(1/u) ≈ 90 steps in f64 to reach ±1 and keep ‖ΔX‖_F large although they add
//! nothing to tr|A|.) The increment of t is half the weighted motion Σ |λ| |x| (1 − x²) of the
//! eigenvalues in transit. An eigenvalue in the linear phase adds |λ||x|/2, which grows by 3/2
//! per step while it misses |λ|(1 − |x|) ≫ that: a small but growing increment is the sign of
//! such a group, so the rule waits until the increments shrink, which they do once the group
//! is past |x| = 1/√3, where what it still misses is about its increment. (A random spectrum
//! with min |λ|/α = 7.6·10⁻⁴ stopped 1.6·10⁻⁵ short on f32 when the rule looked at the size of
//! the increment alone.) What the rule can still miss is a group deep in the linear phase
//! whose growing increment hides under the shrinking increment of the others, W·|x| ≲ tol·t
//! for its |λ|-weight W, which the quadratic phase of the others makes short-lived.
//!
//! Round-off: an anti-Hermitian part is not harmless here. An imaginary eigenvalue iy of X₀
//! maps to iy(3 + y²)/2 and grows without bound, and the matrix D = A − Ã of two states that
//! agree to round-off (the comparison at t = 0) is as far from Hermitian as it is large: the
//! plain iteration diverged there in 14 steps. So X₀ and every iterate are Hermitised
//! (`MatMul::hermitise`, O(P²) against the O(P³) products): the iteration computes sign(H) of
//! H = (A + A†)/2, and Re tr(A X) = tr(H X) for Hermitian X, the trace norm of the Hermitian
//! part, which is what the exact path computes from a Hermitised download.
//!
//! α is ‖A⁴‖_F^(1/4) (computed after normalising A by its Frobenius norm, so nothing
//! overflows): a rigorous bound ‖A‖₂ ≤ α ≤ rank^(1/4) ‖A‖₂, much tighter than ‖A‖_F ≤
//! rank^(1/2) ‖A‖₂, and the square A²/α² it costs is X₀², the first product the iteration needs.

use anyhow::{bail, Result};
use num_complex::Complex64;

use crate::backend::{Backend, FieldInfo};
use crate::field::Elem;
use crate::hartree::spectrum;
use crate::kernels::{hermitise, matrix_rows, MatMul};

/// Which path produced a trace norm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TraceNormMethod {
    /// Σ|λ| from the dense Hermitian eigenvalues (f64, host).
    Exact,
    /// Newton–Schulz iteration for sign(A) on the backend.
    NewtonSchulz,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TraceNormResult {
    /// tr|A|.
    pub value: f64,
    pub method: TraceNormMethod,
    /// Newton–Schulz steps taken (0 for the exact path).
    pub iterations: usize,
    /// |t_k − t_(k−1)| / |t_k| at the last step, t_k = Re tr(A X_k) (0 for the exact path).
    pub residual: f64,
    /// ‖X_k − X_(k−1)‖_F / ‖X_k‖_F at the last step (0 for the exact path).
    pub step: f64,
    /// The tolerance the iteration stopped on: the one asked for, raised to the round-off
    /// floor (0 for the exact path).
    pub tolerance: f64,
    /// Whether the residual reached that tolerance (false: stopped at `max_iter`).
    pub converged: bool,
    /// α, the bound on ‖A‖₂ that X₀ = A/α used (0 for the exact path).
    pub spectral_bound: f64,
}

/// The smallest relative change of the trace estimate that the iteration can resolve on a
/// backend whose reals have `real_bytes` bytes: 32 u, u the unit round-off.
pub fn roundoff_floor(real_bytes: usize) -> f64 {
    let u = if real_bytes <= 4 {
        f32::EPSILON as f64 / 2.0
    } else {
        f64::EPSILON / 2.0
    };
    32.0 * u
}

/// The three work matrices of the Newton–Schulz iteration, of the shape of the matrix whose sign
/// is sought. After `newton_schulz_sign`, `x` holds the sign estimate X_k (Hermitian, commuting
/// with A) and `y`, `z` are free scratch, so a caller can form A·X_k = |A| (approximately) without
/// a fourth matrix.
pub struct SignWork<B: Backend> {
    pub x: B::Field,
    pub y: B::Field,
    pub z: B::Field,
}

impl<B: Backend> SignWork<B> {
    pub fn new(backend: &B, shape: &[usize]) -> Result<Self> {
        Ok(Self {
            x: backend.zeros(shape, Elem::Complex)?,
            y: backend.zeros(shape, Elem::Complex)?,
            z: backend.zeros(shape, Elem::Complex)?,
        })
    }
}

/// The default relative tolerance of the iteration on a backend whose reals have `real_bytes`
/// bytes: 1e-6 for f32, 1e-12 for f64 (raised to `roundoff_floor` where that is larger).
pub fn default_tolerance(real_bytes: usize) -> f64 {
    if real_bytes <= 4 {
        1e-6
    } else {
        1e-12
    }
}

/// tr|A| for a Hermitian A by Newton–Schulz iteration for sign(A) (module doc: the error
/// and the stopping rule). `tol` is relative to the estimate; 1e-6 suits the f32 GPU, 1e-13
/// the f64 CPU. A should be Hermitian up to round-off: the iteration works on its Hermitian
/// part (module doc), without checking how far A is from it (the exact path checks).
///
/// Memory: three work matrices of A's shape besides A. Products per step: two.
pub fn trace_norm_newton_schulz<B: MatMul>(
    backend: &B,
    a: &B::Field,
    tol: f64,
    max_iter: usize,
) -> Result<TraceNormResult> {
    matrix_rows(a)?;
    let mut work = SignWork::new(backend, a.shape())?;
    newton_schulz_sign(backend, a, tol, max_iter, &mut work)
}

/// `trace_norm_newton_schulz` with the caller's work matrices: on return `work.x` holds the
/// last iterate X_k ≈ sign(A) (0 for A = 0), whose use the trace estimate Re tr(A X_k) is.
pub fn newton_schulz_sign<B: MatMul>(
    backend: &B,
    a: &B::Field,
    tol: f64,
    max_iter: usize,
    work: &mut SignWork<B>,
) -> Result<TraceNormResult> {
    matrix_rows(a)?;
    if tol.is_nan() || tol <= 0.0 {
        bail!("Newton–Schulz tolerance {tol} must be positive");
    }
    for f in [&work.x, &work.y, &work.z] {
        if f.shape() != a.shape() || f.elem() != Elem::Complex {
            bail!(
                "Newton–Schulz work matrix of shape {:?} for a matrix of shape {:?}",
                f.shape(),
                a.shape()
            );
        }
    }
    let tolerance = tol.max(roundoff_floor(backend.real_bytes()));
    let one = Complex64::new(1.0, 0.0);
    let zero = Complex64::new(0.0, 0.0);
    let SignWork { x, y, z } = work;

    let frobenius = backend.reduce(a)?.sum_sq.sqrt();
    if !frobenius.is_finite() {
        bail!("the matrix has a non-finite entry (‖A‖_F = {frobenius})");
    }
    let mut result = TraceNormResult {
        value: 0.0,
        method: TraceNormMethod::NewtonSchulz,
        iterations: 0,
        residual: 0.0,
        step: 0.0,
        tolerance,
        converged: true,
        spectral_bound: 0.0,
    };
    if frobenius == 0.0 {
        backend.fill(x, zero)?;
        return Ok(result);
    }

    // X = A/‖A‖_F, Y = X², Z = X⁴; then α/‖A‖_F = ‖Z‖_F^(1/4) ∈ [‖X‖₂, 1].
    backend.copy(a, x)?;
    backend.hermitise(x)?;
    backend.scale(x, Complex64::new(1.0 / frobenius, 0.0))?;
    backend.matmul(x, x, y, one, zero)?;
    backend.matmul(y, y, z, one, zero)?;
    let s = backend.reduce(z)?.sum_sq.sqrt().sqrt().sqrt();
    if !(s.is_finite() && s > 0.0) {
        bail!("Newton–Schulz: the spectral bound came out as {s} (A underflows in this precision)");
    }
    backend.scale(x, Complex64::new(1.0 / s, 0.0))?;
    backend.scale(y, Complex64::new(1.0 / (s * s), 0.0))?;
    result.spectral_bound = frobenius * s;

    result.value = frobenius * frobenius / result.spectral_bound;

    result.converged = false;
    let mut quiet_steps = 0;
    let mut last_increment = f64::INFINITY;
    for k in 1..=max_iter {
        // Z = X³ − X = −2 (X_(k+1) − X_k); X ← X − Z/2 = (3X − X³)/2.
        backend.matmul(x, y, z, one, zero)?;
        backend.axpy(-one, x, z)?;
        let step = 0.5 * backend.reduce(z)?.sum_sq.sqrt();
        backend.axpy(Complex64::new(-0.5, 0.0), z, x)?;
        backend.hermitise(x)?;
        let norm = backend.reduce(x)?.sum_sq.sqrt();
        let t = backend.frobenius_inner(a, x)?.re;
        if !(step.is_finite() && norm.is_finite() && t.is_finite()) {
            bail!("Newton–Schulz diverged at step {k} (‖ΔX‖_F = {step}, ‖X‖_F = {norm})");
        }
        result.iterations = k;
        result.step = if norm > 0.0 { step / norm } else { 0.0 };
        result.residual = if t != 0.0 {
            (t - result.value).abs() / t.abs()
        } else {
            0.0
        };
        let increment = (t - result.value).abs();
        result.value = t;
        // Quiet: a small change that is not growing. An increment that grows comes from
        // eigenvalues still in the linear phase (it grows by 3/2 per step there), whose missing
        // weight can be many times the increment (module doc).
        let shrinking = increment <= last_increment;
        last_increment = increment;
        quiet_steps = if result.residual <= tolerance && shrinking {
            quiet_steps + 1
        } else {
            0
        };
        if quiet_steps >= 2 {
            result.converged = true;
            break;
        }
        if k < max_iter {
            backend.matmul(x, x, y, one, zero)?;
        }
    }
    Ok(result)
}

/// Matrices up to this many rows take the exact path in `trace_norm_auto` by default (a 4096
/// × 4096 dense Hermitian eigenvalue problem takes seconds to tens of seconds on the host).
pub const AUTO_EXACT_ROWS: usize = 4096;

/// Largest Hermiticity defect max|A − A†|/max|A| that `trace_norm_auto` accepts on the exact
/// path (round-off of f32 GPU data; the matrix is Hermitised before its eigenvalues).
pub const AUTO_HERMITIAN_TOLERANCE: f64 = 1e-5;

/// tr|A|: exact (dense f64 eigenvalues of the downloaded, Hermitised matrix) up to
/// `exact_rows` rows (capped at `spectrum::MAX_ROWS`), Newton–Schulz on the backend above.
pub fn trace_norm_auto<B: MatMul>(
    backend: &B,
    a: &B::Field,
    exact_rows: usize,
    tol: f64,
    max_iter: usize,
) -> Result<TraceNormResult> {
    let p = matrix_rows(a)?;
    if p > exact_rows.min(spectrum::MAX_ROWS) {
        return trace_norm_newton_schulz(backend, a, tol, max_iter);
    }
    let mut data = backend.download_complex(a)?;
    let defect = spectrum::hermiticity_defect(p, &data);
    if defect > AUTO_HERMITIAN_TOLERANCE {
        bail!(
            "the matrix is not Hermitian: max|A − A†| / max|A| = {defect:.3e} \
             (tolerance {AUTO_HERMITIAN_TOLERANCE:.0e})"
        );
    }
    hermitise(p, &mut data);
    Ok(TraceNormResult {
        value: spectrum::trace_norm(p, &data)?,
        method: TraceNormMethod::Exact,
        iterations: 0,
        residual: 0.0,
        step: 0.0,
        tolerance: 0.0,
        converged: true,
        spectral_bound: 0.0,
    })
}
