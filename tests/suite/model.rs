//! Architectures as data and the training engine: shapes, parameter counts, PyTorch-style
//! initialisation, learning on a fixed batch, recorded gradient norms, SGD at lr 0.

use burn::module::Module;
use burn::tensor::{Distribution, Int, Tensor, TensorData};
use nnlab::Activation;
use nnlab::backend::TrainBackend;
use nnlab::data::{DeviceSet, PreparedSet};
use nnlab::model::{ArchSpec, LayerSpec, Net, parse_arch_list};
use nnlab::train::{DeviceData, Schedule, TrainConfig, train};

type Nd = burn::backend::Autodiff<burn::backend::NdArray>;

/// Parameter counts worked out by hand from the homework's layer lists (and equal to
/// `sum(p.numel() for p in model.parameters())` of the PyTorch reference in benches/).
const EXPECTED_PARAMS: [(&str, usize); 5] =
    [("mlp1", 98_666), ("mlp2", 101_034), ("cnn3", 11_394), ("cnn4", 13_810), ("cnn5", 8_490)];

#[test]
fn builtin_specs_have_the_homework_shapes_and_parameter_counts() {
    let _rng = crate::common::rng_lock();
    let device = Default::default();
    let x = Tensor::<burn::backend::NdArray, 4>::random([4, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device);
    for (name, params) in EXPECTED_PARAMS {
        let spec = ArchSpec::parse(name).unwrap();
        assert_eq!(spec.param_count(), params, "{name} spec count");
        let net = Net::<burn::backend::NdArray>::new(&spec, Activation::Relu, &device).unwrap();
        assert_eq!(net.num_params(), params, "{name} module count");
        assert_eq!(net.forward(x.clone()).dims(), [4, 10], "{name} logits");
    }
    let cnn3 = ArchSpec::parse("cnn3").unwrap();
    assert_eq!(cnn3.notation(), "[Conv-3×3×16, ReLU, Conv-5×5×8, ReLU, MaxPool-2×2, Conv-7×7×16, MaxPool-2×2] + FC10");
    let shapes: Vec<String> = cnn3.shapes().unwrap().iter().map(|s| s.to_string()).collect();
    assert_eq!(shapes, ["16×30×30", "16×30×30", "8×26×26", "8×26×26", "8×13×13", "16×7×7", "16×3×3", "10"]);
}

#[test]
fn compact_and_homework_notations_agree_and_bad_specs_name_the_layer() {
    let _rng = crate::common::rng_lock();
    let a = ArchSpec::from_layers("x", "conv3x3x16,relu,maxpool2,fc32-nobias").unwrap();
    let b = ArchSpec::from_layers("x", "Conv-3×3×16, ReLU, MaxPool-2×2, FC-32 (no bias)").unwrap();
    assert_eq!(a.layers, b.layers);
    assert_eq!(a.layers.last(), Some(&LayerSpec::Fc { out: 10, bias: true }), "FC10 appended");
    assert_eq!(ArchSpec::parse("conv3x3x4,relu,fc10").unwrap().layers.len(), 3, "fc10 not appended twice");
    let err = |s: &str| ArchSpec::parse(s).unwrap_err().to_string();
    let e = err("conv3x3x16,relu,conv31x31x8");
    assert!(e.contains("layer 3 (Conv-31×31×8)") && e.contains("16×30×30"), "{e}");
    let e = err("fc32,conv3x3x8");
    assert!(e.contains("layer 2") && e.contains("need an image"), "{e}");
    let e = err("conv3x3x16,dropout");
    assert!(e.contains("layer 2 'dropout' is not understood"), "{e}");
    let e = err("cnn7");
    assert!(e.contains("unknown architecture") && e.contains("mlp1"), "{e}");
    assert_eq!(parse_arch_list("all").unwrap().len(), 5);
    assert_eq!(
        parse_arch_list("mlp1,cnn4").unwrap().iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
        ["mlp1", "cnn4"]
    );
    assert_eq!(parse_arch_list("cnn3; conv3x3x8,relu").unwrap().len(), 2);
}

/// Nets built with `Net::seeded` on concurrent threads (as `--jobs` runs build theirs) have the
/// weights of the same seeds built one after the other: no thread takes part of another's
/// random sequence.
#[test]
fn seeded_nets_built_on_concurrent_threads_equal_those_built_in_turn() {
    let _rng = crate::common::rng_lock();
    type B = burn::backend::NdArray;
    let spec = ArchSpec::parse("fc64,relu,fc32,relu").unwrap();
    let build = |seed: u64| all_weights(&Net::<B>::seeded(&spec, Activation::Relu, seed, &Default::default()).unwrap());
    let alone: Vec<Vec<f32>> = (0..4).map(build).collect();
    assert_ne!(alone[0], alone[1], "different seeds, different nets");
    std::thread::scope(|scope| {
        for (seed, expected) in alone.iter().enumerate() {
            scope.spawn(move || {
                for round in 0..25 {
                    assert!(
                        build(seed as u64) == *expected,
                        "seed {seed}, round {round}: another thread's draws got in"
                    );
                }
            });
        }
    });
}

#[test]
fn initialisation_is_pytorch_default_uniform_one_over_sqrt_fan_in() {
    let _rng = crate::common::rng_lock();
    let device = Default::default();
    let net = Net::<burn::backend::NdArray>::new(&ArchSpec::parse("cnn4").unwrap(), Activation::Relu, &device).unwrap();
    let w = crate::common::host(net.first_weights());
    let bound = 1.0 / (3.0f32 * 3.0 * 3.0).sqrt(); // fan_in of Conv-3×3×16 on 3 channels
    assert!(w.iter().all(|v| v.abs() <= bound), "weights within ±1/√27");
    let var = w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32;
    let expected = bound * bound / 3.0; // variance of U(−b, b)
    assert!((var - expected).abs() < 0.25 * expected, "variance {var} vs {expected}");
}

/// A tiny device dataset: `n` random images with random labels, the same set for train,
/// validation and test.
fn tiny_data<B: burn::tensor::backend::Backend>(n: usize, device: &B::Device) -> DeviceData<B> {
    let mut rng_state = 1u64;
    let mut next = || {
        rng_state = rng_state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (rng_state >> 33) as f32 / (1u64 << 31) as f32
    };
    let images: Vec<f32> = (0..n * 3072).map(|_| next() * 2.0 - 1.0).collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    let set = PreparedSet { images, labels };
    DeviceData {
        train: DeviceSet::new(set.clone(), device),
        val: DeviceSet::new(set.clone(), device),
        test: DeviceSet::new(set, device),
    }
}

/// The nets of `loss_falls_on_a_fixed_batch`: an MLP and a CNN.
#[cfg(feature = "flex")]
const LOSS_NETS: [&str; 2] = ["mlp1", "cnn4"];
/// [`LOSS_NETS`] on ndarray, with a narrower CNN: Burn's ndarray backward of a convolution
/// indexes one element at a time (cnn4 took 4.5 s a step at batch 20, the test 137 s).
const LOSS_NETS_NDARRAY: [&str; 2] = ["mlp1", "conv3x3x8,relu,maxpool2,conv3x3x8,relu,maxpool2"];

fn loss_falls_on_a_fixed_batch<B: TrainBackend>(archs: [&str; 2], device: &B::Device) {
    let data = tiny_data::<B::InnerBackend>(20, device);
    for arch in archs {
        let config =
            TrainConfig { epochs: 30, batch_size: 20, record_every: 1, record_val: false, ..TrainConfig::default() };
        let out =
            train::<B>(&ArchSpec::parse(arch).unwrap(), Activation::Relu, &config, &data, device, &mut |_| {}).unwrap();
        let (first, last) = (out.curves.loss[0], *out.curves.loss.last().unwrap());
        assert!((first - 10f64.ln()).abs() < 0.3, "{arch}: initial loss {first} should be near ln 10");
        assert!(last < 0.8 * first, "{arch}: loss {first} -> {last} after 30 Adam steps on one batch");
        assert_eq!(out.steps, 30);
        assert!(out.test_acc > 0.3, "{arch}: memorised batch accuracy {}", out.test_acc);
    }
}

#[test]
fn a_few_steps_reduce_the_loss_on_ndarray() {
    let _rng = crate::common::rng_lock();
    loss_falls_on_a_fixed_batch::<Nd>(LOSS_NETS_NDARRAY, &Default::default());
}

#[cfg(feature = "flex")]
#[test]
fn a_few_steps_reduce_the_loss_on_flex() {
    let _rng = crate::common::rng_lock();
    loss_falls_on_a_fixed_batch::<burn::backend::Autodiff<burn::backend::Flex>>(LOSS_NETS, &Default::default());
}

/// A run stopped part-way (here: a panic at the first record point of epoch 3, as a killed
/// process would stop) and started again with the same checkpoint directory goes on from the
/// end of epoch 2 and ends exactly where the uninterrupted run ends: the same curves, steps,
/// test accuracy and first-layer weights (ndarray is deterministic, and nothing but the seed
/// and the epoch decides a batch). Adam's moments and step count are part of the checkpoint:
/// resuming with a fresh Adam would change every step after the break. A checkpoint of
/// another configuration is not resumed from; a broken one is an error naming its directory.
fn an_interrupted_run_resumes_from_its_last_epoch<B: TrainBackend>(device: &B::Device) {
    use nnlab::train::{Checkpoints, train_model, train_resumable};
    let data = tiny_data::<B::InnerBackend>(40, device);
    for arch in ["mlp2", "conv3x3x4,relu,maxpool2,fc16,relu"] {
        let arch = ArchSpec::parse(arch).unwrap();
        let config = TrainConfig { epochs: 4, batch_size: 10, record_every: 3, ..TrainConfig::default() };
        let (whole, _) = train_model::<B>(&arch, Activation::Relu, &config, &data, device, &mut |_| {}).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let checkpoints = Checkpoints::new(dir.path().join("run"), &(&arch, &config)).unwrap();
        let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            train_resumable::<B>(&arch, Activation::Relu, &config, &data, device, &checkpoints, &mut |p| {
                assert!(p.epoch < 3, "stopped in epoch 3");
            })
        }));
        assert!(crashed.is_err(), "{}: the run was to be stopped in epoch 3", arch.name);
        let at = checkpoints.saved().expect("a checkpoint after epoch 2");
        assert_eq!((at.epochs, at.step), (2, 8), "{}: where the checkpoint stands", arch.name);
        let other = TrainConfig { seed: 1, ..config.clone() };
        assert!(Checkpoints::new(dir.path().join("run"), &(&arch, &other)).unwrap().saved().is_none());

        let mut first_step = None;
        let (resumed, _) =
            train_resumable::<B>(&arch, Activation::Relu, &config, &data, device, &checkpoints, &mut |p| {
                first_step.get_or_insert(p.step);
            })
            .unwrap();
        assert!(
            first_step > Some(8),
            "{}: the resumed run reported step {first_step:?} first: it started over",
            arch.name
        );
        let mut resumed_curves = resumed.curves.clone();
        resumed_curves.seconds = whole.curves.seconds.clone();
        assert_eq!(resumed_curves, whole.curves, "{}: the resumed run's curves differ", arch.name);
        assert_eq!((resumed.steps, resumed.test_acc), (whole.steps, whole.test_acc), "{}", arch.name);
        assert_eq!(resumed.first_weights, whole.first_weights, "{}: the trained weights differ", arch.name);
        assert!(resumed.curves.seconds.windows(2).all(|w| w[0] <= w[1]), "the clock goes on after the break");

        // A checkpoint whose weights are not a record is one error naming its directory.
        let last = checkpoints.saved().expect("the checkpoint stays after the run").epochs;
        std::fs::write(dir.path().join(format!("run/net-epoch{last}.mpk")), b"not a record").unwrap();
        let err = train_resumable::<B>(&arch, Activation::Relu, &config, &data, device, &checkpoints, &mut |_| {})
            .expect_err("a broken checkpoint is an error")
            .to_string();
        assert!(err.contains("cannot be read") && err.contains("delete that directory"), "{err}");
        assert!(err.contains(&dir.path().join("run").display().to_string()), "{err}");
    }
}

