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
}

@group(0) @binding(0) var<storage, read_write> data: array<vec2<f32>>;
// twiddle[k] = exp(-2πi k / LEN) for k < LEN, computed on the host in f64.
@group(0) @binding(1) var<storage, read> twiddle: array<vec2<f32>>;
@group(0) @binding(2) var<uniform> params: FftParams;
// twist[r] = exp(-2πi r / twist_n) for r < twist_n (the twiddle table when unused).
@group(0) @binding(3) var<storage, read> twist: array<vec2<f32>>;

const ELEMS: u32 = LEN * LINES_PER_WG;
const STAGES: u32 = STAGES4 + STAGES2 + STAGES3 + STAGES5;
var<workgroup> line_buf: array<vec2<f32>, ELEMS>;

fn stage_radix(s: u32) -> u32 {
    if (s < STAGES4) {
        return 4u;
    }
    if (s < STAGES4 + STAGES2) {
        return 2u;
    }
    if (s < STAGES4 + STAGES2 + STAGES3) {
        return 3u;
    }
    return 5u;
}

// Where input element j goes so that every stage works in place: the last stage's radix r
// takes the r interleaved subsequences j ≡ q (mod r) as contiguous blocks of LEN / r, and so on
// down (for radix 2 throughout, the bit reversal).
fn digit_reverse(j: u32) -> u32 {
    var pos = 0u;
    var rest = j;
    var len = LEN;
    for (var s = STAGES; s > 0u; s--) {
        let r = stage_radix(s - 1u);
        len /= r;
        pos += (rest % r) * len;
        rest /= r;
    }
    return pos;
}

// One butterfly of radix r: the r sub-transforms of length `span` at base + q·span (q < r),
// element p = base % span of each, twiddled by exp(-2πi q·p / (r·span)) = twiddle[q·tw], combine
// into outputs p + m·span of the transform of length r·span, written back in place.
fn butterfly(base: u32, span: u32, r: u32, tw: u32) {
    var x: array<vec2<f32>, 5>;
    x[0] = line_buf[base];
    for (var q = 1u; q < r; q++) {
        x[q] = cmul(line_buf[base + q * span], twiddle[q * tw]);
    }
    if (r == 2u) {
        line_buf[base] = x[0] + x[1];
        line_buf[base + span] = x[0] - x[1];
    } else if (r == 4u) {
        let a = x[0] + x[2];
        let b = x[0] - x[2];
        let c = x[1] + x[3];
        let e = x[1] - x[3];
        // −i·e: the radix-4 rotation exp(-2πi/4) without a table read.
        let d = vec2<f32>(e.y, -e.x);
        line_buf[base] = a + c;
        line_buf[base + span] = b + d;
        line_buf[base + 2u * span] = a - c;
        line_buf[base + 3u * span] = b - d;
    } else {
        // Radix 3 or 5: the plain DFT, with exp(-2πi k / r) = twiddle[k · LEN / r].
        let unit = LEN / r;
        for (var m = 0u; m < r; m++) {
            var sum = x[0];
            for (var q = 1u; q < r; q++) {
                sum += cmul(x[q], twiddle[((q * m) % r) * unit]);
            }
            line_buf[base + m * span] = sum;
        }
    }
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
            line_buf[c.x * LEN + digit_reverse(c.y)] = v;
        }
    }
    workgroupBarrier();

    var span = 1u;
    for (var s = 0u; s < STAGES; s++) {
        let r = stage_radix(s);
        let tw = LEN / (span * r);
        for (var t = lid; t < ELEMS / r; t += WG_SIZE) {
            let line = t / (LEN / r);
            let k = t % (LEN / r);
            let p = k % span;
            butterfly(line * LEN + (k - p) * r + p, span, r, p * tw);
        }
        workgroupBarrier();
        span *= r;
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
