//! nnlab's own kernels (conv2d, max pooling and the evaluation linear behind `NetBackend`
//! on flex) against Burn's plain ops: outputs and every gradient equal to 1e-4 relative,
//! for one conv layer with and without padding and for whole nets, evaluated and trained
//! one step.

use crate::common::host;
use burn::module::{AutodiffModule, Module, ModuleMapper, ModuleVisitor, Param};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::module::conv2d as burn_conv2d;
use burn::tensor::{Distribution, Int, Tensor, TensorData};
use nnlab::Activation;
use nnlab::kernels::{TrainBackend, conv_options, conv2d};
use nnlab::model::{ArchSpec, Net};

type Flex = burn::backend::Autodiff<burn::backend::Flex>;
type Nd = burn::backend::Autodiff<burn::backend::NdArray>;

/// Largest |a − b| over the largest |b|: the relative error of `a` as an estimate of `b`.
fn relative_error(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    let scale = b
        .iter()
        .fold(0f32, |m, v| m.max(v.abs()))
        .max(f32::MIN_POSITIVE);
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

fn assert_close(what: &str, a: &[f32], b: &[f32]) {
    let e = relative_error(a, b);
    assert!(e < 1e-4, "{what}: relative error {e:e} ≥ 1e-4");
}

#[test]
fn one_conv_layer_and_its_gradients_equal_burns_conv2d() {
    let _rng = crate::common::rng_lock();
    let device = Default::default();
    for (shape, kernel, padding) in [
        ([3, 4, 9, 8], [5, 4, 3, 2], [0, 0]),
        ([2, 3, 12, 12], [6, 3, 5, 5], [1, 2]),
        ([2, 1, 7, 7], [3, 1, 7, 7], [0, 0]),
    ] {
        let x = Tensor::<Flex, 4>::random(shape, Distribution::Normal(0.0, 1.0), &device)
            .require_grad();
        let w = Tensor::<Flex, 4>::random(kernel, Distribution::Normal(0.0, 1.0), &device)
            .require_grad();
        let b = Tensor::<Flex, 1>::random([kernel[0]], Distribution::Normal(0.0, 1.0), &device)
            .require_grad();
        let ours = conv2d(x.clone(), w.clone(), b.clone(), padding);
        let plain = burn_conv2d(x.clone(), w.clone(), Some(b.clone()), conv_options(padding));
        assert_eq!(
            ours.dims(),
            plain.dims(),
            "output shape at padding {padding:?}"
        );
        assert_close("output", &host(ours.clone()), &host(plain.clone()));
        // A loss that weights every output differently, so a transposed gradient would show.
        let r = Tensor::<Flex, 4>::random(plain.dims(), Distribution::Normal(0.0, 1.0), &device);
        let g_ours = (ours * r.clone()).sum().backward();
        let g_plain = (plain * r).sum().backward();
        for (name, a, b) in [
            ("input gradient", x.grad(&g_ours), x.grad(&g_plain)),
            ("weight gradient", w.grad(&g_ours), w.grad(&g_plain)),
        ] {
            assert_close(
                name,
                &host(a.expect("gradient")),
                &host(b.expect("gradient")),
            );
        }
        assert_close(
            "bias gradient",
            &host(b.grad(&g_ours).unwrap()),
            &host(b.grad(&g_plain).unwrap()),
        );
    }
}

/// Collects every float parameter's gradient, flattened, in module order.
struct GradCollector<'a, B: AutodiffBackend> {
    grads: &'a B::Gradients,
    out: Vec<f32>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for GradCollector<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let g = param
            .val()
            .grad(self.grads)
            .expect("every parameter has a gradient");
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
/// gradient of the cross-entropy loss.
fn logits_and_grads<B: TrainBackend>(net: &Net<B>, device: &B::Device) -> (Vec<f32>, Vec<f32>) {
    let pixels: Vec<f32> = (0..6 * 3 * 32 * 32)
        .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
        .collect();
    let x = Tensor::<B, 4>::from_data(TensorData::new(pixels, [6, 3, 32, 32]), device);
    let y = Tensor::<B, 1, Int>::from_data(TensorData::new(vec![0i64, 3, 9, 1, 1, 7], [6]), device);
    let logits = net.forward(x);
    let loss = CrossEntropyLossConfig::new()
        .init(device)
        .forward(logits.clone(), y);
    let grads = loss.backward();
    let mut collector = GradCollector::<B> {
        grads: &grads,
        out: Vec::new(),
    };
    net.visit(&mut collector);
    (host(logits), collector.out)
}

#[test]
fn whole_nets_give_the_same_logits_and_gradients_as_burns_ops() {
    let _rng = crate::common::rng_lock();
    // Flex runs nnlab's kernels, ndarray Burn's own conv2d, pooling and linear; the same
    // weights go to both. With autodiff (training) and without (evaluation).
    for arch in ["mlp1", "cnn3", "cnn4", "cnn5"] {
        let spec = ArchSpec::parse(arch).unwrap();
        let plain = Net::<Nd>::new(&spec, Activation::Relu, &Default::default()).unwrap();
        let mut values = ValueCollector(Vec::new());
        plain.visit(&mut values);
        let fast = Net::<Flex>::new(&spec, Activation::Relu, &Default::default())
            .unwrap()
            .map(&mut ValueSetter(values.0.into_iter()));
        assert_close(
            &format!("{arch} weights"),
            &host(fast.first_weights().inner()),
            &host(plain.first_weights().inner()),
        );
        let images = Tensor::<burn::backend::NdArray, 4>::random(
            [7, 3, 32, 32],
            Distribution::Normal(0.0, 1.0),
            &Default::default(),
        );
        let eval_plain = host(plain.valid().forward(images.clone()));
        let images =
            Tensor::<burn::backend::Flex, 4>::from_data(images.into_data(), &Default::default());
        assert_close(
            &format!("{arch} evaluation logits"),
            &host(fast.valid().forward(images)),
            &eval_plain,
        );
        let (logits_fast, grads_fast) = logits_and_grads(&fast, &Default::default());
        let (logits_plain, grads_plain) = logits_and_grads(&plain, &Default::default());
        assert_close(&format!("{arch} logits"), &logits_fast, &logits_plain);
        assert_eq!(
            grads_fast.len(),
            spec.param_count(),
            "{arch}: one gradient per parameter"
        );
        assert_close(&format!("{arch} gradients"), &grads_fast, &grads_plain);
    }
}
