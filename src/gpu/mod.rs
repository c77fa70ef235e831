//! The GPU backend: fields in chunked f32 storage buffers, WGSL kernels for every operation,
//! pipelines built once per (kernel, constants) and reused.

/// The Rust twin of a WGSL params struct as the layout test sees it: `params_layout!(T { a, b })`
/// lists the fields in order (padding, named `_…`, left out).
#[cfg(test)]
macro_rules! params_layout {
    ($t:ident { $($f:ident),* $(,)? }) => {
        crate::gpu::shaders::ParamsLayout {
            name: stringify!($t),
            size: std::mem::size_of::<$t>(),
            fields: vec![$((stringify!($f), std::mem::offset_of!($t, $f))),*],
        }
    };
}

mod advect;
pub mod context;
mod fft;
mod hartree;
mod lines;
mod matmul;
mod quantize;
mod recorder;
pub mod shaders;
mod shift_group;
pub mod timer;

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Result};
use num_complex::Complex64;

use crate::backend::{
    check_binary, check_copy, check_fft_axes, check_real_range, check_real_scalar, corner_runs,
    Backend, FftDirection, FieldInfo, RecordCounts, Stats,
};
use crate::field::{check_shape, strides_of, ChunkLayout, Elem};
pub use advect::{ShiftForm, DIRECT_MAX_LEN};
pub use context::{
    backend_name, choose_adapter, default_adapter, is_software, list_adapters, list_all_adapters,
    AdapterSpec, AdapterSummary, GpuContext, GpuOptions,
};
pub use fft::{next_fft_len, supported_fft_len};
use recorder::Recorder;
use shaders::Kernel;
use timer::PassTimer;

/// Invocations per workgroup of the element-wise and reduction kernels (WebGPU guarantees 256).
pub(crate) const WG_SIZE: u32 = 256;
/// Values each invocation of the reduction reads.
pub(crate) const REDUCE_ITEMS: u32 = 16;
/// Largest piece of a transfer between host and device, to bound staging memory.
const TRANSFER_PIECE: u64 = 64 << 20;

/// A field on the GPU: f32 components in one storage buffer per chunk.
pub struct GpuField {
    shape: Vec<usize>,
    elem: Elem,
    pub layout: ChunkLayout,
    pub chunks: Vec<wgpu::Buffer>,
    /// Where the chunks go when the field is dropped, so that the backend forgets the bind
    /// groups that hold them (which would otherwise keep their memory).
    dropped: DroppedBuffers,
}

/// Buffers of dropped fields that the bind-group cache may still hold.
type DroppedBuffers = Arc<Mutex<Vec<wgpu::Buffer>>>;

impl Drop for GpuField {
    fn drop(&mut self) {
        self.dropped.lock().unwrap().append(&mut self.chunks);
    }
}

impl FieldInfo for GpuField {
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn elem(&self) -> Elem {
        self.elem
    }
}

impl GpuField {
    fn elem_bytes(&self) -> u64 {
        4 * self.elem.components() as u64
    }
    fn chunk_bytes(&self, c: usize) -> u64 {
        self.layout.chunk_range(c).len() as u64 * self.elem_bytes()
    }
}

