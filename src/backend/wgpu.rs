//! nnlab's ops on wgpu: Burn's own, except the conv weight gradient and the evaluation
//! linear, computed with [`crate::kernels::gpu`].

use crate::backend::NetBackend;
use crate::kernels::gpu;
use burn::backend::Wgpu;
use burn::tensor::TensorMetadata;
use burn::tensor::ops::FloatTensor;

/// Burn's own ops, except two reductions that Burn runs on too few GPU threads (see
/// [`gpu`]): the conv weight and bias gradients (im2col + a batched matrix product) and,
/// in evaluation, the fully connected layer (its reduction split into slices).
impl NetBackend for Wgpu {
    fn nn_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
    ) -> FloatTensor<Self> {
        gpu::linear_split_k::<Wgpu>(x, weight, bias)
    }

    fn nn_conv2d_param_grads(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        _bias: FloatTensor<Self>,
        dy: FloatTensor<Self>,
        padding: [usize; 2],
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        gpu::conv2d_param_grads::<Wgpu>(x, weight.shape().dims::<4>(), dy, padding)
    }
}
