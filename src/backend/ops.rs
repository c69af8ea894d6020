//! The conv2d, max pooling, linear, ReLU and sigmoid layers the models call, the
//! cross-entropy loss the training step takes, and the GPU loop's Adam update, as a Burn
//! backend extension: [`NetBackend`] has Burn's own ops and
//! gradients as defaults ([`burn_ops`]), a backend may override them with faster kernels
//! (flex, wgpu and cuda do, in their adapters beside this module), and
//! `backend/autodiff.rs` wires the backend's gradients into Burn's autodiff graph as one
//! custom backward step per op.
//!
//! Only what this study uses: conv2d with stride 1, dilation 1, one group and a bias (and
//! followed by ReLU, fused for evaluation); max
//! pooling with a square window equal to its stride.

use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::ops::{ConvOptions, FloatTensor, IntTensor};
use burn::tensor::{Int, Tensor, TensorPrimitive};

/// Burn's options for a stride-1, undilated, ungrouped conv with `padding`.
pub fn conv_options(padding: [usize; 2]) -> ConvOptions<2> {
    ConvOptions::new([1, 1], padding, [1, 1], 1)
}

/// A backend that runs nnlab's nets: conv2d (stride 1, bias, zero `padding`), max pooling
/// and fully connected layers. The defaults are Burn's own ops ([`burn_ops`]), so any
/// backend can opt in with an empty `impl`.
pub trait NetBackend: Backend {
    /// Whether nnlab's loop (and wherever [`crate::train::OptimizerConfig::init`] builds the
    /// optimiser) runs Adam as [`crate::train::FusedAdam`], one
    /// [`NetBackend::nn_adam_updates`] per step for all parameters, rather than as Burn's
    /// `Adam`. Worth it where the backend fuses the update into one launch (the GPU backends
    /// opt in); the CPU backends keep Burn's. Both give the same weights.
    const FUSED_ADAM: bool = false;

    /// One Adam step of every parameter tensor of a net: for each, its value, gradient and
    /// two moments (`None` before the first step) → its new value and moments, shaped as the
    /// value, in the same order (see [`crate::train::fused_adam::AdamStep`]). By default
    /// Burn's tensor ops (about 13 operations per tensor); the GPU backends run one kernel
    /// for all of them.
    fn nn_adam_updates(
        updates: Vec<crate::train::fused_adam::AdamInput<Self>>,
        step: &crate::train::fused_adam::AdamStep,
    ) -> Vec<crate::train::fused_adam::AdamOutput<Self>> {
        step.apply_each::<Self>(updates)
    }

