//! WGSL sources and their composition. Each kernel family is one file under shaders/; shared
//! snippets live in shaders/shared/ and are pulled in by `#import NAME` lines. Sizes that WGSL
//! needs at compile time (line length, workgroup size) are prepended as `const` declarations.

use anyhow::{bail, Result};

/// The layout of a Rust params struct, to be checked against its WGSL twin: the struct's size
/// and its fields (padding left out) with their byte offsets, in order.
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct ParamsLayout {
    pub name: &'static str,
    pub size: usize,
    pub fields: Vec<(&'static str, usize)>,
}

/// A kernel family: one WGSL file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ShaderFile {
    Fft,
    Elementwise,
    Reduce,
    Advect,
    ShiftGroup,
    Phase,
    Corner,
    Hartree,
    Quantize,
    Matmul,
}

impl ShaderFile {
    pub const ALL: [ShaderFile; 10] = [
        ShaderFile::Fft,
        ShaderFile::Elementwise,
        ShaderFile::Reduce,
        ShaderFile::Advect,
        ShaderFile::ShiftGroup,
        ShaderFile::Phase,
        ShaderFile::Corner,
        ShaderFile::Hartree,
        ShaderFile::Quantize,
        ShaderFile::Matmul,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ShaderFile::Fft => "fft.wgsl",
            ShaderFile::Elementwise => "elementwise.wgsl",
            ShaderFile::Reduce => "reduce.wgsl",
            ShaderFile::Advect => "advect.wgsl",
            ShaderFile::ShiftGroup => "shift_group.wgsl",
            ShaderFile::Phase => "phase.wgsl",
            ShaderFile::Corner => "corner.wgsl",
            ShaderFile::Hartree => "hartree.wgsl",
            ShaderFile::Quantize => "quantize.wgsl",
            ShaderFile::Matmul => "matmul.wgsl",
        }
    }

    fn source(self) -> &'static str {
        match self {
            ShaderFile::Fft => include_str!("../../shaders/fft.wgsl"),
            ShaderFile::Elementwise => include_str!("../../shaders/elementwise.wgsl"),
            ShaderFile::Reduce => include_str!("../../shaders/reduce.wgsl"),
            ShaderFile::Advect => include_str!("../../shaders/advect.wgsl"),
            ShaderFile::ShiftGroup => include_str!("../../shaders/shift_group.wgsl"),
            ShaderFile::Phase => include_str!("../../shaders/phase.wgsl"),
            ShaderFile::Corner => include_str!("../../shaders/corner.wgsl"),
            ShaderFile::Hartree => include_str!("../../shaders/hartree.wgsl"),
            ShaderFile::Quantize => include_str!("../../shaders/quantize.wgsl"),
            ShaderFile::Matmul => include_str!("../../shaders/matmul.wgsl"),
        }
    }

    /// Constants with values that make the file compile on its own (used by the validation
    /// test; real pipelines pass their own).
    pub fn example_constants(self) -> Vec<(&'static str, u32)> {
        match self {
            ShaderFile::Fft => vec![
                ("LEN", 60),
                ("LINES_PER_WG", 17),
                ("WG_SIZE", 256),
                ("STAGES4", 1),
                ("STAGES2", 0),
                ("STAGES3", 1),
                ("STAGES5", 1),
            ],
            ShaderFile::Elementwise => vec![("COMP", 2), ("X_COMP", 1), ("WG_SIZE", 256)],
            ShaderFile::Reduce => vec![("WG_SIZE", 256), ("ITEMS", 16)],
            ShaderFile::Corner => vec![("COMP", 2), ("WG_SIZE", 256)],
            ShaderFile::Hartree => vec![("WG_SIZE", 256)],
            ShaderFile::Quantize => vec![("WG_SIZE", 256)],
            ShaderFile::Matmul => vec![("SPLIT", 1)],
            ShaderFile::Advect => vec![
                ("LEN", 64),
                ("LINES_PER_WG", 16),
                ("WG_SIZE", 256),
                ("DEGREE", 5),
                ("PERIODIC", 1),
            ],
            ShaderFile::ShiftGroup => vec![
                ("TILE", 4096),
                ("PER_INV", 16),
                ("WG_SIZE", 256),
                ("DEGREE", 5),
            ],
            ShaderFile::Phase => vec![("WG_SIZE", 256), ("ITEMS", 16)],
        }
    }
}

