//! # nnlab
//!
//! The classic "training artificial neural networks" study (METU EE449 HW1 is the reference
//! protocol) on [Burn](https://burn.dev), generic over the backend: activation functions, a
//! from-scratch XOR MLP, a from-scratch conv2d, five MLP/CNN architectures on CIFAR-10,
//! ReLU vs sigmoid gradients, learning rates and step schedules.
//!
//! Everything the `nnlab` command does is callable from Rust. The modules, from the bottom up:
//!
//! - [`backend`]: the one place that names concrete Burn backends: run-time selection, the
//!   [`NetBackend`](backend::NetBackend) extension with its backward steps, one adapter per backend.
//! - [`kernels`]: compute only — the CPU kernels and the GPU-shaped tensor ops the adapters use.
//! - [`activation`]: tanh, sigmoid, ReLU and their closed-form derivatives.
//! - [`xor`]: the XOR blobs and an MLP with a hand-written backward pass.
//! - [`conv`], [`npy`], [`assets`]: conv2d from scratch, `.npy` files, the shipped inputs.
//! - [`data`]: CIFAR-10 found or downloaded, checked, split, normalised, on the device.
//! - [`model`], [`train`]: nets as data, the one training step and loop.
//! - [`results`], [`plot`], [`progress`]: atomic JSON, PNG + SVG figures, progress reported
//!   to an [`Observer`](progress::Observer) (the library never prints).
//! - [`machine`]: the CPU and GPUs work runs on, as results record them.
//! - [`study`]: one module per study, owning its config, plan, run and report section.
//! - [`report`]: `report.md` / `report.html` from the studies' sections.
//! - [`inference`]: a saved net's test accuracy and confusion matrix, and its predictions.
//! - [`bench`](mod@bench): timings of the homework's workloads against the PyTorch reference.

pub mod activation;
pub mod assets;
pub mod backend;
pub mod bench;
pub mod conv;
pub mod data;
pub mod error;
pub mod inference;
pub mod kernels;
pub mod machine;
pub mod model;
pub mod npy;
pub mod plot;
pub mod progress;
pub mod report;
pub mod results;
pub mod study;
pub mod train;
pub mod xor;

pub use activation::Activation;
pub use backend::{BackendKind, BackendTask, run_task};
pub use burn;
pub use error::{Error, Result};
