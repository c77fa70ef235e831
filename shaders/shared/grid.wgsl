// Dispatch grids. One dimension holds at most 65535 workgroups, so large dispatches use a 2D
// grid of `groups_x` columns; the host computes groups_x (`dispatch_grid` in src/gpu/mod.rs).

fn linear_group(wid: vec3<u32>, groups_x: u32) -> u32 {
    return wid.x + wid.y * groups_x;
}

// i mod n in [0, n), for any sign of i, in unsigned arithmetic only. WGSL defines `%` on
// negative i32 (the sign of the dividend), but naga writes it as GLSL `%`, which GLSL leaves
// undefined for negative operands, and Mesa's GL driver then returns the remainder of the bit
// pattern read as unsigned (−1 % 9 gave 3). So no kernel applies `%` to a signed value; the
// shader validation test (gpu::shaders) refuses one.
fn wrap_index(i: i32, n: u32) -> u32 {
    if (i >= 0) {
        return u32(i) % n;
    }
    // −(i + 1) ≥ 0 cannot overflow, also for i = −2³¹.
    return n - 1u - u32(-(i + 1)) % n;
}
