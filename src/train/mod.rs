//! Training: what a run is ([`config`]), the one loop every study uses ([`trainer`]),
//! and evaluation ([`evaluate`]).

pub mod config;
pub mod evaluate;
pub mod trainer;

pub use config::{OptimizerConfig, Schedule, TrainConfig};
pub use trainer::{Curves, DeviceData, FirstLayerWeights, Progress, TrainOutcome, train};
