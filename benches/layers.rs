//! Micro-benchmarks (criterion) of what a CNN training step is made of, on cnn4's conv
//! layers at batch 50, for every compiled backend:
//! - `<backend>/conv …/{forward, forward+backward} {nnlab, burn}`: the layer through nnlab's
//!   ops (what the nets run: `kernels::conv2d`) and through Burn's plain conv2d;
//! - `<backend>/conv …/weight gradient {burn, gemm}`: the weight and bias gradients alone,
//!   Burn's own against `kernels::gpu` (im2col + batched matmul, wgpu's path);
//! - `cpu kernel/…`: nnlab's CPU conv kernel and max pooling on plain slices.
//!
//! Every timed call ends with a read-back to the host, so GPU work is complete when it
//! returns.
//!
//! ```text
//! cargo bench --bench layers                                # every compiled backend
//! cargo bench --bench layers -- flex/                       # one backend
//! cargo bench --features wgpu --bench layers -- 'wgpu/.*weight'
//! ```

use burn::tensor::backend::Backend;
use burn::tensor::module::conv2d as burn_conv2d;
use burn::tensor::{Distribution, Tensor, TensorPrimitive};
use criterion::{Criterion, criterion_group, criterion_main};
use nnlab::backend::burn_ops;
use nnlab::backend::{TrainBackend, conv_options, conv2d};
use nnlab::kernels::gpu;
use std::hint::black_box;
use std::time::Duration;

/// The allocator of the nnlab binary, so these timings match it.
#[global_allocator]
#[cfg(feature = "cli")]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// cnn4's conv layers: (input channels, input size, output channels, kernel).
const CNN4: [(usize, usize, usize, usize); 4] = [(3, 32, 16, 3), (16, 30, 8, 3), (8, 28, 16, 5), (16, 12, 16, 5)];

fn layer_name(c: usize, hw: usize, o: usize, k: usize) -> String {
    format!("conv {c}→{o} {k}x{k} on {hw}x{hw}")
}

/// Reads a float primitive back to the host, waiting for the device.
fn read<B: Backend>(t: burn::tensor::ops::FloatTensor<B>) {
    black_box(Tensor::<B, 4>::from_primitive(TensorPrimitive::Float(t)).into_data());
}

fn conv_layers<B: TrainBackend>(crit: &mut Criterion, backend: &str) {
    let d = Default::default();
    let normal = Distribution::Normal(0.0, 1.0);
    for (c, hw, o, k) in CNN4 {
        let mut group = crit.benchmark_group(format!("{backend}/{}", layer_name(c, hw, o, k)));
        group.sample_size(10).warm_up_time(Duration::from_millis(500));
        let x = Tensor::<B, 4>::random([50, c, hw, hw], normal, &d);
        let w = Tensor::<B, 4>::random([o, c, k, k], normal, &d);
        let b = Tensor::<B, 1>::random([o], normal, &d);
        let (xi, wi, bi) = (x.clone().inner(), w.clone().inner(), b.clone().inner());
        group.bench_function("forward nnlab", |t| {
            t.iter(|| black_box(conv2d(xi.clone(), wi.clone(), bi.clone(), [0, 0]).into_data()))
        });
        group.bench_function("forward burn", |t| {
            t.iter(|| {
                let y = burn_conv2d(xi.clone(), wi.clone(), Some(bi.clone()), conv_options([0, 0]));
                black_box(y.into_data())
            })
        });
        let (x, w, b) = (x.require_grad(), w.require_grad(), b.require_grad());
        // The loss Σ (y as [N·O, H'·W']) · r with r a random column: its backward hands the
        // layer a plain output gradient (an outer product) on every backend. `(y * r).sum()`
        // would pass a broadcast gradient through the multiply (7–8 ms on flex at this size),
        // and one long `[1, N·O·H'·W'] · [N·O·H'·W', 1]` product is slow on a GPU (60 ms).
        let (rows, cols) = (50 * o, (hw + 1 - k) * (hw + 1 - k));
        let r = Tensor::<B, 2>::random([cols, 1], normal, &d);
        let backward = |y: Tensor<B, 4>| {
            let g = y.reshape([rows, cols]).matmul(r.clone()).sum().backward();
            black_box(x.grad(&g).map(|g| g.into_data()));
            black_box(w.grad(&g).map(|g| g.into_data()));
        };
        group.bench_function("forward+backward nnlab", |t| {
            t.iter(|| backward(conv2d(x.clone(), w.clone(), b.clone(), [0, 0])))
        });
        group.bench_function("forward+backward burn", |t| {
            t.iter(|| {
                let y = burn_conv2d(x.clone(), w.clone(), Some(b.clone()), conv_options([0, 0]));
                backward(y)
            })
        });
        // The weight gradient alone, given an output gradient.
        let dy =
            Tensor::<B::InnerBackend, 4>::random([50, o, hw + 1 - k, hw + 1 - k], normal, &d).into_primitive().tensor();
        let prim = |t: &Tensor<B::InnerBackend, 4>| t.clone().into_primitive().tensor();
        group.bench_function("weight gradient burn", |t| {
            t.iter(|| {
                let (dw, _) = burn_ops::conv2d_param_grads::<B::InnerBackend>(
                    prim(&xi),
                    prim(&wi),
                    bi.clone().into_primitive().tensor(),
                    dy.clone(),
                    [0, 0],
                );
                read::<B::InnerBackend>(dw)
            })
        });
        group.bench_function("weight gradient gemm", |t| {
            t.iter(|| {
                let (dw, _) = gpu::conv2d_param_grads::<B::InnerBackend>(prim(&xi), [o, c, k, k], dy.clone(), [0, 0]);
                read::<B::InnerBackend>(dw)
            })
        });
        group.finish();
    }
}