/// A compute entry point: its file and its function name. Pipelines are asked for by these
/// constants, never by a string; a test checks each against the entry points naga finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Kernel {
    pub file: ShaderFile,
    pub entry: &'static str,
}

impl Kernel {
    const fn new(file: ShaderFile, entry: &'static str) -> Self {
        Self { file, entry }
    }

    pub const SHIFT_LINES: Kernel = Kernel::new(ShaderFile::Advect, "shift_lines");
    pub const SHIFT_LINES_DIRECT: Kernel = Kernel::new(ShaderFile::Advect, "shift_lines_direct");
    pub const SHIFT_GROUP: Kernel = Kernel::new(ShaderFile::ShiftGroup, "shift_group");
    pub const SUM_INNER: Kernel = Kernel::new(ShaderFile::Phase, "sum_inner");
    pub const PHASE_SUMS: Kernel = Kernel::new(ShaderFile::Phase, "phase_sums");
    pub const FFT_LINES: Kernel = Kernel::new(ShaderFile::Fft, "fft_lines");
    pub const TRANSPOSE_DIGITS: Kernel = Kernel::new(ShaderFile::Fft, "transpose_digits");
    pub const MATMUL: Kernel = Kernel::new(ShaderFile::Matmul, "matmul");
    pub const HERMITISE: Kernel = Kernel::new(ShaderFile::Matmul, "hermitise");
    pub const INNER_PARTIALS: Kernel = Kernel::new(ShaderFile::Matmul, "inner_partials");
    pub const CONJUGATION_PHASE: Kernel = Kernel::new(ShaderFile::Hartree, "conjugation_phase");
    pub const DIAGONAL: Kernel = Kernel::new(ShaderFile::Hartree, "diagonal");
    pub const POSITION_COMMUTATOR: Kernel = Kernel::new(ShaderFile::Hartree, "position_commutator");
    pub const FILL: Kernel = Kernel::new(ShaderFile::Elementwise, "fill");
    pub const SCALE: Kernel = Kernel::new(ShaderFile::Elementwise, "scale");
    pub const AXPY: Kernel = Kernel::new(ShaderFile::Elementwise, "axpy");
    pub const MUL: Kernel = Kernel::new(ShaderFile::Elementwise, "mul");
    pub const CONVERT: Kernel = Kernel::new(ShaderFile::Elementwise, "convert");
    pub const COPY_CORNER: Kernel = Kernel::new(ShaderFile::Corner, "copy_corner");
    pub const REDUCE_STATS: Kernel = Kernel::new(ShaderFile::Reduce, "reduce_stats");
    pub const WIGNER_PLACE: Kernel = Kernel::new(ShaderFile::Quantize, "wigner_place");
    pub const SEPARATION_WINDOW: Kernel = Kernel::new(ShaderFile::Quantize, "separation_window");
    pub const WEYL_GATHER: Kernel = Kernel::new(ShaderFile::Quantize, "weyl_gather");

    pub const ALL: [Kernel; 23] = [
        Kernel::SHIFT_LINES,
        Kernel::SHIFT_LINES_DIRECT,
        Kernel::SHIFT_GROUP,
        Kernel::SUM_INNER,
        Kernel::PHASE_SUMS,
        Kernel::FFT_LINES,
        Kernel::TRANSPOSE_DIGITS,
        Kernel::MATMUL,
        Kernel::HERMITISE,
        Kernel::INNER_PARTIALS,
        Kernel::CONJUGATION_PHASE,
        Kernel::DIAGONAL,
        Kernel::POSITION_COMMUTATOR,
        Kernel::FILL,
        Kernel::SCALE,
        Kernel::AXPY,
        Kernel::MUL,
        Kernel::CONVERT,
        Kernel::COPY_CORNER,
        Kernel::REDUCE_STATS,
        Kernel::WIGNER_PLACE,
        Kernel::SEPARATION_WINDOW,
        Kernel::WEYL_GATHER,
    ];
}

