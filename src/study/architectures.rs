//! `nnlab architectures`: the homework's five networks (or any spec) on CIFAR-10 with Adam
//! (part 3): curves every 10 steps, test accuracy, first-layer weights, over seeds.

use super::cifar_runs::{self, CifarRun, RunKey, SeedStats};
use super::{PlannedRun, Study, StudyContext, cost};
use crate::activation::Activation;
use crate::backend::TrainBackend;
use crate::data::SplitConfig;
use crate::error::Result;
use crate::model::ArchSpec;
use crate::plot::curves::{Panel, PanelFigure, PanelKind, Point, Series};
use crate::plot::grid::{ImageGrid, Tile, min_max};
use crate::plot::{self};
use crate::results::{Stats, write_atomic, write_json};
use crate::train::TrainConfig;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

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
        Self {
            archs: ArchSpec::builtins(),
            activation: Activation::Relu,
            seeds: 1,
            train: TrainConfig::default(),
            data: SplitConfig::default(),
        }
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

/// The file stem of a run's result, `<arch>_seed<k>`.
pub fn run_name(spec: &ArchSpec, seed: u64) -> String {
    format!("{}_seed{seed}", spec.file_stem())
}

/// The file stem of a net's first-layer weight figure, `weights_<arch>`.
pub fn weights_figure(spec: &ArchSpec) -> String {
    format!("weights_{}", spec.file_stem())
}

/// One planned run: its key, its file stem and its progress task.
struct Planned {
    key: RunKey,
    name: String,
    task: PlannedRun,
}

impl ArchitecturesConfig {
    /// Every run, network by network, seed by seed.
    fn runs(&self) -> Vec<Planned> {
        let total = self.archs.len() * self.seeds;
        let mut out = Vec::with_capacity(total);
        for spec in &self.archs {
            for k in 0..self.seeds {
                let train = TrainConfig { seed: self.train.seed + k as u64, ..self.train.clone() };
                let key = RunKey { arch: spec.clone(), activation: self.activation, train, split: self.data.clone() };
                let name = run_name(spec, key.train.seed);
                let task = PlannedRun::new(
                    format!("[{}/{total}] {name}", out.len() + 1),
                    cost::cifar_run(spec, &key.train, &key.split),
                    name.clone(),
                )
                .keyed(key.clone());
                out.push(Planned { key, name, task });
            }
        }
        out
    }

    /// Runs the study on backend `B`; returns the runs and the files written. As a shard
    /// ([`StudyContext::shard`]): only the shard's runs, and no summaries.
    pub fn run_all<B: TrainBackend>(
        &self,
        ctx: &StudyContext,
        device: &B::Device,
    ) -> Result<(Vec<CifarRun>, Vec<PathBuf>)> {
        Study::validate(self)?;
        let study_dir = super::StudyDir::open(ctx, Self::NAME, self)?;
        let mut trainer = cifar_runs::Trainer::<B>::new(ctx, device);
        let (runs, mut files) = self.walk(&study_dir.path, &mut trainer)?;
        if let Some(assignment) = &ctx.shard {
            study_dir.finish_shard(assignment, self, trainer.work, &mut files)?;
            return Ok((runs, files));
        }
        files.extend(write_outputs(&study_dir.path, self, &runs)?);
        study_dir.finish(self, &mut files)?;
        Ok((runs, files))
    }

    /// Every planned run that `runs` gives, with its result file.
    fn walk(&self, dir: &Path, runs: &mut dyn cifar_runs::Runs) -> Result<(Vec<CifarRun>, Vec<PathBuf>)> {
        let mut files = Vec::new();
        let mut found = Vec::new();
        for p in self.runs() {
            let path = dir.join(format!("{}.json", p.name));
            let summary = |run: &CifarRun| {
                format!(
                    "{:<14} params {:>7}  test acc {:.4}  {:.0} s{}",
                    p.name,
                    run.params,
                    run.test_acc,
                    run.seconds,
                    if run.diverged {
                        "  DIVERGED"
                    } else if run.dead {
                        "  DEAD (loss stuck at ln 10)"
                    } else {
                        ""
                    }
                )
            };
            if let Some(run) = runs.get(Self::NAME, &path, &p.key, &p.task, &summary)? {
                files.push(path);
                found.push(run);
            }
        }
        Ok((found, files))
    }
}