type PipelineKey = (Kernel, Vec<(&'static str, u32)>);

pub struct GpuBackend {
    pub ctx: GpuContext,
    pipelines: Mutex<HashMap<PipelineKey, Arc<wgpu::ComputePipeline>>>,
    /// exp(−2πi k/n) for k < n, keyed by n.
    twiddles: Mutex<HashMap<usize, Arc<wgpu::Buffer>>>,
    /// The FFT's digit-reversal permutation of 0..n, keyed by n.
    fft_digits: Mutex<HashMap<usize, Arc<wgpu::Buffer>>>,
    /// Scratch buffers by purpose (FFT gather, FFT transpose), each about one chunk.
    scratch: Mutex<HashMap<&'static str, Arc<wgpu::Buffer>>>,
    /// The host side of downloads, reused (at most `TRANSFER_PIECE` bytes).
    download_staging: Mutex<Option<wgpu::Buffer>>,
    /// The open command recording, the uniform arena and the bind-group cache.
    recorder: Mutex<Recorder>,
    /// Chunks of dropped fields, to be evicted from the bind-group cache.
    dropped: DroppedBuffers,
    timer: Mutex<Option<PassTimer>>,
    /// Fill the FFT scratch with NaN before each use (tests: a kernel that reads what it did not
    /// write shows up as NaN instead of passing on stale data).
    pub poison_scratch: bool,
    /// Treat lines longer than this as too long for workgroup memory (tests use it to drive the
    /// multi-pass FFT at small sizes).
    pub max_fft_len_override: Option<usize>,
    /// Treat the adapter's grid as at most this many workgroups per dimension (tests use it to
    /// drive the 2D wrap of `dispatch_grid` at small sizes); every dispatch it shapes is then
    /// logged for `take_dispatch_log`.
    pub max_workgroups_per_dim_override: Option<u32>,
    /// The form of the shift kernel on strided axes (`shift_form`); `None` takes the default.
    pub shift_form_override: Option<ShiftForm>,
    /// Whether shift groups run as fused tile passes where they fit (`Advection::shift_group`).
    /// Default: on hardware adapters. On software ones (lavapipe) the per-axis sweeps measured
    /// about 2× faster than the fused tiles (workgroup memory and barriers are dear on a CPU;
    /// docs/bench/README.md), so they sweep unless a test or the bench sets it.
    pub fuse_groups: bool,
    /// Tests: the elements a fused shift-group tile may hold, below what workgroup memory
    /// holds (to reach the split and per-axis paths on small fields).
    pub group_tile_override: Option<usize>,
    /// Submit a recording once it holds this many dispatches instead of when the uniform
    /// arena is full (tests use it to split recordings at small sizes).
    pub max_dispatches_per_submit_override: Option<usize>,
    /// (workgroups, grid) of each `grid_for` call while the override is set.
    dispatch_log: Mutex<Vec<(u64, (u32, u32))>>,
}

/// Workgroup grid for `groups` workgroups: at most `max_per_dim` columns, as many rows as needed.
pub(crate) fn dispatch_grid(groups: u64, max_per_dim: u32) -> Result<(u32, u32)> {
    let x = groups.clamp(1, max_per_dim as u64);
    let y = groups.div_ceil(x);
    if y > max_per_dim as u64 {
        bail!("dispatch of {groups} workgroups exceeds the adapter's grid");
    }
    Ok((x as u32, y as u32))
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ElementwiseParams {
    n: u32,
    groups_x: u32,
    _pad: [u32; 2],
    a: [f32; 2],
    _pad2: [f32; 2],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct CornerParams {
    total: u32,
    groups_x: u32,
    rank: u32,
    _pad: u32,
    extent: [u32; 8],
    src_stride: [u32; 8],
    dst_stride: [u32; 8],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ReduceParams {
    n: u32,
    groups_x: u32,
    first_partial: u32,
    _pad: u32,
}

/// The Rust twins of every WGSL params struct, from every kernel module (checked against
/// naga's layout in `shaders::tests`).
#[cfg(test)]
pub(crate) fn params_layouts() -> Vec<shaders::ParamsLayout> {
    let mut all = vec![
        params_layout!(ElementwiseParams { n, groups_x, a }),
        params_layout!(CornerParams {
            total,
            groups_x,
            rank,
            extent,
            src_stride,
            dst_stride
        }),
        params_layout!(ReduceParams {
            n,
            groups_x,
            first_partial
        }),
    ];
    all.extend(advect::params_layouts());
    all.extend(shift_group::params_layouts());
    all.extend(fft::params_layouts());
    all.extend(matmul::params_layouts());
    all.extend(hartree::params_layouts());
    all.extend(quantize::params_layouts());
    all
}

/// A field seen as one buffer (see `GpuBackend::as_one_buffer`).
pub(crate) enum OneBuffer<'a> {
    Chunk(&'a wgpu::Buffer),
    Joined(Arc<wgpu::Buffer>),
}

impl std::ops::Deref for OneBuffer<'_> {
    type Target = wgpu::Buffer;
    fn deref(&self) -> &wgpu::Buffer {
        match self {
            OneBuffer::Chunk(b) => b,
            OneBuffer::Joined(b) => b,
        }
    }
}

impl GpuBackend {
    pub fn new(options: &GpuOptions) -> Result<Self> {
        Ok(Self::with_context(GpuContext::new(options)?))
    }

    pub fn with_context(ctx: GpuContext) -> Self {
        let fuse_groups = !ctx.adapter.software;
        Self {
            ctx,
            pipelines: Mutex::new(HashMap::new()),
            twiddles: Mutex::new(HashMap::new()),
            fft_digits: Mutex::new(HashMap::new()),
            scratch: Mutex::new(HashMap::new()),
            download_staging: Mutex::new(None),
            recorder: Mutex::new(Recorder::default()),
            dropped: DroppedBuffers::default(),
            timer: Mutex::new(None),
            poison_scratch: false,
            max_fft_len_override: None,
            max_workgroups_per_dim_override: None,
            max_dispatches_per_submit_override: None,
            shift_form_override: None,
            group_tile_override: None,
            fuse_groups,
            dispatch_log: Mutex::new(Vec::new()),
        }
    }

    /// Largest number of elements in one chunk (the same for real and complex fields, so that
    /// fields of one shape share chunk boundaries and binary kernels pair chunks one to one).
    pub fn max_chunk_len(&self) -> usize {
        (self.ctx.max_chunk_bytes / 8) as usize
    }

    /// Workgroups one grid dimension holds: the adapter's limit, or the test override.
    pub fn max_workgroups_per_dim(&self) -> u32 {
        let hw = self.ctx.limits.max_compute_workgroups_per_dimension;
        self.max_workgroups_per_dim_override
            .map_or(hw, |o| o.clamp(1, hw))
    }

    /// `dispatch_grid` for `groups` workgroups under `max_workgroups_per_dim`.
    pub(crate) fn grid_for(&self, groups: u64) -> Result<(u32, u32)> {
        let grid = dispatch_grid(groups, self.max_workgroups_per_dim())?;
        if self.max_workgroups_per_dim_override.is_some() {
            self.dispatch_log.lock().unwrap().push((groups, grid));
        }
        Ok(grid)
    }

    /// (workgroups, (columns, rows)) of every grid shaped since the last call while
    /// `max_workgroups_per_dim_override` was set, oldest first; clears the log.
    pub fn take_dispatch_log(&self) -> Vec<(u64, (u32, u32))> {
        std::mem::take(&mut *self.dispatch_log.lock().unwrap())
    }

    /// Starts timing every compute pass with timestamp queries (if the adapter has them).
    pub fn start_pass_timer(&self) -> bool {
        let t = PassTimer::new(&self.ctx);
        let ok = t.is_some();
        *self.timer.lock().unwrap() = t;
        ok
    }

    /// GPU seconds per pass label since `start_pass_timer`, read back and cleared.
    pub fn read_pass_timer(&self) -> Result<std::collections::BTreeMap<&'static str, f64>> {
        self.flush();
        match self.timer.lock().unwrap().as_mut() {
            Some(t) => t.read(&self.ctx),
            None => Ok(Default::default()),
        }
    }

    fn pipeline(
        &self,
        kernel: Kernel,
        constants: &[(&'static str, u32)],
    ) -> Result<Arc<wgpu::ComputePipeline>> {
        let Kernel { file, entry } = kernel;
        let key = (kernel, constants.to_vec());
        if let Some(p) = self.pipelines.lock().unwrap().get(&key) {
            return Ok(p.clone());
        }
        let source = shaders::compose(file, constants)?;
        let entries = shaders::binding_layout(&source, entry)?;
        let device = &self.ctx.device;
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let group_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(entry),
            entries: &entries,
        });
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(entry),
            bind_group_layouts: &[Some(&group_layout)],
            immediate_size: 0,
        });
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(file.name()),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry),
            layout: Some(&layout),
            module: &module,
            entry_point: Some(entry),
            // Every kernel writes each workgroup-memory slot before it reads it (slots of lines
            // past the end are computed on but never written out), so wgpu's zeroing is not
            // needed. On GL naga writes it as one invocation assigning an array literal of
            // thousands of zeros, which llvmpipe took 7-40 s per pipeline to compile: the
            // self-check went from 118 s to 0.6 s without it.
            compilation_options: wgpu::PipelineCompilationOptions {
                zero_initialize_workgroup_memory: false,
                ..Default::default()
            },
            cache: None,
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            bail!("building {}::{entry} {constants:?}: {e}", file.name());
        }
        let pipeline = Arc::new(pipeline);
        self.pipelines.lock().unwrap().insert(key, pipeline.clone());
        Ok(pipeline)
    }

    fn new_chunks(&self, layout: &ChunkLayout, elem: Elem) -> Result<Vec<wgpu::Buffer>> {
        let elem_bytes = 4 * elem.components() as u64;
        let device = &self.ctx.device;
        let scope = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let chunks = (0..layout.n_chunks)
            .map(|c| {
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("field chunk"),
                    size: layout.chunk_range(c).len() as u64 * elem_bytes,
                    usage: wgpu::BufferUsages::STORAGE
                        | wgpu::BufferUsages::COPY_SRC
                        | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            })
            .collect();
        if let Some(e) = pollster::block_on(scope.pop()) {
            bail!(
                "out of GPU memory allocating a {:?} {elem:?} field: {e}",
                layout.shape
            );
        }
        Ok(chunks)
    }

    fn upload_f32(&self, field: &mut GpuField, values: &[f32]) -> Result<()> {
        self.upload_f32_at(field, 0, values)
    }

    /// Writes `values` (components interleaved) into the elements from `start` on, chunk by
    /// chunk, in pieces of at most `TRANSFER_PIECE`.
    fn upload_f32_at(&self, field: &mut GpuField, start: usize, values: &[f32]) -> Result<()> {
        // Queue writes land before the next submit's commands: what was recorded before this
        // upload must be submitted first.
        self.flush();
        let comps = field.elem.components();
        let end = start + values.len() / comps;
        for (c, buf) in field.chunks.iter().enumerate() {
            let r = field.layout.chunk_range(c);
            let (lo, hi) = (r.start.max(start), r.end.min(end));
            if lo >= hi {
                continue;
            }
            let bytes: &[u8] =
                bytemuck::cast_slice(&values[(lo - start) * comps..(hi - start) * comps]);
            let base = ((lo - r.start) * comps * 4) as u64;
            for (i, piece) in bytes.chunks(TRANSFER_PIECE as usize).enumerate() {
                self.ctx
                    .queue
                    .write_buffer(buf, base + i as u64 * TRANSFER_PIECE, piece);
            }
        }
        self.ctx.queue.submit([]);
        Ok(())
    }

    fn download_f32(&self, field: &GpuField) -> Result<Vec<f32>> {
        self.download_f32_range(field, 0..field.len())
    }

    /// The elements `range` of a field as f32 (components interleaved).
    fn download_f32_range(&self, field: &GpuField, range: Range<usize>) -> Result<Vec<f32>> {
        let comps = field.elem.components();
        let mut out = Vec::with_capacity(range.len() * comps);
        for (c, buf) in field.chunks.iter().enumerate() {
            let r = field.layout.chunk_range(c);
            let (lo, hi) = (r.start.max(range.start), r.end.min(range.end));
            if lo < hi {
                let bytes = |e: usize| ((e - r.start) * comps * 4) as u64;
                self.read_buffer_f32(buf, bytes(lo)..bytes(hi), &mut out)?;
            }
        }
        Ok(out)
    }

    /// Appends the bytes `bytes` of `buf` (offsets multiples of 4), as f32, to `out` (through
    /// a staging buffer, in pieces of at most `TRANSFER_PIECE`).
    fn read_buffer_f32(
        &self,
        buf: &wgpu::Buffer,
        bytes: Range<u64>,
        out: &mut Vec<f32>,
    ) -> Result<()> {
        let mut staging_slot = self.download_staging.lock().unwrap();
        let wanted = (bytes.end - bytes.start).clamp(4, TRANSFER_PIECE);
        if staging_slot.as_ref().is_none_or(|b| b.size() < wanted) {
            *staging_slot = Some(self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("download staging"),
                size: wanted,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }));
        }
        let staging = staging_slot.as_ref().expect("just made");
        let mut offset = bytes.start;
        while offset < bytes.end {
            let size = (bytes.end - offset).min(TRANSFER_PIECE);
            self.record_copy(buf, offset, staging, 0, size);
            self.flush_and_wait()?;
            let slice = staging.slice(0..size);
            let (tx, rx) = std::sync::mpsc::channel();
            slice.map_async(wgpu::MapMode::Read, move |r| {
                let _ = tx.send(r);
            });
            self.ctx.wait_idle()?;
            rx.recv()?
                .map_err(|e| anyhow!("mapping the download buffer: {e}"))?;
            {
                let view = slice
                    .get_mapped_range()
                    .map_err(|e| anyhow!("reading the download buffer: {e:?}"))?;
                out.extend_from_slice(bytemuck::cast_slice::<u8, f32>(&view));
            }
            staging.unmap();
            offset += size;
        }
        Ok(())
    }

    /// Runs one element-wise kernel over every chunk of `y` (and the matching chunk of `x`).
    fn elementwise(
        &self,
        kernel: Kernel,
        y: &GpuField,
        x: Option<&GpuField>,
        a: Complex64,
    ) -> Result<()> {
        let x_comp = x.map_or(1, |x| x.elem.components() as u32);
        let constants = [
            ("COMP", y.elem.components() as u32),
            ("X_COMP", x_comp),
            ("WG_SIZE", WG_SIZE),
        ];
        let pipeline = self.pipeline(kernel, &constants)?;
        for c in 0..y.chunks.len() {
            let n = y.layout.chunk_range(c).len() as u64;
            let grid = self.grid_for(n.div_ceil(WG_SIZE as u64))?;
            let params = ElementwiseParams {
                n: n as u32,
                groups_x: grid.0,
                _pad: [0; 2],
                a: [a.re as f32, a.im as f32],
                _pad2: [0.0; 2],
            };
            let mut storage = vec![(0, &y.chunks[c])];
            if let Some(x) = x {
                storage.push((2, &x.chunks[c]));
            }
            self.dispatch(kernel.entry, &pipeline, &storage, (1, &params), grid)?;
        }
        Ok(())
    }

    /// `copy_corner` between two single-chunk fields (checked by the caller) in one dispatch.
    fn copy_corner_kernel(&self, src: &GpuField, dst: &GpuField) -> Result<()> {
        let rank = src.shape.len();
        let (s_strides, d_strides) = (strides_of(&src.shape), strides_of(&dst.shape));
        let mut params = CornerParams {
            total: 1,
            groups_x: 0,
            rank: rank as u32,
            _pad: 0,
            extent: [1; 8],
            src_stride: [0; 8],
            dst_stride: [0; 8],
        };
        for a in 0..rank {
            params.extent[a] = src.shape[a].min(dst.shape[a]) as u32;
            params.src_stride[a] = s_strides[a] as u32;
            params.dst_stride[a] = d_strides[a] as u32;
            params.total *= params.extent[a];
        }
        let constants = [("COMP", src.elem.components() as u32), ("WG_SIZE", WG_SIZE)];
        let pipeline = self.pipeline(Kernel::COPY_CORNER, &constants)?;
        let grid = self.grid_for((params.total as u64).div_ceil(WG_SIZE as u64))?;
        params.groups_x = grid.0;
        self.dispatch(
            "copy_corner",
            &pipeline,
            &[(0, &dst.chunks[0]), (2, &src.chunks[0])],
            (1, &params),
            grid,
        )
    }

    /// The scratch buffer for `purpose`, at least `bytes` long (filled with NaN first when
    /// `poison_scratch` is set).
    fn scratch(&self, purpose: &'static str, bytes: u64) -> Arc<wgpu::Buffer> {
        let mut map = self.scratch.lock().unwrap();
        let buf = match map.get(purpose) {
            Some(b) if b.size() >= bytes => b.clone(),
            _ => {
                let b = Arc::new(self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(purpose),
                    size: bytes,
                    usage: wgpu::BufferUsages::STORAGE
                        | wgpu::BufferUsages::COPY_SRC
                        | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                }));
                map.insert(purpose, b.clone());
                b
            }
        };
        if self.poison_scratch {
            // After what was recorded so far, which may still read the old contents.
            self.flush();
            let nan = vec![f32::NAN; buf.size() as usize / 4];
            self.ctx
                .queue
                .write_buffer(&buf, 0, bytemuck::cast_slice(&nan));
        }
        buf
    }

    /// A field as one storage buffer: its only chunk, or its chunks joined in the `purpose`
    /// scratch (tables of a few values per point, which tiny-chunk runs split).
    pub(crate) fn as_one_buffer<'a>(
        &self,
        field: &'a GpuField,
        purpose: &'static str,
    ) -> Result<OneBuffer<'a>> {
        if field.chunks.len() == 1 {
            return Ok(OneBuffer::Chunk(&field.chunks[0]));
        }
        let bytes = field.len() as u64 * field.elem_bytes();
        if bytes > self.ctx.limits.max_storage_buffer_binding_size {
            bail!(
                "a table of {} values exceeds one storage binding",
                field.len()
            );
        }
        let joined = self.scratch(purpose, bytes);
        for (c, chunk) in field.chunks.iter().enumerate() {
            let start = field.layout.chunk_range(c).start as u64 * field.elem_bytes();
            self.record_copy(chunk, 0, &joined, start, field.chunk_bytes(c));
        }
        Ok(OneBuffer::Joined(joined))
    }

    /// Bytes the backend holds beside the fields (FFT scratch, about one chunk per purpose).
    pub fn scratch_bytes(&self) -> u64 {
        self.scratch
            .lock()
            .unwrap()
            .values()
            .map(|b| b.size())
            .sum()
    }
}