#[test]
fn an_interrupted_run_resumes_from_its_last_epoch_on_ndarray() {
    let _rng = crate::common::rng_lock();
    an_interrupted_run_resumes_from_its_last_epoch::<Nd>(&Default::default());
}

#[cfg(feature = "flex")]
#[test]
fn an_interrupted_run_resumes_from_its_last_epoch_on_flex() {
    let _rng = crate::common::rng_lock();
    an_interrupted_run_resumes_from_its_last_epoch::<burn::backend::Autodiff<burn::backend::Flex>>(&Default::default());
}

/// A checkpoint written on one backend is not taken up on another with the same identity:
/// the optimiser state does not fit (flex and ndarray run Burn's Adam, but as different
/// types), and resuming is one error saying so, never a silent restart of Adam's moments.
#[cfg(feature = "flex")]
#[test]
fn a_checkpoint_of_another_backend_is_an_error() {
    use nnlab::train::{Checkpoints, train_resumable};
    type Fx = burn::backend::Autodiff<burn::backend::Flex>;
    let _rng = crate::common::rng_lock();
    let arch = ArchSpec::parse("mlp1").unwrap();
    let config = TrainConfig { epochs: 2, batch_size: 10, record_every: 3, ..TrainConfig::default() };
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = Checkpoints::new(dir.path().join("run"), &(&arch, &config)).unwrap();
    let data = tiny_data::<burn::backend::NdArray>(20, &Default::default());
    train_resumable::<Nd>(&arch, Activation::Relu, &config, &data, &Default::default(), &checkpoints, &mut |_| {})
        .unwrap();
    assert_eq!(checkpoints.saved().map(|at| at.epochs), Some(1));
    let data = tiny_data::<burn::backend::Flex>(20, &Default::default());
    let err =
        train_resumable::<Fx>(&arch, Activation::Relu, &config, &data, &Default::default(), &checkpoints, &mut |_| {})
            .expect_err("another backend's checkpoint")
            .to_string();
    assert!(err.contains("another backend"), "{err}");
}

