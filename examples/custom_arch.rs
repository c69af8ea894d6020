//! Define a new architecture from a spec string, check its shapes and parameter count,
//! and run a forward pass — the way `nnlab architectures --arch "..."` does.
//!
//! ```text
//! cargo run --example custom_arch -- "Conv-5×5×32, ReLU, MaxPool-2×2, Conv-3×3×64, ReLU, MaxPool-2×2, FC-128, ReLU"
//! ```

use burn::tensor::{Distribution, Tensor};
use nnlab::Activation;
use nnlab::model::{ArchSpec, Net};

type B = burn::backend::NdArray;

fn main() -> nnlab::Result<()> {
    let text = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "conv5x5x32,relu,maxpool2,conv3x3x64,relu,maxpool2,fc128,relu".into());
    // Parsing checks every layer against the 3×32×32 input; FC10 is appended.
    let spec = ArchSpec::parse(&text)?;
    println!("{}\n{} parameters", spec.notation(), spec.param_count());
    for (layer, shape) in spec.layers.iter().zip(spec.shapes()?) {
        println!("  {:<22} → {shape}", layer.to_string());
    }
    let device = Default::default();
    let net = Net::<B>::new(&spec, Activation::Tanh, &device)?; // the activation is a parameter
    let logits = net.forward(Tensor::random([2, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device));
    println!("logits for 2 images: {:?}", logits.dims());
    Ok(())
}
