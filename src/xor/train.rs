//! Training the scratch MLP on the XOR blobs: full-batch or per-sample gradient descent.

use super::data::{XorData, XorDataConfig};
use super::mlp::ScratchMlp;
use crate::activation::Activation;
use crate::error::{Error, Result, ensure_positive, ensure_positive_finite};
use burn::tensor::{Int, Tensor, TensorData, backend::Backend};
use rand::{SeedableRng, rngs::StdRng, seq::SliceRandom};
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use std::time::Instant;

/// How the gradient is taken in each epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum XorMode {
    /// One update per epoch on the summed gradient of all points (the homework's rule).
    #[cfg_attr(feature = "cli", value(alias = "batch"))]
    Full,
    /// One update per point, in a fresh shuffled order each epoch.
    #[cfg_attr(feature = "cli", value(alias = "online"))]
    Sample,
}

impl FromStr for XorMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "full" | "batch" => Ok(XorMode::Full),
            "sample" | "online" => Ok(XorMode::Sample),
            other => Err(Error::invalid("mode", format!("unknown mode '{other}'; expected full or sample"))),
        }
    }
}

/// Everything that defines one XOR run (saved with its result).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct XorTrainConfig {
    /// Activation on the hidden and the output layer.
    pub activation: Activation,
    /// Full-batch or per-sample updates.
    pub mode: XorMode,
    /// Passes over the training set.
    pub epochs: usize,
    /// Learning rate of the `W += lr · (−∂L/∂W)` rule.
    pub lr: f64,
    /// Hidden units.
    pub hidden: usize,
    /// Record the training loss every this many epochs.
    pub record_every: usize,
    /// The data to draw.
    pub data: XorDataConfig,
    /// Seed for the data, the weights and the sample order.
    pub seed: u64,
}

impl Default for XorTrainConfig {
    fn default() -> Self {
        Self {
            activation: Activation::Sigmoid,
            mode: XorMode::Full,
            epochs: 10_000,
            lr: 0.001,
            hidden: 4,
            record_every: 100,
            data: XorDataConfig::default(),
            seed: 0,
        }
    }
}

impl XorTrainConfig {
    /// Checks every number, with a message naming the flag.
    pub fn validate(&self) -> Result<()> {
        ensure_positive("epochs", self.epochs)?;
        ensure_positive_finite("lr", self.lr)?;
        ensure_positive("hidden", self.hidden)?;
        ensure_positive("record_every", self.record_every)?;
        self.data.validate()
    }
}

/// Final parameters of a run, row-major, for result files and for rebuilding the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct XorWeights {
    /// `[2][hidden]`.
    #[serde(with = "crate::results::nan_as_null")]
    pub w1: Vec<Vec<f32>>,
    /// `[hidden]`.
    #[serde(with = "crate::results::nan_as_null")]
    pub b1: Vec<f32>,
    /// `[hidden][1]`.
    #[serde(with = "crate::results::nan_as_null")]
    pub w2: Vec<Vec<f32>>,
    /// `[1]`.
    #[serde(with = "crate::results::nan_as_null")]
    pub b2: Vec<f32>,
}

/// The result of one XOR run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct XorRun {
    /// `<activation>_seed<k>`.
    pub name: String,
    /// The configuration that produced it.
    pub config: XorTrainConfig,
    /// Fraction of validation points classified correctly (output ≥ 0.5 → 1).
    pub val_accuracy: f64,
    /// Fraction of training points classified correctly.
    pub train_accuracy: f64,
    /// Mean squared error on the training set every `record_every` epochs (NaN stored as null).
    #[serde(with = "crate::results::nan_as_null")]
    pub loss_curve: Vec<f64>,
    /// The epoch of each loss value.
    pub loss_epochs: Vec<usize>,
    /// True when the loss became NaN or infinite; training stopped there.
    pub diverged: bool,
    /// Final parameters.
    pub weights: XorWeights,
    /// Backend the run used.
    pub backend: String,
    /// Wall time of training.
    pub seconds: f64,
}

fn to_device<B: Backend>(data: &XorData, device: &B::Device) -> (Tensor<B, 2>, Tensor<B, 2>) {
    let n = data.len();
    let x = Tensor::from_data(TensorData::new(data.points.clone(), [n, 2]), device);
    let t = Tensor::from_data(TensorData::new(data.labels.clone(), [n, 1]), device);
    (x, t)
}

/// Mean squared error and accuracy of `model` on `(x, t)`, read back to the host.
pub fn evaluate<B: Backend>(model: &ScratchMlp<B>, x: Tensor<B, 2>, t: Tensor<B, 2>) -> (f64, f64) {
    let y = model.predict(x);
    let mse: f64 = (t.clone() - y.clone()).powi_scalar(2).mean().into_scalar().to_f64();
    let predicted = y.greater_equal_elem(0.5).float();
    let correct: f64 = predicted.equal(t).float().mean().into_scalar().to_f64();
    (mse, correct)
}

