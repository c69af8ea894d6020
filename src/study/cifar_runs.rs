//! What the CIFAR-10 studies share: a run's identity (compared on resume) and its result
//! record, loading the data once, training with progress reported, statistics over seeds.

use super::{PlannedRun, StudyContext};
use crate::activation::Activation;
use crate::backend::TrainBackend;
use crate::data::SplitConfig;
use crate::error::Result;
use crate::model::ArchSpec;
use crate::progress::Unit;
use crate::results::{read_json, write_json};
use crate::train::{DeviceData, TrainConfig, TrainOutcome};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Everything that determines a run's result; a stored run is reused only if its key
/// equals the requested one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunKey {
    /// The network.
    pub arch: ArchSpec,
    /// Its activation.
    pub activation: Activation,
    /// The training protocol, seed included.
    pub train: TrainConfig,
    /// The data split and scaling.
    pub split: SplitConfig,
}

/// Validation sets smaller than this get a warning: their accuracy is too coarse to compare.
pub const SMALL_VALIDATION_SET: usize = 100;

/// The run stored at `path`, if it was trained with `key` and `ctx.force` is off.
pub fn stored(ctx: &StudyContext, path: &Path, key: &RunKey) -> Option<CifarRun> {
    if ctx.force {
        return None;
    }
    read_json::<CifarRun>(path).ok().filter(|run| run.key == *key)
}

/// How a CIFAR-10 study obtains each of its runs: a [`Trainer`] while the study runs, a
/// [`Reader`] when `nnlab report` merges what shards wrote. Each study walks its plan once,
/// through either.
pub trait Runs {
    /// The run `task` of `study`, with `key`, whose result is (to be) stored at `path`;
    /// `None` when it is not there: left to another shard, or (reading) not finished yet.
    /// `summary` gives the one line the observer hears about the result.
    fn get(
        &mut self,
        study: &str,
        path: &Path,
        key: &RunKey,
        task: &PlannedRun,
        summary: &dyn Fn(&CifarRun) -> String,
    ) -> Result<Option<CifarRun>>;

    /// A finished run of another study at `path` with `key` (the learning-rate study's Adam
    /// run is the architectures study's), if it is there.
    fn elsewhere(&mut self, path: &Path, key: &RunKey) -> Option<CifarRun>;
}

/// Trains each run of this process (loading the data on first need) or reuses it when a
/// finished result with its key is stored; leaves other shards' runs alone.
pub struct Trainer<'a, B: TrainBackend> {
    ctx: &'a StudyContext,
    device: &'a B::Device,
    /// What this process did, for a shard's record.
    pub work: super::plan::ShardWork,
}

impl<'a, B: TrainBackend> Trainer<'a, B> {
    /// A trainer for `ctx` on `device`.
    pub fn new(ctx: &'a StudyContext, device: &'a B::Device) -> Self {
        Trainer { ctx, device, work: Default::default() }
    }
}

impl<B: TrainBackend> Runs for Trainer<'_, B> {
    fn get(
        &mut self,
        study: &str,
        path: &Path,
        key: &RunKey,
        task: &PlannedRun,
        summary: &dyn Fn(&CifarRun) -> String,
    ) -> Result<Option<CifarRun>> {
        let ctx = self.ctx;
        let id = super::plan::job_id(study, &task.id);
        if let Some(assignment) = ctx.shard.as_ref().filter(|a| !a.owns(&id)) {
            // Another worker of this process performs it: nothing to say or record.
            if !assignment.done_in_this_process(&id) {
                ctx.observer.skipped(&task.label, task.cost(), &assignment.why_not(&id));
                self.work.left.push(id);
            }
            return Ok(None);
        }
        let models = model_dir(path);
        if let Some(run) = stored(ctx, path, key)
            && (!ctx.save_models || models.join(crate::model::saved::META).is_file())
        {
            ctx.observer.reused(&task.label, task.cost(), &summary(&run));
            self.work.reused.push(id);
            return Ok(Some(run));
        }
        // The backend too: a checkpoint's optimiser state fits only the backend that wrote it.
        let checkpoints = crate::train::Checkpoints::new(checkpoint_dir(path), &(key, ctx.backend.name()))?;
        let (outcome, net) = train_key::<B>(ctx, key, task, &checkpoints, self.device)?;
        let meta = crate::model::saved::SavedModel::new(
            key.arch.clone(),
            key.activation,
            key.split.input_scale,
            key.train.seed,
            &outcome,
        );
        let run = cifar_run(key.clone(), outcome, ctx.backend.name());
        write_json(path, &run)?;
        if ctx.save_models {
            crate::model::saved::save(net, &meta, &models)?;
        }
        clear_checkpoint(&checkpoints)?;
        ctx.observer.finished(&summary(&run));
        self.work.trained.push(id);
        Ok(Some(run))
    }

    fn elsewhere(&mut self, path: &Path, key: &RunKey) -> Option<CifarRun> {
        stored(self.ctx, path, key)
    }
}

