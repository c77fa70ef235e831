//! Poisson's equation for the mean-field potential, on either backend, with the force.
//!
//! Conventions (docs/design.md section 1): the kernel G solves −ΔG = κδ, and the potential of a
//! density ρ is U = γ G * ρ. Two boundaries:
//!
//! - `Periodic`: −ΔU = κγ(ρ − ρ̄) on the torus. The mean mode is removed (a neutralising
//!   background for a plasma, the Jeans swindle for gravity); Û = κγ ρ̂ / |k|².
//! - `Isolated`: U = γ G * ρ in free space, with G = κ/(4π|x|) in 3D, −(κ/2π) ln|x| in 2D and
//!   −(κ/2)|x| in 1D, for a density that vanishes outside the box. The convolution runs on the
//!   doubled grid (2n points per axis, the density zero-padded). The kernel's singularity is
//!   treated with the truncated-kernel method of Vico, Greengard and Ferrando (2016): the kernel
//!   cut off at the radius R = |box diagonal| (no two points of the box are farther apart, so
//!   the cut changes nothing inside the box) has an entire Fourier transform Ĝ_R, known in
//!   closed form, and U = F⁻¹[Ĝ_R ρ̂] holds exactly in the box. The k-integral is done by the
//!   trapezoidal rule on an oversampled grid (period ≥ L + R per axis, so the periodic images
//!   of G_R * ρ stay out of the box), which is spectrally accurate for a resolved density.
//!   That grid's real-space kernel is only ever used at separations |m| ≤ n per axis, so it is
//!   computed once (in f64, by cosine and sine sums) and restricted to the doubled grid, whose
//!   FFT gives the multiplier used at every solve.
//!
//! The force is F_i = −∂_i U, by the spectral gradient: −i k_i Û on the periodic grid (0 at the
//! Nyquist index); for the isolated boundary the same gradient is taken on the oversampled grid
//! (kernel −i k_i Ĝ_R) and restricted like the potential's kernel, so the force is the exact
//! derivative of the band-limited free-space potential, without the periodic wrap of the
//! doubled grid entering it.
//!
//! All multipliers are built on the host in f64 and kept on the backend; a solve runs on the
//! backend only: one forward FFT, then per output one product and one inverse FFT.

use anyhow::{bail, Result};
use num_complex::Complex64;
use rayon::prelude::*;

use crate::backend::{Backend, FftDirection, FieldInfo};
use crate::field::{check_shape, len_of, strides_of, Elem};

/// Angular wave number of Fourier index `i` of an axis of `n` points and length `length`
/// (FFT order: 0, 1, …, n/2 − 1, −n/2, …, −1).
pub fn wave_number(i: usize, n: usize, length: f64) -> f64 {
    let m = if i < n.div_ceil(2) {
        i as f64
    } else {
        i as f64 - n as f64
    };
    2.0 * std::f64::consts::PI * m / length
}

/// The wave number that a first derivative uses: `wave_number`, but 0 at the Nyquist index of
/// an even axis (whose ± pair cannot be told apart, so a real field keeps a real derivative).
fn derivative_wave_number(i: usize, n: usize, length: f64) -> f64 {
    if n.is_multiple_of(2) && i == n / 2 {
        0.0
    } else {
        wave_number(i, n, length)
    }
}

/// What lies outside the box.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Boundary {
    /// The box is a torus; the mean density is neutralised.
    #[default]
    Periodic,
    /// Free space; the density is zero outside the box.
    Isolated,
}

/// A Poisson problem: grid, box, coupling and boundary.
#[derive(Clone, Debug, PartialEq)]
pub struct PoissonSpec {
    /// Points per axis (1 to 3 axes). Grid point a sits at x = a·L/n.
    pub shape: Vec<usize>,
    /// Box length per axis.
    pub lengths: Vec<f64>,
    /// −ΔG = κδ.
    pub kappa: f64,
    /// U = γ G * ρ: +1 repulsive (Coulomb), −1 attractive (gravity).
    pub gamma: f64,
    pub boundary: Boundary,
}

