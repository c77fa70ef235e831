//! The line shifts and phase-space reductions of `kernels::Advection` on the GPU
//! (shaders/advect.wgsl and shaders/phase.wgsl), across chunks.

use anyhow::{bail, Result};

use super::lines::LineBatch;
use super::{GpuBackend, GpuField, REDUCE_ITEMS, WG_SIZE};
use crate::backend::FieldInfo;
use crate::gpu::shaders::Kernel;
use crate::kernels::{
    check_group, check_momenta, check_shift, check_sum_inner, Advection, GroupPath, LineBoundary,
    LineShift, MomentumAxes, PhaseSums,
};

/// Elements a shift workgroup holds at least (short lines are batched up to this many).
const SHIFT_MIN_BLOCK: usize = 1024;

/// Longest line the barrier-free shift holds in an invocation's private memory.
pub const DIRECT_MAX_LEN: usize = 128;

/// How the shift kernel works through a batch of lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum ShiftForm {
    /// Whole lines in workgroup memory, loaded and stored by the whole workgroup, with
    /// barriers between (shift_lines): any axis.
    Workgroup,
    /// One invocation per line, in private memory, no barrier (shift_lines_direct): strided
    /// axes with lines of at most `DIRECT_MAX_LEN` points, where neighbouring invocations
    /// still read neighbouring addresses.
    Direct,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ShiftParams {
    lines: u32,
    stride: u32,
    groups_x: u32,
    run0: u32,
    runs_per_outer: u32,
    table_on_outer: u32,
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

/// How the shift kernel finds a line's table entry without the line's flat origin (which
/// passes 2^32 in fields that large): `check_shift` allows only tables that follow the outer
/// block (div a multiple of the span n·stride: entry (outer / (div / span)) % len) or the inner
/// offset (div·len divides the stride: entry (inner / div) % len). Returns (on outer, divisor).
fn table_addressing(batch: LineBatch, div: usize) -> (u32, usize) {
    if div.is_multiple_of(batch.span) {
        (1, div / batch.span)
    } else {
        (0, div)
    }
}

/// The table entry the shift kernel reads for line `line` of `batch`, computed as
/// shaders/advect.wgsl does, in 32-bit arithmetic (a twin for tests).
#[cfg(test)]
fn kernel_table_index(batch: LineBatch, div: usize, table_len: usize, line: u32) -> u32 {
    let (on_outer, div) = table_addressing(batch, div);
    let (stride, rpo) = (batch.stride as u32, batch.runs_per_outer as u32);
    let g = batch.run0 as u32 + line / stride;
    if on_outer == 1 {
        return (g / rpo / div as u32) % table_len as u32;
    }
    let inner = (g % rpo) * stride + line % stride;
    (inner / div as u32) % table_len as u32
}

impl GpuBackend {
    /// The form the shift kernel takes for lines of `n` points `stride` apart: the direct form
    /// on strided axes with lines it holds (on lavapipe it made the 6D step 2.7× faster and the
    /// 4D one 1.9×: docs/bench/README.md), the workgroup form elsewhere; the
    /// `shift_form_override` picks one where both apply.
    pub fn shift_form(&self, n: usize, stride: usize) -> ShiftForm {
        if stride == 1 || n > DIRECT_MAX_LEN {
            return ShiftForm::Workgroup;
        }
        self.shift_form_override.unwrap_or(ShiftForm::Direct)
    }

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
        let form = self.shift_form(n, batch.stride);
        let lines_per_wg = match form {
            ShiftForm::Workgroup => (SHIFT_MIN_BLOCK / n).max(1),
            ShiftForm::Direct => WG_SIZE as usize,
        };
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
        let kernel = match form {
            ShiftForm::Workgroup => Kernel::SHIFT_LINES,
            ShiftForm::Direct => Kernel::SHIFT_LINES_DIRECT,
        };
        let pipeline = self.pipeline(kernel, &constants)?;
        let grid = self.grid_for(batch.count.div_ceil(lines_per_wg) as u64)?;
        let (table_on_outer, table_div) = table_addressing(batch, shift.table_div);
        // The kernel's run index g = run0 + line / stride must fit too.
        to_u32(batch.run0 + batch.count.div_ceil(batch.stride), "run index")?;
        let params = ShiftParams {
            lines: to_u32(batch.count, "lines")?,
            stride: to_u32(batch.stride, "stride")?,
            groups_x: grid.0,
            run0: to_u32(batch.run0, "run")?,
            runs_per_outer: to_u32(batch.runs_per_outer, "runs")?,
            table_on_outer,
            table_div: to_u32(table_div, "table divisor")?,
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

    fn group_path(&self, shape: &[usize], axes: &[usize]) -> GroupPath {
        self.fused_group_path(shape, axes)
    }

    fn shift_group(&self, f: &mut GpuField, group: &[(&GpuField, LineShift)]) -> Result<()> {
        check_group(f, group)?;
        if self.record_fused_group(f, group)? {
            return Ok(());
        }
        for (table, shift) in group {
            self.shift_lines(f, table, shift)?;
        }
        Ok(())
    }

    fn sum_inner(&self, f: &GpuField, out: &mut GpuField, scale: f64) -> Result<()> {
        let inner = check_sum_inner(f, out)?;
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
                // In (−inner, 0]: the block of chunk c's first output starts at or before it.
                first_offset: -i32::try_from(range.start - first_out * inner)?,
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
            table_on_outer,
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

#[cfg(test)]
mod tests {
    use super::super::lines::{axis_batches, AxisBatch};
    use super::*;
    use crate::field::{strides_of, ChunkLayout};

    /// The shift kernel's table index, in 32-bit arithmetic, equals (origin / div) % len from
    /// the line's 64-bit flat origin, on a 64⁶ phase space (2^36 cells) cut into chunks of
    /// 2^20 elements: the drift and kick tables of every axis, in chunks and gathered, at the
    /// first, middle and last batches, where origins run far past 2^32.
    #[test]
    fn table_indices_hold_past_two_to_the_32() {
        let (d, n) = (3usize, 64usize);
        let shape = vec![n; 2 * d];
        let layout = ChunkLayout::new(&shape, 1 << 20).unwrap();
        let strides = strides_of(&shape);
        let block = n.pow(d as u32);
        let mut past_32 = 0usize;
        let mut checked = 0usize;
        for axis in 0..2 * d {
            // The Vlasov step's tables: a drift follows p_axis, a kick the position cell.
            let (div, len) = match axis < d {
                true => (strides[d + axis], n),
                false => (block, block),
            };
            let batches = axis_batches(&layout, &shape, axis).unwrap();
            let picks: Vec<usize> = [
                0,
                1,
                batches.len() / 2,
                batches.len() - 2,
                batches.len() - 1,
            ]
            .into_iter()
            .filter(|&i| i < batches.len())
            .collect();
            for i in picks {
                let batch = match &batches[i] {
                    AxisBatch::InChunk { batch, .. } | AxisBatch::Gathered { batch, .. } => *batch,
                };
                for line in [0, batch.count / 2, batch.count - 1] {
                    let g = (batch.run0 + line / batch.stride) as u64;
                    let rpo = batch.runs_per_outer as u64;
                    let origin = g / rpo * batch.span as u64
                        + g % rpo * batch.stride as u64
                        + (line % batch.stride) as u64;
                    let truth = (origin / div as u64) % len as u64;
                    let kernel = kernel_table_index(batch, div, len, line as u32);
                    assert_eq!(kernel as u64, truth, "axis {axis}, batch {i}, line {line}");
                    past_32 += usize::from(origin > u32::MAX as u64);
                    checked += 1;
                }
            }
        }
        eprintln!("{checked} lines checked, {past_32} with origins past 2^32");
        assert!(past_32 > checked / 3, "{past_32} of {checked}");
    }

    /// The shift kernel itself on batches from deep inside the same 64⁶ field (origins near
    /// 6.8·10^10): the data is one chunk of random values, the table random, and every line
    /// must come out shifted by its own table entry, against an f64 reference (f32 tolerance).
    /// Kicks along p_0 and p_2 (in chunk, table on the outer block) and the drift along x_2
    /// (gathered runs, table on the inner offset).
    #[test]
    fn the_shift_kernel_finds_its_table_entries_past_two_to_the_32() {
        use crate::backend::Backend;
        use crate::kernels::{lagrange_weights, split_shift};
        use rand::{Rng, SeedableRng};
        let options = crate::gpu::GpuOptions {
            adapter: std::env::var("HVP_ADAPTER")
                .ok()
                .map(|s| s.parse().unwrap()),
            allow_software: true,
            max_chunk_bytes: None,
        };
        let g = match GpuBackend::new(&options) {
            Ok(g) => g,
            Err(e) if std::env::var("HVP_REQUIRE_GPU").as_deref() == Ok("1") => {
                panic!("HVP_REQUIRE_GPU=1 but no GPU backend: {e:#}")
            }
            Err(e) => {
                eprintln!("\n!!!!!!!! SKIPPED: no GPU adapter ({e:#}); shift kernel NOT tested !!!!!!!!\n");
                return;
            }
        };
        let (d, n) = (3usize, 64usize);
        let shape = vec![n; 2 * d];
        let chunk_len = 1usize << 20;
        let layout = ChunkLayout::new(&shape, chunk_len).unwrap();
        let strides = strides_of(&shape);
        let block = n.pow(d as u32);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2026);
        for axis in [3, 5, 2] {
            let (div, len) = match axis < d {
                true => (strides[d + axis], n),
                false => (block, block),
            };
            let batches = axis_batches(&layout, &shape, axis).unwrap();
            let batch = match &batches[batches.len() - 3] {
                AxisBatch::InChunk { batch, .. } | AxisBatch::Gathered { batch, .. } => *batch,
            };
            let table: Vec<f64> = (0..len).map(|_| rng.random_range(-3.0..3.0)).collect();
            let data: Vec<f64> = (0..batch.count * n)
                .map(|_| rng.random_range(-1.0..1.0))
                .collect();
            let mut table_f = g.zeros(&[len], crate::field::Elem::Real).unwrap();
            g.upload_real(&mut table_f, &table).unwrap();
            let mut data_f = g.zeros(&[data.len()], crate::field::Elem::Real).unwrap();
            g.upload_real(&mut data_f, &data).unwrap();
            let shift = LineShift {
                axis,
                degree: 5,
                boundary: LineBoundary::Periodic,
                scale: 1.0,
                table_div: div,
            };
            g.record_shift_batch(&data_f.chunks[0], &table_f.chunks[0], n, batch, &shift, len)
                .unwrap();
            let out = g.download_real(&data_f).unwrap();
            let (mut err, mut norm) = (0.0f64, 0.0f64);
            let mut w = vec![0.0; 6];
            for line in 0..batch.count {
                let g_run = (batch.run0 + line / batch.stride) as u64;
                let rpo = batch.runs_per_outer as u64;
                let origin = g_run / rpo * batch.span as u64
                    + g_run % rpo * batch.stride as u64
                    + (line % batch.stride) as u64;
                assert!(origin > u32::MAX as u64);
                let s = table[((origin / div as u64) % len as u64) as usize];
                let (k, alpha) = split_shift(s);
                lagrange_weights(5, alpha, &mut w);
                let at = |j: usize| {
                    (line / batch.stride) * n * batch.stride
                        + line % batch.stride
                        + j * batch.stride
                };
                for j in 0..n {
                    let mut v = 0.0;
                    for (m, wm) in w.iter().enumerate() {
                        let i = (j as i64 - k - 2 + m as i64).rem_euclid(n as i64) as usize;
                        v += wm * data[at(i)];
                    }
                    err += (out[at(j)] - v).powi(2);
                    norm += v * v;
                }
            }
            let rel = (err / norm).sqrt();
            eprintln!(
                "axis {axis}: {} lines from run {}: rel err {rel:.2e}",
                batch.count, batch.run0
            );
            assert!(rel < 1e-5, "axis {axis}: rel err {rel:.2e}");
        }
    }
}
