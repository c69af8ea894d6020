//! What nnlab's GPU backends share: the ops they take from [`crate::kernels::gpu`] instead
//! of Burn's, and a first touch of the device that turns a missing driver into an error.

/// `impl NetBackend for $backend`: Burn's own ops, except two reductions that Burn runs on
/// too few GPU threads (see [`crate::kernels::gpu`]): the conv weight and bias gradients
/// (im2col + a batched matrix product) and, in evaluation, the fully connected layer (its
/// reduction split into slices); the forward convolution is the kernel
/// [`crate::backend::gpu_conv`] chooses; the kernels of [`crate::kernels::gpu_fused`] run
/// Adam (one launch for all parameters), ReLU, the cross-entropy loss (alone, and with the
/// prediction layer's bias add before it) and a hidden fully connected layer's bias add with
/// its ReLU (one launch each, and one for each gradient), and max pooling's gradient. Burn 0.21's wgpu and CUDA backends are the same generic
/// `CubeBackend`, so one body serves both.
macro_rules! gpu_net_backend {
    ($backend:ty) => {
        impl $crate::backend::NetBackend for $backend {
            const FUSED_ADAM: bool = true;

            fn nn_adam_updates(
                updates: Vec<$crate::train::fused_adam::AdamInput<Self>>,
                step: &$crate::train::fused_adam::AdamStep,
            ) -> Vec<$crate::train::fused_adam::AdamOutput<Self>> {
                use $crate::kernels::gpu_fused;
                let f32s = updates.iter().all(|(param, grad, moments)| {
                    gpu_fused::all_f32(&[param, grad])
                        && moments.as_ref().is_none_or(|(m, v)| gpu_fused::all_f32(&[m, v]))
                });
                match f32s {
                    true => gpu_fused::adam_updates(updates, step),
                    false => step.apply_each::<Self>(updates),
                }
            }

            fn nn_bias_relu(
                z: burn::tensor::ops::FloatTensor<Self>,
                bias: burn::tensor::ops::FloatTensor<Self>,
            ) -> burn::tensor::ops::FloatTensor<Self> {
                use $crate::kernels::gpu_fused;
                match gpu_fused::bias_relu_takes(&z, &bias) {
                    true => gpu_fused::bias_relu(z, bias),
                    false => $crate::backend::composed::bias_relu::<Self>(z, bias),
                }
            }

            fn nn_bias_relu_backward(
                y: burn::tensor::ops::FloatTensor<Self>,
                dy: burn::tensor::ops::FloatTensor<Self>,
            ) -> (burn::tensor::ops::FloatTensor<Self>, burn::tensor::ops::FloatTensor<Self>) {
                use burn::tensor::TensorMetadata;
                use $crate::kernels::gpu_fused;
                match gpu_fused::all_f32(&[&y, &dy]) && y.shape().num_dims() == 2 && y.shape() == dy.shape() {
                    true => gpu_fused::bias_relu_backward(y, dy),
                    false => $crate::backend::composed::bias_relu_backward::<Self>(y, dy),
                }
            }

            fn nn_bias_cross_entropy(
                z: burn::tensor::ops::FloatTensor<Self>,
                bias: burn::tensor::ops::FloatTensor<Self>,
                targets: burn::tensor::ops::IntTensor<Self>,
            ) -> (burn::tensor::ops::FloatTensor<Self>, burn::tensor::ops::FloatTensor<Self>) {
                use $crate::kernels::gpu_fused;
                match gpu_fused::bias_cross_entropy_takes(&z, &bias, &targets) {
                    true => gpu_fused::bias_cross_entropy(z, bias, targets),
                    false => $crate::backend::composed::bias_cross_entropy::<Self>(z, bias, targets),
                }
            }

            fn nn_bias_cross_entropy_backward(
                logits: burn::tensor::ops::FloatTensor<Self>,
                targets: burn::tensor::ops::IntTensor<Self>,
                dloss: burn::tensor::ops::FloatTensor<Self>,
            ) -> (burn::tensor::ops::FloatTensor<Self>, burn::tensor::ops::FloatTensor<Self>) {
                use $crate::kernels::gpu_fused;
                match gpu_fused::cross_entropy_takes(&logits, &targets) && gpu_fused::all_f32(&[&dloss]) {
                    true => gpu_fused::bias_cross_entropy_backward(logits, targets, dloss),
                    false => $crate::backend::composed::bias_cross_entropy_backward::<Self>(logits, targets, dloss),
                }
            }

            fn nn_max_pool2d_backward(
                x: burn::tensor::ops::FloatTensor<Self>,
                size: usize,
                dy: burn::tensor::ops::FloatTensor<Self>,
                indices: burn::tensor::ops::IntTensor<Self>,
            ) -> burn::tensor::ops::FloatTensor<Self> {
                use $crate::kernels::gpu_fused;
                match gpu_fused::max_pool_backward_takes(&x, &dy, &indices) {
                    true => gpu_fused::max_pool_backward(x, size, dy, indices),
                    false => $crate::backend::burn_ops::max_pool2d_backward::<Self>(x, size, dy, indices),
                }
            }

            fn nn_relu(x: burn::tensor::ops::FloatTensor<Self>) -> burn::tensor::ops::FloatTensor<Self> {
                use burn::tensor::ops::ActivationOps;
                match $crate::kernels::gpu_fused::all_f32(&[&x]) {
                    true => $crate::kernels::gpu_fused::relu(x),
                    false => Self::relu(x),
                }
            }

            fn nn_relu_backward(
                output: burn::tensor::ops::FloatTensor<Self>,
                dy: burn::tensor::ops::FloatTensor<Self>,
            ) -> burn::tensor::ops::FloatTensor<Self> {
                use burn::tensor::TensorMetadata;
                use burn::tensor::ops::ActivationOps;
                match $crate::kernels::gpu_fused::all_f32(&[&output, &dy]) && output.shape() == dy.shape() {
                    true => $crate::kernels::gpu_fused::relu_backward(output, dy),
                    false => Self::relu_backward(output, dy),
                }
            }

            fn nn_cross_entropy(
                logits: burn::tensor::ops::FloatTensor<Self>,
                targets: burn::tensor::ops::IntTensor<Self>,
            ) -> burn::tensor::ops::FloatTensor<Self> {
                use $crate::kernels::gpu_fused;
                match gpu_fused::cross_entropy_takes(&logits, &targets) {
                    true => gpu_fused::cross_entropy(logits, targets),
                    false => $crate::backend::burn_ops::cross_entropy::<Self>(logits, targets),
                }
            }

            fn nn_cross_entropy_backward(
                logits: burn::tensor::ops::FloatTensor<Self>,
                targets: burn::tensor::ops::IntTensor<Self>,
                dloss: burn::tensor::ops::FloatTensor<Self>,
            ) -> burn::tensor::ops::FloatTensor<Self> {
                use $crate::kernels::gpu_fused;
                match gpu_fused::cross_entropy_takes(&logits, &targets) && gpu_fused::all_f32(&[&dloss]) {
                    true => gpu_fused::cross_entropy_backward(logits, targets, dloss),
                    false => $crate::backend::burn_ops::cross_entropy_backward::<Self>(logits, targets, dloss),
                }
            }

            fn nn_linear(
                x: burn::tensor::ops::FloatTensor<Self>,
                weight: burn::tensor::ops::FloatTensor<Self>,
                bias: Option<burn::tensor::ops::FloatTensor<Self>>,
            ) -> burn::tensor::ops::FloatTensor<Self> {
                $crate::kernels::gpu::linear_split_k::<Self>(x, weight, bias)
            }

            fn nn_conv2d(
                x: burn::tensor::ops::FloatTensor<Self>,
                weight: burn::tensor::ops::FloatTensor<Self>,
                bias: burn::tensor::ops::FloatTensor<Self>,
                padding: [usize; 2],
            ) -> burn::tensor::ops::FloatTensor<Self> {
                use $crate::backend::gpu_conv::GpuConvForward;
                match $crate::backend::gpu_conv::in_effect() {
                    GpuConvForward::Direct => $crate::backend::burn_ops::conv2d::<Self>(x, weight, bias, padding),
                    GpuConvForward::ImplicitGemm => {
                        $crate::backend::gpu::conv2d_implicit_gemm(x, weight, bias, padding)
                    }
                    GpuConvForward::Im2col => $crate::kernels::gpu::conv2d_im2col::<Self>(x, weight, bias, padding),
                }
            }

            fn nn_conv2d_param_grads(
                x: burn::tensor::ops::FloatTensor<Self>,
                weight: burn::tensor::ops::FloatTensor<Self>,
                _bias: burn::tensor::ops::FloatTensor<Self>,
                dy: burn::tensor::ops::FloatTensor<Self>,
                padding: [usize; 2],
            ) -> (burn::tensor::ops::FloatTensor<Self>, burn::tensor::ops::FloatTensor<Self>) {
                use burn::tensor::TensorMetadata;
                use $crate::kernels::{gpu, gpu_fused};
                let shape = weight.shape().dims::<4>();
                match gpu_fused::all_f32(&[&dy]) {
                    true => {
                        (gpu::conv2d_weight_grad::<Self>(x, shape, dy.clone(), padding), gpu_fused::conv_bias_grad(dy))
                    }
                    false => gpu::conv2d_param_grads::<Self>(x, shape, dy, padding),
                }
            }
        }
    };
}
pub(crate) use gpu_net_backend;

