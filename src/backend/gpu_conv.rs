//! Which kernel nnlab's GPU backends (wgpu, cuda) run for a convolution's forward pass.
//!
//! On an H100 the CNNs' 5 000-image validation passes took 2.5–2.8× PyTorch's time on cuda
//! while their training steps matched it (docs/PERFORMANCE.md): the forward convolution is
//! what remains. Burn 0.21 built without autotune (as nnlab builds it) runs a direct
//! convolution; it also has an implicit-GEMM kernel on the GPU's matrix units, and nnlab has
//! im2col + one matrix product ([`crate::kernels::gpu::conv2d_im2col`]). Which one is fastest
//! is a measurement on the card, so the choice is a setting: [`set`] from Rust, or the
//! environment variable `NNLAB_GPU_CONV` (`direct`, `gemm`, `im2col`) read once, the first
//! time a GPU backend starts. CPU backends ignore it.

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicU8, Ordering};

/// A forward-convolution kernel of the GPU backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpuConvForward {
    /// Burn's direct convolution (Burn's default without autotune).
    Direct,
    /// Burn's implicit GEMM on the GPU's matrix units (CubeCL's `cmma`); where the device or
    /// the shape has no such kernel it falls back to [`GpuConvForward::Direct`].
    ImplicitGemm,
    /// nnlab's im2col + one matrix product ([`crate::kernels::gpu::conv2d_im2col`]).
    Im2col,
}

/// The environment variable that picks the kernel when [`set`] was not called.
pub const ENV: &str = "NNLAB_GPU_CONV";

/// What runs when neither [`set`] nor [`ENV`] says otherwise.
pub const DEFAULT: GpuConvForward = GpuConvForward::Direct;

/// 0: not chosen yet; otherwise the choice's code.
static CHOICE: AtomicU8 = AtomicU8::new(0);

impl GpuConvForward {
    const ALL: [GpuConvForward; 3] = [GpuConvForward::Direct, GpuConvForward::ImplicitGemm, GpuConvForward::Im2col];

    /// The name [`ENV`] takes.
    pub fn name(self) -> &'static str {
        match self {
            GpuConvForward::Direct => "direct",
            GpuConvForward::ImplicitGemm => "gemm",
            GpuConvForward::Im2col => "im2col",
        }
    }

    fn code(self) -> u8 {
        match self {
            GpuConvForward::Direct => 1,
            GpuConvForward::ImplicitGemm => 2,
            GpuConvForward::Im2col => 3,
        }
    }

    /// The choice [`GpuConvForward::code`] gave `code` (`None` for 0: not chosen yet).
    fn from_code(code: u8) -> Option<GpuConvForward> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    /// The kernel named `name` (as [`GpuConvForward::name`] spells it, any case).
    pub fn parse(name: &str) -> Result<GpuConvForward> {
        let wanted = name.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|c| c.name() == wanted).ok_or_else(|| {
            Error::invalid(ENV, format!("unknown GPU convolution '{name}'; expected direct, gemm or im2col"))
        })
    }
}

/// Makes `choice` the forward convolution of every GPU run of this process from now on.
pub fn set(choice: GpuConvForward) {
    CHOICE.store(choice.code(), Ordering::Relaxed);
}

/// The forward convolution in effect: the one [`set`] chose, else [`ENV`]'s (an error when
/// it names no kernel), else [`DEFAULT`]. The first call fixes the answer for the process.
pub fn current() -> Result<GpuConvForward> {
    if let Some(c) = GpuConvForward::from_code(CHOICE.load(Ordering::Relaxed)) {
        return Ok(c);
    }
    let choice = match std::env::var(ENV) {
        Ok(name) => GpuConvForward::parse(&name)?,
        Err(_) => DEFAULT,
    };
    // A concurrent `set` wins over the environment.
    let _ = CHOICE.compare_exchange(0, choice.code(), Ordering::Relaxed, Ordering::Relaxed);
    Ok(GpuConvForward::from_code(CHOICE.load(Ordering::Relaxed)).unwrap_or(choice))
}

/// [`current`] inside a kernel, where an error cannot be returned: run starts call
/// [`current`] first (`run_task` does), so an invalid [`ENV`] has already been reported and
/// this falls back to [`DEFAULT`] only for callers that skipped that.
#[cfg(any(feature = "wgpu", feature = "cuda"))]
pub(crate) fn in_effect() -> GpuConvForward {
    current().unwrap_or(DEFAULT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_unknown_names_are_refused() {
        for c in GpuConvForward::ALL {
            assert_eq!(GpuConvForward::parse(&c.name().to_uppercase()).unwrap(), c);
        }
        let err = GpuConvForward::parse("winograd").unwrap_err().to_string();
        assert!(err.contains("winograd") && err.contains("direct, gemm or im2col"), "{err}");
    }
}
