//! One training step, shared by the training loop and `nnlab bench`: forward, cross-entropy
//! loss, backward, optimiser update. What the loop records stays on the device, so a step
//! that records nothing never waits for the device.

use crate::backend::TrainBackend;
use crate::model::Net;
use crate::model::net::FirstWeight;
use burn::optim::{GradientsParams, Optimizer};
use burn::tensor::{Int, Tensor};

/// What a step should measure besides updating the model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepRecord {
    /// The batch's loss and number of correct predictions.
    pub loss_and_accuracy: bool,
    /// The L2 norm of ∂loss/∂(first layer's weights).
    pub first_grad_norm: bool,
}

/// What a step measured, as device tensors of one element (read them back when needed).
#[derive(Debug, Clone)]
pub struct StepOutput<B: burn::tensor::backend::Backend> {
    /// The batch's mean cross-entropy loss, when asked for.
    pub loss: Option<Tensor<B, 1>>,
    /// Correct predictions in the batch, when asked for.
    pub correct: Option<Tensor<B, 1, Int>>,
    /// L2 norm of the first layer's weight gradient, when asked for (`None` also when the
    /// first layer got no gradient).
    pub first_grad_norm: Option<Tensor<B, 1>>,
}

/// One step of `optim` on `model` with batch `x` `[N, 3, 32, 32]`, labels `y` `[N]` and
/// learning rate `lr`, on the mean cross-entropy loss ([`Net::forward_loss`], the value and
/// gradient of Burn's `CrossEntropyLoss`); returns the updated model and what `record` asked
/// for.
pub fn train_step<B: TrainBackend, O: Optimizer<Net<B>, B>>(
    model: Net<B>,
    optim: &mut O,
    x: Tensor<B, 4>,
    y: Tensor<B, 1, Int>,
    lr: f64,
    record: StepRecord,
) -> (Net<B>, StepOutput<B::InnerBackend>) {
    let (loss, logits) = model.forward_loss(x, y.clone());
    let mut out = StepOutput { loss: None, correct: None, first_grad_norm: None };
    if record.loss_and_accuracy {
        out.loss = Some(loss.clone().inner());
        out.correct = Some(logits.inner().argmax(1).squeeze_dim::<1>(1).equal(y.inner()).int().sum());
    }
    let grads = loss.backward();
    if record.first_grad_norm {
        out.first_grad_norm = first_grad_norm(&model, &grads);
    }
    let grads = GradientsParams::from_grads(grads, &model);
    (optim.step(lr, model, grads), out)
}

/// L2 norm of the first layer's weight gradient, on the device.
fn first_grad_norm<B: TrainBackend>(model: &Net<B>, grads: &B::Gradients) -> Option<Tensor<B::InnerBackend, 1>> {
    match model.first_weight_param() {
        FirstWeight::Conv(w) => w.val().grad(grads).map(|g| g.powi_scalar(2).sum().sqrt()),
        FirstWeight::Fc(w) => w.val().grad(grads).map(|g| g.powi_scalar(2).sum().sqrt()),
    }
}