impl PoissonSpec {
    fn validate(&self) -> Result<()> {
        check_shape(&self.shape)?;
        let d = self.shape.len();
        if !(1..=3).contains(&d) {
            bail!("Poisson solves in 1 to 3 dimensions, not {d}");
        }
        if self.lengths.len() != d {
            bail!(
                "{} box lengths for a {d}-dimensional grid",
                self.lengths.len()
            );
        }
        if let Some(l) = self.lengths.iter().find(|l| !(**l > 0.0 && l.is_finite())) {
            bail!("box length {l} is not a positive number");
        }
        if !self.kappa.is_finite() || !self.gamma.is_finite() {
            bail!(
                "kappa {} and gamma {} must be finite",
                self.kappa,
                self.gamma
            );
        }
        Ok(())
    }
}

/// The Poisson solver of one grid on one backend.
pub struct Poisson<B: Backend> {
    spec: PoissonSpec,
    /// Every axis of the transform grid.
    axes: Vec<usize>,
    /// Real multiplier of the potential on the transform grid.
    potential_multiplier: B::Field,
    /// Complex multipliers of the force components on the transform grid.
    force_multipliers: Vec<B::Field>,
    /// ρ̂, then Û.
    work: B::Field,
    /// One force component's transform.
    scratch: B::Field,
    /// Isolated only: the zero-padded density (zero outside the corner, which every solve
    /// overwrites) and a real field of the doubled grid that outputs pass through.
    padded: Option<(B::Field, B::Field)>,
}

impl<B: Backend> Poisson<B> {
    /// Checks the spec and builds the multipliers (in f64 on the host, then uploaded).
    pub fn new(backend: &B, spec: &PoissonSpec) -> Result<Self> {
        spec.validate()?;
        let (grid, potential, forces) = match spec.boundary {
            Boundary::Periodic => {
                let (p, f) = periodic_multipliers(spec);
                (spec.shape.clone(), p, f)
            }
            Boundary::Isolated => {
                let (p, f) = isolated_multipliers(spec)?;
                (spec.shape.iter().map(|n| 2 * n).collect(), p, f)
            }
        };
        let mut potential_multiplier = backend.zeros(&grid, Elem::Real)?;
        backend.upload_real(&mut potential_multiplier, &potential)?;
        let force_multipliers = forces
            .iter()
            .map(|f| {
                let mut field = backend.zeros(&grid, Elem::Complex)?;
                backend.upload_complex(&mut field, f)?;
                Ok(field)
            })
            .collect::<Result<Vec<_>>>()?;
        let padded = match spec.boundary {
            Boundary::Periodic => None,
            Boundary::Isolated => Some((
                backend.zeros(&grid, Elem::Real)?,
                backend.zeros(&grid, Elem::Real)?,
            )),
        };
        Ok(Self {
            spec: spec.clone(),
            axes: (0..grid.len()).collect(),
            potential_multiplier,
            force_multipliers,
            work: backend.zeros(&grid, Elem::Complex)?,
            scratch: backend.zeros(&grid, Elem::Complex)?,
            padded,
        })
    }

    pub fn spec(&self) -> &PoissonSpec {
        &self.spec
    }

    /// `rho`: real field of `spec.shape`. Writes the potential U (real field, `spec.shape`)
    /// and the force components force[i] = −∂_i U (real fields, `spec.shape`, spectral
    /// gradient), all on the backend (no host round trip). `force` holds either one field per
    /// axis or none (potential only).
    pub fn solve(
        &mut self,
        backend: &B,
        rho: &B::Field,
        potential: &mut B::Field,
        force: &mut [B::Field],
    ) -> Result<()> {
        let shape = &self.spec.shape;
        let check = |f: &B::Field, what: &str| -> Result<()> {
            if f.shape() != shape.as_slice() || f.elem() != Elem::Real {
                bail!(
                    "Poisson: {what} is a {:?} {:?} field, expected a real {shape:?} one",
                    f.elem(),
                    f.shape()
                );
            }
            Ok(())
        };
        check(rho, "the density")?;
        check(potential, "the potential")?;
        if !(force.is_empty() || force.len() == shape.len()) {
            bail!(
                "Poisson: {} force fields for {} axes (give one per axis, or none)",
                force.len(),
                shape.len()
            );
        }
        for f in force.iter() {
            check(f, "a force component")?;
        }
        match &mut self.padded {
            None => backend.copy(rho, &mut self.work)?,
            Some((pad, _)) => {
                backend.copy_corner(rho, pad)?;
                backend.copy(pad, &mut self.work)?;
            }
        }
        backend.fft(&mut self.work, &self.axes, FftDirection::Forward)?;
        for (f, m) in force.iter_mut().zip(&self.force_multipliers) {
            backend.copy(&self.work, &mut self.scratch)?;
            backend.mul(m, &mut self.scratch)?;
            backend.fft(&mut self.scratch, &self.axes, FftDirection::Inverse)?;
            match &mut self.padded {
                None => backend.copy(&self.scratch, f)?,
                Some((_, out)) => {
                    backend.copy(&self.scratch, out)?;
                    backend.copy_corner(out, f)?;
                }
            }
        }
        backend.mul(&self.potential_multiplier, &mut self.work)?;
        backend.fft(&mut self.work, &self.axes, FftDirection::Inverse)?;
        match &mut self.padded {
            None => backend.copy(&self.work, potential)?,
            Some((_, out)) => {
                backend.copy(&self.work, out)?;
                backend.copy_corner(out, potential)?;
            }
        }
        Ok(())
    }

