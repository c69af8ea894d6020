//! `nnlab activations`: tanh, sigmoid and ReLU with their closed-form derivatives, plotted.

use super::StudyContext;
use crate::activation::Activation;
use crate::error::Result;
use crate::plot::{self, activations::ActivationsFigure};
use crate::results::{prepare_dir, write_json};
use burn::tensor::{Tensor, TensorData, backend::Backend};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One activation sampled on the study's x grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivationCurve {
    /// `tanh`, `sigmoid` or `relu`.
    pub name: String,
    /// f(x).
    pub y: Vec<f64>,
    /// f'(x), closed form.
    pub dy_dx: Vec<f64>,
}

/// The contents of `activations.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivationsResult {
    /// The x grid, [−5, 5].
    pub x: Vec<f64>,
    /// One curve per activation.
    pub activations: Vec<ActivationCurve>,
}

/// Samples every activation and its closed-form derivative on `points` points of [−5, 5],
/// computing with tensor ops on backend `B`, as the networks do.
pub fn sample<B: Backend>(points: usize, device: &B::Device) -> ActivationsResult {
    let x: Vec<f64> = (0..points).map(|i| -5.0 + 10.0 * i as f64 / (points - 1) as f64).collect();
    let xt = Tensor::<B, 1>::from_data(TensorData::new(x.iter().map(|&v| v as f32).collect::<Vec<_>>(), [points]), device);
    let host = |t: Tensor<B, 1>| -> Vec<f64> {
        t.into_data().convert::<f64>().to_vec().unwrap_or_default()
    };
    let activations = Activation::ALL
        .iter()
        .map(|&a| ActivationCurve {
            name: a.name().into(),
            y: host(a.apply(xt.clone())),
            dy_dx: host(a.derivative(xt.clone())),
        })
        .collect();
    ActivationsResult { x, activations }
}

/// Runs the study: writes `activations.json`, `activations.png` and `activations.svg`.
pub fn run<B: Backend>(ctx: &StudyContext, device: &B::Device) -> Result<Vec<PathBuf>> {
    let dir = prepare_dir(&ctx.dir("activations"))?;
    let result = sample::<B>(1001, device);
    let json = dir.join("activations.json");
    write_json(&json, &result)?;
    let curves: Vec<(Activation, Vec<f64>, Vec<f64>)> = Activation::ALL
        .iter()
        .zip(&result.activations)
        .map(|(&a, c)| (a, c.y.clone(), c.dy_dx.clone()))
        .collect();
    let mut files = plot::save(&ActivationsFigure { x: &result.x, curves: &curves }, &dir, "activations")?;
    files.insert(0, json);
    Ok(files)
}
