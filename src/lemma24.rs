//! `hvp lemma24 CONFIG --r LIST [--z x,y,z] [--out DIR]`: the paper's Lemma 2.4 measured on the
//! initial density matrix ω̃ of a `kind = "compare"` or `"hartree"` config (physics, grid and
//! `[initial]`), in f64 on the host with dense eigensolves:
//!
//!   tr|[χ_(r,z), ω̃]| ≤ C r^(d/2 − dδ) Σ_i ‖ρ_[x_i,ω̃]‖₁^(1/2 − 1/d + δ) (ρ*_[x_i,ω̃](z))^(1/2 + 1/d − δ)
//!
//! (d = 3: the paper's 3/2 − 3δ, 1/6 + δ, 5/6 − δ; `lemmas::lemma_2_4_exponents`). Below the
//! off-diagonal width w of ω̃'s kernel the left side grows like r^(d/2) (δ → 0), so the
//! exponent fitted over the resolved r below w gives the δ the measurement supports.
//!
//! Outputs: DIR/lemma24.csv (one row per r), DIR/lemma24.json (inputs, per-axis ‖ρ_i‖₁ and
//! ρ*_i(z), the fit, the largest ratios) and DIR/lemma24.png.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use num_complex::Complex64;
use serde::Serialize;

use crate::compare::job::CompareJob;
use crate::hartree::spectrum::{self, MAX_ROWS};
use crate::hartree::HartreeGrid;
use crate::lemmas::{
    chi_commutator_trace_norm, lemma_2_4_exponents, lemma_2_4_rhs, log_log_slope, maximal_function,
    nearest_grid_index, x_commutator_density,
};
use crate::output::{plot_lines, CsvWriter};
use crate::plan::{human, human_seconds, require_host_memory};
use crate::poisson::Boundary;

/// χ_(r,z) = exp(−|x − z|²/r²) counts as resolved from r = 1.5 h on (its standard deviation
/// r/√2 is then about one cell).
pub const RESOLVED_R_IN_CELLS: f64 = 1.5;

/// Bytes of f64 complex P × P matrices alive at the peak: ω̃, the commutator, the
/// eigensolver's copy and its eigenvectors, plus the separation table (half a complex matrix).
const PEAK_MATRICES: f64 = 4.5;

/// CSV columns, in the order of `Lemma24Row::values`.
pub const COLUMNS: [&str; 8] = [
    "r",
    "lhs",
    "rhs_delta0",
    "rhs_fitted",
    "ratio_delta0",
    "ratio_fitted",
    "local_slope",
    "in_fit",
];

#[derive(Clone, Debug, Serialize)]
pub struct Lemma24Row {
    pub r: f64,
    /// tr|[χ_(r,z), ω̃]|.
    pub lhs: f64,
    /// The right-hand side without C at δ = 0 and at the fitted δ (NaN without a fit).
    pub rhs_delta0: f64,
    pub rhs_fitted: f64,
    pub ratio_delta0: f64,
    pub ratio_fitted: f64,
    /// d ln(lhs)/d ln r between this r and the previous one (NaN for the first).
    pub local_slope: f64,
    /// r lies in the fit range [1.5 h, w].
    pub in_fit: bool,
}

impl Lemma24Row {
    fn values(&self) -> [f64; 8] {
        [
            self.r,
            self.lhs,
            self.rhs_delta0,
            self.rhs_fitted,
            self.ratio_delta0,
            self.ratio_fitted,
            self.local_slope,
            f64::from(u8::from(self.in_fit)),
        ]
    }
}

