//! Batched FFT along one axis of a row-major complex array, with rustfft.

use num_complex::Complex64;
use rustfft::Fft;

use super::lines::for_each_line;

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
