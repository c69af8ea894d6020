//! Where a cnn4 training step spends its time: each conv layer's forward and
//! forward + backward (weight, bias and input gradients) at batch 50, and the forward at
//! batch 1 000 (a validation chunk), on every compiled CPU backend.
//!
//! ```text
//! cargo bench --bench layers
//! ```

use burn::tensor::backend::AutodiffBackend;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Distribution, Tensor};
use nnlab::bench::time_ms;

/// The allocator of the nnlab binary, so these timings match it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// cnn4's conv layers: (input channels, input size, output channels, kernel).
const CNN4: [(usize, usize, usize, usize); 4] = [
    (3, 32, 16, 3),
    (16, 30, 8, 3),
    (8, 28, 16, 5),
    (16, 12, 16, 5),
];

fn bench<B: AutodiffBackend>(name: &str) {
    let d = Default::default();
    let opts = || ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
    println!("{name}: layer | fwd b50 ms | fwd+bwd b50 ms | fwd b1000 ms");
    for (c, hw, o, k) in CNN4 {
        let x =
            Tensor::<B::InnerBackend, 4>::random([50, c, hw, hw], Distribution::Normal(0., 1.), &d);
        let big = Tensor::<B::InnerBackend, 4>::random(
            [1000, c, hw, hw],
            Distribution::Normal(0., 1.),
            &d,
        );
        let w =
            Tensor::<B::InnerBackend, 4>::random([o, c, k, k], Distribution::Normal(0., 1.), &d);
        let b = Tensor::<B::InnerBackend, 1>::random([o], Distribution::Normal(0., 1.), &d);
        let fwd = time_ms(1, 7, || {
            drop(conv2d(x.clone(), w.clone(), Some(b.clone()), opts()).into_data())
        })
        .median_ms;
        let fwd_big = time_ms(1, 7, || {
            drop(conv2d(big.clone(), w.clone(), Some(b.clone()), opts()).into_data())
        })
        .median_ms;
        let xa = Tensor::<B, 4>::from_inner(x.clone()).require_grad();
        let wa = Tensor::<B, 4>::from_inner(w.clone()).require_grad();
        let ba = Tensor::<B, 1>::from_inner(b.clone()).require_grad();
        let both = time_ms(1, 7, || {
            let g = conv2d(xa.clone(), wa.clone(), Some(ba.clone()), opts())
                .sum()
                .backward();
            drop(wa.grad(&g).map(|g| g.into_data()));
        })
        .median_ms;
        println!("  conv {c}→{o} {k}×{k} on {hw}×{hw} | {fwd:.2} | {both:.2} | {fwd_big:.1}");
    }
}

/// The same layers through nnlab's own CPU kernel (`nnlab::kernels::conv2d`) on plain slices.
fn bench_kernel() {
    use nnlab::kernels::conv2d::{ConvShape, forward, input_gradient, weight_gradient};
    println!("nnlab kernel: layer | fwd b50 ms | fwd+bwd b50 ms | fwd b1000 ms | GFLOP/s fwd+bwd");
    for (c, hw, o, k) in CNN4 {
        let s = ConvShape {
            batch: 50,
            in_channels: c,
            out_channels: o,
            input: [hw, hw],
            kernel: [k, k],
            padding: [0, 0],
        };
        let big = ConvShape { batch: 1000, ..s };
        let values = |n: usize| {
            (0..n)
                .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
                .collect::<Vec<f32>>()
        };
        let (x, xb, w, b) = (
            values(50 * c * hw * hw),
            values(1000 * c * hw * hw),
            values(o * c * k * k),
            values(o),
        );
        let fwd = time_ms(1, 7, || drop(forward(&s, &x, &w, Some(&b)))).median_ms;
        let fwd_big = time_ms(1, 3, || drop(forward(&big, &xb, &w, Some(&b)))).median_ms;
        let both = time_ms(1, 7, || {
            let y = forward(&s, &x, &w, Some(&b));
            drop(weight_gradient(&s, &x, &y));
            drop(input_gradient(&s, &w, &y));
        })
        .median_ms;
        let y = forward(&s, &x, &w, Some(&b));
        let wg = time_ms(1, 7, || drop(weight_gradient(&s, &x, &y))).median_ms;
        let ig = time_ms(1, 7, || drop(input_gradient(&s, &w, &y))).median_ms;
        let mut cols = vec![0.0f32; c * k * k * (hw - k + 1) * hw];
        let i2c = time_ms(1, 7, || {
            for img in x.chunks(c * hw * hw) {
                nnlab::kernels::conv2d::im2col(&s, img, &mut cols)
            }
        })
        .median_ms;
        println!("    im2col x50 single thread {i2c:.2} ms");
        println!("    weight gradient {wg:.2} ms, input gradient {ig:.2} ms");
        let [oh, ow] = s.output();
        let flop = 3.0 * 2.0 * (50 * o * oh * ow * c * k * k) as f64;
        println!(
            "  conv {c}→{o} {k}×{k} on {hw}×{hw} | {fwd:.2} | {both:.2} | {fwd_big:.1} | {:.1}",
            flop / both / 1e6
        );
    }
}

/// cnn4's two max-pooling layers through `nnlab::kernels::pool`.
fn bench_pool() {
    use nnlab::kernels::pool::{PoolShape, max_pool, max_pool_backward};
    for (c, hw) in [(16, 24), (16, 8)] {
        let s = PoolShape {
            planes: 50 * c,
            input: [hw, hw],
            size: 2,
        };
        let x: Vec<f32> = (0..50 * c * hw * hw)
            .map(|i| ((i * 7919) % 1000) as f32)
            .collect();
        let fwd = time_ms(1, 7, || drop(max_pool(&s, &x))).median_ms;
        let (y, arg) = max_pool(&s, &x);
        let bwd = time_ms(1, 7, || drop(max_pool_backward(&s, &y, &arg))).median_ms;
        println!("  max pool 2×2 of 50×{c}×{hw}×{hw}: forward {fwd:.3} ms, backward {bwd:.3} ms");
    }
}

fn main() {
    bench_pool();
    bench_kernel();
    #[cfg(feature = "flex")]
    bench::<nnlab::backend::FlexAd>("flex");
    #[cfg(feature = "ndarray")]
    bench::<nnlab::backend::NdarrayAd>("ndarray");
}
