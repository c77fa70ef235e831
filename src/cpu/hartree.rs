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
        // exp(−i·s·(t_a − t_b)) = u_a·conj(u_b) with u_a = exp(−i·s·t_a): P sines and cosines
        // per call, then one product of two stored numbers per entry. The phases agree with the
        // direct formula to round-off in s·t, not bitwise; on the diagonal u_a·conj(u_a) is
        // |u_a|², real and 1 to an ulp.
        let u: Vec<Complex64> = t
            .iter()
            .map(|&ta| Complex64::from_polar(1.0, -scale * ta))
            .collect();
        data.par_chunks_mut(points).zip(&u).for_each(|(line, &ua)| {
            for (z, ub) in line.iter_mut().zip(&u) {
                *z *= ua * ub.conj();
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

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::backend::Backend;
    use crate::field::Elem;

    /// The factorised phase against A_ab·exp(−i·s·(t_a − t_b)) evaluated entry by entry, on
    /// random tables and operators for d = 1 and 2 (n not a power of two among them) and
    /// scales from 1e-3 to |s·t| ≈ 10.
    #[test]
    fn conjugation_phase_matches_the_direct_formula() {
        let cpu = CpuBackend::new();
        let mut rng = ChaCha8Rng::seed_from_u64(0x9e37_79b9);
        for (d, n) in [(1, 64), (1, 37), (2, 8), (2, 6)] {
            let points: usize = (0..d).map(|_| n).product();
            let t: Vec<f64> = (0..points)
                .map(|_| 10.0 * rng.random::<f64>() - 5.0)
                .collect();
            let a: Vec<Complex64> = (0..points * points)
                .map(|_| Complex64::new(rng.random::<f64>() - 0.5, rng.random::<f64>() - 0.5))
                .collect();
            let mut table = cpu.zeros(&vec![n; d], Elem::Real).unwrap();
            cpu.upload_real(&mut table, &t).unwrap();
            for scale in [1e-3, 0.37, 1.0, 2.0] {
                let mut field = cpu.zeros(&vec![n; 2 * d], Elem::Complex).unwrap();
                cpu.upload_complex(&mut field, &a).unwrap();
                cpu.conjugation_phase(&mut field, &table, scale).unwrap();
                let got = cpu.download_complex(&field).unwrap();
                let err = (0..points * points)
                    .map(|k| {
                        let (row, col) = (k / points, k % points);
                        let want = a[k] * Complex64::from_polar(1.0, -scale * (t[row] - t[col]));
                        (got[k] - want).norm() / want.norm()
                    })
                    .fold(0.0, f64::max);
                assert!(err <= 1e-14, "d = {d}, n = {n}, scale {scale}: {err:e}");
                // The diagonal keeps its modulus to an ulp.
                for a_ in 0..points {
                    let k = a_ * (points + 1);
                    let ratio = got[k].norm() / a[k].norm();
                    assert!((ratio - 1.0).abs() < 1e-15, "diagonal {a_}: {ratio}");
                }
            }
        }
    }
}
