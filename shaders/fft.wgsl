// Batched complex FFT of power-of-two length LEN along lines of a chunk, in workgroup memory.
//
// Each workgroup loads LINES_PER_WG whole lines into workgroup memory in bit-reversed order,
// runs LOG2_LEN radix-2 stages in place (one barrier per stage), and writes the lines back to
// where they came from: one read and one write of global memory per element and pass.
//
// Line b of the dispatch starts at (b / stride) * LEN * stride + (b % stride) and its element j
// lies `stride` further on per j: for the FFT along axis a of a row-major array, stride is the
// product of the later axes.
//
// Host constants: LEN, LOG2_LEN, LINES_PER_WG, WG_SIZE.

#import complex
#import grid
#import lines

struct FftParams {
    lines: u32,
    stride: u32,
    groups_x: u32,
    inverse: u32,
    scale: f32,
    // Four-step twist (twist_n = 0: none): output k1 of a line with (line % stride) / twist_div
    // = j2 is multiplied by exp(∓2πi j2 k1 / twist_n).
    twist_n: u32,
    twist_div: u32,
}

@group(0) @binding(0) var<storage, read_write> data: array<vec2<f32>>;
// twiddle[k] = exp(-2πi k / LEN) for k < LEN / 2, computed on the host in f64.
@group(0) @binding(1) var<storage, read> twiddle: array<vec2<f32>>;
@group(0) @binding(2) var<uniform> params: FftParams;
// twist[r] = exp(-2πi r / twist_n) for r < twist_n (the twiddle table when unused).
@group(0) @binding(3) var<storage, read> twist: array<vec2<f32>>;

const ELEMS: u32 = LEN * LINES_PER_WG;
var<workgroup> line_buf: array<vec2<f32>, ELEMS>;

fn bit_reverse(j: u32) -> u32 {
    return reverseBits(j) >> (32u - LOG2_LEN);
}

@compute @workgroup_size(WG_SIZE)
fn fft_lines(@builtin(workgroup_id) wid: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let first_line = linear_group(wid, params.groups_x) * LINES_PER_WG;
    if (first_line >= params.lines) {
        return;
    }
    for (var e = lid; e < ELEMS; e += WG_SIZE) {
        let c = block_coords(e);
        let line = first_line + c.x;
        if (line < params.lines) {
            line_buf[c.x * LEN + bit_reverse(c.y)] = data[element_offset(line, c.y)];
        }
    }
    workgroupBarrier();

    for (var s = 0u; s < LOG2_LEN; s++) {
        let half = 1u << s;
        let twiddle_step = LEN >> (s + 1u);
        for (var t = lid; t < ELEMS / 2u; t += WG_SIZE) {
            let line = t / (LEN / 2u);
            let k = t % (LEN / 2u);
            let pos = k & (half - 1u);
            let i0 = line * LEN + ((k - pos) << 1u) + pos;
            let i1 = i0 + half;
            var w = twiddle[pos * twiddle_step];
            if (params.inverse != 0u) {
                w = conj(w);
            }
            let a = line_buf[i0];
            let b = cmul(line_buf[i1], w);
            line_buf[i0] = a + b;
            line_buf[i1] = a - b;
        }
        workgroupBarrier();
    }

    for (var e = lid; e < ELEMS; e += WG_SIZE) {
        let c = block_coords(e);
        let line = first_line + c.x;
        if (line < params.lines) {
            var v = line_buf[c.x * LEN + c.y] * params.scale;
            if (params.twist_n != 0u) {
                let j2 = (line % params.stride) / params.twist_div;
                // j2·k1 mod twist_n; u32 wrap-around is harmless since twist_n divides 2^32.
                var w = twist[(j2 * c.y) & (params.twist_n - 1u)];
                if (params.inverse != 0u) {
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
