//! nnlab's prepared CIFAR-10 as Burn's [`Dataset`], and a [`Batcher`] that stacks its items
//! into the `[N, 3, 32, 32]` images and `[N]` labels nnlab's nets take: the way into Burn's
//! own `DataLoader` (shuffling, worker threads) for code built around it. The example
//! `burn_dataloader` trains a cnn4 from it with nnlab's training step.
//!
//! nnlab's own loop does not go through it: it uploads each split to the device once and
//! makes a batch by gathering rows there ([`super::DeviceSet`], [`super::EpochBatches`]),
//! where a `DataLoader` copies every batch's images from host memory to the device. The
//! two are compared in docs/PERFORMANCE.md ("Burn's DataLoader").

use super::PreparedSet;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::tensor::{Int, Tensor, TensorData, backend::Backend};
use std::sync::Arc;

/// Values in one image, `3 · 32 · 32`.
const PIXELS: usize = 3 * 32 * 32;

/// One image of a split: its normalised values (CHW) and its class.
#[derive(Debug, Clone, PartialEq)]
pub struct CifarItem {
    /// `3 · 32 · 32` values, channel by channel, row by row.
    pub image: Vec<f32>,
    /// Its class, 0..10 ([`super::CLASS_NAMES`]).
    pub label: u8,
}

/// A prepared split (training, validation or test set of [`super::load`]) as a Burn
/// dataset; clones share the images.
#[derive(Debug, Clone)]
pub struct CifarDataset {
    set: Arc<PreparedSet>,
}

impl CifarDataset {
    /// The dataset of `set`.
    pub fn new(set: PreparedSet) -> Self {
        CifarDataset { set: Arc::new(set) }
    }
}

impl Dataset<CifarItem> for CifarDataset {
    fn get(&self, index: usize) -> Option<CifarItem> {
        let label = *self.set.labels.get(index)?;
        let image = self.set.images.get(index * PIXELS..(index + 1) * PIXELS)?.to_vec();
        Some(CifarItem { image, label })
    }

    fn len(&self) -> usize {
        self.set.len()
    }
}

/// A batch of [`CifarItem`]s on a device, as [`crate::train::train_step`] and
/// [`crate::model::Net::forward`] take them.
#[derive(Debug, Clone)]
pub struct CifarBatch<B: Backend> {
    /// `[N, 3, 32, 32]`.
    pub images: Tensor<B, 4>,
    /// `[N]`, class indices.
    pub labels: Tensor<B, 1, Int>,
}

/// Stacks items into a [`CifarBatch`]: one host-to-device transfer per tensor.
#[derive(Debug, Clone, Copy, Default)]
pub struct CifarBatcher;

impl<B: Backend> Batcher<B, CifarItem, CifarBatch<B>> for CifarBatcher {
    fn batch(&self, items: Vec<CifarItem>, device: &B::Device) -> CifarBatch<B> {
        let n = items.len();
        let mut pixels = Vec::with_capacity(n * PIXELS);
        let mut labels = Vec::with_capacity(n);
        for item in items {
            pixels.extend_from_slice(&item.image);
            labels.push(item.label as i64);
        }
        CifarBatch {
            images: Tensor::from_data(TensorData::new(pixels, [n, 3, 32, 32]), device),
            labels: Tensor::from_data(TensorData::new(labels, [n]), device),
        }
    }
}
