// Kernels on an operator A_ab stored as complex f32 pairs, row index a first: element
// e = a·P + b of the whole array, P points.
//
// conjugation_phase: A_ab ← exp(−i·scale·(t_a − t_b)) A_ab over one chunk.
// diagonal: out[a] = Re A_aa for the diagonal elements inside one chunk.
// position_commutator: A_ab ← i·s[(a_i − b_i) mod 2n]·A_ab over one chunk, with a_i the index of
//   point a along the axis (a / axis_stride mod axis_n) and s the separation table (2n values).
//
// Host constants: WG_SIZE.

#import complex
#import grid

struct OperatorParams {
    n: u32,           // elements in this chunk (conjugation_phase) or diagonal elements (diagonal)
    groups_x: u32,
    points: u32,      // P
    start_row: u32,   // row and column of the chunk's first element
    start_col: u32,
    first_diag: u32,  // diagonal: first a whose A_aa lies in this chunk
    scale: f32,
    axis_n: u32,      // position_commutator: points along the axis and its flat stride
    axis_stride: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> data: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read> table: array<f32>;
@group(0) @binding(2) var<uniform> params: OperatorParams;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// (row, column) of entry i of this chunk.
fn row_col(i: u32) -> vec2<u32> {
    let c = params.start_col + i;
    return vec2<u32>(params.start_row + c / params.points, c % params.points);
}

@compute @workgroup_size(WG_SIZE)
fn conjugation_phase(@builtin(workgroup_id) wid: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
    let i = linear_group(wid, params.groups_x) * WG_SIZE + lid;
    if (i >= params.n) {
        return;
    }
    let rc = row_col(i);
    let row = rc.x;
    let col = rc.y;
    let phase = params.scale * (table[row] - table[col]);
    data[i] = cmul(data[i], vec2<f32>(cos(phase), -sin(phase)));
}

@compute @workgroup_size(WG_SIZE)
fn diagonal(@builtin(workgroup_id) wid: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let t = linear_group(wid, params.groups_x) * WG_SIZE + lid;
    if (t >= params.n) {
        return;
    }
    let a = params.first_diag + t;
    // Local index of A_aa: (a − start_row)·P + a − start_col (≥ 0 for the a given).
    let local = (a - params.start_row) * params.points + a - params.start_col;
    out[a] = data[local].x;
}

@compute @workgroup_size(WG_SIZE)
fn position_commutator(@builtin(workgroup_id) wid: vec3<u32>,
                       @builtin(local_invocation_index) lid: u32) {
    let i = linear_group(wid, params.groups_x) * WG_SIZE + lid;
    if (i >= params.n) {
        return;
    }
    let rc = row_col(i);
    let row = rc.x;
    let col = rc.y;
    let m = 2u * params.axis_n;
    let ra = (row / params.axis_stride) % params.axis_n;
    let rb = (col / params.axis_stride) % params.axis_n;
    let s = table[(m + ra - rb) % m];
    let z = data[i];
    data[i] = vec2<f32>(-s * z.y, s * z.x);
}
