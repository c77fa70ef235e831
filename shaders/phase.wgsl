// Reductions of a phase-space array f(x, p), stored with the momentum axes last.
//
// sum_inner: out[i] = scale · Σ_(j < inner) f[i·inner + j] (the density ρ = ∫f dp), one
// workgroup per output, chunk by chunk; a block cut by a chunk boundary is finished by the
// next chunk's dispatch, which adds to what the previous one wrote.
//
// phase_sums: per workgroup Σf, Σ|f|, Σf², Σ f ln f (f > 0), Σ f p_i, Σ f |p|², min and max,
// with Kahan-compensated f32 sums per invocation; the host adds the partials in f64.
//
// Host constants: WG_SIZE (a power of two), ITEMS.

#import grid

struct SumParams {
    n: u32,             // f32 values in this chunk
    groups_x: u32,
    inner: u32,
    first_out: u32,     // output index of workgroup 0
    // Local index of workgroup 0's block start: first_out·inner − chunk start (≤ 0).
    first_offset: i32,
    scale: f32,
    _pad0: u32,
    _pad1: u32,
}

struct PhaseParams {
    n: u32,
    groups_x: u32,
    first_partial: u32,
    start_mod: u32,     // (flat index of the chunk's first element) mod (momentum block size)
    np: vec4<u32>,      // momentum axis sizes (1 beyond the d axes); w = d
    p_min: vec4<f32>,
    dp: vec4<f32>,
}

@group(0) @binding(0) var<storage, read> values: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> sum_params: SumParams;
@group(0) @binding(3) var<uniform> phase_params: PhaseParams;

var<workgroup> acc_a: array<vec4<f32>, WG_SIZE>;
var<workgroup> acc_b: array<vec4<f32>, WG_SIZE>;
var<workgroup> acc_lo: array<f32, WG_SIZE>;
var<workgroup> acc_hi: array<f32, WG_SIZE>;

@compute @workgroup_size(WG_SIZE)
fn sum_inner(@builtin(workgroup_id) wid: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let group = linear_group(wid, sum_params.groups_x);
    let block_start = i32(group * sum_params.inner) + sum_params.first_offset;
    let lo = u32(max(block_start, 0));
    let hi = min(u32(block_start + i32(sum_params.inner)), sum_params.n);
    var s = 0.0;
    var c = 0.0;
    for (var i = lo + lid; i < hi; i += WG_SIZE) {
        let y = values[i] - c;
        let t = s + y;
        c = (t - s) - y;
        s = t;
    }
    acc_a[lid] = vec4<f32>(s, 0.0, 0.0, 0.0);
    workgroupBarrier();
    for (var h = WG_SIZE / 2u; h >= 1u; h = h / 2u) {
        if (lid < h) {
            acc_a[lid] = acc_a[lid] + acc_a[lid + h];
        }
        workgroupBarrier();
    }
    if (lid == 0u && lo < hi) {
        let o = sum_params.first_out + group;
        let v = sum_params.scale * acc_a[0].x;
        if (block_start < 0) {
            out[o] = out[o] + v;
        } else {
            out[o] = v;
        }
    }
}

const PARTIAL_LEN: u32 = 16u;

@compute @workgroup_size(WG_SIZE)
fn phase_sums(@builtin(workgroup_id) wid: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let group = linear_group(wid, phase_params.groups_x);
    let start = group * WG_SIZE * ITEMS;
    let block = phase_params.np.x * phase_params.np.y * phase_params.np.z;
    // Kahan sums: a = (Σf, Σ|f|, Σf², Σ f ln f), b = (Σ f p_0, Σ f p_1, Σ f p_2, Σ f |p|²).
    var sa = vec4<f32>(0.0);
    var ca = vec4<f32>(0.0);
    var sb = vec4<f32>(0.0);
    var cb = vec4<f32>(0.0);
    var lo = 3.0e38;
    var hi = -3.0e38;
    for (var k = 0u; k < ITEMS; k++) {
        let i = start + lid + k * WG_SIZE;
        if (i < phase_params.n) {
            let v = values[i];
            var q = (phase_params.start_mod + i % block) % block;
            let k2 = q % phase_params.np.z;
            q = q / phase_params.np.z;
            let k1 = q % phase_params.np.y;
            let k0 = q / phase_params.np.y;
            let p = phase_params.p_min.xyz
                + vec3<f32>(f32(k0), f32(k1), f32(k2)) * phase_params.dp.xyz;
            var flogf = 0.0;
            if (v > 0.0) {
                flogf = v * log(v);
            }
            let ya = vec4<f32>(v, abs(v), v * v, flogf) - ca;
            let ta = sa + ya;
            ca = (ta - sa) - ya;
            sa = ta;
            let yb = vec4<f32>(v * p, v * dot(p, p)) - cb;
            let tb = sb + yb;
            cb = (tb - sb) - yb;
            sb = tb;
            lo = min(lo, v);
            hi = max(hi, v);
        }
    }
    acc_a[lid] = sa;
    acc_b[lid] = sb;
    acc_lo[lid] = lo;
    acc_hi[lid] = hi;
    workgroupBarrier();
    for (var h = WG_SIZE / 2u; h >= 1u; h = h / 2u) {
        if (lid < h) {
            acc_a[lid] = acc_a[lid] + acc_a[lid + h];
            acc_b[lid] = acc_b[lid] + acc_b[lid + h];
            acc_lo[lid] = min(acc_lo[lid], acc_lo[lid + h]);
            acc_hi[lid] = max(acc_hi[lid], acc_hi[lid + h]);
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        let o = (phase_params.first_partial + group) * PARTIAL_LEN;
        for (var j = 0u; j < 4u; j++) {
            out[o + j] = acc_a[0][j];
            out[o + 4u + j] = acc_b[0][j];
        }
        out[o + 8u] = acc_lo[0];
        out[o + 9u] = acc_hi[0];
    }
}
