//! conv2d written from scratch, with the defaults of `torch.nn.functional.conv2d`:
//! no padding ("valid"), stride 1, no dilation, no bias.
//!
//! Input `[N, C, H, W]`, kernel `[O, C, kh, kw]`, output `[N, O, H − kh + 1, W − kw + 1]`:
//!
//! `out[n, o, y, x] = Σ_c Σ_i Σ_j input[n, c, y + i, x + j] · kernel[o, c, i, j]`
//!
//! Two versions of the same sum:
//! - [`conv2d_reference`]: the textbook loops over host slices, the definition itself.
//! - [`conv2d_tensor`]: [`im2col`] (sliding windows copied into rows), then one matrix
//!   product; pure Burn tensor ops, so it runs (and differentiates) on any backend.

use crate::error::{Error, Result};
use crate::npy::HostArray;
use burn::tensor::ops::PadMode;
use burn::tensor::{Tensor, backend::Backend};

/// Checks that `input` `[N, C, H, W]` and `kernel` `[O, C, kh, kw]` fit together and returns
/// the output shape `[N, O, H − kh + 1, W − kw + 1]`.
pub fn output_shape(input: &[usize], kernel: &[usize]) -> Result<[usize; 4]> {
    let rank = |what: &str, s: &[usize], layout: &str| -> Result<[usize; 4]> {
        s.try_into().map_err(|_| {
            Error::Shape(format!("{what} must have 4 dimensions {layout}, got {} with shape {s:?}", s.len()))
        })
    };
    let [n, c, h, w] = rank("input", input, "[N, C, H, W]")?;
    let [o, kc, kh, kw] = rank("kernel", kernel, "[O, C, kh, kw]")?;
    if c != kc {
        return Err(Error::Shape(format!(
            "input has {c} channel(s) (shape {input:?}) but the kernel expects {kc} (shape {kernel:?}); \
             the second dimension of both must match"
        )));
    }
    if kh > h || kw > w {
        return Err(Error::Shape(format!(
            "kernel {kh}×{kw} is larger than the {h}×{w} image; with no padding the kernel must fit inside the image"
        )));
    }
    if [n, c, h, w, o, kh, kw].contains(&0) {
        return Err(Error::Shape(format!("empty dimension in input {input:?} or kernel {kernel:?}")));
    }
    Ok([n, o, h - kh + 1, w - kw + 1])
}

/// The definition, as nested loops over host memory.
pub fn conv2d_reference(input: &HostArray, kernel: &HostArray) -> Result<HostArray> {
    let [n, o, oh, ow] = output_shape(&input.shape, &kernel.shape)?;
    let [_, c, h, w] = input.dims::<4>("input")?;
    let [_, _, kh, kw] = kernel.dims::<4>("kernel")?;
    let mut out = vec![0f32; n * o * oh * ow];
    for b in 0..n {
        for f in 0..o {
            for y in 0..oh {
                for x in 0..ow {
                    let mut sum = 0f32;
                    for ch in 0..c {
                        for i in 0..kh {
                            for j in 0..kw {
                                sum += input.data[((b * c + ch) * h + y + i) * w + x + j]
                                    * kernel.data[((f * c + ch) * kh + i) * kw + j];
                            }
                        }
                    }
                    out[((b * o + f) * oh + y) * ow + x] = sum;
                }
            }
        }
    }
    HostArray::new(vec![n, o, oh, ow], out)
}

/// `x` `[N, C, H, W]` with `padding` = `[ph, pw]` zeros on each side of H and W (as it is
/// when both are 0).
pub fn zero_pad<B: Backend>(x: Tensor<B, 4>, padding: [usize; 2]) -> Tensor<B, 4> {
    match padding {
        [0, 0] => x,
        [ph, pw] => x.pad([(ph, ph), (pw, pw)], PadMode::Constant(0.0)),
    }
}

/// im2col of `x` `[N, C, H, W]` for a `kh`×`kw` kernel at stride 1 after zero `padding`:
/// `[N, H'·W', C·kh·kw]`, each row one output position's receptive field in the order of
/// the kernel `[O, C, kh, kw]` flattened. Pure tensor ops: Burn's `unfold` windows (views),
/// then one copy into rows.
pub fn im2col<B: Backend>(x: Tensor<B, 4>, kernel: [usize; 2], padding: [usize; 2]) -> Tensor<B, 3> {
    let [kh, kw] = kernel;
    let x = zero_pad(x, padding);
    let [n, c, h, w] = x.dims();
    let (oh, ow) = (h + 1 - kh, w + 1 - kw);
    // Views, no copy: [N, C, H', W, kh], then [N, C, H', W', kh, kw].
    let windows: Tensor<B, 6> = x.unfold::<5, _>(2, kh, 1).unfold(3, kw, 1);
    // The one copy: [N, H', W', C, kh, kw] laid out contiguously.
    windows.permute([0, 2, 3, 1, 4, 5]).reshape([n, oh * ow, c * kh * kw])
}

/// im2col + matmul on any backend. Shapes must already be valid (see [`output_shape`]).
///
/// [`im2col`] gives one row of patches per output position, in the same order as the
/// kernel flattened to `[O, C·kh·kw]`; the convolution is their product.
pub fn conv2d_tensor<B: Backend>(input: Tensor<B, 4>, kernel: Tensor<B, 4>) -> Tensor<B, 4> {
    let [n, _, h, w] = input.dims();
    let [o, c, kh, kw] = kernel.dims();
    let (oh, ow) = (h - kh + 1, w - kw + 1);
    let patches = im2col(input, [kh, kw], [0, 0]).reshape([n * oh * ow, c * kh * kw]);
    let weights = kernel.reshape([o, c * kh * kw]).transpose();
    patches.matmul(weights).reshape([n, oh, ow, o]).permute([0, 3, 1, 2])
}

/// [`conv2d_tensor`] on host arrays: checks shapes, moves data to `device`, returns to host.
pub fn conv2d_on<B: Backend>(input: &HostArray, kernel: &HostArray, device: &B::Device) -> Result<HostArray> {
    let shape = output_shape(&input.shape, &kernel.shape)?;
    let to_tensor = |a: &HostArray| -> Result<Tensor<B, 4>> {
        let dims = a.dims::<4>("array")?;
        Ok(Tensor::from_data(burn::tensor::TensorData::new(a.data.clone(), dims), device))
    };
    let out = conv2d_tensor(to_tensor(input)?, to_tensor(kernel)?);
    let data = out.into_data().convert::<f32>().to_vec().map_err(|e| Error::Shape(format!("{e:?}")))?;
    HostArray::new(shape.to_vec(), data)
}
