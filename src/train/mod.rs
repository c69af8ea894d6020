//! Training: what a run is ([`config`]), the one step ([`step`]) and the one loop
//! ([`trainer`]) every study and the bench use, Adam over all parameters at once
//! ([`flat_adam`]), and evaluation ([`evaluate`]).

pub mod config;
pub mod evaluate;
pub mod flat_adam;
#[cfg(feature = "learner")]
pub mod learner;
pub mod step;
pub mod trainer;

pub use config::{OptimizerConfig, Schedule, ScheduleLr, TrainConfig};
pub use flat_adam::FlatAdam;
pub use step::{StepOutput, StepRecord, train_step};
pub use trainer::{Curves, DataCache, DeviceData, FirstLayerWeights, Progress, TrainOutcome, train, train_model};