/// Has an implicit-GEMM convolution failed to set up on this process's GPU (no matrix units
/// for `f32`, or a shape the kernel does not take)? Then every later call goes straight to
/// the direct convolution.
static NO_IMPLICIT_GEMM: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Burn's implicit-GEMM convolution (stride 1, zero `padding`, bias), or its direct one where
/// the implicit GEMM cannot run (see [`crate::backend::gpu_conv::GpuConvForward::ImplicitGemm`]).
pub fn conv2d_implicit_gemm<R: burn_cubecl::CubeRuntime>(
    x: burn_cubecl::tensor::CubeTensor<R>,
    weight: burn_cubecl::tensor::CubeTensor<R>,
    bias: burn_cubecl::tensor::CubeTensor<R>,
    padding: [usize; 2],
) -> burn_cubecl::tensor::CubeTensor<R> {
    use burn_cubecl::kernel::conv::{ConvStrategy, conv_forward};
    use std::sync::atomic::Ordering;
    let options = super::conv_options(padding);
    if !NO_IMPLICIT_GEMM.load(Ordering::Relaxed) {
        match conv_forward::<R, 2>(
            x.clone(),
            weight.clone(),
            Some(bias.clone()),
            options.clone(),
            ConvStrategy::ImplicitGemm,
        ) {
            Ok(y) => return y,
            Err(_) => NO_IMPLICIT_GEMM.store(true, Ordering::Relaxed),
        }
    }
    conv_forward::<R, 2>(x, weight, Some(bias), options, ConvStrategy::Direct)
        .unwrap_or_else(|e| panic!("Burn's direct convolution refused a stride-1 conv2d: {e:?}"))
}

/// Computes one small sum on `B`'s default device. The GPU runtimes panic when no driver or
/// adapter is found (in the caller's thread or in their own); those panics are caught,
/// nothing is printed, and the first panic's message comes back as the error.
pub(crate) fn probe<B: burn::tensor::backend::Backend>(device: &B::Device) -> Result<(), String> {
    crate::error::catch_quietly(|| burn::tensor::Tensor::<B, 1>::ones([4], device).sum().into_scalar())
        .map(|_| ())
        .map_err(|m| short(&m))
}

/// The gist of a runtime's panic message: the line that names a missing file when the GPU
/// compiler could not find one (CUDA's NVRTC prints whole kernels after it), else the first
/// line, cut at 300 characters.
fn short(message: &str) -> String {
    let line = message
        .lines()
        .find(|l| l.contains("cannot open source file"))
        .map(|l| format!("the GPU compiler (NVRTC) reports: {}", l.trim()))
        .unwrap_or_else(|| message.lines().next().unwrap_or("").to_string());
    match line.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}
