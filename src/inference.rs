//! Using a saved net ([`crate::model::saved`]): its accuracy and confusion matrix on the
//! CIFAR-10 test set, and the classes it predicts for images of your own.

use crate::backend::{BackendKind, BackendTask, TrainBackend, run_task};
use crate::data::cifar::{CLASS_NAMES, CLASSES, IMAGE_BYTES, RawImages};
use crate::data::{DataSource, DeviceSet};
use crate::error::{Error, Result};
use crate::model::Net;
use crate::model::saved::SavedModel;
use crate::progress::Observer;
use burn::tensor::activation::softmax;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A saved net on the test set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The model directory.
    pub model: PathBuf,
    /// What it is.
    pub saved: SavedModel,
    /// Test images.
    pub images: usize,
    /// Share classified correctly.
    pub accuracy: f64,
    /// `confusion[t][p]`: test images of class t predicted as p.
    pub confusion: Vec<Vec<usize>>,
}

/// One image's top classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The image file.
    pub image: PathBuf,
    /// The three most likely classes with their probabilities, most likely first.
    pub top: Vec<(String, f64)>,
}

struct EvalTask<'a> {
    model: &'a Path,
    source: &'a DataSource,
    observer: &'a dyn Observer,
}

impl BackendTask for EvalTask<'_> {
    type Output = Evaluation;
    fn run<B: TrainBackend>(self, device: B::Device, _: BackendKind) -> Result<Evaluation> {
        let (net, saved) = Net::<B::InnerBackend>::load(self.model, &device)?;
        // The test set alone: the training files are read (they are checked with it) but
        // not scaled.
        let (dir, _) = self.source.locate(self.observer)?;
        let raw = crate::data::cifar::read_dir(&dir)?.test;
        let every: Vec<usize> = (0..raw.len()).collect();
        let test = crate::data::prepare::scale_images(&raw, &every, saved.input_scale);
        let test = DeviceSet::<B::InnerBackend>::new(test, &device);
        let mut confusion = vec![vec![0usize; CLASSES]; CLASSES];
        for (x, y) in test.chunks(1000) {
            let predicted: Vec<i64> =
                net.forward(x).argmax(1).into_data().convert::<i64>().to_vec().unwrap_or_default();
            let truth: Vec<i64> = y.into_data().convert::<i64>().to_vec().unwrap_or_default();
            for (t, p) in truth.iter().zip(&predicted) {
                confusion[*t as usize][*p as usize] += 1;
            }
        }
        let images = test.len();
        let correct: usize = (0..CLASSES).map(|c| confusion[c][c]).sum();
        Ok(Evaluation {
            model: self.model.to_path_buf(),
            saved,
            images,
            accuracy: correct as f64 / images.max(1) as f64,
            confusion,
        })
    }
}

/// Evaluates the net saved in `model` on the CIFAR-10 test set (found as `source` says) on
/// `backend`.
pub fn evaluate(
    model: &Path,
    source: &DataSource,
    backend: BackendKind,
    observer: &dyn Observer,
) -> Result<Evaluation> {
    run_task(backend, EvalTask { model, source, observer })
}

/// Reads an image file as CIFAR-10 bytes: RGB, resized to 32×32 if it is another size,
/// planes R, G, B.
pub fn read_image(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read", path, e))?;
    let image = image::load_from_memory(&bytes)
        .map_err(|e| Error::Data(format!("{}: not an image nnlab can read ({e}); give PNG files", path.display())))?;
    let rgb = image.to_rgb8();
    let rgb = if rgb.dimensions() == (32, 32) {
        rgb
    } else {
        image::imageops::resize(&rgb, 32, 32, image::imageops::FilterType::Triangle)
    };
    let mut planes = vec![0u8; IMAGE_BYTES];
    for (i, p) in rgb.pixels().enumerate() {
        for c in 0..3 {
            planes[c * 1024 + i] = p.0[c];
        }
    }
    Ok(planes)
}

