//! What the jobs write, read back and checked against what the runs had: diagnostics.csv
//! against the in-memory history the `run` functions return, each .npy slice (parsed here from
//! its v1.0 header: magic, version, dict with 'descr', 'fortran_order', 'shape') against the
//! state recomputed in the test, slices/times.csv against the schedule, norms.csv against the
//! diagnostics it must agree with, and run.json against the history. CPU backend (f64), tiny
//! grids.

use std::path::{Path, PathBuf};

use hvp::cpu::CpuBackend;
use hvp::hartree::job::HartreeJob;
use hvp::hartree::HartreeGrid;
use hvp::plan::Limits;
use hvp::vlasov::job::VlasovJob;
use hvp::vlasov::{PhaseGrid, Vlasov};
use hvp::Backend;

fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hvp-outputs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn limits(b: &CpuBackend) -> Limits {
    Limits {
        device: b.describe(),
        real_bytes: b.real_bytes(),
        chunk_bytes: None,
        max_line: None,
        max_buffer_bytes: None,
    }
}

fn job<T: serde::de::DeserializeOwned>(path: &str, sets: &[&str]) -> T {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let table = hvp::config::load(Path::new(path), &sets).unwrap();
    hvp::config::job(&table).unwrap()
}

/// A CSV file as (header, rows of f64).
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| {
            l.split(',')
                .map(|v| {
                    v.parse()
                        .unwrap_or_else(|e| panic!("{}: {v:?}: {e}", path.display()))
                })
                .collect()
        })
        .collect();
    (header, rows)
}

/// Equal as f64 (the CSV writes the shortest decimal that reads back to the same f64), NaN
/// equal to NaN.
fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn assert_rows_equal(what: &str, file: &[Vec<f64>], memory: &[Vec<f64>]) {
    assert_eq!(file.len(), memory.len(), "{what}: row count");
    for (k, (a, b)) in file.iter().zip(memory).enumerate() {
        assert_eq!(a.len(), b.len(), "{what}: row {k} length");
        for (j, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(same(*x, *y), "{what}: row {k} column {j}: {x:e} vs {y:e}");
        }
    }
}

/// A .npy v1.0 file of '<f8' in C order: (shape, values). Checks the magic, the version, the
/// header dict and its padding to 64 bytes, and that the data is exactly shape's product.
fn read_npy_f64(path: &Path) -> (Vec<usize>, Vec<f64>) {
    let bytes = std::fs::read(path).unwrap();
    let name = path.display();
    assert_eq!(&bytes[..6], b"\x93NUMPY", "{name}: magic");
    assert_eq!((bytes[6], bytes[7]), (1, 0), "{name}: version 1.0");
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let data_start = 10 + header_len;
    assert_eq!(
        data_start % 64,
        0,
        "{name}: data starts at a multiple of 64"
    );
    let header = std::str::from_utf8(&bytes[10..data_start]).unwrap();
    assert!(header.ends_with('\n'), "{name}: header ends with a newline");
    let dict = header.trim_end();
    assert!(
        dict.starts_with('{') && dict.ends_with('}'),
        "{name}: {dict}"
    );
    // The value after 'key': a tuple up to its ')', anything else up to the next ','.
    let value = |key: &str| -> String {
        let at = dict
            .find(&format!("'{key}':"))
            .unwrap_or_else(|| panic!("{name}: no {key} in {dict}"));
        let rest = dict[at + key.len() + 3..].trim_start();
        let end = if rest.starts_with('(') {
            rest.find(')').unwrap() + 1
        } else {
            rest.find(',').unwrap()
        };
        rest[..end].trim().to_string()
    };
    assert_eq!(value("descr"), "'<f8'", "{name}: dtype");
    assert_eq!(value("fortran_order"), "False", "{name}: C order");
    let shape_text = value("shape");
    let shape: Vec<usize> = shape_text
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let count: usize = shape.iter().product();
    let data = &bytes[data_start..];
    assert_eq!(data.len(), count * 8, "{name}: {shape:?} of f64");
    let values = data
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    (shape, values)
}