fn shared_snippet(name: &str) -> Option<&'static str> {
    match name {
        "complex" => Some(include_str!("../../shaders/shared/complex.wgsl")),
        "grid" => Some(include_str!("../../shaders/shared/grid.wgsl")),
        "lines" => Some(include_str!("../../shaders/shared/lines.wgsl")),
        "stencil" => Some(include_str!("../../shaders/shared/stencil.wgsl")),
        _ => None,
    }
}

/// The full WGSL text of `file` with its imports resolved and `constants` declared.
/// The bind group layout of `entry` in the composed `source`: each buffer the entry point uses,
/// at its binding number, storage read-only or read-write as declared, and the uniform params
/// with a dynamic offset, so that one bind group serves every slot of the params arena.
/// (A layout derived by the driver would fix the offset in the bind group.)
pub(crate) fn binding_layout(source: &str, entry: &str) -> Result<Vec<wgpu::BindGroupLayoutEntry>> {
    use wgpu::naga;
    let module = naga::front::wgsl::parse_str(source)
        .map_err(|e| anyhow::anyhow!("{entry}: {}", e.emit_to_string(source)))?;
    let info = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    )
    .validate(&module)
    .map_err(|e| anyhow::anyhow!("{entry}: {}", e.emit_to_string(source)))?;
    let Some(ep) = module.entry_points.iter().position(|e| e.name == entry) else {
        bail!("no entry point {entry}");
    };
    let uses = info.get_entry_point(ep);
    let mut entries = Vec::new();
    for (handle, var) in module.global_variables.iter() {
        let Some(binding) = &var.binding else {
            continue;
        };
        if uses[handle].is_empty() {
            continue;
        }
        if binding.group != 0 {
            bail!(
                "{entry}: binding group {} (the kernels use group 0)",
                binding.group
            );
        }
        let ty = match var.space {
            naga::AddressSpace::Uniform => wgpu::BufferBindingType::Uniform,
            naga::AddressSpace::Storage { access } => wgpu::BufferBindingType::Storage {
                read_only: !access.contains(naga::StorageAccess::STORE),
            },
            other => bail!("{entry}: binding {} in {other:?}", binding.binding),
        };
        entries.push(wgpu::BindGroupLayoutEntry {
            binding: binding.binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty,
                has_dynamic_offset: ty == wgpu::BufferBindingType::Uniform,
                min_binding_size: None,
            },
            count: None,
        });
    }
    Ok(entries)
}

