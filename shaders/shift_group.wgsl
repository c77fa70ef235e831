// A group of line shifts along up to three adjacent axes (kernels::Advection::shift_group),
// in one read and one write of global memory: each workgroup loads one tile into workgroup
// memory, runs every shift of the group on it there, and stores it back.
//
// The array is seen as [outer, rows, columns]: `rows` runs over the group's axes (row-major,
// axis a with n points at a stride of `stride` rows), `outer` over the axes before them and
// `columns` over those after. A tile is one outer block's rows for a run of `width`
// neighbouring columns (width divides WG_SIZE, so every element an invocation owns lies in
// the column lid % width). A Vlasov kick group is one position's momentum block (columns = 1);
// a drift group is every position for a run of momentum columns (outer = 1).
//
// Each axis's shift is the same for a whole line, from a table indexed by the outer block
// (on_outer = 1: a kick's force over x) or by the column (a drift's momentum), so the
// invocation computes its stencil once per axis. The arithmetic is shift_lines' (stencil.wgsl),
// axis after axis in the group's order.
//
// Host constants: TILE (elements of the tile array), PER_INV (= TILE / WG_SIZE, rounded up),
// WG_SIZE, DEGREE.

#import grid
#import stencil

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

struct GroupParams {
    tiles: u32,
    groups_x: u32,
    runs: u32,
    rows: u32,
    width: u32,
    columns: u32,
    outer0: u32,
    n_axes: u32,
    axes: array<GroupAxis, 3>,
}

@group(0) @binding(0) var<storage, read_write> data: array<f32>;
@group(0) @binding(1) var<storage, read> table0: array<f32>;
@group(0) @binding(2) var<storage, read> table1: array<f32>;
@group(0) @binding(3) var<storage, read> table2: array<f32>;
@group(0) @binding(4) var<uniform> params: GroupParams;

var<workgroup> tile: array<f32, TILE>;

fn table_value(a: u32, i: u32) -> f32 {
    if (a == 0u) {
        return table0[i];
    }
    if (a == 1u) {
        return table1[i];
    }
    return table2[i];
}

@compute @workgroup_size(WG_SIZE)
fn shift_group(@builtin(workgroup_id) wid: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let g = linear_group(wid, params.groups_x);
    if (g >= params.tiles) {
        return;
    }
    let o = g / params.runs;
    let c0 = (g % params.runs) * params.width;
    let elems = params.rows * params.width;
    let base = o * params.rows * params.columns + c0;
    for (var e = lid; e < elems; e += WG_SIZE) {
        tile[e] = data[base + (e / params.width) * params.columns + e % params.width];
    }
    workgroupBarrier();

    let c = lid % params.width;
    for (var a = 0u; a < params.n_axes; a++) {
        let ax = params.axes[a];
        var entry = (c0 + c) / ax.table_div;
        if (ax.on_outer == 1u) {
            entry = (params.outer0 + o) / ax.table_div;
        }
        let st = stencil_at(ax.scale * table_value(a, entry % ax.table_len));
        var out: array<f32, PER_INV>;
        for (var q = 0u; q < PER_INV; q++) {
            let e = lid + q * WG_SIZE;
            if (e < elems) {
                let r = e / params.width;
                let j = (r / ax.stride) % ax.n;
                let row0 = r - j * ax.stride;
                let start = i32(j) - st.k - LO;
                var v: array<f32, POINTS>;
                for (var m = 0u; m < POINTS; m++) {
                    let t = line_tap(start + i32(m), ax.n, ax.periodic == 1u);
                    v[m] = 0.0;
                    if (t >= 0) {
                        v[m] = tile[(row0 + u32(t) * ax.stride) * params.width + c];
                    }
                }
                out[q] = increment_form(v, st.w);
            }
        }
        workgroupBarrier();
        for (var q = 0u; q < PER_INV; q++) {
            let e = lid + q * WG_SIZE;
            if (e < elems) {
                tile[e] = out[q];
            }
        }
        workgroupBarrier();
    }

    for (var e = lid; e < elems; e += WG_SIZE) {
        data[base + (e / params.width) * params.columns + e % params.width] = tile[e];
    }
}
