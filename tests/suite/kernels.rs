//! nnlab's own ops behind `NetBackend` (conv2d, max pooling, the evaluation linear, the
//! sigmoid, ReLU and the cross-entropy loss; on flex its CPU kernels; on wgpu, and on cuda
//! where it runs, the GPU backends' conv weight gradient, split linear, forward convolutions
//! and fused element-wise kernels) against Burn's plain ops: outputs and every gradient equal
//! to 1e-4 relative, for one conv layer with and without padding and for whole nets,
//! evaluated and trained one step.
// Helpers shared by the flex and wgpu comparisons; an ndarray-only build has neither.
#![cfg_attr(not(any(feature = "flex", feature = "wgpu")), allow(dead_code, unused_imports))]

use crate::common::host;
use burn::module::{AutodiffModule, Module, ModuleMapper, ModuleVisitor, Param};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::module::conv2d as burn_conv2d;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Distribution, Int, Tensor, TensorData, TensorPrimitive};
use nnlab::Activation;
use nnlab::backend::burn_ops;
use nnlab::backend::{TrainBackend, conv_options, conv2d};
use nnlab::kernels::gpu;
use nnlab::model::{ArchSpec, Net};

#[cfg(feature = "flex")]
type Flex = burn::backend::Autodiff<burn::backend::Flex>;
type Nd = burn::backend::Autodiff<burn::backend::NdArray>;

/// Largest |a − b| over the largest |b|: the relative error of `a` as an estimate of `b`.
fn relative_error(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(f32::MIN_POSITIVE);
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

fn assert_close(what: &str, a: &[f32], b: &[f32]) {
    let e = relative_error(a, b);
    assert!(e < 1e-4, "{what}: relative error {e:e} ≥ 1e-4");
}

#[cfg(feature = "flex")]
#[test]
fn one_conv_layer_and_its_gradients_equal_burns_conv2d() {
    let _rng = crate::common::rng_lock();
    let device = Default::default();
    for (shape, kernel, padding) in [
        ([3, 4, 9, 8], [5, 4, 3, 2], [0, 0]),
        ([2, 3, 12, 12], [6, 3, 5, 5], [1, 2]),
        ([2, 1, 7, 7], [3, 1, 7, 7], [0, 0]),
    ] {
        let x = Tensor::<Flex, 4>::random(shape, Distribution::Normal(0.0, 1.0), &device).require_grad();
        let w = Tensor::<Flex, 4>::random(kernel, Distribution::Normal(0.0, 1.0), &device).require_grad();
        let b = Tensor::<Flex, 1>::random([kernel[0]], Distribution::Normal(0.0, 1.0), &device).require_grad();
        let ours = conv2d(x.clone(), w.clone(), b.clone(), padding);
        let plain = burn_conv2d(x.clone(), w.clone(), Some(b.clone()), conv_options(padding));
        assert_eq!(ours.dims(), plain.dims(), "output shape at padding {padding:?}");
        assert_close("output", &host(ours.clone()), &host(plain.clone()));
        // A loss that weights every output differently, so a transposed gradient would show.
        let r = Tensor::<Flex, 4>::random(plain.dims(), Distribution::Normal(0.0, 1.0), &device);
        let g_ours = (ours * r.clone()).sum().backward();
        let g_plain = (plain * r).sum().backward();
        for (name, a, b) in [
            ("input gradient", x.grad(&g_ours), x.grad(&g_plain)),
            ("weight gradient", w.grad(&g_ours), w.grad(&g_plain)),
        ] {
            assert_close(name, &host(a.expect("gradient")), &host(b.expect("gradient")));
        }
        assert_close("bias gradient", &host(b.grad(&g_ours).unwrap()), &host(b.grad(&g_plain).unwrap()));
    }
}

/// Collects every float parameter's gradient, flattened, in module order.
struct GradCollector<'a, B: AutodiffBackend> {
    grads: &'a B::Gradients,
    out: Vec<f32>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for GradCollector<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let g = param.val().grad(self.grads).expect("every parameter has a gradient");
        self.out.extend(host(g));
    }
}

/// Collects every float parameter's values, in module order.
struct ValueCollector(Vec<Vec<f32>>);

impl<B: AutodiffBackend> ModuleVisitor<B> for ValueCollector {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.0.push(host(param.val()));
    }
}

/// Replaces every float parameter's values by the next collected ones.
struct ValueSetter(std::vec::IntoIter<Vec<f32>>);

impl<B: AutodiffBackend> ModuleMapper<B> for ValueSetter {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let values = self.0.next().expect("as many parameters");
        param.map(|t| {
            let (dims, device) = (t.dims(), t.device());
            Tensor::from_data(TensorData::new(values, dims), &device).require_grad()
        })
    }
}

/// One forward and backward of `net` on a fixed batch: the logits and every parameter's
/// gradient of the cross-entropy loss, computed as the training step computes them
/// (`Net::forward_loss`) where `as_trained`, else by `Net::forward` and Burn's
/// `CrossEntropyLoss`.
fn logits_and_grads<B: TrainBackend>(net: &Net<B>, device: &B::Device, as_trained: bool) -> (Vec<f32>, Vec<f32>) {
    let pixels: Vec<f32> = (0..6 * 3 * 32 * 32).map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0).collect();
    let x = Tensor::<B, 4>::from_data(TensorData::new(pixels, [6, 3, 32, 32]), device);
    let y = Tensor::<B, 1, Int>::from_data(TensorData::new(vec![0i64, 3, 9, 1, 1, 7], [6]), device);
    let (loss, logits) = match as_trained {
        true => net.forward_loss(x, y),
        false => {
            let logits = net.forward(x);
            (CrossEntropyLossConfig::new().init(device).forward(logits.clone(), y), logits)
        }
    };
    let grads = loss.backward();
    let mut collector = GradCollector::<B> { grads: &grads, out: Vec::new() };
    net.visit(&mut collector);
    (host(logits), collector.out)
}

/// Builds `arch` on ndarray (Burn's own conv2d, pooling and linear) and the same weights on
/// backend `F`, and checks that `F` gives the same evaluation logits, training logits and
/// every parameter's gradient (`F` through the training step's `Net::forward_loss`, ndarray
/// through `Net::forward` and Burn's `CrossEntropyLoss`), with ReLU.
fn same_logits_and_gradients_as_burns_ops<F: TrainBackend>(arch: &str, device: &F::Device) {
    same_logits_and_gradients_with::<F>(arch, Activation::Relu, device)
}

