//! What a training run is: optimiser, learning-rate schedule, epochs, batch size, and what
//! to record. Defaults follow the homework protocol.

use crate::error::{Error, Result, ensure_positive};
use serde::{Deserialize, Serialize};

/// A [`Schedule`] as Burn's [`LrScheduler`](burn::lr_scheduler::LrScheduler): the `k`-th call
/// of `step()` returns the rate of training step `k` (0-based), the rate nnlab's own loop
/// uses at that step, so Burn's optimisers and training loop can follow an nnlab schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleLr {
    schedule: Schedule,
    step: usize,
}

impl burn::lr_scheduler::LrScheduler for ScheduleLr {
    type Record<B: burn::tensor::backend::Backend> = usize;

    fn step(&mut self) -> burn::optim::LearningRate {
        let lr = self.schedule.lr_at(self.step);
        self.step += 1;
        lr
    }

    fn to_record<B: burn::tensor::backend::Backend>(&self) -> usize {
        self.step
    }

    fn load_record<B: burn::tensor::backend::Backend>(mut self, record: usize) -> Self {
        self.step = record;
        self
    }
}

/// Which optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum OptimizerConfig {
    /// Adam with PyTorch's defaults: betas 0.9 / 0.999, eps 1e-8, no weight decay.
    Adam,
    /// Plain SGD, no weight decay, optional momentum (0 in the homework).
    Sgd {
        /// Momentum factor; 0 for none.
        momentum: f64,
    },
}

impl OptimizerConfig {
    /// Short name for files and tables.
    pub fn name(&self) -> &'static str {
        match self {
            OptimizerConfig::Adam => "adam",
            OptimizerConfig::Sgd { .. } => "sgd",
        }
    }
}

/// The learning rate as a function of the step: piecewise constant.
///
/// `lrs[0]` until step `milestones[0]`, then `lrs[1]` until `milestones[1]`, and so on;
/// a constant rate is one value and no milestone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// The rates, one more than milestones.
    pub lrs: Vec<f64>,
    /// Steps (0-based, strictly increasing) at which the next rate takes over.
    pub milestones: Vec<usize>,
}

impl Schedule {
    /// One rate for the whole run.
    pub fn constant(lr: f64) -> Self {
        Schedule { lrs: vec![lr], milestones: vec![] }
    }

    /// `lrs[k]` from `milestones[k-1]` on.
    pub fn piecewise(lrs: Vec<f64>, milestones: Vec<usize>) -> Result<Self> {
        let s = Schedule { lrs, milestones };
        s.validate()?;
        Ok(s)
    }

    /// This schedule as Burn's learning-rate scheduler, starting at step 0.
    pub fn scheduler(&self) -> ScheduleLr {
        ScheduleLr { schedule: self.clone(), step: 0 }
    }

    /// The rate used at `step` (0-based).
    pub fn lr_at(&self, step: usize) -> f64 {
        let k = self.milestones.iter().take_while(|&&m| step >= m).count();
        self.lrs[k]
    }

    /// Checks lengths, ordering and values.
    pub fn validate(&self) -> Result<()> {
        if self.lrs.len() != self.milestones.len() + 1 {
            return Err(Error::invalid(
                "schedule",
                format!(
                    "{} rates need {} switch steps, got {}",
                    self.lrs.len(),
                    self.lrs.len() - 1,
                    self.milestones.len()
                ),
            ));
        }
        if let Some(lr) = self.lrs.iter().find(|lr| !(lr.is_finite() && **lr >= 0.0)) {
            return Err(Error::invalid("lr", format!("must be a finite number ≥ 0, got {lr}")));
        }
        if self.milestones.windows(2).any(|w| w[0] >= w[1]) || self.milestones.first() == Some(&0) {
            return Err(Error::invalid(
                "switch_steps",
                format!("must be increasing and greater than 0, got {:?}", self.milestones),
            ));
        }
        Ok(())
    }
}

/// Everything that defines one training run besides the network and the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Optimiser.
    pub optimizer: OptimizerConfig,
    /// Learning rate by step.
    pub schedule: Schedule,
    /// Passes over the training set.
    pub epochs: usize,
    /// Training batch size.
    pub batch_size: usize,
    /// Drop the last partial batch of each epoch.
    pub drop_last: bool,
    /// Record every this many steps.
    pub record_every: usize,
    /// Record validation accuracy at record points (a full pass over the validation set).
    pub record_val: bool,
    /// Record the L2 norm of the loss gradient w.r.t. the first layer's weights.
    pub record_grad: bool,
    /// Batch size of evaluation passes (larger is faster; results are the same).
    pub eval_batch_size: usize,
    /// Seed of the weights and of the batch order.
    pub seed: u64,
}

impl Default for TrainConfig {
    /// The homework's Adam protocol: batch 50, 15 epochs, record every 10 steps.
    fn default() -> Self {
        Self {
            optimizer: OptimizerConfig::Adam,
            schedule: Schedule::constant(0.001),
            epochs: 15,
            batch_size: 50,
            drop_last: false,
            record_every: 10,
            record_val: true,
            record_grad: false,
            eval_batch_size: 1000,
            seed: 0,
        }
    }
}

impl TrainConfig {
    /// SGD without momentum at a constant `lr` (the homework's parts 4 and 5).
    pub fn sgd(lr: f64) -> Self {
        Self { optimizer: OptimizerConfig::Sgd { momentum: 0.0 }, schedule: Schedule::constant(lr), ..Self::default() }
    }

    /// [`TrainConfig::validate`], and every learning rate greater than 0 (a study's runs
    /// must learn; a rate of 0 is for probes that only measure gradients).
    pub fn validate_learning(&self) -> Result<()> {
        self.validate()?;
        match self.schedule.lrs.iter().find(|lr| **lr <= 0.0) {
            Some(lr) => Err(Error::invalid("lr", format!("must be a finite number greater than 0, got {lr}"))),
            None => Ok(()),
        }
    }

    /// Checks every number, naming the field that is wrong.
    pub fn validate(&self) -> Result<()> {
        ensure_positive("epochs", self.epochs)?;
        ensure_positive("batch_size", self.batch_size)?;
        ensure_positive("record_every", self.record_every)?;
        ensure_positive("eval_batch_size", self.eval_batch_size)?;
        if let OptimizerConfig::Sgd { momentum } = self.optimizer
            && !(0.0..1.0).contains(&momentum)
        {
            return Err(Error::invalid("momentum", format!("must be in [0, 1), got {momentum}")));
        }
        self.schedule.validate()
    }
}
