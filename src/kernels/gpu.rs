//! Layer maths rewritten in Burn tensor ops so that a GPU has enough independent work:
//! Burn 0.21's wgpu matrix product and conv weight gradient (built without autotune, as
//! nnlab builds them) give each output element, or a small tile of them, to one thread that
//! runs the whole reduction in a row. These versions split the reduction into many tiles of
//! one batched matrix product and sum the tiles. They run on any backend (the tests check
//! them on ndarray and wgpu against Burn's own ops); nnlab's wgpu backend uses them.
//!
//! **Conv weight gradient** ([`conv2d_param_grads`]). Burn's wgpu backend computes the
//! weight gradient as a direct convolution of the input with the output gradient, one GPU
//! thread per weight: for cnn4's first layer that is 432 threads, each summing 45 000
//! products in a row, on a chip that wants tens of thousands of threads. Here every image's
//! product `dY[n] · cols[n]` ([`crate::conv::im2col`]) is one tile of a batched matrix
//! product, and a sum over the batch finishes it:
//!
//! `dW[o, (c, i, j)] = Σₙ Σₚ dY[n, o, p] · x[n, c, p + (i, j)]`, `db[o] = Σₙ Σₚ dY[n, o, p]`.
//!
//! **Fully connected layer** ([`linear_split_k`]). An MLP's first layer on a validation
//! chunk is `[1000, 3072] · [3072, 32]`: 32 000 outputs, each a 3 072-long sum. Cut the
//! 3 072 inputs into `S` slices, multiply each slice as one tile of a batched product
//! `[S, N, K/S] · [S, K/S, out]`, and add the `S` partial results.

use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Tensor, TensorMetadata, TensorPrimitive};

/// `x` `[N, …]` as a `[N, rest]` tensor (a reshape; a rank-2 `x` as it is).
pub fn flat_batch<B: Backend>(x: FloatTensor<B>) -> Tensor<B, 2> {
    let shape = x.shape();
    let x = match shape.num_dims() {
        2 => x,
        _ => B::float_reshape(x, [shape[0], shape.num_elements() / shape[0].max(1)].into()),
    };
    Tensor::from_primitive(TensorPrimitive::Float(x))
}

/// Weight `[O, C, kh, kw]` and bias `[O]` gradients of a stride-1 conv2d with zero
/// `padding`, from its input `x` `[N, C, H, W]` and output gradient `dy` `[N, O, H', W']`.
pub fn conv2d_param_grads<B: Backend>(
    x: FloatTensor<B>,
    weight_shape: [usize; 4],
    dy: FloatTensor<B>,
    padding: [usize; 2],
) -> (FloatTensor<B>, FloatTensor<B>) {
    let dy = positions_flat::<B>(dy);
    let db = dy.clone().sum_dim(2).sum_dim(0).reshape([weight_shape[0]]);
    (weight_grad::<B>(x, weight_shape, dy, padding), db.into_primitive().tensor())
}

/// The weight gradient of [`conv2d_param_grads`] alone (the GPU backends sum the bias
/// gradient in one kernel of their own, [`crate::kernels::gpu_fused::conv_bias_grad`]).
pub fn conv2d_weight_grad<B: Backend>(
    x: FloatTensor<B>,
    weight_shape: [usize; 4],
    dy: FloatTensor<B>,
    padding: [usize; 2],
) -> FloatTensor<B> {
    weight_grad::<B>(x, weight_shape, positions_flat::<B>(dy), padding)
}

/// An output gradient `[N, O, H', W']` as `[N, O, H'·W']`.
fn positions_flat<B: Backend>(dy: FloatTensor<B>) -> Tensor<B, 3> {
    let dy = Tensor::<B, 4>::from_primitive(TensorPrimitive::Float(dy));
    let [n, o, oh, ow] = dy.dims();
    dy.reshape([n, o, oh * ow])
}

/// `Σₙ dy[n] · im2col(x)[n]` as `[O, C, kh, kw]`, `dy` `[N, O, H'·W']`.
fn weight_grad<B: Backend>(
    x: FloatTensor<B>,
    weight_shape: [usize; 4],
    dy: Tensor<B, 3>,
    padding: [usize; 2],
) -> FloatTensor<B> {
    let x = Tensor::<B, 4>::from_primitive(TensorPrimitive::Float(x));
    let [o, c, kh, kw] = weight_shape;
    let cols = crate::conv::im2col(x, [kh, kw], padding);
    dy.matmul(cols).sum_dim(0).reshape([o, c, kh, kw]).into_primitive().tensor()
}

/// Slices [`linear_split_k`] cuts a reduction of `inputs` into: the most, up to 16, that
/// divide it evenly and leave slices of at least 128; 1 (no split) for short reductions.
pub fn split_k_slices(inputs: usize) -> usize {
    (2..=16).rev().find(|&s| inputs.is_multiple_of(s) && inputs / s >= 128).unwrap_or(1)
}

