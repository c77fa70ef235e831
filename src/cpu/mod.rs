//! The CPU backend: f64 arrays, rustfft for the transforms, rayon for threads. It is the
//! reference the GPU kernels are tested against and the fallback where no adapter exists.

mod advect;
mod fft;
mod hartree;
mod lines;
mod matmul;
mod quantize;

use anyhow::{bail, Result};
use num_complex::Complex64;
use rayon::prelude::*;

use crate::backend::{
    check_binary, check_copy, check_fft_axes, check_real_scalar, corner_runs, Backend,
    FftDirection, FieldInfo, Stats,
};
use crate::field::{check_shape, len_of, Elem};

pub use advect::shift_line;
pub use fft::fft_axis;

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
            Elem::Real => CpuData::Real(vec![0.0; n]),
            Elem::Complex => CpuData::Complex(vec![Complex64::new(0.0, 0.0); n]),
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

    fn download_complex(&self, field: &CpuField) -> Result<Vec<Complex64>> {
        match &field.data {
            CpuData::Complex(v) => Ok(v.clone()),
            CpuData::Real(_) => bail!("complex download of a real field"),
        }
    }

    fn fft(&self, field: &mut CpuField, axes: &[usize], dir: FftDirection) -> Result<()> {
        check_fft_axes(field, axes)?;
        let shape = field.shape.clone();
        let CpuData::Complex(data) = &mut field.data else {
            unreachable!("checked above")
        };
        for &axis in axes {
            let plan = {
                let mut planner = self.planner.lock().expect("FFT planner lock");
                match dir {
                    FftDirection::Forward => planner.plan_fft_forward(shape[axis]),
                    FftDirection::Inverse => planner.plan_fft_inverse(shape[axis]),
                }
            };
            fft_axis(data, &shape, axis, plan.as_ref());
            if dir == FftDirection::Inverse {
                let s = 1.0 / shape[axis] as f64;
                data.par_iter_mut().for_each(|z| *z *= s);
            }
        }
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
            CpuData::Real(v) => v
                .par_iter()
                .map(|&x| Stats {
                    count: 1,
                    sum: Complex64::new(x, 0.0),
                    sum_sq: x * x,
                    min: x,
                    max: x,
                })
                .reduce(identity, merge),
            CpuData::Complex(v) => v
                .par_iter()
                .map(|z| Stats {
                    count: 1,
                    sum: *z,
                    sum_sq: z.norm_sqr(),
                    min: z.re.min(z.im),
                    max: z.re.max(z.im),
                })
                .reduce(identity, merge),
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
