// Corner copy (the zero-padding and extraction steps of a free-space convolution) between two
// fields that each lie in one chunk: element i of the corner box, of up to 6 axes, goes from its
// place in src to its place in dst. Fields hold COMP f32 components per element.
//
// Host constants: COMP, WG_SIZE.

#import grid

struct CornerParams {
    total: u32,     // elements of the corner box
    groups_x: u32,
    rank: u32,      // number of axes
    _pad: u32,
    // Per axis a (component a % 4 of entry a / 4): corner extent and the two arrays' strides.
    extent: array<vec4<u32>, 2>,
    src_stride: array<vec4<u32>, 2>,
    dst_stride: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read_write> dst: array<f32>;
@group(0) @binding(1) var<uniform> params: CornerParams;
@group(0) @binding(2) var<storage, read> src: array<f32>;

@compute @workgroup_size(WG_SIZE)
fn copy_corner(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = linear_group(wid, params.groups_x) * WG_SIZE + lid;
    if (i >= params.total) {
        return;
    }
    var rest = i;
    var s = 0u;
    var d = 0u;
    for (var a = params.rank; a > 0u; a = a - 1u) {
        let q = (a - 1u) / 4u;
        let r = (a - 1u) % 4u;
        let n = params.extent[q][r];
        let idx = rest % n;
        rest = rest / n;
        s = s + idx * params.src_stride[q][r];
        d = d + idx * params.dst_stride[q][r];
    }
    for (var c = 0u; c < COMP; c = c + 1u) {
        dst[d * COMP + c] = src[s * COMP + c];
    }
}
