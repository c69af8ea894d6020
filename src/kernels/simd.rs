//! Compiles kernels for the CPU's wider vector instructions, two ways.
//!
//! nnlab is compiled for the baseline x86-64 CPU (SSE2), so its loops would use 4-lane
//! vectors even on AVX-512 machines. [`multiversion!`](crate::multiversion) compiles a
//! function's plain loops (the output compaction, the sigmoid) three times, for
//! AVX-512, for AVX2 + FMA and for the baseline, and runs the best copy this CPU supports.
//! Where the compiler does not vectorise plain loops well (the conv kernels' register-blocked
//! sums), `Lanes` writes them once over explicit vectors and `Isa` picks the copy.
//! (`gemm` does its own dispatch.)

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
                match $crate::kernels::simd::Isa::get() {
                    // SAFETY: `Isa::get` names only instructions this CPU has.
                    $crate::kernels::simd::Isa::Avx512 => return unsafe { avx512($($arg),*) },
                    // SAFETY: as above.
                    $crate::kernels::simd::Isa::Avx2 => return unsafe { avx2($($arg),*) },
                    $crate::kernels::simd::Isa::Portable => {}
                }
            }
            body(false, $($arg),*)
        }
    };
}

/// The vector instructions a [`Lanes`] kernel runs with on this CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isa {
    /// AVX-512 (x86-64).
    Avx512,
    /// AVX2 with FMA (x86-64).
    Avx2,
    /// Plain code for any CPU.
    Portable,
}

/// A narrower [`Isa`] chosen for tests (0: none), so that each compiled copy of a kernel can
/// be checked on one machine.
#[cfg(test)]
static FORCED: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

impl Isa {
    /// The widest this CPU has.
    pub(crate) fn get() -> Isa {
        #[cfg(test)]
        match FORCED.load(std::sync::atomic::Ordering::Relaxed) {
            1 => return Isa::Avx512,
            2 => return Isa::Avx2,
            3 => return Isa::Portable,
            _ => {}
        }
        Self::detected()
    }

    fn detected() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx512f") && has!("avx2") && has!("fma") {
                return Isa::Avx512;
            }
            if has!("avx2") && has!("fma") {
                return Isa::Avx2;
            }
        }
        Isa::Portable
    }

    /// Every `Isa` this CPU can run, widest first.
    #[cfg(test)]
    pub(crate) fn available() -> Vec<Isa> {
        let all = [Isa::Avx512, Isa::Avx2, Isa::Portable];
        let widest = all.iter().position(|&i| i == Self::detected()).unwrap_or(2);
        all[widest..].to_vec()
    }

    /// Makes [`Isa::get`] answer `self` in the whole process until the guard drops (one
    /// forcing test at a time: a lock serialises them). `self` must be [available](Isa::available).
    #[cfg(test)]
    pub(crate) fn force(self) -> impl Drop {
        use std::sync::atomic::Ordering;
        static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
        assert!(Self::available().contains(&self), "{self:?} is not available on this CPU");
        struct Forced(#[allow(dead_code)] std::sync::MutexGuard<'static, ()>);
        impl Drop for Forced {
            fn drop(&mut self) {
                FORCED.store(0, Ordering::Relaxed);
            }
        }
        let guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        FORCED.store(self as u8 + 1, Ordering::Relaxed);
        Forced(guard)
    }
}

/// A vector of `f32` lanes, for kernels written once over the vector width: AVX-512 and
/// AVX2 registers through their intrinsics, and [`Portable`] for any CPU. (Plain arrays
/// written as vectors are not enough: the compiler kept such a kernel's partial sums in
/// memory, one lane at a time.)
///
/// A value exists only where the CPU has the vector's instructions: every constructor is
/// `unsafe` and asks the caller for that, so the operations on values are safe. Its methods
/// inline into the caller, which must be compiled with those instructions
/// (`#[target_feature]`) for them to become single instructions.
pub(crate) trait Lanes: Copy {
    /// Lanes in one vector.
    const LANES: usize;
    /// All lanes zero.
    ///
    /// # Safety
    /// The CPU must have this vector's instructions.
    unsafe fn zero() -> Self;
    /// Every lane `value`.
    ///
    /// # Safety
    /// As [`Lanes::zero`].
    unsafe fn splat(value: f32) -> Self;
    /// `LANES` values from `ptr`.
    ///
    /// # Safety
    /// As [`Lanes::zero`], and `ptr` must be readable for `LANES` values.
    unsafe fn load(ptr: *const f32) -> Self;
    /// Writes the lanes to `ptr`.
    ///
    /// # Safety
    /// `ptr` must be writable for `LANES` values.
    unsafe fn store(self, ptr: *mut f32);
    /// `self + a·b`, lane by lane (fused where the instructions have it).
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// The sum of the lanes.
    fn sum(self) -> f32;
}

