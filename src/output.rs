//! Output formats written by every run.
//!
//! **Arrays: NumPy `.npy`, format version 1.0** ([`write_npy_f32`], [`write_npy_f64`],
//! [`write_npy_c64`]). The file is the 6-byte magic `\x93NUMPY`, the version bytes `1 0`, a
//! little-endian u16 header length, then an ASCII header such as
//! `{'descr': '<f8', 'fortran_order': False, 'shape': (64, 128), }` padded with spaces and
//! ended by `\n` so that the data starts at a multiple of 64 bytes, then the raw values:
//! little-endian (`<f4`, `<f8`, or `<c16` = interleaved real/imaginary f64), C order (last
//! index fastest). `numpy.load(path)` reads it; so does any reader of the documented format.
//! A field on an n₁ × n₂ × … grid is written with shape `(n₁, n₂, …)` in the same index order
//! as the program's arrays; a phase-space slice f(x, p) has shape `(nx, np)`.
//!
//! **Time series: CSV** ([`CsvWriter`]). One header row of column names (RFC 4180 quoting
//! where a name holds a comma, quote or line break), then one row per output time, values
//! separated by commas, each written as Rust's `{:e}` of an f64: the shortest decimal that
//! reads back to the same f64 (e.g. `1.25e-3`, `0e0`, `NaN`, `inf`, `-inf`). Every row is
//! flushed to the file as soon as it is written, so a run's partial output is readable while
//! it runs and after it is killed.
//!
//! **Plots: PNG** ([`plot_lines`], [`plot_heatmap`]), 8-bit RGB, drawn with plotters' bitmap
//! backend. Text uses an embedded subset of DejaVu Sans (`assets/fonts/`, its licence
//! beside it), so no system font is needed. [`plot_lines`] draws one or more curves y(x)
//! with a legend, on a linear or a logarithmic y axis (on a log axis, points with y ≤ 0 or
//! non-finite values are left out). [`plot_heatmap`] draws values on a regular grid (for
//! example a phase-space slice f(x, p)) with the viridis-like colour map of
//! [`colormap`], a colour bar, and the minimum and maximum in the title.

use anyhow::{anyhow, bail, Context, Result};
use num_complex::Complex64;
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::fmt::Display;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

// ---------------------------------------------------------------------------------------
// .npy

