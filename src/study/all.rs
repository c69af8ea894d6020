//! `nnlab all`: every study in the homework's order, each with its protocol.

use super::StudyContext;
use super::{activations, architectures, conv, gradients, learning_rate, xor};
use crate::error::Result;
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The configuration of every study.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AllConfig {
    /// Part 1.2–1.3.
    pub xor: xor::XorStudyConfig,
    /// Part 2.
    pub conv: conv::ConvStudyConfig,
    /// Part 3.
    pub architectures: architectures::ArchitecturesConfig,
    /// Part 4.
    pub gradients: gradients::GradientsConfig,
    /// Part 5.
    pub learning_rate: learning_rate::LearningRateConfig,
}

/// Runs every study on backend `B` (the ones without autodiff on its inner backend);
/// returns the files written.
pub fn run<B: AutodiffBackend>(ctx: &StudyContext, config: &AllConfig, device: &B::Device) -> Result<Vec<PathBuf>> {
    let mut files = activations::run::<B::InnerBackend>(ctx, device)?;
    files.extend(xor::run::<B::InnerBackend>(ctx, &config.xor, device)?.1);
    files.extend(conv::run::<B::InnerBackend>(ctx, &config.conv, device)?);
    files.extend(architectures::run::<B>(ctx, &config.architectures, device)?.1);
    files.extend(gradients::run::<B>(ctx, &config.gradients, device)?);
    files.extend(learning_rate::run::<B>(ctx, &config.learning_rate, device)?);
    Ok(files)
}
