//! Training: what a run is ([`config`]), the one step ([`step`]) and the one loop
//! ([`trainer`]) every study and the bench use, and evaluation ([`evaluate`]).

pub mod config;
pub mod evaluate;
#[cfg(feature = "learner")]
pub mod learner;
pub mod step;
pub mod trainer;

pub use config::{OptimizerConfig, Schedule, ScheduleLr, TrainConfig};
pub use step::{StepOutput, StepRecord, train_step};
pub use trainer::{Curves, DataCache, DeviceData, FirstLayerWeights, Progress, TrainOutcome, train, train_model};
