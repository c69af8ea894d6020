//! Rewrites the project's own inputs under `assets/` from the generators in
//! `nnlab::assets`: five handwritten-style "7"s and a bank of eight 4×4 kernels.
//!
//! ```text
//! cargo run --example make_assets
//! ```

use nnlab::assets::{DIGITS_SHAPE, digit_sevens, kernel_bank};
use nnlab::npy::encode_npy;
use nnlab::results::write_atomic;
use std::path::Path;

fn main() -> nnlab::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    let digits = dir.join("digits_7.npy");
    write_atomic(&digits, &encode_npy(&DIGITS_SHAPE, &digit_sevens())?)?;
    let kernels = kernel_bank();
    let kernel_path = dir.join("kernels.npy");
    write_atomic(&kernel_path, &encode_npy(&kernels.shape, &kernels.data)?)?;
    println!("wrote {} and {}", digits.display(), kernel_path.display());
    Ok(())
}
