//! The from-scratch tensor conv2d (im2col + matmul, `nnlab::conv::conv2d_tensor`) against
//! Burn's own conv2d on the homework's first-layer shape: input [50, 3, 32, 32], kernel
//! [16, 3, 3, 3], forward only, on every compiled backend (criterion).
//!
//! ```text
//! cargo bench --bench conv
//! ```

use burn::tensor::module::conv2d;
use burn::tensor::{Distribution, Tensor, backend::Backend};
use criterion::{Criterion, criterion_group, criterion_main};
use nnlab::backend::conv_options;
use nnlab::conv::conv2d_tensor;
use std::hint::black_box;

fn bench<B: Backend>(crit: &mut Criterion, name: &str) {
    let device = B::Device::default();
    let x = Tensor::<B, 4>::random([50, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device);
    let k = Tensor::<B, 4>::random([16, 3, 3, 3], Distribution::Normal(0.0, 1.0), &device);
    let mut group = crit.benchmark_group(format!("{name}/conv2d [50,3,32,32]*[16,3,3,3]"));
    group.bench_function("from scratch", |t| t.iter(|| black_box(conv2d_tensor(x.clone(), k.clone()).into_data())));
    group.bench_function("burn", |t| {
        t.iter(|| black_box(conv2d(x.clone(), k.clone(), None, conv_options([0, 0])).into_data()))
    });
    group.finish();
}

fn all(crit: &mut Criterion) {
    #[cfg(feature = "flex")]
    bench::<burn::backend::Flex>(crit, "flex");
    #[cfg(feature = "ndarray")]
    bench::<burn::backend::NdArray>(crit, "ndarray");
    #[cfg(feature = "wgpu")]
    bench::<burn::backend::Wgpu>(crit, "wgpu");
}

criterion_group!(benches, all);
criterion_main!(benches);
