//! `nnlab activation-gradients`: each network with ReLU and with the logistic sigmoid in
//! place of every ReLU, SGD at lr 0.01 (part 4): training loss and the magnitude of the
//! first layer's weight gradient every 10 steps.

use super::cifar_runs::{self, CifarRun, RunKey};
use super::{PlannedRun, Study, StudyContext, cost};
use crate::activation::Activation;
use crate::backend::TrainBackend;
use crate::data::{InputScale, SplitConfig};
use crate::error::{Error, Result};
use crate::model::ArchSpec;
use crate::plot::curves::{Panel, PanelFigure, PanelKind, Series};
use crate::plot::{self};
use crate::results::{read_json, write_json};
use crate::train::{DeviceData, TrainConfig};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

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

/// The file stem of one run's result under `runs/`, `<arch>_<activation>`.
pub fn run_name(spec: &ArchSpec, activation: Activation) -> String {
    format!("{}_{activation}", spec.file_stem())
}

/// The name of the figure, `activation_gradients` (`.png` and `.svg`).
pub const FIGURE: &str = "activation_gradients";

impl GradientsConfig {
    /// Every run, network by network, activation by activation.
    fn runs(&self) -> Vec<(usize, Activation, RunKey, PlannedRun)> {
        let total = self.archs.len() * self.activations.len();
        let mut out = Vec::with_capacity(total);
        for (i, spec) in self.archs.iter().enumerate() {
            for &activation in &self.activations {
                let key =
                    RunKey { arch: spec.clone(), activation, train: self.train.clone(), split: self.data.clone() };
                let label = format!("[{}/{total}] {}", out.len() + 1, run_name(spec, activation));
                let cost = cost::cifar_run(spec, &key.train, &key.split);
                out.push((i, activation, key, PlannedRun::new(label, cost)));
            }
        }
        out
    }
}

impl Study for GradientsConfig {
    const NAME: &'static str = "activation-gradients";
    const TITLE: &'static str = "ReLU vs sigmoid gradients with SGD (part 4)";

    fn quick() -> Self {
        let mut c = Self::default();
        c.train.epochs = 1;
        c.data = cifar_runs::quick_split();
        c
    }

    fn validate(&self) -> Result<()> {
        crate::model::ensure_some(&self.archs)?;
        if self.activations.is_empty() {
            return Err(Error::invalid("activations", "name at least one activation"));
        }
        self.train.validate_learning()?;
        self.data.validate()
    }

    fn plan(&self) -> Vec<PlannedRun> {
        self.runs().into_iter().map(|r| r.3).collect()
    }

    fn set_seed(&mut self, seed: u64) {
        self.train.seed = seed;
        self.data.seed = seed;
    }

    fn run<B: TrainBackend>(&self, ctx: &StudyContext, device: &B::Device) -> Result<Vec<PathBuf>> {
        run::<B>(ctx, self, device)
    }

    fn report(out: &Path) -> Option<String> {
        let config: Self = super::read_config(out, Self::NAME)?;
        let dir = out.join(Self::NAME);
        if !dir.join(format!("{FIGURE}.png")).exists() {
            return None;
        }
        let mut md = super::config_link(out, Self::NAME);
        md.push_str(
            "| net | activation | final loss | mean first-layer gradient norm | diverged |\n|---|---|---:|---:|---|\n",
        );
        for spec in &config.archs {
            for &act in &config.activations {
                let Ok(run) = read_json::<CifarRun>(&dir.join("runs").join(format!("{}.json", run_name(spec, act))))
                else {
                    continue;
                };
                let grads: Vec<f64> = run.outcome_curves.grad_norm.iter().copied().filter(|g| g.is_finite()).collect();
                let mean = grads.iter().sum::<f64>() / grads.len().max(1) as f64;
                let last = run.loss_curve.last().filter(|l| l.is_finite()).map_or("NaN".into(), |l| format!("{l:.4}"));
                md.push_str(&format!("| {} | {act} | {last} | {mean:.3e} | {} |\n", spec.name, run.diverged));
            }
        }
        md.push('\n');
        md.push_str(&super::figure(out, &format!("{}/{FIGURE}.png", Self::NAME), "loss and gradient magnitude"));
        Some(md)
    }
}

/// Runs the study on backend `B`; returns the files written.
pub fn run<B: TrainBackend>(ctx: &StudyContext, config: &GradientsConfig, device: &B::Device) -> Result<Vec<PathBuf>> {
    Study::validate(config)?;
    let dir = crate::results::prepare_dir(&ctx.dir(GradientsConfig::NAME))?;
    let runs_dir = crate::results::prepare_dir(&dir.join("runs"))?;
    let mut files = vec![super::write_config(&dir, config)?];
    let mut data: Option<DeviceData<B::InnerBackend>> = None;
    let mut all: Vec<(usize, Activation, CifarRun)> = Vec::new();
    let mut results: Vec<GradientsResult> = config
        .archs
        .iter()
        .map(|spec| GradientsResult::from_iter([("name".to_string(), serde_json::Value::from(spec.name.clone()))]))
        .collect();
    for (i, activation, key, task) in config.runs() {
        let spec = &config.archs[i];
        let stem = run_name(spec, activation);
        let summary = |run: &CifarRun| {
            let grad = &run.outcome_curves.grad_norm;
            format!(
                "{stem:<16} final loss {:.4}  mean |grad W1| {:.3e}{}",
                run.loss_curve.last().copied().unwrap_or(f64::NAN),
                grad.iter().filter(|g| g.is_finite()).sum::<f64>() / grad.len().max(1) as f64,
                if run.diverged { "  DIVERGED (loss NaN/inf)" } else { "" }
            )
        };
        let run = cifar_runs::reuse_or_train::<B>(
            ctx,
            &runs_dir.join(format!("{stem}.json")),
            &key,
            &task,
            &mut data,
            device,
            summary,
        )?;
        let result = &mut results[i];
        result.insert(format!("{activation}_loss_curve"), curve(&run.loss_curve));
        result.insert(format!("{activation}_grad_curve"), curve(&run.outcome_curves.grad_norm));
        result.insert(format!("{activation}_diverged"), run.diverged.into());
        all.push((i, activation, run));
    }
    for (spec, mut result) in config.archs.iter().zip(results) {
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
            Panel {
                title: format!("training loss (solid ReLU, dashed sigmoid{scale})"),
                x_label: "step".into(),
                y_label: "loss".into(),
                log_y: false,
                kind: PanelKind::Lines(series(false)),
            },
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
    files.extend(plot::save(&fig, &dir, FIGURE)?);
    Ok(files)
}
