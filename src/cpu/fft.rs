//! Batched FFT along the axes of a row-major complex array, with rustfft.

use std::sync::Mutex;

use num_complex::Complex64;
use rustfft::{Fft, FftPlanner};

use super::lines::for_each_line;
use crate::backend::FftDirection;

/// Transforms every line along `axis` in place (unnormalised; rustfft's convention).
pub fn fft_axis(data: &mut [Complex64], shape: &[usize], axis: usize, fft: &dyn Fft<f64>) {
    if shape[axis] == 1 {
        return;
    }
    fft_axis_scaled(data, shape, axis, fft, None);
}

/// `fft_axis`, then each transformed line times `scale` while it is still in cache (no pass
/// of its own over the array).
fn fft_axis_scaled(
    data: &mut [Complex64],
    shape: &[usize],
    axis: usize,
    fft: &dyn Fft<f64>,
    scale: Option<f64>,
) {
    for_each_line(
        data,
        shape,
        axis,
        || vec![Complex64::default(); fft.get_inplace_scratch_len()],
        // rustfft transforms a buffer of several lines one line after the other.
        |scratch, lines, _| {
            fft.process_with_scratch(lines, scratch);
            if let Some(s) = scale {
                lines.iter_mut().for_each(|z| *z *= s);
            }
        },
    );
}

/// Transforms `data` (row-major, of `shape`) in place along each of `axes` in turn, with plans
/// from `planner`: `Backend::fft` on the CPU when `normalise` is set (the inverse then carries
/// 1/n per axis), rustfft's unnormalised transforms otherwise. The caller checks the axes.
/// The normalisation, 1/(product of the axes' n), is applied in the last axis's pass.
pub fn fft_axes(
    planner: &Mutex<FftPlanner<f64>>,
    data: &mut [Complex64],
    shape: &[usize],
    axes: &[usize],
    dir: FftDirection,
    normalise: bool,
) {
    // Axes of one point are the identity (and 1/1 = 1): no pass over the data for them.
    let axes: Vec<usize> = axes.iter().copied().filter(|&a| shape[a] > 1).collect();
    let scale = (normalise && dir == FftDirection::Inverse)
        .then(|| 1.0 / axes.iter().map(|&a| shape[a] as f64).product::<f64>());
    for (i, &axis) in axes.iter().enumerate() {
        let plan = {
            let mut planner = planner.lock().expect("FFT planner lock");
            match dir {
                FftDirection::Forward => planner.plan_fft_forward(shape[axis]),
                FftDirection::Inverse => planner.plan_fft_inverse(shape[axis]),
            }
        };
        let last = i + 1 == axes.len();
        fft_axis_scaled(data, shape, axis, plan.as_ref(), scale.filter(|_| last));
    }
}
