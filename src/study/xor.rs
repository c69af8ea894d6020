//! `nnlab xor`: the scratch MLP on the XOR blobs, for each activation over several seeds.

use super::{PlannedRun, Study, StudyContext, cost};
use crate::activation::Activation;
use crate::backend::TrainBackend;
use crate::error::{Result, ensure_positive};
use crate::plot::{
    self,
    xor::{BoundaryFigure, BoundaryGrid, SpreadFigure},
};
use crate::progress::Unit;
use crate::results::{Stats, read_json, write_json};
use crate::xor::{ScratchMlp, XorRun, XorTrainConfig, train_xor};
use burn::tensor::{Tensor, TensorData, backend::Backend};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What `nnlab xor` runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct XorStudyConfig {
    /// Activations to compare.
    pub activations: Vec<Activation>,
    /// Runs per activation; seeds are `seed, seed + 1, ...`.
    pub seeds: usize,
    /// Everything else about a run; its `activation` and `seed` are set per run.
    pub run: XorTrainConfig,
}

impl Default for XorStudyConfig {
    fn default() -> Self {
        Self { activations: Activation::ALL.to_vec(), seeds: 1, run: XorTrainConfig::default() }
    }
}

/// Per-activation accuracies over seeds, as written to `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct XorSummaryEntry {
    /// Validation accuracy of each seed's run.
    pub accuracies: Vec<f64>,
    /// Their mean, std, min and max.
    pub stats: Stats,
    /// How many runs diverged (NaN/inf loss).
    pub diverged: usize,
}

/// The contents of `summary.json`: one entry per activation name.
pub type XorSummary = BTreeMap<String, XorSummaryEntry>;

/// Half-width of the square on which decision boundaries are drawn.
const EXTENT: f64 = 2.5;
/// Grid points per axis for decision boundaries.
const RESOLUTION: usize = 161;

/// The network's outputs on the boundary grid.
pub fn boundary_grid<B: Backend>(model: &ScratchMlp<B>, device: &B::Device) -> BoundaryGrid {
    let points = BoundaryGrid::points(EXTENT, RESOLUTION);
    let x = Tensor::<B, 2>::from_data(TensorData::new(points, [RESOLUTION * RESOLUTION, 2]), device);
    let values = model.predict(x).into_data().convert::<f32>().to_vec().unwrap_or_default();
    BoundaryGrid { extent: EXTENT, resolution: RESOLUTION, values }
}

/// The file stem of one run's result and boundary figure, `<activation>_seed<k>`.
pub fn run_name(activation: Activation, seed: u64) -> String {
    format!("{activation}_seed{seed}")
}

/// The figure of every seed's boundary side by side (`.png`, `.svg`), when seeds > 1.
pub const SPREAD_FIGURE: &str = "spread";

impl XorStudyConfig {
    /// Every run's configuration and task, activation by activation, seed by seed.
    fn runs(&self) -> Vec<(XorTrainConfig, PlannedRun)> {
        let total = self.activations.len() * self.seeds;
        let mut out = Vec::with_capacity(total);
        for &activation in &self.activations {
            for k in 0..self.seeds {
                let rc = XorTrainConfig { activation, seed: self.run.seed + k as u64, ..self.run.clone() };
                let name = run_name(activation, rc.seed);
                let label = format!("[{}/{total}] xor {name}", out.len() + 1);
                let work = cost::Work {
                    macs: rc.epochs as f64 * 3.0 * rc.data.train_samples as f64 * (3 * rc.hidden + 1) as f64,
                    xor_epochs: rc.epochs as f64,
                    ..Default::default()
                };
                out.push((rc, PlannedRun::new(label, work, name)));
            }
        }
        out
    }
}

impl Study for XorStudyConfig {
    const NAME: &'static str = "xor";
    const TITLE: &'static str = "XOR with a from-scratch MLP (parts 1.2–1.3)";

    fn quick() -> Self {
        let mut c = Self::default();
        c.run.epochs = 2_000;
        c
    }

    fn validate(&self) -> Result<()> {
        ensure_positive("seeds", self.seeds)?;
        if self.activations.is_empty() {
            return Err(crate::error::Error::invalid("activation", "name at least one activation"));
        }
        self.run.validate()
    }

    fn plan(&self) -> Vec<PlannedRun> {
        self.runs().into_iter().map(|r| r.1).collect()
    }

    fn set_seed(&mut self, seed: u64) {
        self.run.seed = seed;
    }

    fn run<B: TrainBackend>(&self, ctx: &StudyContext, device: &B::Device) -> Result<Vec<PathBuf>> {
        Ok(run::<B::InnerBackend>(ctx, self, device)?.1)
    }

