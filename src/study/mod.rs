//! The studies: each turns a config into runs, result files and figures under
//! `<out>/<study>/`.

pub mod activations;
pub mod all;
pub mod architectures;
pub mod cifar_runs;
pub mod conv;
pub mod gradients;
pub mod learning_rate;
pub mod plateau;
pub mod xor;

use crate::backend::BackendKind;

/// Every study's output directory name under `<out>`, in the homework's (and `nnlab all`'s) order.
pub const STUDIES: [&str; 6] = ["activations", "xor", "conv", "architectures", "activation-gradients", "learning-rate"];
use std::path::PathBuf;

/// What every study needs to know besides its own config.
#[derive(Debug, Clone)]
pub struct StudyContext {
    /// The root output directory (`--out`).
    pub out: PathBuf,
    /// The backend runs use.
    pub backend: BackendKind,
    /// Recompute runs whose results already exist.
    pub force: bool,
    /// No progress bars.
    pub quiet: bool,
    /// Where CIFAR-10 comes from (for the studies that train on it).
    pub data_source: crate::data::DataSource,
}

impl StudyContext {
    /// `<out>/<study>`.
    pub fn dir(&self, study: &str) -> PathBuf {
        self.out.join(study)
    }
}
