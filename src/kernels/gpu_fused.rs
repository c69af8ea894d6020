//! Small work that Burn runs as several GPU kernels, each as one kernel of its own
//! (CubeCL, so the same code serves wgpu and CUDA): Adam's update of all of a net's
//! parameter tensors ([`adam_updates`]), ReLU and its gradient ([`relu`], [`relu_backward`]),
//! the cross-entropy loss and its gradient ([`cross_entropy`], [`cross_entropy_backward`]), the
//! same with the prediction layer's bias add before it ([`bias_cross_entropy`],
//! [`bias_cross_entropy_backward`]), a
//! conv's bias gradient ([`conv_bias_grad`]), a fully connected layer's bias add with the
//! ReLU after it and their gradients ([`bias_relu`], [`bias_relu_backward`]), and max
//! pooling's gradient ([`max_pool_backward`]).
//!
//! Why: these nets' GPU steps are bound by kernel launches, not arithmetic
//! (docs/PERFORMANCE.md), and a cnn4 step on wgpu was 134 launches (counted with CubeCL's
//! kernel log, `benches/gpu/launches.sh`).
//! - Adam in Burn's tensor ops is about 13 element-wise kernels per parameter tensor; over
//!   all parameters at once (one concatenation of the gradients, one of the parameters, each
//!   parameter its slice of the result) it was still 42 of those 134. One launch per
//!   parameter, reading its value, gradient and two moments and writing the new three, took
//!   10 for cnn4. Here one launch updates them all: each tensor is bound on its own (no
//!   copy), and each unit finds its tensor by its position among the tensors' ranges. A
//!   device that binds too few buffers to one kernel takes a few launches. The arithmetic
//!   is Burn's `Adam` (burn-optim's `AdaptiveMomentum`), operation for operation:
//!   `m ← β₁·m + (1−β₁)·g`, `v ← β₂·v + (1−β₂)·g²`, `p ← p − lr · (m·f) / (√v + ε′)`, with
//!   the bias corrections folded into `f` and `ε′` on the host as Burn folds them.
//! - Burn's ReLU is a comparison and a masked fill, and so is its gradient: 16 launches for
//!   cnn4's four ReLUs; here 8. Both keep Burn's rule: an input `≤ 0` gives 0 (and a zero
//!   gradient), anything else, NaN included, passes.
//! - Burn's `CrossEntropyLoss` is a log-softmax (max, subtraction, exp, sum, log,
//!   subtraction), a gather, a mean and a negation: 9 launches, and its gradient through
//!   Burn's autodiff 17 more, for every net (26 of cnn4's 92). Here the loss is one launch
//!   (one cube: a unit per row, the rows' losses summed in shared memory) and its gradient
//!   one more (a unit per logit, each computing its row's softmax again: ten classes).
//! - The prediction layer's bias add comes right before the loss, and its bias gradient, the
//!   logits' gradient summed over the rows, right after the loss's gradient: the add and the
//!   loss are one launch here ([`bias_cross_entropy`]), and so are both gradients
//!   ([`bias_cross_entropy_backward`], a cube per class): two launches fewer for every net.
//! - A conv's bias gradient, the output gradient summed over images and positions, was two
//!   of Burn's reductions in a row; here one launch ([`conv_bias_grad`], a cube per channel).
//! - A hidden fully connected layer in training was a product, a bias add and ReLU, and in
//!   the backward pass ReLU's gradient and a reduction for the bias's; the bias add and ReLU
//!   are one launch here ([`bias_relu`]), and so are both gradients ([`bias_relu_backward`], a
//!   cube per feature): two launches fewer per hidden layer (mlp1, mlp2).
//! - Burn's max-pooling gradient reads its output gradient channels last, and copies it
//!   there when it comes from a fully connected layer or a contiguous gradient; here it is
//!   read in whatever layout it comes ([`max_pool_backward`]).
//! - Burn's GPU convolutions and pooling work in NHWC, and a conv's output arrives as an NHWC
//!   buffer read as NCHW. ReLU writes its output in its input's layout, so the next
//!   convolution or pooling finds NHWC and copies nothing (4 copies fewer per cnn4 step).
//!
//! Outputs are new tensors: an input may still be held elsewhere (a parameter's old value in
//! a saved copy of the net), so nothing is written in place.

use burn_cubecl::CubeRuntime;
use burn_cubecl::cubecl;
use burn_cubecl::cubecl::prelude::*;
use burn_cubecl::cubecl::std::tensor::layout::linear::LinearView;
use burn_cubecl::cubecl::{calculate_cube_count_elemwise, ir::AddressType};
use burn_cubecl::ops::numeric::empty_device_dtype;
use burn_cubecl::tensor::CubeTensor;

use crate::train::AdamStep;
use burn::tensor::{DType, TensorMetadata};