/// Fully connected layer `x [N, …] · weight [in, out] + bias [out]` (x read as `[N, in]`),
/// with the `in`-long reduction split into [`split_k_slices`] slices of one batched matrix
/// product.
pub fn linear_split_k<B: Backend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: Option<FloatTensor<B>>,
) -> FloatTensor<B> {
    let weight = Tensor::<B, 2>::from_primitive(TensorPrimitive::Float(weight));
    let [inputs, outputs] = weight.dims();
    let x = flat_batch::<B>(x);
    let n = x.dims()[0];
    let y = match split_k_slices(inputs) {
        1 => x.matmul(weight),
        s => {
            // [N, S, K/S] → [S, N, K/S] (one copy) · [S, K/S, out] (a view) → Σ over S.
            let x = x.reshape([n, s, inputs / s]).swap_dims(0, 1);
            let w = weight.reshape([s, inputs / s, outputs]);
            x.matmul(w).sum_dim(0).reshape([n, outputs])
        }
    };
    let y = match bias {
        Some(b) => y + Tensor::<B, 1>::from_primitive(TensorPrimitive::Float(b)).unsqueeze_dim(0),
        None => y,
    };
    y.into_primitive().tensor()
}

/// Forward convolution as im2col + one matrix product: `x` `[N, C, H, W]`, `weight`
/// `[O, C, kh, kw]`, `bias` `[O]`, stride 1, zero `padding` → `[N, O, H', W']`. It is
/// [`stacked_conv2d`] with one member, after padding `x`.
pub fn conv2d_im2col<B: Backend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: FloatTensor<B>,
    padding: [usize; 2],
) -> FloatTensor<B> {
    let x = crate::conv::zero_pad(Tensor::<B, 4>::from_primitive(TensorPrimitive::Float(x)), padding);
    let weight = Tensor::<B, 4>::from_primitive(TensorPrimitive::Float(weight));
    let [o, c, kh, kw] = weight.dims();
    // [O, C·kh·kw] → [1, C·kh·kw, O]: a transposed view, the product reads it in place.
    let weight = weight.reshape([1, o, c * kh * kw]).swap_dims(1, 2);
    let bias = Tensor::<B, 1>::from_primitive(TensorPrimitive::Float(bias)).reshape([1, 1, o]);
    stacked_conv2d::<B>(
        x.into_primitive().tensor(),
        weight.into_primitive().tensor(),
        bias.into_primitive().tensor(),
        [kh, kw],
    )
}

/// Convolution of K stacked members (`crate::model::stacked`), stride 1, no padding: `x`
/// `[K·N, C, H, W]` (member-major), `weight` `[K, C·kh·kw, O]`, `bias` `[K, 1, O]` →
/// `[K·N, O, H', W']`. [`crate::conv::im2col`] over all K·N images and one batched product
/// with the members as its batch dimension.
pub fn stacked_conv2d<B: Backend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: FloatTensor<B>,
    kernel: [usize; 2],
) -> FloatTensor<B> {
    let x = Tensor::<B, 4>::from_primitive(TensorPrimitive::Float(x));
    let weight = Tensor::<B, 3>::from_primitive(TensorPrimitive::Float(weight));
    let bias = Tensor::<B, 3>::from_primitive(TensorPrimitive::Float(bias));
    let [kn, _, h, w] = x.dims();
    let [k, ckk, o] = weight.dims();
    let (oh, ow) = (h + 1 - kernel[0], w + 1 - kernel[1]);
    let cols = crate::conv::im2col(x, kernel, [0, 0]).reshape([k, kn / k * oh * ow, ckk]);
    let y = cols.matmul(weight) + bias;
    y.reshape([kn, oh, ow, o]).permute([0, 3, 1, 2]).into_primitive().tensor()
}

/// Gradients of [`stacked_conv2d`] with respect to `x`, `weight` and `bias`, given the output
/// gradient `dy` `[K·N, O, H', W']`. Weight and bias: batched products over each member's
/// im2col rows. Input: Burn's grouped-convolution input gradient with the members as the
/// groups (`[N, K·C, H, W]` layout), one kernel for all members (differentiating im2col
/// itself would add one slice per window).
pub fn stacked_conv2d_grads<B: Backend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    dy: FloatTensor<B>,
    kernel: [usize; 2],
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let x = Tensor::<B, 4>::from_primitive(TensorPrimitive::Float(x));
    let weight = Tensor::<B, 3>::from_primitive(TensorPrimitive::Float(weight));
    let dy = Tensor::<B, 4>::from_primitive(TensorPrimitive::Float(dy));
    let [kn, c, h, w] = x.dims();
    let [k, ckk, o] = weight.dims();
    let [_, _, oh, ow] = dy.dims();
    let n = kn / k;
    let rows = dy.clone().permute([0, 2, 3, 1]).reshape([k, n * oh * ow, o]);
    // The input gradient needs only x's shape: a reshape, no copy.
    let x_shape_only = x.clone().reshape([n, k * c, h, w]);
    let cols = crate::conv::im2col(x, kernel, [0, 0]).reshape([k, n * oh * ow, ckk]);
    let dw = cols.transpose().matmul(rows.clone());
    let db = rows.sum_dim(1);
    let grouped_weight = weight.swap_dims(1, 2).reshape([k * o, c, kernel[0], kernel[1]]);
    let grouped_dy = dy.reshape([k, n, o, oh, ow]).swap_dims(0, 1).reshape([n, k * o, oh, ow]);
    let dx = B::conv2d_x_backward(
        x_shape_only.into_primitive().tensor(),
        grouped_weight.into_primitive().tensor(),
        grouped_dy.into_primitive().tensor(),
        burn::tensor::ops::ConvOptions::new([1, 1], [0, 0], [1, 1], k),
    );
    let dx = Tensor::<B, 4>::from_primitive(TensorPrimitive::Float(dx))
        .reshape([n, k, c, h, w])
        .swap_dims(0, 1)
        .reshape([kn, c, h, w]);
    (dx.into_primitive().tensor(), dw.into_primitive().tensor(), db.into_primitive().tensor())
}