fn column(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

/// The (x_0, p_0) slice of f through the box centre (other position indices nx/2, other
/// momentum indices np/2), indexed here from f's row-major layout over (x_0..x_{d-1},
/// p_0..p_{d-1}).
fn centre_slice(grid: &PhaseGrid, f: &[f64]) -> Vec<f64> {
    let (d, nx, np) = (grid.dim, grid.nx, grid.np);
    let mut out = Vec::with_capacity(nx * np);
    for i in 0..nx {
        for k in 0..np {
            let mut index = 0;
            for a in 0..d {
                index = index * nx + if a == 0 { i } else { nx / 2 };
            }
            for a in 0..d {
                index = index * np + if a == 0 { k } else { np / 2 };
            }
            out.push(f[index]);
        }
    }
    out
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// A 2D2V Landau run (8² × 8² cells, 4 steps, slices every 2 steps, velocity moments 0 and 2):
/// diagnostics.csv is the returned history row for row, bit for bit; run.json's first and last
/// rows are its ends; times.csv lists t = 0, 0.2, 0.4; each f_NNNNNN.npy is '<f8' of shape
/// (8, 8) and equals the centre slice of f recomputed here (sampled from the initial state at
/// t = 0, stepped by a second solver after); norms.csv's moment_0 is the mass column and
/// moment_2 = 2 m × kinetic energy.
#[test]
fn vlasov_outputs_match_the_run() {
    let cpu = CpuBackend::new();
    let job: VlasovJob = job(
        "configs/landau_2d.toml",
        &[
            "grid.nx=8",
            "grid.np=8",
            "time.dt=0.1",
            "time.t_end=0.4",
            "time.output_every=0.1",
            "time.slice_every=0.2",
            "diagnostics.moments=[0.0, 2.0]",
        ],
    );
    let out = tmp_dir("vlasov");
    let (summary, history) =
        hvp::vlasov::job::run(&cpu, limits(&cpu), job.clone(), &out, true).unwrap();
    assert_eq!(history.len(), 5);

    let (header, rows) = read_csv(&out.join("diagnostics.csv"));
    assert_eq!(header, hvp::vlasov::diagnostics::Diagnostics::columns(2));
    let memory: Vec<Vec<f64>> = history.iter().map(|h| h.row()).collect();
    assert_rows_equal("diagnostics.csv", &rows, &memory);

    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    let as_vec = |v: &serde_json::Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap_or(f64::NAN))
            .collect()
    };
    // serde_json's default float parser may be an ulp off the shortest form it wrote.
    for (file, mem) in [(&run["first"], &memory[0]), (&run["last"], &memory[4])] {
        for (x, y) in as_vec(file).iter().zip(mem) {
            assert!(
                (x - y).abs() <= 4.0 * f64::EPSILON * y.abs() || same(*x, *y),
                "run.json: {x:e} vs {y:e}"
            );
        }
    }
    assert_eq!(run["steps"], 4);
    assert_eq!(run["cells"], 8usize.pow(4));
    assert_eq!(summary.steps, 4);

    // norms.csv: the same times; M_0 = ∫∫f is the mass, M_2 = ∫∫f|p/m|² = 2 kinetic / m.
    let (nh, norms) = read_csv(&out.join("norms.csv"));
    assert_eq!(nh, ["t", "moment_0", "moment_2"]);
    assert_eq!(norms.len(), history.len());
    let m = job.physics.mass;
    for (row, h) in norms.iter().zip(&history) {
        assert!(same(row[0], h.t));
        assert!(
            (row[1] - h.mass).abs() <= 1e-12 * h.mass,
            "{} vs {}",
            row[1],
            h.mass
        );
        let m2 = 2.0 * h.kinetic / m;
        assert!((row[2] - m2).abs() <= 1e-12 * m2, "{} vs {m2}", row[2]);
    }

    // slices/times.csv: slices at steps 0, 2, 4.
    let (th, times) = read_csv(&out.join("slices/times.csv"));
    assert_eq!(th, ["index", "t"]);
    assert_eq!(times.len(), 3);
    for (k, row) in times.iter().enumerate() {
        assert_eq!(row[0], k as f64);
        let t = history[2 * k].t;
        assert!(same(row[1], t), "slice {k}: {} vs {t}", row[1]);
        assert!((row[1] - 0.2 * k as f64).abs() < 1e-12);
    }

    // The slices against f recomputed here: sampled at t = 0, then stepped by a second solver.
    let grid = PhaseGrid::new(2, &job.grid, job.physics.boundary).unwrap();
    let f0 = job.initial.sample(&grid, &job.physics);
    let mut expected = vec![centre_slice(&grid, &f0)];
    let mut solver = Vlasov::new(&cpu, &job.physics, &job.grid, &job.numerics).unwrap();
    solver.load(&cpu, &job.initial).unwrap();
    for step in 1..=4 {
        solver.step(&cpu, job.time.dt).unwrap();
        if step % 2 == 0 {
            expected.push(centre_slice(&grid, &cpu.download_real(&solver.f).unwrap()));
        }
    }
    for (k, want) in expected.iter().enumerate() {
        let (shape, values) = read_npy_f64(&out.join(format!("slices/f_{k:06}.npy")));
        assert_eq!(shape, [8, 8], "slice {k}");
        let scale = want.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        let diff = max_abs_diff(&values, want);
        // Measured: 0 (the same f64 operations in the same order).
        assert!(diff <= 1e-13 * scale, "slice {k}: max difference {diff:e}");
    }
    assert!(!out.join("slices/f_000003.npy").exists());
}

