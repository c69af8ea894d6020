//! Compute kernels for what Burn's generic ops run slowly on this study's small nets:
//! hand-written CPU kernels (flex), a GPU-friendly conv weight gradient and linear in tensor
//! ops, and Adam and ReLU as single GPU kernels (wgpu, cuda). Compute only:
//! [`crate::backend`] wires them into the backends.

pub mod activation;
pub mod conv2d;
pub mod gpu;
#[cfg(any(feature = "wgpu", feature = "cuda"))]
pub mod gpu_fused;
pub mod linear;
pub mod pool;
pub mod simd;