    /// Host convenience: (U, [force_i]) for a host density on the grid.
    pub fn solve_host(&mut self, backend: &B, rho: &[f64]) -> Result<(Vec<f64>, Vec<Vec<f64>>)> {
        let shape = self.spec.shape.clone();
        if rho.len() != len_of(&shape) {
            bail!(
                "density of {} values on a grid of {}",
                rho.len(),
                len_of(&shape)
            );
        }
        let mut rho_field = backend.zeros(&shape, Elem::Real)?;
        backend.upload_real(&mut rho_field, rho)?;
        let mut potential = backend.zeros(&shape, Elem::Real)?;
        let mut force = (0..shape.len())
            .map(|_| backend.zeros(&shape, Elem::Real))
            .collect::<Result<Vec<_>>>()?;
        self.solve(backend, &rho_field, &mut potential, &mut force)?;
        let u = backend.download_real(&potential)?;
        let f = force
            .iter()
            .map(|f| backend.download_real(f))
            .collect::<Result<Vec<_>>>()?;
        Ok((u, f))
    }
}

/// Periodic multipliers on the grid itself: κγ/|k|² (0 for k = 0) and −i k_j κγ/|k|².
fn periodic_multipliers(spec: &PoissonSpec) -> (Vec<f64>, Vec<Vec<Complex64>>) {
    let shape = &spec.shape;
    let d = shape.len();
    let strides = strides_of(shape);
    let index = |flat: usize, a: usize| flat / strides[a] % shape[a];
    let potential: Vec<f64> = (0..len_of(shape))
        .map(|flat| {
            let k2: f64 = (0..d)
                .map(|a| wave_number(index(flat, a), shape[a], spec.lengths[a]).powi(2))
                .sum();
            if k2 == 0.0 {
                0.0
            } else {
                spec.kappa * spec.gamma / k2
            }
        })
        .collect();
    let forces = (0..d)
        .map(|j| {
            potential
                .iter()
                .enumerate()
                .map(|(flat, &p)| {
                    let k = derivative_wave_number(index(flat, j), shape[j], spec.lengths[j]);
                    Complex64::new(0.0, -k * p)
                })
                .collect()
        })
        .collect();
    (potential, forces)
}

/// Bessel function J_n(x), n = 0 or 1, by the trapezoidal rule on its integral representation
/// J_n(x) = (1/2π) ∫ cos(nθ − x sin θ) dθ over a period: the integrand is periodic and entire,
/// so the error is of the size of J_N(x) for N nodes, below f64 round-off once N exceeds
/// x + 15 x^(1/3) + 30.
fn bessel_j(n: u32, x: f64) -> f64 {
    let x = x.abs();
    let nodes = (x + 15.0 * x.cbrt() + 30.0).ceil() as usize;
    let sum: f64 = (0..nodes)
        .map(|j| {
            let theta = 2.0 * std::f64::consts::PI * j as f64 / nodes as f64;
            (n as f64 * theta - x * theta.sin()).cos()
        })
        .sum();
    sum / nodes as f64
}

