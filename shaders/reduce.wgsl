// One-pass reduction of a chunk viewed as a flat f32 array: per workgroup the sums of the
// even- and odd-indexed values (real and imaginary parts of a complex field), the sum of
// squares, the min and the max. Each invocation sums ITEMS values with Kahan compensation,
// the workgroup combines them pairwise; the host adds the partials in f64.
//
// Host constants: WG_SIZE (even), ITEMS.

#import grid

struct ReduceParams {
    n: u32,            // f32 values in this chunk
    groups_x: u32,
    first_partial: u32, // index of this dispatch's first workgroup in `partials`
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> values: array<f32>;
@group(0) @binding(1) var<storage, read_write> partials: array<f32>;
@group(0) @binding(2) var<uniform> params: ReduceParams;

const PARTIAL_LEN: u32 = 8u;

var<workgroup> sum_wg: array<f32, WG_SIZE>;
var<workgroup> sq_wg: array<f32, WG_SIZE>;
var<workgroup> min_wg: array<f32, WG_SIZE>;
var<workgroup> max_wg: array<f32, WG_SIZE>;

@compute @workgroup_size(WG_SIZE)
fn reduce_stats(@builtin(workgroup_id) wid: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
    let group = linear_group(wid, params.groups_x);
    let start = group * WG_SIZE * ITEMS;
    var sum = 0.0;
    var sum_c = 0.0;
    var sq = 0.0;
    var sq_c = 0.0;
    var lo = 3.0e38;
    var hi = -3.0e38;
    // Invocation lid reads start + lid + k * WG_SIZE: all of one parity, since WG_SIZE is even.
    for (var k = 0u; k < ITEMS; k++) {
        let i = start + lid + k * WG_SIZE;
        if (i < params.n) {
            let v = values[i];
            let y = v - sum_c;
            let t = sum + y;
            sum_c = (t - sum) - y;
            sum = t;
            let y2 = v * v - sq_c;
            let t2 = sq + y2;
            sq_c = (t2 - sq) - y2;
            sq = t2;
            lo = min(lo, v);
            hi = max(hi, v);
        }
    }
    sum_wg[lid] = sum;
    sq_wg[lid] = sq;
    min_wg[lid] = lo;
    max_wg[lid] = hi;
    workgroupBarrier();
    // Pairwise tree; strides stay even down to 2 so that the two parities never mix.
    for (var h = WG_SIZE / 2u; h >= 1u; h = h / 2u) {
        if (lid < h) {
            if (h >= 2u) {
                sum_wg[lid] = sum_wg[lid] + sum_wg[lid + h];
            }
            sq_wg[lid] = sq_wg[lid] + sq_wg[lid + h];
            min_wg[lid] = min(min_wg[lid], min_wg[lid + h]);
            max_wg[lid] = max(max_wg[lid], max_wg[lid + h]);
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        let p = (params.first_partial + group) * PARTIAL_LEN;
        partials[p] = sum_wg[0];
        partials[p + 1u] = sum_wg[1];
        partials[p + 2u] = sq_wg[0];
        partials[p + 3u] = min_wg[0];
        partials[p + 4u] = max_wg[0];
    }
}
