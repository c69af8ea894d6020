//! Backend selection: the one place that names concrete Burn backends.
//!
//! Everything else in nnlab is generic over [`Backend`](burn::tensor::backend::Backend) /
//! [`AutodiffBackend`]. A piece of work that must run on "whatever backend the user picked"
//! is written as a [`BackendTask`] and started with [`run_task`], which maps the run-time
//! [`BackendKind`] to a compiled-in backend type.

use crate::error::{Error, Result};
use crate::kernels::TrainBackend;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The backends nnlab knows about; which ones exist in a build depends on cargo features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// burn-ndarray, portable CPU backend (feature `ndarray`).
    Ndarray,
    /// burn-flex, Burn's fast CPU backend (feature `flex`).
    Flex,
    /// burn-wgpu, GPU through Vulkan/Metal/DX12, or Mesa lavapipe without a GPU (feature `wgpu`).
    Wgpu,
}

impl BackendKind {
    /// All backends, in order of preference for CPU use.
    pub const ALL: [BackendKind; 3] = [BackendKind::Flex, BackendKind::Ndarray, BackendKind::Wgpu];

    /// The lowercase name used on the command line and in results.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Ndarray => "ndarray",
            BackendKind::Flex => "flex",
            BackendKind::Wgpu => "wgpu",
        }
    }

    /// Whether this backend was compiled into the current build.
    pub fn is_compiled(self) -> bool {
        match self {
            BackendKind::Ndarray => cfg!(feature = "ndarray"),
            BackendKind::Flex => cfg!(feature = "flex"),
            BackendKind::Wgpu => cfg!(feature = "wgpu"),
        }
    }

    /// The fastest compiled-in CPU backend (flex, then ndarray), else wgpu.
    pub fn default_compiled() -> Option<BackendKind> {
        Self::ALL.into_iter().find(|b| b.is_compiled())
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
            other => Err(Error::invalid(
                "--backend",
                format!("unknown backend '{other}'; expected one of ndarray, flex, wgpu"),
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

/// Runs `task` on the backend `kind`, or explains which cargo feature is missing.
pub fn run_task<T: BackendTask>(kind: BackendKind, task: T) -> Result<T::Output> {
    #[allow(unreachable_code, unused_variables)]
    match kind {
        BackendKind::Ndarray => {
            #[cfg(feature = "ndarray")]
            return task.run::<NdarrayAd>(Default::default(), kind);
        }
        BackendKind::Flex => {
            #[cfg(feature = "flex")]
            return task.run::<FlexAd>(Default::default(), kind);
        }
        BackendKind::Wgpu => {
            #[cfg(feature = "wgpu")]
            return task.run::<WgpuAd>(Default::default(), kind);
        }
    }
    #[allow(unreachable_code)]
    Err(Error::BackendNotCompiled {
        backend: kind.name().into(),
        feature: kind.name().into(),
    })
}

// nnlab's ops on each backend (see `kernels::ops`): flex runs the CPU kernels of
// `kernels::{conv2d, pool, linear}` on its buffers; wgpu computes the conv weight gradient
// and the evaluation linear with `kernels::gpu`; ndarray keeps Burn's own ops.

#[cfg(feature = "ndarray")]
impl crate::kernels::NetBackend for burn::backend::NdArray {}

#[cfg(feature = "wgpu")]
mod wgpu_kernels {
    use crate::kernels::{NetBackend, gpu};
    use burn::backend::Wgpu;
    use burn::tensor::TensorMetadata;
    use burn::tensor::ops::FloatTensor;

    /// Burn's own ops, except two reductions that Burn runs on too few GPU threads (see
    /// [`gpu`]): the conv weight and bias gradients (im2col + a batched matrix product) and,
    /// in evaluation, the fully connected layer (its reduction split into slices).
    impl NetBackend for Wgpu {
        fn nn_linear(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            bias: Option<FloatTensor<Self>>,
        ) -> FloatTensor<Self> {
            gpu::linear_split_k::<Wgpu>(x, weight, bias)
        }

        fn nn_conv2d_param_grads(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            _bias: FloatTensor<Self>,
            dy: FloatTensor<Self>,
            padding: [usize; 2],
        ) -> (FloatTensor<Self>, FloatTensor<Self>) {
            gpu::conv2d_param_grads::<Wgpu>(x, weight.shape().dims::<4>(), dy, padding)
        }
    }
}

#[cfg(feature = "flex")]
mod flex_kernels {
    use crate::kernels::conv2d::{self, ConvShape};
    use crate::kernels::ops::burn_ops;
    use crate::kernels::pool::{self, PoolShape};
    use crate::kernels::{self, NetBackend};
    use burn::backend::Flex;
    use burn::backend::flex::FlexTensor;
    use burn::tensor::{DType, TensorData, TensorMetadata};

    /// The kernel's geometry for input `x` and `weight`, or None when the kernel does not
    /// apply (a dtype other than f32, or a kernel larger than the padded input): Burn's own
    /// conv then runs.
    fn shape(x: &FlexTensor, weight: &FlexTensor, padding: [usize; 2]) -> Option<ConvShape> {
        if x.dtype() != DType::F32 || weight.dtype() != DType::F32 {
            return None;
        }
        let [batch, in_channels, h, w] = x.shape().dims::<4>();
        let [out_channels, c, kh, kw] = weight.shape().dims::<4>();
        let s = ConvShape {
            batch,
            in_channels,
            out_channels,
            input: [h, w],
            kernel: [kh, kw],
            padding,
        };
        (c == in_channels && s.is_valid()).then_some(s)
    }

    /// Runs `f` on the f32 values of `t` in row-major order (copying only a strided view).
    fn values<R>(t: &FlexTensor, f: impl FnOnce(&[f32]) -> R) -> R {
        match t.as_slice::<f32>() {
            Some(v) => f(v),
            None => f(t.to_contiguous().as_slice::<f32>().expect("contiguous f32")),
        }
    }

    fn tensor(values: Vec<f32>, shape: [usize; 4]) -> FlexTensor {
        FlexTensor::from_data(TensorData::new(values, shape))
    }

    impl NetBackend for Flex {
        fn nn_conv2d(
            x: FlexTensor,
            weight: FlexTensor,
            bias: FlexTensor,
            padding: [usize; 2],
        ) -> FlexTensor {
            let Some(s) = shape(&x, &weight, padding) else {
                return burn_ops::conv2d::<Flex>(x, weight, bias, padding);
            };
            let y = values(&x, |x| {
                values(&weight, |w| {
                    values(&bias, |b| conv2d::forward(&s, x, w, Some(b)))
                })
            });
            let [oh, ow] = s.output();
            tensor(y, [s.batch, s.out_channels, oh, ow])
        }

        fn nn_conv2d_input_grad(
            x: FlexTensor,
            weight: FlexTensor,
            dy: FlexTensor,
            padding: [usize; 2],
        ) -> FlexTensor {
            let Some(s) = shape(&x, &weight, padding) else {
                return burn_ops::conv2d_input_grad::<Flex>(x, weight, dy, padding);
            };
            let dx = values(&weight, |w| {
                values(&dy, |g| conv2d::input_gradient(&s, w, g))
            });
            tensor(dx, [s.batch, s.in_channels, s.input[0], s.input[1]])
        }

        fn nn_conv2d_param_grads(
            x: FlexTensor,
            weight: FlexTensor,
            bias: FlexTensor,
            dy: FlexTensor,
            padding: [usize; 2],
        ) -> (FlexTensor, FlexTensor) {
            let Some(s) = shape(&x, &weight, padding) else {
                return burn_ops::conv2d_param_grads::<Flex>(x, weight, bias, dy, padding);
            };
            let (dw, db) = values(&x, |x| values(&dy, |g| conv2d::weight_gradient(&s, x, g)));
            let db = FlexTensor::from_data(TensorData::new(db, [s.out_channels]));
            (tensor(dw, weight.shape().dims::<4>()), db)
        }

        fn nn_linear(x: FlexTensor, weight: FlexTensor, bias: Option<FlexTensor>) -> FlexTensor {
            let f32s = [Some(&x), Some(&weight), bias.as_ref()]
                .into_iter()
                .flatten()
                .all(|t| t.dtype() == DType::F32);
            // x is [N, …], read as [N, inputs] in place (a batch sliced from the data set
            // keeps its offset; flattening it first would copy it).
            let (x_dims, w_dims) = (x.shape().to_vec(), weight.shape().to_vec());
            let n = x_dims.first().copied().unwrap_or(0);
            let inputs: usize = x_dims.iter().skip(1).product();
            if !f32s || x_dims.len() < 2 || w_dims.len() != 2 || inputs != w_dims[0] {
                return burn_ops::linear::<Flex>(x, weight, bias);
            }
            let outputs = w_dims[1];
            let y = values(&x, |x| {
                values(&weight, |w| match &bias {
                    Some(b) => values(b, |b| {
                        kernels::linear::forward(x, w, Some(b), w_dims[0], outputs)
                    }),
                    None => kernels::linear::forward(x, w, None, w_dims[0], outputs),
                })
            });
            FlexTensor::from_data(TensorData::new(y, [n, outputs]))
        }

        fn nn_max_pool2d(x: FlexTensor, size: usize) -> FlexTensor {
            Self::nn_max_pool2d_with_indices(x, size).0
        }

        fn nn_max_pool2d_with_indices(x: FlexTensor, size: usize) -> (FlexTensor, FlexTensor) {
            let [n, c, h, w] = x.shape().dims::<4>();
            if x.dtype() != DType::F32 || size == 0 {
                return burn_ops::max_pool2d_with_indices::<Flex>(x, size);
            }
            let s = PoolShape {
                planes: n * c,
                input: [h, w],
                size,
            };
            let (y, arg) = values(&x, |x| pool::max_pool(&s, x));
            let [oh, ow] = s.output();
            (
                tensor(y, [n, c, oh, ow]),
                FlexTensor::from_data(TensorData::new(arg, [n, c, oh, ow])),
            )
        }

        fn nn_max_pool2d_backward(
            x: FlexTensor,
            size: usize,
            dy: FlexTensor,
            indices: FlexTensor,
        ) -> FlexTensor {
            // Indices from `pool::max_pool` are u32; Burn's own (the fallback above) are not.
            if indices.dtype() != DType::U32 {
                return burn_ops::max_pool2d_backward::<Flex>(x, size, dy, indices);
            }
            let [n, c, h, w] = x.shape().dims::<4>();
            let s = PoolShape {
                planes: n * c,
                input: [h, w],
                size,
            };
            let arg = indices.as_slice::<u32>().expect("contiguous indices");
            tensor(
                values(&dy, |g| pool::max_pool_backward(&s, g, arg)),
                [n, c, h, w],
            )
        }
    }
}
