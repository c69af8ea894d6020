//! `nnlab architectures`: the homework's five networks (or any spec) on CIFAR-10 with Adam
//! (part 3): curves every 10 steps, test accuracy, first-layer weights, over seeds.

use super::StudyContext;
use super::cifar_runs::{self, RunKey, SeedStats};
use crate::activation::Activation;
use crate::data::SplitConfig;
use crate::error::Result;
use crate::model::ArchSpec;
use crate::plot::curves::{Panel, PanelFigure, PanelKind, Point, Series};
use crate::plot::grid::{ImageGrid, Tile, min_max};
use crate::plot::{self};
use crate::results::{Stats, write_atomic, write_json};
use crate::train::{DeviceData, TrainConfig, TrainOutcome};
use crate::kernels::TrainBackend;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What `nnlab architectures` runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchitecturesConfig {
    /// Networks to train.
    pub archs: Vec<ArchSpec>,
    /// Activation at every activation layer.
    pub activation: Activation,
    /// Runs per network; seeds are `train.seed, train.seed + 1, ...`.
    pub seeds: usize,
    /// The training protocol (Adam, 15 epochs, batch 50 by default).
    pub train: TrainConfig,
    /// Data split and scaling.
    pub data: SplitConfig,
}

impl Default for ArchitecturesConfig {
    fn default() -> Self {
        Self { archs: ArchSpec::builtins(), activation: Activation::Relu, seeds: 1, train: TrainConfig::default(), data: SplitConfig::default() }
    }
}

/// One run's result file, `<arch>_seed<k>.json`, with the course's keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchRun {
    /// The network's name.
    pub name: String,
    /// Training loss every `record_every` steps.
    #[serde(with = "crate::results::nan_as_null")]
    pub loss_curve: Vec<f64>,
    /// Training (batch) accuracy every `record_every` steps, as a fraction.
    pub train_acc_curve: Vec<f64>,
    /// Validation accuracy every `record_every` steps, as a fraction.
    pub val_acc_curve: Vec<f64>,
    /// Test accuracy after training (null if the run diverged).
    #[serde(with = "crate::results::nan_as_option")]
    pub test_acc: f64,
    /// First layer's weights in PyTorch layout `[out, channels, h, w]` (an FC layer on
    /// CIFAR-10 images: `[out, 3, 32, 32]`).
    pub weights: Vec<Vec<Vec<Vec<f32>>>>,
    /// Trainable parameters.
    pub params: usize,
    /// What produced it (compared on resume).
    pub key: RunKey,
    /// The full record: steps, learning rate, timings.
    pub outcome_curves: crate::train::Curves,
    /// Steps taken.
    pub steps: usize,
    /// Whether the loss became NaN/inf.
    pub diverged: bool,
    /// True when the loss never moved from ln 10 (a dead network stuck at chance).
    pub dead: bool,
    /// Backend used.
    pub backend: String,
    /// Wall time.
    pub seconds: f64,
    /// nnlab version.
    pub version: String,
}

/// First-layer weights in PyTorch layout: conv `[out, in, kh, kw]` as stored; FC (stored
/// `[in, out]`) transposed to `[out, in]` and, for 3072 inputs, shaped `[out, 3, 32, 32]`.
pub fn pytorch_weights(w: &crate::train::FirstLayerWeights) -> (Vec<usize>, Vec<f32>) {
    match w.shape.as_slice() {
        [i, o, 1, 1] => {
            let (i, o) = (*i, *o);
            let mut t = vec![0f32; i * o];
            for a in 0..i {
                for b in 0..o {
                    t[b * i + a] = w.values[a * o + b];
                }
            }
            let shape = if i == 3 * 32 * 32 { vec![o, 3, 32, 32] } else { vec![o, i, 1, 1] };
            (shape, t)
        }
        _ => (w.shape.clone(), w.values.clone()),
    }
}

fn nest(shape: &[usize], v: &[f32]) -> Vec<Vec<Vec<Vec<f32>>>> {
    let [o, c, h, w] = [shape[0], shape[1], shape[2], shape[3]];
    (0..o)
        .map(|a| (0..c).map(|b| (0..h).map(|y| v[((a * c + b) * h + y) * w..((a * c + b) * h + y + 1) * w].to_vec()).collect()).collect())
        .collect()
}

/// The run result for `outcome`.
pub fn arch_run(spec: &ArchSpec, key: RunKey, outcome: TrainOutcome, backend: &str) -> ArchRun {
    let (shape, values) = pytorch_weights(&outcome.first_weights);
    let dead = cifar_runs::is_dead(&outcome.curves.loss);
    ArchRun {
        name: spec.name.clone(),
        loss_curve: outcome.curves.loss.clone(),
        train_acc_curve: outcome.curves.train_acc.clone(),
        val_acc_curve: outcome.curves.val_acc.clone(),
        test_acc: outcome.test_acc,
        weights: nest(&shape, &values),
        params: spec.param_count(),
        key,
        steps: outcome.steps,
        diverged: outcome.diverged,
        dead,
        outcome_curves: outcome.curves,
        backend: backend.into(),
        seconds: outcome.seconds,
        version: env!("CARGO_PKG_VERSION").into(),
    }
}

