//! One of nnlab's nets trained by Burn's own trainer: burn-train's `SupervisedTraining`
//! with a `Learner` (nnlab's `Net`, Adam as PyTorch's, nnlab's `Schedule` as the learning-rate
//! scheduler), fed by Burn's `DataLoader` over nnlab's CIFAR-10 `Dataset`; then the test
//! accuracy with nnlab's evaluation. Needs the `learner` feature:
//!
//! ```text
//! cargo run --release --features learner --example burn_learner -- [ARCH] [EPOCHS] [MAX_TRAIN]
//! ```

use burn::data::dataloader::DataLoaderBuilder;
use burn::train::metric::{AccuracyMetric, LossMetric};
use burn::train::{Learner, SupervisedTraining};
use nnlab::Activation;
use nnlab::data::dataset::{CifarBatcher, CifarDataset};
use nnlab::data::{DataSource, DeviceSet, SplitConfig, load};
use nnlab::model::{ArchSpec, Net};
use nnlab::train::TrainConfig;

type B = burn::backend::Autodiff<burn::backend::Flex>;
type Inner = burn::backend::Flex;

fn main() -> nnlab::Result<()> {
    let mut args = std::env::args().skip(1);
    let arch = ArchSpec::parse(&args.next().unwrap_or_else(|| "cnn4".into()))?;
    let epochs: usize = args.next().and_then(|e| e.parse().ok()).unwrap_or(1);
    let max_train: usize = args.next().and_then(|e| e.parse().ok()).unwrap_or(5_000);
    let device = Default::default();
    let split = SplitConfig { max_train: Some(max_train), ..SplitConfig::default() };
    let data = load(&DataSource::default(), &split, &nnlab::progress::Silent)?;
    let config = TrainConfig { epochs, ..TrainConfig::default() }; // Adam as PyTorch's, batch 50

    let train = DataLoaderBuilder::<B, _, _>::new(CifarBatcher)
        .batch_size(config.batch_size)
        .shuffle(config.seed)
        .num_workers(2)
        .build(CifarDataset::new(data.train.clone()));
    let valid = DataLoaderBuilder::<Inner, _, _>::new(CifarBatcher)
        .batch_size(config.eval_batch_size)
        .build(CifarDataset::new(data.val.clone()));
    // The initial weights nnlab's own loop draws for this seed.
    let model = Net::<B>::seeded(&arch, Activation::Relu, config.seed, &device)?;
    let learner = Learner::new(model, nnlab::train::pytorch_adam().init(), config.schedule.scheduler());
    let dir = std::env::temp_dir().join(format!("nnlab-burn-learner-{}", std::process::id()));
    let started = std::time::Instant::now();
    let result = SupervisedTraining::new(&dir, train, valid)
        .metric_train_numeric(AccuracyMetric::new())
        .metric_valid_numeric(AccuracyMetric::new())
        .metric_train_numeric(LossMetric::new())
        .metric_valid_numeric(LossMetric::new())
        .num_epochs(epochs)
        .summary()
        .launch(learner);
    let seconds = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    let trained_on = data.train.len();
    let test = DeviceSet::<Inner>::new(data.test, &device);
    let acc = nnlab::train::evaluate::accuracy(&result.model, &test, config.eval_batch_size);
    println!(
        "{}: Burn's Learner, {epochs} epoch(s) on {trained_on} images in {seconds:.1} s: test accuracy {acc:.4}",
        arch.name
    );
    Ok(())
}