pub fn compose(file: ShaderFile, constants: &[(&str, u32)]) -> Result<String> {
    let mut out = String::new();
    for (name, value) in constants {
        out.push_str(&format!("const {name}: u32 = {value}u;\n"));
    }
    let mut imported = Vec::new();
    for line in file.source().lines() {
        if let Some(name) = line.trim().strip_prefix("#import ") {
            let name = name.trim();
            let Some(snippet) = shared_snippet(name) else {
                bail!("{}: unknown import {name:?}", file.name());
            };
            if !imported.contains(&name) {
                imported.push(name);
                out.push_str(snippet);
            }
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wgpu::naga;

    /// Every kernel file parses and validates with naga: a broken shader fails here, on any
    /// machine, with or without a GPU.
    #[test]
    fn every_shader_validates() {
        for file in ShaderFile::ALL {
            let src = compose(file, &file.example_constants()).unwrap();
            let module = naga::front::wgsl::parse_str(&src)
                .unwrap_or_else(|e| panic!("{}: {}", file.name(), e.emit_to_string(&src)));
            let info = naga::valid::Validator::new(
                naga::valid::ValidationFlags::all(),
                naga::valid::Capabilities::empty(),
            )
            .validate(&module)
            .unwrap_or_else(|e| panic!("{}: {e:?}", file.name()));
            let signed = signed_remainders(&module, &info);
            assert!(
                signed.is_empty(),
                "{}: `%` on signed integers in {signed:?}; GL drivers get it wrong, use wrap_index",
                file.name()
            );
        }
    }

    /// Every WGSL struct named `…Params` (a kernel's uniform parameters) has exactly one
    /// `#[repr(C)]` Rust twin with the same size and the same fields at the same offsets as
    /// naga lays them out (padding, named `_…`, left out of the comparison); and every twin
    /// has its WGSL struct.
    #[test]
    fn every_params_struct_has_a_rust_twin_with_its_layout() {
        let twins = crate::gpu::params_layouts();
        for (i, t) in twins.iter().enumerate() {
            // Each dispatch's params take one slot of the uniform arena.
            assert!(
                t.size as u64 <= crate::gpu::recorder::MAX_PARAMS_BYTES,
                "{} ({} bytes) does not fit a uniform arena slot",
                t.name,
                t.size
            );
            assert!(
                twins[..i].iter().all(|u| u.name != t.name),
                "{} has two Rust twins",
                t.name
            );
        }
        let mut seen = std::collections::HashSet::new();
        for file in ShaderFile::ALL {
            let src = compose(file, &file.example_constants()).unwrap();
            let module = naga::front::wgsl::parse_str(&src).unwrap();
            for (_, ty) in module.types.iter() {
                let (Some(name), naga::TypeInner::Struct { members, span }) = (&ty.name, &ty.inner)
                else {
                    continue;
                };
                if !name.ends_with("Params") {
                    continue;
                }
                let twin = twins
                    .iter()
                    .find(|t| t.name == name)
                    .unwrap_or_else(|| panic!("{}: {name} has no Rust twin", file.name()));
                assert_eq!(
                    twin.size,
                    *span as usize,
                    "{}: {name} is {span} bytes in WGSL, {} in Rust",
                    file.name(),
                    twin.size
                );
                let wgsl: Vec<(&str, usize)> = members
                    .iter()
                    .filter_map(|m| {
                        let n = m.name.as_deref()?;
                        (!n.starts_with('_')).then_some((n, m.offset as usize))
                    })
                    .collect();
                assert_eq!(
                    wgsl,
                    twin.fields,
                    "{}: {name}: WGSL fields (name, offset) against the Rust twin's",
                    file.name()
                );
                seen.insert(twin.name);
            }
        }
        for t in &twins {
            assert!(
                seen.contains(t.name),
                "{}: no WGSL struct of that name",
                t.name
            );
        }
        assert_eq!(seen.len(), 14, "params structs checked");
    }

    /// Every `Kernel` constant names an entry point of its file, and every entry point of
    /// every file has exactly one constant.
    #[test]
    fn every_entry_point_has_one_kernel_constant() {
        let mut named = Vec::new();
        for file in ShaderFile::ALL {
            let src = compose(file, &file.example_constants()).unwrap();
            let module = naga::front::wgsl::parse_str(&src).unwrap();
            for ep in &module.entry_points {
                let ours: Vec<_> = Kernel::ALL
                    .iter()
                    .filter(|k| k.file == file && k.entry == ep.name)
                    .collect();
                assert_eq!(ours.len(), 1, "{}: entry point {}", file.name(), ep.name);
                named.push((file, ep.name.clone()));
            }
        }
        for k in Kernel::ALL {
            assert!(
                named.iter().any(|(f, e)| *f == k.file && e == k.entry),
                "{k:?}: no such entry point"
            );
        }
        assert_eq!(named.len(), Kernel::ALL.len());
    }

    /// The functions of `module` that apply `%` to a signed integer.
    fn signed_remainders(module: &naga::Module, info: &naga::valid::ModuleInfo) -> Vec<String> {
        let has_signed_remainder = |f: &naga::Function, fi: &naga::valid::FunctionInfo| {
            f.expressions.iter().any(|(_, e)| match e {
                naga::Expression::Binary {
                    op: naga::BinaryOperator::Modulo,
                    left,
                    ..
                } => {
                    fi[*left].ty.inner_with(&module.types).scalar_kind()
                        == Some(naga::ScalarKind::Sint)
                }
                _ => false,
            })
        };
        let functions = module
            .functions
            .iter()
            .filter(|(h, f)| has_signed_remainder(f, &info[*h]))
            .map(|(_, f)| f.name.clone().unwrap_or_default());
        let entry_points = module
            .entry_points
            .iter()
            .enumerate()
            .filter(|(i, ep)| has_signed_remainder(&ep.function, info.get_entry_point(*i)))
            .map(|(_, ep)| ep.name.clone());
        functions.chain(entry_points).collect()
    }
}
