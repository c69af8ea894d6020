//! nnlab's integration tests, as one test binary: Burn's generic code is compiled once
//! for all of them instead of once per file (a large saving in build time on CI).

mod common;

mod activations;
mod bench;
mod cifar_studies;
mod cli;
mod conv;
mod data;
mod kernels;
mod model;
mod report;
mod robustness;
mod xor;