impl Backend for GpuBackend {
    type Field = GpuField;

    fn describe(&self) -> String {
        let a = &self.ctx.adapter;
        format!(
            "GPU backend on {} ({}, {}), chunks of at most {} MiB",
            a.name,
            a.backend,
            a.device_type,
            self.ctx.max_chunk_bytes as f64 / (1u64 << 20) as f64
        )
    }

    fn real_bytes(&self) -> usize {
        4
    }

    fn zeros(&self, shape: &[usize], elem: Elem) -> Result<GpuField> {
        check_shape(shape)?;
        let layout = ChunkLayout::new(shape, self.max_chunk_len())?;
        // Free what dropped fields left in the cache before taking more memory.
        self.evict_dropped();
        // wgpu zero-initialises new buffers.
        let chunks = self.new_chunks(&layout, elem)?;
        Ok(GpuField {
            shape: shape.to_vec(),
            elem,
            layout,
            chunks,
            dropped: self.dropped.clone(),
        })
    }

    fn upload_real(&self, field: &mut GpuField, data: &[f64]) -> Result<()> {
        if field.elem != Elem::Real || data.len() != field.len() {
            bail!(
                "upload of {} real values into a {:?} field of {} elements",
                data.len(),
                field.elem,
                field.len()
            );
        }
        let values: Vec<f32> = data.iter().map(|&x| x as f32).collect();
        self.upload_f32(field, &values)
    }

