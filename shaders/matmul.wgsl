// Complex matrix product C ← α·A·B + β·C for row-major P × P matrices of complex f32 pairs
// (each matrix in one storage binding).
//
// A workgroup of 16 × 16 invocations computes a 64 × 64 block of C; each invocation holds a
// 4 × 4 block of accumulators at rows ty + 16i and columns tx + 16j (strided, so that reads from
// workgroup memory are broadcasts or consecutive). K advances in steps of 16 through tiles of A
// (64 × 16) and B (16 × 64) staged in workgroup memory as separate real and imaginary planes
// (4 × 1024 f32 = 16 KiB, WebGPU's guaranteed minimum).
//
// Accumulation is in f32. With SPLIT = 1 every K tile is summed into fresh partial sums that
// are then added to the running total (blocked summation: the error grows like 16 + K/16
// additions instead of K); with SPLIT = 0 the products go straight into the total.
//
// β = 0 (params.use_beta = 0) never reads C, so C may hold anything (NaN included) before.
//
// hermitise: C ← (C + C†)/2 in place, one invocation per element of the upper triangle (the
// pair (a, b), (b, a) belongs to the invocation of a ≤ b alone, so there are no races).
//
// Host constants: SPLIT.

#import complex

const TILE: u32 = 64u;
const TK: u32 = 16u;

struct MatmulParams {
    p: u32,
    use_beta: u32,
    alpha: vec2<f32>,
    beta: vec2<f32>,
    _pad: vec2<f32>,
}

@group(0) @binding(0) var<storage, read> a: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> c: array<vec2<f32>>;
@group(0) @binding(3) var<uniform> params: MatmulParams;

// A tile stored k-major: as_re[k * TILE + row].
var<workgroup> as_re: array<f32, 1024>;
var<workgroup> as_im: array<f32, 1024>;
// B tile stored k-major: bs_re[k * TILE + col].
var<workgroup> bs_re: array<f32, 1024>;
var<workgroup> bs_im: array<f32, 1024>;

@compute @workgroup_size(16, 16, 1)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>,
          @builtin(local_invocation_id) lid3: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
    let p = params.p;
    let row0 = wid.y * TILE;
    let col0 = wid.x * TILE;
    let tx = lid3.x;
    let ty = lid3.y;

    var acc_re: array<f32, 16>;
    var acc_im: array<f32, 16>;
    for (var t = 0u; t < 16u; t++) {
        acc_re[t] = 0.0;
        acc_im[t] = 0.0;
    }

    let k_tiles = (p + TK - 1u) / TK;
    for (var kt = 0u; kt < k_tiles; kt++) {
        let k0 = kt * TK;
        // Stage the tiles: 1024 elements each, 4 per invocation, zero outside the matrix.
        for (var l = 0u; l < 4u; l++) {
            let e = lid + 256u * l;
            // A: row e / 16, column k0 + e % 16 (16 consecutive invocations read one row piece).
            let ar = row0 + e / TK;
            let ak = k0 + e % TK;
            var av = vec2<f32>(0.0, 0.0);
            if (ar < p && ak < p) {
                av = a[ar * p + ak];
            }
            let a_slot = (e % TK) * TILE + e / TK;
            as_re[a_slot] = av.x;
            as_im[a_slot] = av.y;
            // B: row k0 + e / 64, column col0 + e % 64.
            let bk = k0 + e / TILE;
            let bc = col0 + e % TILE;
            var bv = vec2<f32>(0.0, 0.0);
            if (bk < p && bc < p) {
                bv = b[bk * p + bc];
            }
            bs_re[e] = bv.x;
            bs_im[e] = bv.y;
        }
        workgroupBarrier();

        var part_re: array<f32, 16>;
        var part_im: array<f32, 16>;
        for (var t = 0u; t < 16u; t++) {
            part_re[t] = 0.0;
            part_im[t] = 0.0;
        }
        for (var k = 0u; k < TK; k++) {
            var xr: array<f32, 4>;
            var xi: array<f32, 4>;
            var yr: array<f32, 4>;
            var yi: array<f32, 4>;
            for (var i = 0u; i < 4u; i++) {
                xr[i] = as_re[k * TILE + ty + 16u * i];
                xi[i] = as_im[k * TILE + ty + 16u * i];
                yr[i] = bs_re[k * TILE + tx + 16u * i];
                yi[i] = bs_im[k * TILE + tx + 16u * i];
            }
            for (var i = 0u; i < 4u; i++) {
                for (var j = 0u; j < 4u; j++) {
                    let t = i * 4u + j;
                    if (SPLIT == 1u) {
                        part_re[t] = fma(xr[i], yr[j], part_re[t]);
                        part_re[t] = fma(-xi[i], yi[j], part_re[t]);
                        part_im[t] = fma(xr[i], yi[j], part_im[t]);
                        part_im[t] = fma(xi[i], yr[j], part_im[t]);
                    } else {
                        acc_re[t] = fma(xr[i], yr[j], acc_re[t]);
                        acc_re[t] = fma(-xi[i], yi[j], acc_re[t]);
                        acc_im[t] = fma(xr[i], yi[j], acc_im[t]);
                        acc_im[t] = fma(xi[i], yr[j], acc_im[t]);
                    }
                }
            }
        }
        if (SPLIT == 1u) {
            for (var t = 0u; t < 16u; t++) {
                acc_re[t] += part_re[t];
                acc_im[t] += part_im[t];
            }
        }
        workgroupBarrier();
    }

    for (var i = 0u; i < 4u; i++) {
        let r = row0 + ty + 16u * i;
        for (var j = 0u; j < 4u; j++) {
            let col = col0 + tx + 16u * j;
            if (r < p && col < p) {
                let t = i * 4u + j;
                let ab = vec2<f32>(acc_re[t], acc_im[t]);
                var out = cmul(params.alpha, ab);
                if (params.use_beta == 1u) {
                    out += cmul(params.beta, c[r * p + col]);
                }
                c[r * p + col] = out;
            }
        }
    }
}


