// The index maps of Wigner_s and Weyl quantization (src/wigner.rs, CPU twin src/cpu/quantize.rs)
// between a complex matrix of shape [n; d] ++ [n; d] and a complex phase array of shape
// [2n; d] ++ [2n; d], d = params.dim ≤ 3, both row-major.
//
// Either array may be split into chunks (contiguous runs of the flat index). One dispatch
// pairs one chunk of the output (`out_buf`, flat elements out_start .. out_start + out_len) with
// one chunk of the input (`in_buf`, in_start .. in_start + in_len): each output element sums the
// terms whose source lies in that input chunk and stores scale · sum (accumulate = 0, the first
// input chunk) or adds it (accumulate = 1). So every output element is written, whatever the
// chunking, after one dispatch per input chunk.
//
// Host constants: WG_SIZE.

#import grid

struct QuantizeParams {
    n: u32,
    dim: u32,
    groups_x: u32,
    accumulate: u32,
    out_start: u32,
    out_len: u32,
    in_start: u32,
    in_len: u32,
    scale: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> out_buf: array<f32>;
@group(0) @binding(1) var<storage, read> in_buf: array<f32>;
@group(0) @binding(2) var<uniform> params: QuantizeParams;

// Index of this invocation's element in the output chunk (out_len or more: nothing to do).
fn element(wid: vec3<u32>, lid: u32) -> u32 {
    return linear_group(wid, params.groups_x) * WG_SIZE + lid;
}

// Digits of flat index g of an array with 2·dim axes of length m each (axis 0 first).
fn digits(g: u32, m: u32) -> array<u32, 6> {
    var out: array<u32, 6>;
    var rest = g;
    let axes = 2u * params.dim;
    for (var a = 0u; a < axes; a++) {
        out[axes - 1u - a] = rest % m;
        rest = rest / m;
    }
    return out;
}

// Row-major strides of an array with 2·dim axes of length m each.
fn strides(m: u32) -> array<u32, 6> {
    var out: array<u32, 6>;
    var s = 1u;
    let axes = 2u * params.dim;
    for (var a = 0u; a < axes; a++) {
        out[axes - 1u - a] = s;
        s = s * m;
    }
    return out;
}

// The value of flat input element o, or 0 outside this input chunk.
fn input(o: u32) -> vec2<f32> {
    if (o < params.in_start || o - params.in_start >= params.in_len) {
        return vec2<f32>(0.0);
    }
    let l = 2u * (o - params.in_start);
    return vec2<f32>(in_buf[l], in_buf[l + 1u]);
}

fn store(t: u32, acc: vec2<f32>) {
    var v = params.scale * acc;
    if (params.accumulate == 1u) {
        v = v + vec2<f32>(out_buf[2u * t], out_buf[2u * t + 1u]);
    }
    out_buf[2u * t] = v.x;
    out_buf[2u * t + 1u] = v.y;
}

// Wigner placement: output = phase array (X-mode index Q, momentum index i), input = Â.
// Per axis the Fourier pairs (q1, q2) with Q ≡ q1 − q2 (mod 2n), k = q1 + q2 = i − n (or n when
// i = 0), |q1|, |q2| ≤ n/2, weight ½ per index at ±n/2 (kernels::place_sources).
@compute @workgroup_size(WG_SIZE)
fn wigner_place(@builtin(workgroup_id) wid: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
    let t = element(wid, lid);
    if (t >= params.out_len) {
        return;
    }
    let n = params.n;
    let d = params.dim;
    let dg = digits(params.out_start + t, 2u * n);
    let ms = strides(n);
    // Candidate c of axis i at 4i + c: its offset in Â and its weight.
    var off: array<u32, 12>;
    var wt: array<f32, 12>;
    var count = array<u32, 3>(1u, 1u, 1u);
    let ni = i32(n);
    for (var i = 0u; i < d; i++) {
        var c = 0u;
        let qi = i32(dg[i]);
        var q0 = qi;
        if (qi >= ni) {
            q0 = qi - 2 * ni;
        }
        let k0 = i32(dg[d + i]) - ni;
        for (var qs = 0; qs < 2; qs++) {
            if (qs == 1 && q0 != -ni) {
                continue;
            }
            let q = q0 + 2 * ni * qs;
            for (var ks = 0; ks < 2; ks++) {
                if (ks == 1 && k0 != -ni) {
                    continue;
                }
                let k = k0 + 2 * ni * ks;
                if (((q + k) & 1) != 0) {
                    continue;
                }
                let q1 = (k + q) / 2;
                let q2 = (k - q) / 2;
                if (2 * abs(q1) > ni || 2 * abs(q2) > ni) {
                    continue;
                }
                var w = 1.0;
                if (2 * abs(q1) == ni) {
                    w = w * 0.5;
                }
                if (2 * abs(q2) == ni) {
                    w = w * 0.5;
                }
                let u1 = wrap_index(q1, u32(ni));
                let u2 = wrap_index(q2, u32(ni));
                off[4u * i + c] = u1 * ms[i] + u2 * ms[d + i];
                wt[4u * i + c] = w;
                c++;
            }
        }
        count[i] = c;
    }
    var acc = vec2<f32>(0.0);
    let total = count[0] * count[1] * count[2];
    for (var combo = 0u; combo < total; combo++) {
        var rest = combo;
        var o = 0u;
        var w = 1.0;
        for (var i = 0u; i < d; i++) {
            let c = rest % count[i];
            rest = rest / count[i];
            o = o + off[4u * i + c];
            w = w * wt[4u * i + c];
        }
        acc = acc + w * input(o);
    }
    store(t, acc);
}

// Wigner_s window: multiplies the phase array in place by Π_i weight(r_i) over its momentum
// axes, r read as a separation in FFT order (wigner::separation_weight). Uses out_buf only.
@compute @workgroup_size(WG_SIZE)
fn separation_window(@builtin(workgroup_id) wid: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
    let t = element(wid, lid);
    if (t >= params.out_len) {
        return;
    }
    let n = params.n;
    let d = params.dim;
    let dg = digits(params.out_start + t, 2u * n);
    var w = 1.0;
    for (var i = 0u; i < d; i++) {
        let r = dg[d + i];
        let m = min(r, 2u * n - r);
        if (2u * m == n) {
            w = w * 0.5;
        } else if (2u * m > n) {
            w = 0.0;
        }
    }
    out_buf[2u * t] = w * out_buf[2u * t];
    out_buf[2u * t + 1u] = w * out_buf[2u * t + 1u];
}

// Weyl gather: output = matrix (a, b), input = the phase array after the momentum FFT.
// Σ over σ ∈ {0, 1}^d of (−1)^(Σ r) phase[(j, r)], j = (a + b + σn) mod 2n, r = (a − b + σn)
// mod 2n per axis.
@compute @workgroup_size(WG_SIZE)
fn weyl_gather(@builtin(workgroup_id) wid: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let t = element(wid, lid);
    if (t >= params.out_len) {
        return;
    }
    let n = params.n;
    let d = params.dim;
    let m = 2u * n;
    let dg = digits(params.out_start + t, n);
    let ps = strides(m);
    var acc = vec2<f32>(0.0);
    for (var sigma = 0u; sigma < (1u << d); sigma++) {
        var o = 0u;
        var parity = 0u;
        for (var i = 0u; i < d; i++) {
            let s = ((sigma >> i) & 1u) * n;
            let j = (dg[i] + dg[d + i] + s) % m;
            let r = (dg[i] + m - dg[d + i] + s) % m;
            o = o + j * ps[i] + r * ps[d + i];
            parity = parity + r;
        }
        if ((parity & 1u) == 1u) {
            acc = acc - input(o);
        } else {
            acc = acc + input(o);
        }
    }
    store(t, acc);
}