    fn upload_complex(&self, field: &mut GpuField, data: &[Complex64]) -> Result<()> {
        if field.elem != Elem::Complex || data.len() != field.len() {
            bail!(
                "upload of {} complex values into a {:?} field of {} elements",
                data.len(),
                field.elem,
                field.len()
            );
        }
        let values: Vec<f32> = data
            .iter()
            .flat_map(|z| [z.re as f32, z.im as f32])
            .collect();
        self.upload_f32(field, &values)
    }

    fn download_real(&self, field: &GpuField) -> Result<Vec<f64>> {
        if field.elem != Elem::Real {
            bail!("real download of a complex field");
        }
        Ok(self
            .download_f32(field)?
            .into_iter()
            .map(f64::from)
            .collect())
    }

    fn upload_real_range(&self, field: &mut GpuField, start: usize, data: &[f64]) -> Result<()> {
        check_real_range(field, start, data.len())?;
        let values: Vec<f32> = data.iter().map(|&x| x as f32).collect();
        self.upload_f32_at(field, start, &values)
    }

    fn download_real_range(&self, field: &GpuField, range: Range<usize>) -> Result<Vec<f64>> {
        check_real_range(field, range.start, range.len())?;
        Ok(self
            .download_f32_range(field, range)?
            .into_iter()
            .map(f64::from)
            .collect())
    }

