//! nnlab's integration tests, as one test binary: Burn's generic code is compiled once
//! for all of them instead of once per file (a large saving in build time on CI).

mod common;

mod activations;
mod conv;
mod data;
mod figures;
mod kernels;
mod model;
mod stacked;
mod xor;
// Through the `nnlab` binary, which needs the `cli` feature.
#[cfg(feature = "cli")]
mod bench;
#[cfg(feature = "cli")]
mod cifar_studies;
#[cfg(feature = "cli")]
mod cli;
#[cfg(feature = "cli")]
mod concurrent;
#[cfg(feature = "cli")]
mod findings;
#[cfg(feature = "cli")]
mod hardening;
#[cfg(feature = "cli")]
mod report;
#[cfg(feature = "cli")]
mod robustness;
#[cfg(feature = "cli")]
mod saved_models;
#[cfg(feature = "cli")]
mod shards;
