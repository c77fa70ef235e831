//! Work on every line along one axis of a row-major array, in parallel: the loop of the CPU
//! FFT (the line shifts go by rows instead, `advect::shift_strided`).

use rayon::prelude::*;

use crate::field::strides_of;

/// Lines of a strided axis handled together: copied into one contiguous buffer, worked on,
/// copied back. Keeps each gather a run of `COLUMN_BATCH` neighbouring elements.
const COLUMN_BATCH: usize = 16;

/// Raw pointer that rayon tasks may share; each task touches a disjoint set of elements.
#[derive(Clone, Copy)]
pub(crate) struct SharedMut<T>(pub(crate) *mut T);
unsafe impl<T> Send for SharedMut<T> {}
unsafe impl<T> Sync for SharedMut<T> {}

/// Calls `op(state, lines, origins)` on batches of lines along `axis`: `lines` holds
/// `origins.len()` whole lines back to back (line c at c·n..(c+1)·n), `origins[c]` is the flat
/// index of element 0 of line c, and what `op` leaves in `lines` is written back. `init` makes
/// one state per worker (scratch buffers).
pub fn for_each_line<T, S, I, F>(data: &mut [T], shape: &[usize], axis: usize, init: I, op: F)
where
    T: Copy + Default + Send + Sync,
    I: Fn() -> S + Send + Sync,
    F: Fn(&mut S, &mut [T], &[usize]) + Send + Sync,
{
    let n = shape[axis];
    let stride = strides_of(shape)[axis];
    if stride == 1 {
        data.par_chunks_mut(n * COLUMN_BATCH)
            .enumerate()
            .for_each_init(
                || (init(), Vec::new()),
                |(state, origins), (b, block)| {
                    origins.clear();
                    let first = b * n * COLUMN_BATCH;
                    origins.extend((0..block.len() / n).map(|c| first + c * n));
                    op(state, block, origins);
                },
            );
        return;
    }
    // Lines are indexed by (outer o, inner i): element j at o·n·stride + j·stride + i.
    let outer = data.len() / (n * stride);
    let batches_per_outer = stride.div_ceil(COLUMN_BATCH);
    let ptr = SharedMut(data.as_mut_ptr());
    (0..outer * batches_per_outer)
        .into_par_iter()
        .for_each_init(
            || (init(), vec![T::default(); n * COLUMN_BATCH], Vec::new()),
            |(state, buf, origins), task| {
                // Capture the whole wrapper (which is Send), not its raw-pointer field.
                #[allow(clippy::redundant_locals)]
                let ptr = ptr;
                let o = task / batches_per_outer;
                let i0 = (task % batches_per_outer) * COLUMN_BATCH;
                let width = COLUMN_BATCH.min(stride - i0);
                let base = o * n * stride + i0;
                origins.clear();
                origins.extend((0..width).map(|c| base + c));
                // SAFETY: the task owns columns i0..i0+width of outer block o, which no other
                // task reads or writes; all indices are below data.len().
                unsafe {
                    for j in 0..n {
                        for c in 0..width {
                            buf[c * n + j] = *ptr.0.add(base + j * stride + c);
                        }
                    }
                    op(state, &mut buf[..width * n], origins);
                    for j in 0..n {
                        for c in 0..width {
                            *ptr.0.add(base + j * stride + c) = buf[c * n + j];
                        }
                    }
                }
            },
        );
}
