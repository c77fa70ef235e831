//! `kernels::MatMul` on the GPU (shaders/matmul.wgsl): a tiled complex f32 product.
//!
//! Every matrix must sit in one storage binding (one chunk): an element of C reads a whole row
//! of A and a whole column of B. A P × P complex f32 matrix is 8·P² bytes, so P = 4096 is
//! 128 MiB, exactly lavapipe's binding limit (one chunk); larger matrices (or a smaller
//! `max_chunk_bytes`) are refused with an error that says so.

use anyhow::{bail, Result};
use num_complex::Complex64;

use super::{GpuBackend, GpuField};
use crate::backend::FieldInfo;
use crate::gpu::shaders::Kernel;
use crate::kernels::{check_inner, check_matmul, matrix_rows, MatMul};

/// Rows and columns of C per workgroup (shaders/matmul.wgsl, TILE).
const TILE: u64 = 64;

/// Elements one workgroup of `inner_partials` sums (256 invocations × INNER_ITEMS).
const INNER_PER_GROUP: u64 = 256 * 16;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct InnerParams {
    n: u32,
    groups_x: u32,
    first: u32,
    _pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct HermitiseParams {
    p: u32,
    groups_x: u32,
    _pad: [u32; 2],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct MatmulParams {
    p: u32,
    use_beta: u32,
    alpha: [f32; 2],
    beta: [f32; 2],
    _pad: [f32; 2],
}

impl GpuBackend {
    /// Refuses a P × P matrix that is split into chunks: the kernels of this file need each
    /// matrix in one storage binding.
    fn check_one_binding(&self, name: &str, f: &GpuField, p: usize) -> Result<()> {
        if f.chunks.len() != 1 {
            bail!(
                "matmul: {name} ({p} × {p} complex f32, {} bytes) is split into {} chunks of at \
                 most {} bytes; the GPU product needs each matrix in one storage binding \
                 (P ≤ {} here), so use the CPU backend or a smaller matrix",
                8 * f.len() as u64,
                f.chunks.len(),
                self.ctx.max_chunk_bytes,
                ((self.ctx.max_chunk_bytes / 8) as f64).sqrt().floor() as u64
            );
        }
        Ok(())
    }

    /// C ← α·A·B + β·C with the choice of accumulation: `split` sums each K tile of 16
    /// products into fresh partial sums before adding them to the total (the default of
    /// `MatMul::matmul`); without it every product goes straight into one f32 running sum.
    pub fn matmul_accumulation(
        &self,
        a: &GpuField,
        b: &GpuField,
        c: &mut GpuField,
        alpha: Complex64,
        beta: Complex64,
        split: bool,
    ) -> Result<()> {
        let p = check_matmul(a, b, c)?;
        for (name, f) in [("A", a), ("B", b), ("C", &*c)] {
            self.check_one_binding(name, f, p)?;
        }
        let pipeline = self.pipeline(Kernel::MATMUL, &[("SPLIT", u32::from(split))])?;
        let groups = (p as u64).div_ceil(TILE);
        let max = self.max_workgroups_per_dim() as u64;
        if groups > max {
            bail!("matmul: {groups} × {groups} workgroups exceed the adapter's grid");
        }
        let params = MatmulParams {
            p: p as u32,
            use_beta: u32::from(beta != Complex64::new(0.0, 0.0)),
            alpha: [alpha.re as f32, alpha.im as f32],
            beta: [beta.re as f32, beta.im as f32],
            _pad: [0.0; 2],
        };
        let storage = [(0, &a.chunks[0]), (1, &b.chunks[0]), (2, &c.chunks[0])];
        let grid = (groups as u32, groups as u32);
        self.dispatch("matmul", &pipeline, &storage, (3, &params), grid)
    }
}

impl MatMul for GpuBackend {
    fn matmul(
        &self,
        a: &GpuField,
        b: &GpuField,
        c: &mut GpuField,
        alpha: Complex64,
        beta: Complex64,
    ) -> Result<()> {
        self.matmul_accumulation(a, b, c, alpha, beta, true)
    }

    fn hermitise(&self, a: &mut GpuField) -> Result<()> {
        let p = matrix_rows(a)?;
        self.check_one_binding("A", a, p)?;
        let pipeline = self.pipeline(Kernel::HERMITISE, &[("SPLIT", 1)])?;
        let grid = self.grid_for((p as u64 * p as u64).div_ceil(256))?;
        let params = HermitiseParams {
            p: p as u32,
            groups_x: grid.0,
            _pad: [0; 2],
        };
        self.dispatch(
            "hermitise",
            &pipeline,
            &[(2, &a.chunks[0])],
            (6, &params),
            grid,
        )
    }

    fn frobenius_inner(&self, a: &GpuField, b: &GpuField) -> Result<Complex64> {
        check_inner(a, b)?;
        let pipeline = self.pipeline(Kernel::INNER_PARTIALS, &[("SPLIT", 1)])?;
        let groups: Vec<u64> = (0..a.chunks.len())
            .map(|c| (a.layout.chunk_range(c).len() as u64).div_ceil(INNER_PER_GROUP))
            .collect();
        let total: u64 = groups.iter().sum();
        let bytes = total * 8;
        let partials = self.scratch("inner product partials", bytes);
        let mut first = 0u64;
        // Fields of one shape share chunk boundaries: chunk c of A pairs with chunk c of B.
        for (c, &g) in groups.iter().enumerate() {
            let grid = self.grid_for(g)?;
            let params = InnerParams {
                n: a.layout.chunk_range(c).len() as u32,
                groups_x: grid.0,
                first: first as u32,
                _pad: 0,
            };
            let storage = [(0, &a.chunks[c]), (1, &b.chunks[c]), (4, &*partials)];
            self.dispatch("inner product", &pipeline, &storage, (5, &params), grid)?;
            first += g;
        }
        let mut values = Vec::new();
        self.read_buffer_f32(&partials, 0..bytes, &mut values)?;
        let mut sum = Complex64::new(0.0, 0.0);
        for p in values.chunks_exact(2) {
            sum += Complex64::new(p[0] as f64, p[1] as f64);
        }
        Ok(sum)
    }
}

/// The Rust twins of this file's WGSL params structs (checked in `shaders::tests`).
#[cfg(test)]
pub(crate) fn params_layouts() -> Vec<crate::gpu::shaders::ParamsLayout> {
    vec![
        params_layout!(InnerParams { n, groups_x, first }),
        params_layout!(HermitiseParams { p, groups_x }),
        params_layout!(MatmulParams {
            p,
            use_beta,
            alpha,
            beta
        }),
    ]
}
