//! Preparing CIFAR-10 as the homework does: pixels / 255, per-channel normalisation, a
//! stratified validation split of 10 % of the training set, and optional stratified caps
//! for quick runs. Everything is seeded and reproducible.

use super::cifar::{CLASSES, Cifar10, IMAGE_BYTES, RawImages};
use crate::error::{Error, Result};
use rand::{SeedableRng, rngs::StdRng, seq::SliceRandom};
use serde::{Deserialize, Serialize};

/// Per-channel mean of CIFAR-10 training pixels (after / 255), R, G, B.
pub const MEAN: [f32; 3] = [0.4914, 0.4822, 0.4465];
/// Per-channel standard deviation, R, G, B.
pub const STD: [f32; 3] = [0.247, 0.243, 0.261];

/// How pixel bytes become network inputs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputScale {
    /// `(v / 255 − mean) / std` per channel: the homework's preprocessing.
    #[default]
    Normalized,
    /// The raw byte values in [0, 255] (the homework's "what if inputs are not scaled" question).
    Raw255,
}

/// How to split and cap the data; saved with every result that used it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitConfig {
    /// Fraction of each class of the training set held out for validation.
    pub val_fraction: f64,
    /// Seed of the split and of the caps.
    pub seed: u64,
    /// Keep at most this many training images (stratified); `None`: all.
    pub max_train: Option<usize>,
    /// Keep at most this many validation images (stratified); `None`: all.
    pub max_val: Option<usize>,
    /// Keep at most this many test images (stratified); `None`: all.
    pub max_test: Option<usize>,
    /// Pixel scaling.
    pub input_scale: InputScale,
}

impl Default for SplitConfig {
    fn default() -> Self {
        Self {
            val_fraction: 0.1,
            seed: 0,
            max_train: None,
            max_val: None,
            max_test: None,
            input_scale: InputScale::Normalized,
        }
    }
}

impl SplitConfig {
    /// Checks the fraction and the caps, with messages naming the flags.
    pub fn validate(&self) -> Result<()> {
        if !(self.val_fraction > 0.0 && self.val_fraction < 1.0) {
            return Err(Error::invalid(
                "val_fraction",
                format!("must be between 0 and 1 (exclusive), got {}", self.val_fraction),
            ));
        }
        for (name, cap) in [("max_train", self.max_train), ("max_val", self.max_val), ("max_test", self.max_test)] {
            if cap == Some(0) {
                return Err(Error::invalid(name, "must be at least 1 (leave it out to use every image)"));
            }
        }
        Ok(())
    }
}

/// Images ready for a network: `len() · 3 · 32 · 32` f32 values (NCHW) and their labels.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PreparedSet {
    /// NCHW values.
    pub images: Vec<f32>,
    /// One label in 0..10 per image.
    pub labels: Vec<u8>,
}

impl PreparedSet {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Number of images of each class.
    pub fn class_counts(&self) -> [usize; CLASSES] {
        super::cifar::class_counts(&self.labels)
    }
}

/// The three sets the studies use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prepared {
    /// Training set (45 000 images with the homework protocol).
    pub train: PreparedSet,
    /// Validation set, held out from the training files (5 000, 500 per class).
    pub val: PreparedSet,
    /// The official test set (10 000).
    pub test: PreparedSet,
}

/// Picks `count` of `indices` with classes as equal as possible: each class's indices are
/// shuffled, then taken one class at a time in turn. Returns (picked, rest).
pub fn stratified_take(labels: &[u8], indices: &[usize], count: usize, rng: &mut StdRng) -> (Vec<usize>, Vec<usize>) {
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); CLASSES];
    for &i in indices {
        by_class[labels[i] as usize].push(i);
    }
    for class in &mut by_class {
        class.shuffle(rng);
    }
    let mut picked = Vec::with_capacity(count.min(indices.len()));
    let mut round = 0;
    while picked.len() < count && by_class.iter().any(|c| c.len() > round) {
        for class in &by_class {
            if picked.len() < count && round < class.len() {
                picked.push(class[round]);
            }
        }
        round += 1;
    }
    let mut chosen = vec![false; labels.len()];
    for &i in &picked {
        chosen[i] = true;
    }
    let rest = indices.iter().copied().filter(|&i| !chosen[i]).collect();
    (picked, rest)
}

/// Scales the bytes of the images at `indices` into a [`PreparedSet`].
pub fn scale_images(raw: &RawImages, indices: &[usize], scale: InputScale) -> PreparedSet {
    // One lookup table per channel: byte → input value.
    let table: [[f32; 256]; 3] = std::array::from_fn(|c| {
        std::array::from_fn(|v| match scale {
            InputScale::Normalized => (v as f32 / 255.0 - MEAN[c]) / STD[c],
            InputScale::Raw255 => v as f32,
        })
    });
    let mut images = Vec::with_capacity(indices.len() * IMAGE_BYTES);
    for &i in indices {
        let image = &raw.images[i * IMAGE_BYTES..(i + 1) * IMAGE_BYTES];
        for (c, plane) in image.chunks_exact(IMAGE_BYTES / 3).enumerate() {
            images.extend(plane.iter().map(|&v| table[c][v as usize]));
        }
    }
    PreparedSet { images, labels: indices.iter().map(|&i| raw.labels[i]).collect() }
}

/// Splits, caps and scales `data` as `config` says.
pub fn prepare(data: &Cifar10, config: &SplitConfig) -> Result<Prepared> {
    config.validate()?;
    let mut rng = StdRng::seed_from_u64(config.seed);
    let all: Vec<usize> = (0..data.train.len()).collect();
    let val_count = (data.train.len() as f64 * config.val_fraction).round() as usize;
    if val_count == 0 {
        return Err(Error::invalid(
            "val_fraction",
            format!(
                "{} of {} training images holds out no image for validation; use at least {:.0e}",
                config.val_fraction,
                data.train.len(),
                1.0 / data.train.len().max(1) as f64
            ),
        ));
    }
    let (val, train) = stratified_take(&data.train.labels, &all, val_count, &mut rng);
    let cap = |idx: Vec<usize>, labels: &[u8], max: Option<usize>, rng: &mut StdRng| match max {
        Some(m) if m < idx.len() => stratified_take(labels, &idx, m, rng).0,
        _ => idx,
    };
    let train = cap(train, &data.train.labels, config.max_train, &mut rng);
    let val = cap(val, &data.train.labels, config.max_val, &mut rng);
    let test_all: Vec<usize> = (0..data.test.len()).collect();
    let test = cap(test_all, &data.test.labels, config.max_test, &mut rng);
    Ok(Prepared {
        train: scale_images(&data.train, &train, config.input_scale),
        val: scale_images(&data.train, &val, config.input_scale),
        test: scale_images(&data.test, &test, config.input_scale),
    })
}