/// One row of the summary table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    /// Network.
    pub name: String,
    /// Its notation.
    pub spec: String,
    /// Trainable parameters.
    pub params: usize,
    /// Mean batch accuracy over the last epoch's records, over seeds.
    pub train_acc: Stats,
    /// Final validation accuracy, over seeds.
    pub val_acc: Stats,
    /// Test accuracy, over seeds.
    pub test_acc: Stats,
    /// Seconds per run, over seeds.
    pub seconds: Stats,
    /// Runs whose loss stayed at chance level.
    pub dead_runs: usize,
    /// Runs that diverged.
    pub diverged_runs: usize,
}

/// Runs the study on backend `B`; returns the runs and the files written.
pub fn run<B: TrainBackend>(ctx: &StudyContext, config: &ArchitecturesConfig, device: &B::Device) -> Result<(Vec<ArchRun>, Vec<PathBuf>)> {
    crate::error::ensure_positive("--seeds", config.seeds)?;
    config.train.validate()?;
    let dir = crate::results::prepare_dir(&ctx.dir("architectures"))?;
    write_json(&dir.join("config.json"), config)?;
    let mut data: Option<DeviceData<B::InnerBackend>> = None;
    let mut runs = Vec::new();
    let mut files = vec![dir.join("config.json")];
    let total = config.archs.len() * config.seeds;
    for (i, spec) in config.archs.iter().enumerate() {
        for k in 0..config.seeds {
            let train = TrainConfig { seed: config.train.seed + k as u64, ..config.train.clone() };
            let key = RunKey { arch: spec.clone(), activation: config.activation, train, split: config.data.clone() };
            let name = format!("{}_seed{}", spec.file_stem(), key.train.seed);
            let path = dir.join(format!("{name}.json"));
            let label = format!("[{}/{total}] {name}", i * config.seeds + k + 1);
            let run = cifar_runs::reuse_or_train::<B, _>(ctx, &path, &key, &label, &mut data, device, |outcome| arch_run(spec, key.clone(), outcome, ctx.backend.name()))?;
            println!(
                "{name:<14} params {:>7}  test acc {:.4}  {:.0} s{}",
                run.params,
                run.test_acc,
                run.seconds,
                if run.diverged { "  DIVERGED" } else if run.dead { "  DEAD (loss stuck at ln 10)" } else { "" }
            );
            files.push(path);
            runs.push(run);
        }
    }
    files.extend(write_outputs(&dir, config, &runs)?);
    Ok((runs, files))
}