    /// `[N, C, H, W]` ⊛ `[O, C, kh, kw]` + bias `[O]` → `[N, O, H', W']`.
    fn nn_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        padding: [usize; 2],
    ) -> FloatTensor<Self> {
        burn_ops::conv2d::<Self>(x, weight, bias, padding)
    }

    /// [`Self::nn_conv2d`] followed by ReLU. Backends override it for evaluation only (flex
    /// takes the ReLU in the conv's own pass over its output): under autodiff this default
    /// runs, the two ops with their own gradients.
    fn nn_conv2d_relu(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        padding: [usize; 2],
    ) -> FloatTensor<Self> {
        Self::nn_relu(Self::nn_conv2d(x, weight, bias, padding))
    }

    /// Gradient with respect to the input, given the output gradient `dy`.
    fn nn_conv2d_input_grad(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        dy: FloatTensor<Self>,
        padding: [usize; 2],
    ) -> FloatTensor<Self> {
        burn_ops::conv2d_input_grad::<Self>(x, weight, dy, padding)
    }

    /// Gradients with respect to the weight and the bias, given the output gradient `dy`.
    fn nn_conv2d_param_grads(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        dy: FloatTensor<Self>,
        padding: [usize; 2],
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        burn_ops::conv2d_param_grads::<Self>(x, weight, bias, dy, padding)
    }

    /// Fully connected layer `x [N, …] · weight [in, out] + bias [out]`, as Burn's
    /// `Linear`, where `x` of any rank is read as `[N, in]` (an image batch is flattened
    /// inside, so that a backend can read it in place). Backends override it for evaluation
    /// only: under autodiff this default (Burn's ops, with Burn's gradients) runs.
    fn nn_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
    ) -> FloatTensor<Self> {
        burn_ops::linear::<Self>(x, weight, bias)
    }

    /// [`Self::nn_linear`] (with a bias) followed by ReLU: a hidden fully connected layer.
    /// This default is the two ops; under autodiff (training) it is Burn's matrix product
    /// and then [`Self::nn_bias_relu`] as one step, whose backward is
    /// [`Self::nn_bias_relu_backward`].
    fn nn_linear_relu(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::nn_relu(Self::nn_linear(x, weight, Some(bias)))
    }

    /// `relu(z + bias)` for `z` `[N, F]` and `bias` `[F]`: the bias add and ReLU of a hidden
    /// fully connected layer in training. By default Burn's add and [`Self::nn_relu`]; the
    /// GPU backends run one kernel.
    fn nn_bias_relu(z: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self> {
        composed::bias_relu::<Self>(z, bias)
    }

    /// The gradients of [`Self::nn_bias_relu`] from its output `y` and the output gradient
    /// `dy` (both `[N, F]`): `(dz, dbias)`, ReLU's gradient `[N, F]` and its sum over the rows
    /// `[F]`. By default [`Self::nn_relu_backward`] and Burn's sum; the GPU backends run one
    /// kernel.
    fn nn_bias_relu_backward(y: FloatTensor<Self>, dy: FloatTensor<Self>) -> (FloatTensor<Self>, FloatTensor<Self>) {
        composed::bias_relu_backward::<Self>(y, dy)
    }

    /// The prediction layer's bias add and the loss: `logits = z + bias` for `z` `[N, C]` and
    /// `bias` `[C]`, and their mean cross-entropy against `targets` `[N]` (as
    /// [`Self::nn_cross_entropy`]); returns `(loss, logits)`. Under autodiff the loss is one
    /// step whose backward is [`Self::nn_bias_cross_entropy_backward`], and the logits are a
    /// value only: they carry no gradient. By default Burn's add and
    /// [`Self::nn_cross_entropy`]; the GPU backends run one kernel.
    fn nn_bias_cross_entropy(
        z: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        targets: IntTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        composed::bias_cross_entropy::<Self>(z, bias, targets)
    }

    /// The gradients of [`Self::nn_bias_cross_entropy`]'s loss from its `logits` `[N, C]`, the
    /// `targets` and the loss's gradient `dloss` (one element): `(dz, dbias)`, the logits'
    /// gradient `[N, C]` (as [`Self::nn_cross_entropy_backward`]) and its sum over the rows
    /// `[C]`. By default those two ops; the GPU backends run one kernel.
    fn nn_bias_cross_entropy_backward(
        logits: FloatTensor<Self>,
        targets: IntTensor<Self>,
        dloss: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        composed::bias_cross_entropy_backward::<Self>(logits, targets, dloss)
    }

    /// Convolution of K stacked members (`crate::model::stacked`): `x` `[K·N, C, H, W]`,
    /// `weight` `[K, C·kh·kw, O]`, `bias` `[K, 1, O]` → `[K·N, O, H', W']`, stride 1, no
    /// padding ([`crate::kernels::gpu::stacked_conv2d`]).
    fn nn_stacked_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        kernel: [usize; 2],
    ) -> FloatTensor<Self> {
        crate::kernels::gpu::stacked_conv2d::<Self>(x, weight, bias, kernel)
    }

    /// Gradients of [`Self::nn_stacked_conv2d`] with respect to `x`, `weight` and `bias`.
    fn nn_stacked_conv2d_grads(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        dy: FloatTensor<Self>,
        kernel: [usize; 2],
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        crate::kernels::gpu::stacked_conv2d_grads::<Self>(x, weight, dy, kernel)
    }

    /// Max pooling over `size`×`size` windows at stride `size`: `[N, C, H, W]` → `[N, C, H/size, W/size]`.
    fn nn_max_pool2d(x: FloatTensor<Self>, size: usize) -> FloatTensor<Self> {
        burn_ops::max_pool2d::<Self>(x, size)
    }

    /// Max pooling that also returns where each maximum was, for [`Self::nn_max_pool2d_backward`].
    fn nn_max_pool2d_with_indices(x: FloatTensor<Self>, size: usize) -> (FloatTensor<Self>, IntTensor<Self>) {
        burn_ops::max_pool2d_with_indices::<Self>(x, size)
    }

    /// Gradient of max pooling with respect to its input `x`, given the output gradient `dy`.
    fn nn_max_pool2d_backward(
        x: FloatTensor<Self>,
        size: usize,
        dy: FloatTensor<Self>,
        indices: IntTensor<Self>,
    ) -> FloatTensor<Self> {
        burn_ops::max_pool2d_backward::<Self>(x, size, dy, indices)
    }

    /// ReLU of every element: 0 where `x ≤ 0`, else `x` (NaN passes), Burn's rule.
    fn nn_relu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::relu(x)
    }

    /// ReLU's input gradient from its output: `dy` where `output > 0`, else 0.
    fn nn_relu_backward(output: FloatTensor<Self>, dy: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::relu_backward(output, dy)
    }

    /// The logistic sigmoid 1 / (1 + e^−x) of every element.
    fn nn_sigmoid(x: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::sigmoid(x)
    }

    /// The sigmoid's input gradient `dy · s · (1 − s)`, from its output `s` = `output`.
    fn nn_sigmoid_backward(output: FloatTensor<Self>, dy: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::sigmoid_backward(output, dy)
    }

    /// The mean cross-entropy loss of `logits` `[N, C]` against class indices `targets`
    /// `[N]` (each in `0..C`), as Burn's `CrossEntropyLoss`: `−(1/N) Σᵢ log softmax(logitsᵢ)[targetsᵢ]`,
    /// a tensor of one element. By default Burn's ops (nine GPU launches); the GPU backends
    /// run one kernel.
    fn nn_cross_entropy(logits: FloatTensor<Self>, targets: IntTensor<Self>) -> FloatTensor<Self> {
        burn_ops::cross_entropy::<Self>(logits, targets)
    }

    /// The gradient of [`Self::nn_cross_entropy`] with respect to `logits`, given the loss's
    /// gradient `dloss` (one element): `(softmax(logits) − onehot(targets)) · dloss / N`,
    /// `[N, C]`. By default Burn's ops; the GPU backends run one kernel.
    fn nn_cross_entropy_backward(
        logits: FloatTensor<Self>,
        targets: IntTensor<Self>,
        dloss: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        burn_ops::cross_entropy_backward::<Self>(logits, targets, dloss)
    }
}

