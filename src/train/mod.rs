//! Training: what a run is ([`config`]), the optimiser it trains with ([`optimizer`], with
//! Adam as one fused update per parameter in [`fused_adam`]), the one step ([`step`]) and the one
//! loop ([`trainer`]) every study and the bench use, with epoch checkpoints to resume a run
//! from ([`checkpoint`]), and evaluation ([`evaluate`]).

pub mod checkpoint;
pub mod config;
pub mod evaluate;
pub mod fused_adam;
#[cfg(feature = "learner")]
pub mod learner;
pub mod optimizer;
pub mod step;
pub mod trainer;

pub use checkpoint::Checkpoints;
pub use config::{OptimizerConfig, Schedule, ScheduleLr, TrainConfig};
pub use fused_adam::{AdamStep, FusedAdam};
pub use optimizer::{NetOptimizer, pytorch_adam};
pub use step::{StepOutput, StepRecord, train_step};
pub use trainer::{
    Curves, DataCache, DeviceData, FirstLayerWeights, Progress, TrainOutcome, train, train_model, train_resumable,
};