#[cfg(feature = "wgpu")]
#[test]
fn a_training_step_runs_on_wgpu() {
    let _rng = crate::common::rng_lock();
    type W = burn::backend::Autodiff<burn::backend::Wgpu>;
    crate::common::on_wgpu("a_training_step_runs_on_wgpu", |device| {
        let data = tiny_data::<burn::backend::Wgpu>(20, &device);
        let config = TrainConfig { epochs: 3, batch_size: 10, record_every: 1, ..TrainConfig::default() };
        let out = train::<W>(&ArchSpec::parse("cnn4").unwrap(), Activation::Relu, &config, &data, &device, &mut |_| {})
            .unwrap();
        assert_eq!(out.steps, 6);
        assert!(out.curves.loss.iter().all(|l| l.is_finite()));
        assert_eq!(out.curves.val_acc.len(), 6);
    });
}

#[test]
fn recorded_gradient_norm_equals_the_norm_of_the_gradient_tensor() {
    let _rng = crate::common::rng_lock();
    let device = Default::default();
    let data = tiny_data::<burn::backend::NdArray>(50, &device);
    for arch in ["mlp2", "cnn3"] {
        let spec = ArchSpec::parse(arch).unwrap();
        // SGD at lr 0: one step records the gradient norm and must not move any weight.
        let config = TrainConfig { epochs: 1, record_grad: true, seed: 5, ..TrainConfig::sgd(0.0) };
        let out = train::<Nd>(&spec, Activation::Sigmoid, &config, &data, &device, &mut |_| {}).unwrap();
        assert_eq!(out.curves.grad_norm.len(), 1);

        // Independently: the same initial model (same seed), the same batch, autodiff by hand.
        let net = Net::<Nd>::seeded(&spec, Activation::Sigmoid, 5, &device).unwrap();
        let initial = crate::common::host(net.first_weights());
        assert_eq!(out.first_weights.values, initial, "{arch}: SGD at lr 0 changed the weights");
        let order = nnlab::data::batches::epoch_order(50, 5, 0);
        let idx = Tensor::<burn::backend::NdArray, 1, Int>::from_data(TensorData::new(order, [50]), &device);
        let (x, y) = data.train.gather(idx);
        let logits = net.forward(Tensor::from_inner(x));
        let loss = burn::nn::loss::CrossEntropyLossConfig::new().init(&device).forward(logits, Tensor::from_inner(y));
        let grads = loss.backward();
        let g: Vec<f32> = match net.first_weight_param() {
            nnlab::model::net::FirstWeight::Conv(w) => crate::common::host(w.val().grad(&grads).unwrap()),
            nnlab::model::net::FirstWeight::Fc(w) => crate::common::host(w.val().grad(&grads).unwrap()),
        };
        let norm = g.iter().map(|&v| (v as f64).powi(2)).sum::<f64>().sqrt();
        let recorded = out.curves.grad_norm[0];
        assert!(norm > 1e-6, "{arch}: gradient is zero");
        assert!((recorded - norm).abs() <= 1e-4 * norm, "{arch}: recorded {recorded}, direct {norm}");
    }
}