// inner_partials: the Frobenius inner product Σ_e conj(a_e)·b_e over the iparams.n elements
// of one chunk, one f32 partial sum per workgroup of 256 (each invocation sums INNER_ITEMS
// elements, then a tree in workgroup memory); the host adds the partials in f64.

const INNER_ITEMS: u32 = 16u;

struct InnerParams {
    n: u32,
    groups_x: u32,
    first: u32,   // index of this chunk's first partial
    _pad: u32,
}

@group(0) @binding(4) var<storage, read_write> partials: array<vec2<f32>>;
@group(0) @binding(5) var<uniform> iparams: InnerParams;

var<workgroup> red: array<vec2<f32>, 256>;

@compute @workgroup_size(256, 1, 1)
fn inner_partials(@builtin(workgroup_id) wid: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
    let g = wid.x + wid.y * iparams.groups_x;
    let base = g * 256u * INNER_ITEMS;
    var s = vec2<f32>(0.0, 0.0);
    for (var i = 0u; i < INNER_ITEMS; i++) {
        let e = base + i * 256u + lid;
        if (e < iparams.n) {
            s += cmul(conj(a[e]), b[e]);
        }
    }
    red[lid] = s;
    workgroupBarrier();
    for (var half = 128u; half > 0u; half >>= 1u) {
        if (lid < half) {
            red[lid] += red[lid + half];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        partials[iparams.first + g] = red[0];
    }
}

struct HermitiseParams {
    p: u32,
    groups_x: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(6) var<uniform> hparams: HermitiseParams;

@compute @workgroup_size(256, 1, 1)
fn hermitise(@builtin(workgroup_id) wid: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let e = (wid.x + wid.y * hparams.groups_x) * 256u + lid;
    let p = hparams.p;
    if (e >= p * p) {
        return;
    }
    let row = e / p;
    let col = e % p;
    if (col < row) {
        return;
    }
    if (col == row) {
        c[e].y = 0.0;
        return;
    }
    let t = col * p + row;
    let z = 0.5 * (c[e] + conj(c[t]));
    c[e] = z;
    c[t] = conj(z);
}
