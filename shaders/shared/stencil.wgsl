// The Lagrange stencil of a line shift (advect.wgsl, shift_group.wgsl). The importing file
// declares DEGREE (odd); the grid snippet (wrap_index) must be imported too.

const POINTS: u32 = DEGREE + 1u;
// Stencil of the interpolant at j0 + alpha: points j0 − LO .. j0 − LO + DEGREE.
const LO: i32 = i32(DEGREE - 1u) / 2;

// The stencil of a shift by s points: j − s = (j − k) + alpha with alpha in [0, 1)
// (kernels::split_shift), and the Lagrange weights at alpha of the points k − LO … k − LO +
// DEGREE below j.
struct Stencil {
    k: i32,
    w: array<f32, POINTS>,
}

fn stencil_at(s: f32) -> Stencil {
    let fl = floor(s);
    let beta = s - fl;
    var st: Stencil;
    st.k = i32(fl);
    var alpha = 0.0;
    if (beta > 0.0) {
        st.k = st.k + 1;
        alpha = 1.0 - beta;
    }
    for (var m = 0u; m < POINTS; m++) {
        let xm = f32(i32(m) - LO);
        var w = 1.0;
        for (var l = 0u; l < POINTS; l++) {
            if (l != m) {
                let xl = f32(i32(l) - LO);
                w = w * (alpha - xl) / (xm - xl);
            }
        }
        st.w[m] = w;
    }
    return st;
}

// Where tap i of a line of n points (an index that may lie beyond its ends) reads: the index
// in [0, n), or −1 for a zero beyond the ends of a non-periodic line.
fn line_tap(i: i32, n: u32, periodic: bool) -> i32 {
    if (periodic) {
        return i32(wrap_index(i, n));
    }
    return select(-1, i, i >= 0 && i < i32(n));
}

// The interpolant from the stencil values v and weights w, in increment form around the
// stencil point LO (j0): f = f_j0 + Σ w_m (f_m − f_j0). Over a periodic line the increments
// sum to zero whatever the rounding of the weights, so the mass does not drift (Σ w_m = 1
// holds only to f32 round-off, the same way for a whole line, and the plain form would drift
// every sweep).
fn increment_form(v: array<f32, POINTS>, w: array<f32, POINTS>) -> f32 {
    let base = v[u32(LO)];
    var acc = base;
    for (var m = 0u; m < POINTS; m++) {
        acc = acc + w[m] * (v[m] - base);
    }
    return acc;
}