#[test]
fn schedule_switches_at_exactly_the_requested_steps() {
    let _rng = crate::common::rng_lock();
    let s = Schedule::piecewise(vec![0.1, 0.01, 0.001], vec![3, 7]).unwrap();
    let lrs: Vec<f64> = (0..9).map(|k| s.lr_at(k)).collect();
    assert_eq!(lrs, [0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.01, 0.001, 0.001]);
    // And the trainer uses it: the recorded lr switches at the same steps.
    let device = Default::default();
    let data = tiny_data::<burn::backend::NdArray>(20, &device);
    let config = TrainConfig {
        epochs: 9,
        batch_size: 20,
        record_every: 1,
        record_val: false,
        schedule: s.clone(),
        ..TrainConfig::sgd(0.1)
    };
    let out =
        train::<Nd>(&ArchSpec::parse("mlp1").unwrap(), Activation::Relu, &config, &data, &device, &mut |_| {}).unwrap();
    assert_eq!(out.curves.lr, lrs);
    // As Burn's LrScheduler: call k gives the rate nnlab's loop used at step k, and its
    // record resumes the sequence where it was saved.
    use burn::lr_scheduler::LrScheduler;
    let mut burn_side = s.scheduler();
    let driven: Vec<f64> = (0..out.steps).map(|_| burn_side.step()).collect();
    assert_eq!(driven, out.curves.lr);
    let mut first = s.scheduler();
    (0..5).for_each(|_| {
        first.step();
    });
    let record = first.to_record::<burn::backend::NdArray>();
    let mut resumed = s.scheduler().load_record::<burn::backend::NdArray>(record);
    assert_eq!((0..4).map(|_| resumed.step()).collect::<Vec<_>>(), lrs[5..9]);
    assert!(Schedule::piecewise(vec![0.1, 0.01], vec![]).is_err());
    assert!(Schedule::piecewise(vec![0.1, 0.01, 0.001], vec![5, 5]).is_err());
}