/// [`NetBackend::nn_conv2d`] on tensors: `x` `[N, C, H, W]`, `weight` `[O, C, kh, kw]`,
/// `bias` `[O]`, stride 1, zero `padding`; `[N, O, H + 2·ph − kh + 1, W + 2·pw − kw + 1]`.
pub fn conv2d<B: NetBackend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Tensor<B, 1>,
    padding: [usize; 2],
) -> Tensor<B, 4> {
    conv_op(x, weight, bias, |x, weight, bias| B::nn_conv2d(x, weight, bias, padding))
}

/// [`conv2d`] followed by ReLU, through [`NetBackend::nn_conv2d_relu`]: the same values as
/// `relu(conv2d(…))` on the backend.
pub fn conv2d_relu<B: NetBackend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Tensor<B, 1>,
    padding: [usize; 2],
) -> Tensor<B, 4> {
    conv_op(x, weight, bias, |x, weight, bias| B::nn_conv2d_relu(x, weight, bias, padding))
}

/// `op` on the float primitives of a conv's input, weight and bias, as a tensor.
fn conv_op<B: Backend, const W: usize, const C: usize>(
    x: Tensor<B, 4>,
    weight: Tensor<B, W>,
    bias: Tensor<B, C>,
    op: impl FnOnce(FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) -> FloatTensor<B>,
) -> Tensor<B, 4> {
    let (x, weight, bias) =
        (x.into_primitive().tensor(), weight.into_primitive().tensor(), bias.into_primitive().tensor());
    Tensor::from_primitive(TensorPrimitive::Float(op(x, weight, bias)))
}

/// [`NetBackend::nn_stacked_conv2d`] on tensors.
pub fn stacked_conv2d<B: NetBackend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 3>,
    bias: Tensor<B, 3>,
    kernel: [usize; 2],
) -> Tensor<B, 4> {
    conv_op(x, weight, bias, |x, weight, bias| B::nn_stacked_conv2d(x, weight, bias, kernel))
}