    fn download_complex(&self, field: &GpuField) -> Result<Vec<Complex64>> {
        if field.elem != Elem::Complex {
            bail!("complex download of a real field");
        }
        Ok(self
            .download_f32(field)?
            .chunks_exact(2)
            .map(|p| Complex64::new(p[0] as f64, p[1] as f64))
            .collect())
    }

    fn fft(&self, field: &mut GpuField, axes: &[usize], dir: FftDirection) -> Result<()> {
        check_fft_axes(field, axes)?;
        for &axis in axes {
            self.record_fft_axis(field, axis, dir)?;
        }
        Ok(())
    }

    fn reduce(&self, field: &GpuField) -> Result<Stats> {
        let constants = [("WG_SIZE", WG_SIZE), ("ITEMS", REDUCE_ITEMS)];
        let pipeline = self.pipeline(Kernel::REDUCE_STATS, &constants)?;
        let comps = field.elem.components() as u64;
        let per_group = (WG_SIZE * REDUCE_ITEMS) as u64;
        let groups: Vec<u64> = (0..field.chunks.len())
            .map(|c| (field.layout.chunk_range(c).len() as u64 * comps).div_ceil(per_group))
            .collect();
        let total_groups: u64 = groups.iter().sum();
        let partial_bytes = total_groups * 8 * 4;
        if partial_bytes > self.ctx.limits.max_storage_buffer_binding_size {
            bail!("reduction of {:?}: too many partial sums", field.shape);
        }
        let partials = self.scratch("reduce partials", partial_bytes);
        let mut first = 0u64;
        for (c, &g) in groups.iter().enumerate() {
            let grid = self.grid_for(g)?;
            let params = ReduceParams {
                n: (field.layout.chunk_range(c).len() as u64 * comps) as u32,
                groups_x: grid.0,
                first_partial: first as u32,
                _pad: 0,
            };
            let storage = [(0, &field.chunks[c]), (1, &*partials)];
            self.dispatch("reduce", &pipeline, &storage, (2, &params), grid)?;
            first += g;
        }
        let mut values = Vec::new();
        self.read_buffer_f32(&partials, 0..partial_bytes, &mut values)?;
        let mut stats = Stats {
            count: field.len(),
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            ..Default::default()
        };
        for p in values.chunks_exact(8) {
            stats.sum.re += p[0] as f64;
            stats.sum.im += p[1] as f64;
            stats.sum_sq += p[2] as f64;
            stats.min = stats.min.min(p[3] as f64);
            stats.max = stats.max.max(p[4] as f64);
        }
        if field.elem == Elem::Real {
            // Even and odd positions of a real field are all real parts.
            stats.sum.re += stats.sum.im;
            stats.sum.im = 0.0;
        }
        Ok(stats)
    }