/// Figures and summary tables from finished runs.
pub fn write_outputs(dir: &std::path::Path, config: &ArchitecturesConfig, runs: &[ArchRun]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let per_epoch_records = |r: &ArchRun| {
        let steps = &r.outcome_curves.step;
        let per_epoch = r.steps.div_ceil(r.key.train.epochs.max(1));
        let last_epoch_start = r.steps.saturating_sub(per_epoch);
        let vals: Vec<f64> = steps.iter().zip(&r.train_acc_curve).filter(|(s, _)| **s >= last_epoch_start).map(|(_, a)| *a).collect();
        vals.iter().sum::<f64>() / vals.len().max(1) as f64
    };
    let mut rows = Vec::new();
    let mut loss_series = Vec::new();
    let mut acc_series = Vec::new();
    let mut test_points = Vec::new();
    let mut val_points = Vec::new();
    for (i, spec) in config.archs.iter().enumerate() {
        let of: Vec<&ArchRun> = runs.iter().filter(|r| r.name == spec.name).collect();
        if of.is_empty() {
            continue;
        }
        let train_acc = Stats::of(&of.iter().map(|r| per_epoch_records(r)).collect::<Vec<_>>());
        let val_acc = Stats::of(&of.iter().map(|r| r.val_acc_curve.last().copied().unwrap_or(f64::NAN)).collect::<Vec<_>>());
        let test_acc = Stats::of(&of.iter().map(|r| r.test_acc).collect::<Vec<_>>());
        rows.push(SummaryRow {
            name: spec.name.clone(),
            spec: spec.notation(),
            params: spec.param_count(),
            train_acc,
            val_acc,
            test_acc,
            seconds: Stats::of(&of.iter().map(|r| r.seconds).collect::<Vec<_>>()),
            dead_runs: of.iter().filter(|r| r.dead).count(),
            diverged_runs: of.iter().filter(|r| r.diverged).count(),
        });
        let x: Vec<f64> = of[0].outcome_curves.step.iter().map(|&s| s as f64).collect();
        let band = |curves: Vec<&Vec<f64>>| SeedStats::of(&curves);
        let loss = band(of.iter().map(|r| &r.loss_curve).collect());
        let tr = band(of.iter().map(|r| &r.train_acc_curve).collect());
        let va = band(of.iter().map(|r| &r.val_acc_curve).collect());
        let with_std = of.len() > 1;
        loss_series.push(Series { label: spec.name.clone(), colour: i, x: x.clone(), y: loss.mean, std: with_std.then_some(loss.std), ..Default::default() });
        acc_series.push(Series { label: format!("{} train", spec.name), colour: i, x: x.clone(), y: tr.mean, std: with_std.then_some(tr.std), ..Default::default() });
        if !va.mean.is_empty() {
            acc_series.push(Series { label: format!("{} val", spec.name), colour: i, dashed: true, x, y: va.mean, std: with_std.then_some(va.std) });
        }
        test_points.push(Point { label: spec.name.clone(), colour: i, x: train_acc.mean, y: test_acc.mean, x_err: train_acc.std, y_err: test_acc.std });
        val_points.push(Point { label: spec.name.clone(), colour: i, x: train_acc.mean, y: val_acc.mean, x_err: train_acc.std, y_err: val_acc.std });

        // First-layer weights, one shared scale per net.
        let grid = weights_grid(&spec.name, &of[0].weights);
        files.extend(plot::save(&grid, dir, &format!("weights_{}", spec.file_stem()))?);
    }
    let panel = |title: &str, y: &str, kind| Panel { title: title.into(), x_label: "step".into(), y_label: y.into(), log_y: false, kind };
    let fig = PanelFigure {
        panels: vec![
            panel("training_loss", "loss", PanelKind::Lines(loss_series)),
            panel("train_and_val_accuracies (solid train, dashed val)", "accuracy", PanelKind::Lines(acc_series)),
            Panel { x_label: "final training accuracy".into(), ..panel("test_vs_training_accuracy", "test accuracy", PanelKind::Points(test_points)) },
            Panel { x_label: "final training accuracy".into(), ..panel("validation_vs_training_accuracy", "validation accuracy", PanelKind::Points(val_points)) },
        ],
        columns: 2,
        panel_size: (720, 480),
    };
    files.extend(plot::save(&fig, dir, "architectures")?);
    let summary_json = dir.join("summary.json");
    write_json(&summary_json, &rows)?;
    let summary_md = dir.join("summary.md");
    write_atomic(&summary_md, summary_table(&rows).as_bytes())?;
    files.push(summary_json);
    files.push(summary_md);
    Ok(files)
}

/// The summary as a Markdown table.
pub fn summary_table(rows: &[SummaryRow]) -> String {
    let pm = |s: &Stats| match (s.mean.is_nan(), s.std > 0.0) {
        (true, _) => "—".to_string(), // not recorded (e.g. --no-val) or every run diverged
        (false, true) => format!("{:.4} ± {:.4}", s.mean, s.std),
        (false, false) => format!("{:.4}", s.mean),
    };
    let mut md = String::from(
        "| net | params | train acc (last epoch) | val acc (final) | test acc | seconds/run | dead / diverged runs |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.1} | {} / {} |\n",
            r.name,
            r.params,
            pm(&r.train_acc),
            pm(&r.val_acc),
            pm(&r.test_acc),
            r.seconds.mean,
            r.dead_runs,
            r.diverged_runs
        ));
    }
    md
}

/// First-layer weights as a tile grid: one RGB tile per filter (CNN) or hidden unit (MLP,
/// 32×32), all on the net's shared min..max scale; grey tiles for non-RGB inputs.
pub fn weights_grid(name: &str, weights: &[Vec<Vec<Vec<f32>>>]) -> ImageGrid {
    let flat: Vec<f32> = weights.iter().flatten().flatten().flatten().copied().collect();
    let (lo, hi) = min_max(&flat);
    let per_row = 8;
    let tiles: Vec<Tile> = weights
        .iter()
        .map(|unit| {
            let (c, h, w) = (unit.len(), unit[0].len(), unit[0][0].len());
            let values: Vec<f32> = unit.iter().flatten().flatten().copied().collect();
            if c == 3 { Tile::rgb_planes(w, h, &values, lo, hi) } else { Tile::gray(w, h * c, &values, lo, hi) }
        })
        .collect();
    let size = tiles.first().map_or(1, |t| t.width.max(t.height));
    ImageGrid {
        title: format!("{name}: first-layer weights ({} units, shared scale {lo:.3}..{hi:.3})", tiles.len()),
        column_labels: vec![],
        row_labels: vec![],
        rows: tiles.chunks(per_row).map(|c| c.to_vec()).collect(),
        scale: (96 / size).max(2),
    }
}
