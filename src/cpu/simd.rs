//! The vector width the CPU kernels are compiled for, chosen at run time: the default build
//! targets baseline x86-64 (two f64 lanes), while the machines it runs on mostly have AVX2
//! (four) or AVX-512 (eight). A hot function is written once as an `#[inline(always)]` body
//! and instantiated per instruction set by `simd_dispatch!`.
//!
//! Only the vector width changes, never the arithmetic: no fused multiply-adds are enabled,
//! every element sees the same IEEE operations in the same order, so results are bit-identical
//! on every machine and between the paths.

/// The widest instruction set this machine has among those the kernels are built for (only
/// x86_64 has more than the baseline so far).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Baseline,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

/// Detected once (the standard library caches the CPUID answer); `HVP_CPU_SIMD=baseline`
/// forces the baseline path, which the tests use to check that the paths agree.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub fn level() -> Level {
    use std::sync::OnceLock;
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        if std::env::var("HVP_CPU_SIMD").is_ok_and(|v| v == "baseline") {
            return Level::Baseline;
        }
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Level::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                return Level::Avx2;
            }
        }
        Level::Baseline
    })
}

/// `simd_dispatch!(fn name(args) { body })` defines `name` with that body compiled once per
/// `Level` (as an `#[inline(always)]` inner function) and calls the widest the machine has.
/// Every function the body calls in its hot loops must be `#[inline(always)]` as well, so that
/// it is compiled with the same features.
macro_rules! simd_dispatch {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$meta])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name($($arg: $ty),*) {
            #[allow(clippy::too_many_arguments)]
            #[inline(always)]
            fn body($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx512($($arg: $ty),*) {
                    body($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx2($($arg: $ty),*) {
                    body($($arg),*)
                }
                match $crate::cpu::simd::level() {
                    // SAFETY: the level says the CPU has these features.
                    $crate::cpu::simd::Level::Avx512 => return unsafe { avx512($($arg),*) },
                    $crate::cpu::simd::Level::Avx2 => return unsafe { avx2($($arg),*) },
                    $crate::cpu::simd::Level::Baseline => {}
                }
            }
            body($($arg),*)
        }
    };
}
pub(crate) use simd_dispatch;
