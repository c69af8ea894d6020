//! The backend seam: the one place that names concrete Burn backends.
//!
//! Everything else in nnlab is generic over [`Backend`](burn::tensor::backend::Backend) /
//! [`AutodiffBackend`](burn::tensor::backend::AutodiffBackend). A piece of work that must
//! run on "whatever backend the user picked" is written as a [`BackendTask`] and started with
//! [`run_task`], which maps the run-time [`BackendKind`] to a compiled-in backend type; the
//! GPU backends first touch their device, so a missing driver is an error, not a panic.

mod autodiff;
#[cfg(feature = "cuda")]
mod cuda;
#[cfg(feature = "flex")]
mod flex;
#[cfg(any(feature = "wgpu", feature = "cuda"))]
mod gpu;
pub mod gpu_conv;
pub mod ops;
mod subnormals;
#[cfg(feature = "wgpu")]
mod wgpu;

#[cfg(any(feature = "wgpu", feature = "cuda"))]
pub use gpu::conv2d_implicit_gemm;
pub use ops::{
    NetBackend, TrainBackend, burn_ops, composed, conv_options, conv2d, conv2d_relu, cross_entropy, linear,
    linear_cross_entropy, linear_relu, max_pool2d, relu, sigmoid, stacked_conv2d,
};

pub use subnormals::FlushSubnormals;

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The backends nnlab knows about; which ones exist in a build depends on cargo features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum BackendKind {
    /// burn-ndarray, portable CPU backend (feature `ndarray`).
    Ndarray,
    /// burn-flex, Burn's fast CPU backend (feature `flex`).
    Flex,
    /// burn-wgpu, GPU through Vulkan/Metal/DX12, or Mesa lavapipe without a GPU (feature `wgpu`).
    #[cfg_attr(feature = "cli", value(alias = "gpu"))]
    Wgpu,
    /// Burn's CUDA backend on an NVIDIA GPU (feature `cuda`; needs the driver, NVRTC and the
    /// CUDA headers at run time).
    Cuda,
}

impl BackendKind {
    /// All backends, in order of preference for CPU use.
    pub const ALL: [BackendKind; 4] = [BackendKind::Flex, BackendKind::Ndarray, BackendKind::Wgpu, BackendKind::Cuda];

    /// The lowercase name used on the command line and in results.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Ndarray => "ndarray",
            BackendKind::Flex => "flex",
            BackendKind::Wgpu => "wgpu",
            BackendKind::Cuda => "cuda",
        }
    }

    /// Whether this backend was compiled into the current build.
    pub fn is_compiled(self) -> bool {
        match self {
            BackendKind::Ndarray => cfg!(feature = "ndarray"),
            BackendKind::Flex => cfg!(feature = "flex"),
            BackendKind::Wgpu => cfg!(feature = "wgpu"),
            BackendKind::Cuda => cfg!(feature = "cuda"),
        }
    }

    /// The fastest compiled-in CPU backend (flex, then ndarray), else wgpu.
    pub fn default_compiled() -> Option<BackendKind> {
        Self::ALL.into_iter().find(|b| b.is_compiled())
    }

    /// The backend to use when none is named: cuda when it is compiled in and an NVIDIA GPU
    /// with its driver, NVRTC and headers answers a probe (a small sum); otherwise
    /// [`BackendKind::default_compiled`]. wgpu is not picked on its own: Vulkan's software
    /// driver (lavapipe) answers the same probe on machines without a GPU, where wgpu is far
    /// slower than flex.
    pub fn preferred() -> Option<BackendKind> {
        #[cfg(feature = "cuda")]
        {
            let device = burn::backend::cuda::CudaDevice::default();
            if gpu::probe::<burn::backend::Cuda>(&device).is_ok() {
                return Some(BackendKind::Cuda);
            }
        }
        Self::default_compiled()
    }

    /// Backends compiled into this build.
    pub fn compiled() -> Vec<BackendKind> {
        Self::ALL.into_iter().filter(|b| b.is_compiled()).collect()
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for BackendKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "ndarray" => Ok(BackendKind::Ndarray),
            "flex" => Ok(BackendKind::Flex),
            "wgpu" | "gpu" => Ok(BackendKind::Wgpu),
            "cuda" => Ok(BackendKind::Cuda),
            other => Err(Error::invalid(
                "backend",
                format!("unknown backend '{other}'; expected one of ndarray, flex, wgpu, cuda"),
            )),
        }
    }
}

