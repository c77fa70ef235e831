//! The index maps between a density matrix on the position grid and a function on the phase
//! grid (`wigner::Wigner` supplies the transforms and the constants around them), with their
//! operand checks and the per-axis formulas both backends evaluate: `place_sources` and
//! `separation_weight` (shaders/quantize.wgsl computes the same lists; cpu/quantize.rs calls
//! these).
//!
//! The matrix is a complex field of shape [n; d] ++ [n; d] (row index first), the phase field a
//! complex field of shape [2n; d] ++ [2n; d] (position axes first, then momentum axes).

use anyhow::{bail, Result};

use crate::backend::{Backend, FieldInfo};
use crate::field::Elem;

/// Geometry of the index maps: d and n (the phase grid has 2n points per axis).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuantizeGeom {
    pub dim: usize,
    pub n: usize,
}

impl QuantizeGeom {
    pub fn matrix_shape(&self) -> Vec<usize> {
        vec![self.n; 2 * self.dim]
    }
    pub fn phase_shape(&self) -> Vec<usize> {
        vec![2 * self.n; 2 * self.dim]
    }
}

/// The index maps between the matrix and the phase grid. They are array operations;
/// `wigner::Wigner` supplies the transforms and the constants.
pub trait QuantizeKernels: Backend {
    /// Refuses (before anything is allocated) phase grids the kernels cannot index or the
    /// backend cannot transform.
    fn check_quantize(&self, geom: QuantizeGeom) -> Result<()>;

    /// phase[(Q, i)] = scale · Σ w · mhat[(q1, q2)] over the Fourier pairs of `place_sources`
    /// (per axis; the weights multiply, the pairs combine over all axes). `mhat` is complex of
    /// the matrix shape, `phase` complex of the phase shape; every element of `phase` is
    /// written.
    fn wigner_place(
        &self,
        mhat: &Self::Field,
        phase: &mut Self::Field,
        geom: QuantizeGeom,
        scale: f64,
    ) -> Result<()>;

    /// Multiplies every element of the complex phase field by Π_axes `separation_weight(n, r)`
    /// of its momentum-axis indices r (read as separations in FFT order).
    fn separation_window(&self, phase: &mut Self::Field, geom: QuantizeGeom) -> Result<()>;

    /// matrix[(a, b)] = scale · Σ_σ (−1)^(Σ rσ) phase[(jσ, rσ)], per axis jσ = (a + b + σn) mod
    /// 2n and rσ = (a − b + σn) mod 2n, σ ∈ {0, 1}^d. Every element of `matrix` is written.
    fn weyl_gather(
        &self,
        phase: &Self::Field,
        matrix: &mut Self::Field,
        geom: QuantizeGeom,
        scale: f64,
    ) -> Result<()>;
}

/// Checks the operands of the index maps.
pub(crate) fn check_operands(
    matrix: &impl FieldInfo,
    phase: &impl FieldInfo,
    geom: QuantizeGeom,
) -> Result<()> {
    if !(1..=3).contains(&geom.dim) || geom.n < 2 {
        bail!(
            "quantize: d = {}, n = {} (need d in 1..=3, n ≥ 2)",
            geom.dim,
            geom.n
        );
    }
    if matrix.shape() != geom.matrix_shape() || matrix.elem() != Elem::Complex {
        bail!(
            "quantize: the matrix is a {:?} field of shape {:?}, expected complex {:?}",
            matrix.elem(),
            matrix.shape(),
            geom.matrix_shape()
        );
    }
    check_phase(phase, geom)
}

pub(crate) fn check_phase(phase: &impl FieldInfo, geom: QuantizeGeom) -> Result<()> {
    if phase.shape() != geom.phase_shape() || phase.elem() != Elem::Complex {
        bail!(
            "quantize: the phase scratch is a {:?} field of shape {:?}, expected complex {:?}",
            phase.elem(),
            phase.shape(),
            geom.phase_shape()
        );
    }
    Ok(())
}

/// The Fourier pairs of one axis that `wigner_place` puts at X-mode index `qi` and momentum
/// index `ki` (both in [0, 2n)): (q1 mod n, q2 mod n, weight) for every representative
/// Q ≡ qi (mod 2n) in [−n, n] and k = ki − n (or k = n when ki = 0) with Q ≡ k (mod 2),
/// q1 = (k + Q)/2 and q2 = (k − Q)/2 both in [−n/2, n/2]; the weight is ½ for each of q1, q2
/// at ±n/2 (the split Nyquist mode). Returns the count; at most 2 pairs arise. The WGSL kernel
/// computes the same list.
pub fn place_sources(n: usize, qi: usize, ki: usize, out: &mut [(usize, usize, f64); 4]) -> usize {
    let n = n as i64;
    let q0 = if (qi as i64) < n {
        qi as i64
    } else {
        qi as i64 - 2 * n
    };
    let k0 = ki as i64 - n;
    let mut count = 0;
    for qs in 0..2 {
        if qs == 1 && q0 != -n {
            continue;
        }
        let q = q0 + 2 * n * qs;
        for ks in 0..2 {
            if ks == 1 && k0 != -n {
                continue;
            }
            let k = k0 + 2 * n * ks;
            if (q + k).rem_euclid(2) != 0 {
                continue;
            }
            let (q1, q2) = ((k + q) / 2, (k - q) / 2);
            if 2 * q1.abs() > n || 2 * q2.abs() > n {
                continue;
            }
            let mut w = 1.0;
            if 2 * q1.abs() == n {
                w *= 0.5;
            }
            if 2 * q2.abs() == n {
                w *= 0.5;
            }
            out[count] = (q1.rem_euclid(n) as usize, q2.rem_euclid(n) as usize, w);
            count += 1;
        }
    }
    count
}

/// Weight of separation index r (FFT order, r ∈ [0, 2n)) in the Wigner_s window: 1 for
/// |r| < n/2, ½ for |r| = n/2, 0 beyond (minimal-image separations |x − y| ≤ L/2).
pub fn separation_weight(n: usize, r: usize) -> f64 {
    let m = r.min(2 * n - r);
    match (2 * m).cmp(&n) {
        std::cmp::Ordering::Less => 1.0,
        std::cmp::Ordering::Equal => 0.5,
        std::cmp::Ordering::Greater => 0.0,
    }
}