/// nnlab's CPU conv kernel (`kernels::conv2d`) and max pooling (`kernels::pool`) on slices.
fn cpu_kernels(crit: &mut Criterion) {
    use nnlab::kernels::conv2d::{ConvShape, forward, input_gradient, weight_gradient};
    use nnlab::kernels::pool::{PoolShape, max_pool, max_pool_backward};
    let values = |n: usize| (0..n).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect::<Vec<f32>>();
    for (c, hw, o, k) in CNN4 {
        let mut group = crit.benchmark_group(format!("cpu kernel/{}", layer_name(c, hw, o, k)));
        group.sample_size(20);
        let s =
            ConvShape { batch: 50, in_channels: c, out_channels: o, input: [hw, hw], kernel: [k, k], padding: [0, 0] };
        let (x, w, b) = (values(50 * c * hw * hw), values(o * c * k * k), values(o));
        let y = forward(&s, &x, &w, Some(&b));
        group.bench_function("forward", |t| t.iter(|| forward(&s, &x, &w, Some(&b))));
        group.bench_function("weight gradient", |t| t.iter(|| weight_gradient(&s, &x, &y)));
        group.bench_function("input gradient", |t| t.iter(|| input_gradient(&s, &w, &y)));
        group.finish();
    }
    let mut group = crit.benchmark_group("cpu kernel/max pool 2x2");
    for (c, hw) in [(16, 24), (16, 8)] {
        let s = PoolShape { planes: 50 * c, input: [hw, hw], size: 2 };
        let x = values(50 * c * hw * hw);
        let (y, arg) = max_pool(&s, &x);
        group.bench_function(format!("forward 50x{c}x{hw}x{hw}"), |t| t.iter(|| max_pool(&s, &x)));
        group.bench_function(format!("backward 50x{c}x{hw}x{hw}"), |t| t.iter(|| max_pool_backward(&s, &y, &arg)));
    }
    group.finish();
}

fn all(crit: &mut Criterion) {
    cpu_kernels(crit);
    #[cfg(feature = "flex")]
    conv_layers::<nnlab::backend::FlexAd>(crit, "flex");
    #[cfg(feature = "ndarray")]
    conv_layers::<nnlab::backend::NdarrayAd>(crit, "ndarray");
    #[cfg(feature = "wgpu")]
    conv_layers::<nnlab::backend::WgpuAd>(crit, "wgpu");
}

criterion_group!(benches, all);
criterion_main!(benches);