/// One Adam step over several parameter tensors in one launch (Burn's `AdaptiveMomentum`,
/// see [`adam_updates`]): unit `p` updates element `p − ends[i−1]` of tensor `i`, the one
/// whose range `ends[i−1]..ends[i]` holds `p` (`ends[−1]` = 0).
#[cube(launch, address_type = "dynamic")]
#[allow(clippy::too_many_arguments)]
fn adam_all_kernel(
    params: &Sequence<LinearView<f32>>,
    grads: &Sequence<LinearView<f32>>,
    moments_1: &Sequence<LinearView<f32>>,
    moments_2: &Sequence<LinearView<f32>>,
    new_params: &mut Sequence<LinearView<f32, ReadWrite>>,
    new_moments_1: &mut Sequence<LinearView<f32, ReadWrite>>,
    new_moments_2: &mut Sequence<LinearView<f32, ReadWrite>>,
    ends: &Sequence<usize>,
    beta_1: f32,
    one_minus_beta_1: f32,
    beta_2: f32,
    one_minus_beta_2: f32,
    factor: f32,
    epsilon: f32,
    lr: f32,
) {
    let count = comptime!(params.len());
    let mut start = 0usize;
    #[unroll]
    for i in 0..count {
        let end = ends[i];
        if ABSOLUTE_POS >= start && ABSOLUTE_POS < end {
            let at = ABSOLUTE_POS - start;
            let g = grads[i][at];
            let m = moments_1[i][at] * beta_1 + g * one_minus_beta_1;
            let v = moments_2[i][at] * beta_2 + g * g * one_minus_beta_2;
            let out_1 = new_moments_1.index_mut(i);
            out_1[at] = m;
            let out_2 = new_moments_2.index_mut(i);
            out_2[at] = v;
            let step = m * factor / (v.sqrt() + epsilon);
            let out = new_params.index_mut(i);
            out[at] = params[i][at] - step * lr;
        }
        start = end;
    }
}

#[cube(launch, address_type = "dynamic")]
fn relu_kernel(x: &LinearView<f32>, y: &mut LinearView<f32, ReadWrite>) {
    if !y.is_in_bounds(ABSOLUTE_POS) {
        terminate!();
    }
    y[ABSOLUTE_POS] = relu_of(x[ABSOLUTE_POS]);
}

#[cube(launch, address_type = "dynamic")]
fn relu_backward_kernel(output: &LinearView<f32>, dy: &LinearView<f32>, dx: &mut LinearView<f32, ReadWrite>) {
    if !dx.is_in_bounds(ABSOLUTE_POS) {
        terminate!();
    }
    dx[ABSOLUTE_POS] = relu_grad_of(output[ABSOLUTE_POS], dy[ABSOLUTE_POS]);
}

/// Burn's ReLU of one value: `v ≤ 0` (−0 included) gives +0, anything else, NaN included,
/// passes. Every kernel here that applies ReLU takes it from this one place.
#[cube]
fn relu_of(v: f32) -> f32 {
    let mut y = v;
    if v <= f32::new(0.0) {
        y = f32::new(0.0);
    }
    y
}

/// Burn's ReLU gradient of one element from ReLU's `output`: `dy`, except 0 where
/// `output ≤ 0` (a NaN output passes `dy`, as Burn's `relu_backward` does).
#[cube]
fn relu_grad_of(output: f32, dy: f32) -> f32 {
    let mut g = dy;
    if output <= f32::new(0.0) {
        g = f32::new(0.0);
    }
    g
}

/// The log-sum-exp of row `row` of `logits` (its `c` entries `stride` apart from `start`) as
/// Burn's `log_softmax` takes it: `(max, log Σ exp(x − max))`.
#[cube]
fn row_max_and_log_sum_exp(logits: &Tensor<f32>, start: usize, stride: usize, c: usize) -> (f32, f32) {
    let mut max = logits[start];
    for j in 1..c {
        let v = logits[start + j * stride];
        if v > max {
            max = v;
        }
    }
    let mut sum = f32::new(0.0);
    for j in 0..c {
        sum += (logits[start + j * stride] - max).exp();
    }
    (max, sum.ln())
}

/// Row `r`'s loss term, the log-softmax of `logits` at the row's target, as Burn takes it:
/// `(x − max) − log Σ exp(x − max)`; the row's `c` entries are `stride` apart from `start`.
#[cube]
fn log_softmax_at_target(logits: &Tensor<f32>, targets: &Tensor<i32>, r: usize, start: usize, stride: usize) -> f32 {
    let (max, log_sum_exp) = row_max_and_log_sum_exp(logits, start, stride, logits.shape(1));
    let target = u32::cast_from(targets[r * targets.stride(0)]) as usize;
    (logits[start + target * stride] - max) - log_sum_exp
}

/// The mean cross-entropy's gradient at `logits[r, j]` (`[N, C]`, any layout), given the
/// loss's gradient `dloss`: `(softmax − onehot(target)) · dloss / N`, the row's softmax
/// computed again (ten classes).
#[cube]
fn cross_entropy_grad_at(logits: &Tensor<f32>, targets: &Tensor<i32>, dloss: &Tensor<f32>, r: usize, j: usize) -> f32 {
    let (n, c) = (logits.shape(0), logits.shape(1));
    let (start, col_stride) = (r * logits.stride(0), logits.stride(1));
    let (max, log_sum_exp) = row_max_and_log_sum_exp(logits, start, col_stride, c);
    let p = (logits[start + j * col_stride] - max - log_sum_exp).exp();
    let target = u32::cast_from(targets[r * targets.stride(0)]) as usize;
    let mut g = p;
    if j == target {
        g = p - f32::new(1.0);
    }
    g * dloss[0] / f32::cast_from(n as u32)
}