/// Fourier transform of the free-space kernel cut off at radius `r`,
/// Ĝ_R(k) = ∫_{|x|<R} G(x) e^(−ik·x) dx, at |k| = `k`:
/// 1D κ[(1 − cos kR)/k² − R sin(kR)/k], 2D κ[(1 − J0(kR))/k² − R ln R J1(kR)/k],
/// 3D 2κ sin²(kR/2)/k²; at k = 0: −κR²/2, κR²(1 − 2 ln R)/4, κR²/2.
fn truncated_kernel_hat(d: usize, kappa: f64, r: f64, k: f64) -> f64 {
    let kr = k * r;
    kappa
        * match (d, k == 0.0) {
            (1, true) => -r * r / 2.0,
            (1, false) => (1.0 - kr.cos()) / (k * k) - r * kr.sin() / k,
            (2, true) => r * r * (1.0 - 2.0 * r.ln()) / 4.0,
            (2, false) => (1.0 - bessel_j(0, kr)) / (k * k) - r * r.ln() * bessel_j(1, kr) / k,
            (3, true) => r * r / 2.0,
            (3, false) => 2.0 * ((kr / 2.0).sin() / k).powi(2),
            _ => unreachable!("dimension checked"),
        }
}

/// Applies `mat` (`rows` × shape[axis], row-major) along `axis` of the row-major `data`.
fn apply_axis(data: &[f64], shape: &[usize], axis: usize, mat: &[f64], rows: usize) -> Vec<f64> {
    let k_len = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let outer: usize = shape[..axis].iter().product();
    let mut out = vec![0.0; outer * rows * inner];
    out.par_chunks_mut(inner)
        .enumerate()
        .for_each(|(line, out_line)| {
            let (o, m) = (line / rows, line % rows);
            for k in 0..k_len {
                let c = mat[m * k_len + k];
                let src = &data[(o * k_len + k) * inner..][..inner];
                for (y, x) in out_line.iter_mut().zip(src) {
                    *y += c * x;
                }
            }
        });
    out
}

