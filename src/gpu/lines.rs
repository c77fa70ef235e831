//! Recording work on every line along one axis of a chunked field: the driver the FFT and the
//! line shifts share.
//!
//! Lines that lie inside one chunk (every axis but the leading ones of a multi-chunk array) are
//! handed to the kernel in place. Lines that cross chunk boundaries are first gathered into a
//! scratch chunk by buffer copies (runs of `w` neighbouring lines, so each copy moves many
//! contiguous elements), worked on there, and copied back.

use anyhow::{bail, Result};

use super::{GpuBackend, GpuField};
use crate::field::{gcd, strides_of, ChunkLayout};

/// Lines of one dispatch: `count` lines of length n in `buffer`; element j of line b lies at
/// (b / stride)·n·stride + (b % stride) + j·stride. Line b is the line of the whole field whose
/// element 0 has the flat index
///     (g / runs_per_outer)·span + (g % runs_per_outer)·stride + b % stride,  g = run0 + b / stride,
/// with span = n · (the axis stride in the field): what a kernel needs to find per-line data.
/// That index passes 2^32 in large fields; its two parts, the outer block g / runs_per_outer
/// and the inner offset below the axis stride, do not (shaders/advect.wgsl).
#[derive(Clone, Copy, Debug)]
pub(super) struct LineBatch {
    pub count: usize,
    pub stride: usize,
    pub run0: usize,
    pub runs_per_outer: usize,
    pub span: usize,
}

fn largest_divisor_at_most(g: usize, cap: usize) -> usize {
    let mut best = 1;
    let mut d = 1;
    while d * d <= g {
        if g.is_multiple_of(d) {
            for q in [d, g / d] {
                if q <= cap && q > best {
                    best = q;
                }
            }
        }
        d += 1;
    }
    best
}

/// The batches of lines along `axis` of a field laid out as `layout` (shape `shape`), in
/// order: lines inside chunk `chunk`, or the runs `runs` of `w` neighbouring lines each,
/// gathered into the scratch (`record_axis_lines` makes the copies). Pure index arithmetic in
/// usize, so that it holds for fields of any size (tests walk layouts beyond 2^32 elements).
#[derive(Clone, Debug)]
pub(super) enum AxisBatch {
    InChunk {
        chunk: usize,
        batch: LineBatch,
    },
    Gathered {
        runs: std::ops::Range<usize>,
        w: usize,
        batch: LineBatch,
    },
}

pub(super) fn axis_batches(
    layout: &ChunkLayout,
    shape: &[usize],
    axis: usize,
) -> Result<Vec<AxisBatch>> {
    let n = shape[axis];
    let stride = strides_of(shape)[axis];
    let span = n * stride;
    if layout.axis_within_chunks(axis) {
        return Ok((0..layout.n_chunks)
            .map(|c| {
                let range = layout.chunk_range(c);
                AxisBatch::InChunk {
                    chunk: c,
                    batch: LineBatch {
                        count: range.len() / n,
                        stride,
                        run0: range.start / span,
                        runs_per_outer: 1,
                        span,
                    },
                }
            })
            .collect());
    }
    // w divides both the axis stride and the chunk length, so no run straddles two chunks.
    let scratch_len = layout.chunk_len;
    if n > scratch_len {
        bail!(
            "lines of {n} elements along axis {axis} of a {shape:?} field are longer than one \
             chunk ({scratch_len} elements): the GPU works on each line inside one chunk, so \
             it needs chunks of at least {} bytes (--max-chunk-bytes), or use --backend cpu",
            (8 * n as u64).next_multiple_of(256)
        );
    }
    let w = largest_divisor_at_most(gcd(stride, layout.chunk_len), scratch_len / n);
    let runs_per_fill = scratch_len / (n * w);
    let runs_per_outer = stride / w;
    let total_runs = layout.len / span * runs_per_outer;
    Ok((0..total_runs)
        .step_by(runs_per_fill)
        .map(|run0| {
            let runs = runs_per_fill.min(total_runs - run0);
            AxisBatch::Gathered {
                runs: run0..run0 + runs,
                w,
                batch: LineBatch {
                    count: runs * w,
                    stride: w,
                    run0,
                    runs_per_outer,
                    span,
                },
            }
        })
        .collect())
}

impl GpuBackend {
    /// Calls `record(buffer, batch)` for every batch of lines along `axis`, gathering
    /// lines that cross chunks through the "line gather" scratch.
    pub(super) fn record_axis_lines(
        &self,
        field: &GpuField,
        axis: usize,
        mut record: impl FnMut(&wgpu::Buffer, LineBatch) -> Result<()>,
    ) -> Result<()> {
        let n = field.shape[axis];
        let layout = &field.layout;
        let batches = axis_batches(layout, &field.shape, axis)?;
        if batches.is_empty() {
            return Ok(());
        }
        let scratch = match &batches[0] {
            AxisBatch::Gathered { .. } => {
                Some(self.scratch("line gather", layout.chunk_len as u64 * 8))
            }
            AxisBatch::InChunk { .. } => None,
        };
        let elem_bytes = field.elem_bytes();
        for b in batches {
            match b {
                AxisBatch::InChunk { chunk, batch } => record(&field.chunks[chunk], batch)?,
                AxisBatch::Gathered { runs, w, batch } => {
                    let scratch = scratch.as_ref().expect("made for gathered batches");
                    let run_bytes = w as u64 * elem_bytes;
                    let (rpo, span) = (batch.runs_per_outer, batch.span);
                    // The axis stride: runs_per_outer runs of w lines.
                    let stride = rpo * w;
                    let copies = |to_scratch: bool| {
                        for (g, run) in runs.clone().enumerate() {
                            let origin = run / rpo * span + run % rpo * w;
                            for j in 0..n {
                                let flat = origin + j * stride;
                                let chunk = &field.chunks[flat / layout.chunk_len];
                                let chunk_off = (flat % layout.chunk_len) as u64 * elem_bytes;
                                let scratch_off = ((g * n + j) * w) as u64 * elem_bytes;
                                if to_scratch {
                                    self.record_copy(
                                        chunk,
                                        chunk_off,
                                        scratch,
                                        scratch_off,
                                        run_bytes,
                                    );
                                } else {
                                    self.record_copy(
                                        scratch,
                                        scratch_off,
                                        chunk,
                                        chunk_off,
                                        run_bytes,
                                    );
                                }
                            }
                        }
                    };
                    copies(true);
                    record(scratch, batch)?;
                    copies(false);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divisor_helpers() {
        assert_eq!(gcd(32768, 8192), 8192);
        assert_eq!(largest_divisor_at_most(8192, 1024), 1024);
        assert_eq!(largest_divisor_at_most(12, 5), 4);
        assert_eq!(largest_divisor_at_most(7, 3), 1);
    }
}
