//! Stacked members (`nnlab::model::stacked`): K nets trained as one net train exactly as
//! the K nets do alone, each with its own batch — the reference is nnlab's one training step
//! on each net separately.

use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Int, Tensor};
use nnlab::Activation;
use nnlab::backend::TrainBackend;
use nnlab::model::stacked::{StackedNet, train_step_stacked};
use nnlab::model::{ArchSpec, Net};
use nnlab::train::pytorch_adam;
use nnlab::train::{StepRecord, train_step};

fn to_vec<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().convert::<f32>().to_vec().unwrap()
}

fn close(a: &[f32], b: &[f32], tol: f32, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol * (1.0 + y.abs()), "{what}[{i}]: stacked {x} vs alone {y}");
    }
}

/// Three members of each of `nets`, three Adam steps on
/// a different random batch per member: every member's loss at every step and its logits
/// after the last equal its net's trained alone.
fn stacked_members_train_as_separate_nets<B: TrainBackend>(device: B::Device, nets: &[(&str, Activation)], tol: f32) {
    let _rng = crate::common::rng_lock();
    let (k, n) = (3, 4);
    for &(name, activation) in nets {
        let spec = ArchSpec::parse(name).unwrap();
        let mut nets: Vec<Net<B>> =
            (0..k as u64).map(|s| Net::seeded(&spec, activation, s, &device).unwrap()).collect();
        let mut stacked = StackedNet::from_members(&nets).unwrap();
        B::seed(&device, 99);
        let images = Tensor::<B, 5>::random([k, n, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device);
        let labels = Tensor::<B, 2, Int>::random([k, n], Distribution::Uniform(0.0, 10.0), &device);
        let member = |m: usize| {
            let x: Tensor<B, 4> = images.clone().narrow(0, m, 1).reshape([n, 3, 32, 32]);
            let y: Tensor<B, 1, Int> = labels.clone().narrow(0, m, 1).reshape([n]);
            (x, y)
        };
        let mut optim = pytorch_adam().init();
        let mut optims: Vec<_> = (0..k).map(|_| pytorch_adam().init::<B, Net<B>>()).collect();
        let record = StepRecord { loss_and_accuracy: true, first_grad_norm: false };
        for step in 0..3 {
            let (next, losses) = train_step_stacked(stacked, &mut optim, images.clone(), labels.clone(), 1e-2);
            stacked = next;
            let mut alone = Vec::new();
            for (m, (net, opt)) in nets.iter_mut().zip(&mut optims).enumerate() {
                let (x, y) = member(m);
                let (next, out) = train_step(net.clone(), opt, x, y, 1e-2, record);
                *net = next;
                alone.extend(to_vec(out.loss.unwrap()));
            }
            close(&to_vec(losses), &alone, tol, &format!("{name} loss at step {step}"));
        }
        let logits = stacked.forward(images.clone());
        for (m, net) in nets.iter().enumerate() {
            let stacked_m: Tensor<B, 2> = logits.clone().narrow(0, m, 1).reshape([n, 10]);
            close(&to_vec(stacked_m), &to_vec(net.forward(member(m).0)), tol, &format!("{name} member {m} logits"));
        }
    }
}

/// An MLP, and a CNN with pooling and sigmoid.
const NETS: [(&str, Activation); 2] = [("mlp2", Activation::Relu), ("cnn3", Activation::Sigmoid)];

#[test]
fn stacked_members_train_as_separate_nets_on_ndarray() {
    stacked_members_train_as_separate_nets::<burn::backend::Autodiff<burn::backend::NdArray>>(
        Default::default(),
        &NETS,
        1e-4,
    );
}

#[cfg(feature = "flex")]
#[test]
fn stacked_members_train_as_separate_nets_on_flex() {
    stacked_members_train_as_separate_nets::<burn::backend::Autodiff<burn::backend::Flex>>(
        Default::default(),
        &NETS,
        1e-4,
    );
}

#[cfg(feature = "wgpu")]
#[test]
fn stacked_members_train_as_separate_nets_on_wgpu() {
    crate::common::on_wgpu("stacked_members_train_as_separate_nets", |device| {
        let nets = [("cnn3", Activation::Relu)];
        stacked_members_train_as_separate_nets::<burn::backend::Autodiff<burn::backend::Wgpu>>(device, &nets, 1e-3);
    });
}

#[test]
fn nets_of_different_architectures_do_not_stack() {
    type B = burn::backend::NdArray;
    let device = Default::default();
    // Drawn under the library's lock: other tests' runs share the generator.
    let net = |name: &str| Net::<B>::seeded(&ArchSpec::parse(name).unwrap(), Activation::Relu, 0, &device).unwrap();
    for (a, b) in [("mlp1", "mlp2"), ("mlp1", "cnn3"), ("cnn3", "cnn4"), ("cnn4", "cnn5")] {
        let err = StackedNet::from_members(&[net(a), net(b)]).expect_err(&format!("{a} with {b}"));
        assert!(err.to_string().contains("different architectures"), "{a} with {b}: {err}");
    }
    assert!(StackedNet::<B>::from_members(&[]).is_err(), "no members");
    assert!(StackedNet::from_members(&[net("cnn4"), net("cnn4")]).is_ok());
}