/// Reads each run's stored result, noting the ones not there (or holding another
/// configuration) in [`Reader::missing`].
#[derive(Debug, Default)]
pub struct Reader {
    /// Runs not found, each with why.
    pub missing: Vec<String>,
}

impl Reader {
    /// The run at `path` if it holds `key`; `Ok(None)` when the file is not there or holds
    /// another configuration, an error when it cannot be read.
    fn read(path: &Path, key: &RunKey) -> Result<std::result::Result<CifarRun, &'static str>> {
        if !path.exists() {
            return Ok(Err("not finished"));
        }
        let run: CifarRun = read_json(path)?;
        Ok(if run.key == *key { Ok(run) } else { Err("holds another configuration") })
    }
}

impl Runs for Reader {
    fn get(
        &mut self,
        study: &str,
        path: &Path,
        key: &RunKey,
        task: &PlannedRun,
        _summary: &dyn Fn(&CifarRun) -> String,
    ) -> Result<Option<CifarRun>> {
        Ok(match Reader::read(path, key)? {
            Ok(run) => Some(run),
            Err(why) => {
                self.missing.push(format!("{} ({why})", super::plan::job_id(study, &task.id)));
                None
            }
        })
    }

    fn elsewhere(&mut self, path: &Path, key: &RunKey) -> Option<CifarRun> {
        Reader::read(path, key).ok().and_then(|r| r.ok())
    }
}

/// Warns `observer` about the runs `reader` missed while merging `study`.
pub fn warn_missing(observer: &dyn crate::progress::Observer, study: &str, reader: &Reader) {
    if !reader.missing.is_empty() {
        let n = reader.missing.len();
        let shown: Vec<&str> = reader.missing.iter().take(5).map(String::as_str).collect();
        observer.warning(&format!(
            "{study}: {n} planned run{} left out of the summaries: {}{}; when its shard has finished, run `nnlab \
             report` again",
            if n == 1 { " is" } else { "s are" },
            shown.join(", "),
            if n > shown.len() { ", ..." } else { "" }
        ));
    }
}

/// Where the net of the run whose result is `result` (`<dir>/<run>.json`) is saved:
/// `<dir>/models/<run>/`.
pub fn model_dir(result: &Path) -> std::path::PathBuf {
    run_subdir(result, "models")
}

/// Where the run whose result is `result` (`<dir>/<run>.json`) keeps its epoch checkpoint
/// while it trains: `<dir>/checkpoints/<run>/` (removed once the result is written).
pub fn checkpoint_dir(result: &Path) -> std::path::PathBuf {
    run_subdir(result, "checkpoints")
}

/// `<dir>/<kind>/<run>/` for the result `<dir>/<run>.json`.
fn run_subdir(result: &Path, kind: &str) -> std::path::PathBuf {
    let stem = result.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
    result.parent().unwrap_or(Path::new(".")).join(kind).join(stem)
}

/// Removes a finished run's checkpoint, and the `checkpoints` directory once it is empty.
fn clear_checkpoint(checkpoints: &crate::train::Checkpoints) -> Result<()> {
    checkpoints.clear()?;
    if let Some(parent) = checkpoints.dir().parent() {
        // Fails while other runs keep theirs there: that is fine.
        let _ = std::fs::remove_dir(parent);
    }
    Ok(())
}

