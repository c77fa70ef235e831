//! Rates read off a time series of the field energy: the damping rate and frequency of a
//! Landau-damped mode, the growth rate of an unstable one. The field energy of a mode
//! e^(γt) cos(ωt) goes like e^(2γt) cos²(ωt): its maxima are π/ω apart and decay at 2γ.

use anyhow::{bail, Result};

/// Least-squares slope and intercept of y against x.
pub fn linear_fit(x: &[f64], y: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    let slope = sxy / sxx;
    (slope, my - slope * mx)
}

/// Local maxima of ln(energy) in [t_min, t_max], each refined by the parabola through it and
/// its two neighbours: (time, ln energy).
pub fn log_peaks(t: &[f64], energy: &[f64], t_min: f64, t_max: f64) -> Vec<(f64, f64)> {
    let y: Vec<f64> = energy.iter().map(|e| e.max(1e-300).ln()).collect();
    let mut peaks = Vec::new();
    for i in 1..y.len().saturating_sub(1) {
        if t[i] < t_min || t[i] > t_max || !(y[i] > y[i - 1] && y[i] >= y[i + 1]) {
            continue;
        }
        let (a, b, c) = (y[i - 1], y[i], y[i + 1]);
        let denom = a - 2.0 * b + c;
        let shift = if denom < 0.0 {
            0.5 * (a - c) / denom
        } else {
            0.0
        };
        let dt = t[i + 1] - t[i];
        peaks.push((t[i] + shift * dt, b - 0.25 * (a - c) * shift));
    }
    peaks
}

/// (γ, ω) of a damped oscillation from the field-energy maxima in [t_min, t_max].
pub fn damping_rate_and_frequency(
    t: &[f64],
    energy: &[f64],
    t_min: f64,
    t_max: f64,
) -> Result<(f64, f64)> {
    let peaks = log_peaks(t, energy, t_min, t_max);
    if peaks.len() < 3 {
        bail!(
            "only {} field-energy maxima in [{t_min}, {t_max}]",
            peaks.len()
        );
    }
    let (pt, py): (Vec<f64>, Vec<f64>) = peaks.into_iter().unzip();
    let (slope, _) = linear_fit(&pt, &py);
    let spacing = (pt[pt.len() - 1] - pt[0]) / (pt.len() - 1) as f64;
    Ok((slope / 2.0, std::f64::consts::PI / spacing))
}

/// γ of an exponentially growing mode: half the slope of ln(energy) over [t_min, t_max].
pub fn growth_rate(t: &[f64], energy: &[f64], t_min: f64, t_max: f64) -> Result<f64> {
    let (x, y): (Vec<f64>, Vec<f64>) = t
        .iter()
        .zip(energy)
        .filter(|(ti, _)| **ti >= t_min && **ti <= t_max)
        .map(|(ti, e)| (*ti, e.max(1e-300).ln()))
        .unzip();
    if x.len() < 3 {
        bail!("only {} samples in [{t_min}, {t_max}]", x.len());
    }
    Ok(linear_fit(&x, &y).0 / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_synthetic_damped_mode() {
        let (g, w) = (-0.1533, 1.4156);
        let t: Vec<f64> = (0..400).map(|i| i as f64 * 0.1).collect();
        let e: Vec<f64> = t
            .iter()
            .map(|t| ((g * t).exp() * (w * t).cos()).powi(2) + 1e-30)
            .collect();
        let (g2, w2) = damping_rate_and_frequency(&t, &e, 1.0, 30.0).unwrap();
        assert!((g2 - g).abs() < 2e-3 && (w2 - w).abs() < 2e-3, "{g2} {w2}");
        let e: Vec<f64> = t.iter().map(|t| (0.3 * t).exp().powi(2)).collect();
        assert!((growth_rate(&t, &e, 0.0, 10.0).unwrap() - 0.3).abs() < 1e-12);
    }
}
