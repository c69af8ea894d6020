//! `nnlab activation-gradients`: each network with ReLU and with the logistic sigmoid in
//! place of every ReLU, SGD at lr 0.01 (part 4): training loss and the magnitude of the
//! first layer's weight gradient every 10 steps.

use super::cifar_runs::{self, CifarRun, RunKey, SeedStats};
use super::{PlannedRun, Study, StudyContext, cost};
use crate::activation::Activation;
use crate::backend::TrainBackend;
use crate::data::{InputScale, SplitConfig};
use crate::error::{Error, Result};
use crate::model::ArchSpec;
use crate::plot::curves::{Panel, PanelFigure, PanelKind, Series};
use crate::plot::{self};
use crate::results::{Stats, write_json};
use crate::train::TrainConfig;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What `nnlab activation-gradients` runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradientsConfig {
    /// Networks.
    pub archs: Vec<ArchSpec>,
    /// The activations compared (ReLU and sigmoid in the homework).
    pub activations: Vec<Activation>,
    /// Runs per network and activation; seeds are `train.seed, train.seed + 1, ...`.
    #[serde(default = "one")]
    pub seeds: usize,
    /// SGD lr 0.01, momentum 0, 15 epochs, gradient norms recorded, no validation.
    pub train: TrainConfig,
    /// Data split and scaling (`Raw255` for the [0, 255] inputs question).
    pub data: SplitConfig,
    /// Log scale for the gradient panel.
    pub log_scale: bool,
}

fn one() -> usize {
    1
}

impl Default for GradientsConfig {
    fn default() -> Self {
        Self {
            archs: ArchSpec::builtins(),
            activations: vec![Activation::Relu, Activation::Sigmoid],
            seeds: 1,
            train: TrainConfig { record_val: false, record_grad: true, ..TrainConfig::sgd(0.01) },
            data: SplitConfig::default(),
            log_scale: true,
        }
    }
}

/// `<out>/activation-gradients/<arch>.json`: the course's keys (`relu_loss_curve`,
/// `sigmoid_loss_curve`, `relu_grad_curve`, `sigmoid_grad_curve`, ...), one pair per
/// activation compared (the mean over seeds when several ran), plus how many runs diverged.
pub type GradientsResult = serde_json::Map<String, serde_json::Value>;

/// One row of `summary.json`: a network with one activation, over its seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradientsRow {
    /// Network.
    pub name: String,
    /// Activation.
    pub activation: Activation,
    /// Runs (seeds).
    pub runs: usize,
    /// Final training loss, over seeds (diverged runs give NaN and are left out).
    pub final_loss: Stats,
    /// Mean first-layer gradient norm over training, over seeds.
    pub mean_grad: Stats,
    /// Runs whose loss became NaN/inf.
    pub diverged_runs: usize,
    /// Runs stuck at chance (loss at ln 10).
    pub dead_runs: usize,
}

fn curve(values: &[f64]) -> serde_json::Value {
    values.iter().map(|v| if v.is_finite() { serde_json::json!(v) } else { serde_json::Value::Null }).collect()
}

/// The file stem of one run's result under `runs/`, `<arch>_<activation>_seed<k>`.
pub fn run_name(spec: &ArchSpec, activation: Activation, seed: u64) -> String {
    format!("{}_{activation}_seed{seed}", spec.file_stem())
}

/// The name of the figure, `activation_gradients` (`.png` and `.svg`).
pub const FIGURE: &str = "activation_gradients";
/// The table of the study, [`GradientsRow`]s.
pub const SUMMARY: &str = "summary.json";

/// One planned run.
struct Planned {
    arch: usize,
    activation: Activation,
    key: RunKey,
    name: String,
    task: PlannedRun,
}

impl GradientsConfig {
    /// Every run, network by network, activation by activation, seed by seed.
    fn runs(&self) -> Vec<Planned> {
        let total = self.archs.len() * self.activations.len() * self.seeds;
        let mut out = Vec::with_capacity(total);
        for (arch, spec) in self.archs.iter().enumerate() {
            for &activation in &self.activations {
                for k in 0..self.seeds {
                    let train = TrainConfig { seed: self.train.seed + k as u64, ..self.train.clone() };
                    let key = RunKey { arch: spec.clone(), activation, train, split: self.data.clone() };
                    let name = run_name(spec, activation, key.train.seed);
                    let task = PlannedRun::new(
                        format!("[{}/{total}] {name}", out.len() + 1),
                        cost::cifar_run(spec, &key.train, &key.split),
                        format!("runs/{name}"),
                    )
                    .keyed(key.clone());
                    out.push(Planned { arch, activation, key, name, task });
                }
            }
        }
        out
    }
}

