//! Device-resident datasets: each prepared set is uploaded once as tensors; a training
//! batch is an index gather on the device, never a host copy.

use super::prepare::PreparedSet;
use burn::tensor::{Int, Tensor, TensorData, backend::Backend};
use rand::{SeedableRng, rngs::StdRng, seq::SliceRandom};

/// A set of images and labels living on a device.
#[derive(Debug, Clone)]
pub struct DeviceSet<B: Backend> {
    /// `[N, 3, 32, 32]`.
    pub images: Tensor<B, 4>,
    /// `[N]`, class indices.
    pub labels: Tensor<B, 1, Int>,
}

impl<B: Backend> DeviceSet<B> {
    /// Uploads `set` to `device` (one transfer per tensor). It takes the set: a CPU backend
    /// keeps its buffer as the tensor's, with no copy (the training set is 553 MB of f32).
    pub fn new(set: PreparedSet, device: &B::Device) -> Self {
        let n = set.len();
        let labels: Vec<i64> = set.labels.iter().map(|&l| l as i64).collect();
        let images = Tensor::from_data(TensorData::new(set.images, [n, 3, 32, 32]), device);
        let labels = Tensor::from_data(TensorData::new(labels, [n]), device);
        Self { images, labels }
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.dims()[0]
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The images and labels at `indices` (a device tensor), gathered on the device.
    pub fn gather(&self, indices: Tensor<B, 1, Int>) -> (Tensor<B, 4>, Tensor<B, 1, Int>) {
        (self.images.clone().select(0, indices.clone()), self.labels.clone().select(0, indices))
    }

    /// Consecutive slices of at most `size` images, in order (for evaluation passes).
    pub fn chunks(&self, size: usize) -> impl Iterator<Item = (Tensor<B, 4>, Tensor<B, 1, Int>)> + '_ {
        let n = self.len();
        (0..n).step_by(size.max(1)).map(move |start| {
            let end = (start + size).min(n);
            (self.images.clone().slice(start..end), self.labels.clone().slice(start..end))
        })
    }
}

/// One epoch's batches: a seeded permutation uploaded once, sliced into index tensors.
#[derive(Debug, Clone)]
pub struct EpochBatches<B: Backend> {
    order: Tensor<B, 1, Int>,
    n: usize,
    batch_size: usize,
    drop_last: bool,
}

impl<B: Backend> EpochBatches<B> {
    /// A fresh shuffle of `n` images for `epoch`, derived from `seed` (reproducible).
    pub fn new(n: usize, batch_size: usize, drop_last: bool, seed: u64, epoch: usize, device: &B::Device) -> Self {
        let order = epoch_order(n, seed, epoch);
        let order = Tensor::from_data(TensorData::new(order, [n]), device);
        Self { order, n, batch_size: batch_size.max(1), drop_last }
    }

    /// Number of batches in the epoch (a last partial batch counts unless dropped).
    pub fn len(&self) -> usize {
        batches_per_epoch(self.n, self.batch_size, self.drop_last)
    }

    /// Whether the epoch has no batch.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The indices of batch `k` (a slice of the device permutation).
    pub fn indices(&self, k: usize) -> Tensor<B, 1, Int> {
        let start = k * self.batch_size;
        let end = (start + self.batch_size).min(self.n);
        self.order.clone().slice(start..end)
    }
}

/// Batches of `batch_size` in an epoch of `n` images (a last partial one counts unless dropped).
pub fn batches_per_epoch(n: usize, batch_size: usize, drop_last: bool) -> usize {
    let b = batch_size.max(1);
    if drop_last { n / b } else { n.div_ceil(b) }
}

/// The permutation of `0..n` used in `epoch` (host side; what [`EpochBatches`] uploads).
pub fn epoch_order(n: usize, seed: u64, epoch: usize) -> Vec<i64> {
    let mut rng = StdRng::seed_from_u64(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut order: Vec<i64> = (0..n as i64).collect();
    order.shuffle(&mut rng);
    order
}
