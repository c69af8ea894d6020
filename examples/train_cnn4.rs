//! Train cnn4 on CIFAR-10 with the homework's Adam protocol from Rust, and print its
//! test accuracy.
//!
//! ```text
//! cargo run --release --example train_cnn4 -- [EPOCHS]      # default 1 epoch
//! ```

use nnlab::Activation;
use nnlab::data::{DataSource, SplitConfig, load};
use nnlab::model::ArchSpec;
use nnlab::train::{DeviceData, TrainConfig, train};

type B = burn::backend::Autodiff<burn::backend::Flex>;

fn main() -> nnlab::Result<()> {
    let epochs = std::env::args().nth(1).and_then(|e| e.parse().ok()).unwrap_or(1);
    let device = Default::default();
    // Finds CIFAR-10 (NNLAB_DATA, the cache, or a download) and splits it 45k / 5k / 10k.
    let data = load(&DataSource::default(), &SplitConfig::default(), &nnlab::progress::Silent)?;
    let data = DeviceData::new(data, &device);
    let config = TrainConfig { epochs, ..TrainConfig::default() }; // Adam, batch 50
    let arch = ArchSpec::parse("cnn4")?;
    let out = train::<B>(&arch, Activation::Relu, &config, &data, &device, &mut |p| {
        if p.step % 500 == 0 {
            println!("step {}/{}  loss {:.3}  val acc {:.3}", p.step, p.total, p.loss, p.val_acc.unwrap_or(f64::NAN));
        }
    })?;
    println!("cnn4: test accuracy {:.4} after {} steps ({:.0} s)", out.test_acc, out.steps, out.seconds);
    Ok(())
}
