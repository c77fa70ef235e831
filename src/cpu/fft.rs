//! Batched FFT along one axis of a row-major complex array, with rustfft.

use num_complex::Complex64;
use rayon::prelude::*;
use rustfft::Fft;

use crate::field::strides_of;

/// Lines of a strided axis handled together: copied into one contiguous buffer, transformed,
/// copied back. Keeps each gather a run of `COLUMN_BATCH` neighbouring elements.
const COLUMN_BATCH: usize = 16;

/// Raw pointer that rayon tasks may share; each task touches a disjoint set of elements.
#[derive(Clone, Copy)]
struct SharedMut(*mut Complex64);
unsafe impl Send for SharedMut {}
unsafe impl Sync for SharedMut {}

/// Transforms every line along `axis` in place (unnormalised; rustfft's convention).
pub fn fft_axis(data: &mut [Complex64], shape: &[usize], axis: usize, fft: &dyn Fft<f64>) {
    let n = shape[axis];
    if n == 1 {
        return;
    }
    let stride = strides_of(shape)[axis];
    if stride == 1 {
        data.par_chunks_mut(n).for_each_init(
            || vec![Complex64::default(); fft.get_inplace_scratch_len()],
            |scratch, line| fft.process_with_scratch(line, scratch),
        );
        return;
    }
    // Lines are indexed by (outer o, inner i): element j at o*n*stride + j*stride + i.
    let outer = data.len() / (n * stride);
    let batches_per_outer = stride.div_ceil(COLUMN_BATCH);
    let ptr = SharedMut(data.as_mut_ptr());
    (0..outer * batches_per_outer)
        .into_par_iter()
        .for_each_init(
            || {
                (
                    vec![Complex64::default(); n * COLUMN_BATCH],
                    vec![Complex64::default(); fft.get_inplace_scratch_len()],
                )
            },
            |(buf, scratch), task| {
                // Capture the whole wrapper (which is Send), not its raw-pointer field.
                #[allow(clippy::redundant_locals)]
                let ptr = ptr;
                let o = task / batches_per_outer;
                let i0 = (task % batches_per_outer) * COLUMN_BATCH;
                let width = COLUMN_BATCH.min(stride - i0);
                let base = o * n * stride + i0;
                // SAFETY: the task owns columns i0..i0+width of outer block o, which no other
                // task reads or writes; all indices are below data.len().
                unsafe {
                    for j in 0..n {
                        for c in 0..width {
                            buf[c * n + j] = *ptr.0.add(base + j * stride + c);
                        }
                    }
                    fft.process_with_scratch(&mut buf[..width * n], scratch);
                    for j in 0..n {
                        for c in 0..width {
                            *ptr.0.add(base + j * stride + c) = buf[c * n + j];
                        }
                    }
                }
            },
        );
}
