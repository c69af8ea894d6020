//! What nnlab's GPU backends share: the ops they take from [`crate::kernels::gpu`] instead
//! of Burn's, and a first touch of the device that turns a missing driver into an error.

/// `impl NetBackend for $backend`: Burn's own ops, except two reductions that Burn runs on
/// too few GPU threads (see [`crate::kernels::gpu`]): the conv weight and bias gradients
/// (im2col + a batched matrix product) and, in evaluation, the fully connected layer (its
/// reduction split into slices). Burn 0.21's wgpu and CUDA backends are the same generic
/// `CubeBackend`, so one body serves both.
macro_rules! gpu_net_backend {
    ($backend:ty) => {
        impl $crate::backend::NetBackend for $backend {
            fn nn_linear(
                x: burn::tensor::ops::FloatTensor<Self>,
                weight: burn::tensor::ops::FloatTensor<Self>,
                bias: Option<burn::tensor::ops::FloatTensor<Self>>,
            ) -> burn::tensor::ops::FloatTensor<Self> {
                $crate::kernels::gpu::linear_split_k::<Self>(x, weight, bias)
            }

            fn nn_conv2d_param_grads(
                x: burn::tensor::ops::FloatTensor<Self>,
                weight: burn::tensor::ops::FloatTensor<Self>,
                _bias: burn::tensor::ops::FloatTensor<Self>,
                dy: burn::tensor::ops::FloatTensor<Self>,
                padding: [usize; 2],
            ) -> (burn::tensor::ops::FloatTensor<Self>, burn::tensor::ops::FloatTensor<Self>) {
                use burn::tensor::TensorMetadata;
                $crate::kernels::gpu::conv2d_param_grads::<Self>(x, weight.shape().dims::<4>(), dy, padding)
            }
        }
    };
}
pub(crate) use gpu_net_backend;

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