/// The bytes of a NumPy v1.0 header for `descr` (e.g. `<f4`) and `shape`, padded so that the
/// data that follows starts at a multiple of 64 bytes.
pub fn npy_header(descr: &str, shape: &[usize]) -> Vec<u8> {
    let shape_text = match shape.len() {
        0 => "()".to_string(),
        1 => format!("({},)", shape[0]),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut dict =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    // magic (6) + version (2) + length (2) + dict + padding + '\n' ≡ 0 mod 64
    let unpadded = 10 + dict.len() + 1;
    let pad = (64 - unpadded % 64) % 64;
    dict.extend(std::iter::repeat_n(' ', pad));
    dict.push('\n');
    let len = u16::try_from(dict.len()).expect("npy header longer than 65535 bytes");
    let mut out = Vec::with_capacity(10 + dict.len());
    out.extend_from_slice(b"\x93NUMPY");
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

fn write_npy_bytes<const W: usize>(
    path: &Path,
    descr: &str,
    shape: &[usize],
    len: usize,
    values: impl Iterator<Item = [u8; W]>,
) -> Result<()> {
    let expected = shape
        .iter()
        .try_fold(1usize, |acc, &n| acc.checked_mul(n))
        .ok_or_else(|| anyhow!("{}: npy shape {shape:?} overflows", path.display()))?;
    if expected != len {
        bail!(
            "{}: npy shape {shape:?} holds {expected} values but {len} were given",
            path.display()
        );
    }
    let file =
        File::create(path).with_context(|| format!("creating npy file {}", path.display()))?;
    let mut out = BufWriter::new(file);
    let io = |e: std::io::Error| anyhow!("writing npy file {}: {e}", path.display());
    out.write_all(&npy_header(descr, shape)).map_err(io)?;
    for v in values {
        out.write_all(&v).map_err(io)?;
    }
    out.flush().map_err(io)?;
    Ok(())
}

/// Writes `data` as a NumPy v1.0 `.npy` array of `<f4` (little-endian f32), C order, with
/// the given shape. Fails (naming the path) when `data.len()` is not the product of `shape`.
pub fn write_npy_f32(path: impl AsRef<Path>, shape: &[usize], data: &[f32]) -> Result<()> {
    let it = data.iter().map(|v| v.to_le_bytes());
    write_npy_bytes(path.as_ref(), "<f4", shape, data.len(), it)
}

/// Writes `data` as a NumPy v1.0 `.npy` array of `<f8` (little-endian f64), C order, with
/// the given shape. Fails (naming the path) when `data.len()` is not the product of `shape`.
pub fn write_npy_f64(path: impl AsRef<Path>, shape: &[usize], data: &[f64]) -> Result<()> {
    let it = data.iter().map(|v| v.to_le_bytes());
    write_npy_bytes(path.as_ref(), "<f8", shape, data.len(), it)
}

/// Writes `data` as a NumPy v1.0 `.npy` array of `<c16` (complex128: real then imaginary
/// part, little-endian f64 each), C order. Fails when `data.len()` is not the product of
/// `shape`.
pub fn write_npy_c64(path: impl AsRef<Path>, shape: &[usize], data: &[Complex64]) -> Result<()> {
    let it = data.iter().map(|z| {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&z.re.to_le_bytes());
        b[8..].copy_from_slice(&z.im.to_le_bytes());
        b
    });
    write_npy_bytes(path.as_ref(), "<c16", shape, data.len(), it)
}

// ---------------------------------------------------------------------------------------
// CSV

/// A CSV time-series file: a header row, then rows of f64 written with `{:e}` (shortest
/// round-trip form), flushed row by row.
pub struct CsvWriter {
    out: BufWriter<File>,
    columns: usize,
    path: PathBuf,
}

fn csv_field(name: &str) -> String {
    if name.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", name.replace('"', "\"\""))
    } else {
        name.to_string()
    }
}

impl CsvWriter {
    /// Creates (truncates) `path` and writes the header row.
    pub fn create(path: impl AsRef<Path>, columns: &[String]) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if columns.is_empty() {
            bail!("{}: a CSV file needs at least one column", path.display());
        }
        let file =
            File::create(&path).with_context(|| format!("creating CSV file {}", path.display()))?;
        let mut w = CsvWriter {
            out: BufWriter::new(file),
            columns: columns.len(),
            path,
        };
        let line = columns
            .iter()
            .map(|c| csv_field(c))
            .collect::<Vec<_>>()
            .join(",");
        w.write_line(&line)?;
        Ok(w)
    }

    /// Appends one row; its length must equal the number of header columns.
    pub fn row(&mut self, values: &[f64]) -> Result<()> {
        if values.len() != self.columns {
            bail!(
                "{}: row of {} values for {} columns",
                self.path.display(),
                values.len(),
                self.columns
            );
        }
        let line = values
            .iter()
            .map(|v| format!("{v:e}"))
            .collect::<Vec<_>>()
            .join(",");
        self.write_line(&line)
    }

    /// The file this writer appends to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write_line(&mut self, line: &str) -> Result<()> {
        let path = &self.path;
        let io = |e: std::io::Error| anyhow!("writing CSV file {}: {e}", path.display());
        self.out.write_all(line.as_bytes()).map_err(io)?;
        self.out.write_all(b"\n").map_err(io)?;
        self.out.flush().map_err(io)
    }
}

// ---------------------------------------------------------------------------------------
// PNG plots

static FONT_BYTES: &[u8] = include_bytes!("../assets/fonts/DejaVuSans-subset.ttf");

