//! One Adam update of one parameter tensor as a single GPU kernel (CubeCL, so the same code
//! serves wgpu and CUDA).
//!
//! Why: these nets' GPU steps are bound by kernel launches, not arithmetic
//! (docs/PERFORMANCE.md). Written in Burn's tensor ops, Adam is about 13 element-wise kernels
//! per parameter tensor; over all parameters at once (one concatenation of the gradients,
//! one of the parameters, each parameter its slice of the result) it was still 44 launches
//! of cnn4's 115 per step (counted on wgpu). Here each parameter takes one launch that reads
//! its value, gradient and two moments and writes the new three: 10 launches for cnn4.
//!
//! The arithmetic is Burn's `Adam` (burn-optim's `AdaptiveMomentum`), operation for
//! operation: `m ← β₁·m + (1−β₁)·g`, `v ← β₂·v + (1−β₂)·g²`,
//! `p ← p − lr · (m·f) / (√v + ε′)`, with the bias corrections folded into `f` and `ε′` on the
//! host as Burn folds them. The outputs are new tensors: a parameter's old value may still be
//! held elsewhere (a saved copy of the net), so nothing is written in place.

use burn_cubecl::cubecl;
use burn_cubecl::cubecl::prelude::*;
use burn_cubecl::cubecl::std::tensor::layout::linear::LinearView;
use burn_cubecl::cubecl::{calculate_cube_count_elemwise, ir::AddressType};
use burn_cubecl::ops::numeric::empty_device_dtype;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{CubeRuntime, kernel::into_contiguous};

use crate::train::AdamStep;
use burn::tensor::{DType, TensorMetadata};

#[cube(launch, address_type = "dynamic")]
#[allow(clippy::too_many_arguments)]
fn adam_kernel(
    param: &LinearView<f32>,
    grad: &LinearView<f32>,
    moment_1: &LinearView<f32>,
    moment_2: &LinearView<f32>,
    new_param: &mut LinearView<f32, ReadWrite>,
    new_moment_1: &mut LinearView<f32, ReadWrite>,
    new_moment_2: &mut LinearView<f32, ReadWrite>,
    beta_1: f32,
    one_minus_beta_1: f32,
    beta_2: f32,
    one_minus_beta_2: f32,
    factor: f32,
    epsilon: f32,
    lr: f32,
) {
    if !new_param.is_in_bounds(ABSOLUTE_POS) {
        terminate!();
    }
    let g = grad[ABSOLUTE_POS];
    let m = moment_1[ABSOLUTE_POS] * beta_1 + g * one_minus_beta_1;
    let v = moment_2[ABSOLUTE_POS] * beta_2 + g * g * one_minus_beta_2;
    new_moment_1[ABSOLUTE_POS] = m;
    new_moment_2[ABSOLUTE_POS] = v;
    let step = m * factor / (v.sqrt() + epsilon);
    new_param[ABSOLUTE_POS] = param[ABSOLUTE_POS] - step * lr;
}

/// One Adam update of `param` (f32, any shape) with gradient `grad` and moments `moments`
/// (zeros before the first step, where `None`): the new parameter and the two new moments,
/// each shaped as `param`.
pub fn adam_update<R: CubeRuntime>(
    param: CubeTensor<R>,
    grad: CubeTensor<R>,
    moments: Option<(CubeTensor<R>, CubeTensor<R>)>,
    step: &AdamStep,
) -> (CubeTensor<R>, CubeTensor<R>, CubeTensor<R>) {
    let shape = param.shape();
    let n = shape.num_elements();
    let (client, device) = (param.client.clone(), param.device.clone());
    let empty = || empty_device_dtype(client.clone(), device.clone(), shape.clone(), DType::F32);
    let (moment_1, moment_2) = match moments {
        Some((m, v)) => (into_contiguous(m), into_contiguous(v)),
        None => {
            let zeros = burn_cubecl::ops::numeric::zeros::<R>(device.clone(), shape.clone(), DType::F32);
            (zeros.clone(), zeros)
        }
    };
    let (param, grad) = (into_contiguous(param), into_contiguous(grad));
    let (new_param, new_moment_1, new_moment_2) = (empty(), empty(), empty());
    let cube_dim = CubeDim::new(&client, n);
    let cube_count = calculate_cube_count_elemwise(&client, n, cube_dim);
    let address = [&param, &grad, &moment_1, &moment_2, &new_param, &new_moment_1, &new_moment_2]
        .iter()
        .map(|t| t.required_address_type())
        .max()
        .unwrap_or(AddressType::U32);
    adam_kernel::launch::<R>(
        &client,
        cube_count,
        cube_dim,
        address,
        param.into_linear_view(),
        grad.into_linear_view(),
        moment_1.into_linear_view(),
        moment_2.into_linear_view(),
        new_param.clone().into_linear_view(),
        new_moment_1.clone().into_linear_view(),
        new_moment_2.clone().into_linear_view(),
        step.beta_1,
        1.0 - step.beta_1,
        step.beta_2,
        1.0 - step.beta_2,
        step.factor,
        step.epsilon,
        step.lr,
    );
    (new_param, new_moment_1, new_moment_2)
}
