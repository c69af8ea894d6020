//! Load a net saved with `--save-models` (or by `examples/any_backend.rs`) and evaluate it on
//! the CIFAR-10 test set: accuracy and confusion matrix, as `nnlab eval` prints them.
//!
//! ```text
//! cargo run --release --example evaluate_saved -- nnlab-out/architectures/models/cnn4_seed0 [BACKEND]
//! ```

use nnlab::backend::BackendKind;
use nnlab::data::DataSource;
use nnlab::inference::{confusion_table, evaluate};

fn main() -> nnlab::Result<()> {
    let mut args = std::env::args().skip(1);
    let model = std::path::PathBuf::from(args.next().unwrap_or_else(|| "my-mlp1".into()));
    let kind: BackendKind = match args.next() {
        Some(name) => name.parse()?,
        None => BackendKind::default_compiled()
            .ok_or_else(|| nnlab::Error::invalid("backend", "no backend is compiled into this build"))?,
    };
    let eval = evaluate(&model, &DataSource::default(), kind, &nnlab::progress::Silent)?;
    println!("{} ({}), trained with seed {}:", model.display(), eval.saved.spec.notation(), eval.saved.seed);
    println!("{}", confusion_table(&eval));
    Ok(())
}
