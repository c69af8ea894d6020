//! Evaluation passes in large batches, with one read-back per pass.

use crate::backend::NetBackend;
use crate::data::DeviceSet;
use crate::model::Net;
use burn::tensor::ElementConversion;

/// Fraction of `set` that `model` classifies correctly, in batches of `batch_size`.
/// Correct counts are summed on the device and read back once.
pub fn accuracy<B: NetBackend>(model: &Net<B>, set: &DeviceSet<B>, batch_size: usize) -> f64 {
    if set.is_empty() {
        return f64::NAN;
    }
    let correct = set
        .chunks(batch_size)
        .map(|(x, y)| model.forward(x).argmax(1).squeeze_dim::<1>(1).equal(y).int().sum())
        .reduce(|a, b| a + b)
        .expect("a non-empty set has a batch");
    correct.into_scalar().elem::<f64>() / set.len() as f64
}