/// Registers the embedded font with plotters under the generic family names (once).
fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        ["sans-serif", "serif", "monospace"].iter().all(|family| {
            [
                FontStyle::Normal,
                FontStyle::Bold,
                FontStyle::Italic,
                FontStyle::Oblique,
            ]
            .into_iter()
            .all(|style| plotters::style::register_font(family, style, FONT_BYTES).is_ok())
        })
    });
    if ok {
        Ok(())
    } else {
        bail!("the embedded plot font could not be parsed")
    }
}

const PLOT_SIZE: (u32, u32) = (960, 640);

fn plot_err<E: Display>(path: &Path) -> impl Fn(E) -> anyhow::Error + '_ {
    move |e| anyhow!("drawing plot {}: {e}", path.display())
}

/// A data range widened so that it is never empty.
fn padded_range(lo: f64, hi: f64, log: bool) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return if log { (1.0, 10.0) } else { (0.0, 1.0) };
    }
    if log {
        if hi <= lo {
            (lo / 2.0, hi * 2.0)
        } else {
            let f = (hi / lo).powf(0.03);
            (lo / f, hi * f)
        }
    } else if hi <= lo {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        (lo - d, hi + d)
    } else {
        let d = (hi - lo) * 0.03;
        (lo - d, hi + d)
    }
}

/// A short axis tick label: plain decimals for moderate magnitudes, otherwise scientific
/// notation with at most four significant digits and no trailing zeros ("1e-5", "2.5e-3").
fn tick_label(v: &f64) -> String {
    let v = *v;
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let trim = |s: String| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    let a = v.abs();
    if (1e-3..1e4).contains(&a) {
        trim(format!("{v:.4}"))
    } else {
        let s = format!("{v:.3e}");
        let (mantissa, exponent) = s.split_once('e').unwrap_or((&s, "0"));
        format!("{}e{exponent}", trim(mantissa.to_string()))
    }
}

/// Distinct line colours (Tableau 10).
const LINE_COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Plots curves y(x) into a PNG at `path`. Each series is `(name, x, y)`; x and y must have
/// the same length. With `log_y` the y axis is logarithmic and points with y ≤ 0 are skipped
/// (non-finite points are always skipped). A series with an empty name gets no legend entry.
pub fn plot_lines(
    path: impl AsRef<Path>,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(&str, &[f64], &[f64])],
    log_y: bool,
) -> Result<()> {
    let path = path.as_ref();
    ensure_font()?;
    let mut points: Vec<Vec<(f64, f64)>> = Vec::with_capacity(series.len());
    for (name, x, y) in series {
        if x.len() != y.len() {
            bail!(
                "{}: series '{name}' has {} x values and {} y values",
                path.display(),
                x.len(),
                y.len()
            );
        }
        points.push(
            x.iter()
                .zip(y.iter())
                .map(|(&a, &b)| (a, b))
                .filter(|&(a, b)| a.is_finite() && b.is_finite() && (!log_y || b > 0.0))
                .collect(),
        );
    }
    let all = points.iter().flatten();
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for &(a, b) in all {
        x0 = x0.min(a);
        x1 = x1.max(a);
        y0 = y0.min(b);
        y1 = y1.max(b);
    }
    let (x0, x1) = padded_range(x0, x1, false);
    let (y0, y1) = padded_range(y0, y1, log_y);

    let root = BitMapBackend::new(path, PLOT_SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err(path))?;
    let mut builder = ChartBuilder::on(&root);
    builder
        .caption(title, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(88);
    let named = series.iter().any(|s| !s.0.is_empty());
    macro_rules! draw {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc(x_label)
                .y_desc(y_label)
                .x_label_formatter(&tick_label)
                .y_label_formatter(&tick_label)
                .label_style(("sans-serif", 16))
                .axis_desc_style(("sans-serif", 18))
                .draw()
                .map_err(plot_err(path))?;
            for (i, ((name, _, _), pts)) in series.iter().zip(points).enumerate() {
                let colour = LINE_COLOURS[i % LINE_COLOURS.len()];
                let drawn = chart
                    .draw_series(LineSeries::new(pts, colour.stroke_width(2)))
                    .map_err(plot_err(path))?;
                if !name.is_empty() {
                    drawn.label(*name).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                    });
                }
            }
            if named {
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .label_font(("sans-serif", 16))
                    .draw()
                    .map_err(plot_err(path))?;
            }
        }};
    }
    if log_y {
        draw!(builder
            .build_cartesian_2d(x0..x1, (y0..y1).log_scale())
            .map_err(plot_err(path))?);
    } else {
        draw!(builder
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(plot_err(path))?);
    }
    root.present().map_err(plot_err(path))?;
    Ok(())
}

