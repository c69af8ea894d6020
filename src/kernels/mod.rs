//! Hand-written CPU kernels that Burn's generic ops run slowly on this study's small nets,
//! and the backend extension that lets the models use them while staying generic.

pub mod conv2d;
