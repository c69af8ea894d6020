//! Train the from-scratch XOR MLP from Rust and print its validation accuracy.
//!
//! ```text
//! cargo run --release --example xor
//! ```

use nnlab::Activation;
use nnlab::xor::{XorMode, XorTrainConfig, train_xor};

type B = burn::backend::NdArray;

fn main() -> nnlab::Result<()> {
    for activation in Activation::ALL {
        // Per-sample updates converge in a few dozen epochs; the homework's full batch
        // needs 10 000 (XorTrainConfig::default()).
        let config = XorTrainConfig { activation, mode: XorMode::Sample, epochs: 50, lr: 0.05, ..Default::default() };
        let (run, _model) = train_xor::<B>(&config, "ndarray", &Default::default(), |_| {})?;
        println!(
            "{activation:<8} val acc {:.3}  final MSE {:.4}",
            run.val_accuracy,
            run.loss_curve.last().unwrap_or(&f64::NAN)
        );
    }
    Ok(())
}