/// [`same_logits_and_gradients_as_burns_ops`] with `activation`.
fn same_logits_and_gradients_with<F: TrainBackend>(arch: &str, activation: Activation, device: &F::Device) {
    let spec = ArchSpec::parse(arch).unwrap();
    let plain = Net::<Nd>::new(&spec, activation, &Default::default()).unwrap();
    let mut values = ValueCollector(Vec::new());
    plain.visit(&mut values);
    let fast = Net::<F>::new(&spec, activation, device).unwrap().map(&mut ValueSetter(values.0.into_iter()));
    assert_close(&format!("{arch} weights"), &host(fast.first_weights().inner()), &host(plain.first_weights().inner()));
    let images = Tensor::<burn::backend::NdArray, 4>::random(
        [7, 3, 32, 32],
        Distribution::Normal(0.0, 1.0),
        &Default::default(),
    );
    let eval_plain = host(plain.valid().forward(images.clone()));
    let images = Tensor::<F::InnerBackend, 4>::from_data(images.into_data(), device);
    assert_close(&format!("{arch} evaluation logits"), &host(fast.valid().forward(images)), &eval_plain);
    let (logits_fast, grads_fast) = logits_and_grads(&fast, device, true);
    let (logits_plain, grads_plain) = logits_and_grads(&plain, &Default::default(), false);
    assert_close(&format!("{arch} logits"), &logits_fast, &logits_plain);
    assert_eq!(grads_fast.len(), spec.param_count(), "{arch}: one gradient per parameter");
    assert_close(&format!("{arch} gradients"), &grads_fast, &grads_plain);
}

#[cfg(feature = "flex")]
#[test]
fn whole_nets_give_the_same_logits_and_gradients_as_burns_ops() {
    let _rng = crate::common::rng_lock();
    // Flex runs nnlab's kernels, ndarray Burn's own ops; the same weights go to both. With
    // autodiff (training) and without (evaluation).
    for arch in ["mlp1", "cnn3", "cnn4", "cnn5"] {
        same_logits_and_gradients_as_burns_ops::<Flex>(arch, &Default::default());
    }
}

#[cfg(feature = "flex")]
#[test]
fn whole_sigmoid_nets_give_the_same_logits_and_gradients_as_burns_ops() {
    let _rng = crate::common::rng_lock();
    // Flex's sigmoid is `kernels::activation`; ndarray's is Burn's (the C library's exp).
    for arch in ["mlp2", "cnn3"] {
        same_logits_and_gradients_with::<Flex>(arch, Activation::Sigmoid, &Default::default());
    }
}

/// `op(x)` and the input gradient of `Σ op(x) · r`, on `B` (autodiff), for `x` and `r` of
/// shape `dims`.
fn output_and_input_gradient<B: AutodiffBackend>(
    x: &[f32],
    r: &[f32],
    dims: [usize; 4],
    device: &B::Device,
    op: impl Fn(Tensor<B, 4>) -> Tensor<B, 4>,
) -> (Vec<f32>, Vec<f32>) {
    let x = Tensor::<B, 4>::from_data(TensorData::new(x.to_vec(), dims), device).require_grad();
    let r = Tensor::<B, 4>::from_data(TensorData::new(r.to_vec(), dims), device);
    let y = op(x.clone());
    let grads = (y.clone() * r).sum().backward();
    (host(y.inner()), host(x.grad(&grads).expect("x has a gradient")))
}

/// `nnlab::backend::sigmoid` on `B` and Burn's own sigmoid on ndarray, both under autodiff,
/// on one tensor (large enough for the threaded path, with saturated values): the outputs
/// and the input gradients of `Σ y · r`.
fn sigmoid_equals_burns<B: TrainBackend>(device: &B::Device) {
    let dims = [8, 16, 17, 17];
    let n: usize = dims.iter().product();
    let x: Vec<f32> = (0..n).map(|i| ((i * 7919 % 4001) as f32 / 4000.0 - 0.5) * 240.0).collect();
    let r: Vec<f32> = (0..n).map(|i| ((i * 31 % 17) as f32 - 8.0) / 8.0).collect();
    let (y, dx) = output_and_input_gradient::<B>(&x, &r, dims, device, nnlab::backend::sigmoid);
    let (y_burn, dx_burn) =
        output_and_input_gradient::<Nd>(&x, &r, dims, &Default::default(), burn::tensor::activation::sigmoid);
    assert_close("sigmoid", &y, &y_burn);
    assert_close("sigmoid input gradient", &dx, &dx_burn);
    assert!(y.contains(&1.0) && y.contains(&0.0), "saturated on both sides");
}

#[test]
fn sigmoid_op_and_its_gradient_equal_burns_on_ndarray() {
    sigmoid_equals_burns::<Nd>(&Default::default());
}

#[cfg(feature = "flex")]
#[test]
fn sigmoid_op_and_its_gradient_equal_burns_on_flex() {
    sigmoid_equals_burns::<Flex>(&Default::default());
}

#[cfg(feature = "wgpu")]
#[test]
fn sigmoid_op_and_its_gradient_equal_burns_on_wgpu() {
    // wgpu keeps Burn's sigmoid; under autodiff nnlab's backward step reuses its output.
    crate::common::on_wgpu("sigmoid_on_wgpu", |device| {
        sigmoid_equals_burns::<burn::backend::Autodiff<burn::backend::Wgpu>>(&device);
    });
}