/// [`NetBackend::nn_linear`] on tensors: `x` `[N, …]` (flattened to `[N, in]`) → `[N, out]`.
pub fn linear<B: NetBackend, const D: usize>(
    x: Tensor<B, D>,
    weight: Tensor<B, 2>,
    bias: Option<Tensor<B, 1>>,
) -> Tensor<B, 2> {
    let bias = bias.map(|b| b.into_primitive().tensor());
    Tensor::from_primitive(TensorPrimitive::Float(B::nn_linear(
        x.into_primitive().tensor(),
        weight.into_primitive().tensor(),
        bias,
    )))
}

/// [`NetBackend::nn_linear_relu`] on tensors: `relu(x · weight + bias)`, `x` `[N, …]`
/// (flattened to `[N, in]`) → `[N, out]`.
pub fn linear_relu<B: NetBackend, const D: usize>(
    x: Tensor<B, D>,
    weight: Tensor<B, 2>,
    bias: Tensor<B, 1>,
) -> Tensor<B, 2> {
    Tensor::from_primitive(TensorPrimitive::Float(B::nn_linear_relu(
        x.into_primitive().tensor(),
        weight.into_primitive().tensor(),
        bias.into_primitive().tensor(),
    )))
}

/// The prediction layer and the loss in one: `logits = x · weight + bias` (`x` `[N, …]`
/// flattened to `[N, in]`, `weight` `[in, C]`, `bias` `[C]`) and their mean cross-entropy
/// against `targets` `[N]`, through [`NetBackend::nn_linear`] (without the bias) and
/// [`NetBackend::nn_bias_cross_entropy`]. Returns `(loss, logits)`: the loss has the value and
/// gradients of Burn's `linear` followed by `CrossEntropyLoss`; under autodiff the logits
/// carry no gradient (read them for accuracy).
pub fn linear_cross_entropy<B: NetBackend, const D: usize>(
    x: Tensor<B, D>,
    weight: Tensor<B, 2>,
    bias: Tensor<B, 1>,
    targets: Tensor<B, 1, Int>,
) -> (Tensor<B, 1>, Tensor<B, 2>) {
    let z = B::nn_linear(x.into_primitive().tensor(), weight.into_primitive().tensor(), None);
    let (loss, logits) = B::nn_bias_cross_entropy(z, bias.into_primitive().tensor(), targets.into_primitive());
    (Tensor::from_primitive(TensorPrimitive::Float(loss)), Tensor::from_primitive(TensorPrimitive::Float(logits)))
}

/// [`NetBackend::nn_max_pool2d`] on tensors.
pub fn max_pool2d<B: NetBackend>(x: Tensor<B, 4>, size: usize) -> Tensor<B, 4> {
    Tensor::from_primitive(TensorPrimitive::Float(B::nn_max_pool2d(x.into_primitive().tensor(), size)))
}

/// [`NetBackend::nn_relu`] on tensors of any rank.
pub fn relu<B: NetBackend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(B::nn_relu(x.into_primitive().tensor())))
}

/// [`NetBackend::nn_sigmoid`] on tensors of any rank.
pub fn sigmoid<B: NetBackend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(B::nn_sigmoid(x.into_primitive().tensor())))
}

/// [`NetBackend::nn_cross_entropy`] on tensors: the mean cross-entropy loss of `logits`
/// `[N, C]` against class indices `targets` `[N]`, one element; the same value and gradient
/// as Burn's `CrossEntropyLoss` (without weights, smoothing or padding).
pub fn cross_entropy<B: NetBackend>(logits: Tensor<B, 2>, targets: Tensor<B, 1, Int>) -> Tensor<B, 1> {
    Tensor::from_primitive(TensorPrimitive::Float(B::nn_cross_entropy(
        logits.into_primitive().tensor(),
        targets.into_primitive(),
    )))
}

/// [`NetBackend`]'s defaults that are compositions of its other methods, as functions, so
/// that a backend which overrides one of them can fall back to the default (for shapes or
/// dtypes its kernel does not take).
pub mod composed {
    use super::{NetBackend, burn_ops};
    use burn::tensor::ops::{FloatTensor, IntTensor};

