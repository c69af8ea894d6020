//! Homework part 1.2–1.3: a one-hidden-layer MLP written from scratch learns the XOR blobs.
//!
//! - [`data`]: the four Gaussian clusters and their labels.
//! - [`mlp`]: the 2 → 4 → 1 network with a hand-written forward and backward pass.
//! - [`train`]: full-batch or per-sample gradient descent, loss curve, accuracy.

pub mod data;
pub mod mlp;
pub mod train;

pub use data::{XorData, XorDataConfig};
pub use mlp::{Gradients, ScratchMlp};
pub use train::{XorMode, XorRun, XorTrainConfig, train_xor};
