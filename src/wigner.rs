//! Wigner transform (Wigner_s) and Weyl quantization between a density matrix on the position
//! grid and a real function on the phase grid of docs/design.md section 2, for d = 1, 2, 3, on any
//! backend: the same code path runs on the CPU (f64) and on the GPU (f32), with the index maps
//! in `kernels::QuantizeKernels` (shaders/quantize.wgsl and its CPU twin in cpu/quantize.rs).
//!
//! # Grids
//!
//! The matrix is A_ab = h^d ω(x_a; x_b) on x_a = x_min + a·h, h = L/n, stored with shape
//! [n; d] ++ [n; d], row index first (`hartree::HartreeGrid`). The phase grid has 2n points
//! per position axis and 2n per momentum axis, shape [2n; d] ++ [2n; d]:
//!
//! - position index j: X_j = x_min + j·h/2, j = 0..2n (the midpoints (x_a + x_b)/2, j = a + b);
//! - momentum index i: p = (i − n)·Δp, i = 0..2n, Δp = πε/L, so p runs over [−πε/h, πε/h).
//!
//! This is exactly the layout of `vlasov::PhaseGrid` with nx = 2n, np = 2n, the same length
//! and boundary, and p_max = nΔp = πε/h (x_i = x_min + i·h/2, p_i = −p_max + i·dp, dp = Δp):
//! `PhaseGridSpec::vlasov_grid` gives that configuration, and a test checks the coordinates.
//!
//! # Wigner_s
//!
//! W is normalised to ∫∫W = tr A / N (so a state ω = N|φ⟩⟨φ| has the usual Wigner function of
//! φ, of integral 1). The discrete Wigner function W_d of an n-point operator is four-fold
//! redundant per axis and its copies do not transport like the physical one (docs/design.md
//! section 2); `Wigner::wigner` computes the single copy W_s instead:
//!
//! 1. Â = A transformed forward over the row axes and inversely (normalised) over the column
//!    axes, so that ω(x, y) = (1/(h n))^d Σ Â_(q1,q2) e^(i k1·(x − x_min)) e^(−i k2·(y − x_min)),
//!    k = 2πq/L, with the symmetric representatives q ∈ [−n/2, n/2] and the Nyquist mode
//!    q = n/2 (n even) split half and half between ±n/2: the band-limited interpolant of the
//!    kernel, Hermitian when A is.
//! 2. Each (q1, q2) goes to X-Fourier mode Q = q1 − q2 (mod 2n) and momentum k = q1 + q2
//!    (index k + n, with k = n folded onto −n), scaled by 2/(N h Δp) per axis
//!    (`QuantizeKernels::wigner_place`); an inverse FFT over the Q axes would now give the
//!    torus Wigner function W_s + G W_s, the physical copy plus its X-ghost.
//! 3. FFT over the momentum axes to the separation r (y = r·h, r mod 2n), keep the
//!    minimal-image separations |r| ≤ n/2 with weight ½ at |r| = n/2
//!    (`QuantizeKernels::separation_window`), FFT back, and the inverse FFT over the Q axes:
//!    W_s, real up to round-off.
//!
//! # Weyl
//!
//! Ã_ab = h^d N Δp^d Σ_k Σ_σ (−1)^(σ·k) f(X_j + σL/2, p_k) e^(iπ k·r/n), (j, r) = (a + b, a − b)
//! per axis, σ ∈ {0, 1}^d: an inverse FFT over the momentum axes and one gather
//! (`QuantizeKernels::weyl_gather`). Since the kept separations of W_s and those of its ghost
//! tile Z_2n exactly (the weights ½ at |r| = n/2 add up to 1), Weyl(Wigner_s(A)) = A for every
//! Hermitian A, resolved or not: only round-off separates them.
//!
//! The identities ∫∫W_s = tr A / N and ‖A − B‖_HS = N (2πε)^(d/2) ‖W_s(A) − W_s(B)‖_L2 hold
//! for resolved states (kernel negligible at separation L/2 and at the Nyquist wave number);
//! for random A they are approximate.
//!
//! # Memory
//!
//! `Wigner` holds one complex field of the phase shape (twice the bytes of the real result)
//! and one complex matrix. On the GPU the kernels index with 32-bit integers, so the phase
//! grid may hold at most 2^32 − 1 cells (d = 3: n ≤ 16), and the FFT needs n of the form
//! 2^a·3^b·5^c; `Wigner::new` refuses other grids. Fields split into chunks are supported throughout.