#[test]
fn divergence_is_recorded_not_a_crash() {
    let _rng = crate::common::rng_lock();
    let device = Default::default();
    // One step per epoch, then four: records are read back at each epoch's end, one or four at a time.
    for (images, epochs) in [(50, 20), (200, 5)] {
        let data = tiny_data::<burn::backend::NdArray>(images, &device);
        let config = TrainConfig { epochs, record_every: 1, ..TrainConfig::sgd(1e12) };
        let out =
            train::<Nd>(&ArchSpec::parse("mlp1").unwrap(), Activation::Relu, &config, &data, &device, &mut |_| {})
                .unwrap();
        assert!(out.diverged, "lr 1e12 should diverge: {:?}", out.curves.loss);
        assert!(out.steps < 20 && out.test_acc.is_nan());
        // The curves stop at the first non-finite loss, wherever the loop read values back:
        // every record before it is finite, it is the last, and training stopped right after it.
        let loss = &out.curves.loss;
        let first_bad = loss.iter().position(|l| !l.is_finite()).expect("a non-finite loss");
        assert_eq!(first_bad, loss.len() - 1, "records continue past divergence: {loss:?}");
        assert_eq!(out.steps, out.curves.step[first_bad] + 1);
        for curve in [&out.curves.train_acc, &out.curves.lr, &out.curves.seconds] {
            assert_eq!(curve.len(), loss.len());
        }
        // Validation is recorded at every record point but the diverged one.
        assert_eq!(out.curves.val_acc.len(), loss.len() - 1);
    }
}