/// `nnlab::backend::relu` and Burn's own ReLU on the same backend `B`, both under autodiff:
/// the outputs and the input gradients of `Σ y · r`, bit for bit, on a tensor with negative
/// values, zeros (±0), NaNs and positive values, read through a permuted view (as a GPU
/// convolution's output arrives). (Burn's backends differ among themselves on −0 and NaN:
/// ndarray keeps −0, flex makes NaN 0; nnlab's op keeps each backend's own rule.)
fn relu_equals_burns<B: TrainBackend>(device: &B::Device) {
    let dims = [3, 5, 7, 4];
    let n: usize = dims.iter().product();
    let x: Vec<f32> = (0..n)
        .map(|i| match i % 11 {
            0 => f32::NAN,
            1 => 0.0,
            2 => -0.0,
            k => (k as f32 - 6.5) * (1.0 + i as f32 / 97.0),
        })
        .collect();
    let r: Vec<f32> = (0..n).map(|i| ((i * 31 % 17) as f32 - 8.0) / 8.0).collect();
    // Through a permuted view, as the NCHW view of a GPU convolution's NHWC output.
    let permuted = |relu: fn(Tensor<B, 4>) -> Tensor<B, 4>| {
        move |x: Tensor<B, 4>| relu(x.permute([0, 2, 3, 1])).permute([0, 3, 1, 2])
    };
    let (y, dx) = output_and_input_gradient::<B>(&x, &r, dims, device, permuted(nnlab::backend::relu));
    let (y_burn, dx_burn) =
        output_and_input_gradient::<B>(&x, &r, dims, device, permuted(burn::tensor::activation::relu));
    let bits = |v: &[f32]| v.iter().map(|f| if f.is_nan() { u32::MAX } else { f.to_bits() }).collect::<Vec<_>>();
    assert_eq!(bits(&y), bits(&y_burn), "ReLU outputs");
    assert_eq!(bits(&dx), bits(&dx_burn), "ReLU input gradients");
    assert!(dx.contains(&0.0) && dx.iter().any(|&v| v != 0.0), "some gradients pass, some stop");
}

#[test]
fn relu_op_and_its_gradient_equal_burns_on_ndarray() {
    relu_equals_burns::<Nd>(&Default::default());
}

#[cfg(feature = "flex")]
#[test]
fn relu_op_and_its_gradient_equal_burns_on_flex() {
    relu_equals_burns::<Flex>(&Default::default());
}

#[cfg(feature = "wgpu")]
#[test]
fn relu_op_and_its_gradient_equal_burns_on_wgpu() {
    // wgpu runs `kernels::gpu_fused`'s two ReLU kernels.
    crate::common::on_wgpu("relu_on_wgpu", |device| {
        relu_equals_burns::<burn::backend::Autodiff<burn::backend::Wgpu>>(&device);
    });
}

/// The loss of `logits` against `targets` by `loss`, under autodiff on `B`, and the
/// gradient of 2.5 × that loss with respect to the logits (so that the loss's own gradient
/// is not 1); the logits are given as `[C, N]` and transposed when `transposed`, so that the
/// loss reads a strided view.
fn loss_and_logits_gradient<B: AutodiffBackend>(
    logits: &[f32],
    targets: &[i64],
    transposed: bool,
    device: &B::Device,
    loss: impl Fn(Tensor<B, 2>, Tensor<B, 1, Int>) -> Tensor<B, 1>,
) -> (Vec<f32>, Vec<f32>) {
    let (n, c) = (targets.len(), logits.len() / targets.len());
    let x = match transposed {
        false => Tensor::<B, 2>::from_data(TensorData::new(logits.to_vec(), [n, c]), device),
        true => {
            let columns: Vec<f32> = (0..c * n).map(|k| logits[(k % n) * c + k / n]).collect();
            Tensor::<B, 2>::from_data(TensorData::new(columns, [c, n]), device).transpose()
        }
    }
    .require_grad();
    let y = Tensor::<B, 1, Int>::from_data(TensorData::new(targets.to_vec(), [n]), device);
    let value = loss(x.clone(), y);
    let grads = value.clone().mul_scalar(2.5).backward();
    (host(value.inner()), host(x.grad(&grads).expect("the logits have a gradient")))
}

/// `nnlab::backend::cross_entropy` on `B` against Burn's `CrossEntropyLoss` on ndarray (its
/// log-softmax, gather and mean, differentiated by Burn's autodiff): the loss and the logits'
/// gradient, for batches of one row, of a few, of the homework's 50 and of more rows than a
/// GPU cube has units, with logits up to ±100 (e^100 overflows f32: only a max-shifted
/// log-sum-exp survives), contiguous and through a transposed view.
fn cross_entropy_equals_burns<B: TrainBackend>(device: &B::Device) {
    for (n, c) in [(1, 10), (7, 3), (50, 10), (300, 10)] {
        let logits: Vec<f32> = (0..n * c).map(|i| ((i * 7919 % 401) as f32 / 200.0 - 1.0) * 100.0).collect();
        let targets: Vec<i64> = (0..n).map(|i| (i * 7 % c) as i64).collect();
        for transposed in [false, true] {
            let case = format!("{n}×{c}{}", if transposed { " transposed" } else { "" });
            let (loss, grad) =
                loss_and_logits_gradient::<B>(&logits, &targets, transposed, device, nnlab::backend::cross_entropy);
            let (loss_burn, grad_burn) =
                loss_and_logits_gradient::<Nd>(&logits, &targets, transposed, &Default::default(), |x, y| {
                    CrossEntropyLossConfig::new().init(&Default::default()).forward(x, y)
                });
            assert_close(&format!("cross-entropy {case}"), &loss, &loss_burn);
            assert_close(&format!("cross-entropy gradient {case}"), &grad, &grad_burn);
            assert!(loss[0].is_finite() && loss[0] > 1.0, "{case}: a loss this far from the targets is large");
        }
    }
}

/// The output of `layer(x, weight, bias)` on `B` under autodiff and the gradients of
/// `Σ y · r` with respect to `x`, `weight` and `bias` (in that order, end to end), for `x`
/// `[N, 3, 4, 5]` read flat (`[N, 60]`), weight `[60, F]` and bias `[F]`.
fn linear_relu_output_and_gradients<B: AutodiffBackend>(
    (x, weight, bias, r): (&[f32], &[f32], &[f32], &[f32]),
    (n, f): (usize, usize),
    device: &B::Device,
    layer: impl Fn(Tensor<B, 4>, Tensor<B, 2>, Tensor<B, 1>) -> Tensor<B, 2>,
) -> (Vec<f32>, Vec<f32>) {
    let x = Tensor::<B, 4>::from_data(TensorData::new(x.to_vec(), [n, 3, 4, 5]), device).require_grad();
    let weight = Tensor::<B, 2>::from_data(TensorData::new(weight.to_vec(), [60, f]), device).require_grad();
    let bias = Tensor::<B, 1>::from_data(TensorData::new(bias.to_vec(), [f]), device).require_grad();
    let r = Tensor::<B, 2>::from_data(TensorData::new(r.to_vec(), [n, f]), device);
    let y = layer(x.clone(), weight.clone(), bias.clone());
    let grads = (y.clone() * r).sum().backward();
    let mut gradients = host(x.grad(&grads).expect("x has a gradient"));
    gradients.extend(host(weight.grad(&grads).expect("the weight has a gradient")));
    gradients.extend(host(bias.grad(&grads).expect("the bias has a gradient")));
    (host(y.inner()), gradients)
}

