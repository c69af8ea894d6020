//! nnlab's CIFAR-10 through Burn's own data pipeline: the prepared split as a Burn
//! `Dataset`, batched by Burn's `DataLoader` (shuffled, on worker threads), training one of
//! nnlab's nets with nnlab's training step; then the same epochs with nnlab's loop, whose
//! batches are gathered on the device, for the time of each.
//!
//! ```text
//! cargo run --release --example burn_dataloader -- [ARCH] [EPOCHS] [MAX_TRAIN]
//! cargo run --release --example burn_dataloader -- cnn4 1 45000    # the homework's split
//! ```

use burn::data::dataloader::DataLoaderBuilder;
use burn::module::AutodiffModule;
use burn::tensor::ElementConversion;
use burn::tensor::backend::AutodiffBackend;
use nnlab::Activation;
use nnlab::data::dataset::{CifarBatcher, CifarDataset};
use nnlab::data::{DataSource, SplitConfig, load};
use nnlab::model::{ArchSpec, Net};
use nnlab::train::{DeviceData, StepRecord, TrainConfig, train, train_step};
use std::time::Instant;

type B = burn::backend::Autodiff<burn::backend::Flex>;

fn main() -> nnlab::Result<()> {
    let mut args = std::env::args().skip(1);
    let arch = ArchSpec::parse(&args.next().unwrap_or_else(|| "cnn4".into()))?;
    let epochs: usize = args.next().and_then(|e| e.parse().ok()).unwrap_or(1);
    let max_train: usize = args.next().and_then(|e| e.parse().ok()).unwrap_or(5_000);
    let device = Default::default();
    let split = SplitConfig { max_train: Some(max_train), ..SplitConfig::default() };
    let data = load(&DataSource::default(), &split, &nnlab::progress::Silent)?;
    let config = TrainConfig { epochs, ..TrainConfig::default() }; // Adam as PyTorch's, batch 50

    // 1. Burn's DataLoader over nnlab's Dataset.
    let train_loader = DataLoaderBuilder::<B, _, _>::new(CifarBatcher)
        .batch_size(config.batch_size)
        .shuffle(config.seed)
        .num_workers(2)
        .build(CifarDataset::new(data.train.clone()));
    let test_loader = DataLoaderBuilder::<<B as AutodiffBackend>::InnerBackend, _, _>::new(CifarBatcher)
        .batch_size(config.eval_batch_size)
        .build(CifarDataset::new(data.test.clone()));
    // The initial weights nnlab's own loop draws for this seed.
    let mut model = Net::<B>::seeded(&arch, Activation::Relu, config.seed, &device)?;
    let mut optim = nnlab::train::pytorch_adam().init();
    let lr = config.schedule.lrs[0];
    let started = Instant::now();
    for epoch in 1..=epochs {
        for batch in train_loader.iter() {
            (model, _) = train_step(model, &mut optim, batch.images, batch.labels, lr, StepRecord::default());
        }
        println!("DataLoader: epoch {epoch}/{epochs} done at {:.1} s", started.elapsed().as_secs_f64());
    }
    let loader_seconds = started.elapsed().as_secs_f64();
    let model = model.valid();
    let (mut correct, mut total) = (0i64, 0usize);
    for batch in test_loader.iter() {
        let n = batch.labels.dims()[0];
        let predicted = model.forward(batch.images).argmax(1).squeeze_dim::<1>(1);
        correct += predicted.equal(batch.labels).int().sum().into_scalar().elem::<i64>();
        total += n;
    }
    println!(
        "{}: Burn DataLoader, {epochs} epoch(s) on {} images: {loader_seconds:.1} s of training, test accuracy {:.4}",
        arch.name,
        data.train.len(),
        correct as f64 / total as f64
    );

    // 2. nnlab's loop: each split uploaded once, batches gathered on the device.
    let resident = DeviceData::new(data, &device);
    let config = TrainConfig { record_val: false, ..config };
    let out = train::<B>(&arch, Activation::Relu, &config, &resident, &device, &mut |_| {})?;
    let steps_seconds = out.curves.seconds.last().copied().unwrap_or(out.seconds);
    println!(
        "{}: nnlab's device-resident batches, the same epochs: {:.1} s (with its recording every {} steps), test \
         accuracy {:.4}",
        arch.name, steps_seconds, config.record_every, out.test_acc
    );
    Ok(())
}
