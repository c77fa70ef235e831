//! One long-lived recording of GPU work: every operation of the backend records its dispatches
//! and copies into one command encoder, which is submitted only when the host needs a result
//! (a download, an upload, a wait, the pass timer) or when the uniform arena is full. A run
//! between two outputs is then one submit with no host wait inside it.
//!
//! The params of each dispatch go into a slot of a uniform arena (pages of uniform buffers
//! reused from one recording to the next) instead of a buffer of their own, bound at a dynamic
//! offset; bind groups are kept by the pipeline and the buffers they bind. A solver that
//! repeats the same operations on the same fields records each step without creating a buffer
//! or a bind group.

use std::collections::HashMap;

use anyhow::Result;

use super::GpuBackend;
use crate::backend::RecordCounts;

/// Uniform slots per arena page.
const SLOTS_PER_PAGE: u64 = 256;
/// Pages one recording may fill before it is submitted (the arena stays bounded; a recording
/// of more dispatches than this holds is split into several submits).
const MAX_PAGES: usize = 16;
/// Bind groups kept before the cache is emptied (each pins the buffers it binds).
const MAX_BIND_GROUPS: usize = 4096;

/// A bind group's identity: the pipeline and, per binding, the buffer, offset and size (size 0:
/// the whole buffer; the params binding's offset is given at each dispatch instead).
type BindKey = (wgpu::ComputePipeline, Vec<(u32, wgpu::Buffer, u64, u64)>);

#[derive(Default)]
pub(super) struct Recorder {
    encoder: Option<wgpu::CommandEncoder>,
    /// The params of the open recording, one slot each, in arena order.
    arena: Vec<u8>,
    pages: Vec<wgpu::Buffer>,
    bind_groups: HashMap<BindKey, wgpu::BindGroup>,
    counts: RecordCounts,
}

impl Recorder {
    /// Submits the open recording, after writing the params it uses into the arena pages
    /// (queue writes land before the command buffers of the next submit).
    fn submit(&mut self, queue: &wgpu::Queue, slot_bytes: u64) {
        let Some(encoder) = self.encoder.take() else {
            return;
        };
        let page_bytes = (slot_bytes * SLOTS_PER_PAGE) as usize;
        for (page, bytes) in self.pages.iter().zip(self.arena.chunks(page_bytes)) {
            queue.write_buffer(page, 0, bytes);
        }
        self.arena.clear();
        queue.submit([encoder.finish()]);
        self.counts.submits += 1;
    }
}

impl GpuBackend {
    /// See `Backend::record_counts`.
    pub(super) fn counts(&self) -> RecordCounts {
        self.recorder.lock().unwrap().counts
    }

    /// Bytes of one uniform slot: the largest params struct, rounded up to the adapter's
    /// uniform offset alignment.
    fn slot_bytes(&self) -> u64 {
        (self.ctx.limits.min_uniform_buffer_offset_alignment as u64).max(MAX_PARAMS_BYTES)
    }