/// A 2D Hartree run (8² points, 4 steps, slices every 2): diagnostics.csv is the returned
/// history bit for bit; each rho_NNNNNN.npy is '<f8' of shape (8, 8) with ∫ρ = h² Σρ = trace/N
/// of the same output time (ρ = diag(A)/(N h^d)); the first equals diag(A_0)/(N h²) of the
/// initial matrix built here; times.csv lists t = 0, 0.02, 0.04.
#[test]
fn hartree_outputs_match_the_run() {
    let cpu = CpuBackend::new();
    let job: HartreeJob = job(
        "configs/hartree_gravity_2d.toml",
        &[
            "grid.n=8",
            "time.dt=0.01",
            "time.t_end=0.04",
            "time.output_every=0.01",
            "time.slice_every=0.02",
        ],
    );
    let out = tmp_dir("hartree");
    let (summary, history) =
        hvp::hartree::job::run(&cpu, limits(&cpu), job.clone(), &out, true).unwrap();
    assert_eq!(history.len(), 5);
    let (header, rows) = read_csv(&out.join("diagnostics.csv"));
    assert_eq!(header, hvp::hartree::solver::HartreeDiagnostics::columns());
    let memory: Vec<Vec<f64>> = history.iter().map(|h| h.row()).collect();
    assert_rows_equal("diagnostics.csv", &rows, &memory);
    assert_rows_equal(
        "run summary first/last",
        &[summary.first.clone(), summary.last.clone()],
        &[memory[0].clone(), memory[4].clone()],
    );

    let (_, times) = read_csv(&out.join("slices/times.csv"));
    assert_eq!(times.len(), 3);
    let grid = HartreeGrid::new(2, 8, job.grid.length, job.physics.boundary).unwrap();
    let n_particles = job.physics.particles();
    let h2 = grid.cell();
    for (k, row) in times.iter().enumerate() {
        let d = &history[2 * k];
        assert!(same(row[1], d.t), "slice {k}: {} vs {}", row[1], d.t);
        let (shape, rho) = read_npy_f64(&out.join(format!("slices/rho_{k:06}.npy")));
        assert_eq!(shape, [8, 8], "slice {k}");
        let integral = rho.iter().sum::<f64>() * h2;
        let want = d.trace / n_particles;
        assert!(
            (integral - want).abs() < 1e-12 * want,
            "slice {k}: ∫ρ = {integral} vs trace/N = {want}"
        );
        if k == 0 {
            let a0 = job.initial.matrix(&grid, &job.physics).unwrap();
            let p = grid.points();
            let diag: Vec<f64> = (0..p)
                .map(|a| a0[a * p + a].re / (n_particles * h2))
                .collect();
            let diff = max_abs_diff(&rho, &diag);
            let scale = diag.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            assert!(diff <= 1e-12 * scale, "ρ_0: max difference {diff:e}");
        }
    }
}

/// compare.csv is the returned rows bit for bit, with the documented leading columns, and
/// run.json's maximum and its time are the maximum of the trace_norm_over_n column.
#[test]
fn compare_csv_matches_the_run() {
    let cpu = CpuBackend::new();
    let job: hvp::compare::job::CompareJob = job(
        "configs/compare_calibration_1d.toml",
        &["time.t_end=0.3", "diagnostics.sobolev=false"],
    );
    let out = tmp_dir("compare");
    let (summary, rows) =
        hvp::compare::job::run(&cpu, limits(&cpu), job.clone(), &out, true).unwrap();
    let (header, file) = read_csv(&out.join("compare.csv"));
    assert_eq!(
        header[..11],
        [
            "t",
            "trace_norm",
            "trace_norm_over_n",
            "trace_norm_over_n_eps",
            "hs_norm",
            "hs_norm_over_n",
            "rho_l1",
            "min_eig",
            "max_eig",
            "min_eig_tilde",
            "max_eig_tilde"
        ]
    );
    let memory: Vec<Vec<f64>> = rows.iter().map(|r| r.row()).collect();
    assert_rows_equal("compare.csv", &file, &memory);
    let c = column(&header, "trace_norm_over_n");
    let (k, max) = file
        .iter()
        .enumerate()
        .map(|(k, r)| (k, r[c]))
        .fold((0, f64::NEG_INFINITY), |a, b| if b.1 > a.1 { b } else { a });
    assert!(same(summary.max_trace_norm_over_n, max));
    assert!(same(summary.t_of_max, file[k][0]));
    // trace_norm_over_n is trace_norm / N, N = 1/ε = 10.
    let tn = column(&header, "trace_norm");
    for r in &file {
        assert!((r[c] - r[tn] / 10.0).abs() <= 1e-15 * r[tn].abs().max(1e-300));
    }
}
