//! Subnormal floats flushed to zero on the CPU backends: x86-64's flush-to-zero and
//! denormals-are-zero modes (MXCSR bits 15 and 6), what `torch.set_flush_denormal(True)`
//! turns on in PyTorch.
//!
//! Why: a sigmoid net saturates on raw [0, 255] inputs (the bonus question), and its
//! gradients then hold subnormal numbers (below 1.2·10⁻³⁸), on which every multiply of an
//! x86 CPU takes a microcode assist of about a hundred cycles. Measured on the 2-core Xeon
//! (flex, 1 epoch of 5 000 images, `activation-gradients --input-range 255`): the sigmoid
//! cnn4 run took 4.1 s without flushing and 2.3 s with it (ReLU: 1.9 s), mlp2 0.46 s and
//! 0.08 s. Numbers that small are zero for any purpose of this study; on normalised
//! inputs the runs' numbers did not change in their first 7 digits.
//!
//! The mode is per thread: [`FlushSubnormals`] sets it on the calling thread and on every
//! thread of rayon's global pool (where flex, `gemm` and nnlab's kernels compute), and puts
//! both back when the last guard ends. On other CPUs it changes nothing.
//!
//! Rust's documentation calls a changed floating-point mode undefined behaviour, since the
//! compiler may fold constants under the default mode; what can differ is whether a
//! subnormal result computed at compile time is flushed. PyTorch, TensorFlow and audio
//! plug-ins set the same bits for the same reason.

use std::sync::Mutex;

/// MXCSR's flush-to-zero (bit 15) and denormals-are-zero (bit 6) bits.
#[cfg(target_arch = "x86_64")]
const FLUSH_BITS: u32 = (1 << 15) | (1 << 6);

/// This thread's floating-point control word.
#[cfg(target_arch = "x86_64")]
fn mode() -> u32 {
    let mut csr: u32 = 0;
    // SAFETY: stores MXCSR (always present on x86-64) into a local.
    unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack, preserves_flags)) };
    csr
}

/// Sets this thread's floating-point control word.
#[cfg(target_arch = "x86_64")]
fn set_mode(csr: u32) {
    // SAFETY: loads a control word that differs from one read by `mode` only in the
    // flush bits, which raise no exception.
    unsafe { std::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack, readonly, preserves_flags)) };
}

#[cfg(not(target_arch = "x86_64"))]
fn mode() -> u32 {
    0
}

#[cfg(not(target_arch = "x86_64"))]
fn set_mode(_: u32) {}

/// Turns flushing on for this thread and returns its mode before.
fn flush_here() -> u32 {
    let before = mode();
    #[cfg(target_arch = "x86_64")]
    set_mode(before | FLUSH_BITS);
    before
}

/// The guards alive and, while any is, the pool threads' modes from before the first.
static POOL: Mutex<(usize, Vec<u32>)> = Mutex::new((0, Vec::new()));

/// While alive, subnormal `f32`/`f64` inputs and results count as zero on the thread that
/// made it and on rayon's global pool (see the module docs). [`crate::run_task`] holds one
/// for the CPU backends; a library user who trains on flex or ndarray directly can hold
/// one around the work. Guards nest and may live on several threads at once; drop each on
/// the thread that made it. One made inside a rayon job covers that thread only (so that no
/// pool thread ever waits for the others).
#[derive(Debug)]
#[must_use = "flushing ends when the guard is dropped"]
pub struct FlushSubnormals {
    /// This thread's mode before the guard.
    before: u32,
    /// Whether this guard counts among the pool's.
    pool: bool,
}

impl FlushSubnormals {
    /// Starts flushing subnormals to zero here and on the pool (nothing on CPUs other than
    /// x86-64).
    pub fn new() -> Self {
        let before = flush_here();
        if rayon::current_thread_index().is_some() {
            return FlushSubnormals { before, pool: false };
        }
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        if pool.0 == 0 {
            pool.1 = rayon::broadcast(|_| flush_here());
        }
        pool.0 += 1;
        FlushSubnormals { before, pool: true }
    }

    /// Whether this thread flushes subnormals now (always false on CPUs other than x86-64).
    pub fn active() -> bool {
        #[cfg(target_arch = "x86_64")]
        return mode() & FLUSH_BITS == FLUSH_BITS;
        #[cfg(not(target_arch = "x86_64"))]
        false
    }
}

impl Default for FlushSubnormals {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for FlushSubnormals {
    fn drop(&mut self) {
        set_mode(self.before);
        if !self.pool {
            return;
        }
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        pool.0 -= 1;
        if pool.0 == 0 {
            let modes = std::mem::take(&mut pool.1);
            rayon::broadcast(|ctx| set_mode(modes[ctx.index()]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hint::black_box;

    /// Half the smallest normal f32: a subnormal, or 0 where subnormals are flushed.
    fn half_smallest() -> f32 {
        black_box(f32::MIN_POSITIVE) * black_box(0.5)
    }

    #[test]
    fn flushes_on_this_thread_and_the_pool_while_held_and_restores_this_thread() {
        let subnormal = half_smallest();
        assert!(subnormal > 0.0 && !subnormal.is_normal(), "the default mode keeps subnormals");
        {
            let _outer = FlushSubnormals::new();
            let _inner = FlushSubnormals::new();
            if cfg!(target_arch = "x86_64") {
                assert_eq!(half_smallest(), 0.0, "results flushed");
                assert_eq!(black_box(subnormal) * black_box(1.0), 0.0, "inputs read as zero");
                assert!(rayon::broadcast(|_| half_smallest()).iter().all(|&v| v == 0.0), "on every pool thread");
            } else {
                assert!(!FlushSubnormals::active());
            }
        }
        assert_eq!(half_smallest(), subnormal, "this thread's mode is back after the last guard");
        assert!(!FlushSubnormals::active());
    }
}
