//! Poisson's equation −ΔU = κ(ρ − ρ̄) on a periodic box, by our FFT on either backend.
//!
//! The multiplier κ/|k|² (0 for the mean mode, which the neutralising background removes) is
//! built once on the host in f64 and kept on the backend; a solve is forward FFT, one pointwise
//! product, inverse FFT.

use anyhow::{bail, Result};
use num_complex::Complex64;

use crate::backend::{Backend, FftDirection};
use crate::field::{check_shape, len_of, strides_of, Elem};

/// Angular wave number of Fourier index `i` of an axis of `n` points and length `length`
/// (FFT order: 0, 1, …, n/2 − 1, −n/2, …, −1).
pub fn wave_number(i: usize, n: usize, length: f64) -> f64 {
    let m = if i < n.div_ceil(2) {
        i as f64
    } else {
        i as f64 - n as f64
    };
    2.0 * std::f64::consts::PI * m / length
}

pub struct PeriodicPoisson<B: Backend> {
    shape: Vec<usize>,
    axes: Vec<usize>,
    multiplier: B::Field,
    work: B::Field,
}

impl<B: Backend> PeriodicPoisson<B> {
    pub fn new(backend: &B, shape: &[usize], lengths: &[f64], kappa: f64) -> Result<Self> {
        check_shape(shape)?;
        if lengths.len() != shape.len() {
            bail!(
                "{} box lengths for a {}-dimensional grid",
                lengths.len(),
                shape.len()
            );
        }
        if let Some(l) = lengths.iter().find(|l| !(**l > 0.0 && l.is_finite())) {
            bail!("box length {l} is not a positive number");
        }
        let strides = strides_of(shape);
        let multiplier_host: Vec<f64> = (0..len_of(shape))
            .map(|flat| {
                let k2: f64 = (0..shape.len())
                    .map(|a| {
                        let i = flat / strides[a] % shape[a];
                        wave_number(i, shape[a], lengths[a]).powi(2)
                    })
                    .sum();
                if k2 == 0.0 {
                    0.0
                } else {
                    kappa / k2
                }
            })
            .collect();
        let mut multiplier = backend.zeros(shape, Elem::Real)?;
        backend.upload_real(&mut multiplier, &multiplier_host)?;
        Ok(Self {
            shape: shape.to_vec(),
            axes: (0..shape.len()).collect(),
            multiplier,
            work: backend.zeros(shape, Elem::Complex)?,
        })
    }

    /// The potential of the density `rho` (host values on the grid).
    pub fn solve(&mut self, backend: &B, rho: &[f64]) -> Result<Vec<f64>> {
        if rho.len() != len_of(&self.shape) {
            bail!(
                "density of {} values on a grid of {}",
                rho.len(),
                len_of(&self.shape)
            );
        }
        let rho_c: Vec<Complex64> = rho.iter().map(|&r| Complex64::new(r, 0.0)).collect();
        backend.upload_complex(&mut self.work, &rho_c)?;
        self.solve_in_place(backend)?;
        Ok(backend
            .download_complex(&self.work)?
            .into_iter()
            .map(|z| z.re)
            .collect())
    }

    /// Solves for the density already in the work field, leaving U there (for timing without
    /// transfers).
    pub fn solve_in_place(&mut self, backend: &B) -> Result<()> {
        backend.fft(&mut self.work, &self.axes, FftDirection::Forward)?;
        backend.mul(&self.multiplier, &mut self.work)?;
        backend.fft(&mut self.work, &self.axes, FftDirection::Inverse)
    }
}
