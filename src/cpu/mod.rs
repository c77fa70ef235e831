//! The CPU backend: f64 arrays, rustfft for the transforms, rayon for threads. It is the
//! reference the GPU kernels are tested against and the fallback where no adapter exists.

mod advect;
mod fft;
mod hartree;
mod lines;
mod matmul;
mod quantize;
pub(crate) mod simd;

use std::ops::Range;

use anyhow::{bail, Result};
use num_complex::Complex64;
use rayon::prelude::*;

use crate::backend::{
    check_binary, check_copy, check_fft_axes, check_real_range, check_real_scalar, corner_runs,
    Backend, FftDirection, FieldInfo, Stats,
};
use crate::field::{check_shape, len_of, Elem};

pub use advect::shift_line;
pub use fft::{fft_axes, fft_axis};

/// Storage of a CPU field.
#[derive(Clone, Debug)]
pub enum CpuData {
    Real(Vec<f64>),
    Complex(Vec<Complex64>),
}

#[derive(Clone, Debug)]
pub struct CpuField {
    shape: Vec<usize>,
    pub data: CpuData,
}

impl FieldInfo for CpuField {
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn elem(&self) -> Elem {
        match self.data {
            CpuData::Real(_) => Elem::Real,
            CpuData::Complex(_) => Elem::Complex,
        }
    }
}

pub struct CpuBackend {
    planner: std::sync::Mutex<rustfft::FftPlanner<f64>>,
}

impl Default for CpuBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl CpuBackend {
    pub fn new() -> Self {
        Self {
            planner: std::sync::Mutex::new(rustfft::FftPlanner::new()),
        }
    }
}

/// Items per sequential run of `ordered_reduce`.
pub const REDUCE_RUN: usize = 1 << 12;

/// A parallel reduction over `0..len` in a fixed order: `fold` takes each run of `run`
/// consecutive indices sequentially, and the runs' results are merged left to right. rayon's
/// `sum` and `reduce` split by scheduling, so their last bits change from run to run; this
/// gives the same bits every time, whatever the thread count.
pub fn ordered_reduce<R: Send>(
    len: usize,
    run: usize,
    identity: R,
    fold: impl Fn(Range<usize>) -> R + Sync + Send,
    merge: impl FnMut(R, R) -> R,
) -> R {
    let run = run.max(1);
    let parts: Vec<R> = (0..len.div_ceil(run))
        .into_par_iter()
        .map(|c| fold(c * run..((c + 1) * run).min(len)))
        .collect();
    parts.into_iter().fold(identity, merge)
}

fn check_len(field: &CpuField, n: usize) -> Result<()> {
    if field.len() != n {
        bail!(
            "upload of {n} values into a field of {} elements",
            field.len()
        );
    }
    Ok(())
}

impl Backend for CpuBackend {
    type Field = CpuField;

    fn describe(&self) -> String {
        format!(
            "CPU backend (f64, rustfft, {} rayon threads)",
            rayon::current_num_threads()
        )
    }

    fn real_bytes(&self) -> usize {
        8
    }

    fn zeros(&self, shape: &[usize], elem: Elem) -> Result<CpuField> {
        check_shape(shape)?;
        let n = len_of(shape);
        let data = match elem {
            Elem::Real => CpuData::Real(huge_page_zeros(n)),
            Elem::Complex => CpuData::Complex(huge_page_zeros(n)),
        };
        Ok(CpuField {
            shape: shape.to_vec(),
            data,
        })
    }

    fn upload_real(&self, field: &mut CpuField, data: &[f64]) -> Result<()> {
        check_len(field, data.len())?;
        match &mut field.data {
            CpuData::Real(v) => v.copy_from_slice(data),
            CpuData::Complex(_) => bail!("real upload into a complex field"),
        }
        Ok(())
    }

    fn upload_complex(&self, field: &mut CpuField, data: &[Complex64]) -> Result<()> {
        check_len(field, data.len())?;
        match &mut field.data {
            CpuData::Complex(v) => v.copy_from_slice(data),
            CpuData::Real(_) => bail!("complex upload into a real field"),
        }
        Ok(())
    }

    fn download_real(&self, field: &CpuField) -> Result<Vec<f64>> {
        match &field.data {
            CpuData::Real(v) => Ok(v.clone()),
            CpuData::Complex(_) => bail!("real download of a complex field"),
        }
    }

