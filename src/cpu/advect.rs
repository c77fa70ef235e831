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

/// Shifts one line (see `LineShift`) in place. `ext` is scratch for the line with its halo
/// (periodic images or zeros) so that the inner loop is a plain dot product; `w` holds the
/// weights.
pub fn shift_line(
    line: &mut [f64],
    s: f64,
    degree: usize,
    boundary: LineBoundary,
    ext: &mut Vec<f64>,
    w: &mut [f64],
) {
    let n = line.len() as i64;
    let (k, alpha) = split_shift(s);
    lagrange_weights(degree, alpha, w);
    let lo = (degree as i64 - 1) / 2;
    // Output j reads old points j − k − lo + m, m = 0..=degree: the window
    // [−k − lo, n − 1 − k − lo + degree], held in ext with offset `first`.
    let first = -k - lo;
    let len = n + degree as i64;
    ext.clear();
    ext.extend((first..first + len).map(|i| match boundary {
        LineBoundary::Periodic => line[i.rem_euclid(n) as usize],
        LineBoundary::Zero if (0..n).contains(&i) => line[i as usize],
        LineBoundary::Zero => 0.0,
    }));
    let w = &w[..=degree];
    for (j, out) in line.iter_mut().enumerate() {
        let window = &ext[j..j + degree + 1];
        // Increment form, as in advect.wgsl: mass is kept whatever the rounding of the weights.
        let base = window[lo as usize];
        let mut acc = 0.0;
        for (wm, v) in w.iter().zip(window) {
            acc += wm * (v - base);
        }
        *out = base + acc;
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
            || {
                (
                    Vec::with_capacity(n + MAX_DEGREE + 1),
                    [0.0; MAX_DEGREE + 1],
                )
            },
            |(ext, w), lines, origins| {
                for (line, &origin) in lines.chunks_exact_mut(n).zip(origins) {
                    let s = shift.scale * table[(origin / shift.table_div) % table.len()];
                    shift_line(line, s, shift.degree, shift.boundary, ext, w);
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
        // Per momentum block, then merged in order (the same bits on every run).
        let blocks: Vec<PhaseSums> = data
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
            .collect();
        let mut sums = blocks.into_iter().fold(identity(), |a, b| PhaseSums {
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
