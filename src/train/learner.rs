//! nnlab's nets in Burn's own trainer (cargo feature `learner`): [`Net`] implements
//! burn-train's `TrainStep` and `InferenceStep` on [`CifarBatch`]es, with the cross-entropy
//! loss of nnlab's own step, so `burn::train::Learner` and `SupervisedTraining` train it
//! from Burn's `DataLoader` over [`crate::data::dataset::CifarDataset`] (example
//! `burn_learner`). nnlab's studies keep their own loop ([`super::train`]).

use crate::backend::{NetBackend, TrainBackend};
use crate::data::dataset::CifarBatch;
use crate::model::Net;
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};

/// The loss, logits and labels of a batch, as burn-train's classification metrics take them.
fn classify<B: NetBackend>(net: &Net<B>, batch: CifarBatch<B>) -> ClassificationOutput<B> {
    let (loss, output) = net.forward_loss(batch.images, batch.labels.clone());
    ClassificationOutput { loss, output, targets: batch.labels }
}

impl<B: TrainBackend> TrainStep for Net<B> {
    type Input = CifarBatch<B>;
    type Output = ClassificationOutput<B>;

    fn step(&self, batch: CifarBatch<B>) -> TrainOutput<ClassificationOutput<B>> {
        let item = classify(self, batch);
        TrainOutput::new(self, item.loss.backward(), item)
    }
}

impl<B: NetBackend> InferenceStep for Net<B> {
    type Input = CifarBatch<B>;
    type Output = ClassificationOutput<B>;

    fn step(&self, batch: CifarBatch<B>) -> ClassificationOutput<B> {
        classify(self, batch)
    }
}