    fn fill(&self, field: &mut GpuField, value: Complex64) -> Result<()> {
        check_real_scalar(field.elem, value, "fill")?;
        self.elementwise(Kernel::FILL, field, None, value)
    }

    fn scale(&self, field: &mut GpuField, a: Complex64) -> Result<()> {
        check_real_scalar(field.elem, a, "scale")?;
        self.elementwise(Kernel::SCALE, field, None, a)
    }

    fn axpy(&self, a: Complex64, x: &GpuField, y: &mut GpuField) -> Result<()> {
        check_binary(x, y, "axpy", false)?;
        check_real_scalar(y.elem, a, "axpy")?;
        self.elementwise(Kernel::AXPY, y, Some(x), a)
    }

    fn mul(&self, x: &GpuField, y: &mut GpuField) -> Result<()> {
        check_binary(x, y, "mul", true)?;
        self.elementwise(Kernel::MUL, y, Some(x), Complex64::new(1.0, 0.0))
    }

    fn copy(&self, src: &GpuField, dst: &mut GpuField) -> Result<()> {
        check_copy(src, dst)?;
        if src.elem != dst.elem {
            // Fields of one shape share chunk boundaries whatever their kind.
            return self.elementwise(Kernel::CONVERT, dst, Some(src), Complex64::new(1.0, 0.0));
        }
        for c in 0..src.chunks.len() {
            self.record_copy(&src.chunks[c], 0, &dst.chunks[c], 0, src.chunk_bytes(c));
        }
        Ok(())
    }

