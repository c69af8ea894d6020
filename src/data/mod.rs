//! CIFAR-10: find or download it, read either official layout, split and normalise it as
//! the homework does, and keep it on the device.
//!
//! - [`source`]: `--data-dir` / `NNLAB_DATA`, the cache, or a checked download.
//! - [`cifar`]: the binary and python layouts, with integrity checks.
//! - [`prepare`]: scaling, the stratified validation split, caps for quick runs.
//! - [`batches`]: device-resident sets and shuffled batches as index gathers.
//! - `dataset` (cargo feature `dataset`): a prepared split as Burn's `Dataset`, batched
//!   for Burn's `DataLoader`.

pub mod batches;
pub mod cifar;
#[cfg(feature = "dataset")]
pub mod dataset;
pub mod prepare;
pub mod source;

pub use batches::{DeviceSet, EpochBatches};
pub use cifar::{CLASS_NAMES, Cifar10, Layout};
pub use prepare::{InputScale, Prepared, PreparedSet, SplitConfig};
pub use source::DataSource;

use crate::error::Result;

/// Locates (or downloads), reads and prepares CIFAR-10.
pub fn load(source: &DataSource, split: &SplitConfig, observer: &dyn crate::progress::Observer) -> Result<Prepared> {
    split.validate()?;
    let (dir, _) = source.locate(observer)?;
    let raw = cifar::read_dir(&dir)?;
    prepare::prepare(&raw, split)
}
