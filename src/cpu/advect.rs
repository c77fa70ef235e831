//! The line shifts and phase-space reductions of `advect::Advection`, in f64: the reference the
//! WGSL kernels are tested against.

use anyhow::{bail, Result};
use rayon::prelude::*;

use super::lines::for_each_line;
use super::{CpuBackend, CpuData, CpuField};
use crate::advect::{
    check_momenta, check_shift, check_sum_inner, lagrange_weights, split_shift, Advection,
    LineBoundary, LineShift, MomentumAxes, PhaseSums, MAX_DEGREE,
};
use crate::backend::FieldInfo;

fn real(f: &CpuField) -> Result<&[f64]> {
    match &f.data {
        CpuData::Real(v) => Ok(v),
        CpuData::Complex(_) => bail!("expected a real field"),
    }
}

fn real_mut(f: &mut CpuField) -> Result<&mut [f64]> {
    match &mut f.data {
        CpuData::Real(v) => Ok(v),
        CpuData::Complex(_) => bail!("expected a real field"),
    }
}

/// Shifts one line (see `LineShift`) from `old` into `new`.
pub fn shift_line(
    old: &[f64],
    new: &mut [f64],
    s: f64,
    degree: usize,
    boundary: LineBoundary,
    w: &mut [f64],
) {
    let n = old.len() as i64;
    let (k, alpha) = split_shift(s);
    lagrange_weights(degree, alpha, w);
    let lo = (degree as i64 - 1) / 2;
    let value = |i: i64| match boundary {
        LineBoundary::Periodic => old[i.rem_euclid(n) as usize],
        LineBoundary::Zero if (0..n).contains(&i) => old[i as usize],
        LineBoundary::Zero => 0.0,
    };
    for (j, out) in new.iter_mut().enumerate() {
        let start = j as i64 - k - lo;
        // Increment form, as in advect.wgsl: mass is kept whatever the rounding of the weights.
        let base = value(start + lo);
        let mut acc = base;
        for (m, wm) in w[..=degree].iter().enumerate() {
            acc += wm * (value(start + m as i64) - base);
        }
        *out = acc;
    }
}

impl Advection for CpuBackend {
    fn shift_lines(&self, f: &mut CpuField, table: &CpuField, shift: &LineShift) -> Result<()> {
        check_shift(f, table, shift)?;
        let table = real(table)?;
        let shape = f.shape().to_vec();
        let n = shape[shift.axis];
        let data = real_mut(f)?;
        for_each_line(
            data,
            &shape,
            shift.axis,
            || (vec![0.0; n], [0.0; MAX_DEGREE + 1]),
            |(old, w), lines, origins| {
                for (line, &origin) in lines.chunks_exact_mut(n).zip(origins) {
                    let s = shift.scale * table[(origin / shift.table_div) % table.len()];
                    old.copy_from_slice(line);
                    shift_line(old, line, s, shift.degree, shift.boundary, w);
                }
            },
        );
        Ok(())
    }

    fn sum_inner(&self, f: &CpuField, out: &mut CpuField, scale: f64) -> Result<()> {
        let inner = check_sum_inner(f, out)?;
        let src = real(f)?;
        real_mut(out)?
            .par_iter_mut()
            .zip(src.par_chunks_exact(inner))
            .for_each(|(o, block)| *o = scale * block.iter().sum::<f64>());
        Ok(())
    }

    fn phase_sums(&self, f: &CpuField, momenta: &MomentumAxes) -> Result<PhaseSums> {
        let d = check_momenta(f, momenta)?;
        let np: usize = momenta.n.iter().product();
        let data = real(f)?;
        let identity = || PhaseSums {
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            ..Default::default()
        };
        let mut sums = data
            .par_chunks(np)
            .map(|block| {
                let mut s = identity();
                for (q, &v) in block.iter().enumerate() {
                    let mut rest = q;
                    let mut p2 = 0.0;
                    for i in (0..d).rev() {
                        let k = rest % momenta.n[i];
                        rest /= momenta.n[i];
                        let p = momenta.p_min[i] + k as f64 * momenta.dp[i];
                        s.momentum[i] += v * p;
                        p2 += p * p;
                    }
                    s.sum += v;
                    s.abs_sum += v.abs();
                    s.sum_sq += v * v;
                    if v > 0.0 {
                        s.f_log_f += v * v.ln();
                    }
                    s.p_sq += v * p2;
                    s.min = s.min.min(v);
                    s.max = s.max.max(v);
                }
                s
            })
            .reduce(identity, |a, b| PhaseSums {
                count: 0,
                sum: a.sum + b.sum,
                abs_sum: a.abs_sum + b.abs_sum,
                sum_sq: a.sum_sq + b.sum_sq,
                f_log_f: a.f_log_f + b.f_log_f,
                momentum: [0, 1, 2].map(|i| a.momentum[i] + b.momentum[i]),
                p_sq: a.p_sq + b.p_sq,
                min: a.min.min(b.min),
                max: a.max.max(b.max),
            });
        sums.count = data.len();
        Ok(sums)
    }
}
