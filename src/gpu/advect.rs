//! The line shifts and phase-space reductions of `kernels::Advection` on the GPU
//! (shaders/advect.wgsl and shaders/phase.wgsl), across chunks.

use anyhow::{bail, Result};

use super::lines::LineBatch;
use super::{GpuBackend, GpuField, REDUCE_ITEMS, WG_SIZE};
use crate::backend::FieldInfo;
use crate::gpu::shaders::Kernel;
use crate::kernels::{
    check_momenta, check_shift, check_sum_inner, Advection, LineBoundary, LineShift, MomentumAxes,
    PhaseSums,
};

/// Elements a shift workgroup holds at least (short lines are batched up to this many).
const SHIFT_MIN_BLOCK: usize = 1024;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ShiftParams {
    lines: u32,
    stride: u32,
    groups_x: u32,
    run0: u32,
    runs_per_outer: u32,
    span: u32,
    table_div: u32,
    table_len: u32,
    scale: f32,
    _pad: [u32; 3],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct SumParams {
    n: u32,
    groups_x: u32,
    inner: u32,
    first_out: u32,
    first_offset: i32,
    scale: f32,
    _pad: [u32; 2],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct PhaseParams {
    n: u32,
    groups_x: u32,
    first_partial: u32,
    start_mod: u32,
    np: [u32; 4],
    p_min: [f32; 4],
    dp: [f32; 4],
}

const PHASE_PARTIAL_LEN: usize = 16;

fn to_u32(v: usize, what: &str) -> Result<u32> {
    u32::try_from(v)
        .map_err(|_| anyhow::anyhow!("{what} = {v} exceeds the GPU kernels' 32-bit indices"))
}

impl GpuBackend {
    /// Longest line the shift kernel holds in workgroup memory (f32 values).
    pub fn max_shift_len(&self) -> usize {
        self.ctx.limits.max_compute_workgroup_storage_size as usize / 4 / 2
    }

    #[allow(clippy::too_many_arguments)]
    fn record_shift_batch(
        &self,
        buf: &wgpu::Buffer,
        table: &wgpu::Buffer,
        n: usize,
        batch: LineBatch,
        shift: &LineShift,
        table_len: usize,
    ) -> Result<()> {
        let lines_per_wg = (SHIFT_MIN_BLOCK / n).max(1);
        let constants = [
            ("LEN", n as u32),
            ("LINES_PER_WG", lines_per_wg as u32),
            ("WG_SIZE", WG_SIZE),
            ("DEGREE", shift.degree as u32),
            (
                "PERIODIC",
                (shift.boundary == LineBoundary::Periodic) as u32,
            ),
        ];
        let pipeline = self.pipeline(Kernel::SHIFT_LINES, &constants)?;
        let grid = self.grid_for(batch.count.div_ceil(lines_per_wg) as u64)?;
        let params = ShiftParams {
            lines: to_u32(batch.count, "lines")?,
            stride: to_u32(batch.stride, "stride")?,
            groups_x: grid.0,
            run0: to_u32(batch.run0, "run")?,
            runs_per_outer: to_u32(batch.runs_per_outer, "runs")?,
            span: to_u32(batch.span, "span")?,
            table_div: to_u32(shift.table_div, "table divisor")?,
            table_len: to_u32(table_len, "table length")?,
            scale: shift.scale as f32,
            _pad: [0; 3],
        };
        let storage = [(0, buf), (1, table)];
        self.dispatch("shift lines", &pipeline, &storage, (2, &params), grid)
    }
}

impl Advection for GpuBackend {
    fn shift_lines(&self, f: &mut GpuField, table: &GpuField, shift: &LineShift) -> Result<()> {
        check_shift(f, table, shift)?;
        to_u32(f.len(), "field length")?;
        let n = f.shape[shift.axis];
        if n == 1 {
            return Ok(());
        }
        if n > self.max_shift_len() {
            bail!(
                "lines of {n} points along axis {} exceed the {} the shift kernel holds in \
                 workgroup memory on this adapter",
                shift.axis,
                self.max_shift_len()
            );
        }
        let table_buf = self.as_one_buffer(table, "shift table")?;
        self.record_axis_lines(f, shift.axis, |buf, batch| {
            self.record_shift_batch(buf, &table_buf, n, batch, shift, table.len())
        })
    }

    fn sum_inner(&self, f: &GpuField, out: &mut GpuField, scale: f64) -> Result<()> {
        let inner = check_sum_inner(f, out)?;
        to_u32(f.len(), "field length")?;
        let constants = [("WG_SIZE", WG_SIZE), ("ITEMS", REDUCE_ITEMS)];
        let pipeline = self.pipeline(Kernel::SUM_INNER, &constants)?;
        // The sums go to one contiguous scratch, then into out's chunks.
        let out_bytes = out.len() as u64 * 4;
        if out_bytes > self.ctx.limits.max_storage_buffer_binding_size {
            bail!(
                "sum_inner: {} outputs exceed one storage binding",
                out.len()
            );
        }
        let sums = self.scratch("sum inner", out_bytes);
        for c in 0..f.chunks.len() {
            let range = f.layout.chunk_range(c);
            let first_out = range.start / inner;
            let end_out = range.end.div_ceil(inner);
            let grid = self.grid_for((end_out - first_out) as u64)?;
            let params = SumParams {
                n: range.len() as u32,
                groups_x: grid.0,
                inner: inner as u32,
                first_out: first_out as u32,
                first_offset: (first_out * inner) as i32 - range.start as i32,
                scale: scale as f32,
                _pad: [0; 2],
            };
            let storage = [(0, &f.chunks[c]), (1, &*sums)];
            self.dispatch("sum inner", &pipeline, &storage, (2, &params), grid)?;
        }
        for (c, chunk) in out.chunks.iter().enumerate() {
            let start = out.layout.chunk_range(c).start as u64 * 4;
            self.record_copy(&sums, start, chunk, 0, out.chunk_bytes(c));
        }
        Ok(())
    }

    fn phase_sums(&self, f: &GpuField, momenta: &MomentumAxes) -> Result<PhaseSums> {
        let d = check_momenta(f, momenta)?;
        to_u32(f.len(), "field length")?;
        let block: usize = momenta.n.iter().product();
        // The kernel's three momentum slots hold the d axes at the end.
        let mut np = [1u32; 4];
        let mut p_min = [0f32; 4];
        let mut dp = [0f32; 4];
        for i in 0..d {
            np[3 - d + i] = momenta.n[i] as u32;
            p_min[3 - d + i] = momenta.p_min[i] as f32;
            dp[3 - d + i] = momenta.dp[i] as f32;
        }
        np[3] = d as u32;
        let constants = [("WG_SIZE", WG_SIZE), ("ITEMS", REDUCE_ITEMS)];
        let pipeline = self.pipeline(Kernel::PHASE_SUMS, &constants)?;
        let per_group = (WG_SIZE * REDUCE_ITEMS) as u64;
        let groups: Vec<u64> = (0..f.chunks.len())
            .map(|c| (f.layout.chunk_range(c).len() as u64).div_ceil(per_group))
            .collect();
        let total: u64 = groups.iter().sum();
        let partial_bytes = total * PHASE_PARTIAL_LEN as u64 * 4;
        if partial_bytes > self.ctx.limits.max_storage_buffer_binding_size {
            bail!("phase sums of {:?}: too many partial sums", f.shape);
        }
        let partials = self.scratch("phase partials", partial_bytes);
        let mut first = 0u64;
        for (c, &g) in groups.iter().enumerate() {
            let range = f.layout.chunk_range(c);
            let grid = self.grid_for(g)?;
            let params = PhaseParams {
                n: range.len() as u32,
                groups_x: grid.0,
                first_partial: first as u32,
                start_mod: (range.start % block) as u32,
                np,
                p_min,
                dp,
            };
            let storage = [(0, &f.chunks[c]), (1, &*partials)];
            self.dispatch("phase sums", &pipeline, &storage, (3, &params), grid)?;
            first += g;
        }
        let mut values = Vec::new();
        self.read_buffer_f32(&partials, 0..partial_bytes, &mut values)?;
        let mut s = PhaseSums {
            count: f.len(),
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            ..Default::default()
        };
        let mut slots = [0.0f64; 3];
        for p in values.chunks_exact(PHASE_PARTIAL_LEN) {
            s.sum += p[0] as f64;
            s.abs_sum += p[1] as f64;
            s.sum_sq += p[2] as f64;
            s.f_log_f += p[3] as f64;
            for (slot, v) in slots.iter_mut().zip(&p[4..7]) {
                *slot += *v as f64;
            }
            s.p_sq += p[7] as f64;
            s.min = s.min.min(p[8] as f64);
            s.max = s.max.max(p[9] as f64);
        }
        for i in 0..d {
            s.momentum[i] = slots[3 - d + i];
        }
        Ok(s)
    }
}

/// The Rust twins of this file's WGSL params structs (checked in `shaders::tests`).
#[cfg(test)]
pub(crate) fn params_layouts() -> Vec<crate::gpu::shaders::ParamsLayout> {
    vec![
        params_layout!(ShiftParams {
            lines,
            stride,
            groups_x,
            run0,
            runs_per_outer,
            span,
            table_div,
            table_len,
            scale
        }),
        params_layout!(SumParams {
            n,
            groups_x,
            inner,
            first_out,
            first_offset,
            scale
        }),
        params_layout!(PhaseParams {
            n,
            groups_x,
            first_partial,
            start_mod,
            np,
            p_min,
            dp
        }),
    ]
}
