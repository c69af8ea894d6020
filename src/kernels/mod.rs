//! Kernels for what Burn's generic ops run slowly on this study's small nets — hand-written
//! CPU kernels (flex) and a GPU-friendly conv weight gradient in tensor ops (wgpu) — and the
//! backend extension through which the models use them while staying generic.

pub mod conv2d;
pub mod gpu;
pub mod linear;
pub mod ops;
pub mod pool;
pub mod simd;

pub use ops::{NetBackend, TrainBackend, conv_options, conv2d, linear, max_pool2d};