/// Burn's `Learner` drives nnlab's `Net` through the same step as nnlab's loop (#17): one
/// epoch of burn-train's `SupervisedTraining` (Adam, constant rate, unshuffled batches from
/// Burn's `DataLoader`) ends with the weights of nnlab's `train_step` over the same batches.
#[cfg(feature = "learner")]
#[test]
fn burn_learner_takes_the_same_steps_as_nnlabs_loop() {
    use burn::data::dataloader::DataLoaderBuilder;
    use burn::module::AutodiffModule;
    use burn::train::{Learner, SupervisedTraining};
    use nnlab::data::PreparedSet;
    use nnlab::data::dataset::{CifarBatcher, CifarDataset};
    use nnlab::model::{ArchSpec, Net};
    use nnlab::train::{StepRecord, pytorch_adam, train_step};
    type A = burn::backend::Autodiff<burn::backend::NdArray>;
    type I = burn::backend::NdArray;
    let _guard = crate::common::rng_lock();
    let n = 60;
    let set = PreparedSet {
        images: (0..n * 3072).map(|i| ((i * 7919 % 1000) as f32 / 500.0) - 1.0).collect(),
        labels: (0..n).map(|i| (i % 10) as u8).collect(),
    };
    let device = Default::default();
    let arch = ArchSpec::parse("conv3x3x4,relu,maxpool2,fc16,relu").unwrap();
    let fresh = || Net::<A>::seeded(&arch, nnlab::Activation::Relu, 7, &device).unwrap();
    let loader = || {
        DataLoaderBuilder::<A, _, _>::new(CifarBatcher)
            .batch_size(20)
            .num_workers(1)
            .build(CifarDataset::new(set.clone()))
    };
    let valid = DataLoaderBuilder::<I, _, _>::new(CifarBatcher).batch_size(20).build(CifarDataset::new(set.clone()));
    let schedule = nnlab::train::Schedule::constant(1e-3);
    let dir = tempfile::tempdir().unwrap();
    let learner = Learner::new(fresh(), pytorch_adam().init(), schedule.scheduler());
    let by_burn = SupervisedTraining::new(dir.path(), loader(), valid).num_epochs(1).launch(learner).model;

    let mut model = fresh();
    let mut optim = pytorch_adam().init();
    for batch in loader().iter() {
        (model, _) = train_step(model, &mut optim, batch.images, batch.labels, 1e-3, StepRecord::default());
    }
    let (a, b) = (all_weights(&by_burn), all_weights(&model.valid()));
    assert_eq!(a.len(), b.len());
    let d = crate::common::max_abs_diff(&a, &b);
    assert!(d < 1e-5, "Learner's weights differ from nnlab's loop by {d}");
}

