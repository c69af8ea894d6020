//! nnlab's ops under Burn's [`Autodiff`]: each op is one custom backward step that asks the
//! inner backend's [`NetBackend`] for the gradients its parents need.

use super::NetBackend;
use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::ops::{FloatTensor, IntTensor};
use burn::tensor::{Tensor, TensorPrimitive};

/// The backward step of [`NetBackend::nn_conv2d`] under autodiff: keeps the input and the
/// weight, and asks the inner backend for the gradients its parents need.
#[derive(Debug)]
struct ConvStep;

impl<B: NetBackend> Backward<B, 3> for ConvStep {
    type State = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>, [usize; 2]);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_x, node_weight, node_bias] = ops.parents;
        let dy = grads.consume::<B>(&ops.node);
        let (x, weight, bias, padding) = ops.state;
        if let Some(node) = node_x {
            grads.register::<B>(node.id, B::nn_conv2d_input_grad(x.clone(), weight.clone(), dy.clone(), padding));
        }
        if node_weight.is_some() || node_bias.is_some() {
            let (dw, db) = B::nn_conv2d_param_grads(x, weight, bias, dy, padding);
            if let Some(node) = node_weight {
                grads.register::<B>(node.id, dw);
            }
            if let Some(node) = node_bias {
                grads.register::<B>(node.id, db);
            }
        }
    }
}

/// The backward step of [`NetBackend::nn_max_pool2d`] under autodiff.
#[derive(Debug)]
struct PoolStep;

impl<B: NetBackend> Backward<B, 1> for PoolStep {
    type State = (FloatTensor<B>, IntTensor<B>, usize);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let dy = grads.consume::<B>(&ops.node);
        let (x, indices, size) = ops.state;
        if let Some(node) = node_x {
            grads.register::<B>(node.id, B::nn_max_pool2d_backward(x, size, dy, indices));
        }
    }
}

/// The backward step of [`NetBackend::nn_stacked_conv2d`] under autodiff.
#[derive(Debug)]
struct StackedConvStep;

impl<B: NetBackend> Backward<B, 3> for StackedConvStep {
    type State = (FloatTensor<B>, FloatTensor<B>, [usize; 2]);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_x, node_weight, node_bias] = ops.parents;
        let dy = grads.consume::<B>(&ops.node);
        let (x, weight, kernel) = ops.state;
        let (dx, dw, db) = B::nn_stacked_conv2d_grads(x, weight, dy, kernel);
        for (node, grad) in [(node_x, dx), (node_weight, dw), (node_bias, db)] {
            if let Some(node) = node {
                grads.register::<B>(node.id, grad);
            }
        }
    }
}

/// The backward step of an element-wise activation ([`NetBackend::nn_relu`],
/// [`NetBackend::nn_sigmoid`]) under autodiff, computed from the activation's output, which
/// it keeps (the next layer keeps it too; Burn's own sigmoid keeps the input and computes
/// the sigmoid again).
#[derive(Debug, Clone, Copy)]
enum ActivationStep {
    Relu,
    Sigmoid,
}

impl ActivationStep {
    /// The activation of `x` on the inner backend.
    fn forward<B: NetBackend>(self, x: FloatTensor<B>) -> FloatTensor<B> {
        match self {
            ActivationStep::Relu => B::nn_relu(x),
            ActivationStep::Sigmoid => B::nn_sigmoid(x),
        }
    }

    /// The activation of `x` under autodiff, with this step as its backward.
    fn apply<B: NetBackend, C: CheckpointStrategy>(
        self,
        x: FloatTensor<Autodiff<B, C>>,
    ) -> FloatTensor<Autodiff<B, C>> {
        match self.prepare::<C>([x.node.clone()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let y = self.forward::<B>(x.primitive);
                prep.finish(y.clone(), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(self.forward::<B>(x.primitive)),
        }
    }
}

impl<B: NetBackend> Backward<B, 1> for ActivationStep {
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let dy = grads.consume::<B>(&ops.node);
        if let Some(node) = node_x {
            let dx = match self {
                ActivationStep::Relu => B::nn_relu_backward(ops.state, dy),
                ActivationStep::Sigmoid => B::nn_sigmoid_backward(ops.state, dy),
            };
            grads.register::<B>(node.id, dx);
        }
    }
}

/// The backward step of [`NetBackend::nn_cross_entropy`] under autodiff: keeps the logits
/// and the targets, and asks the inner backend for the logits' gradient.
#[derive(Debug)]
struct CrossEntropyStep;

impl<B: NetBackend> Backward<B, 1> for CrossEntropyStep {
    type State = (FloatTensor<B>, IntTensor<B>);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_logits] = ops.parents;
        let dloss = grads.consume::<B>(&ops.node);
        let (logits, targets) = ops.state;
        if let Some(node) = node_logits {
            grads.register::<B>(node.id, B::nn_cross_entropy_backward(logits, targets, dloss));
        }
    }
}

