//! Stacked members against separate nets (issue #14): for each net, K = 5 training steps of
//! five separate nets (nnlab's one step, each with its own Adam as the loop builds it) against
//! one step of the five stacked into one net (`nnlab::model::stacked`), batch 50; and the
//! validation forward pass of the five over one batch of 1 000 images (the loop's evaluation
//! batch), separately and stacked; on every compiled backend. Each timed call ends with a
//! read-back, so GPU work is complete when it returns. Stacking is worth wiring into the
//! studies where `stacked` is well under `separate`.
//!
//! ```text
//! cargo bench --bench stacked                         # every compiled backend
//! cargo bench --features cuda --bench stacked -- cuda/
//! ```

use burn::module::AutodiffModule;
use burn::tensor::{Distribution, Int, Tensor};
use criterion::{Criterion, criterion_group, criterion_main};
use nnlab::Activation;
use nnlab::backend::TrainBackend;
use nnlab::model::stacked::{StackedNet, train_step_stacked};
use nnlab::model::{ArchSpec, Net};
use nnlab::train::{OptimizerConfig, StepRecord, train_step};
use std::hint::black_box;
use std::time::Duration;

/// The allocator of the nnlab binary, so these timings match it.
#[global_allocator]
#[cfg(feature = "cli")]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const MEMBERS: usize = 5;
const BATCH: usize = 50;
const EVAL_BATCH: usize = 1000;

/// Whether the command line's filters (if any) can select `backend`'s benchmarks: a backend's
/// set-up touches its device, which must not happen for one that is not asked for (wgpu
/// without a Vulkan loader on a CUDA machine would stop the run).
fn wanted(backend: &str) -> bool {
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    filters.is_empty() || filters.iter().any(|f| f.contains(backend) || backend.contains(f.trim_end_matches('/')))
}

fn steps<B: TrainBackend>(crit: &mut Criterion, backend: &str, device: B::Device) {
    if !wanted(backend) {
        return;
    }
    for name in ["mlp2", "cnn3", "cnn4", "cnn5"] {
        let spec = ArchSpec::parse(name).expect("built-in net");
        let mut group = crit.benchmark_group(format!("{backend}/{name} x{MEMBERS}"));
        group.sample_size(10).warm_up_time(Duration::from_millis(500));
        let nets: Vec<Net<B>> =
            (0..MEMBERS).map(|_| Net::new(&spec, Activation::Relu, &device).expect("valid")).collect();
        let images = Tensor::<B, 5>::random([MEMBERS, BATCH, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device);
        let labels = Tensor::<B, 2, Int>::random([MEMBERS, BATCH], Distribution::Uniform(0.0, 10.0), &device);
        let mut separate: Vec<_> = nets.iter().map(|n| (n.clone(), OptimizerConfig::Adam.init())).collect();
        group.bench_function("separate", |t| {
            t.iter(|| {
                let mut last = None;
                for (m, (net, optim)) in separate.iter_mut().enumerate() {
                    let x = images.clone().narrow(0, m, 1).reshape([BATCH, 3, 32, 32]);
                    let y = labels.clone().narrow(0, m, 1).reshape([BATCH]);
                    let record = StepRecord { loss_and_accuracy: m + 1 == MEMBERS, first_grad_norm: false };
                    let (next, out) = train_step(net.clone(), optim, x, y, 1e-3, record);
                    *net = next;
                    last = out.loss;
                }
                black_box(last.map(|l| l.into_data()))
            })
        });
        let mut stacked = Some(StackedNet::from_members(&nets).expect("one architecture"));
        let mut optim = OptimizerConfig::Adam.init();
        group.bench_function("stacked", |t| {
            t.iter(|| {
                let model = stacked.take().expect("put back after each step");
                let (next, losses) = train_step_stacked(model, &mut optim, images.clone(), labels.clone(), 1e-3);
                stacked = Some(next);
                black_box(losses.into_data())
            })
        });
        // Validation: the members' predictions for the same images, as the loop counts them.
        let valid: Vec<Net<B::InnerBackend>> = separate.iter().map(|(n, _)| n.valid()).collect();
        let stacked_valid = stacked.as_ref().expect("put back after each step").valid();
        let val =
            Tensor::<B::InnerBackend, 4>::random([EVAL_BATCH, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device);
        group.bench_function("separate validation", |t| {
            t.iter(|| {
                let counts: Vec<_> = valid.iter().map(|n| n.forward(val.clone()).argmax(1).sum()).collect();
                black_box(Tensor::cat(counts, 0).into_data())
            })
        });
        group.bench_function("stacked validation", |t| {
            t.iter(|| {
                let x = val.clone().unsqueeze_dim::<5>(0).expand([MEMBERS, EVAL_BATCH, 3, 32, 32]);
                black_box(stacked_valid.forward(x).argmax(2).sum_dim(1).into_data())
            })
        });
        group.finish();
    }
}

fn all(crit: &mut Criterion) {
    #[cfg(feature = "flex")]
    steps::<nnlab::backend::FlexAd>(crit, "flex", Default::default());
    #[cfg(feature = "ndarray")]
    steps::<nnlab::backend::NdarrayAd>(crit, "ndarray", Default::default());
    #[cfg(feature = "wgpu")]
    steps::<nnlab::backend::WgpuAd>(crit, "wgpu", Default::default());
    #[cfg(feature = "cuda")]
    steps::<nnlab::backend::CudaAd>(crit, "cuda", Default::default());
}

criterion_group!(benches, all);
criterion_main!(benches);