    /// The default of [`NetBackend::nn_bias_relu`]: Burn's bias add, then
    /// [`NetBackend::nn_relu`].
    pub fn bias_relu<B: NetBackend>(z: FloatTensor<B>, bias: FloatTensor<B>) -> FloatTensor<B> {
        B::nn_relu(burn_ops::add_bias::<B>(z, bias))
    }

    /// The default of [`NetBackend::nn_bias_relu_backward`]: [`NetBackend::nn_relu_backward`],
    /// then Burn's sum over the rows.
    pub fn bias_relu_backward<B: NetBackend>(
        y: FloatTensor<B>,
        dy: FloatTensor<B>,
    ) -> (FloatTensor<B>, FloatTensor<B>) {
        let dz = B::nn_relu_backward(y, dy);
        (dz.clone(), burn_ops::sum_rows::<B>(dz))
    }

    /// The default of [`NetBackend::nn_bias_cross_entropy`]: Burn's bias add, then
    /// [`NetBackend::nn_cross_entropy`].
    pub fn bias_cross_entropy<B: NetBackend>(
        z: FloatTensor<B>,
        bias: FloatTensor<B>,
        targets: IntTensor<B>,
    ) -> (FloatTensor<B>, FloatTensor<B>) {
        let logits = burn_ops::add_bias::<B>(z, bias);
        (B::nn_cross_entropy(logits.clone(), targets), logits)
    }

    /// The default of [`NetBackend::nn_bias_cross_entropy_backward`]:
    /// [`NetBackend::nn_cross_entropy_backward`], then Burn's sum over the rows.
    pub fn bias_cross_entropy_backward<B: NetBackend>(
        logits: FloatTensor<B>,
        targets: IntTensor<B>,
        dloss: FloatTensor<B>,
    ) -> (FloatTensor<B>, FloatTensor<B>) {
        let dz = B::nn_cross_entropy_backward(logits, targets, dloss);
        (dz.clone(), burn_ops::sum_rows::<B>(dz))
    }
}

/// Burn's own ops on primitives, as nnlab's nets use them: the defaults of [`NetBackend`]
/// and the fallbacks of backends that override it (for shapes or dtypes their kernels do
/// not take).
pub mod burn_ops {
    use super::conv_options;
    use burn::tensor::activation::{log_softmax, softmax};
    use burn::tensor::backend::Backend;
    use burn::tensor::ops::{FloatTensor, IntTensor};
    use burn::tensor::{Int, Tensor, TensorPrimitive};

    /// Burn's conv2d, stride 1, with bias.
    pub fn conv2d<B: Backend>(
        x: FloatTensor<B>,
        weight: FloatTensor<B>,
        bias: FloatTensor<B>,
        padding: [usize; 2],
    ) -> FloatTensor<B> {
        B::conv2d(x, weight, Some(bias), conv_options(padding))
    }

    /// Burn's conv2d input gradient.
    pub fn conv2d_input_grad<B: Backend>(
        x: FloatTensor<B>,
        weight: FloatTensor<B>,
        dy: FloatTensor<B>,
        padding: [usize; 2],
    ) -> FloatTensor<B> {
        B::conv2d_x_backward(x, weight, dy, conv_options(padding))
    }

    /// Burn's conv2d weight and bias gradients.
    pub fn conv2d_param_grads<B: Backend>(
        x: FloatTensor<B>,
        weight: FloatTensor<B>,
        bias: FloatTensor<B>,
        dy: FloatTensor<B>,
        padding: [usize; 2],
    ) -> (FloatTensor<B>, FloatTensor<B>) {
        let dw = B::conv2d_weight_backward(x.clone(), weight, dy.clone(), conv_options(padding));
        (dw, B::conv2d_bias_backward(x, bias, dy))
    }

    pub use crate::kernels::gpu::flat_batch;

    /// Burn's linear, `x` flattened to `[N, in]` first.
    pub fn linear<B: Backend>(
        x: FloatTensor<B>,
        weight: FloatTensor<B>,
        bias: Option<FloatTensor<B>>,
    ) -> FloatTensor<B> {
        let weight = Tensor::<B, 2>::from_primitive(TensorPrimitive::Float(weight));
        let bias = bias.map(|b| Tensor::<B, 1>::from_primitive(TensorPrimitive::Float(b)));
        burn::tensor::module::linear(flat_batch::<B>(x), weight, bias).into_primitive().tensor()
    }