/// The backward step of [`NetBackend::nn_bias_relu`] under autodiff: keeps the output, and
/// asks the inner backend for both gradients at once.
#[derive(Debug)]
struct BiasReluStep;

impl<B: NetBackend> Backward<B, 2> for BiasReluStep {
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_z, node_bias] = ops.parents;
        let dy = grads.consume::<B>(&ops.node);
        let (dz, dbias) = B::nn_bias_relu_backward(ops.state, dy);
        for (node, grad) in [(node_z, dz), (node_bias, dbias)] {
            if let Some(node) = node {
                grads.register::<B>(node.id, grad);
            }
        }
    }
}

/// The backward step of [`NetBackend::nn_bias_cross_entropy`] under autodiff: keeps the
/// logits and the targets, and asks the inner backend for both gradients at once.
#[derive(Debug)]
struct BiasCrossEntropyStep;

impl<B: NetBackend> Backward<B, 2> for BiasCrossEntropyStep {
    type State = (FloatTensor<B>, IntTensor<B>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_z, node_bias] = ops.parents;
        let dloss = grads.consume::<B>(&ops.node);
        let (logits, targets) = ops.state;
        let (dz, dbias) = B::nn_bias_cross_entropy_backward(logits, targets, dloss);
        for (node, grad) in [(node_z, dz), (node_bias, dbias)] {
            if let Some(node) = node {
                grads.register::<B>(node.id, grad);
            }
        }
    }
}

impl<B: NetBackend, C: CheckpointStrategy> NetBackend for Autodiff<B, C> {
    fn nn_cross_entropy(logits: FloatTensor<Self>, targets: IntTensor<Self>) -> FloatTensor<Self> {
        match CrossEntropyStep.prepare::<C>([logits.node.clone()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let loss = B::nn_cross_entropy(logits.primitive.clone(), targets.clone());
                prep.finish((logits.primitive, targets), loss)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::nn_cross_entropy(logits.primitive, targets)),
        }
    }

    fn nn_bias_cross_entropy(
        z: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        targets: IntTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        // The loss is the step's output; the logits leave the graph as a value.
        match BiasCrossEntropyStep.prepare::<C>([z.node.clone(), bias.node.clone()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (loss, logits) = B::nn_bias_cross_entropy(z.primitive, bias.primitive, targets.clone());
                (prep.finish((logits.clone(), targets), loss), Self::from_inner(logits))
            }
            OpsKind::UnTracked(prep) => {
                let (loss, logits) = B::nn_bias_cross_entropy(z.primitive, bias.primitive, targets);
                (prep.finish(loss), Self::from_inner(logits))
            }
        }
    }

    fn nn_relu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        ActivationStep::Relu.apply::<B, C>(x)
    }

    fn nn_linear_relu(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self> {
        // The product through Burn's autodiff (its gradients are two more products), the
        // bias add and ReLU as one step.
        let weight = Tensor::<Self, 2>::from_primitive(TensorPrimitive::Float(weight));
        let z = super::burn_ops::flat_batch::<Self>(x).matmul(weight).into_primitive().tensor();
        Self::nn_bias_relu(z, bias)
    }

    fn nn_bias_relu(z: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self> {
        match BiasReluStep.prepare::<C>([z.node.clone(), bias.node.clone()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let y = B::nn_bias_relu(z.primitive, bias.primitive);
                prep.finish(y.clone(), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::nn_bias_relu(z.primitive, bias.primitive)),
        }
    }

    fn nn_sigmoid(x: FloatTensor<Self>) -> FloatTensor<Self> {
        ActivationStep::Sigmoid.apply::<B, C>(x)
    }

    fn nn_max_pool2d(x: FloatTensor<Self>, size: usize) -> FloatTensor<Self> {
        match PoolStep.prepare::<C>([x.node.clone()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (y, indices) = B::nn_max_pool2d_with_indices(x.primitive.clone(), size);
                prep.finish((x.primitive, indices, size), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::nn_max_pool2d(x.primitive, size)),
        }
    }

    fn nn_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        padding: [usize; 2],
    ) -> FloatTensor<Self> {
        let nodes = [x.node.clone(), weight.node.clone(), bias.node.clone()];
        match ConvStep.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let state = (x.primitive.clone(), weight.primitive.clone(), bias.primitive.clone(), padding);
                prep.finish(state, B::nn_conv2d(x.primitive, weight.primitive, bias.primitive, padding))
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::nn_conv2d(x.primitive, weight.primitive, bias.primitive, padding))
            }
        }
    }

    fn nn_stacked_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        kernel: [usize; 2],
    ) -> FloatTensor<Self> {
        let nodes = [x.node.clone(), weight.node.clone(), bias.node.clone()];
        match StackedConvStep.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let state = (x.primitive.clone(), weight.primitive.clone(), kernel);
                prep.finish(state, B::nn_stacked_conv2d(x.primitive, weight.primitive, bias.primitive, kernel))
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::nn_stacked_conv2d(x.primitive, weight.primitive, bias.primitive, kernel))
            }
        }
    }
}
