//! The CIFAR-10 networks: architectures as data ([`spec`]), the one Burn module built
//! from any of them ([`net`]), what training one costs in memory ([`memory`]), and trained
//! nets kept on disk ([`saved`]); K nets of one architecture trained as one ([`stacked`],
//! under measurement).

pub mod memory;
pub mod net;
pub mod saved;
pub mod spec;
pub mod stacked;

pub use net::{Layer, Net};
pub use spec::{ArchSpec, LayerSpec, Shape, ensure_some, parse_arch_list};
