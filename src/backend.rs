//! The one interface the solvers use. `gpu::GpuBackend` (WGSL kernels through wgpu, f32) and
//! `cpu::CpuBackend` (rustfft and rayon, f64) implement it with the same numerics, so solver code
//! never branches on where it runs.

use anyhow::Result;
use num_complex::Complex64;

use crate::field::Elem;

/// Direction of a discrete Fourier transform. `Forward` is X_k = Σ_j x_j e^(−2πi jk/n),
/// unnormalised; `Inverse` is x_j = (1/n) Σ_k X_k e^(+2πi jk/n), so inverse(forward(x)) = x.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FftDirection {
    Forward,
    Inverse,
}

/// Summary of one pass over an array, accumulated in f64 (CPU) or in compensated f32 partial
/// sums finished in f64 (GPU).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stats {
    /// Number of elements.
    pub count: usize,
    /// Σ z (for a real field the imaginary part is 0).
    pub sum: Complex64,
    /// Σ |z|².
    pub sum_sq: f64,
    /// Smallest and largest component (real and imaginary parts alike).
    pub min: f64,
    pub max: f64,
}

/// Work a backend has recorded and submitted to a device since it was made (all zero on the
/// CPU, which runs each operation when it is called).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RecordCounts {
    /// Command buffers submitted to the queue.
    pub submits: u64,
    /// Compute dispatches recorded.
    pub dispatches: u64,
    /// Buffer-to-buffer copies recorded.
    pub copies: u64,
    /// Bind groups created (the rest came from the cache).
    pub bind_groups_created: u64,
}

impl RecordCounts {
    /// The counts accumulated between `earlier` and `self`.
    pub fn since(&self, earlier: &RecordCounts) -> RecordCounts {
        RecordCounts {
            submits: self.submits - earlier.submits,
            dispatches: self.dispatches - earlier.dispatches,
            copies: self.copies - earlier.copies,
            bind_groups_created: self.bind_groups_created - earlier.bind_groups_created,
        }
    }
}

/// Shape and element kind of a field, whatever backend holds it.
pub trait FieldInfo {
    fn shape(&self) -> &[usize];
    fn elem(&self) -> Elem;
    fn len(&self) -> usize {
        self.shape().iter().product()
    }
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Array storage and the operations on it that every solver needs.
///
/// Host data is f64 (complex as `Complex64`); the GPU stores f32 and converts on the way.
/// Binary operations need fields of the same shape; `mul` also accepts a real `x` with a
/// complex `y`.
pub trait Backend {
    type Field: FieldInfo;

    /// One line saying what this backend runs on.
    fn describe(&self) -> String;

    /// Bytes of one stored real number (4 for the f32 GPU, 8 for the f64 CPU): what the
    /// bandwidth figures count.
    fn real_bytes(&self) -> usize;

    /// A new field of the given shape, filled with zeros.
    fn zeros(&self, shape: &[usize], elem: Elem) -> Result<Self::Field>;
    fn upload_real(&self, field: &mut Self::Field, data: &[f64]) -> Result<()>;
    fn upload_complex(&self, field: &mut Self::Field, data: &[Complex64]) -> Result<()>;
    fn download_real(&self, field: &Self::Field) -> Result<Vec<f64>>;
    fn download_complex(&self, field: &Self::Field) -> Result<Vec<Complex64>>;
    /// Writes `data` into the elements `start..start + data.len()` of a real field: a
    /// streaming upload, so that the whole field never has to exist on the host.
    fn upload_real_range(&self, field: &mut Self::Field, start: usize, data: &[f64]) -> Result<()>;
    /// The elements `range` of a real field (a slice of a large field without its whole
    /// download).
    fn download_real_range(
        &self,
        field: &Self::Field,
        range: std::ops::Range<usize>,
    ) -> Result<Vec<f64>>;

    /// Complex-to-complex FFT in place along each of `axes` (in any order; each axis once).
    fn fft(&self, field: &mut Self::Field, axes: &[usize], dir: FftDirection) -> Result<()>;

    /// Sum, sum of squares, min and max in one pass.
    fn reduce(&self, field: &Self::Field) -> Result<Stats>;

    /// Every element set to `value` (a real field takes `value.re` and needs `value.im == 0`).
    fn fill(&self, field: &mut Self::Field, value: Complex64) -> Result<()>;
    /// y ← a·y.
    fn scale(&self, field: &mut Self::Field, a: Complex64) -> Result<()>;
    /// y ← a·x + y.
    fn axpy(&self, a: Complex64, x: &Self::Field, y: &mut Self::Field) -> Result<()>;
    /// y ← x ⊙ y, element by element.
    fn mul(&self, x: &Self::Field, y: &mut Self::Field) -> Result<()>;
    /// dst ← src, for fields of the same shape. The kinds may differ: a real `src` into a
    /// complex `dst` sets every imaginary part to 0, a complex `src` into a real `dst` keeps the
    /// real parts. Between fields of one kind it is a plain copy.
    fn copy(&self, src: &Self::Field, dst: &mut Self::Field) -> Result<()>;
    /// Copies the leading corner box of shape min(src.shape, dst.shape) (axis by axis) from
    /// `src` into `dst`, leaving the rest of `dst` as it was: the zero-padding and extraction
    /// steps of a free-space convolution. Both fields need the same number of axes and the same
    /// kind.
    fn copy_corner(&self, src: &Self::Field, dst: &mut Self::Field) -> Result<()>;