/// Work that runs on any autodiff backend; [`run_task`] picks the backend at run time.
pub trait BackendTask {
    /// What the task returns.
    type Output;
    /// Runs the task on backend `B` and its default device.
    fn run<B: TrainBackend>(self, device: B::Device, backend: BackendKind) -> Result<Self::Output>;
}

/// The autodiff ndarray backend.
#[cfg(feature = "ndarray")]
pub type NdarrayAd = burn::backend::Autodiff<burn::backend::NdArray>;
/// The autodiff flex backend.
#[cfg(feature = "flex")]
pub type FlexAd = burn::backend::Autodiff<burn::backend::Flex>;
/// The autodiff wgpu backend.
#[cfg(feature = "wgpu")]
pub type WgpuAd = burn::backend::Autodiff<burn::backend::Wgpu>;
/// The autodiff CUDA backend.
#[cfg(feature = "cuda")]
pub type CudaAd = burn::backend::Autodiff<burn::backend::Cuda>;

/// Runs `task` on the backend `kind`, or explains which cargo feature is missing. On the
/// CPU backends subnormal floats count as zero meanwhile ([`FlushSubnormals`]).
pub fn run_task<T: BackendTask>(kind: BackendKind, task: T) -> Result<T::Output> {
    #[allow(unreachable_code, unused_variables)]
    match kind {
        BackendKind::Ndarray => {
            #[cfg(feature = "ndarray")]
            {
                let _flush = FlushSubnormals::new();
                return task.run::<NdarrayAd>(Default::default(), kind);
            }
        }
        BackendKind::Flex => {
            #[cfg(feature = "flex")]
            {
                let _flush = FlushSubnormals::new();
                return task.run::<FlexAd>(Default::default(), kind);
            }
        }
        BackendKind::Wgpu => {
            #[cfg(feature = "wgpu")]
            {
                gpu_conv::current()?;
                let device = burn::backend::wgpu::WgpuDevice::default();
                gpu::probe::<burn::backend::Wgpu>(&device).map_err(|why| {
                    Error::Device(format!(
                        "no GPU adapter for wgpu ({why}). Install a Vulkan driver (on Linux without a GPU, \
                         Mesa's software one: mesa-vulkan-drivers libvulkan1), check VK_DRIVER_FILES, or \
                         choose a CPU backend (flex, ndarray)"
                    ))
                })?;
                return task.run::<WgpuAd>(device, kind);
            }
        }
        BackendKind::Cuda => {
            #[cfg(feature = "cuda")]
            {
                gpu_conv::current()?;
                let device = burn::backend::cuda::CudaDevice::default();
                gpu::probe::<burn::backend::Cuda>(&device).map_err(|why| {
                    Error::Device(format!(
                        "CUDA is not usable here ({why}). The cuda backend needs an NVIDIA driver (libcuda), \
                         NVRTC and the CUDA headers: set CUDA_PATH to the toolkit (e.g. /usr/local/cuda) and put \
                         its lib64 on LD_LIBRARY_PATH, or choose another backend (wgpu, flex)"
                    ))
                })?;
                return task.run::<CudaAd>(device, kind);
            }
        }
    }
    #[allow(unreachable_code)]
    Err(Error::BackendNotCompiled { backend: kind.name().into(), feature: kind.name().into() })
}

// nnlab's ops on each backend: flex runs the CPU kernels of `kernels::{conv2d, pool,
// linear}` on its buffers; wgpu and cuda compute the conv weight gradient and the evaluation
// linear with `kernels::gpu`; ndarray keeps Burn's own ops.
#[cfg(feature = "ndarray")]
impl NetBackend for burn::backend::NdArray {}
