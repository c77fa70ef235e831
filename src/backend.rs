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
    /// dst ← src.
    fn copy(&self, src: &Self::Field, dst: &mut Self::Field) -> Result<()>;

    /// Waits until all recorded work has finished (a no-op on the CPU).
    fn synchronize(&self) -> Result<()>;
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