/// A small CNN and a small MLP, for the optimiser tests.
const OPTIMISED_NETS: [&str; 2] = ["conv3x3x4,relu,maxpool2,conv3x3x6,relu,fc16,relu", "fc32,relu,fc16,relu"];

/// Images and labels of one batch.
type Batch<B> = (Tensor<B, 4>, Tensor<B, 1, Int>);

/// A freshly drawn net of `spec` (seed 11) and six batches of 8 random images.
fn optimiser_start<B: TrainBackend>(spec: &str, device: &B::Device) -> (Net<B>, Vec<Batch<B>>) {
    let arch = ArchSpec::parse(spec).unwrap();
    let start = Net::<B>::seeded(&arch, Activation::Relu, 11, device).unwrap();
    let batches = (0..6)
        .map(|k| {
            let x = Tensor::<B, 4>::random([8, 3, 32, 32], Distribution::Normal(0.0, 1.0), device);
            let y = Tensor::<B, 1, Int>::from_data(
                TensorData::from((0..8).map(|i| ((i * 3 + k) % 10) as i64).collect::<Vec<_>>().as_slice()),
                device,
            );
            (x, y)
        })
        .collect();
    (start, batches)
}

/// Steps `first..` of `batches` through nnlab's training step with `optim` (rate 1e-2 / (k + 1)
/// at step k); the losses and the net after.
fn optimise<B: TrainBackend, O: burn::optim::Optimizer<Net<B>, B>>(
    mut model: Net<B>,
    optim: &mut O,
    batches: &[Batch<B>],
    first: usize,
) -> (Vec<f32>, Net<B>) {
    use nnlab::train::{StepRecord, train_step};
    let record = StepRecord { loss_and_accuracy: true, first_grad_norm: false };
    let mut losses = vec![];
    for (k, (x, y)) in batches.iter().enumerate().skip(first) {
        let lr = 1e-2 / (k + 1) as f64;
        let (next, out) = train_step(model, optim, x.clone(), y.clone(), lr, record);
        model = next;
        losses.extend(crate::common::host(out.loss.unwrap()));
    }
    (losses, model)
}

/// Every weight of `model` (on any backend, autodiff or not), in visiting order.
fn all_weights<B: burn::tensor::backend::Backend>(model: &Net<B>) -> Vec<f32> {
    struct Collect<'a>(&'a mut Vec<f32>);
    impl<I: burn::tensor::backend::Backend> burn::module::ModuleVisitor<I> for Collect<'_> {
        fn visit_float<const D: usize>(&mut self, p: &burn::module::Param<burn::tensor::Tensor<I, D>>) {
            self.0.extend(crate::common::host(p.val()));
        }
    }
    let mut v = Vec::new();
    model.visit(&mut Collect(&mut v));
    v
}

/// nnlab's Adam as one fused update per parameter ([`nnlab::train::FusedAdam`], what the loop runs
/// on the GPU backends) against Burn's `Adam` with the same settings, through nnlab's one
/// training step: over six steps with their own batches and a falling rate, the losses at
/// every step and the weights after agree to 1e-6 relative (the arithmetic is Burn's,
/// operation for operation), for a CNN and an MLP, on `B`.
fn fused_adam_takes_burns_adam_steps<B: TrainBackend>(device: &B::Device) {
    use nnlab::train::{FusedAdam, pytorch_adam};
    for spec in OPTIMISED_NETS {
        let (start, batches) = optimiser_start::<B>(spec, device);
        let (burn_losses, by_burn) = optimise(start.clone(), &mut pytorch_adam().init(), &batches, 0);
        let (fused_losses, by_fused) = optimise(start.clone(), &mut FusedAdam::<B>::pytorch(), &batches, 0);
        let (a, b) = (all_weights(&by_burn), all_weights(&by_fused));
        let scale = a.iter().fold(0f32, |m, v| m.max(v.abs()));
        let moved = crate::common::max_abs_diff(&a, &all_weights(&start));
        assert!(moved > 1e-3, "{spec}: six steps moved no weight ({moved})");
        let d = crate::common::max_abs_diff(&a, &b);
        assert!(d <= 1e-6 * scale, "{spec}: FusedAdam's weights differ from Burn's Adam's by {d} (scale {scale})");
        let dl = crate::common::max_abs_diff(&burn_losses, &fused_losses);
        assert!(dl <= 1e-6, "{spec}: losses differ by {dl}: {burn_losses:?} vs {fused_losses:?}");
    }
}

