//! Batched FFT along the axes of a row-major complex array, with rustfft.

use std::sync::Mutex;

use num_complex::Complex64;
use rayon::prelude::*;
use rustfft::{Fft, FftPlanner};

use super::lines::for_each_line;
use crate::backend::FftDirection;

/// Transforms every line along `axis` in place (unnormalised; rustfft's convention).
pub fn fft_axis(data: &mut [Complex64], shape: &[usize], axis: usize, fft: &dyn Fft<f64>) {
    if shape[axis] == 1 {
        return;
    }
    for_each_line(
        data,
        shape,
        axis,
        || vec![Complex64::default(); fft.get_inplace_scratch_len()],
        // rustfft transforms a buffer of several lines one line after the other.
        |scratch, lines, _| fft.process_with_scratch(lines, scratch),
    );
}

/// Transforms `data` (row-major, of `shape`) in place along each of `axes` in turn, with plans
/// from `planner`: `Backend::fft` on the CPU when `normalise` is set (the inverse then carries
/// 1/n per axis), rustfft's unnormalised transforms otherwise. The caller checks the axes.
pub fn fft_axes(
    planner: &Mutex<FftPlanner<f64>>,
    data: &mut [Complex64],
    shape: &[usize],
    axes: &[usize],
    dir: FftDirection,
    normalise: bool,
) {
    for &axis in axes {
        let plan = {
            let mut planner = planner.lock().expect("FFT planner lock");
            match dir {
                FftDirection::Forward => planner.plan_fft_forward(shape[axis]),
                FftDirection::Inverse => planner.plan_fft_inverse(shape[axis]),
            }
        };
        fft_axis(data, shape, axis, plan.as_ref());
        if normalise && dir == FftDirection::Inverse {
            let s = 1.0 / shape[axis] as f64;
            data.par_iter_mut().for_each(|z| *z *= s);
        }
    }
}