/// The loss from each unit's `sum` of its rows' log-softmax at their targets, over a cube of
/// `cube_size` units and `n` rows: minus their mean, written by unit 0 to `loss[0]`.
#[cube]
fn write_mean_loss(sum: f32, n: usize, loss: &mut Tensor<f32>, #[comptime] cube_size: usize) {
    let total = cube_sum(sum, cube_size);
    if UNIT_POS_X == 0 {
        loss[0] = f32::new(0.0) - total / f32::cast_from(n as u32);
    }
}

/// The mean cross-entropy of `logits` `[N, C]` against `targets` `[N]`, in one cube of
/// `cube_size` units (a power of two): each unit sums the losses of rows `u`, `u + cube_size`,
/// …, then the cube adds its partial sums in shared memory and unit 0 writes the mean.
#[cube(launch)]
fn cross_entropy_kernel(
    logits: &Tensor<f32>,
    targets: &Tensor<i32>,
    loss: &mut Tensor<f32>,
    #[comptime] cube_size: usize,
) {
    let n = logits.shape(0);
    let (row_stride, col_stride) = (logits.stride(0), logits.stride(1));
    let mut sum = f32::new(0.0);
    let mut r = UNIT_POS_X as usize;
    while r < n {
        sum += log_softmax_at_target(logits, targets, r, r * row_stride, col_stride);
        r += cube_size;
    }
    write_mean_loss(sum, n, loss, cube_size);
}

/// The prediction layer's bias add and the mean cross-entropy of its result, in one cube of
/// `cube_size` units (a power of two): each unit writes `logits = z + bias` for rows `u`,
/// `u + cube_size`, … (`z` `[N, C]` in any layout, into the contiguous `logits`) and sums
/// their losses from what it wrote; the cube adds the partial sums and unit 0 writes the mean.
#[cube(launch)]
fn bias_cross_entropy_kernel(
    z: &Tensor<f32>,
    bias: &Tensor<f32>,
    targets: &Tensor<i32>,
    logits: &mut Tensor<f32>,
    loss: &mut Tensor<f32>,
    #[comptime] cube_size: usize,
) {
    let n = z.shape(0);
    let c = z.shape(1);
    let mut sum = f32::new(0.0);
    let mut r = UNIT_POS_X as usize;
    while r < n {
        for j in 0..c {
            logits[r * c + j] = z[r * z.stride(0) + j * z.stride(1)] + bias[j * bias.stride(0)];
        }
        sum += log_softmax_at_target(logits, targets, r, r * c, 1);
        r += cube_size;
    }
    write_mean_loss(sum, n, loss, cube_size);
}

/// The gradients of [`bias_cross_entropy_kernel`]'s loss from its `logits` `[N, C]` (any
/// layout) and the loss's gradient `dloss`: `dz`, the cross-entropy's gradient
/// (`cross_entropy_grad_at`, into the contiguous `dz`), and `dbias[j] = Σₙ dz[n, j]`, one cube
/// of `cube_size` units per class `j`.
#[cube(launch)]
fn bias_cross_entropy_backward_kernel(
    logits: &Tensor<f32>,
    targets: &Tensor<i32>,
    dloss: &Tensor<f32>,
    dz: &mut Tensor<f32>,
    dbias: &mut Tensor<f32>,
    #[comptime] cube_size: usize,
) {
    let j = CUBE_POS_X as usize;
    let (rows, classes) = (logits.shape(0), logits.shape(1));
    let mut sum = f32::new(0.0);
    let mut r = UNIT_POS_X as usize;
    while r < rows {
        let g = cross_entropy_grad_at(logits, targets, dloss, r, j);
        dz[r * classes + j] = g;
        sum += g;
        r += cube_size;
    }
    let total = cube_sum(sum, cube_size);
    if UNIT_POS_X == 0 {
        dbias[j] = total;
    }
}

/// The sum of every unit's `value` over a cube of `cube_size` units (a power of two, the
/// cube's size), in shared memory, as a tree; every unit gets it.
#[cube]
fn cube_sum(value: f32, #[comptime] cube_size: usize) -> f32 {
    let unit = UNIT_POS_X as usize;
    let mut partial = SharedMemory::<f32>::new(cube_size);
    partial[unit] = value;
    sync_cube();
    let mut half = CUBE_DIM_X as usize / 2; // cube_size, as a run-time value that can change
    while half > 0 {
        if unit < half {
            partial[unit] += partial[unit + half];
        }
        sync_cube();
        half /= 2;
    }
    partial[0]
}

