//! Evaluation passes in large batches, with one read-back per pass.

use crate::backend::NetBackend;
use crate::data::DeviceSet;
use crate::model::Net;
use burn::tensor::{ElementConversion, Int, Tensor};

/// Fraction of `set` that `model` classifies correctly, in batches of `batch_size`.
/// Correct counts are summed on the device and read back once.
pub fn accuracy<B: NetBackend>(model: &Net<B>, set: &DeviceSet<B>, batch_size: usize) -> f64 {
    if set.is_empty() {
        return f64::NAN;
    }
    correct_count(model, set, batch_size).into_scalar().elem::<f64>() / set.len() as f64
}

/// How many images of a non-empty `set` `model` classifies correctly, in batches of
/// `batch_size`, as a one-element tensor left on the device.
pub fn correct_count<B: NetBackend>(model: &Net<B>, set: &DeviceSet<B>, batch_size: usize) -> Tensor<B, 1, Int> {
    set.chunks(batch_size)
        .map(|(x, y)| model.forward(x).argmax(1).squeeze_dim::<1>(1).equal(y).int().sum())
        .reduce(|a, b| a + b)
        .unwrap_or_else(|| Tensor::zeros([1], &set.labels.device()))
}