    /// Waits until all recorded work has finished (a no-op on the CPU).
    fn synchronize(&self) -> Result<()>;

    /// Submits, dispatches, copies and bind groups since the backend was made: the difference
    /// of two readings counts what the work between them recorded.
    fn record_counts(&self) -> RecordCounts {
        RecordCounts::default()
    }
}

/// Checks that a real field receives a real scalar, with an error that says so.
pub(crate) fn check_real_scalar(elem: Elem, value: Complex64, what: &str) -> Result<()> {
    if elem == Elem::Real && value.im != 0.0 {
        anyhow::bail!("{what}: complex scalar {value} for a real field");
    }
    Ok(())
}

/// Checks the shapes and kinds of a binary operation's operands.
pub(crate) fn check_binary(
    x: &impl FieldInfo,
    y: &impl FieldInfo,
    what: &str,
    real_x_allowed: bool,
) -> Result<()> {
    if x.shape() != y.shape() {
        anyhow::bail!("{what}: shapes differ, {:?} and {:?}", x.shape(), y.shape());
    }
    let ok = x.elem() == y.elem() || (real_x_allowed && x.elem() == Elem::Real);
    if !ok {
        anyhow::bail!("{what}: a {:?} x with a {:?} y", x.elem(), y.elem());
    }
    Ok(())
}

/// Checks the axes of an FFT request.
pub(crate) fn check_fft_axes(field: &impl FieldInfo, axes: &[usize]) -> Result<()> {
    if field.elem() != Elem::Complex {
        anyhow::bail!("the FFT needs a complex field");
    }
    let d = field.shape().len();
    for (i, &a) in axes.iter().enumerate() {
        if a >= d {
            anyhow::bail!("FFT axis {a} of a {d}-axis array");
        }
        if axes[..i].contains(&a) {
            anyhow::bail!("FFT axis {a} given twice");
        }
    }
    Ok(())
}

/// Checks the operands of `copy`: the same shape, any kinds.
pub(crate) fn check_copy(src: &impl FieldInfo, dst: &impl FieldInfo) -> Result<()> {
    if src.shape() != dst.shape() {
        anyhow::bail!(
            "copy: shapes differ, {:?} and {:?}",
            src.shape(),
            dst.shape()
        );
    }
    Ok(())
}

/// The contiguous runs of a corner copy (see `Backend::copy_corner`): every run is `run_len`
/// elements long and starts at the flat index `.0` of `src` and `.1` of `dst`. Trailing axes
/// that `src`, `dst` and the corner share are merged into one run.
pub(crate) struct CornerRuns {
    pub run_len: usize,
    pub starts: Vec<(usize, usize)>,
}

/// Checks the operands of `copy_corner` and lists its runs.
pub(crate) fn corner_runs(src: &impl FieldInfo, dst: &impl FieldInfo) -> Result<CornerRuns> {
    let (s, d) = (src.shape(), dst.shape());
    if s.len() != d.len() {
        anyhow::bail!("copy_corner: {} axes into {} axes", s.len(), d.len());
    }
    if src.elem() != dst.elem() {
        anyhow::bail!(
            "copy_corner: a {:?} src with a {:?} dst",
            src.elem(),
            dst.elem()
        );
    }
    let corner: Vec<usize> = s.iter().zip(d).map(|(a, b)| *a.min(b)).collect();
    // Axes after `j` are whole in both arrays, so a run covers axis j and everything after it.
    let mut j = s.len() - 1;
    while j > 0 && s[j] == d[j] {
        j -= 1;
    }
    let run_len: usize = corner[j..].iter().product();
    let s_strides = crate::field::strides_of(s);
    let d_strides = crate::field::strides_of(d);
    let outer: usize = corner[..j].iter().product();
    let starts = (0..outer)
        .map(|mut flat| {
            let (mut a, mut b) = (0, 0);
            for ax in (0..j).rev() {
                let i = flat % corner[ax];
                flat /= corner[ax];
                a += i * s_strides[ax];
                b += i * d_strides[ax];
            }
            (a, b)
        })
        .collect();
    Ok(CornerRuns { run_len, starts })
}

/// Checks that `start..start + len` lies inside a real field; the one check of both
/// backends' range transfers.
pub(crate) fn check_real_range(field: &impl FieldInfo, start: usize, len: usize) -> Result<()> {
    if field.elem() != Elem::Real {
        anyhow::bail!("a range transfer of a complex field (only real fields have them)");
    }
    let total: usize = field.shape().iter().product();
    if start.checked_add(len).is_none_or(|end| end > total) {
        anyhow::bail!(
            "elements {start}..{} of a field of {total}",
            start.saturating_add(len)
        );
    }
    Ok(())
}