    /// Records one dispatch of `pipeline` over `grid` in its own compute pass (timed when the
    /// pass timer runs), with `storage` buffers at their binding numbers and `params` in a
    /// uniform slot at binding `params.0`.
    pub(super) fn dispatch<P: bytemuck::Pod>(
        &self,
        label: &'static str,
        pipeline: &wgpu::ComputePipeline,
        storage: &[(u32, &wgpu::Buffer)],
        params: (u32, &P),
        grid: (u32, u32),
    ) -> Result<()> {
        let bytes = bytemuck::bytes_of(params.1);
        let slot_bytes = self.slot_bytes();
        assert!(
            bytes.len() as u64 <= slot_bytes,
            "params of {label} exceed a uniform slot"
        );
        self.evict_dropped();
        let mut rec = self.recorder.lock().unwrap();
        let max_slots = self
            .max_dispatches_per_submit_override
            .map_or(SLOTS_PER_PAGE * MAX_PAGES as u64, |m| m.max(1) as u64);
        if rec.arena.len() as u64 >= slot_bytes * max_slots {
            rec.submit(&self.ctx.queue, slot_bytes);
        }
        let offset_in_arena = rec.arena.len() as u64;
        rec.arena.extend_from_slice(bytes);
        rec.arena.resize((offset_in_arena + slot_bytes) as usize, 0);
        let page_bytes = slot_bytes * SLOTS_PER_PAGE;
        let page = (offset_in_arena / page_bytes) as usize;
        while rec.pages.len() <= page {
            let buffer = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("params arena"),
                size: page_bytes,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            rec.pages.push(buffer);
        }
        let mut key_entries: Vec<(u32, wgpu::Buffer, u64, u64)> = storage
            .iter()
            .map(|(b, buf)| (*b, (*buf).clone(), 0, 0))
            .collect();
        // The slot's offset is dynamic: one bind group serves every slot of the page.
        key_entries.push((params.0, rec.pages[page].clone(), 0, bytes.len() as u64));
        let dynamic_offset = (offset_in_arena % page_bytes) as u32;
        let key: BindKey = (pipeline.clone(), key_entries);
        if !rec.bind_groups.contains_key(&key) {
            if rec.bind_groups.len() >= MAX_BIND_GROUPS {
                rec.bind_groups.clear();
            }
            let entries: Vec<wgpu::BindGroupEntry> = key
                .1
                .iter()
                .map(|(binding, buffer, offset, size)| wgpu::BindGroupEntry {
                    binding: *binding,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer,
                        offset: *offset,
                        size: wgpu::BufferSize::new(*size),
                    }),
                })
                .collect();
            let group = self
                .ctx
                .device
                .create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some(label),
                    layout: &pipeline.get_bind_group_layout(0),
                    entries: &entries,
                });
            rec.counts.bind_groups_created += 1;
            rec.bind_groups.insert(key.clone(), group);
        }
        let rec = &mut *rec;
        let group = &rec.bind_groups[&key];
        let encoder = rec
            .encoder
            .get_or_insert_with(|| self.ctx.encoder("recording"));
        let mut timer = self.timer.lock().unwrap();
        let timestamp_writes = timer.as_mut().and_then(|t| t.next_pass(label));
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(label),
            timestamp_writes,
        });
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, group, &[dynamic_offset]);
        pass.dispatch_workgroups(grid.0, grid.1, 1);
        rec.counts.dispatches += 1;
        Ok(())
    }

    /// Records a copy of `size` bytes from `src` at `src_offset` to `dst` at `dst_offset`.
    pub(super) fn record_copy(
        &self,
        src: &wgpu::Buffer,
        src_offset: u64,
        dst: &wgpu::Buffer,
        dst_offset: u64,
        size: u64,
    ) {
        let mut rec = self.recorder.lock().unwrap();
        rec.encoder
            .get_or_insert_with(|| self.ctx.encoder("recording"))
            .copy_buffer_to_buffer(src, src_offset, dst, dst_offset, size);
        rec.counts.copies += 1;
    }

    /// Submits what has been recorded, without waiting for it.
    pub fn flush(&self) {
        let slot_bytes = self.slot_bytes();
        self.recorder
            .lock()
            .unwrap()
            .submit(&self.ctx.queue, slot_bytes);
    }

    /// Submits what has been recorded and waits until the GPU has done it.
    pub(super) fn flush_and_wait(&self) -> Result<()> {
        self.flush();
        self.ctx.wait_idle()
    }

    /// Forgets the cached bind groups that bind a buffer of a dropped field, so that its
    /// memory is freed.
    // wgpu handles hash and compare by identity, which never changes.
    #[allow(clippy::mutable_key_type)]
    pub(super) fn evict_dropped(&self) {
        let gone = std::mem::take(&mut *self.dropped.lock().unwrap());
        if gone.is_empty() {
            return;
        }
        let gone: std::collections::HashSet<wgpu::Buffer> = gone.into_iter().collect();
        self.recorder
            .lock()
            .unwrap()
            .bind_groups
            .retain(|(_, entries), _| entries.iter().all(|e| !gone.contains(&e.1)));
    }

    /// Bind groups in the cache.
    pub fn cached_bind_groups(&self) -> usize {
        self.recorder.lock().unwrap().bind_groups.len()
    }
}

/// The largest params struct of any kernel (all are 16-byte multiples; see `params_layouts`).
pub(super) const MAX_PARAMS_BYTES: u64 = 128;
