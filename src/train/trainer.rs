//! The one training loop every study uses: mini-batch training of a [`Net`] on
//! device-resident CIFAR-10, recording curves every `record_every` steps.
//!
//! GPU-first: a batch is an index gather on the device; the host reads values back only at
//! record points (loss, batch accuracy, gradient norm, validation accuracy).

use super::checkpoint::{Checkpoints, Resumed};
use super::config::TrainConfig;
use super::evaluate::{accuracy, correct_count};
use super::step::{StepRecord, train_step};
use crate::activation::Activation;
use crate::backend::TrainBackend;
use crate::data::{DeviceSet, EpochBatches};
use crate::error::Result;
use crate::model::{ArchSpec, Net};
use burn::module::AutodiffModule;
use burn::optim::Optimizer;
use burn::tensor::backend::Backend;
use burn::tensor::{BasicOps, Int, Tensor};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// The training, validation and test sets on one device (the non-autodiff backend).
#[derive(Debug, Clone)]
pub struct DeviceData<B: Backend> {
    /// Training images.
    pub train: DeviceSet<B>,
    /// Validation images.
    pub val: DeviceSet<B>,
    /// Test images.
    pub test: DeviceSet<B>,
}

impl<B: Backend> DeviceData<B> {
    /// Uploads prepared CIFAR-10 to `device` (taking it: see [`DeviceSet::new`]).
    pub fn new(data: crate::data::Prepared, device: &B::Device) -> Self {
        Self {
            train: DeviceSet::new(data.train, device),
            val: DeviceSet::new(data.val, device),
            test: DeviceSet::new(data.test, device),
        }
    }
}

/// Prepared data sets on a device, kept for every run of a process: the CIFAR-10 studies
/// (and the concurrent workers of [`crate::study::concurrent`]) load and upload each split
/// once. Cheap to clone: clones share the sets.
#[derive(Clone, Default)]
pub struct DataCache(std::sync::Arc<std::sync::Mutex<Vec<CachedData>>>);

/// One entry of a [`DataCache`]: the split, the backend and device, and the sets.
struct CachedData {
    split: crate::data::SplitConfig,
    backend: std::any::TypeId,
    device: String,
    data: Box<dyn std::any::Any + Send + Sync>,
}

impl DataCache {
    /// The sets of `split` on `device`: from the cache, or from `load` (called at most once
    /// per split, backend and device, while other callers wait).
    pub fn get_or_load<B: Backend>(
        &self,
        split: &crate::data::SplitConfig,
        device: &B::Device,
        load: impl FnOnce() -> Result<DeviceData<B>>,
    ) -> Result<DeviceData<B>> {
        let mut entries = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let (backend, dev) = (std::any::TypeId::of::<B>(), format!("{device:?}"));
        let found = entries.iter().find(|e| e.split == *split && e.backend == backend && e.device == dev);
        if let Some(data) = found.and_then(|e| e.data.downcast_ref::<DeviceData<B>>()) {
            return Ok(data.clone());
        }
        let data = load()?;
        entries.push(CachedData { split: split.clone(), backend, device: dev, data: Box::new(data.clone()) });
        Ok(data)
    }
}

impl std::fmt::Debug for DataCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.lock().map(|e| e.len()).unwrap_or(0);
        write!(f, "DataCache({n} sets)")
    }
}

/// The curves of one run, one entry per record point.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Curves {
    /// Global step (0-based) of each record.
    pub step: Vec<usize>,
    /// Training loss of that step's batch (NaN stored as null).
    #[serde(with = "crate::results::nan_as_null")]
    pub loss: Vec<f64>,
    /// Accuracy on that step's batch, as a fraction.
    pub train_acc: Vec<f64>,
    /// Accuracy on the whole validation set (empty when not recorded).
    pub val_acc: Vec<f64>,
    /// L2 norm of ∂loss/∂(first layer weights) (empty when not recorded; NaN as null).
    #[serde(with = "crate::results::nan_as_null")]
    pub grad_norm: Vec<f64>,
    /// Learning rate used at that step.
    pub lr: Vec<f64>,
    /// Seconds since training started.
    pub seconds: Vec<f64>,
}

/// The first layer's weights on the host, for visualisation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FirstLayerWeights {
    /// Conv: `[out, in, kh, kw]`; FC: `[in, out, 1, 1]`.
    pub shape: Vec<usize>,
    /// Values in that shape's row-major order.
    #[serde(with = "crate::results::nan_as_null")]
    pub values: Vec<f32>,
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOutcome {
    /// The recorded curves.
    pub curves: Curves,
    /// Accuracy on the test set after training (NaN if the run diverged).
    #[serde(with = "crate::results::nan_as_null")]
    pub test_acc: f64,
    /// Steps taken.
    pub steps: usize,
    /// True when the loss became NaN or infinite; training stopped at that record point.
    pub diverged: bool,
    /// The first layer's weights after training.
    pub first_weights: FirstLayerWeights,
    /// Wall time of the whole run, evaluation included.
    pub seconds: f64,
}