    fn report(out: &Path) -> Result<Option<String>> {
        let Some(summary) = super::study_file::<XorSummary>(out, Self::NAME, "summary.json")? else { return Ok(None) };
        let mut md = super::config_link(out, Self::NAME);
        md.push_str(
            "| activation | runs | mean val acc | std | min | max | diverged |\n|---|---:|---:|---:|---:|---:|---:|\n",
        );
        for (name, e) in &summary {
            let s = e.stats;
            md.push_str(&format!(
                "| {name} | {} | {:.3} | {:.3} | {:.2} | {:.2} | {} |\n",
                e.accuracies.len(),
                s.mean,
                s.std,
                s.min,
                s.max,
                e.diverged
            ));
        }
        md.push('\n');
        md.push_str(&super::figure(out, &format!("xor/{SPREAD_FIGURE}.png"), "decision boundaries over seeds"));
        // The first seed's boundary of each activation, as the study named it.
        let config: Option<Self> = super::read_config(out, Self::NAME);
        for activation in config.iter().flat_map(|c| c.activations.clone()) {
            let seed = config.as_ref().map_or(0, |c| c.run.seed);
            md.push_str(&super::figure(
                out,
                &format!("xor/{}.png", run_name(activation, seed)),
                &format!("{activation} decision boundary"),
            ));
        }
        Ok(Some(md))
    }
}

/// Runs the study; returns the runs and the files written.
pub fn run<B: Backend>(
    ctx: &StudyContext,
    config: &XorStudyConfig,
    device: &B::Device,
) -> Result<(Vec<XorRun>, Vec<PathBuf>)> {
    Study::validate(config)?;
    let study_dir = super::StudyDir::open(ctx, XorStudyConfig::NAME, config)?;
    let dir = study_dir.path.clone();
    let mut files = Vec::new();
    let mut runs = Vec::new();
    let mut grids: Vec<(Activation, BoundaryGrid)> = Vec::new();
    let observer = &ctx.observer;
    for (rc, task) in config.runs() {
        let activation = rc.activation;
        let name = run_name(activation, rc.seed);
        let path = dir.join(format!("{name}.json"));
        let summary = |run: &XorRun| {
            format!(
                "{name:<16} val acc {:.3}  train acc {:.3}{}",
                run.val_accuracy,
                run.train_accuracy,
                if run.diverged { "  DIVERGED (loss NaN/inf)" } else { "" }
            )
        };
        let previous = if ctx.force { None } else { read_json::<XorRun>(&path).ok().filter(|r| r.config == rc) };
        let (run, model) = match previous {
            Some(run) => {
                let model = ScratchMlp::<B>::from_weights(&run.weights, activation, device);
                observer.reused(&task.label, task.cost(), &summary(&run));
                (run, model)
            }
            None => {
                observer.started(&task.label, rc.epochs as u64, Unit::Steps, task.cost());
                let (run, model) = train_xor::<B>(&rc, ctx.backend.name(), device, |e| {
                    if e % 100 == 0 {
                        observer.advanced(e as u64, "epochs");
                    }
                })?;
                write_json(&path, &run)?;
                observer.finished(&summary(&run));
                (run, model)
            }
        };
        let grid = boundary_grid(&model, device);
        let (_, val) = rc.data.generate(rc.seed);
        let title = format!(
            "XOR, {activation}, seed {}: val acc {:.3}{}",
            rc.seed,
            run.val_accuracy,
            if run.diverged { " (diverged)" } else { "" }
        );
        let fig = BoundaryFigure { title, grid: &grid, points: &val.points, labels: &val.labels };
        files.push(path);
        files.extend(plot::save(&fig, &dir, &name)?);
        grids.push((activation, grid));
        runs.push(run);
    }

    let mut summary = XorSummary::new();
    for &activation in &config.activations {
        let of_act: Vec<&XorRun> = runs.iter().filter(|r| r.config.activation == activation).collect();
        let accuracies: Vec<f64> = of_act.iter().map(|r| r.val_accuracy).collect();
        let stats = Stats::of(&accuracies);
        let diverged = of_act.iter().filter(|r| r.diverged).count();
        summary.insert(activation.name().into(), XorSummaryEntry { accuracies, stats, diverged });
    }
    let summary_path = dir.join("summary.json");
    write_json(&summary_path, &summary)?;
    files.push(summary_path);

    if config.seeds > 1 {
        let panels = config
            .activations
            .iter()
            .map(|&a| {
                let gs: Vec<&BoundaryGrid> = grids.iter().filter(|(g, _)| *g == a).map(|(_, g)| g).collect();
                (a.name().to_string(), gs, summary[a.name()].accuracies.clone())
            })
            .collect();
        files.extend(plot::save(&SpreadFigure { panels }, &dir, SPREAD_FIGURE)?);
    }
    study_dir.finish(config, &mut files)?;
    Ok((runs, files))
}
