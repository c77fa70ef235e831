//! hvp: the Hartree equation and the Vlasov–Poisson system side by side, on the GPU (WGSL
//! kernels through wgpu) and on the CPU, and the trace-norm distance between them.
//!
//! Layout: `field` (shapes and chunk layout), `backend` (the trait solvers use), `kernels` (the
//! typed kernel traits on top of it), `gpu` and `cpu` (their two implementations, which import
//! only those three and know no physics), `host` (the solvers' f64 work on host data), `bench`
//! (measurements), `selfcheck` (an adapter's kernels against their CPU twins before a run trusts
//! the adapter).

pub mod backend;
pub mod bench;
pub mod compare;
pub mod cpu;
pub mod field;
pub mod gpu;
pub mod hartree;
pub mod host;
pub mod kernels;
pub mod lemma24;
pub mod lemmas;
pub mod tracenorm;

pub use backend::{Backend, FftDirection, FieldInfo, Stats};
pub use field::Elem;
pub mod config;
pub mod demo;
pub mod dispersion;
pub mod output;
pub mod plan;
pub mod poisson;
pub mod selfcheck;
pub mod study;
pub mod vlasov;
pub mod wigner;