/// What the progress callback sees at each record point.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Steps done.
    pub step: usize,
    /// Total steps.
    pub total: usize,
    /// Current epoch (1-based).
    pub epoch: usize,
    /// Last recorded loss.
    pub loss: f64,
    /// Last validation accuracy, if recorded.
    pub val_acc: Option<f64>,
}

/// Trains `arch` with `activation` on `data` as `config` says and evaluates it on the test set.
/// [`train_model`] also hands back the trained net.
pub fn train<B: TrainBackend>(
    arch: &ArchSpec,
    activation: Activation,
    config: &TrainConfig,
    data: &DeviceData<B::InnerBackend>,
    device: &B::Device,
    progress: &mut dyn FnMut(Progress),
) -> Result<TrainOutcome> {
    train_model::<B>(arch, activation, config, data, device, progress).map(|(outcome, _)| outcome)
}

/// [`train`], handing back the trained net too (without its autodiff state), to keep
/// ([`crate::model::saved::save`]), evaluate again or predict with.
pub fn train_model<B: TrainBackend>(
    arch: &ArchSpec,
    activation: Activation,
    config: &TrainConfig,
    data: &DeviceData<B::InnerBackend>,
    device: &B::Device,
    progress: &mut dyn FnMut(Progress),
) -> Result<(TrainOutcome, Net<B::InnerBackend>)> {
    train_with::<B>(arch, activation, config, data, device, None, progress)
}

/// [`train_model`], writing a checkpoint into `checkpoints` at the end of every epoch but the
/// last, and, when it holds one of this run, going on from there instead of from the start
/// (see [`super::checkpoint`]). The checkpoint is left when the run ends: clear it once the
/// result is kept.
pub fn train_resumable<B: TrainBackend>(
    arch: &ArchSpec,
    activation: Activation,
    config: &TrainConfig,
    data: &DeviceData<B::InnerBackend>,
    device: &B::Device,
    checkpoints: &Checkpoints,
    progress: &mut dyn FnMut(Progress),
) -> Result<(TrainOutcome, Net<B::InnerBackend>)> {
    train_with::<B>(arch, activation, config, data, device, Some(checkpoints), progress)
}

fn train_with<B: TrainBackend>(
    arch: &ArchSpec,
    activation: Activation,
    config: &TrainConfig,
    data: &DeviceData<B::InnerBackend>,
    device: &B::Device,
    checkpoints: Option<&Checkpoints>,
    progress: &mut dyn FnMut(Progress),
) -> Result<(TrainOutcome, Net<B::InnerBackend>)> {
    config.validate()?;
    // Runs on concurrent threads share the backend's random generator: seeded() draws
    // each run's initial weights under one lock.
    let model = Net::<B>::seeded(arch, activation, config.seed, device)?;
    run_loop(model, config.optimizer.init(), config, data, device, checkpoints, progress)
}

/// How long record points may wait on the device before they are read back together. A GPU
/// then runs ahead of the host instead of stopping at every record point (each read-back
/// empties its queue); on a CPU backend work is done when it returns, and this costs nothing.
const READ_BACK_EVERY: Duration = Duration::from_secs(1);

/// One-element tensors, read back to the host as one.
fn read_back<B: Backend, K: BasicOps<B>>(values: Vec<Tensor<B, 1, K>>) -> Vec<f64> {
    if values.is_empty() {
        return vec![];
    }
    Tensor::cat(values, 0).into_data().convert::<f64>().to_vec().unwrap_or_default()
}

/// Record points whose values are still on the device.
struct Pending<B: Backend> {
    step: Vec<usize>,
    lr: Vec<f64>,
    batch: Vec<usize>,
    seconds: Vec<f64>,
    loss: Vec<Tensor<B, 1>>,
    correct: Vec<Tensor<B, 1, Int>>,
    grad_norm: Vec<Tensor<B, 1>>,
    val_correct: Vec<Tensor<B, 1, Int>>,
}

impl<B: Backend> Pending<B> {
    fn new() -> Self {
        Pending {
            step: vec![],
            lr: vec![],
            batch: vec![],
            seconds: vec![],
            loss: vec![],
            correct: vec![],
            grad_norm: vec![],
            val_correct: vec![],
        }
    }

    fn is_empty(&self) -> bool {
        self.step.is_empty()
    }