use std::f64::consts::PI;

use anyhow::{bail, Result};
use num_complex::Complex64;

use crate::backend::{Backend, FftDirection, FieldInfo};
use crate::field::Elem;
use crate::hartree::HartreeGrid;
use crate::kernels::{QuantizeGeom, QuantizeKernels};
use crate::poisson::Boundary;
use crate::vlasov::GridConfig;

/// The phase grid of a Hartree position grid with semiclassical parameter ε and N particles.
#[derive(Clone, Debug, PartialEq)]
pub struct PhaseGridSpec {
    /// Space dimension d (1, 2 or 3).
    pub dim: usize,
    /// Points per axis of the position grid (the phase grid has 2n per axis).
    pub n: usize,
    /// Box side L.
    pub length: f64,
    /// Position of grid point 0 (0 for a periodic box, −L/2 for an isolated one).
    pub x_min: f64,
    /// Semiclassical parameter ε.
    pub epsilon: f64,
    /// N = tr A: W is normalised to ∫∫W = tr A / N.
    pub particles: f64,
}

impl PhaseGridSpec {
    pub fn new(grid: &HartreeGrid, epsilon: f64, particles: f64) -> Result<Self> {
        let spec = Self {
            dim: grid.dim,
            n: grid.n,
            length: grid.length,
            x_min: grid.x_min,
            epsilon,
            particles,
        };
        spec.validate()?;
        Ok(spec)
    }

    pub fn validate(&self) -> Result<()> {
        if !(1..=3).contains(&self.dim) {
            bail!("phase grid of dimension {}: 1, 2 or 3", self.dim);
        }
        if self.n < 2 {
            bail!(
                "phase grid from n = {} points per axis: need at least 2",
                self.n
            );
        }
        for (what, v) in [
            ("length", self.length),
            ("epsilon", self.epsilon),
            ("particles", self.particles),
        ] {
            if !(v > 0.0 && v.is_finite()) {
                bail!("phase grid: {what} = {v} must be a positive number");
            }
        }
        if !self.x_min.is_finite() {
            bail!("phase grid: x_min = {} is not finite", self.x_min);
        }
        Ok(())
    }

    /// Position spacing h = L/n of the matrix.
    pub fn h(&self) -> f64 {
        self.length / self.n as f64
    }
    /// Position spacing h/2 of the phase grid.
    pub fn dx(&self) -> f64 {
        self.h() / 2.0
    }
    /// Momentum spacing Δp = πε/L.
    pub fn dp(&self) -> f64 {
        PI * self.epsilon / self.length
    }
    /// Momentum bound nΔp = πε/h: momenta run over [−p_max, p_max).
    pub fn p_max(&self) -> f64 {
        self.n as f64 * self.dp()
    }
    /// [2n; d] ++ [2n; d]: position axes first, then momentum axes.
    pub fn shape(&self) -> Vec<usize> {
        vec![2 * self.n; 2 * self.dim]
    }
    /// [n; d] ++ [n; d], row index first.
    pub fn matrix_shape(&self) -> Vec<usize> {
        vec![self.n; 2 * self.dim]
    }
    /// X_j = x_min + j·h/2.
    pub fn x(&self, j: usize) -> f64 {
        self.x_min + j as f64 * self.dx()
    }
    /// Momentum at index i: (i − n)·Δp.
    pub fn p(&self, i: usize) -> f64 {
        (i as f64 - self.n as f64) * self.dp()
    }
    /// (h/2 · Δp)^d, the weight of one phase cell.
    pub fn cell_volume(&self) -> f64 {
        (self.dx() * self.dp()).powi(self.dim as i32)
    }
    /// The Vlasov grid with exactly this layout (with `vlasov::PhaseGrid::new` and the
    /// boundary that gave `x_min`).
    pub fn vlasov_grid(&self) -> GridConfig {
        GridConfig {
            nx: 2 * self.n,
            np: 2 * self.n,
            length: self.length,
            p_max: self.p_max(),
        }
    }
    /// The boundary that puts grid point 0 at `x_min` (periodic: 0, isolated: −L/2).
    pub fn boundary(&self) -> Boundary {
        if self.x_min == 0.0 {
            Boundary::Periodic
        } else {
            Boundary::Isolated
        }
    }
}