fn mean_grad(run: &CifarRun) -> f64 {
    let grads: Vec<f64> = run.outcome_curves.grad_norm.iter().copied().filter(|g| g.is_finite()).collect();
    if grads.is_empty() { f64::NAN } else { grads.iter().sum::<f64>() / grads.len() as f64 }
}

impl Study for GradientsConfig {
    const NAME: &'static str = "activation-gradients";
    const TITLE: &'static str = "ReLU vs sigmoid gradients with SGD (part 4)";
    const SHARDED: bool = true;

    fn quick() -> Self {
        let mut c = Self::default();
        c.train.epochs = 1;
        c.data = cifar_runs::quick_split();
        c
    }

    fn validate(&self) -> Result<()> {
        crate::error::ensure_positive("seeds", self.seeds)?;
        crate::model::ensure_some(&self.archs)?;
        if self.activations.is_empty() {
            return Err(Error::invalid("activations", "name at least one activation"));
        }
        self.train.validate_learning()?;
        self.data.validate()?;
        crate::model::memory::ensure_fits(&self.archs, self.train.batch_size, self.train.eval_batch_size)
    }

    fn plan(&self) -> Vec<PlannedRun> {
        self.runs().into_iter().map(|r| r.task).collect()
    }

    fn set_seed(&mut self, seed: u64) {
        self.train.seed = seed;
        self.data.seed = seed;
    }

    fn run<B: TrainBackend>(&self, ctx: &StudyContext, device: &B::Device) -> Result<Vec<PathBuf>> {
        run::<B>(ctx, self, device)
    }

    fn merge(&self, out: &Path, observer: &dyn crate::progress::Observer) -> Result<Vec<PathBuf>> {
        merge_in(self, Self::NAME, out, observer)
    }

    fn report(out: &Path) -> Result<Option<String>> {
        report_in(out, Self::NAME)
    }
}

/// Part 4's question on unscaled inputs: the [`GradientsConfig`] study with every image in
/// [0, 255] instead of [-1, 1], in its own directory, `<out>/activation-gradients-raw255/`,
/// so that its runs, figure and summary sit beside the scaled study's instead of replacing
/// them (`nnlab activation-gradients --input-range 255`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RawInputGradients(pub GradientsConfig);

impl RawInputGradients {
    /// `config` with its inputs in [0, 255].
    pub fn of(mut config: GradientsConfig) -> Self {
        config.data.input_scale = InputScale::Raw255;
        RawInputGradients(config)
    }
}

impl Default for RawInputGradients {
    fn default() -> Self {
        Self::of(GradientsConfig::default())
    }
}

impl Study for RawInputGradients {
    const NAME: &'static str = "activation-gradients-raw255";
    const TITLE: &'static str = "ReLU vs sigmoid with inputs in [0, 255] (part 4's question)";
    const COMMAND: &'static str = "activation-gradients --input-range 255";
    const SHARDED: bool = true;

    fn quick() -> Self {
        Self::of(GradientsConfig::quick())
    }

    fn validate(&self) -> Result<()> {
        if self.0.data.input_scale != InputScale::Raw255 {
            return Err(Error::invalid(
                "input_scale",
                "RawInputGradients is the study with inputs in [0, 255]; build it with RawInputGradients::of, \
                 or use GradientsConfig for scaled inputs",
            ));
        }
        Study::validate(&self.0)
    }

    fn plan(&self) -> Vec<PlannedRun> {
        Study::plan(&self.0)
    }

    fn set_seed(&mut self, seed: u64) {
        Study::set_seed(&mut self.0, seed)
    }

    fn run<B: TrainBackend>(&self, ctx: &StudyContext, device: &B::Device) -> Result<Vec<PathBuf>> {
        Study::validate(self)?;
        run_in::<B>(ctx, &self.0, Self::NAME, device)
    }

    fn merge(&self, out: &Path, observer: &dyn crate::progress::Observer) -> Result<Vec<PathBuf>> {
        merge_in(&self.0, Self::NAME, out, observer)
    }

    fn report(out: &Path) -> Result<Option<String>> {
        report_in(out, Self::NAME)
    }
}

/// [`Study::merge`] of the study `config` kept in `<out>/<name>`.
fn merge_in(
    config: &GradientsConfig,
    name: &str,
    out: &Path,
    observer: &dyn crate::progress::Observer,
) -> Result<Vec<PathBuf>> {
    let dir = out.join(name);
    let mut reader = cifar_runs::Reader::default();
    let (all, _) = walk(config, &dir, name, &mut reader)?;
    cifar_runs::warn_missing(observer, name, &reader);
    write_outputs(config, &dir, &all)
}

