//! The solvers' f64 work on host data, outside the backend a run uses: the Poisson solver's
//! free-space multipliers, the exchange step's pair interaction, thermal states, the Weyl
//! initial state, Sobolev norms, the Lanczos sums. Solvers reach it here and never build a
//! backend of their own or import `cpu`; everything here is the CPU backend's code (rustfft,
//! rayon, f64), so host results carry the same bits as the CPU backend's.

use std::sync::{LazyLock, Mutex};

use anyhow::{bail, Result};
use num_complex::Complex64;
use rustfft::FftPlanner;

use crate::backend::{check_fft_axes, FftDirection, FieldInfo};
use crate::cpu::{fft_axes, CpuBackend};
use crate::field::{check_shape, len_of, Elem};
use crate::kernels::{Advection, MatMul, MatrixKernels, QuantizeKernels};

pub use crate::cpu::{ordered_reduce, REDUCE_RUN};

/// A backend for solver code run on host data in f64 (a Poisson solve of a host density, the
/// Weyl map of a host phase-space function): the CPU backend, reached through `Backend` and the
/// kernel traits (which all extend it) only.
pub fn backend() -> impl Advection + MatrixKernels + QuantizeKernels + MatMul {
    CpuBackend::new()
}

/// Plans shared by the host transforms.
static PLANNER: LazyLock<Mutex<FftPlanner<f64>>> = LazyLock::new(|| Mutex::new(FftPlanner::new()));

/// The shape of a complex host array, for the backend's checks.
struct HostArray<'a>(&'a [usize]);

impl FieldInfo for HostArray<'_> {
    fn shape(&self) -> &[usize] {
        self.0
    }
    fn elem(&self) -> Elem {
        Elem::Complex
    }
}

fn transform(
    data: &mut [Complex64],
    shape: &[usize],
    axes: &[usize],
    dir: FftDirection,
    normalise: bool,
) -> Result<()> {
    check_shape(shape)?;
    if data.len() != len_of(shape) {
        bail!(
            "FFT of {} values as an array of shape {shape:?}",
            data.len()
        );
    }
    check_fft_axes(&HostArray(shape), axes)?;
    fft_axes(&PLANNER, data, shape, axes, dir, normalise);
    Ok(())
}

/// The row-major complex array `data` of `shape` transformed in place along each of `axes`,
/// with `Backend::fft`'s conventions (forward unnormalised, the inverse carrying 1/n per axis)
/// and the CPU backend's numerics.
pub fn fft(
    data: &mut [Complex64],
    shape: &[usize],
    axes: &[usize],
    dir: FftDirection,
) -> Result<()> {
    transform(data, shape, axes, dir, true)
}

/// `fft` without the 1/n of the inverse (rustfft's convention): for sums that take the whole
/// scale in one factor.
pub fn fft_unnormalised(
    data: &mut [Complex64],
    shape: &[usize],
    axes: &[usize],
    dir: FftDirection,
) -> Result<()> {
    transform(data, shape, axes, dir, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Backend;

    /// The host transform is the backend's, bit for bit, and checks its operands.
    #[test]
    fn fft_is_the_backends() {
        let shape = [6, 4, 5];
        let data: Vec<Complex64> = (0..len_of(&shape))
            .map(|i| Complex64::new((i as f64 * 0.37).sin(), (i as f64 * 0.91).cos()))
            .collect();
        let b = backend();
        for (axes, dir) in [
            (vec![0, 1, 2], FftDirection::Forward),
            (vec![2, 0], FftDirection::Inverse),
        ] {
            let mut field = b.zeros(&shape, Elem::Complex).unwrap();
            b.upload_complex(&mut field, &data).unwrap();
            b.fft(&mut field, &axes, dir).unwrap();
            let want = b.download_complex(&field).unwrap();
            let mut got = data.clone();
            fft(&mut got, &shape, &axes, dir).unwrap();
            assert!(
                got.iter().zip(&want).all(|(x, y)| x == y),
                "{axes:?} {dir:?}"
            );
        }
        let mut raw = data.clone();
        fft_unnormalised(&mut raw, &shape, &[1], FftDirection::Inverse).unwrap();
        let mut scaled = data.clone();
        fft(&mut scaled, &shape, &[1], FftDirection::Inverse).unwrap();
        let err = raw
            .iter()
            .zip(&scaled)
            .map(|(r, s)| (r / 4.0 - s).norm())
            .fold(0.0, f64::max);
        assert!(err < 1e-15, "{err}");
        let mut short = data[1..].to_vec();
        assert!(fft(&mut short, &shape, &[0], FftDirection::Forward).is_err());
        let mut d = data.clone();
        assert!(fft(&mut d, &shape, &[3], FftDirection::Forward).is_err());
        assert!(fft(&mut d, &shape, &[1, 1], FftDirection::Forward).is_err());
    }
}
