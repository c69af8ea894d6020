//! How much memory training a spec takes, estimated before any work, and the check that it
//! fits the machine (a spec such as `conv3x3x1000000` would otherwise load CIFAR-10 first and
//! then abort on an allocation of hundreds of gigabytes).
//!
//! The estimate counts 4-byte floats: parameters four times (weights, gradients and Adam's two
//! moments), each layer's output three times per training image (the forward value kept for
//! backward, its gradient, a temporary), a convolution's unfolded input (im2col) per training
//! image, the widest layer twice per evaluation image, and the prepared CIFAR-10 tensors. It
//! is meant to catch specs that are off by orders of magnitude, not to be exact.

use super::spec::{ArchSpec, INPUT, LayerSpec, Shape};
use crate::error::{Error, Result};

/// Bytes of the prepared CIFAR-10 tensors (60 000 images of 3 072 f32 values).
const DATA_BYTES: f64 = 60_000.0 * 3072.0 * 4.0;

/// Estimated bytes to train `arch` with batches of `batch` and evaluate with `eval_batch`.
pub fn training_bytes(arch: &ArchSpec, batch: usize, eval_batch: usize) -> f64 {
    let Ok(shapes) = arch.shapes() else { return f64::INFINITY };
    let mut before = INPUT;
    let (mut outputs, mut unfolded, mut widest) = (0.0f64, 0.0f64, INPUT.size() as f64);
    for (layer, &after) in arch.layers.iter().zip(&shapes) {
        outputs += after.size() as f64;
        widest = widest.max(after.size() as f64);
        if let (LayerSpec::Conv { kh, kw, .. }, Shape::Image(c, _, _), Shape::Image(_, oh, ow)) =
            (*layer, before, after)
        {
            unfolded = unfolded.max((c * kh * kw * oh * ow) as f64);
        }
        before = after;
    }
    let floats = 4.0 * arch.param_count() as f64
        + batch as f64 * (3.0 * outputs + unfolded)
        + eval_batch as f64 * (2.0 * widest + unfolded);
    4.0 * floats + DATA_BYTES
}

/// Memory this machine has available now, in bytes (`MemAvailable` of `/proc/meminfo`);
/// `None` where that is not known (then no check is made).
pub fn available_bytes() -> Option<f64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024.0)
}

/// "1.5 GB", "320 MB".
fn human(bytes: f64) -> String {
    if bytes >= 1e12 {
        format!("{:.1} TB", bytes / 1e12)
    } else if bytes >= 1e9 {
        format!("{:.1} GB", bytes / 1e9)
    } else {
        format!("{:.0} MB", bytes / 1e6)
    }
}

/// Checks, before any data is loaded, that training each of `archs` fits the memory this
/// machine has available; the error says how much it needs and how much there is.
pub fn ensure_fits(archs: &[ArchSpec], batch: usize, eval_batch: usize) -> Result<()> {
    let Some(available) = available_bytes() else { return Ok(()) };
    for arch in archs {
        let need = training_bytes(arch, batch, eval_batch);
        if need > available {
            return Err(Error::Spec {
                arch: arch.name.clone(),
                message: format!(
                    "training it needs about {} of memory ({} parameters, batches of {batch} and {eval_batch}); \
                     this machine has {} available. Use fewer units or filters, or smaller batches",
                    human(need),
                    arch.param_count(),
                    human(available)
                ),
            });
        }
    }
    Ok(())
}
