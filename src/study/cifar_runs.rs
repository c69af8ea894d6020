//! What the CIFAR-10 studies share: the identity of a run (compared on resume), loading
//! the data once, training with a progress bar, and statistics over seeds.

use super::StudyContext;
use crate::activation::Activation;
use crate::data::SplitConfig;
use crate::error::Result;
use crate::model::ArchSpec;
use crate::results::{read_json, write_json};
use crate::train::{DeviceData, TrainConfig, TrainOutcome, train};
use crate::kernels::TrainBackend;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::path::Path;

/// Everything that determines a run's result; a stored run is reused only if its key
/// equals the requested one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunKey {
    /// The network.
    pub arch: ArchSpec,
    /// Its activation.
    pub activation: Activation,
    /// The training protocol, seed included.
    pub train: TrainConfig,
    /// The data split and scaling.
    pub split: SplitConfig,
}

/// A stored result that knows which [`RunKey`] produced it.
pub trait Keyed {
    /// The key it was trained with.
    fn key(&self) -> &RunKey;
}

impl Keyed for super::architectures::ArchRun {
    fn key(&self) -> &RunKey {
        &self.key
    }
}

/// Returns the stored result at `path` if its key matches (and `--force` is off);
/// otherwise trains `key` (loading the data on first need), turns the outcome into a
/// result with `make`, and writes it atomically.
#[allow(clippy::too_many_arguments)]
pub fn reuse_or_train<B: TrainBackend, R: Keyed + Serialize + DeserializeOwned>(
    ctx: &StudyContext,
    path: &Path,
    key: &RunKey,
    label: &str,
    data: &mut Option<DeviceData<B::InnerBackend>>,
    device: &B::Device,
    make: impl FnOnce(TrainOutcome) -> R,
) -> Result<R> {
    if !ctx.force
        && let Ok(stored) = read_json::<R>(path)
            && stored.key() == key {
                return Ok(stored);
            }
    let outcome = train_key::<B>(ctx, key, label, data, device)?;
    let result = make(outcome);
    write_json(path, &result)?;
    Ok(result)
}

/// Trains one [`RunKey`] with a progress bar (epoch, step, loss, val acc, ETA).
pub fn train_key<B: TrainBackend>(
    ctx: &StudyContext,
    key: &RunKey,
    label: &str,
    data: &mut Option<DeviceData<B::InnerBackend>>,
    device: &B::Device,
) -> Result<TrainOutcome> {
    let data = match data {
        Some(d) => d,
        None => {
            let prepared = crate::data::load(&ctx.data_source, &key.split, ctx.quiet)?;
            data.insert(DeviceData::new(&prepared, device))
        }
    };
    let bar = crate::progress::bar(1, label, ctx.quiet);
    let outcome = train::<B>(&key.arch, key.activation, &key.train, data, device, &mut |p| {
        bar.set_length(p.total as u64);
        bar.set_position(p.step as u64);
        let val = p.val_acc.map(|v| format!(" val {v:.3}")).unwrap_or_default();
        bar.set_message(format!("ep {}/{} loss {:.3}{val}", p.epoch, key.train.epochs, p.loss));
    })?;
    bar.finish_and_clear();
    Ok(outcome)
}

/// A network stuck at chance: every recorded loss within 0.01 of ln 10 after the first
/// tenth of training (cnn5 does this for some seeds in PyTorch too).
pub fn is_dead(loss: &[f64]) -> bool {
    let tail = &loss[loss.len() / 10..];
    !tail.is_empty() && tail.iter().all(|l| (l - 10f64.ln()).abs() < 0.01)
}

/// Mean and standard deviation over seeds, point by point (curves may differ in length
/// when a run diverged: each point uses the runs that reached it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeedStats {
    /// Mean per point.
    pub mean: Vec<f64>,
    /// Population standard deviation per point.
    pub std: Vec<f64>,
}

impl SeedStats {
    /// Statistics of `curves`, point by point.
    pub fn of(curves: &[&Vec<f64>]) -> SeedStats {
        let len = curves.iter().map(|c| c.len()).max().unwrap_or(0);
        let mut out = SeedStats::default();
        for i in 0..len {
            let s = crate::results::Stats::of(&curves.iter().filter_map(|c| c.get(i).copied()).collect::<Vec<_>>());
            out.mean.push(s.mean);
            out.std.push(s.std);
        }
        out
    }
}
