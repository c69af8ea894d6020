//! nnlab's ops on flex: the CPU kernels of [`crate::kernels`] (conv2d, pooling, linear, sigmoid)
//! run on flex's buffers, with Burn's own ops for shapes or dtypes they do not take.

use crate::backend::NetBackend;
use crate::backend::burn_ops;
use crate::kernels;
use crate::kernels::conv2d::{self, ConvShape};
use crate::kernels::pool::{self, PoolShape};
use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::tensor::ops::ActivationOps;
use burn::tensor::{DType, Shape, TensorData, TensorMetadata};

/// The kernel's geometry for input `x` and `weight`, or None when the kernel does not
/// apply (a dtype other than f32, or a kernel larger than the padded input): Burn's own
/// conv then runs.
fn shape(x: &FlexTensor, weight: &FlexTensor, padding: [usize; 2]) -> Option<ConvShape> {
    if x.dtype() != DType::F32 || weight.dtype() != DType::F32 {
        return None;
    }
    let [batch, in_channels, h, w] = x.shape().dims::<4>();
    let [out_channels, c, kh, kw] = weight.shape().dims::<4>();
    let s = ConvShape { batch, in_channels, out_channels, input: [h, w], kernel: [kh, kw], padding };
    (c == in_channels && s.is_valid()).then_some(s)
}

/// Runs `f` on the f32 values of `t` in row-major order (copying only a strided view).
fn values<R>(t: &FlexTensor, f: impl FnOnce(&[f32]) -> R) -> R {
    match t.as_slice::<f32>() {
        Some(v) => f(v),
        None => f(t.to_contiguous().as_slice::<f32>().expect("contiguous f32")),
    }
}

/// A flex tensor of `values` in row-major order with `shape`.
fn tensor(values: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

impl NetBackend for Flex {
    fn nn_conv2d(x: FlexTensor, weight: FlexTensor, bias: FlexTensor, padding: [usize; 2]) -> FlexTensor {
        let Some(s) = shape(&x, &weight, padding) else {
            return burn_ops::conv2d::<Flex>(x, weight, bias, padding);
        };
        let y = values(&x, |x| values(&weight, |w| values(&bias, |b| conv2d::forward(&s, x, w, Some(b)))));
        let [oh, ow] = s.output();
        tensor(y, [s.batch, s.out_channels, oh, ow])
    }

    fn nn_conv2d_relu(x: FlexTensor, weight: FlexTensor, bias: FlexTensor, padding: [usize; 2]) -> FlexTensor {
        let Some(s) = shape(&x, &weight, padding) else {
            return Flex::relu(burn_ops::conv2d::<Flex>(x, weight, bias, padding));
        };
        let y = values(&x, |x| values(&weight, |w| values(&bias, |b| conv2d::forward_relu(&s, x, w, Some(b)))));
        let [oh, ow] = s.output();
        tensor(y, [s.batch, s.out_channels, oh, ow])
    }

    fn nn_conv2d_input_grad(x: FlexTensor, weight: FlexTensor, dy: FlexTensor, padding: [usize; 2]) -> FlexTensor {
        let Some(s) = shape(&x, &weight, padding) else {
            return burn_ops::conv2d_input_grad::<Flex>(x, weight, dy, padding);
        };
        let dx = values(&weight, |w| values(&dy, |g| conv2d::input_gradient(&s, w, g)));
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
        let f32s = [Some(&x), Some(&weight), bias.as_ref()].into_iter().flatten().all(|t| t.dtype() == DType::F32);
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
                Some(b) => values(b, |b| kernels::linear::forward(x, w, Some(b), w_dims[0], outputs)),
                None => kernels::linear::forward(x, w, None, w_dims[0], outputs),
            })
        });
        FlexTensor::from_data(TensorData::new(y, [n, outputs]))
    }

    fn nn_max_pool2d(x: FlexTensor, size: usize) -> FlexTensor {
        let [n, c, h, w] = x.shape().dims::<4>();
        if x.dtype() != DType::F32 || size == 0 {
            return burn_ops::max_pool2d::<Flex>(x, size);
        }
        let s = PoolShape { planes: n * c, input: [h, w], size };
        let [oh, ow] = s.output();
        tensor(values(&x, |x| pool::max_pool_values(&s, x)), [n, c, oh, ow])
    }

    fn nn_max_pool2d_with_indices(x: FlexTensor, size: usize) -> (FlexTensor, FlexTensor) {
        let [n, c, h, w] = x.shape().dims::<4>();
        if x.dtype() != DType::F32 || size == 0 {
            return burn_ops::max_pool2d_with_indices::<Flex>(x, size);
        }
        let s = PoolShape { planes: n * c, input: [h, w], size };
        let (y, arg) = values(&x, |x| pool::max_pool(&s, x));
        let [oh, ow] = s.output();
        (tensor(y, [n, c, oh, ow]), FlexTensor::from_data(TensorData::new(arg, [n, c, oh, ow])))
    }

    fn nn_max_pool2d_backward(x: FlexTensor, size: usize, dy: FlexTensor, indices: FlexTensor) -> FlexTensor {
        // Indices from `pool::max_pool` are u32; Burn's own (the fallback above) are not.
        if indices.dtype() != DType::U32 {
            return burn_ops::max_pool2d_backward::<Flex>(x, size, dy, indices);
        }
        let [n, c, h, w] = x.shape().dims::<4>();
        let s = PoolShape { planes: n * c, input: [h, w], size };
        let arg = indices.as_slice::<u32>().expect("contiguous indices");
        tensor(values(&dy, |g| pool::max_pool_backward(&s, g, arg)), [n, c, h, w])
    }

    fn nn_sigmoid(x: FlexTensor) -> FlexTensor {
        if x.dtype() != DType::F32 {
            return Flex::sigmoid(x);
        }
        tensor(values(&x, kernels::activation::sigmoid), x.shape())
    }

    fn nn_sigmoid_backward(output: FlexTensor, dy: FlexTensor) -> FlexTensor {
        if output.dtype() != DType::F32 || dy.dtype() != DType::F32 || output.shape() != dy.shape() {
            return Flex::sigmoid_backward(output, dy);
        }
        tensor(values(&output, |s| values(&dy, |g| kernels::activation::sigmoid_backward(s, g))), output.shape())
    }
}
