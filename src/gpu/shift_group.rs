//! Fused shift groups on the GPU (shaders/shift_group.wgsl): the shifts of a group along
//! adjacent axes run on tiles held in workgroup memory, one read and one write of the field per
//! group. A group whose tile does not fit workgroup memory, whose tiles would cross the field's
//! chunks, or whose tables the kernel cannot address falls back to one sweep per axis, and
//! `tiling_for` says why (the plan prints it).

use anyhow::Result;

use super::{GpuBackend, GpuField, WG_SIZE};
use crate::backend::FieldInfo;
use crate::field::{strides_of, ChunkLayout};
use crate::gpu::shaders::Kernel;
use crate::kernels::{Advection, GroupPath, LineBoundary, LineShift};

/// Most tile elements one invocation keeps in private memory while an axis is shifted.
const MAX_PER_INVOCATION: usize = 64;

/// The tile geometry of a fused group: the field as [outer, rows, columns] with the group's
/// axes in `rows`, and a tile of one outer block's rows for `width` neighbouring columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct GroupTiling {
    /// First axis of the group.
    pub lo: usize,
    pub rows: usize,
    pub columns: usize,
    pub width: usize,
}

impl GroupTiling {
    pub fn tile_elems(&self) -> usize {
        self.rows * self.width
    }
}

/// The tiling of a fused pass over `axes` of a field of `shape` split as `layout`, with tiles
/// of at most `capacity` elements; or why there is none.
pub(super) fn tiling_for(
    shape: &[usize],
    layout: &ChunkLayout,
    axes: &[usize],
    capacity: usize,
) -> std::result::Result<GroupTiling, String> {
    let (Some(&lo), Some(&hi)) = (axes.iter().min(), axes.iter().max()) else {
        return Err("an empty group".into());
    };
    if axes.len() == 1 {
        return Err("a single axis".into());
    }
    if axes.len() > 3 || hi - lo + 1 != axes.len() {
        return Err(format!(
            "the kernel fuses two or three adjacent axes, not {axes:?}"
        ));
    }
    let rows: usize = shape[lo..=hi].iter().product();
    let columns: usize = shape[hi + 1..].iter().product();
    let capacity = capacity.min(MAX_PER_INVOCATION * WG_SIZE as usize);
    if rows > capacity {
        return Err(format!(
            "a tile of {rows} elements exceeds the {capacity} that fit workgroup memory here"
        ));
    }
    if layout.n_chunks > 1 && !layout.chunk_len.is_multiple_of(rows * columns) {
        return Err(format!(
            "its tiles span {} elements and would cross the field's {} chunks",
            rows * columns,
            layout.n_chunks
        ));
    }
    // The widest power of two of neighbouring columns that divides the columns and the
    // workgroup and fits: wide runs coalesce global accesses.
    let mut width = 1;
    while width < WG_SIZE as usize
        && columns.is_multiple_of(2 * width)
        && rows * 2 * width <= capacity
    {
        width *= 2;
    }
    Ok(GroupTiling {
        lo,
        rows,
        columns,
        width,
    })
}

/// Where a whole group does not fuse, its longest run of last axes that does: (the index in
/// `axes` where the run starts, its tiling). Only for groups in increasing axis order, so that
/// sweeping the others first keeps the group's order (and its bits).
fn fused_suffix(
    shape: &[usize],
    layout: &ChunkLayout,
    axes: &[usize],
    capacity: usize,
) -> Option<(usize, GroupTiling)> {
    if !axes.is_sorted() {
        return None;
    }
    (1..axes.len().saturating_sub(1)).find_map(|first| {
        Some((
            first,
            tiling_for(shape, layout, &axes[first..], capacity).ok()?,
        ))
    })
}

/// How the kernel finds the table entry of each axis's lines: from the outer block
/// (entry (outer / div) % len, as a kick's force over x) or from the column (entry
/// (column / div) % len, as a drift's momentum); None when the table follows neither.
fn table_addressing(t: &GroupTiling, div: usize, len: usize) -> Option<(u32, usize)> {
    let block = t.rows * t.columns;
    if div.is_multiple_of(block) {
        Some((1, div / block))
    } else if t.columns.is_multiple_of(div * len) {
        Some((0, div))
    } else {
        None
    }
}

#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct GroupAxis {
    n: u32,
    stride: u32,
    periodic: u32,
    on_outer: u32,
    table_div: u32,
    table_len: u32,
    scale: f32,
    _pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct GroupParams {
    tiles: u32,
    groups_x: u32,
    runs: u32,
    rows: u32,
    width: u32,
    columns: u32,
    outer0: u32,
    n_axes: u32,
    axes: [GroupAxis; 3],
}

/// The Rust twin of shift_group.wgsl's params (checked in `shaders::tests`).
#[cfg(test)]
pub(crate) fn params_layouts() -> Vec<crate::gpu::shaders::ParamsLayout> {
    vec![params_layout!(GroupParams {
        tiles,
        groups_x,
        runs,
        rows,
        width,
        columns,
        outer0,
        n_axes,
        axes
    })]
}