/// A conv's bias gradient `db[o] = Σₙ Σᵢ Σⱼ dy[n, o, i, j]` from its output gradient `dy`
/// `[N, O, H', W']` (any layout), one cube of `cube_size` units per output channel `o`.
#[cube(launch)]
fn conv_bias_grad_kernel(dy: &Tensor<f32>, db: &mut Tensor<f32>, #[comptime] cube_size: usize) {
    let o = CUBE_POS_X as usize;
    let (h, w) = (dy.shape(2), dy.shape(3));
    let count = dy.shape(0) * h * w;
    let mut sum = f32::new(0.0);
    let mut k = UNIT_POS_X as usize;
    while k < count {
        let (image, position) = (k / (h * w), k % (h * w));
        let (i, j) = (position / w, position % w);
        sum += dy[image * dy.stride(0) + o * dy.stride(1) + i * dy.stride(2) + j * dy.stride(3)];
        k += cube_size;
    }
    let total = cube_sum(sum, cube_size);
    if UNIT_POS_X == 0 {
        db[o] = total;
    }
}

/// `y = relu(z + bias)` for `z` `[N, F]` (any layout) and `bias` `[F]`, into the contiguous
/// `y`, one unit per element, with Burn's ReLU rule (`relu_of`).
#[cube(launch)]
fn bias_relu_kernel(z: &Tensor<f32>, bias: &Tensor<f32>, y: &mut Tensor<f32>) {
    if ABSOLUTE_POS >= y.len() {
        terminate!();
    }
    let features = y.shape(1);
    let (n, f) = (ABSOLUTE_POS / features, ABSOLUTE_POS % features);
    y[ABSOLUTE_POS] = relu_of(z[n * z.stride(0) + f * z.stride(1)] + bias[f * bias.stride(0)]);
}

/// The gradients of [`bias_relu_kernel`] from its output `y` and the output gradient `dy`
/// (both `[N, F]`, any layout): `dz`, ReLU's gradient (`relu_grad_of`, into the contiguous
/// `dz`), and `dbias[f] = Σₙ dz[n, f]`, one cube of `cube_size` units per feature `f`.
#[cube(launch)]
fn bias_relu_backward_kernel(
    y: &Tensor<f32>,
    dy: &Tensor<f32>,
    dz: &mut Tensor<f32>,
    dbias: &mut Tensor<f32>,
    #[comptime] cube_size: usize,
) {
    let f = CUBE_POS_X as usize;
    let (rows, features) = (y.shape(0), y.shape(1));
    let mut sum = f32::new(0.0);
    let mut n = UNIT_POS_X as usize;
    while n < rows {
        let g = relu_grad_of(y[n * y.stride(0) + f * y.stride(1)], dy[n * dy.stride(0) + f * dy.stride(1)]);
        dz[n * features + f] = g;
        sum += g;
        n += cube_size;
    }
    let total = cube_sum(sum, cube_size);
    if UNIT_POS_X == 0 {
        dbias[f] = total;
    }
}

/// Max pooling's input gradient for `size`×`size` windows at stride `size` (no padding),
/// one unit per input element `(n, c, h, w)`: `dy[n, c, h/size, w/size]` where that window's
/// maximum was at `(h, w)` (`indices` holds `h·W + w`, as Burn's pooling writes it), else 0.
/// `dy`, `indices` and `dx` may be laid out in any order.
#[cube(launch)]
fn max_pool_backward_kernel(dy: &Tensor<f32>, indices: &Tensor<i32>, dx: &mut Tensor<f32>, #[comptime] size: usize) {
    if ABSOLUTE_POS >= dx.len() {
        terminate!();
    }
    let (channels, height, width) = (dx.shape(1), dx.shape(2), dx.shape(3));
    let w = ABSOLUTE_POS % width;
    let h = (ABSOLUTE_POS / width) % height;
    let c = (ABSOLUTE_POS / (width * height)) % channels;
    let n = ABSOLUTE_POS / (width * height * channels);
    let (oh, ow) = (h / size, w / size);
    let mut g = f32::new(0.0);
    if oh < dy.shape(2) && ow < dy.shape(3) {
        let at = n * indices.stride(0) + c * indices.stride(1) + oh * indices.stride(2) + ow * indices.stride(3);
        if indices[at] == i32::cast_from(h * width + w) {
            g = dy[n * dy.stride(0) + c * dy.stride(1) + oh * dy.stride(2) + ow * dy.stride(3)];
        }
    }
    dx[n * dx.stride(0) + c * dx.stride(1) + h * dx.stride(2) + w * dx.stride(3)] = g;
}

/// The gradient of the mean cross-entropy with respect to `logits` `[N, C]`, one unit per
/// entry: `(softmax − onehot(target)) · dloss / N`, into the contiguous `dlogits`.
#[cube(launch)]
fn cross_entropy_backward_kernel(
    logits: &Tensor<f32>,
    targets: &Tensor<i32>,
    dloss: &Tensor<f32>,
    dlogits: &mut Tensor<f32>,
) {
    if ABSOLUTE_POS >= dlogits.len() {
        terminate!();
    }
    let c = logits.shape(1);
    dlogits[ABSOLUTE_POS] = cross_entropy_grad_at(logits, targets, dloss, ABSOLUTE_POS / c, ABSOLUTE_POS % c);
}

/// Whether every tensor holds `f32` (what these kernels take; callers fall back to Burn's
/// ops otherwise).
pub fn all_f32<R: CubeRuntime>(tensors: &[&CubeTensor<R>]) -> bool {
    tensors.iter().all(|t| t.dtype == DType::F32)
}

