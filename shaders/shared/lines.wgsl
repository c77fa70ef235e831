// Addressing of a workgroup's block of lines (fft.wgsl, advect.wgsl). The importing file
// declares LEN, LINES_PER_WG and a uniform `params` with a `stride` field: line b of a dispatch
// starts at (b / stride)·LEN·stride + b % stride, and its element j lies j·stride further on.

// Position in the buffer of element j of line `line`.
fn element_offset(line: u32, j: u32) -> u32 {
    return (line / params.stride) * LEN * params.stride + (line % params.stride)
        + j * params.stride;
}

// Element e of the workgroup's block as (local line, j). On a contiguous axis neighbouring
// invocations take neighbouring j; on a strided axis they take neighbouring lines, which are
// neighbours in memory. Either way global accesses coalesce.
fn block_coords(e: u32) -> vec2<u32> {
    if (params.stride == 1u) {
        return vec2<u32>(e / LEN, e % LEN);
    }
    return vec2<u32>(e % LINES_PER_WG, e / LINES_PER_WG);
}