/// [`Study::report`] of the gradients study kept in `<out>/<name>`.
fn report_in(out: &Path, name: &str) -> Result<Option<String>> {
    let Some(rows) = super::study_file::<Vec<GradientsRow>>(out, name, SUMMARY)? else { return Ok(None) };
    let mut md = super::config_link(out, name);
    md.push_str(
        "| net | activation | runs | final loss | mean first-layer gradient norm | diverged | dead |\n\
         |---|---|---:|---:|---:|---:|---:|\n",
    );
    for r in &rows {
        let pm = |s: &Stats, f: fn(f64) -> String| {
            if r.runs > 1 { format!("{} ± {}", f(s.mean), f(s.std)) } else { f(s.mean) }
        };
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            r.name,
            r.activation,
            r.runs,
            pm(&r.final_loss, |v| if v.is_finite() { format!("{v:.4}") } else { "NaN".into() }),
            pm(&r.mean_grad, |v| format!("{v:.3e}")),
            r.diverged_runs,
            r.dead_runs
        ));
    }
    if rows.iter().any(|r| r.runs > 1) {
        md.push_str("\nWith several runs: mean ± standard deviation over seeds.\n");
    }
    md.push('\n');
    md.push_str(&super::figure(out, &format!("{name}/{FIGURE}.png"), "loss and gradient magnitude"));
    Ok(Some(md))
}

/// Runs the study on backend `B`; returns the files written. As a shard
/// ([`StudyContext::shard`]): only the shard's runs, and no summaries.
pub fn run<B: TrainBackend>(ctx: &StudyContext, config: &GradientsConfig, device: &B::Device) -> Result<Vec<PathBuf>> {
    Study::validate(config)?;
    run_in::<B>(ctx, config, GradientsConfig::NAME, device)
}

/// [`run`] into `<out>/<name>`.
fn run_in<B: TrainBackend>(
    ctx: &StudyContext,
    config: &GradientsConfig,
    name: &str,
    device: &B::Device,
) -> Result<Vec<PathBuf>> {
    let study_dir = super::StudyDir::open(ctx, name, config)?;
    crate::results::prepare_dir(&study_dir.path.join("runs"))?;
    let mut trainer = cifar_runs::Trainer::<B>::new(ctx, device);
    let (all, mut files) = walk(config, &study_dir.path, name, &mut trainer)?;
    if let Some(assignment) = &ctx.shard {
        study_dir.finish_shard(assignment, config, trainer.work, &mut files)?;
        return Ok(files);
    }
    files.extend(write_outputs(config, &study_dir.path, &all)?);
    study_dir.finish(config, &mut files)?;
    Ok(files)
}

/// A run with its network (index into the configuration's) and activation.
type Tagged = (usize, Activation, CifarRun);

/// Every planned run that `runs` gives, with its result file.
fn walk(
    config: &GradientsConfig,
    dir: &Path,
    name: &str,
    runs: &mut dyn cifar_runs::Runs,
) -> Result<(Vec<Tagged>, Vec<PathBuf>)> {
    let runs_dir = dir.join("runs");
    let mut files = Vec::new();
    let mut all: Vec<Tagged> = Vec::new();
    for p in config.runs() {
        let summary = |run: &CifarRun| {
            format!(
                "{:<22} final loss {:.4}  mean |grad W1| {:.3e}{}",
                p.name,
                run.loss_curve.last().copied().unwrap_or(f64::NAN),
                mean_grad(run),
                if run.diverged { "  DIVERGED (loss NaN/inf)" } else { "" }
            )
        };
        let path = runs_dir.join(format!("{}.json", p.name));
        if let Some(run) = runs.get(name, &path, &p.key, &p.task, &summary)? {
            files.push(path);
            all.push((p.arch, p.activation, run));
        }
    }
    Ok((all, files))
}