/// `nnlab::backend::linear_relu` (a hidden fully connected layer: in training Burn's product
/// and `nn_bias_relu` as one step) on `B` against Burn's `linear` and `relu` on ndarray,
/// differentiated by Burn's autodiff: the output and the gradients of the input, the weight
/// and the bias, for 1, 50 and 300 rows (more than a GPU cube's 256 units) and outputs of
/// which about half are cut by ReLU.
fn linear_relu_equals_burns<B: TrainBackend>(device: &B::Device) {
    for (n, f) in [(1, 5), (50, 32), (300, 7)] {
        let wave = |len: usize, k: usize| -> Vec<f32> {
            (0..len).map(|i| ((i * k % 211) as f32 / 105.0 - 1.0) * 0.5).collect()
        };
        let (x, weight, bias, r) = (wave(n * 60, 7919), wave(60 * f, 613), wave(f, 37), wave(n * f, 31));
        let inputs = (&x[..], &weight[..], &bias[..], &r[..]);
        let (y, grads) = linear_relu_output_and_gradients::<B>(inputs, (n, f), device, nnlab::backend::linear_relu);
        let (y_burn, grads_burn) =
            linear_relu_output_and_gradients::<Nd>(inputs, (n, f), &Default::default(), |x, w, b| {
                let flat = x.flatten::<2>(1, 3);
                burn::tensor::activation::relu(burn::tensor::module::linear(flat, w, Some(b)))
            });
        assert_close(&format!("linear + ReLU {n}×{f}"), &y, &y_burn);
        assert_close(&format!("linear + ReLU gradients {n}×{f}"), &grads, &grads_burn);
        let cut = y_burn.iter().filter(|&&v| v == 0.0).count();
        assert!(cut > 0 && cut < y_burn.len(), "{n}×{f}: ReLU cuts some outputs, not all ({cut})");
    }
}

/// The loss and logits of `layer(x, weight, bias, targets)` on `B` under autodiff (a
/// prediction layer and its loss), and the gradients of 2.5 × the loss with respect to `x`,
/// `weight` and `bias` (in that order, end to end), for `x` `[N, 3, 4, 5]` read flat
/// (`[N, 60]`), weight `[60, C]`, bias `[C]` and `targets` `[N]`.
fn linear_loss_and_gradients<B: AutodiffBackend>(
    (x, weight, bias, targets): (&[f32], &[f32], &[f32], &[i64]),
    device: &B::Device,
    layer: impl Fn(Tensor<B, 4>, Tensor<B, 2>, Tensor<B, 1>, Tensor<B, 1, Int>) -> (Tensor<B, 1>, Tensor<B, 2>),
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (n, c) = (targets.len(), bias.len());
    let x = Tensor::<B, 4>::from_data(TensorData::new(x.to_vec(), [n, 3, 4, 5]), device).require_grad();
    let weight = Tensor::<B, 2>::from_data(TensorData::new(weight.to_vec(), [60, c]), device).require_grad();
    let bias = Tensor::<B, 1>::from_data(TensorData::new(bias.to_vec(), [c]), device).require_grad();
    let y = Tensor::<B, 1, Int>::from_data(TensorData::new(targets.to_vec(), [n]), device);
    let (loss, logits) = layer(x.clone(), weight.clone(), bias.clone(), y);
    let grads = loss.clone().mul_scalar(2.5).backward();
    let mut gradients = host(x.grad(&grads).expect("x has a gradient"));
    gradients.extend(host(weight.grad(&grads).expect("the weight has a gradient")));
    gradients.extend(host(bias.grad(&grads).expect("the bias has a gradient")));
    (host(loss.inner()), host(logits.inner()), gradients)
}

/// `nnlab::backend::linear_cross_entropy` (the prediction layer and the loss: Burn's product,
/// then `nn_bias_cross_entropy` as one step) on `B` against Burn's `linear` and
/// `CrossEntropyLoss` on ndarray, differentiated by Burn's autodiff: the loss, the logits and
/// the gradients of the input, the weight and the bias, for batches of one row, of a few, of
/// the homework's 50 and of more rows than a GPU cube has units, with biases up to ±100 (e^100
/// overflows f32: only a max-shifted log-sum-exp survives). The logits it returns carry no
/// gradient.
fn linear_cross_entropy_equals_burns<B: TrainBackend>(device: &B::Device) {
    for (n, c) in [(1, 10), (7, 3), (50, 10), (300, 10)] {
        let wave = |len: usize, k: usize| -> Vec<f32> {
            (0..len).map(|i| ((i * k % 211) as f32 / 105.0 - 1.0) * 0.5).collect()
        };
        let bias: Vec<f32> = wave(c, 37).iter().map(|b| b * 200.0).collect();
        let targets: Vec<i64> = (0..n).map(|i| (i * 7 % c) as i64).collect();
        let (x, weight) = (wave(n * 60, 7919), wave(60 * c, 613));
        let inputs = (&x[..], &weight[..], &bias[..], &targets[..]);
        let (loss, logits, grads) = linear_loss_and_gradients::<B>(inputs, device, |x, w, b, y| {
            let (loss, logits) = nnlab::backend::linear_cross_entropy(x, w, b, y);
            assert!(!logits.is_require_grad(), "{n}×{c}: the logits are a value, not part of the graph");
            (loss, logits)
        });
        let (loss_burn, logits_burn, grads_burn) =
            linear_loss_and_gradients::<Nd>(inputs, &Default::default(), |x, w, b, y| {
                let logits = burn::tensor::module::linear(x.flatten::<2>(1, 3), w, Some(b));
                (CrossEntropyLossConfig::new().init(&Default::default()).forward(logits.clone(), y), logits)
            });
        assert_close(&format!("linear + cross-entropy loss {n}×{c}"), &loss, &loss_burn);
        assert_close(&format!("linear + cross-entropy logits {n}×{c}"), &logits, &logits_burn);
        assert_close(&format!("linear + cross-entropy gradients {n}×{c}"), &grads, &grads_burn);
        assert!(loss_burn[0].is_finite() && loss_burn[0] > 1.0, "{n}×{c}: a loss this far from the targets is large");
    }
}

