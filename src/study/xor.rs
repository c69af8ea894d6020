//! `nnlab xor`: the scratch MLP on the XOR blobs, for each activation over several seeds.

use super::StudyContext;
use crate::activation::Activation;
use crate::error::{Result, ensure_positive};
use crate::plot::{
    self,
    xor::{BoundaryFigure, BoundaryGrid, SpreadFigure},
};
use crate::progress;
use crate::results::{Stats, prepare_dir, read_json, write_json};
use crate::xor::{ScratchMlp, XorRun, XorTrainConfig, train_xor};
use burn::tensor::{Tensor, TensorData, backend::Backend};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

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

/// Runs the study; returns the runs and the files written.
pub fn run<B: Backend>(ctx: &StudyContext, config: &XorStudyConfig, device: &B::Device) -> Result<(Vec<XorRun>, Vec<PathBuf>)> {
    ensure_positive("--seeds", config.seeds)?;
    config.run.validate()?;
    let dir = prepare_dir(&ctx.dir("xor"))?;
    write_json(&dir.join("config.json"), config)?;

    let total = (config.activations.len() * config.seeds * config.run.epochs) as u64;
    let bar = progress::bar(total, "xor", ctx.quiet);
    let mut runs = Vec::new();
    let mut grids: Vec<(Activation, BoundaryGrid)> = Vec::new();
    let mut files = Vec::new();
    for &activation in &config.activations {
        for k in 0..config.seeds {
            let rc = XorTrainConfig { activation, seed: config.run.seed + k as u64, ..config.run.clone() };
            let name = format!("{}_seed{}", activation, rc.seed);
            let path = dir.join(format!("{name}.json"));
            bar.set_message(name.clone());
            let previous = if ctx.force { None } else { read_json::<XorRun>(&path).ok().filter(|r| r.config == rc) };
            let (run, model) = match previous {
                Some(run) => {
                    let model = ScratchMlp::<B>::from_weights(&run.weights, activation, device);
                    bar.inc(rc.epochs as u64);
                    (run, model)
                }
                None => {
                    let done = bar.position();
                    let (run, model) = train_xor::<B>(&rc, ctx.backend.name(), device, |e| {
                        if e % 100 == 0 {
                            bar.set_position(done + e as u64);
                        }
                    })?;
                    bar.set_position(done + rc.epochs as u64);
                    write_json(&path, &run)?;
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
    }
    bar.finish_and_clear();

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
        files.extend(plot::save(&SpreadFigure { panels }, &dir, "spread")?);
    }
    Ok((runs, files))
}