/// Isolated multipliers on the doubled grid: the potential's (real) and the force's (complex,
/// purely imaginary), each γ times the DFT of a real-space kernel that comes from the
/// truncated kernel's transform on an oversampled grid (see the module notes).
#[allow(clippy::type_complexity)]
fn isolated_multipliers(spec: &PoissonSpec) -> Result<(Vec<f64>, Vec<Vec<Complex64>>)> {
    use std::f64::consts::PI;
    let shape = &spec.shape;
    let d = shape.len();
    let lengths = &spec.lengths;
    let radius = lengths.iter().map(|l| l * l).sum::<f64>().sqrt();
    // Oversampled grid: period s·L ≥ L + R per axis (with one more L of margin), spacing h.
    let fine: Vec<usize> = (0..d)
        .map(|a| ((1.0 + radius / lengths[a]).ceil() as usize + 1) * shape[a])
        .collect();
    let h: Vec<f64> = (0..d).map(|a| lengths[a] / shape[a] as f64).collect();
    // Non-negative Fourier indices 0..=M/2 of each axis (Ĝ_R is even in every component).
    let half: Vec<usize> = fine.iter().map(|m| m / 2 + 1).collect();
    let k_of = |a: usize, i: usize| 2.0 * PI * i as f64 / (fine[a] as f64 * h[a]);
    let half_strides = strides_of(&half);
    let g_hat: Vec<f64> = (0..len_of(&half))
        .into_par_iter()
        .map(|flat| {
            let k2: f64 = (0..d)
                .map(|a| k_of(a, flat / half_strides[a] % half[a]).powi(2))
                .sum();
            truncated_kernel_hat(d, spec.kappa, radius, k2.sqrt())
        })
        .collect();
    // Per axis, the inverse DFT over the full index range folded onto i ≥ 0, for the kernel
    // at separations m = 0..=n: cosine sums (even), and for a derivative sine sums of i k Ĝ.
    // The Nyquist index of an even M counts once in the cosine sum and not at all in the
    // derivative.
    let weight = |a: usize, i: usize| -> f64 {
        if i == 0 || (fine[a].is_multiple_of(2) && i == fine[a] / 2) {
            1.0
        } else {
            2.0
        }
    };
    let even_matrix = |a: usize| -> Vec<f64> {
        let (m_len, k_len) = (shape[a] + 1, half[a]);
        let mut mat = vec![0.0; m_len * k_len];
        for m in 0..m_len {
            for i in 0..k_len {
                let phase = 2.0 * PI * ((i * m) % fine[a]) as f64 / fine[a] as f64;
                mat[m * k_len + i] = weight(a, i) * phase.cos() / fine[a] as f64;
            }
        }
        mat
    };
    let odd_matrix = |a: usize| -> Vec<f64> {
        let (m_len, k_len) = (shape[a] + 1, half[a]);
        let mut mat = vec![0.0; m_len * k_len];
        for m in 0..m_len {
            for i in 1..k_len {
                if weight(a, i) != 2.0 {
                    continue;
                }
                let phase = 2.0 * PI * ((i * m) % fine[a]) as f64 / fine[a] as f64;
                // (1/M)(i k)(e^{iφ} − e^{−iφ}) = −(2/M) k sin φ.
                mat[m * k_len + i] = -2.0 * k_of(a, i) * phase.sin() / fine[a] as f64;
            }
        }
        mat
    };
    // kernels[0]: the potential's, kernels[1 + j]: ∂_j of it; on separations 0..=n per axis.
    let kernels: Vec<Vec<f64>> = (0..=d)
        .map(|which| {
            let mut data = g_hat.clone();
            let mut cur = half.clone();
            for a in 0..d {
                let mat = if which == a + 1 {
                    odd_matrix(a)
                } else {
                    even_matrix(a)
                };
                data = apply_axis(&data, &cur, a, &mat, shape[a] + 1);
                cur[a] = shape[a] + 1;
            }
            data
        })
        .collect();
    // Restrict to the doubled grid (index b ↔ separation b or b − 2n; the slot b = n is never
    // used by a pair of box points: there the even kernel keeps its value at n, the odd one 0)
    // and transform there.
    let doubled: Vec<usize> = shape.iter().map(|n| 2 * n).collect();
    let sep_shape: Vec<usize> = shape.iter().map(|n| n + 1).collect();
    let sep_strides = strides_of(&sep_shape);
    let doubled_strides = strides_of(&doubled);
    let axes: Vec<usize> = (0..d).collect();
    let mut transforms = Vec::with_capacity(d + 1);
    for (which, kernel) in kernels.iter().enumerate() {
        let mut values: Vec<Complex64> = (0..len_of(&doubled))
            .into_par_iter()
            .map(|flat| {
                let mut sign = 1.0;
                let mut at = 0;
                for a in 0..d {
                    let (b, n) = (flat / doubled_strides[a] % doubled[a], shape[a]);
                    let odd = which == a + 1;
                    let m = if b <= n { b } else { 2 * n - b };
                    if odd && b == n {
                        sign = 0.0;
                    }
                    if odd && b > n {
                        sign = -sign;
                    }
                    at += m * sep_strides[a];
                }
                Complex64::new(sign * kernel[at], 0.0)
            })
            .collect();
        crate::host::fft(&mut values, &doubled, &axes, FftDirection::Forward)?;
        transforms.push(values);
    }
    let gamma = spec.gamma;
    let potential = transforms[0].iter().map(|z| gamma * z.re).collect();
    let forces = transforms[1..]
        .iter()
        .map(|t| {
            t.iter()
                .map(|z| Complex64::new(0.0, -gamma * z.im))
                .collect()
        })
        .collect();
    Ok((potential, forces))
}

/// Closed forms that the solver is checked against: the free-space potential of a normalised
/// Gaussian density ρ = (2πs²)^(−d/2) e^(−r²/2s²) in d = 1, 2, 3, and the special functions it
/// needs, all in f64 to near round-off.
pub mod analytic {
    use std::f64::consts::PI;

    /// Euler's constant γ_E.
    pub const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

    /// The error function, from erf x = (2/√π) e^(−x²) Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)), a series
    /// of positive terms (no cancellation); 1 to round-off beyond |x| = 6.
    pub fn erf(x: f64) -> f64 {
        if x.abs() >= 6.0 {
            return x.signum();
        }
        let x2 = x * x;
        let (mut term, mut sum) = (x, x);
        let mut n = 0.0;
        while term.abs() > 1e-17 * sum.abs() {
            term *= 2.0 * x2 / (2.0 * n + 3.0);
            sum += term;
            n += 1.0;
        }
        2.0 / PI.sqrt() * (-x2).exp() * sum
    }