/// Everything lemma24.json holds.
#[derive(Clone, Debug, Serialize)]
pub struct Lemma24Summary {
    pub version: &'static str,
    pub config: CompareJob,
    pub dim: usize,
    pub rows_of_matrix: usize,
    pub h: f64,
    /// The point asked for (or the density's maximum) and the grid point where ρ* is taken.
    pub z: Vec<f64>,
    pub z_grid: Vec<f64>,
    /// Off-diagonal width of ω̃'s kernel, w = (2⟨(x − y)_i²⟩)^½ with weights |ω̃(x; y)|²
    /// averaged over the axes (ε/σ for a Gaussian coherent mixture of momentum spread σ).
    pub offdiagonal_width: f64,
    /// ε/(σ_p² + ε²/2δ²)^½ of the narrowest Gaussian component, for coherent mixtures.
    pub offdiagonal_width_analytic: Option<f64>,
    pub resolved_r_min: f64,
    /// tr|[x_i, ω̃]| = ‖ρ_[x_i,ω̃]‖₁, ρ_[x_i,ω̃](z) and ρ*_[x_i,ω̃](z) per axis.
    pub rho_l1: Vec<f64>,
    pub rho_at_z: Vec<f64>,
    pub rho_star_at_z: Vec<f64>,
    /// The maximal function is over axis-aligned cubes of grid cells containing z.
    pub maximal_function: &'static str,
    /// The r used in the fit: those in [resolved_r_min, offdiagonal_width].
    pub fit_r: Vec<f64>,
    /// Least-squares slope of ln tr|[χ, ω̃]| against ln r over `fit_r` (None: fewer than two).
    pub fitted_exponent: Option<f64>,
    /// d/2 (3/2 in 3D): the exponent as δ → 0.
    pub exponent_delta0: f64,
    /// δ = (d/2 − exponent)/d (3D: (3/2 − exponent)/3).
    pub fitted_delta: Option<f64>,
    /// max over r of lhs/rhs: the smallest constant C the measured r need.
    pub max_ratio_delta0: f64,
    pub max_ratio_fitted: Option<f64>,
    pub seconds: f64,
    pub rows: Vec<Lemma24Row>,
}

/// The off-diagonal width w of the kernel of A: per axis ⟨s²⟩ with weights |A_ab|² over the
/// separations s = (x_a − x_b)_i (minimal images when periodic), w² = 2⟨s²⟩ averaged over axes.
/// For |A_ab| ∝ e^(−|x_a − x_b|²/2w²) times a function of the midpoint this gives w exactly.
pub fn offdiagonal_width(grid: &HartreeGrid, boundary: Boundary, a: &[Complex64]) -> f64 {
    let p = grid.points();
    let n = grid.n as i64;
    let mut weight = 0.0;
    let mut moment = 0.0;
    for ra in 0..p {
        for rb in 0..p {
            let w = a[ra * p + rb].norm_sqr();
            let (mut ia, mut ib) = (ra, rb);
            let mut s2 = 0.0;
            for _ in 0..grid.dim {
                let mut k = (ia % grid.n) as i64 - (ib % grid.n) as i64;
                if boundary == Boundary::Periodic {
                    k = k.rem_euclid(n);
                    if 2 * k > n {
                        k -= n;
                    }
                }
                s2 += (k as f64 * grid.h).powi(2);
                ia /= grid.n;
                ib /= grid.n;
            }
            weight += w;
            moment += w * s2;
        }
    }
    (2.0 * moment / weight / grid.dim as f64).sqrt()
}

/// ε/σ for the narrowest Gaussian component of a coherent mixture, σ² = σ_p² + ε²/2δ² (the
/// kernel's factor e^(−σ²|x − y|²/2ε²)); None for other states.
fn analytic_width(job: &CompareJob) -> Option<f64> {
    use crate::hartree::init::HartreeInitial;
    use crate::vlasov::init::Component;
    let eps = job.physics.epsilon;
    let HartreeInitial::CoherentMixture { delta, components } = &job.initial else {
        return None;
    };
    let delta = delta.unwrap_or(eps.sqrt());
    components
        .iter()
        .map(|c| match c {
            Component::Gaussian { sigma_p, .. } => {
                Some(eps / (sigma_p * sigma_p + eps * eps / (2.0 * delta * delta)).sqrt())
            }
            Component::Box { .. } => None,
        })
        .try_fold(f64::INFINITY, |acc, w| w.map(|w| acc.min(w)))
}