fn to_u32(v: usize, what: &str) -> Result<u32> {
    u32::try_from(v)
        .map_err(|_| anyhow::anyhow!("{what} = {v} exceeds the GPU kernels' 32-bit indices"))
}

impl GpuBackend {
    /// Elements a fused tile holds in this adapter's workgroup memory.
    fn group_tile_capacity(&self) -> usize {
        let memory = self.ctx.limits.max_compute_workgroup_storage_size as usize / 4;
        self.group_tile_override.map_or(memory, |o| o.min(memory))
    }

    /// `Advection::group_path` on the GPU: the whole group fused, else its longest run of
    /// last axes that fuses (`fused_suffix`), else one sweep per axis.
    pub(super) fn fused_group_path(&self, shape: &[usize], axes: &[usize]) -> GroupPath {
        if !self.fuse_groups {
            return GroupPath::PerAxis {
                reason: "fused tiles are off on software adapters (`fuse_groups`)".into(),
            };
        }
        let layout = match ChunkLayout::new(shape, self.max_chunk_len()) {
            Ok(l) => l,
            Err(e) => {
                return GroupPath::PerAxis {
                    reason: e.to_string(),
                }
            }
        };
        let capacity = self.group_tile_capacity();
        let reason = match tiling_for(shape, &layout, axes, capacity) {
            Ok(t) => {
                return GroupPath::Fused {
                    tile_elems: t.tile_elems(),
                }
            }
            Err(reason) => reason,
        };
        match fused_suffix(shape, &layout, axes, capacity) {
            Some((first, t)) => GroupPath::Split {
                fused: axes.len() - first,
                tile_elems: t.tile_elems(),
                reason,
            },
            None => GroupPath::PerAxis { reason },
        }
    }

    /// Records the group as one fused pass, or as sweeps of its first axes and one fused pass
    /// of the rest (`fused_suffix`), and returns true; or returns false (recording nothing)
    /// where no part of the group fuses: the caller then sweeps axis by axis.
    pub(super) fn record_fused_group(
        &self,
        f: &mut GpuField,
        group: &[(&GpuField, LineShift)],
    ) -> Result<bool> {
        if !self.fuse_groups {
            return Ok(false);
        }
        // Axes of one point are left alone (as shift_lines leaves them).
        let group: Vec<_> = group.iter().filter(|(_, s)| f.shape[s.axis] > 1).collect();
        let axes: Vec<usize> = group.iter().map(|(_, s)| s.axis).collect();
        let capacity = self.group_tile_capacity();
        let (first, t) = match tiling_for(&f.shape, &f.layout, &axes, capacity) {
            Ok(t) => (0, t),
            Err(_) => match fused_suffix(&f.shape, &f.layout, &axes, capacity) {
                Some(split) => split,
                None => return Ok(false),
            },
        };
        if !self.fused_pass_applies(&t, &group[first..]) {
            return Ok(false);
        }
        for (table, shift) in &group[..first] {
            self.shift_lines(f, table, shift)?;
        }
        self.record_fused_pass(f, &t, &group[first..])?;
        Ok(true)
    }

    /// Whether the kernel can run `group` on tiles `t`: one degree, addressable tables.
    fn fused_pass_applies(&self, t: &GroupTiling, group: &[&(&GpuField, LineShift)]) -> bool {
        let degree = group[0].1.degree;
        group.iter().all(|(table, s)| {
            s.degree == degree && table_addressing(t, s.table_div, table.len()).is_some()
        })
    }

