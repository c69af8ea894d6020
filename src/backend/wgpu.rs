//! nnlab's ops on wgpu: Burn's own, except the conv weight gradient and the evaluation
//! linear, computed with [`crate::kernels::gpu`] (see [`super::gpu`]).

super::gpu::gpu_net_backend!(burn::backend::Wgpu);