    /// The exponential integral E1(u) = ∫_u^∞ e^(−t)/t dt for u > 0: its power series up to
    /// u = 1, its continued fraction beyond.
    pub fn exp_e1(u: f64) -> f64 {
        assert!(u > 0.0, "E1 needs a positive argument, got {u}");
        if u <= 1.0 {
            let (mut sum, mut term) = (0.0, 1.0);
            let mut k = 1.0;
            loop {
                term *= -u / k;
                let add = -term / k;
                sum += add;
                if add.abs() < 1e-17 * sum.abs().max(1e-300) {
                    break;
                }
                k += 1.0;
            }
            return -EULER_GAMMA - u.ln() + sum;
        }
        // Modified Lentz evaluation of e^(−u) / (u + 1 − 1²/(u + 3 − 2²/(u + 5 − …))).
        let tiny = 1e-300;
        let mut b = u + 1.0;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..10_000 {
            let a = -((i * i) as f64);
            b += 2.0;
            d = 1.0 / (a * d + b);
            c = b + a / c;
            let del = c * d;
            h *= del;
            if (del - 1.0).abs() < 1e-16 {
                break;
            }
        }
        h * (-u).exp()
    }

    /// (U, dU/dr) at distance r from the centre of a normalised Gaussian of width `s`, for
    /// U = γ G * ρ with the free-space kernel of `d` dimensions (−ΔG = κδ):
    /// 1D −(γκ/2)[r erf(r/√2s) + s√(2/π) e^(−r²/2s²)],
    /// 2D −(γκ/2π)[ln r + ½ E1(r²/2s²)] (→ −(γκ/4π)(ln 2s² − γ_E) at r = 0),
    /// 3D (γκ/4π) erf(r/√2s)/r (→ (γκ/4π)√(2/π)/s at r = 0).
    pub fn gaussian_potential(d: usize, kappa: f64, gamma: f64, s: f64, r: f64) -> (f64, f64) {
        let c = gamma * kappa;
        let z = r / (2.0f64.sqrt() * s);
        let e = (-z * z).exp();
        match d {
            1 => (
                -c / 2.0 * (r * erf(z) + s * (2.0 / PI).sqrt() * e),
                -c / 2.0 * erf(z),
            ),
            2 => {
                if r == 0.0 {
                    (-c / (4.0 * PI) * ((2.0 * s * s).ln() - EULER_GAMMA), 0.0)
                } else {
                    (
                        -c / (2.0 * PI) * (r.ln() + 0.5 * exp_e1(z * z)),
                        -c / (2.0 * PI) * (1.0 - e) / r,
                    )
                }
            }
            3 => {
                let a = c / (4.0 * PI);
                let peak = (2.0 / PI).sqrt() / s;
                if r < 1e-3 * s {
                    // erf(z)/r = √(2/π)/s (1 − r²/6s² + r⁴/40s⁴ − …).
                    let q = r * r / (s * s);
                    (
                        a * peak * (1.0 - q / 6.0 + q * q / 40.0),
                        a * peak * (-r / (3.0 * s * s) + r * q / (10.0 * s * s)),
                    )
                } else {
                    (a * erf(z) / r, a * (peak * e / r - erf(z) / (r * r)))
                }
            }
            _ => panic!("dimension {d}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bessel_matches_known_values() {
        // Reference values (Abramowitz and Stegun, table 9.1 and beyond).
        let cases = [
            (0, 1.0, 0.765_197_686_557_966_6),
            (1, 1.0, 0.440_050_585_744_933_5),
            (0, 10.0, -0.245_935_764_451_348_3),
            (1, 10.0, 0.043_472_746_168_861_44),
            (0, 100.0, 0.019_985_850_304_223_12),
        ];
        for (n, x, want) in cases {
            let got = bessel_j(n, x);
            assert!((got - want).abs() < 1e-14, "J{n}({x}) = {got}, want {want}");
        }
    }

    #[test]
    fn truncated_kernels_are_continuous_at_k_zero() {
        for d in 1..=3 {
            let (at0, near) = (
                truncated_kernel_hat(d, 1.3, 2.7, 0.0),
                truncated_kernel_hat(d, 1.3, 2.7, 1e-4),
            );
            assert!(
                (at0 - near).abs() < 1e-6 * at0.abs(),
                "{d}D: {at0} vs {near}"
            );
        }
    }

    #[test]
    fn special_functions_match_known_values() {
        use analytic::{erf, exp_e1};
        let cases = [
            (erf(0.5), 0.520_499_877_813_046_5),
            (erf(1.0), 0.842_700_792_949_714_9),
            (erf(2.5), 0.999_593_047_982_555),
            (erf(-1.0), -0.842_700_792_949_714_9),
            (exp_e1(0.1), 1.822_923_958_419_390_7),
            (exp_e1(1.0), 0.219_383_934_395_520_27),
            (exp_e1(5.0), 0.001_148_295_591_275_325_8),
        ];
        for (got, want) in cases {
            assert!(
                (got - want).abs() < 1e-15 * want.abs().max(1.0) * 4.0,
                "{got} vs {want}"
            );
        }
    }

    #[test]
    fn gaussian_potentials_solve_poisson_radially() {
        // −(1/r^(d−1)) (r^(d−1) U')' = κγ ρ, checked by finite differences of U and U'.
        let (kappa, gamma, s) = (1.7, -0.8, 0.6);
        for d in 1..=3 {
            for r in [0.3, 0.9, 2.0] {
                let dr = 1e-4;
                let u = |r| analytic::gaussian_potential(d, kappa, gamma, s, r);
                let du_fd = (u(r + dr).0 - u(r - dr).0) / (2.0 * dr);
                assert!((du_fd - u(r).1).abs() < 1e-7, "{d}D U' at {r}");
                let flux = |r: f64| r.powi(d as i32 - 1) * u(r).1;
                let lap = (flux(r + dr) - flux(r - dr)) / (2.0 * dr) / r.powi(d as i32 - 1);
                let rho = (2.0 * std::f64::consts::PI * s * s).powf(-(d as f64) / 2.0)
                    * (-r * r / (2.0 * s * s)).exp();
                assert!(
                    (-lap - kappa * gamma * rho).abs() < 1e-6,
                    "{d}D Poisson at {r}"
                );
            }
            // The r → 0 limits join the general formulas.
            let (u0, u1) = (
                analytic::gaussian_potential(d, kappa, gamma, s, 0.0).0,
                analytic::gaussian_potential(d, kappa, gamma, s, 1e-6).0,
            );
            assert!((u0 - u1).abs() < 1e-9, "{d}D at r = 0: {u0} vs {u1}");
        }
    }

    #[test]
    fn bad_specs_are_refused() {
        let cpu = crate::host::backend();
        let spec = |shape: Vec<usize>, lengths: Vec<f64>| PoissonSpec {
            shape,
            lengths,
            kappa: 1.0,
            gamma: 1.0,
            boundary: Boundary::Periodic,
        };
        assert!(Poisson::new(&cpu, &spec(vec![4; 4], vec![1.0; 4])).is_err());
        assert!(Poisson::new(&cpu, &spec(vec![4, 4], vec![1.0])).is_err());
        assert!(Poisson::new(&cpu, &spec(vec![4, 4], vec![1.0, -1.0])).is_err());
        let mut p = Poisson::new(&cpu, &spec(vec![4, 4], vec![1.0, 1.0])).unwrap();
        let rho = cpu.zeros(&[4, 4], Elem::Real).unwrap();
        let mut u = cpu.zeros(&[4, 4], Elem::Real).unwrap();
        let mut f = vec![cpu.zeros(&[4, 4], Elem::Real).unwrap()];
        assert!(
            p.solve(&cpu, &rho, &mut u, &mut f).is_err(),
            "one force field of two"
        );
        let mut wrong = cpu.zeros(&[4, 4], Elem::Complex).unwrap();
        assert!(p.solve(&cpu, &rho, &mut wrong, &mut []).is_err());
        p.solve(&cpu, &rho, &mut u, &mut []).unwrap();
    }
}