    /// Records the fused pass of `group` (checked by `fused_pass_applies`) over tiles `t`.
    fn record_fused_pass(
        &self,
        f: &GpuField,
        t: &GroupTiling,
        group: &[&(&GpuField, LineShift)],
    ) -> Result<()> {
        let axes: Vec<usize> = group.iter().map(|(_, s)| s.axis).collect();
        let degree = group[0].1.degree;
        let strides = strides_of(&f.shape[t.lo..t.lo + axes.len()]);
        let mut params_axes = [GroupAxis::default(); 3];
        for (a, (table, shift)) in group.iter().enumerate() {
            let (on_outer, div) = table_addressing(t, shift.table_div, table.len())
                .expect("checked by fused_pass_applies");
            params_axes[a] = GroupAxis {
                n: to_u32(f.shape[shift.axis], "line length")?,
                stride: to_u32(strides[shift.axis - t.lo], "row stride")?,
                periodic: (shift.boundary == LineBoundary::Periodic) as u32,
                on_outer,
                table_div: to_u32(div, "table divisor")?,
                table_len: to_u32(table.len(), "table length")?,
                scale: shift.scale as f32,
                _pad: 0,
            };
        }
        const PURPOSES: [&str; 3] = ["group table 0", "group table 1", "group table 2"];
        let tables = group
            .iter()
            .zip(PURPOSES)
            .map(|((table, _), purpose)| self.as_one_buffer(table, purpose))
            .collect::<Result<Vec<_>>>()?;
        let tile = t.tile_elems();
        let constants = [
            ("TILE", tile as u32),
            ("PER_INV", tile.div_ceil(WG_SIZE as usize) as u32),
            ("WG_SIZE", WG_SIZE),
            ("DEGREE", degree as u32),
        ];
        let pipeline = self.pipeline(Kernel::SHIFT_GROUP, &constants)?;
        let block = t.rows * t.columns;
        let runs = t.columns / t.width;
        for (c, chunk) in f.chunks.iter().enumerate() {
            let range = f.layout.chunk_range(c);
            let tiles = range.len() / block * runs;
            let grid = self.grid_for(tiles as u64)?;
            let params = GroupParams {
                tiles: to_u32(tiles, "tiles")?,
                groups_x: grid.0,
                runs: to_u32(runs, "column runs")?,
                rows: to_u32(t.rows, "rows")?,
                width: to_u32(t.width, "width")?,
                columns: to_u32(t.columns, "columns")?,
                outer0: to_u32(range.start / block, "outer block")?,
                n_axes: group.len() as u32,
                axes: params_axes,
            };
            // Unused table slots are bound to the first table.
            let table = |a: usize| -> &wgpu::Buffer { tables.get(a).unwrap_or(&tables[0]) };
            let storage = [(0, chunk), (1, table(0)), (2, table(1)), (3, table(2))];
            self.dispatch("shift group", &pipeline, &storage, (4, &params), grid)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(shape: &[usize], chunk: usize) -> ChunkLayout {
        ChunkLayout::new(shape, chunk).unwrap()
    }

    #[test]
    fn kicks_and_drifts_of_the_vlasov_layouts_tile() {
        // 3D kick at np = 16: one momentum block of 4096 per tile, one column.
        let s = [8, 8, 8, 16, 16, 16];
        let t = tiling_for(&s, &layout(&s, 1 << 20), &[3, 4, 5], 4096).unwrap();
        assert_eq!((t.lo, t.rows, t.columns, t.width), (3, 4096, 1, 1));
        // 3D drift at nx = 8: 512 positions, 8 columns of momenta.
        let t = tiling_for(&s, &layout(&s, 1 << 22), &[0, 1, 2], 4096).unwrap();
        assert_eq!((t.lo, t.rows, t.columns, t.width), (0, 512, 4096, 8));
        // 2D kick at np = 64 fits 16 KiB; at np = 128 it does not.
        let s2 = [32, 32, 64, 64];
        assert!(tiling_for(&s2, &layout(&s2, 1 << 24), &[2, 3], 4096).is_ok());
        let s3 = [32, 32, 128, 128];
        let why = tiling_for(&s3, &layout(&s3, 1 << 24), &[2, 3], 4096).unwrap_err();
        assert!(why.contains("workgroup memory"), "{why}");
        // A drift over a field of several chunks has tiles that would cross them.
        let why = tiling_for(&s, &layout(&s, 1 << 16), &[0, 1, 2], 4096).unwrap_err();
        assert!(why.contains("chunks"), "{why}");
        // One axis, or axes that are not adjacent: no fused pass.
        assert!(tiling_for(&s, &layout(&s, 1 << 22), &[3], 4096).is_err());
        assert!(tiling_for(&s, &layout(&s, 1 << 22), &[0, 2], 4096).is_err());
    }

    /// 32⁶ with 48 KiB of workgroup memory (12288 f32): neither group fits a tile whole, so
    /// the first axis of each is swept and the last two are fused.
    #[test]
    fn groups_too_large_for_a_tile_fuse_their_last_axes() {
        let s = [32; 6];
        let l = layout(&s, 1 << 28);
        assert!(tiling_for(&s, &l, &[3, 4, 5], 12288).is_err());
        let (first, t) = fused_suffix(&s, &l, &[3, 4, 5], 12288).unwrap();
        assert_eq!(
            (first, t.lo, t.rows, t.columns, t.width),
            (1, 4, 1024, 1, 1)
        );
        let (first, t) = fused_suffix(&s, &l, &[0, 1, 2], 12288).unwrap();
        assert_eq!(
            (first, t.lo, t.rows, t.columns, t.width),
            (1, 1, 1024, 32768, 8)
        );
        // Not in increasing order: no split (it would reorder the shifts).
        assert!(fused_suffix(&s, &l, &[5, 4, 3], 12288).is_none());
        // Two axes only: a suffix of one axis is no fusion.
        assert!(fused_suffix(&s, &l, &[4, 5], 512).is_none());
    }

    #[test]
    fn tables_follow_the_outer_block_or_the_column() {
        let s = [8, 8, 8, 16, 16, 16];
        let kick = tiling_for(&s, &layout(&s, 1 << 20), &[3, 4, 5], 4096).unwrap();
        // The force over x: one entry per momentum block of 4096.
        assert_eq!(table_addressing(&kick, 4096, 512), Some((1, 1)));
        let drift = tiling_for(&s, &layout(&s, 1 << 22), &[0, 1, 2], 4096).unwrap();
        // The momentum p_i of the drift along x_i: divisor 256, 16, 1 over 16 entries.
        for div in [256, 16, 1] {
            assert_eq!(table_addressing(&drift, div, 16), Some((0, div)));
        }
        // A table that varies with the rows is refused.
        assert_eq!(table_addressing(&drift, 4096 * 8, 512), None);
    }
}
