//! The XOR blobs: four Gaussian clusters at (±1, ±1); label 1 where the signs differ.

use crate::error::{Result, ensure_positive, ensure_positive_finite};
use rand::{SeedableRng, rngs::StdRng};
use rand_distr::{Distribution, Normal};

/// How to draw the XOR blobs.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct XorDataConfig {
    /// Number of training points.
    pub train_samples: usize,
    /// Number of validation points.
    pub val_samples: usize,
    /// Standard deviation of each cluster.
    pub noise_std: f64,
}

impl Default for XorDataConfig {
    fn default() -> Self {
        Self { train_samples: 1000, val_samples: 100, noise_std: 0.4 }
    }
}

/// A set of 2-D points with 0/1 labels, stored row-major on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct XorData {
    /// Points as `[x0, y0, x1, y1, ...]`.
    pub points: Vec<f32>,
    /// Label of each point, 0.0 or 1.0.
    pub labels: Vec<f32>,
}

/// The cluster centres, in the order points are assigned to them.
pub const CENTRES: [(f64, f64); 4] = [(1.0, 1.0), (1.0, -1.0), (-1.0, -1.0), (-1.0, 1.0)];

impl XorData {
    /// Draws `n` points, cycling through the four clusters so each gets n/4 (±1).
    pub fn generate(n: usize, noise_std: f64, rng: &mut StdRng) -> Self {
        // `noise_std` is validated by callers; a zero std is allowed here for exact tests.
        let noise = Normal::new(0.0, noise_std.max(0.0)).expect("std is non-negative");
        let mut points = Vec::with_capacity(2 * n);
        let mut labels = Vec::with_capacity(n);
        for i in 0..n {
            let (cx, cy) = CENTRES[i % 4];
            points.push((cx + noise.sample(rng)) as f32);
            points.push((cy + noise.sample(rng)) as f32);
            labels.push(if cx * cy < 0.0 { 1.0 } else { 0.0 });
        }
        XorData { points, labels }
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no points.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

impl XorDataConfig {
    /// Checks the sizes and noise level, with a message naming the flag.
    pub fn validate(&self) -> Result<()> {
        ensure_positive("train_samples", self.train_samples)?;
        ensure_positive("val_samples", self.val_samples)?;
        ensure_positive_finite("noise_std", self.noise_std)?;
        Ok(())
    }

    /// Draws the training and validation sets from one seeded generator.
    pub fn generate(&self, seed: u64) -> (XorData, XorData) {
        let mut rng = StdRng::seed_from_u64(seed);
        let train = XorData::generate(self.train_samples, self.noise_std, &mut rng);
        let val = XorData::generate(self.val_samples, self.noise_std, &mut rng);
        (train, val)
    }
}
