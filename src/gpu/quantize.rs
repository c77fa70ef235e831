//! The index maps of `kernels::QuantizeKernels` on the GPU (shaders/quantize.wgsl), across
//! chunks: one dispatch per (output chunk, input chunk) pair, the first input chunk storing and
//! the others adding, so that any chunking of either field works.

use anyhow::{bail, Result};

use super::{GpuBackend, GpuField, WG_SIZE};
use crate::backend::FieldInfo;
use crate::gpu::shaders::Kernel;
use crate::kernels::{check_operands, check_phase, QuantizeGeom, QuantizeKernels};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct QuantizeParams {
    n: u32,
    dim: u32,
    groups_x: u32,
    accumulate: u32,
    out_start: u32,
    out_len: u32,
    in_start: u32,
    in_len: u32,
    scale: f32,
    _pad: [u32; 3],
}

impl GpuBackend {
    /// One kernel of quantize.wgsl over every chunk of `out`, paired with every chunk of `input`
    /// (or alone when `input` is `None`).
    fn quantize_dispatch(
        &self,
        kernel: Kernel,
        out: &GpuField,
        input: Option<&GpuField>,
        geom: QuantizeGeom,
        scale: f64,
    ) -> Result<()> {
        let pipeline = self.pipeline(kernel, &[("WG_SIZE", WG_SIZE)])?;
        let in_chunks = input.map_or(1, |f| f.chunks.len());
        for co in 0..out.chunks.len() {
            let out_range = out.layout.chunk_range(co);
            let grid = self.grid_for((out_range.len() as u64).div_ceil(WG_SIZE as u64))?;
            for ci in 0..in_chunks {
                let in_range = input.map_or(0..0, |f| f.layout.chunk_range(ci));
                let params = QuantizeParams {
                    n: geom.n as u32,
                    dim: geom.dim as u32,
                    groups_x: grid.0,
                    accumulate: (ci > 0) as u32,
                    out_start: out_range.start as u32,
                    out_len: out_range.len() as u32,
                    in_start: in_range.start as u32,
                    in_len: in_range.len() as u32,
                    scale: scale as f32,
                    _pad: [0; 3],
                };
                let mut storage = vec![(0, &out.chunks[co])];
                if let Some(f) = input {
                    storage.push((1, &f.chunks[ci]));
                }
                self.dispatch(kernel.entry, &pipeline, &storage, (2, &params), grid)?;
            }
        }
        Ok(())
    }
}

impl QuantizeKernels for GpuBackend {
    fn check_quantize(&self, geom: QuantizeGeom) -> Result<()> {
        crate::field::check_shape(&geom.phase_shape())?;
        if !super::supported_fft_len(geom.n) {
            bail!(
                "Wigner/Weyl on the GPU: n = {} points per axis; the GPU FFT takes lengths \
                 2^a·3^b·5^c (e.g. 96, 160, 256)",
                geom.n
            );
        }
        let cells: usize = geom.phase_shape().iter().product();
        if cells > u32::MAX as usize {
            bail!(
                "Wigner/Weyl on the GPU: the phase grid of {cells} cells (d = {}, n = {}) exceeds \
                 the 32-bit indices of the quantize kernels",
                geom.dim,
                geom.n
            );
        }
        Ok(())
    }

    fn wigner_place(
        &self,
        mhat: &GpuField,
        phase: &mut GpuField,
        geom: QuantizeGeom,
        scale: f64,
    ) -> Result<()> {
        check_operands(mhat, phase, geom)?;
        self.check_quantize(geom)?;
        self.quantize_dispatch(Kernel::WIGNER_PLACE, phase, Some(mhat), geom, scale)
    }

    fn separation_window(&self, phase: &mut GpuField, geom: QuantizeGeom) -> Result<()> {
        check_phase(phase, geom)?;
        self.check_quantize(geom)?;
        self.quantize_dispatch(Kernel::SEPARATION_WINDOW, phase, None, geom, 1.0)
    }

    fn weyl_gather(
        &self,
        phase: &GpuField,
        matrix: &mut GpuField,
        geom: QuantizeGeom,
        scale: f64,
    ) -> Result<()> {
        check_operands(matrix, phase, geom)?;
        self.check_quantize(geom)?;
        debug_assert!(matrix.len() <= phase.len());
        self.quantize_dispatch(Kernel::WEYL_GATHER, matrix, Some(phase), geom, scale)
    }
}

/// The Rust twins of this file's WGSL params structs (checked in `shaders::tests`).
#[cfg(test)]
pub(crate) fn params_layouts() -> Vec<crate::gpu::shaders::ParamsLayout> {
    vec![params_layout!(QuantizeParams {
        n,
        dim,
        groups_x,
        accumulate,
        out_start,
        out_len,
        in_start,
        in_len,
        scale
    })]
}
