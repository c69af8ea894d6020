//! The CIFAR-10 networks: architectures as data ([`spec`]), the one Burn module built
//! from any of them ([`net`]), what training one costs in memory ([`memory`]), and trained
//! nets kept on disk ([`saved`]).

pub mod memory;
pub mod net;
pub mod saved;
pub mod spec;

pub use net::{Layer, Net};
pub use spec::{ArchSpec, LayerSpec, Shape, ensure_some, parse_arch_list};