/// Each kind of [`nnlab::train::NetOptimizer`] (Burn's Adam, fused Adam, SGD with
/// momentum) saved after three steps and loaded into a fresh one continues as the original
/// would: the last three steps give the same losses and weights as six steps without a break.
/// A fresh optimiser without the record takes different steps (moments and step count lost),
/// so the comparison can fail.
#[test]
fn an_optimiser_loaded_from_its_record_continues_where_it_stopped() {
    use burn::optim::Optimizer;
    use nnlab::train::{FusedAdam, NetOptimizer, OptimizerConfig};
    type B = burn::backend::Autodiff<burn::backend::NdArray>;
    let _guard = crate::common::rng_lock();
    let device = Default::default();
    type Fresh = fn() -> NetOptimizer<B, Net<B>>;
    let kinds: [(&str, Fresh); 3] = [
        ("Burn's Adam", || OptimizerConfig::Adam.init()),
        ("fused Adam", || NetOptimizer::FusedAdam(FusedAdam::pytorch())),
        ("SGD with momentum", || OptimizerConfig::Sgd { momentum: 0.9 }.init()),
    ];
    for spec in OPTIMISED_NETS {
        let (start, batches) = optimiser_start::<B>(spec, &device);
        for (name, fresh) in kinds {
            let (whole_losses, whole) = optimise(start.clone(), &mut fresh(), &batches, 0);
            let mut first = fresh();
            let (_, halfway) = optimise(start.clone(), &mut first, &batches[..3], 0);
            let mut resumed = fresh().load_record(first.to_record());
            let (resumed_losses, after) = optimise(halfway.clone(), &mut resumed, &batches, 3);
            let (forgot_losses, _) = optimise(halfway, &mut fresh(), &batches, 3);
            let d = crate::common::max_abs_diff(&all_weights(&whole), &all_weights(&after));
            assert!(d <= 1e-6, "{spec}, {name}: resumed weights differ by {d}");
            let dl = crate::common::max_abs_diff(&whole_losses[3..], &resumed_losses);
            assert!(dl <= 1e-6, "{spec}, {name}: resumed losses differ by {dl}");
            let df = crate::common::max_abs_diff(&whole_losses[5..], &forgot_losses[2..]);
            assert!(df > 1e-6, "{spec}, {name}: a fresh optimiser took the same steps ({df}): the check is blind");
        }
    }
}

#[test]
fn fused_adam_takes_burns_adam_steps_on_ndarray() {
    let _guard = crate::common::rng_lock();
    fused_adam_takes_burns_adam_steps::<burn::backend::Autodiff<burn::backend::NdArray>>(&Default::default());
}

#[cfg(feature = "flex")]
#[test]
fn fused_adam_takes_burns_adam_steps_on_flex() {
    let _guard = crate::common::rng_lock();
    fused_adam_takes_burns_adam_steps::<burn::backend::Autodiff<burn::backend::Flex>>(&Default::default());
}

#[cfg(feature = "wgpu")]
#[test]
fn fused_adam_takes_burns_adam_steps_on_wgpu() {
    let _guard = crate::common::rng_lock();
    crate::common::on_wgpu("fused_adam_takes_burns_adam_steps", |device| {
        fused_adam_takes_burns_adam_steps::<burn::backend::Autodiff<burn::backend::Wgpu>>(&device);
    });
}
