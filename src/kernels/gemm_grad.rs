//! The conv2d weight and bias gradients as im2col + one batched matrix product, written in
//! Burn tensor ops so that it runs on any backend; wgpu uses it.
//!
//! Why: Burn 0.21's wgpu backend (built without autotune, as nnlab builds it) computes the
//! weight gradient as a direct convolution of the input with the output gradient, one GPU
//! thread per weight: for cnn4's first layer that is 432 threads, each summing 45 000
//! products in a row, on a chip that wants tens of thousands of threads. Here every image's
//! product `dY[n] · cols[n]` is one tile of a batched matrix product, and a sum over the
//! batch finishes it:
//!
//! `dW[o, (c, i, j)] = Σₙ Σₚ dY[n, o, p] · x[n, c, p + (i, j)]`, `db[o] = Σₙ Σₚ dY[n, o, p]`.

use burn::tensor::backend::Backend;
use burn::tensor::ops::{FloatTensor, PadMode};
use burn::tensor::{Tensor, TensorPrimitive};

/// im2col of `x` `[N, C, H, W]` for a `kh`×`kw` kernel at stride 1 after zero `padding`:
/// `[N, H'·W', C·kh·kw]`, each row one output position's receptive field in the order of
/// the weight `[O, C, kh, kw]` flattened.
pub fn im2col<B: Backend>(x: Tensor<B, 4>, kernel: [usize; 2], padding: [usize; 2]) -> Tensor<B, 3> {
    let [kh, kw] = kernel;
    let x = match padding {
        [0, 0] => x,
        [ph, pw] => x.pad([(ph, ph), (pw, pw)], PadMode::Constant(0.0)),
    };
    let [n, c, h, w] = x.dims();
    let (oh, ow) = (h + 1 - kh, w + 1 - kw);
    // Views, no copy: [N, C, H', W, kh], then [N, C, H', W', kh, kw].
    let windows: Tensor<B, 6> = x.unfold::<5, _>(2, kh, 1).unfold(3, kw, 1);
    // The one copy: [N, H', W', C, kh, kw] laid out contiguously.
    windows
        .permute([0, 2, 3, 1, 4, 5])
        .reshape([n, oh * ow, c * kh * kw])
}

/// Weight `[O, C, kh, kw]` and bias `[O]` gradients of a stride-1 conv2d with zero
/// `padding`, from its input `x` `[N, C, H, W]` and output gradient `dy` `[N, O, H', W']`.
pub fn conv2d_param_grads<B: Backend>(
    x: FloatTensor<B>,
    weight_shape: [usize; 4],
    dy: FloatTensor<B>,
    padding: [usize; 2],
) -> (FloatTensor<B>, FloatTensor<B>) {
    let x = Tensor::<B, 4>::from_primitive(TensorPrimitive::Float(x));
    let dy = Tensor::<B, 4>::from_primitive(TensorPrimitive::Float(dy));
    let [o, c, kh, kw] = weight_shape;
    let [n, _, oh, ow] = dy.dims();
    let dy = dy.reshape([n, o, oh * ow]);
    let cols = im2col(x, [kh, kw], padding);
    let dw = dy
        .clone()
        .matmul(cols)
        .sum_dim(0)
        .reshape([o, c, kh, kw]);
    let db = dy.sum_dim(2).sum_dim(0).reshape([o]);
    (
        dw.into_primitive().tensor(),
        db.into_primitive().tensor(),
    )
}
