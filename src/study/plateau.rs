//! Where a validation curve stops rising: the rule that picks the learning-rate switch
//! points of the scheduled runs.
//!
//! The curve is smoothed with a trailing moving average of `window` records; the plateau
//! starts at the best smoothed point after which `patience` records pass without an
//! improvement larger than `min_delta`. A curve that keeps improving has no plateau.

use serde::{Deserialize, Serialize};

/// The plateau rule's parameters (each is a flag of `nnlab learning-rate`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlateauRule {
    /// Records averaged by the trailing moving average.
    pub window: usize,
    /// Records without improvement that make a plateau.
    pub patience: usize,
    /// Smallest rise of the smoothed accuracy that counts as improvement.
    pub min_delta: f64,
}

impl PlateauRule {
    /// Checks the rule's numbers.
    pub fn validate(&self) -> crate::error::Result<()> {
        crate::error::ensure_positive("plateau_window", self.window)?;
        crate::error::ensure_positive("plateau_patience", self.patience)?;
        if !(self.min_delta.is_finite() && self.min_delta >= 0.0) {
            return Err(crate::error::Error::invalid(
                "plateau_min_delta",
                format!("must be a finite number ≥ 0, got {}", self.min_delta),
            ));
        }
        Ok(())
    }
}

impl Default for PlateauRule {
    /// With records every 10 steps: a 50-step average, 300 steps of patience, +0.2 %.
    fn default() -> Self {
        Self { window: 5, patience: 30, min_delta: 0.002 }
    }
}

/// What the rule found, with a sentence saying why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plateau {
    /// The step where the curve stops rising, if it does.
    pub step: Option<usize>,
    /// The smoothed accuracy there.
    pub smoothed_acc: Option<f64>,
    /// Human-readable explanation.
    pub reason: String,
}

/// Trailing moving average of `values` over `window` points.
pub fn smooth(values: &[f64], window: usize) -> Vec<f64> {
    let w = window.max(1);
    (0..values.len())
        .map(|i| {
            let s = &values[(i + 1).saturating_sub(w)..=i];
            s.iter().sum::<f64>() / s.len() as f64
        })
        .collect()
}

/// Finds the plateau of `acc` (recorded at `steps`) with `rule`.
pub fn find_plateau(steps: &[usize], acc: &[f64], rule: &PlateauRule) -> Plateau {
    let smoothed = smooth(acc, rule.window);
    let mut best = 0;
    for i in 1..smoothed.len() {
        if smoothed[i] > smoothed[best] + rule.min_delta {
            best = i;
        } else if i - best >= rule.patience {
            return Plateau {
                step: Some(steps[best]),
                smoothed_acc: Some(smoothed[best]),
                reason: format!(
                    "smoothed validation accuracy (moving average of {} records) peaked at {:.4} at step {} and did not rise by more than {} in the next {} records",
                    rule.window, smoothed[best], steps[best], rule.min_delta, rule.patience
                ),
            };
        }
    }
    Plateau {
        step: None,
        smoothed_acc: None,
        reason: format!(
            "no plateau: the smoothed validation accuracy was still improving by more than {} within {} records of the end ({} records in all)",
            rule.min_delta,
            rule.patience,
            acc.len()
        ),
    }
}