/// Trains one [`RunKey`] as the task `planned`, reporting each record point (epoch, step,
/// loss, validation accuracy) to the context's observer; returns the outcome and the net.
/// A checkpoint of this key in `checkpoints` (left by an interrupted run) is resumed from,
/// unless `ctx.force` asks to train afresh. The data split comes from the context's
/// [`crate::train::DataCache`] (loaded on first need).
pub fn train_key<B: TrainBackend>(
    ctx: &StudyContext,
    key: &RunKey,
    planned: &PlannedRun,
    checkpoints: &crate::train::Checkpoints,
    device: &B::Device,
) -> Result<(TrainOutcome, crate::model::Net<B::InnerBackend>)> {
    let data = ctx.data.get_or_load::<B::InnerBackend>(&key.split, device, || {
        let prepared = crate::data::load(&ctx.data_source, &key.split, &*ctx.observer)?;
        let val = prepared.val.len();
        if key.train.record_val && val < SMALL_VALIDATION_SET {
            ctx.observer.warning(&format!(
                "the validation set holds only {val} image{} (val_fraction {}{}): its accuracy moves in steps \
                     of {:.1} points and says little; hold out a few hundred images or more",
                if val == 1 { "" } else { "s" },
                key.split.val_fraction,
                key.split.max_val.map(|m| format!(", max_val {m}")).unwrap_or_default(),
                100.0 / val.max(1) as f64
            ));
        }
        Ok(DeviceData::new(prepared, device))
    })?;
    let steps = key.train.epochs
        * crate::data::batches::batches_per_epoch(data.train.len(), key.train.batch_size, key.train.drop_last);
    if ctx.force {
        clear_checkpoint(checkpoints)?;
    }
    ctx.observer.started(&planned.label, steps as u64, Unit::Steps, planned.cost());
    if let Some(at) = checkpoints.saved() {
        ctx.observer.resumed(at.step as u64, &format!(
            "{}: going on from its checkpoint after epoch {} of {} (step {steps_done} of {steps}; --force trains it \
             from the start)",
            planned.label,
            at.epochs,
            key.train.epochs,
            steps_done = at.step
        ));
    }
    crate::train::train_resumable::<B>(&key.arch, key.activation, &key.train, &data, device, checkpoints, &mut |p| {
        let val = p.val_acc.map(|v| format!(" val {v:.3}")).unwrap_or_default();
        ctx.observer.advanced(p.step as u64, &format!("ep {}/{} loss {:.3}{val}", p.epoch, key.train.epochs, p.loss));
    })
}

/// The result file of one CIFAR-10 training run, with the course's keys: what every CIFAR
/// study stores per run (`architectures/<arch>_seed<k>.json`,
/// `activation-gradients/runs/…`, `learning-rate/runs/…`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CifarRun {
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
    #[serde(with = "crate::results::nan_as_null")]
    pub test_acc: f64,
    /// First layer's weights in PyTorch layout `[out, channels, h, w]` (an FC layer on
    /// CIFAR-10 images: `[out, 3, 32, 32]`).
    #[serde(with = "crate::results::nan_as_null")]
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
    /// The machine it trained on ([`crate::machine::description`]); empty in run files
    /// written before nnlab recorded it.
    #[serde(default)]
    pub machine: String,
    /// Wall time.
    pub seconds: f64,
    /// nnlab version.
    pub version: String,
}

/// A run as a person names it: its network, activation, schedule and seed, e.g.
/// `cnn4 relu lr 0.1 seed 0` or `cnn4 relu lr 0.1 → 0.01 at step 1500 seed 0`.
pub fn run_label(run: &CifarRun) -> String {
    let t = &run.key.train;
    let lrs: Vec<String> = t.schedule.lrs.iter().map(|lr| lr.to_string()).collect();
    let at = if t.schedule.milestones.is_empty() {
        String::new()
    } else {
        let m: Vec<String> = t.schedule.milestones.iter().map(|m| m.to_string()).collect();
        format!(" (switch at step {})", m.join(", "))
    };
    format!("{} {} lr {}{at} seed {}", run.name, run.key.activation, lrs.join(" → "), t.seed)
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
        .map(|a| {
            (0..c)
                .map(|b| (0..h).map(|y| v[((a * c + b) * h + y) * w..((a * c + b) * h + y + 1) * w].to_vec()).collect())
                .collect()
        })
        .collect()
}