#[test]
fn linear_cross_entropy_and_its_gradients_equal_burns_on_ndarray() {
    linear_cross_entropy_equals_burns::<Nd>(&Default::default());
}

#[cfg(feature = "flex")]
#[test]
fn linear_cross_entropy_and_its_gradients_equal_burns_on_flex() {
    linear_cross_entropy_equals_burns::<Flex>(&Default::default());
}

#[cfg(feature = "wgpu")]
#[test]
fn linear_cross_entropy_and_its_gradients_equal_burns_on_wgpu() {
    // wgpu runs `kernels::gpu_fused`'s bias-add-and-loss kernel and its gradient kernel.
    crate::common::on_wgpu("linear_cross_entropy_on_wgpu", |device| {
        linear_cross_entropy_equals_burns::<burn::backend::Autodiff<burn::backend::Wgpu>>(&device);
    });
}

#[cfg(feature = "cuda")]
#[test]
fn linear_cross_entropy_and_its_gradients_equal_burns_on_cuda() {
    crate::common::on_cuda("linear_cross_entropy_on_cuda", |device| {
        linear_cross_entropy_equals_burns::<burn::backend::Autodiff<burn::backend::Cuda>>(&device);
    });
}

#[test]
fn linear_relu_and_its_gradients_equal_burns_on_ndarray() {
    linear_relu_equals_burns::<Nd>(&Default::default());
}

#[cfg(feature = "flex")]
#[test]
fn linear_relu_and_its_gradients_equal_burns_on_flex() {
    linear_relu_equals_burns::<Flex>(&Default::default());
}

#[cfg(feature = "wgpu")]
#[test]
fn linear_relu_and_its_gradients_equal_burns_on_wgpu() {
    // wgpu runs `kernels::gpu_fused`'s bias-add-and-ReLU kernel and its gradient kernel.
    crate::common::on_wgpu("linear_relu_on_wgpu", |device| {
        linear_relu_equals_burns::<burn::backend::Autodiff<burn::backend::Wgpu>>(&device);
    });
}

#[cfg(feature = "cuda")]
#[test]
fn linear_relu_and_its_gradients_equal_burns_on_cuda() {
    crate::common::on_cuda("linear_relu_on_cuda", |device| {
        linear_relu_equals_burns::<burn::backend::Autodiff<burn::backend::Cuda>>(&device);
    });
}

/// `nnlab::backend::max_pool2d` against Burn's own `max_pool2d` (its forward kernel and its
/// gradient), both on `B` under autodiff: the output and the input gradient of `Σ y · r`, for
/// 2×2 and 3×3 windows over sides that the windows do not divide (the last rows and columns get
/// no gradient), the input read through a channels-last view (as a GPU convolution's output
/// arrives) or not, and the output gradient arriving as the output is laid out or channels
/// last.
fn max_pool_equals_burns<B: TrainBackend>(device: &B::Device) {
    use burn::tensor::module::max_pool2d as burn_max_pool2d;
    for (dims, size) in [([2, 3, 7, 9], 2), ([3, 4, 10, 8], 3)] {
        let n: usize = dims.iter().product();
        // Distinct values: no ties, whose winner may differ between backends.
        let x: Vec<f32> = (0..n).map(|i| ((i * 7919 % n) as f32 / n as f32 - 0.5) * 10.0).collect();
        let [batch, channels, h, w] = dims;
        let out = [batch, channels, h / size, w / size];
        // No zeros: every window passes a gradient on.
        let r: Vec<f32> = (0..out.iter().product::<usize>()).map(|i| ((i * 31 % 17) as f32 - 8.5) / 8.0).collect();
        for (x_nhwc, dy_nhwc) in [(false, false), (true, false), (false, true), (true, true)] {
            let case = format!("{dims:?} / {size}, input channels last {x_nhwc}, gradient channels last {dy_nhwc}");
            let run = |pool: &dyn Fn(Tensor<B, 4>) -> Tensor<B, 4>| {
                let x = Tensor::<B, 4>::from_data(TensorData::new(x.clone(), dims), device);
                let x = match x_nhwc {
                    // Stored [N, H, W, C], read as [N, C, H, W].
                    true => {
                        Tensor::<B, 4>::from_data(x.permute([0, 2, 3, 1]).into_data(), device).permute([0, 3, 1, 2])
                    }
                    false => x,
                }
                .require_grad();
                let y = pool(x.clone());
                let r = Tensor::<B, 4>::from_data(TensorData::new(r.clone(), out), device);
                let loss = match dy_nhwc {
                    true => (y.clone().permute([0, 2, 3, 1]) * r.permute([0, 2, 3, 1])).sum(),
                    false => (y.clone() * r).sum(),
                };
                let grads = loss.backward();
                (host(y.inner()), host(x.grad(&grads).expect("x has a gradient")))
            };
            let (y, dx) = run(&|x| nnlab::backend::max_pool2d(x, size));
            let (y_burn, dx_burn) = run(&|x| burn_max_pool2d(x, [size; 2], [size; 2], [0, 0], [1, 1], false));
            assert_close(&format!("max pooling {case}"), &y, &y_burn);
            assert_close(&format!("max pooling gradient {case}"), &dx, &dx_burn);
            assert_eq!(
                dx.iter().filter(|&&v| v != 0.0).count(),
                y.len(),
                "{case}: one input per window gets the gradient"
            );
        }
    }
}

#[test]
fn max_pool_and_its_gradient_equal_burns_on_ndarray() {
    max_pool_equals_burns::<Nd>(&Default::default());
}

#[cfg(feature = "flex")]
#[test]
fn max_pool_and_its_gradient_equal_burns_on_flex() {
    max_pool_equals_burns::<Flex>(&Default::default());
}

#[cfg(feature = "wgpu")]
#[test]
fn max_pool_and_its_gradient_equal_burns_on_wgpu() {
    // wgpu runs `kernels::gpu_fused::max_pool_backward` for the gradient.
    crate::common::on_wgpu("max_pool_on_wgpu", |device| {
        max_pool_equals_burns::<burn::backend::Autodiff<burn::backend::Wgpu>>(&device);
    });
}

