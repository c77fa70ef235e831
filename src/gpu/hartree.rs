//! `kernels::MatrixKernels` on the GPU (shaders/hartree.wgsl), chunk by chunk.

use anyhow::Result;
use bytemuck::Zeroable;

use super::{GpuBackend, GpuField, WG_SIZE};
use crate::backend::FieldInfo;
use crate::gpu::shaders::Kernel;
use crate::kernels::{check_axis_table, check_operator, MatrixKernels};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct OperatorParams {
    n: u32,
    groups_x: u32,
    points: u32,
    start_row: u32,
    start_col: u32,
    first_diag: u32,
    scale: f32,
    axis_n: u32,
    axis_stride: u32,
    _pad: [u32; 3],
}

impl GpuBackend {
    /// One thread per entry of the operator `a`, chunk by chunk, with the table in one
    /// binding: the shape of the kernels that scale every entry by a function of its (row,
    /// column). `params` fills what is particular to the kernel into the chunk's parameters.
    fn operator_entries(
        &self,
        kernel: Kernel,
        a: &mut GpuField,
        table: &GpuField,
        points: usize,
        params: OperatorParams,
    ) -> Result<()> {
        u32::try_from(a.len())
            .map_err(|_| anyhow::anyhow!("operator too large for 32-bit indices"))?;
        let pipeline = self.pipeline(kernel, &[("WG_SIZE", WG_SIZE)])?;
        let t = self.as_one_buffer(table, "operator table")?;
        for (c, chunk) in a.chunks.iter().enumerate() {
            let range = a.layout.chunk_range(c);
            let grid = self.grid_for((range.len() as u64).div_ceil(WG_SIZE as u64))?;
            let params = OperatorParams {
                n: range.len() as u32,
                groups_x: grid.0,
                points: points as u32,
                start_row: (range.start / points) as u32,
                start_col: (range.start % points) as u32,
                ..params
            };
            let storage = [(0, chunk), (1, &*t)];
            self.dispatch(kernel.entry, &pipeline, &storage, (2, &params), grid)?;
        }
        Ok(())
    }
}

impl MatrixKernels for GpuBackend {
    fn conjugation_phase(&self, a: &mut GpuField, table: &GpuField, scale: f64) -> Result<()> {
        let points = check_operator(a, table)?;
        let params = OperatorParams {
            scale: scale as f32,
            ..OperatorParams::zeroed()
        };
        self.operator_entries(Kernel::CONJUGATION_PHASE, a, table, points, params)
    }

    fn diagonal(&self, a: &GpuField, out: &mut GpuField) -> Result<()> {
        let points = check_operator(a, out)?;
        let pipeline = self.pipeline(Kernel::DIAGONAL, &[("WG_SIZE", WG_SIZE)])?;
        let sums = self.scratch("operator diagonal", points as u64 * 4);
        for (c, chunk) in a.chunks.iter().enumerate() {
            let range = a.layout.chunk_range(c);
            // Diagonal element a sits at a·(P + 1).
            let first = range.start.div_ceil(points + 1);
            let last = (range.end - 1) / (points + 1);
            if first > last {
                continue;
            }
            let count = last - first + 1;
            let grid = self.grid_for((count as u64).div_ceil(WG_SIZE as u64))?;
            let params = OperatorParams {
                n: count as u32,
                groups_x: grid.0,
                points: points as u32,
                start_row: (range.start / points) as u32,
                start_col: (range.start % points) as u32,
                first_diag: first as u32,
                ..OperatorParams::zeroed()
            };
            let storage = [(0, chunk), (3, &*sums)];
            self.dispatch("diagonal", &pipeline, &storage, (2, &params), grid)?;
        }
        for (c, chunk) in out.chunks.iter().enumerate() {
            let start = out.layout.chunk_range(c).start as u64 * 4;
            self.record_copy(&sums, start, chunk, 0, out.chunk_bytes(c));
        }
        Ok(())
    }

    fn position_commutator(&self, a: &mut GpuField, table: &GpuField, axis: usize) -> Result<()> {
        let ax = check_axis_table(a, table, axis)?;
        let params = OperatorParams {
            axis_n: ax.n as u32,
            axis_stride: ax.stride as u32,
            ..OperatorParams::zeroed()
        };
        self.operator_entries(Kernel::POSITION_COMMUTATOR, a, table, ax.points, params)
    }
}

/// The Rust twins of this file's WGSL params structs (checked in `shaders::tests`).
#[cfg(test)]
pub(crate) fn params_layouts() -> Vec<crate::gpu::shaders::ParamsLayout> {
    vec![params_layout!(OperatorParams {
        n,
        groups_x,
        points,
        start_row,
        start_col,
        first_diag,
        scale,
        axis_n,
        axis_stride
    })]
}
