//! The Hartree equation iε∂tω = [h, ω], h = −(ε²/2m)Δ + U + V_ext, U = γ G * ρ, for a density
//! matrix stored as A_ab = h^d ω(x_a; x_b) (docs/design.md section 2): a complex array of shape
//! [n; d] ++ [n; d], row index first, so tr A = N and its eigenvalues are occupations.
//!
//! A Strang step is a kinetic half step (FFT over all 2d axes, where the kinetic propagator is
//! the two-sided phase exp(−iτε(|k|² − |k'|²)/2m)), a potential step (the two-sided phase
//! exp(−iτ(V_a − V_b)/ε) with V = U + V_ext, U from ρ = diag(A)/(N h^d) through the Poisson
//! module), and a kinetic half step. Both phases are unitary conjugations: trace, Hermiticity
//! and spectrum are kept.

pub mod exchange;
pub mod grid;
pub mod init;
pub mod job;
pub mod solver;
pub mod spectrum;
pub mod thermal;

pub use grid::{External, HartreeGrid, HartreePhysics};