/// The widest address type any of `tensors` needs.
fn address<R: CubeRuntime>(tensors: &[&CubeTensor<R>]) -> AddressType {
    tensors.iter().map(|t| t.required_address_type()).max().unwrap_or(AddressType::U32)
}

/// The cubes and cube size that give each of `n` elements one unit, on `client`'s device.
fn grid<R: CubeRuntime>(client: &ComputeClient<R>, n: usize) -> (CubeCount, CubeDim) {
    let cube_dim = CubeDim::new(client, n);
    (calculate_cube_count_elemwise(client, n, cube_dim), cube_dim)
}

/// A new uninitialised `f32` tensor shaped as `like`, on its device.
fn empty_like<R: CubeRuntime>(like: &CubeTensor<R>) -> CubeTensor<R> {
    empty_device_dtype(like.client.clone(), like.device.clone(), like.shape(), DType::F32)
}

/// A new uninitialised `f32` tensor shaped and laid out as `like` where `like` fills its
/// elements densely in some order of its dimensions (a permuted view: a GPU convolution's
/// NHWC output read as NCHW), else as [`empty_like`]. An element-wise result laid out as its
/// input is what the next convolution or pooling wants, with no copy in between.
fn empty_laid_out_as<R: CubeRuntime>(like: &CubeTensor<R>) -> CubeTensor<R> {
    let (shape, strides) = (like.meta.shape(), like.meta.strides());
    let mut dims: Vec<(usize, usize)> =
        strides.iter().copied().zip(shape.iter().copied()).filter(|&(_, size)| size != 1).collect();
    dims.sort_unstable();
    let mut dense = 1;
    for (stride, size) in dims {
        if stride != dense {
            return empty_like(like);
        }
        dense *= size;
    }
    match shape.num_elements() {
        0 => empty_like(like),
        n => {
            let handle = like.client.empty(n * DType::F32.size());
            CubeTensor::new(like.client.clone(), handle, (*like.meta).clone(), like.device.clone(), DType::F32)
        }
    }
}

/// A new uninitialised `f32` tensor shaped as `like`; for a rank-4 tensor (a conv weight
/// `[O, C, kh, kw]`) laid out channels last, `[O, kh, kw, C]` in memory, which is how Burn's
/// GPU convolutions read a weight: a contiguous one costs a copy in every forward pass (4 per
/// cnn4 step). Elsewhere as [`empty_like`].
fn empty_as_read<R: CubeRuntime>(like: &CubeTensor<R>) -> CubeTensor<R> {
    let shape = like.shape();
    match shape.num_dims() {
        4 => {
            let [o, c, kh, kw] = shape.dims::<4>();
            let channels_last = [o, kh, kw, c].into();
            let t = empty_device_dtype(like.client.clone(), like.device.clone(), channels_last, DType::F32);
            burn_cubecl::ops::permute(t, &[0, 3, 1, 2])
        }
        _ => empty_like(like),
    }
}

/// `max(x, 0)` as Burn's ReLU computes it (`x ≤ 0` → 0, NaN kept), `x` f32, laid out as
/// `x` (`empty_laid_out_as`: 4 fewer copies per cnn4 step than a contiguous output).
pub fn relu<R: CubeRuntime>(x: CubeTensor<R>) -> CubeTensor<R> {
    let y = empty_laid_out_as(&x);
    let client = x.client.clone();
    let (cube_count, cube_dim) = grid(&client, x.shape().num_elements());
    relu_kernel::launch::<R>(
        &client,
        cube_count,
        cube_dim,
        address(&[&x, &y]),
        x.into_linear_view(),
        y.clone().into_linear_view(),
    );
    y
}

/// ReLU's input gradient from its output: `dy` where `output > 0` (or NaN), else 0, as
/// Burn's `relu_backward`; both f32 and of one shape.
pub fn relu_backward<R: CubeRuntime>(output: CubeTensor<R>, dy: CubeTensor<R>) -> CubeTensor<R> {
    // Contiguous: the conv weight gradient reads it as `[N, O, H'·W']`. Laid out as `dy` (the
    // pooling gradient's NHWC) it cost cnn4 two more copies than it saved.
    let dx = empty_like(&dy);
    let client = dy.client.clone();
    let (cube_count, cube_dim) = grid(&client, dy.shape().num_elements());
    relu_backward_kernel::launch::<R>(
        &client,
        cube_count,
        cube_dim,
        address(&[&output, &dy, &dx]),
        output.into_linear_view(),
        dy.into_linear_view(),
        dx.clone().into_linear_view(),
    );
    dx
}