/// Four lanes in a plain array, for any CPU.
#[derive(Clone, Copy)]
pub(crate) struct Portable([f32; 4]);

impl Lanes for Portable {
    const LANES: usize = 4;
    #[inline(always)]
    unsafe fn zero() -> Self {
        Portable([0.0; 4])
    }
    #[inline(always)]
    unsafe fn splat(value: f32) -> Self {
        Portable([value; 4])
    }
    #[inline(always)]
    unsafe fn load(ptr: *const f32) -> Self {
        // SAFETY: the caller keeps four values readable.
        Portable(unsafe { ptr.cast::<[f32; 4]>().read_unaligned() })
    }
    #[inline(always)]
    unsafe fn store(self, ptr: *mut f32) {
        // SAFETY: the caller keeps four values writable.
        unsafe { ptr.cast::<[f32; 4]>().write_unaligned(self.0) }
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        Portable(std::array::from_fn(|l| self.0[l] + a.0[l] * b.0[l]))
    }
    #[inline(always)]
    fn sum(self) -> f32 {
        (self.0[0] + self.0[1]) + (self.0[2] + self.0[3])
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{Avx2, Avx512};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Lanes;
    use std::arch::x86_64::*;

    /// Sixteen lanes in an AVX-512 register.
    #[derive(Clone, Copy)]
    pub(crate) struct Avx512(__m512);

    impl Lanes for Avx512 {
        const LANES: usize = 16;
        #[inline(always)]
        unsafe fn zero() -> Self {
            // SAFETY: the caller asserts AVX-512.
            Avx512(unsafe { _mm512_setzero_ps() })
        }
        #[inline(always)]
        unsafe fn splat(value: f32) -> Self {
            // SAFETY: the caller asserts AVX-512.
            Avx512(unsafe { _mm512_set1_ps(value) })
        }
        #[inline(always)]
        unsafe fn load(ptr: *const f32) -> Self {
            // SAFETY: the caller asserts AVX-512 and sixteen readable values.
            Avx512(unsafe { _mm512_loadu_ps(ptr) })
        }
        #[inline(always)]
        unsafe fn store(self, ptr: *mut f32) {
            // SAFETY: the value's existence proves AVX-512; the caller, sixteen writable values.
            unsafe { _mm512_storeu_ps(ptr, self.0) }
        }
        #[inline(always)]
        fn mul_add(self, a: Self, b: Self) -> Self {
            // SAFETY: the value's existence proves AVX-512.
            Avx512(unsafe { _mm512_fmadd_ps(a.0, b.0, self.0) })
        }
        #[inline(always)]
        fn sum(self) -> f32 {
            // SAFETY: the value's existence proves AVX-512.
            unsafe { _mm512_reduce_add_ps(self.0) }
        }
    }

    /// Eight lanes in an AVX2 register, with FMA.
    #[derive(Clone, Copy)]
    pub(crate) struct Avx2(__m256);

    impl Lanes for Avx2 {
        const LANES: usize = 8;
        #[inline(always)]
        unsafe fn zero() -> Self {
            // SAFETY: the caller asserts AVX2 and FMA.
            Avx2(unsafe { _mm256_setzero_ps() })
        }
        #[inline(always)]
        unsafe fn splat(value: f32) -> Self {
            // SAFETY: the caller asserts AVX2 and FMA.
            Avx2(unsafe { _mm256_set1_ps(value) })
        }
        #[inline(always)]
        unsafe fn load(ptr: *const f32) -> Self {
            // SAFETY: the caller asserts AVX2 and eight readable values.
            Avx2(unsafe { _mm256_loadu_ps(ptr) })
        }
        #[inline(always)]
        unsafe fn store(self, ptr: *mut f32) {
            // SAFETY: the value's existence proves AVX2; the caller, eight writable values.
            unsafe { _mm256_storeu_ps(ptr, self.0) }
        }
        #[inline(always)]
        fn mul_add(self, a: Self, b: Self) -> Self {
            // SAFETY: the value's existence proves AVX2 and FMA.
            Avx2(unsafe { _mm256_fmadd_ps(a.0, b.0, self.0) })
        }
        #[inline(always)]
        fn sum(self) -> f32 {
            // SAFETY: the value's existence proves AVX2.
            unsafe {
                let half = _mm_add_ps(_mm256_castps256_ps128(self.0), _mm256_extractf128_ps(self.0, 1));
                let pair = _mm_add_ps(half, _mm_movehl_ps(half, half));
                _mm_cvtss_f32(_mm_add_ss(pair, _mm_shuffle_ps(pair, pair, 1)))
            }
        }
    }
}
