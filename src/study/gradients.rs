//! `nnlab activation-gradients`: each network with ReLU and with the logistic sigmoid in
//! place of every ReLU, SGD at lr 0.01 (part 4): training loss and the magnitude of the
//! first layer's weight gradient every 10 steps.

use super::StudyContext;
use super::architectures::{ArchRun, arch_run};
use super::cifar_runs::{self, RunKey};
use crate::activation::Activation;
use crate::data::{InputScale, SplitConfig};
use crate::error::Result;
use crate::model::ArchSpec;
use crate::plot::curves::{Panel, PanelFigure, PanelKind, Series};
use crate::plot::{self};
use crate::results::write_json;
use crate::train::{DeviceData, TrainConfig};
use crate::kernels::TrainBackend;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What `nnlab activation-gradients` runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradientsConfig {
    /// Networks.
    pub archs: Vec<ArchSpec>,
    /// The activations compared (ReLU and sigmoid in the homework).
    pub activations: Vec<Activation>,
    /// SGD lr 0.01, momentum 0, 15 epochs, gradient norms recorded, no validation.
    pub train: TrainConfig,
    /// Data split and scaling (`Raw255` for the [0, 255] inputs question).
    pub data: SplitConfig,
    /// Log scale for the gradient panel.
    pub log_scale: bool,
}

impl Default for GradientsConfig {
    fn default() -> Self {
        Self {
            archs: ArchSpec::builtins(),
            activations: vec![Activation::Relu, Activation::Sigmoid],
            train: TrainConfig { record_val: false, record_grad: true, ..TrainConfig::sgd(0.01) },
            data: SplitConfig::default(),
            log_scale: true,
        }
    }
}

/// `<out>/activation-gradients/<arch>.json`: the course's keys (`relu_loss_curve`,
/// `sigmoid_loss_curve`, `relu_grad_curve`, `sigmoid_grad_curve`, ...), one pair per
/// activation compared, plus whether each run diverged.
pub type GradientsResult = serde_json::Map<String, serde_json::Value>;

fn curve(values: &[f64]) -> serde_json::Value {
    values.iter().map(|v| if v.is_finite() { serde_json::json!(v) } else { serde_json::Value::Null }).collect()
}

/// Runs the study on backend `B`.
pub fn run<B: TrainBackend>(ctx: &StudyContext, config: &GradientsConfig, device: &B::Device) -> Result<Vec<PathBuf>> {
    config.train.validate()?;
    let dir = crate::results::prepare_dir(&ctx.dir("activation-gradients"))?;
    let runs_dir = crate::results::prepare_dir(&dir.join("runs"))?;
    write_json(&dir.join("config.json"), config)?;
    let mut files = vec![dir.join("config.json")];
    let mut data: Option<DeviceData<B::InnerBackend>> = None;
    let total = config.archs.len() * config.activations.len();
    let mut all: Vec<(usize, Activation, ArchRun)> = Vec::new();
    for (i, spec) in config.archs.iter().enumerate() {
        let mut result = GradientsResult::new();
        result.insert("name".into(), spec.name.clone().into());
        for (j, &activation) in config.activations.iter().enumerate() {
            let key = RunKey { arch: spec.clone(), activation, train: config.train.clone(), split: config.data.clone() };
            let stem = format!("{}_{activation}", spec.file_stem());
            let label = format!("[{}/{total}] {stem}", i * config.activations.len() + j + 1);
            let run = cifar_runs::reuse_or_train::<B, _>(ctx, &runs_dir.join(format!("{stem}.json")), &key, &label, &mut data, device, |o| {
                arch_run(spec, key.clone(), o, ctx.backend.name())
            })?;
            let grad = &run.outcome_curves.grad_norm;
            println!(
                "{stem:<16} final loss {:.4}  mean |grad W1| {:.3e}{}",
                run.loss_curve.last().copied().unwrap_or(f64::NAN),
                grad.iter().filter(|g| g.is_finite()).sum::<f64>() / grad.len().max(1) as f64,
                if run.diverged { "  DIVERGED (loss NaN/inf)" } else { "" }
            );
            result.insert(format!("{activation}_loss_curve"), curve(&run.loss_curve));
            result.insert(format!("{activation}_grad_curve"), curve(grad));
            result.insert(format!("{activation}_diverged"), run.diverged.into());
            all.push((i, activation, run));
        }
        result.insert("input_scale".into(), serde_json::to_value(config.data.input_scale).unwrap_or_default());
        let path = dir.join(format!("{}.json", spec.file_stem()));
        write_json(&path, &result)?;
        files.push(path);
    }
    let series = |grad: bool| -> Vec<Series> {
        all.iter()
            .map(|(i, act, run)| {
                let c = &run.outcome_curves;
                let y = if grad { c.grad_norm.clone() } else { c.loss.clone() };
                Series {
                    label: format!("{} {act}{}", config.archs[*i].name, if run.diverged { " (diverged)" } else { "" }),
                    colour: *i,
                    dashed: *act != Activation::Relu,
                    x: c.step.iter().map(|&s| s as f64).collect(),
                    y,
                    std: None,
                }
            })
            .collect()
    };
    let scale = if config.data.input_scale == InputScale::Raw255 { ", inputs in [0, 255]" } else { "" };
    let fig = PanelFigure {
        panels: vec![
            Panel { title: format!("training loss (solid ReLU, dashed sigmoid{scale})"), x_label: "step".into(), y_label: "loss".into(), log_y: false, kind: PanelKind::Lines(series(false)) },
            Panel {
                title: format!("|∂loss/∂W₁| first-layer gradient magnitude{scale}"),
                x_label: "step".into(),
                y_label: "L2 norm".into(),
                log_y: config.log_scale,
                kind: PanelKind::Lines(series(true)),
            },
        ],
        columns: 2,
        panel_size: (760, 520),
    };
    files.extend(plot::save(&fig, &dir, "activation_gradients")?);
    Ok(files)
}