/// One Adam step of several parameter tensors: for each, its value `param` (f32, any shape),
/// gradient and two moments (zeros before the first step, where `None`) → the new parameter
/// and the two new moments, each shaped as `param`, in the same order. One launch for all
/// of them, or a few where the device binds too few tensors to one kernel
/// ([`adam_tensors_per_launch`]). A conv weight (rank 4) comes out laid out as Burn's GPU
/// convolutions read it (`empty_as_read`).
pub fn adam_updates<R: CubeRuntime>(updates: Vec<AdamInput<R>>, step: &AdamStep) -> Vec<AdamOutput<R>> {
    let Some((first, _, _)) = updates.first() else {
        return vec![];
    };
    let per_launch = adam_tensors_per_launch(&first.client);
    let mut updates = updates.into_iter();
    let mut done = Vec::with_capacity(updates.len());
    loop {
        let chunk: Vec<AdamInput<R>> = updates.by_ref().take(per_launch).collect();
        if chunk.is_empty() {
            return done;
        }
        done.extend(adam_launch(chunk, step));
    }
}

/// One parameter tensor's Adam inputs: its value, its gradient and its two moments (`None`
/// before the first step).
pub type AdamInput<R> = (CubeTensor<R>, CubeTensor<R>, Option<(CubeTensor<R>, CubeTensor<R>)>);

/// One parameter tensor after an Adam step: its new value and its two new moments.
pub type AdamOutput<R> = (CubeTensor<R>, CubeTensor<R>, CubeTensor<R>);

/// How many parameter tensors one Adam launch takes on `client`'s device: each binds seven
/// buffers (value, gradient, two moments, and the three new ones), and a kernel may bind
/// only so many (wgpu: the adapter's storage buffers per shader stage, less one that
/// CubeCL keeps; CUDA: 1 024). At most 64, so that one launch stays a modest kernel.
pub fn adam_tensors_per_launch<R: CubeRuntime>(client: &ComputeClient<R>) -> usize {
    let bindings = client.properties().hardware.max_bindings as usize;
    // Two kept for CubeCL's own buffers (metadata, scalars).
    (bindings.saturating_sub(2) / 7).clamp(1, 64)
}

/// [`adam_updates`] of tensors that fit one launch.
fn adam_launch<R: CubeRuntime>(updates: Vec<AdamInput<R>>, step: &AdamStep) -> Vec<AdamOutput<R>> {
    let client = updates[0].0.client.clone();
    let mut ends = SequenceArg::<R, usize>::new();
    let mut inputs: [SequenceArg<R, LinearView<f32>>; 4] = Default::default();
    let mut outputs: [SequenceArg<R, LinearView<f32, ReadWrite>>; 3] = Default::default();
    let mut address_type = AddressType::U32;
    let mut total = 0;
    let mut done = Vec::with_capacity(updates.len());
    for (param, grad, moments) in updates {
        let (moment_1, moment_2) = match moments {
            Some(moments) => moments,
            None => {
                let zeros = burn_cubecl::ops::numeric::zeros::<R>(param.device.clone(), param.shape(), DType::F32);
                (zeros.clone(), zeros)
            }
        };
        let new = (empty_as_read(&param), empty_like(&param), empty_like(&param));
        address_type = address_type.max(address(&[&param, &grad, &moment_1, &moment_2, &new.0, &new.1, &new.2]));
        total += param.shape().num_elements();
        ends.push(total);
        for (seq, t) in inputs.iter_mut().zip([param, grad, moment_1, moment_2]) {
            seq.push(t.into_linear_view());
        }
        for (seq, t) in outputs.iter_mut().zip([&new.0, &new.1, &new.2]) {
            seq.push(t.clone().into_linear_view());
        }
        done.push(new);
    }
    if total == 0 {
        // Only empty tensors: nothing to update, and no grid to launch.
        return done;
    }
    let (cube_count, cube_dim) = grid(&client, total);
    let [params, grads, moments_1, moments_2] = inputs;
    let [new_params, new_moments_1, new_moments_2] = outputs;
    adam_all_kernel::launch::<R>(
        &client,
        cube_count,
        cube_dim,
        address_type,
        params,
        grads,
        moments_1,
        moments_2,
        new_params,
        new_moments_1,
        new_moments_2,
        ends,
        step.beta_1,
        1.0 - step.beta_1,
        step.beta_2,
        1.0 - step.beta_2,
        step.factor,
        step.epsilon,
        step.lr,
    );
    done
}

/// Whether [`bias_relu`] takes these tensors: `f32` `z` `[N, F]` and `bias` `[F]` (callers
/// fall back to Burn's ops otherwise).
pub fn bias_relu_takes<R: CubeRuntime>(z: &CubeTensor<R>, bias: &CubeTensor<R>) -> bool {
    let (z_shape, bias_shape) = (z.shape(), bias.shape());
    all_f32(&[z, bias]) && z_shape.num_dims() == 2 && bias_shape.num_dims() == 1 && z_shape[1] == bias_shape[0]
}

/// `relu(z + bias)` for `z` `[N, F]` and `bias` `[F]` (f32): a fully connected layer's bias
/// add and the ReLU after it in one launch (Burn's are three: the add, a comparison and a
/// masked fill; nnlab's ReLU made them two).
pub fn bias_relu<R: CubeRuntime>(z: CubeTensor<R>, bias: CubeTensor<R>) -> CubeTensor<R> {
    let y = empty_like(&z);
    let client = z.client.clone();
    let (cube_count, cube_dim) = grid(&client, z.shape().num_elements());
    bias_relu_kernel::launch::<R>(
        &client,
        cube_count,
        cube_dim,
        z.into_tensor_arg(),
        bias.into_tensor_arg(),
        y.clone().into_tensor_arg(),
    );
    y
}

