//! The kernel interfaces: the typed operations the solvers need beyond `Backend`, one trait per
//! family, each with its operand checks and the plain data types and index formulas it takes.
//!
//! - `Advection` (advect.rs): line shifts by Lagrange interpolation, block sums, phase-space
//!   sums (the Vlasov step and its diagnostics).
//! - `MatrixKernels` (matrix.rs): two-sided phases, the diagonal and the position commutator of
//!   an operator [n; d] ++ [n; d] (the Hartree step and the comparison's bounds).
//! - `QuantizeKernels` (quantize.rs): the index maps of Wigner_s and Weyl quantization.
//! - `MatMul` (matmul.rs): complex matrix products, the Hermitian part, the Frobenius inner
//!   product (the Newton–Schulz trace norm).
//!
//! The rule of this layer: backends (`gpu`, `cpu`) implement these traits, solvers call them,
//! and this layer imports only `backend` and `field`. A backend therefore imports nothing but
//! `kernels`, `backend` and `field` from the crate, and knows no physics. `backend` (the
//! `Backend` trait every kernel trait extends: fields, transfers, FFT, element-wise ops,
//! reductions) and `field` (shapes, chunk layout) are the base beneath it and stay where the
//! whole crate reaches them; the test below checks the rule.

mod advect;
mod matmul;
mod matrix;
mod quantize;

pub(crate) use advect::{check_group, check_momenta, check_shift, check_sum_inner};
pub use advect::{
    lagrange_weights, split_shift, Advection, GroupPath, LineBoundary, LineShift, MomentumAxes,
    PhaseSums, MAX_DEGREE,
};
pub(crate) use matmul::{check_inner, check_matmul};
pub use matmul::{hermitise, matrix_rows, MatMul};
pub use matrix::MatrixKernels;
pub(crate) use matrix::{check_axis_table, check_operator};
pub(crate) use quantize::{check_operands, check_phase};
pub use quantize::{place_sources, separation_weight, QuantizeGeom, QuantizeKernels};

