//! nnlab's ops on Burn's CUDA backend: the same choices as wgpu (see [`super::gpu`]).
//!
//! At run time Burn's CUDA runtime loads the driver (`libcuda`) and NVRTC, and compiles its
//! kernels against the CUDA headers found under `CUDA_PATH`; no toolkit is needed to build.

super::gpu::gpu_net_backend!(burn::backend::Cuda);