/// The gradients of [`bias_relu`] from its output `y` and the output gradient `dy` (both
/// `[N, F]`, f32): `(dz, dbias)`, `dz` `[N, F]` (ReLU's gradient) and `dbias` `[F]` (its sum
/// over the rows), in one launch (a cube per feature) where Burn takes two.
pub fn bias_relu_backward<R: CubeRuntime>(y: CubeTensor<R>, dy: CubeTensor<R>) -> (CubeTensor<R>, CubeTensor<R>) {
    let shape = y.shape();
    let (client, device) = (y.client.clone(), y.device.clone());
    let dz = empty_like(&y);
    let dbias = empty_device_dtype(client.clone(), device, [shape[1]].into(), DType::F32);
    let cube_size = cube_size_for(&client, shape[0]);
    bias_relu_backward_kernel::launch::<R>(
        &client,
        CubeCount::Static(shape[1] as u32, 1, 1),
        CubeDim::new_1d(cube_size as u32),
        y.into_tensor_arg(),
        dy.into_tensor_arg(),
        dz.clone().into_tensor_arg(),
        dbias.clone().into_tensor_arg(),
        cube_size,
    );
    (dz, dbias)
}

/// Whether [`max_pool_backward`] takes these tensors: `f32` `x` and `dy` and `i32` `indices`,
/// all rank 4, `dy` and `indices` of one shape (callers fall back to Burn's op otherwise).
pub fn max_pool_backward_takes<R: CubeRuntime>(x: &CubeTensor<R>, dy: &CubeTensor<R>, indices: &CubeTensor<R>) -> bool {
    all_f32(&[x, dy]) && indices.dtype == DType::I32 && x.shape().num_dims() == 4 && dy.shape() == indices.shape()
}

/// Max pooling's input gradient (`size`×`size` windows at stride `size`, no padding) from
/// the output gradient `dy` and the maxima's `indices` of Burn's pooling, shaped and laid out
/// as the pooling's input `x`: one launch. Burn's takes `dy` and the indices channels last
/// and copies `dy` there first when it arrives in another layout (from a fully connected
/// layer or a contiguous gradient: two copies per cnn4 step).
pub fn max_pool_backward<R: CubeRuntime>(
    x: CubeTensor<R>,
    size: usize,
    dy: CubeTensor<R>,
    indices: CubeTensor<R>,
) -> CubeTensor<R> {
    let dx = empty_laid_out_as(&x);
    let client = x.client.clone();
    let (cube_count, cube_dim) = grid(&client, x.shape().num_elements());
    max_pool_backward_kernel::launch::<R>(
        &client,
        cube_count,
        cube_dim,
        dy.into_tensor_arg(),
        indices.into_tensor_arg(),
        dx.clone().into_tensor_arg(),
        size,
    );
    dx
}

/// Whether [`cross_entropy`] and [`cross_entropy_backward`] take these tensors: `f32` logits
/// `[N, C]` and `i32` targets `[N]` (callers fall back to Burn's ops otherwise).
pub fn cross_entropy_takes<R: CubeRuntime>(logits: &CubeTensor<R>, targets: &CubeTensor<R>) -> bool {
    let (logits_shape, targets_shape) = (logits.shape(), targets.shape());
    logits.dtype == DType::F32
        && targets.dtype == DType::I32
        && logits_shape.num_dims() == 2
        && targets_shape.num_dims() == 1
        && logits_shape[0] == targets_shape[0]
        && logits_shape[0] > 0
        && logits_shape[1] > 0
}

/// The mean cross-entropy of `logits` `[N, C]` (f32) against class indices `targets` `[N]`
/// (i32, each in `0..C`), as Burn's `CrossEntropyLoss`: one launch, one element.
pub fn cross_entropy<R: CubeRuntime>(logits: CubeTensor<R>, targets: CubeTensor<R>) -> CubeTensor<R> {
    let (client, device) = (logits.client.clone(), logits.device.clone());
    let loss = empty_device_dtype(client.clone(), device, [1].into(), DType::F32);
    // One cube: a unit per row up to 256 (the batches here are 50).
    let cube_size = cube_size_for(&client, logits.shape()[0]);
    cross_entropy_kernel::launch::<R>(
        &client,
        CubeCount::Static(1, 1, 1),
        CubeDim::new_1d(cube_size as u32),
        logits.into_tensor_arg(),
        targets.into_tensor_arg(),
        loss.clone().into_tensor_arg(),
        cube_size,
    );
    loss
}

/// Units for a cube that sums `n` values with [`cube_sum`]: a power of two, one per value
/// up to 256 or the device's largest cube.
fn cube_size_for<R: CubeRuntime>(client: &ComputeClient<R>, n: usize) -> usize {
    let max_units = client.properties().hardware.max_cube_dim.0.clamp(1, 256) as usize;
    let largest = 1 << (usize::BITS - 1 - max_units.leading_zeros());
    n.max(1).next_power_of_two().min(largest)
}

