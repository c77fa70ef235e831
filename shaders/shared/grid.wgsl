// Dispatch grids. One dimension holds at most 65535 workgroups, so large dispatches use a 2D
// grid of `groups_x` columns; the host computes groups_x (gpu::kernels::dispatch_grid).

fn linear_group(wid: vec3<u32>, groups_x: u32) -> u32 {
    return wid.x + wid.y * groups_x;
}
