//! The same training code on a backend chosen at run time: `ndarray`, `flex`, `wgpu` or
//! `cuda` (whichever this build has), trains mlp1 for one epoch on 5 000 images, keeps the
//! trained net and saves it.
//!
//! ```text
//! cargo run --release --example any_backend -- flex my-mlp1
//! cargo run --release --features wgpu --example any_backend -- wgpu my-mlp1
//! ```

use nnlab::backend::{BackendKind, BackendTask, TrainBackend, run_task};
use nnlab::data::{DataSource, SplitConfig, load};
use nnlab::model::ArchSpec;
use nnlab::model::saved::{SavedModel, save};
use nnlab::train::{DeviceData, TrainConfig, train_model};
use nnlab::{Activation, Result};
use std::path::PathBuf;

/// What to do, written once: `run` is generic over the backend `run_task` picks.
struct TrainAndSave {
    out: PathBuf,
}

impl BackendTask for TrainAndSave {
    type Output = f64;
    fn run<B: TrainBackend>(self, device: B::Device, kind: BackendKind) -> Result<f64> {
        let split = SplitConfig { max_train: Some(5_000), max_val: Some(1_000), ..SplitConfig::default() };
        let data = DeviceData::new(load(&DataSource::default(), &split, &nnlab::progress::Silent)?, &device);
        let arch = ArchSpec::parse("mlp1")?;
        let config = TrainConfig { epochs: 1, ..TrainConfig::default() };
        let (out, net) = train_model::<B>(&arch, Activation::Relu, &config, &data, &device, &mut |_| {})?;
        let meta = SavedModel::new(arch, Activation::Relu, split.input_scale, config.seed, &out);
        save(net, &meta, &self.out)?;
        println!("trained on {kind}: test accuracy {:.4}; saved to {}", out.test_acc, self.out.display());
        Ok(out.test_acc)
    }
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let kind: BackendKind = match args.next() {
        Some(name) => name.parse()?,
        None => BackendKind::default_compiled()
            .ok_or_else(|| nnlab::Error::invalid("backend", "no backend is compiled into this build"))?,
    };
    let out = PathBuf::from(args.next().unwrap_or_else(|| "my-mlp1".into()));
    run_task(kind, TrainAndSave { out })?;
    Ok(())
}