struct PredictTask<'a> {
    model: &'a Path,
    images: &'a [PathBuf],
}

impl BackendTask for PredictTask<'_> {
    type Output = Vec<Prediction>;
    fn run<B: TrainBackend>(self, device: B::Device, _: BackendKind) -> Result<Vec<Prediction>> {
        // Every image is read (and refused) before the net is loaded.
        let mut raw = RawImages::default();
        for path in self.images {
            raw.images.extend(read_image(path)?);
            raw.labels.push(0);
        }
        let (net, saved) = Net::<B::InnerBackend>::load(self.model, &device)?;
        let indices: Vec<usize> = (0..raw.len()).collect();
        let set = crate::data::prepare::scale_images(&raw, &indices, saved.input_scale);
        let set = DeviceSet::<B::InnerBackend>::new(set, &device);
        let mut out = Vec::new();
        let mut paths = self.images.iter();
        for (x, _) in set.chunks(256) {
            let probs: Vec<f32> = softmax(net.forward(x), 1).into_data().convert::<f32>().to_vec().unwrap_or_default();
            for row in probs.chunks(CLASSES) {
                let mut ranked: Vec<(usize, f32)> = row.iter().copied().enumerate().collect();
                ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
                let top = ranked.iter().take(3).map(|&(c, p)| (CLASS_NAMES[c].to_string(), p as f64)).collect();
                out.push(Prediction { image: paths.next().cloned().unwrap_or_default(), top });
            }
        }
        Ok(out)
    }
}

/// The three most likely classes of each image in `images` (PNG, any size: resized to
/// 32×32) for the net saved in `model`, on `backend`.
pub fn predict(model: &Path, images: &[PathBuf], backend: BackendKind) -> Result<Vec<Prediction>> {
    if images.is_empty() {
        return Err(Error::invalid("images", "give at least one image file"));
    }
    run_task(backend, PredictTask { model, images })
}

/// Writes `<out>/eval/<model>/`: `evaluation.json`, `confusion.md` and the confusion
/// figure `confusion.{png,svg}`; returns the files.
pub fn write_evaluation(out: &Path, eval: &Evaluation) -> Result<Vec<PathBuf>> {
    let name = eval.model.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "model".into());
    let dir = crate::results::prepare_dir(&out.join("eval").join(&name))?;
    let json = dir.join("evaluation.json");
    crate::results::write_json(&json, eval)?;
    let md_path = dir.join("confusion.md");
    crate::results::write_atomic(&md_path, confusion_table(eval).as_bytes())?;
    let figure = crate::plot::confusion::ConfusionFigure {
        title: format!(
            "{} ({}): test accuracy {:.4} on {} images",
            name, eval.saved.spec.name, eval.accuracy, eval.images
        ),
        classes: CLASS_NAMES.iter().map(|c| c.to_string()).collect(),
        counts: eval.confusion.clone(),
    };
    let mut files = vec![json, md_path];
    files.extend(crate::plot::save(&figure, &dir, "confusion")?);
    Ok(files)
}

/// The confusion matrix as a Markdown table (rows: true class; columns: predicted).
pub fn confusion_table(eval: &Evaluation) -> String {
    let mut md = format!(
        "Test accuracy {:.4} ({} images). Rows: true class; columns: predicted.\n\n| true \\ predicted |",
        eval.accuracy, eval.images
    );
    for c in CLASS_NAMES {
        md.push_str(&format!(" {c} |"));
    }
    md.push_str("\n|---|");
    md.push_str(&"---:|".repeat(CLASSES));
    md.push('\n');
    for (t, row) in eval.confusion.iter().enumerate() {
        md.push_str(&format!("| {} |", CLASS_NAMES[t]));
        for v in row {
            md.push_str(&format!(" {v} |"));
        }
        md.push('\n');
    }
    md
}
