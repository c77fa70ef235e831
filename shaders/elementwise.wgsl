// Element-wise kernels on one chunk. Fields are flat f32 arrays with COMP components per element
// (1 real, 2 complex); the operand x of axpy, mul and convert has X_COMP components.
//
// Host constants: COMP, X_COMP, WG_SIZE.

#import complex
#import grid

struct ElementwiseParams {
    n: u32,          // elements in this chunk
    groups_x: u32,
    _pad0: u32,
    _pad1: u32,
    a: vec2<f32>,    // the scalar of fill, scale and axpy
    _pad2: vec2<f32>,
}

@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<uniform> params: ElementwiseParams;
@group(0) @binding(2) var<storage, read> x: array<f32>;

fn element_index(wid: vec3<u32>, lid: u32) -> u32 {
    return linear_group(wid, params.groups_x) * WG_SIZE + lid;
}

fn load_y(i: u32) -> vec2<f32> {
    if (COMP == 2u) {
        return vec2<f32>(y[2u * i], y[2u * i + 1u]);
    }
    return vec2<f32>(y[i], 0.0);
}

fn load_x(i: u32) -> vec2<f32> {
    if (X_COMP == 2u) {
        return vec2<f32>(x[2u * i], x[2u * i + 1u]);
    }
    return vec2<f32>(x[i], 0.0);
}

fn store_y(i: u32, v: vec2<f32>) {
    if (COMP == 2u) {
        y[2u * i] = v.x;
        y[2u * i + 1u] = v.y;
    } else {
        y[i] = v.x;
    }
}

@compute @workgroup_size(WG_SIZE)
fn fill(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = element_index(wid, lid);
    if (i < params.n) {
        store_y(i, params.a);
    }
}

@compute @workgroup_size(WG_SIZE)
fn scale(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = element_index(wid, lid);
    if (i < params.n) {
        store_y(i, cmul(params.a, load_y(i)));
    }
}

@compute @workgroup_size(WG_SIZE)
fn axpy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = element_index(wid, lid);
    if (i < params.n) {
        store_y(i, cmul(params.a, load_x(i)) + load_y(i));
    }
}

@compute @workgroup_size(WG_SIZE)
fn mul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = element_index(wid, lid);
    if (i < params.n) {
        store_y(i, cmul(load_x(i), load_y(i)));
    }
}

// y ← x between kinds: a real x gives im = 0, a complex x into a real y keeps the real part.
@compute @workgroup_size(WG_SIZE)
fn convert(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = element_index(wid, lid);
    if (i < params.n) {
        store_y(i, load_x(i));
    }
}