    fn upload_real_range(&self, field: &mut CpuField, start: usize, data: &[f64]) -> Result<()> {
        check_real_range(field, start, data.len())?;
        if let CpuData::Real(v) = &mut field.data {
            v[start..start + data.len()].copy_from_slice(data);
        }
        Ok(())
    }

    fn download_real_range(&self, field: &CpuField, range: Range<usize>) -> Result<Vec<f64>> {
        check_real_range(field, range.start, range.len())?;
        match &field.data {
            CpuData::Real(v) => Ok(v[range].to_vec()),
            CpuData::Complex(_) => unreachable!("checked: a real field"),
        }
    }

    fn download_complex(&self, field: &CpuField) -> Result<Vec<Complex64>> {
        match &field.data {
            CpuData::Complex(v) => Ok(v.clone()),
            CpuData::Real(_) => bail!("complex download of a real field"),
        }
    }

    fn fft(&self, field: &mut CpuField, axes: &[usize], dir: FftDirection) -> Result<()> {
        check_fft_axes(field, axes)?;
        let CpuData::Complex(data) = &mut field.data else {
            unreachable!("checked above")
        };
        fft_axes(&self.planner, data, &field.shape, axes, dir, true);
        Ok(())
    }

    fn reduce(&self, field: &CpuField) -> Result<Stats> {
        let identity = || Stats {
            count: 0,
            sum: Complex64::new(0.0, 0.0),
            sum_sq: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        };
        let merge = |a: Stats, b: Stats| Stats {
            count: a.count + b.count,
            sum: a.sum + b.sum,
            sum_sq: a.sum_sq + b.sum_sq,
            min: a.min.min(b.min),
            max: a.max.max(b.max),
        };
        let stats = match &field.data {
            CpuData::Real(v) => ordered_reduce(
                v.len(),
                REDUCE_RUN,
                identity(),
                |r| {
                    v[r].iter()
                        .map(|&x| Stats {
                            count: 1,
                            sum: Complex64::new(x, 0.0),
                            sum_sq: x * x,
                            min: x,
                            max: x,
                        })
                        .fold(identity(), merge)
                },
                merge,
            ),
            CpuData::Complex(v) => ordered_reduce(
                v.len(),
                REDUCE_RUN,
                identity(),
                |r| {
                    v[r].iter()
                        .map(|z| Stats {
                            count: 1,
                            sum: *z,
                            sum_sq: z.norm_sqr(),
                            min: z.re.min(z.im),
                            max: z.re.max(z.im),
                        })
                        .fold(identity(), merge)
                },
                merge,
            ),
        };
        Ok(stats)
    }

    fn fill(&self, field: &mut CpuField, value: Complex64) -> Result<()> {
        check_real_scalar(field.elem(), value, "fill")?;
        match &mut field.data {
            CpuData::Real(v) => v.par_iter_mut().for_each(|x| *x = value.re),
            CpuData::Complex(v) => v.par_iter_mut().for_each(|z| *z = value),
        }
        Ok(())
    }

    fn scale(&self, field: &mut CpuField, a: Complex64) -> Result<()> {
        check_real_scalar(field.elem(), a, "scale")?;
        match &mut field.data {
            CpuData::Real(v) => v.par_iter_mut().for_each(|x| *x *= a.re),
            CpuData::Complex(v) => v.par_iter_mut().for_each(|z| *z *= a),
        }
        Ok(())
    }

    fn axpy(&self, a: Complex64, x: &CpuField, y: &mut CpuField) -> Result<()> {
        check_binary(x, y, "axpy", false)?;
        check_real_scalar(y.elem(), a, "axpy")?;
        match (&x.data, &mut y.data) {
            (CpuData::Real(x), CpuData::Real(y)) => y
                .par_iter_mut()
                .zip(x.par_iter())
                .for_each(|(y, x)| *y += a.re * x),
            (CpuData::Complex(x), CpuData::Complex(y)) => y
                .par_iter_mut()
                .zip(x.par_iter())
                .for_each(|(y, x)| *y += a * x),
            _ => unreachable!("checked above"),
        }
        Ok(())
    }

