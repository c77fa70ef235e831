// Batched complex FFT of length LEN = 2^a·3^b·5^c along lines of a chunk, in workgroup memory.
//
// Each workgroup loads LINES_PER_WG whole lines into workgroup memory in mixed-radix
// digit-reversed order, runs one decimation-in-time stage per factor of LEN in place (radix 4,
// 2, 3 or 5; one barrier per stage), and writes the lines back to where they came from: one
// read and one write of global memory per element and pass. The inverse transform is
// conj(FFT(conj(x))) / LEN, so the stages only ever run forward.
//
// Line b of the dispatch starts at (b / stride) * LEN * stride + (b % stride) and its element j
// lies `stride` further on per j: for the FFT along axis a of a row-major array, stride is the
// product of the later axes.
//
// Host constants: LEN, LINES_PER_WG, WG_SIZE, and the stage counts STAGES4, STAGES2, STAGES3,
// STAGES5 (LEN = 4^STAGES4 · 2^STAGES2 · 3^STAGES3 · 5^STAGES5; stages run in that order).
//
// Each radix has its own loop and butterfly with the values in named locals: a private array
// indexed at run time goes to (spilled) local memory on most compilers.

#import complex
#import grid
#import lines

struct FftParams {
    lines: u32,
    stride: u32,
    groups_x: u32,
    inverse: u32,
    // Four-step twist (twist_n = 0: none): output k1 of a line with (line % stride) / twist_div
    // = j2 is multiplied by exp(∓2πi j2 k1 / twist_n).
    twist_n: u32,
    twist_div: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read_write> data: array<vec2<f32>>;
// twiddle[k] = exp(-2πi k / LEN) for k < LEN, computed on the host in f64.
@group(0) @binding(1) var<storage, read> twiddle: array<vec2<f32>>;
@group(0) @binding(2) var<uniform> params: FftParams;
// twist[r] = exp(-2πi r / twist_n) for r < twist_n (the twiddle table when unused).
@group(0) @binding(3) var<storage, read> twist: array<vec2<f32>>;
// digits[j]: where input element j goes so that every stage works in place (the last stage's
// radix r takes the r subsequences j ≡ q (mod r) as contiguous blocks of LEN / r, and so on
// down; for radix 2 throughout, the bit reversal). A table: the digit loop costs divisions.
@group(0) @binding(6) var<storage, read> digits: array<u32>;

const ELEMS: u32 = LEN * LINES_PER_WG;
// Butterflies per line of each radix (1 where the radix does not divide LEN and its loop never
// runs: a constant division by zero would not compile).
const LEN_4: u32 = max(LEN / 4u, 1u);
const LEN_2: u32 = max(LEN / 2u, 1u);
const LEN_3: u32 = max(LEN / 3u, 1u);
const LEN_5: u32 = max(LEN / 5u, 1u);
var<workgroup> line_buf: array<vec2<f32>, ELEMS>;

// exp(-2πi/3) = -1/2 - i·SIN3; exp(-2πi/5) = COS5_1 - i·SIN5_1, exp(-4πi/5) = COS5_2 - i·SIN5_2.
const SIN3: f32 = 0.8660254037844386;
const COS5_1: f32 = 0.30901699437494745;
const COS5_2: f32 = -0.8090169943749475;
const SIN5_1: f32 = 0.9510565162951535;
const SIN5_2: f32 = 0.5877852522924731;

// -i·z
fn mul_neg_i(z: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(z.y, -z.x);
}

// The butterflies: the r sub-transforms of length `span` at base + q·span (q < r), element
// p = base % span of each, twiddled by exp(-2πi q·p / (r·span)) = twiddle[q·tw], combine into
// outputs p + m·span of the transform of length r·span, written back in place.

fn radix2(base: u32, span: u32, tw: u32) {
    let x0 = line_buf[base];
    let x1 = cmul(line_buf[base + span], twiddle[tw]);
    line_buf[base] = x0 + x1;
    line_buf[base + span] = x0 - x1;
}

fn radix4(base: u32, span: u32, tw: u32) {
    let x0 = line_buf[base];
    let x1 = cmul(line_buf[base + span], twiddle[tw]);
    let x2 = cmul(line_buf[base + 2u * span], twiddle[2u * tw]);
    let x3 = cmul(line_buf[base + 3u * span], twiddle[3u * tw]);
    let a = x0 + x2;
    let b = x0 - x2;
    let c = x1 + x3;
    let d = mul_neg_i(x1 - x3);
    line_buf[base] = a + c;
    line_buf[base + span] = b + d;
    line_buf[base + 2u * span] = a - c;
    line_buf[base + 3u * span] = b - d;
}

fn radix3(base: u32, span: u32, tw: u32) {
    let x0 = line_buf[base];
    let x1 = cmul(line_buf[base + span], twiddle[tw]);
    let x2 = cmul(line_buf[base + 2u * span], twiddle[2u * tw]);
    let t = x1 + x2;
    let m = x0 - 0.5 * t;
    let s = mul_neg_i(SIN3 * (x1 - x2));
    line_buf[base] = x0 + t;
    line_buf[base + span] = m + s;
    line_buf[base + 2u * span] = m - s;
}

fn radix5(base: u32, span: u32, tw: u32) {
    let x0 = line_buf[base];
    let x1 = cmul(line_buf[base + span], twiddle[tw]);
    let x2 = cmul(line_buf[base + 2u * span], twiddle[2u * tw]);
    let x3 = cmul(line_buf[base + 3u * span], twiddle[3u * tw]);
    let x4 = cmul(line_buf[base + 4u * span], twiddle[4u * tw]);
    let a1 = x1 + x4;
    let b1 = x1 - x4;
    let a2 = x2 + x3;
    let b2 = x2 - x3;
    let m1 = x0 + COS5_1 * a1 + COS5_2 * a2;
    let m2 = x0 + COS5_2 * a1 + COS5_1 * a2;
    let s1 = mul_neg_i(SIN5_1 * b1 + SIN5_2 * b2);
    let s2 = mul_neg_i(SIN5_2 * b1 - SIN5_1 * b2);
    line_buf[base] = x0 + a1 + a2;
    line_buf[base + span] = m1 + s1;
    line_buf[base + 2u * span] = m2 + s2;
    line_buf[base + 3u * span] = m2 - s2;
    line_buf[base + 4u * span] = m1 - s1;
}

// k / span for k < 2^20 without an integer division (a loop of scalar divisions on CPUs, a
// long sequence on GPUs): (k + 1/2) / span lies at least 1/(2·span) from an integer and the
// f32 product is off by a few ulps of k / span < 2^20 / span, far less.
fn div_span(k: u32, inv_span: f32) -> u32 {
    return u32((f32(k) + 0.5) * inv_span);
}

@compute @workgroup_size(WG_SIZE)
fn fft_lines(@builtin(workgroup_id) wid: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let first_line = linear_group(wid, params.groups_x) * LINES_PER_WG;
    if (first_line >= params.lines) {
        return;
    }
    let inverse = params.inverse != 0u;
    for (var e = lid; e < ELEMS; e += WG_SIZE) {
        let c = block_coords(e);
        let line = first_line + c.x;
        if (line < params.lines) {
            var v = data[element_offset(line, c.y)];
            if (inverse) {
                v = conj(v);
            }
            line_buf[c.x * LEN + digits[c.y]] = v;
        }
    }
    workgroupBarrier();

    // Radix 4 and 2 run first, so their spans are powers of two: p = k mod span is a mask.
    var span = 1u;
    for (var s = 0u; s < STAGES4; s++) {
        let tw = LEN / (span * 4u);
        for (var t = lid; t < ELEMS / 4u; t += WG_SIZE) {
            let line = t / LEN_4;
            let k = t % LEN_4;
            let p = k & (span - 1u);
            radix4(line * LEN + (k - p) * 4u + p, span, p * tw);
        }
        workgroupBarrier();
        span *= 4u;
    }
    for (var s = 0u; s < STAGES2; s++) {
        let tw = LEN / (span * 2u);
        for (var t = lid; t < ELEMS / 2u; t += WG_SIZE) {
            let line = t / LEN_2;
            let k = t % LEN_2;
            let p = k & (span - 1u);
            radix2(line * LEN + (k - p) * 2u + p, span, p * tw);
        }
        workgroupBarrier();
        span *= 2u;
    }
    for (var s = 0u; s < STAGES3; s++) {
        let tw = LEN / (span * 3u);
        let inv_span = 1.0 / f32(span);
        for (var t = lid; t < ELEMS / 3u; t += WG_SIZE) {
            let line = t / LEN_3;
            let k = t % LEN_3;
            let g = div_span(k, inv_span);
            let p = k - g * span;
            radix3(line * LEN + g * span * 3u + p, span, p * tw);
        }
        workgroupBarrier();
        span *= 3u;
    }
    for (var s = 0u; s < STAGES5; s++) {
        let tw = LEN / (span * 5u);
        let inv_span = 1.0 / f32(span);
        for (var t = lid; t < ELEMS / 5u; t += WG_SIZE) {
            let line = t / LEN_5;
            let k = t % LEN_5;
            let g = div_span(k, inv_span);
            let p = k - g * span;
            radix5(line * LEN + g * span * 5u + p, span, p * tw);
        }
        workgroupBarrier();
        span *= 5u;
    }

    for (var e = lid; e < ELEMS; e += WG_SIZE) {
        let c = block_coords(e);
        let line = first_line + c.x;
        if (line < params.lines) {
            var v = line_buf[c.x * LEN + c.y];
            if (inverse) {
                v = conj(v);
            }
            if (inverse) {
                // Divided, not multiplied by 1/LEN: that f32 is off by up to 3e-8 unless LEN is
                // 2^a (1/160 by +1.5e-8), the same bias in every inverse, which a long run of
                // unitary steps accumulates as norm drift. Measured on lavapipe, 1D Hartree at
                // n = 160 to t = 2: trace drift 8.6e-6 with the product, 9.5e-7 divided.
                v = v / f32(LEN);
            }
            if (params.twist_n != 0u) {
                let j2 = (line % params.stride) / params.twist_div;
                // j2·k1 < twist_n: j2 < n2 and k1 < n1 with n1·n2 = twist_n.
                var w = twist[j2 * c.y];
                if (inverse) {
                    w = conj(w);
                }
                v = cmul(v, w);
            }
            data[element_offset(line, c.y)] = v;
        }
    }
}

// Digit transposition of the four-step FFT: in every line of n1·n2 elements (stride `stride`,
// lines back to back from element 0), element k1·n2 + k2 moves to k2·n1 + k1.
struct TransposeParams {
    total: u32,
    n1: u32,
    n2: u32,
    stride: u32,
    groups_x: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(4) var<storage, read_write> transposed: array<vec2<f32>>;
@group(0) @binding(5) var<uniform> tparams: TransposeParams;

@compute @workgroup_size(WG_SIZE)
fn transpose_digits(@builtin(workgroup_id) wid: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
    let e = linear_group(wid, tparams.groups_x) * WG_SIZE + lid;
    if (e >= tparams.total) {
        return;
    }
    let n = tparams.n1 * tparams.n2;
    let i = e % tparams.stride;
    let rest = e / tparams.stride;
    let k = rest % n;
    let line_start = (rest - k) * tparams.stride;
    let k1 = k / tparams.n2;
    let k2 = k % tparams.n2;
    transposed[line_start + (k2 * tparams.n1 + k1) * tparams.stride + i] = data[e];
}
