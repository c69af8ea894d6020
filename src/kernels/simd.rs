//! Runs a kernel's plain loops with the CPU's wider vector instructions.
//!
//! nnlab is compiled for the baseline x86-64 CPU (SSE2), so its loops (col2im's adds, the
//! output compaction, bias sums, pooling) would use 4-lane vectors even on AVX2 machines.
//! [`vectorized`] compiles the closure it is given a second time with AVX2 and FMA enabled
//! and picks that copy at run time when the CPU has them. (`gemm` does its own dispatch.)

/// Runs `f`, compiled with AVX2 + FMA when this CPU supports them. Mark the closure
/// `#[inline(always)]` so that its body is compiled inside the AVX2 copy.
#[inline(always)]
pub fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports the features this copy is compiled with (checked above).
            return unsafe { with_avx2(f) };
        }
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}