/// Wigner_s and Weyl quantization on one phase grid, with their scratch fields.
pub struct Wigner<B: Backend> {
    spec: PhaseGridSpec,
    geom: QuantizeGeom,
    /// Complex, matrix shape: Â.
    mhat: B::Field,
    /// Complex, phase shape.
    phase: B::Field,
}

impl<B: QuantizeKernels> Wigner<B> {
    pub fn new(backend: &B, spec: &PhaseGridSpec) -> Result<Self> {
        spec.validate()?;
        let geom = QuantizeGeom {
            dim: spec.dim,
            n: spec.n,
        };
        backend.check_quantize(geom)?;
        Ok(Self {
            spec: spec.clone(),
            geom,
            mhat: backend.zeros(&spec.matrix_shape(), Elem::Complex)?,
            phase: backend.zeros(&spec.shape(), Elem::Complex)?,
        })
    }

    pub fn spec(&self) -> &PhaseGridSpec {
        &self.spec
    }

    fn x_axes(&self) -> Vec<usize> {
        (0..self.spec.dim).collect()
    }
    fn p_axes(&self) -> Vec<usize> {
        (self.spec.dim..2 * self.spec.dim).collect()
    }

    /// W_s of the density matrix `a` (complex, shape `spec.matrix_shape()`) into the real field
    /// `w` (shape `spec.shape()`), normalised to ∫∫W = tr A / N. A must be Hermitian: W_s is
    /// then real, and the imaginary part of the last transform (round-off) is dropped.
    pub fn wigner(&mut self, backend: &B, a: &B::Field, w: &mut B::Field) -> Result<()> {
        let s = &self.spec;
        if a.shape() != s.matrix_shape() || a.elem() != Elem::Complex {
            bail!(
                "wigner: A is a {:?} field of shape {:?}, expected complex {:?}",
                a.elem(),
                a.shape(),
                s.matrix_shape()
            );
        }
        check_result(w, s, "wigner: W")?;
        let (xa, pa) = (self.x_axes(), self.p_axes());
        backend.copy(a, &mut self.mhat)?;
        backend.fft(&mut self.mhat, &xa, FftDirection::Forward)?;
        backend.fft(&mut self.mhat, &pa, FftDirection::Inverse)?;
        let d = s.dim as i32;
        let scale = 2f64.powi(d) / (s.particles * (s.h() * s.dp()).powi(d));
        backend.wigner_place(&self.mhat, &mut self.phase, self.geom, scale)?;
        backend.fft(&mut self.phase, &pa, FftDirection::Forward)?;
        backend.separation_window(&mut self.phase, self.geom)?;
        backend.fft(&mut self.phase, &pa, FftDirection::Inverse)?;
        backend.fft(&mut self.phase, &xa, FftDirection::Inverse)?;
        backend.copy(&self.phase, w)
    }