/// A conv's bias gradient `[O]` from its output gradient `dy` `[N, O, H', W']` (f32, any
/// layout): one launch (Burn's `conv2d_bias_backward`, two sums in a row, is two).
pub fn conv_bias_grad<R: CubeRuntime>(dy: CubeTensor<R>) -> CubeTensor<R> {
    let shape = dy.shape();
    let (client, device) = (dy.client.clone(), dy.device.clone());
    let db = empty_device_dtype(client.clone(), device, [shape[1]].into(), DType::F32);
    let cube_size = cube_size_for(&client, shape[0] * shape[2] * shape[3]);
    conv_bias_grad_kernel::launch::<R>(
        &client,
        CubeCount::Static(shape[1] as u32, 1, 1),
        CubeDim::new_1d(cube_size as u32),
        dy.into_tensor_arg(),
        db.clone().into_tensor_arg(),
        cube_size,
    );
    db
}

/// The gradient of [`cross_entropy`] with respect to `logits`, given the loss's gradient
/// `dloss` (one element): `(softmax(logits) − onehot(targets)) · dloss / N`, one launch.
pub fn cross_entropy_backward<R: CubeRuntime>(
    logits: CubeTensor<R>,
    targets: CubeTensor<R>,
    dloss: CubeTensor<R>,
) -> CubeTensor<R> {
    let dlogits = empty_like(&logits);
    let client = logits.client.clone();
    let (cube_count, cube_dim) = grid(&client, logits.shape().num_elements());
    cross_entropy_backward_kernel::launch::<R>(
        &client,
        cube_count,
        cube_dim,
        logits.into_tensor_arg(),
        targets.into_tensor_arg(),
        dloss.into_tensor_arg(),
        dlogits.clone().into_tensor_arg(),
    );
    dlogits
}

/// Whether [`bias_cross_entropy`] takes these tensors: what [`cross_entropy_takes`] takes as
/// `z` and `targets`, and an `f32` `bias` `[C]` (callers fall back to
/// [`crate::backend::composed`] otherwise).
pub fn bias_cross_entropy_takes<R: CubeRuntime>(
    z: &CubeTensor<R>,
    bias: &CubeTensor<R>,
    targets: &CubeTensor<R>,
) -> bool {
    let bias_shape = bias.shape();
    cross_entropy_takes(z, targets)
        && bias.dtype == DType::F32
        && bias_shape.num_dims() == 1
        && bias_shape[0] == z.shape()[1]
}

/// The prediction layer's bias add and the loss: `logits = z + bias` for `z` `[N, C]` and
/// `bias` `[C]` (f32), and their mean cross-entropy against `targets` `[N]` (i32), as Burn's
/// add and `CrossEntropyLoss` give them. Returns `(loss, logits)`, the loss one element, in
/// one launch (one cube; the bias add and [`cross_entropy`] are two).
pub fn bias_cross_entropy<R: CubeRuntime>(
    z: CubeTensor<R>,
    bias: CubeTensor<R>,
    targets: CubeTensor<R>,
) -> (CubeTensor<R>, CubeTensor<R>) {
    let (client, device) = (z.client.clone(), z.device.clone());
    let logits = empty_like(&z);
    let loss = empty_device_dtype(client.clone(), device, [1].into(), DType::F32);
    let cube_size = cube_size_for(&client, z.shape()[0]);
    bias_cross_entropy_kernel::launch::<R>(
        &client,
        CubeCount::Static(1, 1, 1),
        CubeDim::new_1d(cube_size as u32),
        z.into_tensor_arg(),
        bias.into_tensor_arg(),
        targets.into_tensor_arg(),
        logits.clone().into_tensor_arg(),
        loss.clone().into_tensor_arg(),
        cube_size,
    );
    (loss, logits)
}

/// The gradients of [`bias_cross_entropy`]'s loss from its `logits` `[N, C]`, the `targets`
/// and the loss's gradient `dloss` (one element): `(dz, dbias)`, `dz` `[N, C]` as
/// [`cross_entropy_backward`] gives it and `dbias` `[C]` its sum over the rows, in one launch
/// (a cube per class) where that gradient and Burn's bias gradient are two.
pub fn bias_cross_entropy_backward<R: CubeRuntime>(
    logits: CubeTensor<R>,
    targets: CubeTensor<R>,
    dloss: CubeTensor<R>,
) -> (CubeTensor<R>, CubeTensor<R>) {
    let shape = logits.shape();
    let (client, device) = (logits.client.clone(), logits.device.clone());
    let dz = empty_like(&logits);
    let dbias = empty_device_dtype(client.clone(), device, [shape[1]].into(), DType::F32);
    let cube_size = cube_size_for(&client, shape[0]);
    bias_cross_entropy_backward_kernel::launch::<R>(
        &client,
        CubeCount::Static(shape[1] as u32, 1, 1),
        CubeDim::new_1d(cube_size as u32),
        logits.into_tensor_arg(),
        targets.into_tensor_arg(),
        dloss.into_tensor_arg(),
        dz.clone().into_tensor_arg(),
        dbias.clone().into_tensor_arg(),
        cube_size,
    );
    (dz, dbias)
}
