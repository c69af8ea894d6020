//! The closed-form derivatives of `Activation` against Burn's autodiff, and the
//! `activations` study's output files.

use crate::common::{host, max_abs_diff};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Tensor, TensorData};
use nnlab::Activation;

/// For every activation: f'(x) in closed form equals autodiff's d/dx Σ f(x), to 1e-6.
fn derivatives_match_autodiff<B: AutodiffBackend>(device: &B::Device) {
    // Dense grid on [-6, 6] that avoids x = 0 exactly, where ReLU' is a convention.
    let xs: Vec<f32> = (0..1200).map(|i| -6.0 + 12.0 * (i as f32 + 0.5) / 1200.0).collect();
    for act in Activation::ALL {
        let x = Tensor::<B, 1>::from_data(TensorData::new(xs.clone(), [xs.len()]), device).require_grad();
        let grads = act.apply(x.clone()).sum().backward();
        let autodiff = host(x.grad(&grads).expect("x has a gradient"));
        let closed = host(act.derivative(x.inner()));
        let diff = max_abs_diff(&autodiff, &closed);
        assert!(diff <= 1e-6, "{act}: closed-form derivative differs from autodiff by {diff}");
        // And the derivative is not trivially zero everywhere.
        assert!(closed.iter().any(|&d| d > 0.1), "{act}: derivative suspiciously small");
    }
}

#[test]
fn relu_derivative_is_step_function() {
    type B = burn::backend::NdArray;
    let x = Tensor::<B, 1>::from_data(TensorData::new(vec![-2.0f32, -0.0, 0.0, 1e-3, 3.0], [5]), &Default::default());
    assert_eq!(host(Activation::Relu.derivative(x)), vec![0.0, 0.0, 0.0, 1.0, 1.0]);
}

#[test]
fn closed_form_derivatives_equal_autodiff_on_ndarray() {
    derivatives_match_autodiff::<burn::backend::Autodiff<burn::backend::NdArray>>(&Default::default());
}

#[cfg(feature = "flex")]
#[test]
fn closed_form_derivatives_equal_autodiff_on_flex() {
    derivatives_match_autodiff::<burn::backend::Autodiff<burn::backend::Flex>>(&Default::default());
}

#[cfg(feature = "wgpu")]
#[test]
fn closed_form_derivatives_equal_autodiff_on_wgpu() {
    crate::common::on_wgpu("closed_form_derivatives_equal_autodiff", |device| {
        derivatives_match_autodiff::<burn::backend::Autodiff<burn::backend::Wgpu>>(&device);
    });
}

#[test]
fn activations_study_writes_json_and_figures() {
    use nnlab::study::{StudyContext, activations};
    let out = tempfile::tempdir().unwrap();
    let ctx = StudyContext::new(out.path(), nnlab::BackendKind::Ndarray);
    let files = activations::run::<burn::backend::NdArray>(&ctx, &Default::default()).unwrap();
    let dir = out.path().join("activations");
    for name in ["activations.json", "activations.png", "activations.svg"] {
        assert!(files.contains(&dir.join(name)), "{name} not reported");
        assert!(std::fs::metadata(dir.join(name)).unwrap().len() > 1000, "{name} too small");
    }
    let result: activations::ActivationsResult = nnlab::results::read_json(&dir.join("activations.json")).unwrap();
    assert_eq!(result.x.first(), Some(&-5.0));
    assert_eq!(result.x.last(), Some(&5.0));
    // Independent check of the stored values: sigmoid(x) and its derivative at every point.
    let sig = result.activations.iter().find(|c| c.name == "sigmoid").unwrap();
    for (i, &x) in result.x.iter().enumerate() {
        let s = 1.0 / (1.0 + (-x).exp());
        assert!((sig.y[i] - s).abs() < 1e-6, "sigmoid({x})");
        assert!((sig.dy_dx[i] - s * (1.0 - s)).abs() < 1e-6, "sigmoid'({x})");
    }
    let png = image::open(dir.join("activations.png")).unwrap();
    assert_eq!((png.width(), png.height()), (900, 900), "3 rows × 2 columns figure");
}