/// The run result of `key`'s training `outcome` on `backend`.
pub fn cifar_run(key: RunKey, outcome: TrainOutcome, backend: &str) -> CifarRun {
    let (shape, values) = pytorch_weights(&outcome.first_weights);
    let dead = is_dead(&outcome.curves.loss);
    CifarRun {
        name: key.arch.name.clone(),
        loss_curve: outcome.curves.loss.clone(),
        train_acc_curve: outcome.curves.train_acc.clone(),
        val_acc_curve: outcome.curves.val_acc.clone(),
        test_acc: outcome.test_acc,
        weights: nest(&shape, &values),
        params: key.arch.param_count(),
        key,
        steps: outcome.steps,
        diverged: outcome.diverged,
        dead,
        outcome_curves: outcome.curves,
        backend: backend.into(),
        machine: crate::machine::description(),
        seconds: outcome.seconds,
        version: env!("CARGO_PKG_VERSION").into(),
    }
}

/// The small split of quick runs (`nnlab all --quick`): 2 000 / 500 / 1 000 training,
/// validation and test images, stratified.
pub fn quick_split() -> SplitConfig {
    SplitConfig { max_train: Some(2_000), max_val: Some(500), max_test: Some(1_000), ..SplitConfig::default() }
}

/// A network stuck at chance: every recorded loss within 0.01 of ln 10 after the first
/// tenth of training (cnn5 does this for some seeds in PyTorch too).
pub fn is_dead(loss: &[f64]) -> bool {
    let tail = &loss[loss.len() / 10..];
    !tail.is_empty() && tail.iter().all(|l| (l - 10f64.ln()).abs() < 0.01)
}

/// Mean and standard deviation over seeds, point by point (curves may differ in length
/// when a run diverged: each point uses the runs that reached it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeedStats {
    /// Mean per point.
    pub mean: Vec<f64>,
    /// Population standard deviation per point.
    pub std: Vec<f64>,
}

impl SeedStats {
    /// Statistics of `curves`, point by point.
    pub fn of(curves: &[&Vec<f64>]) -> SeedStats {
        let len = curves.iter().map(|c| c.len()).max().unwrap_or(0);
        let mut out = SeedStats::default();
        for i in 0..len {
            let s = crate::results::Stats::of(&curves.iter().filter_map(|c| c.get(i).copied()).collect::<Vec<_>>());
            out.mean.push(s.mean);
            out.std.push(s.std);
        }
        out
    }
}

/// Every `*.json` directly in `dir` that parses as a [`CifarRun`], with its file stem, in
/// file-name order (an absent directory has none).
pub fn runs_in(dir: &Path) -> Vec<(String, CifarRun)> {
    json_files(dir)
        .iter()
        .filter_map(|p| {
            let stem = p.file_stem()?.to_string_lossy().to_string();
            Some((stem, read_json::<CifarRun>(p).ok()?))
        })
        .collect()
}

/// The run files directly in `dir` that [`runs_in`] cannot read, each as "path: why": JSON
/// objects with a run's `key` and `outcome_curves` that do not read as a [`CifarRun`] (edited
/// by hand, or written by another version of nnlab). Other JSON files (configurations,
/// summaries) are not runs and are not listed.
pub fn unreadable_runs_in(dir: &Path) -> Vec<String> {
    json_files(dir)
        .iter()
        .filter_map(|p| {
            let bytes = std::fs::read(p).ok()?;
            let why = serde_json::from_slice::<CifarRun>(&bytes).err()?;
            let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
            let looks_like_a_run = value.get("key").is_some() && value.get("outcome_curves").is_some();
            looks_like_a_run.then(|| format!("{}: {why}", p.display()))
        })
        .collect()
}

/// The `*.json` files directly in `dir`, in file-name order (an absent directory has none).
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
    let mut paths: Vec<_> =
        entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "json")).collect();
    paths.sort();
    paths
}

/// A duration for a person: seconds, minutes or hours.
fn duration(seconds: f64) -> String {
    match seconds {
        s if s < 120.0 => format!("{s:.0} s"),
        s if s < 7200.0 => format!("{:.0} min", s / 60.0),
        s => format!("{:.1} h", s / 3600.0),
    }
}