/// Runs the measurement and writes DIR/lemma24.{csv,json,png}.
pub fn run(
    job: &CompareJob,
    rs: &[f64],
    z: Option<&[f64]>,
    out: &Path,
    quiet: bool,
) -> Result<Lemma24Summary> {
    let started = Instant::now();
    let physics = &job.physics;
    physics.validate()?;
    job.initial.validate(physics)?;
    let dim = physics.dim;
    let boundary = physics.boundary;
    let periodic = boundary == Boundary::Periodic;
    let grid = HartreeGrid::new(dim, job.grid.n, job.grid.length, boundary)?;
    if rs.is_empty() {
        bail!("--r needs at least one radius, e.g. --r 0.4,0.6,0.9");
    }
    if let Some(bad) = rs.iter().find(|r| !(r.is_finite() && **r > 0.0)) {
        bail!("--r: every radius must be a positive number, not {bad}");
    }
    if let Some(z) = z.filter(|z| z.len() != dim) {
        bail!("--z needs {dim} coordinates, not {}", z.len());
    }
    let mut rs = rs.to_vec();
    rs.sort_by(f64::total_cmp);
    rs.dedup();
    if grid.n.checked_pow(dim as u32).is_none_or(|p| p > MAX_ROWS) {
        bail!(
            "ω~ on {}^{dim} grid points has {:.0} rows, beyond the dense eigensolver's limit of \
             {MAX_ROWS} rows (tr|[χ, ω~]| and the density of |[x_i, ω~]| need exact \
             eigenvalues): lower grid.n (d = 3: n ≤ 20)",
            grid.n,
            (grid.n as f64).powi(dim as i32)
        );
    }
    let rows = grid.points();
    let peak_bytes = (PEAK_MATRICES * 16.0 * (rows * rows) as f64) as u64;
    require_host_memory(
        peak_bytes,
        "the measurement needs about {need} of host memory",
    )?;
    let a = job.initial.matrix(&grid, physics)?;
    let z: Vec<f64> = match z {
        Some(z) => z.to_vec(),
        None => {
            // Default: the grid point where the density is largest.
            let (best, _) = (0..rows).map(|b| (b, a[b * rows + b].re)).fold(
                (0, f64::NEG_INFINITY),
                |acc, x| if x.1 > acc.1 { x } else { acc },
            );
            grid.point(best)
        }
    };
    let z_index = nearest_grid_index(&grid, &z, periodic)?;
    let z_flat = z_index.iter().fold(0, |acc, &k| acc * grid.n + k);
    let z_grid = grid.point(z_flat);

    let width = offdiagonal_width(&grid, boundary, &a);
    let width_analytic = analytic_width(job);
    let resolved_r_min = RESOLVED_R_IN_CELLS * grid.h;
    let in_fit = |r: f64| r >= resolved_r_min * (1.0 - 1e-12) && r <= width;
    let fit_count = rs.iter().filter(|&&r| in_fit(r)).count();
    let (t_values, t_vectors) = spectrum::eigensolve_seconds(rows)?;
    let estimate = dim as f64 * t_vectors + rs.len() as f64 * t_values;
    if !quiet {
        println!(
            "plan: Lemma 2.4 on ω~ of d = {dim}, n = {}, h = {:.4}, {boundary:?} box of side {}: \
             {rows} × {rows} (about {} of host memory at the peak)",
            grid.n,
            grid.h,
            grid.length,
            human(peak_bytes)
        );
        println!(
            "  z = {z:?} (ρ* at the grid point {z_grid:?}); off-diagonal width of ω~ w = {width:.4}{}",
            width_analytic
                .map(|w| format!(" (ε/σ = {w:.4})"))
                .unwrap_or_default()
        );
        println!(
            "  {} radii from {:.4} to {:.4}; {fit_count} in the fit range [1.5 h, w] = [{resolved_r_min:.4}, {width:.4}]",
            rs.len(),
            rs[0],
            rs[rs.len() - 1]
        );
        println!(
            "  dense eigensolves: {dim} with vectors (ρ_[x_i, ω~]) and {} eigenvalue-only (one per r), about {} in all here",
            rs.len(),
            human_seconds(estimate)
        );
    }

    // ρ_[x_i, ω̃], its L¹ norm and its maximal function at z, per axis.
    let mut rho_l1 = Vec::with_capacity(dim);
    let mut rho_at_z = Vec::with_capacity(dim);
    let mut rho_star_at_z = Vec::with_capacity(dim);
    for axis in 0..dim {
        let t = Instant::now();
        let (l1, rho) = x_commutator_density(&grid, boundary, &a, axis)?;
        let star = maximal_function(&rho, grid.n, dim, &z_index, periodic)?;
        if !quiet {
            println!(
                "  axis {axis}: tr|[x_{axis}, ω~]| = {l1:.6e}, ρ(z) = {:.6e}, ρ*(z) = {star:.6e} ({:.1} s)",
                rho[z_flat],
                t.elapsed().as_secs_f64()
            );
        }
        rho_l1.push(l1);
        rho_at_z.push(rho[z_flat]);
        rho_star_at_z.push(star);
    }

    // tr|[χ_(r,z), ω̃]| per r.
    let mut lhs = Vec::with_capacity(rs.len());
    let loop_start = Instant::now();
    for (k, &r) in rs.iter().enumerate() {
        let value = chi_commutator_trace_norm(&grid, &a, r, &z, periodic)?;
        lhs.push(value);
        if !quiet {
            let elapsed = loop_start.elapsed().as_secs_f64();
            let left = elapsed / (k + 1) as f64 * (rs.len() - k - 1) as f64;
            println!(
                "  r {}/{} = {r:.4}: tr|[χ, ω~]| = {value:.6e} ({} so far, about {} left)",
                k + 1,
                rs.len(),
                human_seconds(elapsed),
                human_seconds(left)
            );
        }
    }

    let fit_r: Vec<f64> = rs.iter().copied().filter(|&r| in_fit(r)).collect();
    let fit_lhs: Vec<f64> = rs
        .iter()
        .zip(&lhs)
        .filter(|(&r, _)| in_fit(r))
        .map(|(_, &v)| v)
        .collect();
    let fitted_exponent = (fit_r.len() >= 2).then(|| log_log_slope(&fit_r, &fit_lhs));
    let exponent_delta0 = lemma_2_4_exponents(dim, 0.0).0;
    let fitted_delta = fitted_exponent.map(|e| (exponent_delta0 - e) / dim as f64);
    let rows_out: Vec<Lemma24Row> = rs
        .iter()
        .enumerate()
        .map(|(k, &r)| {
            let rhs_delta0 = lemma_2_4_rhs(dim, 0.0, r, &rho_l1, &rho_star_at_z);
            let rhs_fitted = fitted_delta
                .map(|d| lemma_2_4_rhs(dim, d, r, &rho_l1, &rho_star_at_z))
                .unwrap_or(f64::NAN);
            Lemma24Row {
                r,
                lhs: lhs[k],
                rhs_delta0,
                rhs_fitted,
                ratio_delta0: lhs[k] / rhs_delta0,
                ratio_fitted: lhs[k] / rhs_fitted,
                local_slope: if k == 0 {
                    f64::NAN
                } else {
                    (lhs[k] / lhs[k - 1]).ln() / (r / rs[k - 1]).ln()
                },
                in_fit: in_fit(r),
            }
        })
        .collect();
    let max_ratio_delta0 = rows_out.iter().map(|r| r.ratio_delta0).fold(0.0, f64::max);
    let max_ratio_fitted =
        fitted_delta.map(|_| rows_out.iter().map(|r| r.ratio_fitted).fold(0.0, f64::max));

    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let columns: Vec<String> = COLUMNS.iter().map(|c| c.to_string()).collect();
    let mut csv = CsvWriter::create(out.join("lemma24.csv"), &columns)?;
    for row in &rows_out {
        csv.row(&row.values())?;
    }

    let summary = Lemma24Summary {
        version: env!("CARGO_PKG_VERSION"),
        config: job.clone(),
        dim,
        rows_of_matrix: rows,
        h: grid.h,
        z,
        z_grid,
        offdiagonal_width: width,
        offdiagonal_width_analytic: width_analytic,
        resolved_r_min,
        rho_l1,
        rho_at_z,
        rho_star_at_z,
        maximal_function: "uncentred, over axis-aligned cubes of grid cells containing z",
        fit_r,
        fitted_exponent,
        exponent_delta0,
        fitted_delta,
        max_ratio_delta0,
        max_ratio_fitted,
        seconds: started.elapsed().as_secs_f64(),
        rows: rows_out,
    };
    std::fs::write(
        out.join("lemma24.json"),
        serde_json::to_string_pretty(&summary)? + "\n",
    )
    .with_context(|| format!("writing {}", out.join("lemma24.json").display()))?;
    plot(&summary, &out.join("lemma24.png"))?;

    if !quiet {
        print_result(&summary);
        println!("wrote {}/lemma24.{{csv,json,png}}", out.display());
    }
    Ok(summary)
}

