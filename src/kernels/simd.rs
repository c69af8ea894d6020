//! Compiles a kernel's plain loops for the CPU's wider vector instructions.
//!
//! nnlab is compiled for the baseline x86-64 CPU (SSE2), so its loops (col2im's adds, the
//! output compaction, pooling, the weight-gradient dot products) would use 4-lane vectors
//! even on AVX-512 machines. [`multiversion!`](crate::multiversion) compiles a function's
//! body three times, for AVX-512, for AVX2 + FMA and for the baseline, and runs the best
//! copy this CPU supports. (`gemm` does its own dispatch.)

/// Defines `fn name(args)` whose body is compiled for AVX-512, AVX2 + FMA and the baseline,
/// picking one at run time. The identifier in brackets names a `bool` the body can read:
/// whether fused multiply-add is native in this copy (`f32::mul_add` is a slow library call
/// where it is not).
#[macro_export]
#[doc(hidden)]
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident [$fma:ident] ($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn body($fma: bool, $($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                unsafe fn avx512($($arg: $ty),*) {
                    body(true, $($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) {
                    body(true, $($arg),*)
                }
                use std::arch::is_x86_feature_detected as has;
                if has!("avx512f") && has!("avx2") && has!("fma") {
                    // SAFETY: this CPU has the features `avx512` is compiled with.
                    return unsafe { avx512($($arg),*) };
                }
                if has!("avx2") && has!("fma") {
                    // SAFETY: this CPU has the features `avx2` is compiled with.
                    return unsafe { avx2($($arg),*) };
                }
            }
            body(false, $($arg),*)
        }
    };
}