#[cfg(test)]
mod layering {
    //! The layering of the crate, read from its sources: the kernel layer and the backends
    //! import only what sits beneath them, and no solver builds a CPU backend or imports `cpu`
    //! (host-side f64 work goes through `host`).

    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    /// Every .rs file under `dir`, as (path relative to src/, contents).
    fn sources(dir: &Path, src: &Path, out: &mut Vec<(String, String)>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                sources(&path, src, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(src).unwrap().to_string_lossy();
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((rel.replace('\\', "/"), text));
            }
        }
    }

    fn all_sources() -> Vec<(String, String)> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut out = Vec::new();
        sources(&src, &src, &mut out);
        assert!(out.len() > 20, "found only {} source files", out.len());
        out
    }

    /// The code of a file: comments dropped and string literals emptied, so that prose and
    /// messages may name anything. Char literals and lifetimes are told apart, so that '"' does
    /// not open a string.
    fn code(text: &str) -> String {
        let b = text.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        let ident_before =
            |i: usize| i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        while i < b.len() {
            if b[i..].starts_with(b"//") {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            } else if b[i..].starts_with(b"/*") {
                i = text[i..].find("*/").map_or(b.len(), |k| i + k + 2);
            } else if b[i] == b'r' && !ident_before(i) && matches!(b.get(i + 1), Some(b'"' | b'#'))
            {
                // A raw string r#"…"#: ends at the quote followed by as many hashes.
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                let open = i + 1 + hashes;
                if b.get(open) != Some(&b'"') {
                    out.push(b[i]);
                    i += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                i = text[open + 1..]
                    .find(&close)
                    .map_or(b.len(), |k| open + 1 + k + close.len());
                out.extend_from_slice(b"\"\"");
            } else if b[i] == b'"' {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                out.extend_from_slice(b"\"\"");
            } else if b[i] == b'\'' {
                // '\x', 'c' (any one char) or a lifetime 'a.
                let len = if b.get(i + 1) == Some(&b'\\') {
                    text[i + 2..].find('\'').map_or(b.len() - i, |k| k + 3)
                } else {
                    let c = text[i + 1..].chars().next().map_or(0, char::len_utf8);
                    if b.get(i + 1 + c) == Some(&b'\'') {
                        c + 2
                    } else {
                        1
                    }
                };
                out.extend_from_slice(&b[i..(i + len).min(b.len())]);
                i += len;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    fn ident(s: &str) -> &str {
        let end = s
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(s.len());
        &s[..end]
    }

    /// The top-level modules of the crate, as src/lib.rs declares them.
    fn module_names() -> BTreeSet<String> {
        let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"))
            .unwrap();
        let names: BTreeSet<String> = code(&lib)
            .lines()
            .filter_map(|l| {
                let l = l.trim().strip_prefix("pub ").unwrap_or(l.trim());
                Some(ident(l.strip_prefix("mod ")?).to_string())
            })
            .collect();
        for must in [
            "backend", "field", "kernels", "cpu", "gpu", "host", "wigner", "poisson",
        ] {
            assert!(names.contains(must), "src/lib.rs declares no module {must}");
        }
        names
    }

    /// The top-level modules of the crate (among `modules`) that `code`, of the file at `rel`,
    /// names: through `crate::`, or through the `super::` chain that leads from the file to the
    /// crate root. (A `super::` inside an inline module, such as `mod tests`, is read as if it
    /// were at the file's level; only names of crate modules count, so `super::*` and the like
    /// do not.)
    fn crate_modules(rel: &str, code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
        let levels = match rel {
            "lib.rs" | "main.rs" => 0,
            _ if rel.ends_with("/mod.rs") => rel.matches('/').count(),
            _ => rel.matches('/').count() + 1,
        };
        let root_super = "super::".repeat(levels);
        let mut prefixes = vec!["crate::"];
        if levels > 0 {
            prefixes.push(&root_super);
        }
        let mut found = BTreeSet::new();
        for prefix in prefixes {
            for (at, _) in code.match_indices(prefix) {
                // Skip a longer chain of `super::` that this one is the tail of.
                if prefix.starts_with("super") && code[..at].ends_with("super::") {
                    continue;
                }
                let after = &code[at + prefix.len()..];
                if let Some(group) = after.strip_prefix('{') {
                    // `crate::{a::X, b}`: the first segment of each top-level item.
                    let mut level = 0;
                    let mut start = 0;
                    for (i, c) in group.char_indices() {
                        match c {
                            '{' => level += 1,
                            '}' if level == 0 => {
                                found.insert(ident(group[start..i].trim()).to_string());
                                break;
                            }
                            '}' => level -= 1,
                            ',' if level == 0 => {
                                found.insert(ident(group[start..i].trim()).to_string());
                                start = i + 1;
                            }
                            _ => {}
                        }
                    }
                } else {
                    found.insert(ident(after).to_string());
                }
            }
        }
        found.retain(|m| modules.contains(m));
        found
    }

    /// Crate modules that the files under each prefix may name, besides their own.
    const BENEATH: &[(&str, &[&str])] = &[
        ("field.rs", &[]),
        ("backend.rs", &["field"]),
        ("kernels/", &["backend", "field"]),
        ("cpu/", &["kernels", "backend", "field"]),
        ("gpu/", &["kernels", "backend", "field"]),
    ];

    /// Files that may build a CPU backend or import `cpu`: the backend itself, the host module,
    /// the programs that choose a backend, and the crate root that declares the modules.
    const CPU_USERS: &[&str] = &[
        "cpu/",
        "host.rs",
        "host/",
        "main.rs",
        "bench.rs",
        "selfcheck.rs",
        "lib.rs",
    ];

    fn own_module(rel: &str) -> &str {
        rel.split(['/', '.']).next().unwrap()
    }

    fn layering_errors(files: &[(String, String)], names: &BTreeSet<String>) -> Vec<String> {
        let mut errors = Vec::new();
        for (rel, text) in files {
            let code = code(text);
            let modules = crate_modules(rel, &code, names);
            if let Some((_, allowed)) = BENEATH.iter().find(|(p, _)| rel.starts_with(p)) {
                for m in &modules {
                    if m != own_module(rel) && !allowed.contains(&m.as_str()) {
                        errors.push(format!(
                            "src/{rel} names crate::{m} (it may name only {allowed:?})"
                        ));
                    }
                }
            }
            if !CPU_USERS.iter().any(|p| rel.starts_with(p)) {
                if modules.contains("cpu") {
                    errors.push(format!(
                        "src/{rel} imports crate::cpu (host-side f64 work goes through host)"
                    ));
                }
                if code.contains("CpuBackend") {
                    errors.push(format!(
                        "src/{rel} names CpuBackend (solvers use host::backend())"
                    ));
                }
            }
        }
        errors
    }

    #[test]
    fn layers_import_only_what_is_beneath_them() {
        let files = all_sources();
        for must in ["kernels/mod.rs", "cpu/mod.rs", "gpu/mod.rs", "host.rs"] {
            assert!(
                files.iter().any(|(rel, _)| rel == must),
                "src/{must} is missing"
            );
        }
        let errors = layering_errors(&files, &module_names());
        assert!(errors.is_empty(), "layering broken:\n{}", errors.join("\n"));
    }

    /// The checker itself: it sees imports in every form, and not in comments or strings.
    #[test]
    fn the_checker_finds_what_it_should() {
        let names = module_names();
        let errors =
            |rel: &str, text: &str| layering_errors(&[(rel.to_string(), text.to_string())], &names);
        let bad = [
            ("cpu/quantize.rs", "use crate::wigner::place_sources;"),
            ("gpu/mod.rs", "use super::hartree::HartreeGrid;"),
            ("gpu/hartree.rs", "use super::super::tracenorm::MatMul;"),
            ("kernels/matrix.rs", "use crate::{field::Elem, hartree::X};"),
            ("kernels/advect.rs", "fn f() { crate::cpu::shift_line(); }"),
            ("backend.rs", "use crate::kernels::MatMul;"),
            ("poisson.rs", "let cpu = CpuBackend::new();"),
            ("hartree/init.rs", "use crate::cpu::fft_axis;"),
            ("vlasov/norms.rs", "use super::super::cpu::fft_axis;"),
            ("backend.rs", "fn f() -> super::wigner::Wigner {}"),
            (
                "kernels/quantize.rs",
                "let r = '\"'; use crate::hartree::HartreeGrid;",
            ),
        ];
        for (rel, text) in bad {
            assert!(!errors(rel, text).is_empty(), "{rel}: {text} passed");
        }
        let good = [
            (
                "cpu/quantize.rs",
                "use crate::kernels::{check_phase, QuantizeGeom};",
            ),
            (
                "cpu/mod.rs",
                "use crate::{backend::Backend, field::Elem};\nmod advect;",
            ),
            (
                "cpu/advect.rs",
                "use super::lines::for_each_line; use crate::cpu::CpuData;",
            ),
            (
                "gpu/hartree.rs",
                "use crate::gpu::shaders::Kernel; // crate::hartree",
            ),
            (
                "kernels/matrix.rs",
                "/// `compare::dense` (crate::compare)\nuse crate::field::Elem;",
            ),
            (
                "poisson.rs",
                "//! Built with `cpu::CpuBackend` once.\nlet s = \"// CpuBackend\";",
            ),
            ("host.rs", "use crate::cpu::CpuBackend;"),
            (
                "cpu/mod.rs",
                "mod tests { use super::*; use super::CpuField; }",
            ),
        ];
        for (rel, text) in good {
            let errors = errors(rel, text);
            assert!(errors.is_empty(), "{rel}: {text}: {errors:?}");
        }
    }
}