    fn mul(&self, x: &CpuField, y: &mut CpuField) -> Result<()> {
        check_binary(x, y, "mul", true)?;
        match (&x.data, &mut y.data) {
            (CpuData::Real(x), CpuData::Real(y)) => y
                .par_iter_mut()
                .zip(x.par_iter())
                .for_each(|(y, x)| *y *= x),
            (CpuData::Real(x), CpuData::Complex(y)) => y
                .par_iter_mut()
                .zip(x.par_iter())
                .for_each(|(y, x)| *y *= x),
            (CpuData::Complex(x), CpuData::Complex(y)) => y
                .par_iter_mut()
                .zip(x.par_iter())
                .for_each(|(y, x)| *y *= x),
            _ => unreachable!("checked above"),
        }
        Ok(())
    }

    fn copy(&self, src: &CpuField, dst: &mut CpuField) -> Result<()> {
        check_copy(src, dst)?;
        match (&src.data, &mut dst.data) {
            (CpuData::Real(s), CpuData::Real(d)) => {
                d.par_iter_mut().zip(s).for_each(|(d, s)| *d = *s)
            }
            (CpuData::Complex(s), CpuData::Complex(d)) => {
                d.par_iter_mut().zip(s).for_each(|(d, s)| *d = *s)
            }
            (CpuData::Real(s), CpuData::Complex(d)) => d
                .par_iter_mut()
                .zip(s)
                .for_each(|(d, s)| *d = Complex64::new(*s, 0.0)),
            (CpuData::Complex(s), CpuData::Real(d)) => {
                d.par_iter_mut().zip(s).for_each(|(d, s)| *d = s.re)
            }
        }
        Ok(())
    }

    fn copy_corner(&self, src: &CpuField, dst: &mut CpuField) -> Result<()> {
        let runs = corner_runs(src, dst)?;
        let n = runs.run_len;
        match (&src.data, &mut dst.data) {
            (CpuData::Real(s), CpuData::Real(d)) => {
                for &(a, b) in &runs.starts {
                    d[b..b + n].copy_from_slice(&s[a..a + n]);
                }
            }
            (CpuData::Complex(s), CpuData::Complex(d)) => {
                for &(a, b) in &runs.starts {
                    d[b..b + n].copy_from_slice(&s[a..a + n]);
                }
            }
            _ => unreachable!("checked above"),
        }
        Ok(())
    }

    fn synchronize(&self) -> Result<()> {
        Ok(())
    }
}

/// A zeroed vector of n elements, on 2 MiB pages where the OS gives them on request (Linux with
/// transparent huge pages in `madvise` mode, a common default). The fused drift pass gathers
/// rows of a few cache lines at strides of the whole momentum block: on 4 KiB pages each row
/// costs a TLB miss and the gather runs at a fraction of copy speed.
fn huge_page_zeros<T: Copy + Default>(n: usize) -> Vec<T> {
    let v = vec![T::default(); n];
    #[cfg(target_os = "linux")]
    {
        // Fields at least this large are asked to live on huge pages.
        const HUGE_PAGE_MIN_BYTES: usize = 8 << 20;
        let bytes = std::mem::size_of_val(v.as_slice());
        if bytes >= HUGE_PAGE_MIN_BYTES {
            // The allocation is fresh and untouched (calloc maps zero pages lazily), so the
            // advice applies at the first write. Only whole 2 MiB pages inside it are advised.
            const HUGE: usize = 2 << 20;
            let start = (v.as_ptr() as usize).next_multiple_of(HUGE);
            let end = (v.as_ptr() as usize + bytes) / HUGE * HUGE;
            if end > start {
                // SAFETY: the range lies inside this allocation; the advice changes no contents.
                // A refusal (no THP in this kernel) only leaves the default pages.
                unsafe {
                    libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
                }
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reductions give the same bits on 1, 2 and 3 threads (rayon's own `sum` does not:
    /// its split follows the scheduling).
    #[test]
    fn reductions_do_not_depend_on_the_thread_count() {
        let n = 300_001;
        // Terms of mixed signs and magnitudes, so that the order of summation shows.
        let data: Vec<f64> = (0..n)
            .map(|i| ((i as f64 * 0.7548776662).fract() - 0.5) * 10f64.powi((i % 13) as i32 - 6))
            .collect();
        let cpu = CpuBackend::new();
        let mut field = cpu.zeros(&[n], Elem::Real).unwrap();
        cpu.upload_real(&mut field, &data).unwrap();
        let on = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    let s = cpu.reduce(&field).unwrap();
                    (s.sum.re.to_bits(), s.sum_sq.to_bits())
                })
        };
        let one = on(1);
        assert_eq!(on(2), one);
        assert_eq!(on(3), one);
    }
}