trait ToF64 {
    fn to_f64(self) -> f64;
}
impl<E: burn::tensor::ElementConversion> ToF64 for E {
    fn to_f64(self) -> f64 {
        self.elem::<f64>()
    }
}

/// Whether every weight and bias of `model` is finite.
fn weights_finite<B: Backend>(model: &ScratchMlp<B>) -> bool {
    [&model.w1, &model.b1, &model.w2, &model.b2]
        .iter()
        .all(|t| t.to_data().convert::<f32>().to_vec::<f32>().is_ok_and(|v| v.iter().all(|x| x.is_finite())))
}

/// Extracts the parameters as nested vectors.
pub fn weights_of<B: Backend>(model: &ScratchMlp<B>) -> XorWeights {
    let rows = |t: &Tensor<B, 2>| -> Vec<Vec<f32>> {
        let [r, c] = t.dims();
        let v: Vec<f32> = t.to_data().convert::<f32>().to_vec().unwrap_or_default();
        (0..r).map(|i| v[i * c..(i + 1) * c].to_vec()).collect()
    };
    XorWeights { w1: rows(&model.w1), b1: rows(&model.b1).concat(), w2: rows(&model.w2), b2: rows(&model.b2).concat() }
}

impl<B: Backend> ScratchMlp<B> {
    /// Rebuilds a model from saved weights (e.g. to draw the boundary of a finished run).
    pub fn from_weights(w: &XorWeights, activation: Activation, device: &B::Device) -> Self {
        let mat = |rows: &Vec<Vec<f32>>| {
            let r = rows.len();
            let c = rows.first().map_or(0, |x| x.len());
            Tensor::from_data(TensorData::new(rows.concat(), [r, c]), device)
        };
        let row = |v: &Vec<f32>| Tensor::from_data(TensorData::new(v.clone(), [1, v.len()]), device);
        Self { w1: mat(&w.w1), b1: row(&w.b1), w2: mat(&w.w2), b2: row(&w.b2), activation }
    }
}

/// Trains one scratch MLP on freshly drawn XOR blobs and returns the run and the model.
///
/// `progress` is called with the number of epochs done after each epoch.
pub fn train_xor<B: Backend>(
    config: &XorTrainConfig,
    backend: &str,
    device: &B::Device,
    mut progress: impl FnMut(usize),
) -> Result<(XorRun, ScratchMlp<B>)> {
    config.validate()?;
    let started = Instant::now();
    let (train, val) = config.data.generate(config.seed);
    let (x, t) = to_device::<B>(&train, device);
    let (xv, tv) = to_device::<B>(&val, device);
    let mut model = ScratchMlp::<B>::new(2, config.hidden, 1, config.activation, config.seed.wrapping_add(1), device);
    let mut order_rng = StdRng::seed_from_u64(config.seed.wrapping_add(2));
    let mut order: Vec<i64> = (0..train.len() as i64).collect();

    let mut loss_curve = Vec::new();
    let mut loss_epochs = Vec::new();
    let mut diverged = false;
    for epoch in 1..=config.epochs {
        match config.mode {
            XorMode::Full => {
                let cache = model.forward(x.clone());
                let grads = model.backward(x.clone(), t.clone(), &cache);
                model = model.apply(grads, config.lr);
            }
            XorMode::Sample => {
                order.shuffle(&mut order_rng);
                for &i in &order {
                    let idx = Tensor::<B, 1, Int>::from_data(TensorData::new(vec![i], [1]), device);
                    let xi = x.clone().select(0, idx.clone());
                    let ti = t.clone().select(0, idx);
                    let cache = model.forward(xi.clone());
                    let grads = model.backward(xi, ti, &cache);
                    model = model.apply(grads, config.lr);
                }
            }
        }
        if epoch % config.record_every == 0 || epoch == config.epochs {
            let (mse, _) = evaluate(&model, x.clone(), t.clone());
            // A weight can overflow while the loss still looks finite (ReLU maps a NaN
            // pre-activation to 0 on some backends): both count as divergence.
            let finite = mse.is_finite() && weights_finite(&model);
            loss_curve.push(if finite { mse } else { f64::NAN });
            loss_epochs.push(epoch);
            if !finite {
                diverged = true;
                break;
            }
        }
        progress(epoch);
    }
    let (_, train_accuracy) = evaluate(&model, x, t);
    let (_, val_accuracy) = evaluate(&model, xv, tv);
    let run = XorRun {
        name: format!("{}_seed{}", config.activation, config.seed),
        config: config.clone(),
        val_accuracy,
        train_accuracy,
        loss_curve,
        loss_epochs,
        diverged,
        weights: weights_of(&model),
        backend: backend.to_string(),
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok((run, model))
}