    fn copy_corner(&self, src: &GpuField, dst: &mut GpuField) -> Result<()> {
        let runs = corner_runs(src, dst)?;
        if src.chunks.len() == 1 && dst.chunks.len() == 1 {
            // One dispatch instead of one buffer copy per run.
            return self.copy_corner_kernel(src, dst);
        }
        let e = src.elem_bytes();
        for &(a, b) in &runs.starts {
            // One buffer copy per piece of the run that lies in one chunk of each field.
            let (mut a, mut b, mut left) = (a, b, runs.run_len);
            while left > 0 {
                let (ca, cb) = (a / src.layout.chunk_len, b / dst.layout.chunk_len);
                let (oa, ob) = (a % src.layout.chunk_len, b % dst.layout.chunk_len);
                let n = left
                    .min(src.layout.chunk_range(ca).end - a)
                    .min(dst.layout.chunk_range(cb).end - b);
                self.record_copy(
                    &src.chunks[ca],
                    oa as u64 * e,
                    &dst.chunks[cb],
                    ob as u64 * e,
                    n as u64 * e,
                );
                a += n;
                b += n;
                left -= n;
            }
        }
        Ok(())
    }

    fn synchronize(&self) -> Result<()> {
        self.flush_and_wait()
    }

    fn record_counts(&self) -> RecordCounts {
        self.counts()
    }
}