    /// Weyl quantization Ã of the real phase-space function `f` (shape `spec.shape()`) into the
    /// complex matrix `a`: the torus map with the 2^d antipodal shifts. Weyl(Wigner_s(A)) = A.
    pub fn weyl(&mut self, backend: &B, f: &B::Field, a: &mut B::Field) -> Result<()> {
        let s = &self.spec;
        check_result(f, s, "weyl: f")?;
        if a.shape() != s.matrix_shape() || a.elem() != Elem::Complex {
            bail!(
                "weyl: Ã is a {:?} field of shape {:?}, expected complex {:?}",
                a.elem(),
                a.shape(),
                s.matrix_shape()
            );
        }
        let pa = self.p_axes();
        backend.copy(f, &mut self.phase)?;
        backend.fft(&mut self.phase, &pa, FftDirection::Inverse)?;
        let d = s.dim as i32;
        let scale = s.particles * (s.h() * s.dp() * 2.0 * s.n as f64).powi(d);
        backend.weyl_gather(&self.phase, a, self.geom, scale)
    }
}

fn check_result(w: &impl FieldInfo, s: &PhaseGridSpec, what: &str) -> Result<()> {
    if w.shape() != s.shape() || w.elem() != Elem::Real {
        bail!(
            "{what} is a {:?} field of shape {:?}, expected real {:?}",
            w.elem(),
            w.shape(),
            s.shape()
        );
    }
    Ok(())
}

/// The analytic Wigner function of the coherent state φ_(q,p) of docs/design.md section 4, at
/// phase-space point (x, p) in free space: e^(−|x − q|²/δ² − δ²|p − p0|²/ε²) / (πε)^d.
pub fn coherent_wigner(x: &[f64], p: &[f64], q: &[f64], p0: &[f64], delta: f64, eps: f64) -> f64 {
    let d = x.len();
    let mut e = 0.0;
    for i in 0..d {
        e += (x[i] - q[i]).powi(2) / (delta * delta)
            + delta * delta * (p[i] - p0[i]).powi(2) / (eps * eps);
    }
    (-e).exp() / (PI * eps).powi(d as i32)
}

/// The matrix A_ab = h^d ω(x_a; x_b) of ω = N |φ⟩⟨φ| for the coherent state
/// φ_(q,p0)(x) = e^(+i p0·x/ε) e^(−|x−q|²/2δ²) / (πδ²)^(d/4) (docs/design.md section 4: the sign of
/// the phase puts the state at momentum +p0), summed over `images` periodic images per side
/// and axis on the torus. A host array of shape [n; d] ++ [n; d].
pub fn coherent_matrix(
    spec: &PhaseGridSpec,
    q: &[f64],
    p0: &[f64],
    delta: f64,
    images: i64,
) -> Vec<Complex64> {
    let (d, n, h, l) = (spec.dim, spec.n, spec.h(), spec.length);
    // Per axis: the periodised 1D factor at every grid point.
    let factor: Vec<Vec<Complex64>> = (0..d)
        .map(|ax| {
            (0..n)
                .map(|a| {
                    let x = spec.x_min + a as f64 * h;
                    let mut z = Complex64::new(0.0, 0.0);
                    for m in -images..=images {
                        let y = x + m as f64 * l;
                        let g = (-(y - q[ax]).powi(2) / (2.0 * delta * delta)).exp()
                            / (PI * delta * delta).powf(0.25);
                        z += Complex64::from_polar(g, p0[ax] * y / spec.epsilon);
                    }
                    z
                })
                .collect()
        })
        .collect();
    let points = n.pow(d as u32);
    let phi: Vec<Complex64> = (0..points)
        .map(|mut a| {
            let mut z = Complex64::new(1.0, 0.0);
            for ax in (0..d).rev() {
                z *= factor[ax][a % n];
                a /= n;
            }
            z
        })
        .collect();
    let c = spec.particles * h.powi(d as i32);
    let mut out = Vec::with_capacity(points * points);
    for a in 0..points {
        for b in 0..points {
            out.push(c * phi[a] * phi[b].conj());
        }
    }
    out
}
