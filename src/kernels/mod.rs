//! Compute kernels for what Burn's generic ops run slowly on this study's small nets:
//! hand-written CPU kernels (flex) and a GPU-friendly conv weight gradient and linear in
//! tensor ops (wgpu). Compute only: [`crate::backend`] wires them into the backends.

pub mod activation;
pub mod conv2d;
pub mod gpu;
pub mod linear;
pub mod pool;
pub mod simd;