/// tr|[χ, ω~]| and C·RHS with C the largest measured ratio (the smallest constant the measured
/// r need), on a log scale.
fn plot(s: &Lemma24Summary, path: &Path) -> Result<()> {
    // r on a linear axis: log10 r crosses 0 where the shared tick labels print round-off.
    let x: Vec<f64> = s.rows.iter().map(|r| r.r).collect();
    let lhs: Vec<f64> = s.rows.iter().map(|r| r.lhs).collect();
    let rhs0: Vec<f64> = s
        .rows
        .iter()
        .map(|r| s.max_ratio_delta0 * r.rhs_delta0)
        .collect();
    let label0 = format!(
        "C r^{:.2} Σ‖ρ_i‖₁^{:.3} ρ*_i(z)^{:.3}, δ = 0, C = max ratio",
        s.exponent_delta0,
        lemma_2_4_exponents(s.dim, 0.0).1,
        lemma_2_4_exponents(s.dim, 0.0).2
    );
    let mut series: Vec<(String, Vec<f64>)> =
        vec![("tr|[χ_(r,z), ω~]|".to_string(), lhs), (label0, rhs0)];
    if let (Some(delta), Some(c)) = (s.fitted_delta, s.max_ratio_fitted) {
        series.push((
            format!(
                "the same at the fitted δ = {delta:.3}: C r^{:.2} ...",
                lemma_2_4_exponents(s.dim, delta).0,
            ),
            s.rows.iter().map(|r| c * r.rhs_fitted).collect(),
        ));
    }
    let refs: Vec<(&str, &[f64], &[f64])> = series
        .iter()
        .map(|(name, y)| (name.as_str(), x.as_slice(), y.as_slice()))
        .collect();
    plot_lines(
        path,
        &format!("Lemma 2.4, d = {}, n = {}", s.dim, s.config.grid.n),
        "r",
        "trace norm",
        &refs,
        true,
    )
}

fn print_result(s: &Lemma24Summary) {
    println!("        r   tr|[χ, ω~]|   RHS(δ=0)   ratio   local slope");
    for r in &s.rows {
        println!(
            "  {:>7.4}  {:>11.4e}  {:>9.4e}  {:>6.3}  {:>6.3}{}",
            r.r,
            r.lhs,
            r.rhs_delta0,
            r.ratio_delta0,
            r.local_slope,
            if r.in_fit { "  (fit)" } else { "" }
        );
    }
    match (s.fitted_exponent, s.fitted_delta) {
        (Some(e), Some(d)) => println!(
            "fitted exponent {e:.3} over r in [1.5 h, w] (δ → 0: {:.2}), δ = {d:.3}; max ratio {:.3} (δ = 0), {:.3} (fitted δ)",
            s.exponent_delta0,
            s.max_ratio_delta0,
            s.max_ratio_fitted.unwrap_or(f64::NAN)
        ),
        _ => println!(
            "no fit: fewer than two radii in [1.5 h, w] = [{:.4}, {:.4}]; max ratio {:.3} (δ = 0)",
            s.resolved_r_min, s.offdiagonal_width, s.max_ratio_delta0
        ),
    }
}