    /// `z` `[N, F]` plus `bias` `[F]` on every row, as Burn's `linear` adds it.
    pub fn add_bias<B: Backend>(z: FloatTensor<B>, bias: FloatTensor<B>) -> FloatTensor<B> {
        let z = Tensor::<B, 2>::from_primitive(TensorPrimitive::Float(z));
        let bias = Tensor::<B, 1>::from_primitive(TensorPrimitive::Float(bias));
        (z + bias.unsqueeze::<2>()).into_primitive().tensor()
    }

    /// The sum of the rows of `t` `[N, F]`: `[F]`.
    pub fn sum_rows<B: Backend>(t: FloatTensor<B>) -> FloatTensor<B> {
        let t = Tensor::<B, 2>::from_primitive(TensorPrimitive::Float(t));
        t.sum_dim(0).squeeze_dim::<1>(0).into_primitive().tensor()
    }

    /// Burn's max pooling, `size`×`size` windows at stride `size`, no padding.
    pub fn max_pool2d<B: Backend>(x: FloatTensor<B>, size: usize) -> FloatTensor<B> {
        B::max_pool2d(x, [size; 2], [size; 2], [0, 0], [1, 1], false)
    }

    /// [`max_pool2d`] with Burn's indices of the maxima.
    pub fn max_pool2d_with_indices<B: Backend>(x: FloatTensor<B>, size: usize) -> (FloatTensor<B>, IntTensor<B>) {
        let pooled = B::max_pool2d_with_indices(x, [size; 2], [size; 2], [0, 0], [1, 1], false);
        (pooled.output, pooled.indices)
    }

    /// Burn's `CrossEntropyLoss` (log-softmax, the target's entry, mean, negated) of `logits`
    /// `[N, C]` against `targets` `[N]`: one element.
    pub fn cross_entropy<B: Backend>(logits: FloatTensor<B>, targets: IntTensor<B>) -> FloatTensor<B> {
        let logits = Tensor::<B, 2>::from_primitive(TensorPrimitive::Float(logits));
        let targets = Tensor::<B, 1, Int>::from_primitive(targets);
        let [n] = targets.dims();
        let picked = log_softmax(logits, 1).gather(1, targets.reshape([n, 1]));
        picked.reshape([n]).mean().neg().into_primitive().tensor()
    }

    /// The gradient of [`cross_entropy`] with respect to `logits`, given the loss's gradient
    /// `dloss` (one element): `(softmax(logits) − onehot(targets)) · dloss / N`.
    pub fn cross_entropy_backward<B: Backend>(
        logits: FloatTensor<B>,
        targets: IntTensor<B>,
        dloss: FloatTensor<B>,
    ) -> FloatTensor<B> {
        let logits = Tensor::<B, 2>::from_primitive(TensorPrimitive::Float(logits));
        let targets = Tensor::<B, 1, Int>::from_primitive(targets);
        let dloss = Tensor::<B, 1>::from_primitive(TensorPrimitive::Float(dloss));
        let [n, c] = logits.dims();
        let onehot = targets.one_hot::<2>(c).float();
        let scale = dloss.div_scalar(n as f64).reshape([1, 1]);
        ((softmax(logits, 1) - onehot) * scale).into_primitive().tensor()
    }

    /// Burn's input gradient of [`max_pool2d_with_indices`].
    pub fn max_pool2d_backward<B: Backend>(
        x: FloatTensor<B>,
        size: usize,
        dy: FloatTensor<B>,
        indices: IntTensor<B>,
    ) -> FloatTensor<B> {
        B::max_pool2d_with_indices_backward(x, [size; 2], [size; 2], [0, 0], [1, 1], false, dy, indices).x_grad
    }
}

/// What training needs of a backend: autodiff, with nnlab's ops on both the autodiff
/// backend and its inner backend (used for validation without a graph).
pub trait TrainBackend: AutodiffBackend<InnerBackend: NetBackend> + NetBackend {}

impl<B> TrainBackend for B where B: AutodiffBackend<InnerBackend: NetBackend> + NetBackend {}