impl Study for ArchitecturesConfig {
    const NAME: &'static str = "architectures";
    const TITLE: &'static str = "Architectures on CIFAR-10 with Adam (part 3)";
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
        self.train.validate_learning()?;
        self.data.validate()?;
        crate::model::memory::ensure_fits(&self.archs, self.train.batch_size, self.train.eval_batch_size)
    }

    fn plan(&self) -> Vec<PlannedRun> {
        self.runs().into_iter().map(|p| p.task).collect()
    }

    fn set_seed(&mut self, seed: u64) {
        self.train.seed = seed;
        self.data.seed = seed;
    }

    fn run<B: TrainBackend>(&self, ctx: &StudyContext, device: &B::Device) -> Result<Vec<PathBuf>> {
        Ok(self.run_all::<B>(ctx, device)?.1)
    }

    fn merge(&self, out: &Path, observer: &dyn crate::progress::Observer) -> Result<Vec<PathBuf>> {
        let dir = out.join(Self::NAME);
        let mut reader = cifar_runs::Reader::default();
        let (runs, _) = self.walk(&dir, &mut reader)?;
        cifar_runs::warn_missing(observer, Self::NAME, &reader);
        write_outputs(&dir, self, &runs)
    }

    fn report(out: &Path) -> Result<Option<String>> {
        let Some(rows) = super::study_file::<Vec<SummaryRow>>(out, Self::NAME, "summary.json")? else {
            return Ok(None);
        };
        let config: Option<Self> = super::read_config(out, Self::NAME);
        let mut md = super::config_link(out, Self::NAME);
        md.push_str(&summary_table(&rows));
        md.push('\n');
        for r in &rows {
            md.push_str(&format!("- **{}**: `{}`\n", r.name, r.spec));
        }
        md.push('\n');
        md.push_str(&super::figure(out, "architectures/architectures.png", "loss and accuracy curves"));
        for spec in config.map(|c| c.archs).unwrap_or_default() {
            md.push_str(&super::figure(
                out,
                &format!("architectures/{}.png", weights_figure(&spec)),
                &format!("{} first-layer weights", spec.name),
            ));
        }
        Ok(Some(md))
    }
}

/// Figures and summary tables from finished runs.
pub fn write_outputs(dir: &std::path::Path, config: &ArchitecturesConfig, runs: &[CifarRun]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let per_epoch_records = |r: &CifarRun| {
        let steps = &r.outcome_curves.step;
        let per_epoch = r.steps.div_ceil(r.key.train.epochs.max(1));
        let last_epoch_start = r.steps.saturating_sub(per_epoch);
        let vals: Vec<f64> =
            steps.iter().zip(&r.train_acc_curve).filter(|(s, _)| **s >= last_epoch_start).map(|(_, a)| *a).collect();
        vals.iter().sum::<f64>() / vals.len().max(1) as f64
    };
    let mut rows = Vec::new();
    let mut loss_series = Vec::new();
    let mut train_acc_series = Vec::new();
    let mut val_acc_series = Vec::new();
    let mut test_points = Vec::new();
    let mut val_points = Vec::new();
    for (i, spec) in config.archs.iter().enumerate() {
        let of: Vec<&CifarRun> = runs.iter().filter(|r| r.name == spec.name).collect();
        if of.is_empty() {
            continue;
        }
        let train_acc = Stats::of(&of.iter().map(|r| per_epoch_records(r)).collect::<Vec<_>>());
        let val_acc =
            Stats::of(&of.iter().map(|r| r.val_acc_curve.last().copied().unwrap_or(f64::NAN)).collect::<Vec<_>>());
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
        let colour = plot::net_colour(&spec.name, i);
        loss_series.push(Series {
            label: spec.name.clone(),
            colour,
            x: x.clone(),
            y: loss.mean,
            std: with_std.then_some(loss.std),
            smooth: true,
            ..Default::default()
        });
        train_acc_series.push(Series {
            label: spec.name.clone(),
            colour,
            x: x.clone(),
            y: tr.mean,
            std: with_std.then_some(tr.std),
            smooth: true,
            ..Default::default()
        });
        if !va.mean.is_empty() {
            val_acc_series.push(Series {
                label: spec.name.clone(),
                colour,
                x,
                y: va.mean,
                std: with_std.then_some(va.std),
                smooth: true,
                ..Default::default()
            });
        }
        test_points.push(Point {
            label: spec.name.clone(),
            colour,
            x: train_acc.mean,
            y: test_acc.mean,
            x_err: train_acc.std,
            y_err: test_acc.std,
        });
        val_points.push(Point {
            label: spec.name.clone(),
            colour,
            x: train_acc.mean,
            y: val_acc.mean,
            x_err: train_acc.std,
            y_err: val_acc.std,
        });

        // First-layer weights, one shared scale per net.
        let grid = weights_grid(&spec.name, &of[0].weights);
        files.extend(plot::save(&grid, dir, &weights_figure(spec))?);
    }
    let records = runs.iter().map(|r| r.loss_curve.len()).max().unwrap_or(0);
    let note = plot::curves::smoothing_note(records);
    let seeds = plot::curves::band_note(config.seeds);
    let panel = |title: &str, y: &str, kind| Panel {
        title: title.into(),
        x_label: "step".into(),
        y_label: y.into(),
        log_y: false,
        kind,
    };
    // Loss, training accuracy and validation accuracy each in a panel of its own (as the
    // course's own part-3 figure has them: ten curves in one panel hid each other), then
    // where each net ends: test and validation against final training accuracy.
    let curves = |title: &str| plot::curves::titled(title, &[&note, &seeds]);
    let mut panels = vec![
        panel(&curves("training loss"), "loss", PanelKind::Lines(loss_series)),
        panel(&curves("training accuracy"), "batch accuracy", PanelKind::Lines(train_acc_series)),
    ];
    if !val_acc_series.is_empty() {
        panels.push(panel(&curves("validation accuracy"), "accuracy", PanelKind::Lines(val_acc_series)));
    }
    panels.push(Panel {
        x_label: "final training accuracy".into(),
        ..panel("test vs final training accuracy", "test accuracy", PanelKind::Points(test_points))
    });
    panels.push(Panel {
        x_label: "final training accuracy".into(),
        ..panel("validation vs final training accuracy", "validation accuracy", PanelKind::Points(val_points))
    });
    let fig = PanelFigure { panels, columns: 2, panel_size: (820, 540) };
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
