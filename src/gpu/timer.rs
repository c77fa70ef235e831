//! Per-pass GPU times from timestamp queries, where the adapter has them.

use std::collections::BTreeMap;

use anyhow::{anyhow, Result};

use super::context::{GpuContext, WAIT_TIMEOUT};

/// Largest query set wgpu allows.
const MAX_QUERIES: u32 = 4096;

/// Collects begin/end timestamps of labelled compute passes until read.
pub struct PassTimer {
    query_set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
    labels: Vec<&'static str>,
    /// Passes that found the query set full and went untimed.
    pub dropped: usize,
}

impl PassTimer {
    pub fn new(ctx: &GpuContext) -> Option<Self> {
        if !ctx.has_timestamps() {
            return None;
        }
        let bytes = MAX_QUERIES as u64 * 8;
        Some(Self {
            query_set: ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("pass timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: MAX_QUERIES,
            }),
            resolve: ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamp resolve"),
                size: bytes,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
            readback: ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamp readback"),
                size: bytes,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            labels: Vec::new(),
            dropped: 0,
        })
    }

    /// Timestamp writes for the next pass, or `None` when the set is full.
    pub fn next_pass(
        &mut self,
        label: &'static str,
    ) -> Option<wgpu::ComputePassTimestampWrites<'_>> {
        let first = 2 * self.labels.len() as u32;
        if first + 2 > MAX_QUERIES {
            self.dropped += 1;
            return None;
        }
        self.labels.push(label);
        Some(wgpu::ComputePassTimestampWrites {
            query_set: &self.query_set,
            beginning_of_pass_write_index: Some(first),
            end_of_pass_write_index: Some(first + 1),
        })
    }

    /// Total GPU seconds per label of the passes recorded so far (all must have been
    /// submitted); clears the record. Empty when passes went untimed (the totals would be short).
    pub fn read(&mut self, ctx: &GpuContext) -> Result<BTreeMap<&'static str, f64>> {
        let mut totals = BTreeMap::new();
        if self.labels.is_empty() || self.dropped > 0 {
            self.labels.clear();
            self.dropped = 0;
            return Ok(totals);
        }
        let count = 2 * self.labels.len() as u32;
        let mut encoder = ctx.encoder("resolve timestamps");
        encoder.resolve_query_set(&self.query_set, 0..count, &self.resolve, 0);
        encoder.copy_buffer_to_buffer(&self.resolve, 0, &self.readback, 0, count as u64 * 8);
        ctx.submit_and_wait(encoder)?;
        let slice = self.readback.slice(0..count as u64 * 8);
        slice.map_async(wgpu::MapMode::Read, |_| {});
        ctx.device
            .poll(wgpu::PollType::Wait {
                submission_index: None,
                timeout: Some(WAIT_TIMEOUT),
            })
            .map_err(|e| anyhow!("waiting for timestamps: {e}"))?;
        let period_ns = ctx.queue.get_timestamp_period() as f64;
        {
            let view = slice
                .get_mapped_range()
                .map_err(|e| anyhow!("mapping timestamps: {e:?}"))?;
            let ticks: &[u64] = bytemuck::cast_slice(&view);
            for (i, label) in self.labels.iter().enumerate() {
                let dt = ticks[2 * i + 1].wrapping_sub(ticks[2 * i]) as f64 * period_ns * 1e-9;
                *totals.entry(*label).or_insert(0.0) += dt;
            }
        }
        self.readback.unmap();
        self.labels.clear();
        Ok(totals)
    }
}
