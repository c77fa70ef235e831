//! The index maps of `kernels::QuantizeKernels` in f64: the reference the WGSL kernels of
//! shaders/quantize.wgsl are tested against. Same names, same formulas.

use anyhow::{bail, Result};
use num_complex::Complex64;
use rayon::prelude::*;

use super::{CpuBackend, CpuData, CpuField};
use crate::field::strides_of;
use crate::kernels::{
    check_operands, check_phase, place_sources, separation_weight, QuantizeGeom, QuantizeKernels,
};

fn complex(f: &CpuField) -> Result<&[Complex64]> {
    match &f.data {
        CpuData::Complex(v) => Ok(v),
        CpuData::Real(_) => bail!("expected a complex field"),
    }
}

fn complex_mut(f: &mut CpuField) -> Result<&mut [Complex64]> {
    match &mut f.data {
        CpuData::Complex(v) => Ok(v),
        CpuData::Real(_) => bail!("expected a complex field"),
    }
}

/// Digits of the flat index `g` of a row-major array with `axes` axes of length `m` each.
fn digits(mut g: usize, m: usize, axes: usize) -> [usize; 6] {
    let mut out = [0; 6];
    for a in (0..axes).rev() {
        out[a] = g % m;
        g /= m;
    }
    out
}

impl QuantizeKernels for CpuBackend {
    fn check_quantize(&self, geom: QuantizeGeom) -> Result<()> {
        crate::field::check_shape(&geom.phase_shape())
    }

    fn wigner_place(
        &self,
        mhat: &CpuField,
        phase: &mut CpuField,
        geom: QuantizeGeom,
        scale: f64,
    ) -> Result<()> {
        check_operands(mhat, phase, geom)?;
        let QuantizeGeom { dim: d, n } = geom;
        let src = complex(mhat)?;
        let ms = strides_of(&geom.matrix_shape());
        complex_mut(phase)?
            .par_iter_mut()
            .enumerate()
            .for_each(|(g, out)| {
                let dg = digits(g, 2 * n, 2 * d);
                // Per axis: the pairs as (flat offset in mhat, weight).
                let mut cand = [[(0usize, 0.0f64); 4]; 3];
                let mut count = [1usize; 3];
                let mut pairs = [(0, 0, 0.0); 4];
                for i in 0..d {
                    count[i] = place_sources(n, dg[i], dg[d + i], &mut pairs);
                    for (c, &(q1, q2, w)) in cand[i].iter_mut().zip(&pairs[..count[i]]) {
                        *c = (q1 * ms[i] + q2 * ms[d + i], w);
                    }
                }
                let mut acc = Complex64::new(0.0, 0.0);
                for c0 in 0..count[0] {
                    for c1 in 0..count[1] {
                        for c2 in 0..count[2] {
                            let mut off = cand[0][c0].0;
                            let mut w = cand[0][c0].1;
                            if d > 1 {
                                off += cand[1][c1].0;
                                w *= cand[1][c1].1;
                            }
                            if d > 2 {
                                off += cand[2][c2].0;
                                w *= cand[2][c2].1;
                            }
                            acc += w * src[off];
                        }
                    }
                }
                *out = scale * acc;
            });
        Ok(())
    }

    fn separation_window(&self, phase: &mut CpuField, geom: QuantizeGeom) -> Result<()> {
        check_phase(phase, geom)?;
        let QuantizeGeom { dim: d, n } = geom;
        complex_mut(phase)?
            .par_iter_mut()
            .enumerate()
            .for_each(|(g, z)| {
                let dg = digits(g, 2 * n, 2 * d);
                let w: f64 = (0..d).map(|i| separation_weight(n, dg[d + i])).product();
                *z *= w;
            });
        Ok(())
    }

    fn weyl_gather(
        &self,
        phase: &CpuField,
        matrix: &mut CpuField,
        geom: QuantizeGeom,
        scale: f64,
    ) -> Result<()> {
        check_operands(matrix, phase, geom)?;
        let QuantizeGeom { dim: d, n } = geom;
        let src = complex(phase)?;
        let ps = strides_of(&geom.phase_shape());
        let m = 2 * n;
        complex_mut(matrix)?
            .par_iter_mut()
            .enumerate()
            .for_each(|(g, out)| {
                let dg = digits(g, n, 2 * d);
                let mut acc = Complex64::new(0.0, 0.0);
                for sigma in 0..1usize << d {
                    let mut off = 0;
                    let mut parity = 0;
                    for i in 0..d {
                        let s = ((sigma >> i) & 1) * n;
                        let j = (dg[i] + dg[d + i] + s) % m;
                        let r = (dg[i] + m - dg[d + i] + s) % m;
                        off += j * ps[i] + r * ps[d + i];
                        parity += r;
                    }
                    if parity % 2 == 0 {
                        acc += src[off];
                    } else {
                        acc -= src[off];
                    }
                }
                *out = scale * acc;
            });
        Ok(())
    }
}
