//! The scratch XOR MLP: its hand-written backward pass against Burn's autodiff, its
//! training, and the `xor` study's files.

use crate::common::{host, max_abs_diff};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Distribution, Tensor};
use nnlab::Activation;
use nnlab::xor::{ScratchMlp, XorTrainConfig, train_xor};

/// Hand-written gradients of L = ½ Σ (t − y)² equal autodiff's, to 1e-5, for each activation.
fn backward_matches_autodiff<B: AutodiffBackend>(device: &B::Device) {
    B::seed(device, 7);
    for act in Activation::ALL {
        let x = Tensor::<B::InnerBackend, 2>::random([64, 2], Distribution::Normal(0.0, 1.0), device);
        let t = Tensor::<B::InnerBackend, 2>::random([64, 1], Distribution::Uniform(0.0, 1.0), device)
            .greater_elem(0.5)
            .float();
        let mut m = ScratchMlp::<B::InnerBackend>::new(2, 4, 1, act, 3, device);
        // Non-zero biases so their gradients are exercised fully.
        m.b1 = Tensor::random([1, 4], Distribution::Normal(0.0, 0.5), device);
        m.b2 = Tensor::random([1, 1], Distribution::Normal(0.0, 0.5), device);

        let cache = m.forward(x.clone());
        let manual = m.backward(x.clone(), t.clone(), &cache);

        let ad = ScratchMlp::<B> {
            w1: Tensor::from_inner(m.w1.clone()).require_grad(),
            b1: Tensor::from_inner(m.b1.clone()).require_grad(),
            w2: Tensor::from_inner(m.w2.clone()).require_grad(),
            b2: Tensor::from_inner(m.b2.clone()).require_grad(),
            activation: act,
        };
        let y = ad.predict(Tensor::from_inner(x));
        let loss = (Tensor::<B, 2>::from_inner(t) - y).powi_scalar(2).sum().mul_scalar(0.5);
        let grads = loss.backward();
        for (name, hand, param) in
            [("W1", manual.w1, &ad.w1), ("b1", manual.b1, &ad.b1), ("W2", manual.w2, &ad.w2), ("b2", manual.b2, &ad.b2)]
        {
            let auto = host(param.grad(&grads).expect("parameter has a gradient"));
            let hand = host(hand);
            let diff = max_abs_diff(&hand, &auto);
            let scale = auto.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            assert!(scale > 1e-3 || act == Activation::Relu, "{act} {name}: gradient is all but zero");
            assert!(
                diff <= 1e-5 * scale.max(1.0),
                "{act} {name}: hand-written gradient differs from autodiff by {diff}"
            );
        }
    }
}

#[test]
fn backward_equals_autodiff_on_ndarray() {
    let _rng = crate::common::rng_lock();
    backward_matches_autodiff::<burn::backend::Autodiff<burn::backend::NdArray>>(&Default::default());
}

#[cfg(feature = "wgpu")]
#[test]
fn backward_equals_autodiff_on_wgpu() {
    let _rng = crate::common::rng_lock();
    crate::common::on_wgpu("backward_equals_autodiff", |device| {
        backward_matches_autodiff::<burn::backend::Autodiff<burn::backend::Wgpu>>(&device);
    });
}

#[test]
fn tanh_mlp_learns_xor_with_per_sample_updates() {
    let _rng = crate::common::rng_lock();
    type B = burn::backend::NdArray;
    // Per-sample updates converge in far fewer epochs than the homework's full batch.
    let config = XorTrainConfig {
        activation: Activation::Tanh,
        mode: nnlab::xor::XorMode::Sample,
        epochs: 30,
        lr: 0.05,
        record_every: 5,
        seed: 1,
        ..XorTrainConfig::default()
    };
    let (run, _) = train_xor::<B>(&config, "ndarray", &Default::default(), |_| {}).unwrap();
    assert!(!run.diverged);
    assert!(run.val_accuracy >= 0.9, "val accuracy {}", run.val_accuracy);
    let first = run.loss_curve.first().copied().unwrap();
    let last = run.loss_curve.last().copied().unwrap();
    assert!(last < first, "loss did not fall: {first} -> {last}");
}

#[test]
fn data_labels_follow_xor_of_cluster_signs() {
    let _rng = crate::common::rng_lock();
    let cfg = nnlab::xor::XorDataConfig { train_samples: 400, val_samples: 40, noise_std: 0.1 };
    let (train, val) = cfg.generate(5);
    assert_eq!((train.len(), val.len()), (400, 40));
    for (p, &l) in train.points.chunks(2).zip(&train.labels) {
        let expected = if (p[0] > 0.0) != (p[1] > 0.0) { 1.0 } else { 0.0 };
        assert_eq!(l, expected, "point {p:?}");
    }
    // Seeded: the same seed gives the same data, another seed different data.
    assert_eq!(cfg.generate(5).0, train);
    assert_ne!(cfg.generate(6).0, train);
}

#[test]
fn divergent_run_is_reported_not_a_crash() {
    let _rng = crate::common::rng_lock();
    type B = burn::backend::NdArray;
    let config = XorTrainConfig {
        activation: Activation::Relu,
        epochs: 300,
        lr: 1e30,
        record_every: 1,
        ..XorTrainConfig::default()
    };
    let (run, _) = train_xor::<B>(&config, "ndarray", &Default::default(), |_| {}).unwrap();
    assert!(run.diverged, "lr 1e30 should diverge; loss curve {:?}", &run.loss_curve[..run.loss_curve.len().min(5)]);
    let json = serde_json::to_string(&run).unwrap();
    let back: nnlab::xor::XorRun = serde_json::from_str(&json).unwrap();
    assert!(back.diverged && back.loss_curve.last().unwrap().is_nan());
}
