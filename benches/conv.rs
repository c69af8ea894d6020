//! The from-scratch tensor conv2d (im2col + matmul) against Burn's own conv2d on the
//! homework's first-layer shape: input [50, 3, 32, 32], kernel [16, 3, 3, 3].
//!
//! ```text
//! cargo bench --bench conv                 # flex (and ndarray) forward times and the ratio
//! ```

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Distribution, Tensor, backend::Backend};
use nnlab::conv::conv2d_tensor;
use nnlab::bench::time_ms;


fn bench<B: Backend>(name: &str) {
    let device = B::Device::default();
    let x = Tensor::<B, 4>::random([50, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device);
    let k = Tensor::<B, 4>::random([16, 3, 3, 3], Distribution::Normal(0.0, 1.0), &device);
    let ours = time_ms(3, 30, || {
        let _ = conv2d_tensor(x.clone(), k.clone()).into_data();
    })
    .median_ms;
    let burn = time_ms(3, 30, || {
        let _ = conv2d(x.clone(), k.clone(), None, ConvOptions::new([1, 1], [0, 0], [1, 1], 1)).into_data();
    })
    .median_ms;
    println!("{name:<8} conv2d [50,3,32,32]*[16,3,3,3]: from-scratch {ours:.3} ms, Burn {burn:.3} ms, ratio {:.2}", ours / burn);
}

fn main() {
    #[cfg(feature = "flex")]
    bench::<burn::backend::Flex>("flex");
    #[cfg(feature = "ndarray")]
    bench::<burn::backend::NdArray>("ndarray");
    #[cfg(feature = "wgpu")]
    bench::<burn::backend::Wgpu>("wgpu");
}