/// The course's per-network files, the figure and the summary from the runs `all` (a
/// network and activation without runs is left out).
fn write_outputs(config: &GradientsConfig, dir: &Path, all: &[Tagged]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    // Per network and activation: the runs of every seed, and their mean curves.
    let groups: Vec<(usize, Activation, Vec<&CifarRun>)> = config
        .archs
        .iter()
        .enumerate()
        .flat_map(|(i, _)| config.activations.iter().map(move |&a| (i, a)))
        .map(|(i, a)| (i, a, all.iter().filter(|(j, b, _)| *j == i && *b == a).map(|(_, _, r)| r).collect()))
        .filter(|(_, _, runs): &(usize, Activation, Vec<&CifarRun>)| !runs.is_empty())
        .collect();
    let mut rows = Vec::new();
    let mut results: Vec<GradientsResult> = config
        .archs
        .iter()
        .map(|spec| GradientsResult::from_iter([("name".to_string(), serde_json::Value::from(spec.name.clone()))]))
        .collect();
    // Mean and std over seeds of each group's loss and gradient curves: for the course's
    // keys and for the figure.
    let stats: Vec<(SeedStats, SeedStats)> = groups
        .iter()
        .map(|(_, _, runs)| {
            (
                SeedStats::of(&runs.iter().map(|r| &r.loss_curve).collect::<Vec<_>>()),
                SeedStats::of(&runs.iter().map(|r| &r.outcome_curves.grad_norm).collect::<Vec<_>>()),
            )
        })
        .collect();
    for ((i, activation, runs), (loss, grad)) in groups.iter().zip(&stats) {
        let diverged = runs.iter().filter(|r| r.diverged).count();
        let result = &mut results[*i];
        result.insert(format!("{activation}_loss_curve"), curve(&loss.mean));
        result.insert(format!("{activation}_grad_curve"), curve(&grad.mean));
        result.insert(format!("{activation}_diverged"), (diverged > 0).into());
        result.insert(format!("{activation}_runs"), runs.len().into());
        rows.push(GradientsRow {
            name: config.archs[*i].name.clone(),
            activation: *activation,
            runs: runs.len(),
            final_loss: Stats::of(
                &runs.iter().map(|r| r.loss_curve.last().copied().unwrap_or(f64::NAN)).collect::<Vec<_>>(),
            ),
            mean_grad: Stats::of(&runs.iter().map(|r| mean_grad(r)).collect::<Vec<_>>()),
            diverged_runs: diverged,
            dead_runs: runs.iter().filter(|r| r.dead).count(),
        });
    }
    for (i, (spec, mut result)) in config.archs.iter().zip(results).enumerate() {
        if !groups.iter().any(|(j, _, _)| *j == i) {
            continue;
        }
        result.insert("input_scale".into(), serde_json::to_value(config.data.input_scale).unwrap_or_default());
        let path = dir.join(format!("{}.json", spec.file_stem()));
        write_json(&path, &result)?;
        files.push(path);
    }
    let series = |grad: bool| -> Vec<Series> {
        groups
            .iter()
            .zip(&stats)
            .map(|((i, act, runs), (loss, grad_norm))| {
                let stats = if grad { grad_norm } else { loss };
                let diverged = runs.iter().any(|r| r.diverged);
                Series {
                    label: format!("{} {act}{}", config.archs[*i].name, if diverged { " (diverged)" } else { "" }),
                    colour: plot::net_colour(&config.archs[*i].name, *i),
                    dashed: *act != Activation::Relu,
                    x: runs[0].outcome_curves.step.iter().map(|&s| s as f64).collect(),
                    y: stats.mean.clone(),
                    std: (runs.len() > 1).then(|| stats.std.clone()),
                    smooth: true,
                }
            })
            .collect()
    };
    let records = all.iter().map(|(_, _, r)| r.loss_curve.len()).max().unwrap_or(0);
    let note = plot::curves::smoothing_note(records);
    let band = plot::curves::band_note(config.seeds);
    let scale = if config.data.input_scale == InputScale::Raw255 { ", inputs in [0, 255]" } else { "" };
    let fig = PanelFigure {
        panels: vec![
            Panel {
                title: plot::curves::titled(
                    &format!("training loss: solid ReLU, dashed sigmoid{scale}"),
                    &[&note, &band],
                ),
                x_label: "step".into(),
                y_label: "loss".into(),
                log_y: false,
                kind: PanelKind::Lines(series(false)),
            },
            Panel {
                title: plot::curves::titled(&format!("first-layer gradient norm |∂loss/∂W₁|{scale}"), &[&note, &band]),
                x_label: "step".into(),
                y_label: "L2 norm".into(),
                log_y: config.log_scale,
                kind: PanelKind::Lines(series(true)),
            },
        ],
        columns: 2,
        panel_size: (860, 540),
    };
    files.extend(plot::save(&fig, dir, FIGURE)?);
    let summary = dir.join(SUMMARY);
    write_json(&summary, &rows)?;
    files.push(summary);
    Ok(files)
}