/// Viridis-like colour map: t ∈ [0, 1] → RGB (dark purple → blue → green → yellow), linear
/// interpolation between nine samples of matplotlib's viridis. NaN maps to grey.
pub fn colormap(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 9] = [
        (68, 1, 84),
        (71, 44, 122),
        (59, 81, 139),
        (44, 113, 142),
        (33, 144, 141),
        (39, 173, 129),
        (92, 200, 99),
        (170, 220, 50),
        (253, 231, 37),
    ];
    if t.is_nan() {
        return RGBColor(128, 128, 128);
    }
    let s = t.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let i = (s.floor() as usize).min(STOPS.len() - 2);
    let f = s - i as f64;
    let lerp = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(lerp(a.0, b.0), lerp(a.1, b.1), lerp(a.2, b.2))
}

/// Plots a field on a regular grid as a colour image into a PNG at `path`, for example a
/// phase-space slice f(x, p) with x horizontal and p vertical.
///
/// `values` is row-major in x: `values[ix * ny + iy]` is the value in cell (ix, iy), the cell
/// centred at x = x0 + (ix + ½)(x1 − x0)/nx, y = y0 + (iy + ½)(y1 − y0)/ny, where
/// `x_range = (x0, x1)` and `y_range = (y0, y1)` are the outer edges of the grid. (This is
/// the C-order layout of an array of shape (nx, ny), the same as [`write_npy_f64`].) The
/// colour scale runs from the minimum to the maximum of the finite values; a colour bar is
/// drawn on the right and the minimum and maximum are appended to the title. Non-finite
/// values are drawn grey.
#[allow(clippy::too_many_arguments)]
pub fn plot_heatmap(
    path: impl AsRef<Path>,
    title: &str,
    x_label: &str,
    y_label: &str,
    x_range: (f64, f64),
    y_range: (f64, f64),
    nx: usize,
    ny: usize,
    values: &[f64],
) -> Result<()> {
    let path = path.as_ref();
    ensure_font()?;
    if nx == 0 || ny == 0 || nx.checked_mul(ny) != Some(values.len()) {
        bail!(
            "{}: heatmap of {nx} x {ny} cells given {} values",
            path.display(),
            values.len()
        );
    }
    let ok_range = |r: (f64, f64)| r.0.is_finite() && r.1.is_finite() && r.1 > r.0;
    if !ok_range(x_range) || !ok_range(y_range) {
        bail!(
            "{}: heatmap ranges {x_range:?}, {y_range:?} must be finite and increasing",
            path.display()
        );
    }
    let (mut vmin, mut vmax) = (f64::INFINITY, f64::NEG_INFINITY);
    for &v in values.iter().filter(|v| v.is_finite()) {
        vmin = vmin.min(v);
        vmax = vmax.max(v);
    }
    let (lo, hi) = if vmin > vmax {
        (0.0, 1.0) // no finite value at all
    } else if vmax > vmin {
        (vmin, vmax)
    } else {
        (vmin - 0.5, vmax + 0.5)
    };
    let scale = |v: f64| {
        if v.is_finite() {
            (v - lo) / (hi - lo)
        } else {
            f64::NAN
        }
    };
    let full_title = format!("{title}   [min {vmin:.4e}, max {vmax:.4e}]");

    let root = BitMapBackend::new(path, PLOT_SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err(path))?;
    let root = root
        .titled(&full_title, ("sans-serif", 22))
        .map_err(plot_err(path))?;
    let (main, bar) = root.split_horizontally(PLOT_SIZE.0 - 150);

    let mut chart = ChartBuilder::on(&main)
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(x_range.0..x_range.1, y_range.0..y_range.1)
        .map_err(plot_err(path))?;
    // Fill the plotting area pixel by pixel (nearest cell), which costs the same for any grid.
    let area = chart.plotting_area().strip_coord_spec();
    let (w, h) = area.dim_in_pixel();
    for py in 0..h {
        // pixel row 0 is the top, i.e. the largest y
        let iy = ((h - 1 - py) as f64 + 0.5) / h as f64 * ny as f64;
        let iy = (iy as usize).min(ny - 1);
        for px in 0..w {
            let ix = ((px as f64 + 0.5) / w as f64 * nx as f64) as usize;
            let ix = ix.min(nx - 1);
            let colour = colormap(scale(values[ix * ny + iy]));
            area.draw_pixel((px as i32, py as i32), &colour)
                .map_err(plot_err(path))?;
        }
    }
    // Axes, ticks and labels (outside the image, so drawn once after it).
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .x_label_formatter(&tick_label)
        .y_label_formatter(&tick_label)
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 18))
        .draw()
        .map_err(plot_err(path))?;

    // Colour bar.
    let mut bar_chart = ChartBuilder::on(&bar)
        .margin_top(16)
        .margin_bottom(64)
        .margin_left(8)
        .margin_right(8)
        .right_y_label_area_size(92)
        .build_cartesian_2d(0.0..1.0, lo..hi)
        .map_err(plot_err(path))?;
    let steps = 256;
    bar_chart
        .draw_series((0..steps).map(|i| {
            let a = lo + (hi - lo) * i as f64 / steps as f64;
            let b = lo + (hi - lo) * (i + 1) as f64 / steps as f64;
            let t = (i as f64 + 0.5) / steps as f64;
            Rectangle::new([(0.0, a), (1.0, b)], colormap(t).filled())
        }))
        .map_err(plot_err(path))?;
    // Ticks after the colours, so that the bar does not cover them.
    bar_chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(8)
        .y_label_style(("sans-serif", 14))
        .y_label_formatter(&tick_label)
        .draw()
        .map_err(plot_err(path))?;
    root.present().map_err(plot_err(path))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh directory under the system temp dir, unique per process and call.
    fn temp_dir(tag: &str) -> PathBuf {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "hvp-output-{tag}-{}-{n}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Parses an npy v1.0 file: (header dict text, data bytes).
    fn read_npy(path: &Path) -> (String, Vec<u8>) {
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(&bytes[..6], b"\x93NUMPY");
        assert_eq!(&bytes[6..8], &[1, 0]);
        let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        let start = 10 + hlen;
        assert_eq!(start % 64, 0, "data must start at a multiple of 64");
        let header = std::str::from_utf8(&bytes[10..start]).unwrap().to_string();
        assert!(header.ends_with('\n'));
        assert!(header.is_ascii());
        (header, bytes[start..].to_vec())
    }

    #[test]
    fn npy_f32_and_f64_round_trip() {
        let dir = temp_dir("npy");
        let data32: Vec<f32> = (0..12).map(|i| i as f32 * 0.5 - 1.0).collect();
        let p32 = dir.join("a.npy");
        write_npy_f32(&p32, &[3, 4], &data32).unwrap();
        let (h, d) = read_npy(&p32);
        assert_eq!(
            h.trim_end(),
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }"
        );
        let back: Vec<f32> = d
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(back, data32);

        let data64 = vec![std::f64::consts::PI, -1e-300, 0.0, f64::MAX, 1.0 / 3.0];
        let p64 = dir.join("b.npy");
        write_npy_f64(&p64, &[5], &data64).unwrap();
        let (h, d) = read_npy(&p64);
        assert!(
            h.contains("'descr': '<f8'") && h.contains("'shape': (5,)"),
            "{h}"
        );
        let back: Vec<f64> = d
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(back, data64);

        let z = vec![Complex64::new(1.0, -2.0), Complex64::new(0.25, 3.5)];
        let pc = dir.join("c.npy");
        write_npy_c64(&pc, &[1, 2], &z).unwrap();
        let (h, d) = read_npy(&pc);
        assert!(
            h.contains("'descr': '<c16'") && h.contains("'shape': (1, 2)"),
            "{h}"
        );
        assert_eq!(d.len(), 32);
        assert_eq!(f64::from_le_bytes(d[8..16].try_into().unwrap()), -2.0);
        assert_eq!(f64::from_le_bytes(d[16..24].try_into().unwrap()), 0.25);

        // A 0-d array holds one value; a 3-d shape keeps its order.
        write_npy_f64(dir.join("s.npy"), &[], &[7.0]).unwrap();
        assert!(read_npy(&dir.join("s.npy")).0.contains("'shape': ()"));
        write_npy_f32(dir.join("t.npy"), &[2, 1, 3], &[0.0; 6]).unwrap();
        assert!(read_npy(&dir.join("t.npy"))
            .0
            .contains("'shape': (2, 1, 3)"));

        // Wrong length: an error naming the path.
        let bad = dir.join("bad.npy");
        let err = write_npy_f32(&bad, &[2, 2], &[1.0; 3])
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad.npy"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn npy_header_alignment_for_many_shapes() {
        for shape in [
            vec![],
            vec![1],
            vec![123_456_789],
            vec![2, 3, 4, 5, 6, 7, 8, 9],
        ] {
            let h = npy_header("<f8", &shape);
            assert_eq!(h.len() % 64, 0);
            assert_eq!(u16::from_le_bytes([h[8], h[9]]) as usize, h.len() - 10);
        }
    }

    #[test]
    fn csv_header_rows_and_round_trip() {
        let dir = temp_dir("csv");
        let path = dir.join("series.csv");
        let cols: Vec<String> = ["t", "field energy", "a,b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut w = CsvWriter::create(&path, &cols).unwrap();
        let rows = [
            [0.0, 1.0 / 3.0, -2.5e-300],
            [0.1, std::f64::consts::PI * 1e10, f64::NAN],
        ];
        w.row(&rows[0]).unwrap();
        // Flushed: readable before the writer is dropped.
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        w.row(&rows[1]).unwrap();
        let err = w.row(&[1.0]).unwrap_err().to_string();
        assert!(err.contains("series.csv"), "{err}");
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "t,field energy,\"a,b\"");
        assert_eq!(lines.len(), 3);
        for (line, row) in lines[1..].iter().zip(rows.iter()) {
            let back: Vec<f64> = line.split(',').map(|s| s.parse().unwrap()).collect();
            for (a, b) in back.iter().zip(row) {
                assert!(
                    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                    "{a} vs {b}"
                );
            }
        }
        drop(w);
        std::fs::remove_dir_all(&dir).ok();
    }

    fn assert_png(path: &Path) {
        let bytes = std::fs::read(path).unwrap();
        assert!(bytes.len() > 1000, "PNG too small: {} bytes", bytes.len());
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR: width and height.
        assert_eq!(&bytes[12..16], b"IHDR");
        let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        assert_eq!((w, h), PLOT_SIZE);
    }

    #[test]
    fn line_plots_linear_and_log() {
        let dir = temp_dir("lines");
        let t: Vec<f64> = (0..400).map(|i| i as f64 * 0.1).collect();
        let e: Vec<f64> = t
            .iter()
            .map(|&t| 1e-3 * (-0.3067 * t).exp() * (1.4156 * t).cos().powi(2))
            .collect();
        let fit: Vec<f64> = t.iter().map(|&t| 1e-3 * (-0.3067 * t).exp()).collect();
        let p = dir.join("energy.png");
        plot_lines(
            &p,
            "Landau damping, k = 0.5: field energy",
            "t (1/ω_p)",
            "½∫E² dx",
            &[("simulation", &t, &e), ("γ = −0.1533", &t, &fit)],
            true,
        )
        .unwrap();
        assert_png(&p);
        // Linear axis, negative values, a NaN, and a series without a name.
        let y: Vec<f64> = t
            .iter()
            .map(|&t| if t == 1.0 { f64::NAN } else { t.sin() })
            .collect();
        let p = dir.join("lin.png");
        plot_lines(&p, "sin", "x", "y", &[("", &t, &y)], false).unwrap();
        assert_png(&p);
        // Log axis with nothing positive: still a (blank) plot, not an error.
        let p = dir.join("empty.png");
        plot_lines(
            &p,
            "none",
            "x",
            "y",
            &[("zero", &t, &vec![0.0; t.len()])],
            true,
        )
        .unwrap();
        assert_png(&p);
        // Mismatched lengths are an error.
        assert!(plot_lines(
            dir.join("bad.png"),
            "",
            "",
            "",
            &[("a", &t[..3], &t[..2])],
            false
        )
        .is_err());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn heatmap_plot() {
        let dir = temp_dir("heat");
        let (nx, np) = (64, 48);
        let l = 4.0 * std::f64::consts::PI;
        let mut f = vec![0.0; nx * np];
        for ix in 0..nx {
            let x = (ix as f64 + 0.5) * l / nx as f64;
            for ip in 0..np {
                let p = -6.0 + (ip as f64 + 0.5) * 12.0 / np as f64;
                let beams =
                    (-(p - 2.4) * (p - 2.4) / 2.0).exp() + (-(p + 2.4) * (p + 2.4) / 2.0).exp();
                f[ix * np + ip] = (1.0 + 0.05 * (0.5 * x).cos()) * beams;
            }
        }
        f[5] = f64::NAN;
        let p = dir.join("phase.png");
        plot_heatmap(
            &p,
            "f(x, p) at t = 0",
            "x",
            "p",
            (0.0, l),
            (-6.0, 6.0),
            nx,
            np,
            &f,
        )
        .unwrap();
        assert_png(&p);
        // Constant field: no division by zero.
        let p = dir.join("flat.png");
        plot_heatmap(
            &p,
            "flat",
            "x",
            "p",
            (0.0, 1.0),
            (0.0, 1.0),
            2,
            3,
            &[1.0; 6],
        )
        .unwrap();
        assert_png(&p);
        // Wrong size is an error naming the path.
        let err = plot_heatmap(
            dir.join("bad.png"),
            "",
            "",
            "",
            (0.0, 1.0),
            (0.0, 1.0),
            2,
            2,
            &[0.0; 3],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("bad.png"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(tick_label(&1e-5), "1e-5");
        assert_eq!(tick_label(&9.99999999998e-5), "1e-4");
        assert_eq!(tick_label(&2.5e-3), "0.0025");
        assert_eq!(tick_label(&12.0), "12");
        assert_eq!(tick_label(&-0.5), "-0.5");
        assert_eq!(tick_label(&1.5e7), "1.5e7");
        assert_eq!(tick_label(&0.0), "0");
    }

    #[test]
    fn colormap_ends() {
        assert_eq!(colormap(0.0), RGBColor(68, 1, 84));
        assert_eq!(colormap(1.0), RGBColor(253, 231, 37));
        assert_eq!(colormap(2.0), colormap(1.0));
        assert_eq!(colormap(f64::NAN), RGBColor(128, 128, 128));
    }
}