/// The report's account of the CIFAR-10 training behind it, from the run files themselves,
/// so runs trained over several invocations (resumed, sharded, reused) all count: per study,
/// its runs, the backends they ran on, their wall times summed and the longest run. `None`
/// when `out` holds no CIFAR-10 run.
pub fn time_section(out: &Path) -> Option<String> {
    use super::Study;
    let studies = [
        (super::architectures::ArchitecturesConfig::NAME, out.join(super::architectures::ArchitecturesConfig::NAME)),
        (super::gradients::GradientsConfig::NAME, out.join(super::gradients::GradientsConfig::NAME).join("runs")),
        (super::gradients::RawInputGradients::NAME, out.join(super::gradients::RawInputGradients::NAME).join("runs")),
        (
            super::learning_rate::LearningRateConfig::NAME,
            out.join(super::learning_rate::LearningRateConfig::NAME).join("runs"),
        ),
    ];
    let mut rows = Vec::new();
    // Each machine with the studies that trained on it, in the order first met.
    let mut machines: Vec<(String, Vec<&str>)> = Vec::new();
    let mut unrecorded = 0;
    for (name, dir) in studies {
        let runs = runs_in(&dir);
        let Some((longest, slowest)) = runs.iter().max_by(|a, b| a.1.seconds.total_cmp(&b.1.seconds)) else {
            continue;
        };
        let mut backends: Vec<&str> = runs.iter().map(|(_, r)| r.backend.as_str()).collect();
        backends.sort();
        backends.dedup();
        for (_, r) in &runs {
            if r.machine.is_empty() {
                unrecorded += 1;
            } else if let Some((_, of)) = machines.iter_mut().find(|(m, _)| *m == r.machine) {
                if !of.contains(&name) {
                    of.push(name);
                }
            } else {
                machines.push((r.machine.clone(), vec![name]));
            }
        }
        let total: f64 = runs.iter().map(|(_, r)| r.seconds).sum();
        rows.push(format!(
            "| {name} | {} | {} | {} | {longest} ({}) |",
            runs.len(),
            backends.join(", "),
            duration(total),
            duration(slowest.seconds)
        ));
    }
    if rows.is_empty() {
        return None;
    }
    Some(format!(
        "Read from the run files themselves: each CIFAR-10 run records the backend and the machine it trained on \
         and its own wall time (training, validation and test passes; a run resumed from a checkpoint counts the \
         epochs before and after the break). Runs trained one after another on one machine take the summed time; \
         the studies without training (activations, XOR, conv) take seconds.{}\n\n\
         | study | runs | backend | wall time, summed over its runs | longest run |\n|---|---:|---|---:|---|\n{}\n\n{}",
        if out.join(crate::report::ALL_RECORD).is_file() {
            " The header above gives the times of the last `nnlab all` (runs it reused take no time \
             there)."
        } else {
            ""
        },
        rows.join("\n"),
        machines_note(&machines, unrecorded)
    ))
}

/// Where the runs of the time table trained: "Machine: X." when one machine trained them
/// all, else one line per machine, after the studies that ran there (in run-file order); and
/// how many runs do not say.
fn machines_note(machines: &[(String, Vec<&str>)], unrecorded: usize) -> String {
    let mut md = match machines {
        [] => String::new(),
        [(m, _)] => format!("Machine: {m}."),
        _ => {
            let lines: Vec<String> = machines.iter().map(|(m, of)| format!("- {}: {m}", of.join(", "))).collect();
            format!("Machines:\n\n{}\n", lines.join("\n"))
        }
    };
    if unrecorded > 0 {
        // After a list, a paragraph of its own (else Markdown continues the last item).
        let sep = if md.is_empty() {
            ""
        } else if md.ends_with('\n') {
            "\n"
        } else {
            " "
        };
        md.push_str(&if unrecorded == 1 {
            format!("{sep}1 run does not record its machine: it was written before nnlab recorded it.")
        } else {
            format!("{sep}{unrecorded} runs do not record their machine: they were written before nnlab recorded it.")
        });
    }
    if md.is_empty() { md } else { md + "\n\n" }
}
