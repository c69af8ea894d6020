//! conv2d from scratch on your own `.npy` files (uint8, float32 or float64), written back
//! as float32 `.npy`.
//!
//! ```text
//! cargo run --example conv_npy -- images.npy kernels.npy out.npy
//! ```

use nnlab::conv::{conv2d_on, conv2d_reference};
use nnlab::npy::{read_npy, write_npy_f32};
use std::path::PathBuf;

type B = burn::backend::NdArray;

fn main() -> nnlab::Result<()> {
    let args: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let [input, kernel, out] = args.as_slice() else {
        eprintln!("usage: conv_npy IMAGES.npy KERNELS.npy OUT.npy   (images [N, C, H, W], kernels [O, C, kh, kw])");
        std::process::exit(2);
    };
    let (x, k) = (read_npy(input)?, read_npy(kernel)?);
    let y = conv2d_on::<B>(&x, &k, &Default::default())?; // im2col + matmul on a Burn backend
    let reference = conv2d_reference(&x, &k)?; // the textbook loops
    let diff = y.data.iter().zip(&reference.data).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    write_npy_f32(out, &y)?;
    println!(
        "{:?} * {:?} → {:?} (max |tensor − loops| = {diff:.2e}), wrote {}",
        x.shape,
        k.shape,
        y.shape,
        out.display()
    );
    Ok(())
}
