// Semi-Lagrangian shift of lines: the new value at point j of a line is the old line's Lagrange
// interpolant of odd degree DEGREE at j − s, with s the same for the whole line,
// s = scale · table[(origin / div) % table_len] and origin the flat index of the line's
// element 0 in the whole field. The table is constant along lines, so that index depends either
// on the axes before the line's axis only (the outer block, origin / span) or on those after it
// only (the inner offset, origin mod stride); the kernel works from those two, each of which
// fits 32 bits where the origin of a field beyond 2^32 elements does not. The host passes
// table_div = div / span in the first case (TABLE_ON_OUTER) and div in the second.
//
// Each workgroup loads LINES_PER_WG whole lines into workgroup memory, computes each line's
// stencil offset and weights once, and writes the shifted lines back in place: one read and one
// write of global memory per element. Beyond the ends a line is periodic (PERIODIC = 1) or zero.
//
// Lines are addressed as in fft.wgsl (line b starts at (b / stride)·LEN·stride + b % stride);
// gpu/lines.rs explains run0, runs_per_outer and span.
//
// Host constants: LEN, LINES_PER_WG, WG_SIZE, DEGREE, PERIODIC.

#import grid
#import lines
#import stencil

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
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> data: array<f32>;
@group(0) @binding(1) var<storage, read> table: array<f32>;
@group(0) @binding(2) var<uniform> params: ShiftParams;

const ELEMS: u32 = LEN * LINES_PER_WG;

var<workgroup> line_buf: array<f32, ELEMS>;
var<workgroup> line_k: array<i32, LINES_PER_WG>;
var<workgroup> line_w: array<f32, LINES_PER_WG * POINTS>;

fn stencil_of(line: u32) -> Stencil {
    return stencil_at(params.scale * table[line_table_index(line)]);
}

fn tap_index(i: i32) -> i32 {
    return line_tap(i, LEN, PERIODIC == 1u);
}

// The table entry of a line: from its outer block g / runs_per_outer (a run is `stride`
// neighbouring lines; runs_per_outer of them make one outer block) or its inner offset.
fn line_table_index(line: u32) -> u32 {
    let g = params.run0 + line / params.stride;
    if (params.table_on_outer == 1u) {
        return (g / params.runs_per_outer / params.table_div) % params.table_len;
    }
    let inner = (g % params.runs_per_outer) * params.stride + line % params.stride;
    return (inner / params.table_div) % params.table_len;
}

// Workgroup form: LINES_PER_WG whole lines in workgroup memory, loaded and stored by the whole
// workgroup (coalesced on any axis), two barriers.
@compute @workgroup_size(WG_SIZE)
fn shift_lines(@builtin(workgroup_id) wid: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let first_line = linear_group(wid, params.groups_x) * LINES_PER_WG;
    if (first_line >= params.lines) {
        return;
    }
    for (var e = lid; e < ELEMS; e += WG_SIZE) {
        let c = block_coords(e);
        let line = first_line + c.x;
        if (line < params.lines) {
            line_buf[c.x * LEN + c.y] = data[element_offset(line, c.y)];
        }
    }
    for (var t = lid; t < LINES_PER_WG; t += WG_SIZE) {
        let line = first_line + t;
        if (line < params.lines) {
            let st = stencil_of(line);
            line_k[t] = st.k;
            for (var m = 0u; m < POINTS; m++) {
                line_w[t * POINTS + m] = st.w[m];
            }
        }
    }
    workgroupBarrier();

    for (var e = lid; e < ELEMS; e += WG_SIZE) {
        let c = block_coords(e);
        let line = first_line + c.x;
        if (line < params.lines) {
            let start = i32(c.y) - line_k[c.x] - LO;
            var v: array<f32, POINTS>;
            var w: array<f32, POINTS>;
            for (var m = 0u; m < POINTS; m++) {
                let t = tap_index(start + i32(m));
                v[m] = 0.0;
                if (t >= 0) {
                    v[m] = line_buf[c.x * LEN + u32(t)];
                }
                w[m] = line_w[c.x * POINTS + m];
            }
            data[element_offset(line, c.y)] = increment_form(v, w);
        }
    }
}

// Barrier-free form, for strided axes: one invocation per line holds it in private memory;
// neighbouring invocations take neighbouring lines, which are neighbours in memory, so the
// loads and stores still coalesce. Same arithmetic, in the same order, as shift_lines.
@compute @workgroup_size(WG_SIZE)
fn shift_lines_direct(@builtin(workgroup_id) wid: vec3<u32>,
                      @builtin(local_invocation_index) lid: u32) {
    let line = linear_group(wid, params.groups_x) * WG_SIZE + lid;
    if (line >= params.lines) {
        return;
    }
    var old: array<f32, LEN>;
    for (var j = 0u; j < LEN; j++) {
        old[j] = data[element_offset(line, j)];
    }
    let st = stencil_of(line);
    for (var j = 0u; j < LEN; j++) {
        let start = i32(j) - st.k - LO;
        var v: array<f32, POINTS>;
        for (var m = 0u; m < POINTS; m++) {
            let t = tap_index(start + i32(m));
            v[m] = 0.0;
            if (t >= 0) {
                v[m] = old[u32(t)];
            }
        }
        data[element_offset(line, j)] = increment_form(v, st.w);
    }
}