    /// Reads every pending value back (one wait for the device), appends the records to
    /// `curves` up to and including the first whose loss is not finite, and empties itself.
    /// Returns the index in `curves` of that diverged record, if any.
    fn flush(&mut self, curves: &mut Curves, val_images: usize, record_grad: bool) -> Option<usize> {
        let loss = read_back(std::mem::take(&mut self.loss));
        let correct = read_back(std::mem::take(&mut self.correct));
        let grad = read_back(std::mem::take(&mut self.grad_norm));
        let val = read_back(std::mem::take(&mut self.val_correct));
        let mut diverged = None;
        for (k, &l) in loss.iter().enumerate() {
            curves.step.push(self.step[k]);
            curves.loss.push(l);
            curves.train_acc.push(correct.get(k).copied().unwrap_or(f64::NAN) / self.batch[k] as f64);
            curves.lr.push(self.lr[k]);
            curves.seconds.push(self.seconds[k]);
            if record_grad {
                curves.grad_norm.push(grad.get(k).copied().unwrap_or(f64::NAN));
            }
            if !l.is_finite() {
                diverged = Some(curves.step.len() - 1);
                break;
            }
            if let Some(v) = val.get(k) {
                curves.val_acc.push(v / val_images as f64);
            }
        }
        *self = Pending::new();
        diverged
    }
}

#[allow(clippy::too_many_arguments)]
fn run_loop<B: TrainBackend, O: Optimizer<Net<B>, B>>(
    mut model: Net<B>,
    mut optim: O,
    config: &TrainConfig,
    data: &DeviceData<B::InnerBackend>,
    device: &B::Device,
    checkpoints: Option<&Checkpoints>,
    progress: &mut dyn FnMut(Progress),
) -> Result<(TrainOutcome, Net<B::InnerBackend>)> {
    let mut resumed = None;
    if let Some(c) = checkpoints {
        (model, optim, resumed) = c.resume(model, optim, device)?;
    }
    let (start_epoch, mut step, mut curves, before) = match resumed {
        Some(at) => (at.epochs, at.step, at.curves, at.seconds),
        None => (0, 0, Curves::default(), 0.0),
    };
    let started = Instant::now();
    let seconds = || before + started.elapsed().as_secs_f64();
    let n = data.train.len();
    let per_epoch = crate::data::batches::batches_per_epoch(n, config.batch_size, config.drop_last);
    let total = per_epoch * config.epochs;
    let mut pending = Pending::<B::InnerBackend>::new();
    let mut last_read = Instant::now();
    let mut diverged = false;
    let record_val = config.record_val && !data.val.is_empty();
    'epochs: for epoch in start_epoch..config.epochs {
        let batches =
            EpochBatches::<B::InnerBackend>::new(n, config.batch_size, config.drop_last, config.seed, epoch, device);
        for k in 0..batches.len() {
            let (x, y) = data.train.gather(batches.indices(k));
            let batch = y.dims()[0];
            let x = Tensor::<B, 4>::from_inner(x);
            let y = Tensor::<B, 1, Int>::from_inner(y);
            let lr = config.schedule.lr_at(step);
            let record = step % config.record_every == 0 || step + 1 == total;
            let asked = StepRecord { loss_and_accuracy: record, first_grad_norm: record && config.record_grad };
            let (updated, out) = train_step(model, &mut optim, x, y, lr, asked);
            model = updated;
            step += 1;
            if record {
                pending.step.push(step - 1);
                pending.lr.push(lr);
                pending.batch.push(batch);
                pending.seconds.push(seconds());
                pending.loss.extend(out.loss);
                pending.correct.extend(out.correct);
                if config.record_grad {
                    let norm = out.first_grad_norm.unwrap_or_else(|| Tensor::full([1], f64::NAN, device));
                    pending.grad_norm.push(norm);
                }
                if record_val {
                    pending.val_correct.push(correct_count(&model.valid(), &data.val, config.eval_batch_size));
                }
            }
            // Every epoch ends with its records read back: the last step of training is one.
            let epoch_end = k + 1 == batches.len();
            if !pending.is_empty() && (epoch_end || last_read.elapsed() >= READ_BACK_EVERY) {
                if let Some(at) = pending.flush(&mut curves, data.val.len(), config.record_grad) {
                    diverged = true;
                    step = curves.step[at] + 1;
                }
                last_read = Instant::now();
                progress(Progress {
                    step,
                    total,
                    epoch: epoch + 1,
                    loss: *curves.loss.last().unwrap_or(&f64::NAN),
                    val_acc: curves.val_acc.last().copied(),
                });
                if diverged {
                    break 'epochs;
                }
            }
            if let Some(c) = checkpoints.filter(|_| epoch_end && epoch + 1 < config.epochs) {
                let at = Resumed { epochs: epoch + 1, step, seconds: seconds(), curves: curves.clone() };
                c.save(&model, &optim, at)?;
            }
        }
    }
    let valid = model.valid();
    let test_acc = if diverged { f64::NAN } else { accuracy(&valid, &data.test, config.eval_batch_size) };
    let w = valid.first_weights();
    let first_weights = FirstLayerWeights {
        shape: w.dims().to_vec(),
        values: w.into_data().convert::<f32>().to_vec().unwrap_or_default(),
    };
    let outcome = TrainOutcome { curves, test_acc, steps: step, diverged, first_weights, seconds: seconds() };
    Ok((outcome, valid))
}