#[cfg(feature = "cuda")]
#[test]
fn max_pool_and_its_gradient_equal_burns_on_cuda() {
    crate::common::on_cuda("max_pool_on_cuda", |device| {
        max_pool_equals_burns::<burn::backend::Autodiff<burn::backend::Cuda>>(&device);
    });
}

#[test]
fn cross_entropy_and_its_gradient_equal_burns_on_ndarray() {
    cross_entropy_equals_burns::<Nd>(&Default::default());
}

#[cfg(feature = "flex")]
#[test]
fn cross_entropy_and_its_gradient_equal_burns_on_flex() {
    cross_entropy_equals_burns::<Flex>(&Default::default());
}

#[cfg(feature = "wgpu")]
#[test]
fn cross_entropy_and_its_gradient_equal_burns_on_wgpu() {
    // wgpu runs `kernels::gpu_fused`'s two cross-entropy kernels.
    crate::common::on_wgpu("cross_entropy_on_wgpu", |device| {
        cross_entropy_equals_burns::<burn::backend::Autodiff<burn::backend::Wgpu>>(&device);
    });
}

#[cfg(feature = "wgpu")]
#[test]
fn whole_nets_on_wgpu_give_the_same_logits_and_gradients_as_burns_ops() {
    let _rng = crate::common::rng_lock();
    // wgpu computes conv weight gradients and the evaluation linear with `kernels::gpu`.
    crate::common::on_wgpu("whole_nets_on_wgpu", |device| {
        for arch in ["mlp2", "cnn3", "cnn4"] {
            same_logits_and_gradients_as_burns_ops::<burn::backend::Autodiff<burn::backend::Wgpu>>(arch, &device);
        }
    });
}

/// The conv weight and bias gradients of `grads` (`x`, the weight, the bias, `dy`, the
/// padding: `NetBackend::nn_conv2d_param_grads`'s arguments) against Burn's own, with and without padding, `dy` contiguous and laid out as NHWC (a permuted
/// view, as a GPU convolution's gradient can arrive), on backend `B`.
fn param_grads_equal_burns<B: Backend>(
    device: &B::Device,
    grads: impl Fn(
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
        [usize; 2],
    ) -> (FloatTensor<B>, FloatTensor<B>),
) {
    let prim = |t: &Tensor<B, 4>| t.clone().into_primitive().tensor();
    let normal = Distribution::Normal(0.0, 1.0);
    for (shape, kernel, padding) in [
        ([3, 4, 9, 8], [5, 4, 3, 2], [0, 0]),
        ([2, 3, 12, 12], [6, 3, 5, 5], [1, 2]),
        ([2, 1, 7, 7], [3, 1, 7, 7], [0, 0]),
        ([50, 3, 32, 32], [16, 3, 3, 3], [0, 0]),
    ] {
        let x = Tensor::<B, 4>::random(shape, normal, device);
        let w = Tensor::<B, 4>::random(kernel, normal, device);
        let b = Tensor::<B, 1>::random([kernel[0]], normal, device);
        let [n, o] = [shape[0], kernel[0]];
        let [oh, ow] = [shape[2] + 2 * padding[0] + 1 - kernel[2], shape[3] + 2 * padding[1] + 1 - kernel[3]];
        for nhwc in [false, true] {
            let dy = match nhwc {
                false => Tensor::<B, 4>::random([n, o, oh, ow], normal, device),
                true => Tensor::<B, 4>::random([n, oh, ow, o], normal, device).permute([0, 3, 1, 2]),
            };
            let bias = || b.clone().into_primitive().tensor();
            let (dw, db) = grads(prim(&x), prim(&w), bias(), prim(&dy), padding);
            let (rw, rb) = burn_ops::conv2d_param_grads::<B>(prim(&x), prim(&w), bias(), prim(&dy), padding);
            let t4 = |p| Tensor::<B, 4>::from_primitive(TensorPrimitive::Float(p));
            let t1 = |p| Tensor::<B, 1>::from_primitive(TensorPrimitive::Float(p));
            let (dw, rw) = (t4(dw), t4(rw));
            let case = format!("{shape:?} * {kernel:?} pad {padding:?}{}", if nhwc { ", dy NHWC" } else { "" });
            assert_eq!(dw.dims(), kernel, "weight gradient shape for {case}");
            assert_close(&format!("weight gradient {case}"), &host(dw), &host(rw));
            assert_close(&format!("bias gradient {case}"), &host(t1(db)), &host(t1(rb)));
        }
    }
}

/// `kernels::gpu::conv2d_param_grads` (im2col + a batched product) as [`param_grads_equal_burns`] takes it.
fn im2col_param_grads<B: Backend>(
    x: FloatTensor<B>,
    w: FloatTensor<B>,
    _bias: FloatTensor<B>,
    dy: FloatTensor<B>,
    padding: [usize; 2],
) -> (FloatTensor<B>, FloatTensor<B>) {
    use burn::tensor::TensorMetadata;
    gpu::conv2d_param_grads::<B>(x, w.shape().dims::<4>(), dy, padding)
}

#[test]
fn im2col_weight_gradient_equals_burns_on_ndarray() {
    let _rng = crate::common::rng_lock();
    param_grads_equal_burns::<burn::backend::NdArray>(
        &Default::default(),
        im2col_param_grads::<burn::backend::NdArray>,
    );
}

