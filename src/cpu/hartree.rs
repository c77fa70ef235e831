//! `kernels::MatrixKernels` in f64: the reference of shaders/hartree.wgsl.

use anyhow::{bail, Result};
use num_complex::Complex64;
use rayon::prelude::*;

use super::{CpuBackend, CpuData, CpuField};
use crate::kernels::{check_axis_table, check_operator, MatrixKernels};

impl MatrixKernels for CpuBackend {
    fn conjugation_phase(&self, a: &mut CpuField, table: &CpuField, scale: f64) -> Result<()> {
        let points = check_operator(a, table)?;
        let CpuData::Real(t) = &table.data else {
            bail!("expected a real table")
        };
        let CpuData::Complex(data) = &mut a.data else {
            bail!("expected a complex operator")
        };
        data.par_chunks_mut(points)
            .enumerate()
            .for_each(|(row, line)| {
                for (col, z) in line.iter_mut().enumerate() {
                    *z *= Complex64::from_polar(1.0, -scale * (t[row] - t[col]));
                }
            });
        Ok(())
    }

    fn diagonal(&self, a: &CpuField, out: &mut CpuField) -> Result<()> {
        let points = check_operator(a, out)?;
        let CpuData::Complex(data) = &a.data else {
            bail!("expected a complex operator")
        };
        let CpuData::Real(o) = &mut out.data else {
            bail!("expected a real output")
        };
        for (i, v) in o.iter_mut().enumerate() {
            *v = data[i * (points + 1)].re;
        }
        Ok(())
    }

    fn position_commutator(&self, a: &mut CpuField, table: &CpuField, axis: usize) -> Result<()> {
        let ax = check_axis_table(a, table, axis)?;
        let CpuData::Real(s) = &table.data else {
            bail!("expected a real table")
        };
        let CpuData::Complex(data) = &mut a.data else {
            bail!("expected a complex operator")
        };
        let (n, stride) = (ax.n, ax.stride);
        data.par_chunks_mut(ax.points)
            .enumerate()
            .for_each(|(row, line)| {
                let ra = row / stride % n;
                for (col, z) in line.iter_mut().enumerate() {
                    let r = (2 * n + ra - col / stride % n) % (2 * n);
                    *z *= Complex64::new(0.0, s[r]);
                }
            });
        Ok(())
    }
}