#[cfg(feature = "wgpu")]
#[test]
fn im2col_weight_gradient_equals_burns_on_wgpu() {
    let _rng = crate::common::rng_lock();
    crate::common::on_wgpu("im2col_weight_gradient_equals_burns", |device| {
        param_grads_equal_burns::<burn::backend::Wgpu>(&device, im2col_param_grads::<burn::backend::Wgpu>);
    });
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_conv_parameter_gradients_equal_burns() {
    // wgpu's own: the im2col weight gradient and `gpu_fused::conv_bias_grad`, one kernel.
    use nnlab::backend::NetBackend;
    type W = burn::backend::Wgpu;
    let _rng = crate::common::rng_lock();
    crate::common::on_wgpu("wgpu_conv_parameter_gradients", |device| {
        param_grads_equal_burns::<W>(&device, W::nn_conv2d_param_grads);
    });
}

/// The forward convolutions a GPU backend can choose (`nnlab::backend::gpu_conv`) against
/// Burn's direct one on backend `B`, with and without padding, cnn4's first layer at an
/// evaluation chunk's size among them: `conv` computes `(x, weight, bias, padding)`.
fn forward_conv_equals_burns<B: Backend>(
    device: &B::Device,
    what: &str,
    tolerance: f32,
    conv: impl Fn(
        burn::tensor::ops::FloatTensor<B>,
        burn::tensor::ops::FloatTensor<B>,
        burn::tensor::ops::FloatTensor<B>,
        [usize; 2],
    ) -> burn::tensor::ops::FloatTensor<B>,
) {
    let prim = |t: &Tensor<B, 4>| t.clone().into_primitive().tensor();
    let normal = Distribution::Normal(0.0, 1.0);
    for (shape, kernel, padding) in [
        ([3, 4, 9, 8], [5, 4, 3, 2], [0, 0]),
        ([2, 3, 12, 12], [6, 3, 5, 5], [1, 2]),
        ([200, 3, 32, 32], [16, 3, 3, 3], [0, 0]),
        ([20, 16, 12, 12], [16, 16, 5, 5], [0, 0]),
    ] {
        let x = Tensor::<B, 4>::random(shape, normal, device);
        let w = Tensor::<B, 4>::random(kernel, normal, device);
        let b = Tensor::<B, 1>::random([kernel[0]], normal, device);
        let expected = burn_conv2d(x.clone(), w.clone(), Some(b.clone()), conv_options(padding));
        let ours = conv(prim(&x), prim(&w), b.into_primitive().tensor(), padding);
        let ours = Tensor::<B, 4>::from_primitive(TensorPrimitive::Float(ours));
        assert_eq!(ours.dims(), expected.dims(), "{what}: output shape for {shape:?} * {kernel:?}");
        let e = relative_error(&host(ours), &host(expected));
        assert!(e < tolerance, "{what} {shape:?} * {kernel:?} pad {padding:?}: relative error {e:e} ≥ {tolerance:e}");
    }
}

#[test]
fn im2col_forward_conv_equals_burns_on_ndarray() {
    let _rng = crate::common::rng_lock();
    forward_conv_equals_burns::<burn::backend::NdArray>(
        &Default::default(),
        "im2col",
        1e-4,
        gpu::conv2d_im2col::<burn::backend::NdArray>,
    );
}

#[cfg(feature = "wgpu")]
#[test]
fn gpu_forward_convs_equal_burns_on_wgpu() {
    let _rng = crate::common::rng_lock();
    crate::common::on_wgpu("gpu_forward_convs_equal_burns", |device| {
        type W = burn::backend::Wgpu;
        forward_conv_equals_burns::<W>(&device, "im2col", 1e-4, gpu::conv2d_im2col::<W>);
        // Where the device has no matrix units (lavapipe) this is the direct convolution.
        // On matrix units f32 may be rounded to TF32 (10-bit mantissa): 1e-2 relative.
        forward_conv_equals_burns::<W>(&device, "implicit GEMM", 1e-2, nnlab::backend::conv2d_implicit_gemm);
    });
}

#[cfg(feature = "cuda")]
#[test]
fn gpu_forward_convs_equal_burns_on_cuda() {
    let _rng = crate::common::rng_lock();
    crate::common::on_cuda("gpu_forward_convs_equal_burns", |device| {
        type C = burn::backend::Cuda;
        forward_conv_equals_burns::<C>(&device, "im2col", 1e-3, gpu::conv2d_im2col::<C>);
        forward_conv_equals_burns::<C>(&device, "implicit GEMM", 1e-2, nnlab::backend::conv2d_implicit_gemm);
    });
}

/// `kernels::gpu::linear_split_k` against Burn's linear: an image batch through a
/// 3 072-input layer (16 slices), a 1 000-input layer (5 slices), a short one (no split),
/// with and without bias, on backend `B`.
fn split_k_linear_equals_burns<B: Backend>(device: &B::Device) {
    let normal = Distribution::Normal(0.0, 1.0);
    for (x_shape, outputs, bias) in
        [(vec![7, 3, 32, 32], 32, true), (vec![9, 1000], 10, false), (vec![4, 64], 10, true)]
    {
        let inputs: usize = x_shape[1..].iter().product();
        let x = Tensor::<B, 2>::random([x_shape[0], inputs], normal, device);
        let w = Tensor::<B, 2>::random([inputs, outputs], normal, device);
        let b = bias.then(|| Tensor::<B, 1>::random([outputs], normal, device));
        let expected = burn::tensor::module::linear(x.clone(), w.clone(), b.clone());
        let x_in = B::float_reshape(x.into_primitive().tensor(), x_shape.clone().into());
        let ours = Tensor::<B, 2>::from_primitive(TensorPrimitive::Float(gpu::linear_split_k::<B>(
            x_in,
            w.into_primitive().tensor(),
            b.map(|b| b.into_primitive().tensor()),
        )));
        assert_eq!(ours.dims(), expected.dims(), "output shape for {x_shape:?}");
        assert_close(&format!("linear of {x_shape:?}"), &host(ours), &host(expected));
    }
}

#[test]
fn split_k_linear_equals_burns_on_ndarray() {
    let _rng = crate::common::rng_lock();
    assert_eq!([3072, 1000, 256, 64, 127].map(gpu::split_k_slices), [16, 5, 2, 1, 1]);
    split_k_linear_equals_burns::<burn::backend::NdArray>(&Default::default());
}

#[cfg(feature = "wgpu")]
#[test]
fn split_k_linear_equals_burns_on_wgpu() {
    let _rng = crate::common::rng_lock();
    crate::common::on_wgpu("split_k_linear_equals_burns", |device| {
        split_k_linear_equals_burns::<burn::backend::Wgpu>(&device);
    });
}

/// One Adam step of many parameter tensors at once (`NetBackend::nn_adam_updates`, on the
/// GPU backends one kernel over all of them) against the same step taken tensor by tensor
/// in Burn's tensor ops (`AdamStep::apply`) on ndarray: the new values and both moments to
/// 1e-6 relative, over two steps (the first from no moments, the second from the first's).
/// 70 tensors, more than one launch takes (at most 64), of sizes 1 to 1 200 and ranks 1, 2
/// and 4, some read through permuted views (a conv weight stored channels last, a
/// transposed gradient), so that each unit must find its own tensor and element.
#[cfg(any(feature = "wgpu", feature = "cuda"))]
fn adam_updates_equal_burns_ops<B: nnlab::backend::NetBackend>(device: &B::Device) {
    use burn::tensor::ops::FloatTensorOps;
    use nnlab::train::AdamStep;
    type N = burn::backend::NdArray;
    let shapes: [&[usize]; 7] = [&[1], &[3], &[257], &[5, 7], &[4, 3, 2, 2], &[16, 3, 5, 5], &[24, 50]];
    let normal = Distribution::Normal(0.0, 1.0);
    // (value, gradient) on the host, per tensor.
    let mut host_tensors = Vec::new();
    for i in 0..70 {
        let shape = shapes[i % shapes.len()].to_vec();
        let n: usize = shape.iter().product();
        let draw = || host(Tensor::<N, 1>::random([n], normal, &Default::default()));
        host_tensors.push((shape, draw(), draw(), draw()));
    }
    // A tensor on `D` from host values, shaped `shape`; where `view` asks, stored in another
    // order and read back through a permuted view (same logical values).
    fn place<D: Backend>(values: &[f32], shape: &[usize], view: bool, device: &D::Device) -> FloatTensor<D> {
        let data = |v: Vec<f32>, s: Vec<usize>| TensorData::new(v, s);
        let t = match (shape.len(), view) {
            (4, true) => {
                // Stored [O, kh, kw, C], read as [O, C, kh, kw].
                let [o, c, kh, kw] = [shape[0], shape[1], shape[2], shape[3]];
                let logical = Tensor::<D, 4>::from_data(data(values.to_vec(), shape.to_vec()), device);
                let stored = logical.permute([0, 2, 3, 1]).into_data();
                let stored = Tensor::<D, 4>::from_data(stored, device);
                assert_eq!(stored.dims(), [o, kh, kw, c]);
                return stored.permute([0, 3, 1, 2]).into_primitive().tensor();
            }
            (2, true) => {
                let logical = Tensor::<D, 2>::from_data(data(values.to_vec(), shape.to_vec()), device);
                let stored = Tensor::<D, 2>::from_data(logical.transpose().into_data(), device);
                return stored.transpose().into_primitive().tensor();
            }
            _ => Tensor::<D, 1>::from_data(data(values.to_vec(), vec![values.len()]), device),
        };
        D::float_reshape(t.into_primitive().tensor(), shape.to_vec().into())
    }
    let back = |t: FloatTensor<B>| {
        host(Tensor::<B, 1>::from_primitive(TensorPrimitive::Float(B::float_reshape(
            t.clone(),
            [burn::tensor::TensorMetadata::shape(&t).num_elements()].into(),
        ))))
    };
    let back_nd = |t: FloatTensor<N>| {
        host(Tensor::<N, 1>::from_primitive(TensorPrimitive::Float(N::float_reshape(
            t.clone(),
            [burn::tensor::TensorMetadata::shape(&t).num_elements()].into(),
        ))))
    };
    let mut ours: Vec<nnlab::train::fused_adam::AdamOutput<B>> = vec![];
    let mut expected: Vec<nnlab::train::fused_adam::AdamOutput<N>> = vec![];
    for time in 1..=2 {
        let step = AdamStep::new(0.9, 0.999, 1e-8, time, 0.01);
        let grads: Vec<Vec<f32>> =
            host_tensors.iter().map(|(_, _, g, h)| if time == 1 { g.clone() } else { h.clone() }).collect();
        let inputs: Vec<nnlab::train::fused_adam::AdamInput<B>> = match time {
            1 => host_tensors
                .iter()
                .zip(&grads)
                .enumerate()
                .map(|(i, ((shape, value, _, _), grad))| {
                    (place::<B>(value, shape, i % 3 == 1, device), place::<B>(grad, shape, i % 5 == 2, device), None)
                })
                .collect(),
            _ => ours
                .drain(..)
                .zip(&host_tensors)
                .zip(&grads)
                .enumerate()
                .map(|(i, ((p, (shape, _, _, _)), grad))| {
                    (p.0, place::<B>(grad, shape, i % 5 == 2, device), Some((p.1, p.2)))
                })
                .collect(),
        };
        let reference: Vec<nnlab::train::fused_adam::AdamInput<N>> = match time {
            1 => host_tensors
                .iter()
                .zip(&grads)
                .map(|((shape, value, _, _), grad)| {
                    (
                        place::<N>(value, shape, false, &Default::default()),
                        place::<N>(grad, shape, false, &Default::default()),
                        None,
                    )
                })
                .collect(),
            _ => expected
                .drain(..)
                .zip(&host_tensors)
                .zip(&grads)
                .map(|((p, (shape, _, _, _)), grad)| {
                    (p.0, place::<N>(grad, shape, false, &Default::default()), Some((p.1, p.2)))
                })
                .collect(),
        };
        ours = B::nn_adam_updates(inputs, &step);
        expected = reference.into_iter().map(|(p, g, m)| step.apply::<N>(p, g, m)).collect();
        assert_eq!(ours.len(), 70, "one result per tensor");
        for (i, (a, b)) in ours.iter().zip(&expected).enumerate() {
            let shape = &host_tensors[i].0;
            for (what, x, y) in [("value", &a.0, &b.0), ("first moment", &a.1, &b.1), ("second moment", &a.2, &b.2)] {
                assert_eq!(
                    burn::tensor::TensorMetadata::shape(x).to_vec(),
                    *shape,
                    "step {time}, tensor {i}: {what}'s shape"
                );
                let e = relative_error(&back(x.clone()), &back_nd(y.clone()));
                assert!(e <= 1e-6, "step {time}, tensor {i} {shape:?}: {what} off by {e:e} (relative)");
            }
        }
    }
}

#[cfg(feature = "wgpu")]
#[test]
fn adam_updates_equal_burns_ops_on_wgpu() {
    // wgpu runs `kernels::gpu_fused::adam_updates`: all tensors in one or two launches.
    let _rng = crate::common::rng_lock();
    crate::common::on_wgpu("adam_updates_on_wgpu", |device| {
        adam_updates_equal_burns_ops::<burn::backend::Wgpu>(&device);
    });
}

#[cfg(feature = "cuda")]
#[test]
fn adam_updates_equal_burns_ops_on_cuda() {
    let _rng = crate::common::rng_lock();
    crate::common::on_cuda("adam_updates_on_cuda", |device| {
        adam_updates_equal_burns_ops::<burn::backend::Cuda>(&device);
    });
}
