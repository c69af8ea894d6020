//! `nnlab learning-rate`: one network (cnn4 by default) with SGD at lr 0.1, 0.01, 0.001
//! (part 5), then step schedules 0.1 → 0.01 and 0.1 → 0.01 → 0.001 whose switch steps are
//! found on the validation curves by [`find_plateau`], compared with Adam.

use super::cifar_runs::{self, CifarRun, RunKey, SeedStats};
use super::plateau::{Plateau, PlateauRule, find_plateau};
use super::{PlannedRun, Study, StudyContext, cost};
use crate::activation::Activation;
use crate::backend::TrainBackend;
use crate::data::SplitConfig;
use crate::error::{Error, Result};
use crate::model::ArchSpec;
use crate::plot::curves::{Panel, PanelFigure, PanelKind, Series};
use crate::plot::{self};
use crate::results::{Stats, write_json};
use crate::train::{Schedule, TrainConfig};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What `nnlab learning-rate` runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearningRateConfig {
    /// The network (any but mlp1 in the homework; cnn4 by default).
    pub arch: ArchSpec,
    /// Runs of the whole comparison; seeds are `train.seed, train.seed + 1, ...` (each seed
    /// detects its own switch steps on its own curves).
    #[serde(default = "one")]
    pub seeds: usize,
    /// The constant rates compared.
    pub lrs: Vec<f64>,
    /// Epochs of the constant-rate runs (20).
    pub epochs: usize,
    /// Epochs of the scheduled runs (30).
    pub schedule_epochs: usize,
    /// Switch steps given by the user instead of detected.
    pub switch_steps: Option<Vec<usize>>,
    /// The plateau rule that detects them.
    pub plateau: PlateauRule,
    /// SGD protocol (momentum 0, batch 50, records every 10 steps with validation).
    pub train: TrainConfig,
    /// The Adam run compared against (the architectures study's protocol).
    pub adam: TrainConfig,
    /// Data split and scaling.
    pub data: SplitConfig,
}

fn one() -> usize {
    1
}

impl Default for LearningRateConfig {
    fn default() -> Self {
        Self {
            arch: ArchSpec::parse("cnn4").expect("built-in"),
            seeds: 1,
            lrs: vec![0.1, 0.01, 0.001],
            epochs: 20,
            schedule_epochs: 30,
            switch_steps: None,
            plateau: PlateauRule::default(),
            train: TrainConfig::sgd(0.1),
            adam: TrainConfig::default(),
            data: SplitConfig::default(),
        }
    }
}

/// The course's suffix for a rate: 0.1 → `1`, 0.01 → `01`, 0.001 → `001`.
pub fn lr_suffix(lr: f64) -> String {
    let s = format!("{lr}");
    s.strip_prefix("0.").map(str::to_string).unwrap_or_else(|| s.replace('.', "_"))
}

/// The scheduled runs' outcome for one seed; `schedule.json` holds one per seed (an
/// accuracy that was not recorded is `null` there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleResult {
    /// The seed of this comparison's runs.
    #[serde(default)]
    pub seed: u64,
    /// The switch steps used (0.1 → 0.01, then 0.01 → 0.001).
    pub switch_steps: Vec<usize>,
    /// How each was chosen.
    pub reasons: Vec<String>,
    /// Final validation accuracy of the 0.1 → 0.01 run.
    #[serde(with = "crate::results::nan_as_null")]
    pub two_stage_val_acc: f64,
    /// Final validation accuracy of the 0.1 → 0.01 → 0.001 run.
    #[serde(with = "crate::results::nan_as_null")]
    pub three_stage_val_acc: f64,
    /// Its test accuracy.
    #[serde(with = "crate::results::nan_as_null")]
    pub three_stage_test_acc: f64,
    /// Adam's final validation accuracy.
    #[serde(with = "crate::results::nan_as_null")]
    pub adam_val_acc: f64,
    /// Adam's test accuracy.
    #[serde(with = "crate::results::nan_as_null")]
    pub adam_test_acc: f64,
    /// Where Adam's run came from (reused architectures result or trained here).
    pub adam_source: String,
}

fn last(v: &[f64]) -> f64 {
    v.last().copied().unwrap_or(f64::NAN)
}

/// File stems of the study's runs under `runs/`.
pub mod names {
    use crate::model::ArchSpec;

    /// A constant-rate run, `<arch>_lr<lr>_seed<k>`.
    pub fn constant(arch: &ArchSpec, lr: f64, seed: u64) -> String {
        format!("{}_lr{lr}_seed{seed}", arch.file_stem())
    }
    /// The scheduled run with `stages` rates, `<arch>_schedule_<stages>_seed<k>`.
    pub fn schedule(arch: &ArchSpec, stages: usize, seed: u64) -> String {
        format!("{}_schedule_{stages}_seed{seed}", arch.file_stem())
    }
    /// The Adam run trained here, `<arch>_adam_seed<k>`.
    pub fn adam(arch: &ArchSpec, seed: u64) -> String {
        format!("{}_adam_seed{seed}", arch.file_stem())
    }
    /// The constant-rate curves together (`<arch>.json`, course keys).
    pub fn combined(arch: &ArchSpec) -> String {
        arch.file_stem()
    }
}

/// The figure of the constant rates (`.png` and `.svg`).
pub const RATES_FIGURE: &str = "learning_rates";
/// The figure of the schedules against Adam.
pub const SCHEDULE_FIGURE: &str = "schedule";
/// The schedules' outcome, [`ScheduleResult`].
pub const SCHEDULE_RESULT: &str = "schedule.json";

impl LearningRateConfig {
    fn key(&self, train: TrainConfig) -> RunKey {
        RunKey { arch: self.arch.clone(), activation: Activation::Relu, train, split: self.data.clone() }
    }

    fn constant_train(&self, lr: f64, seed: u64) -> TrainConfig {
        TrainConfig { epochs: self.epochs, schedule: Schedule::constant(lr), seed, ..self.train.clone() }
    }

    fn schedule_train(&self, schedule: Schedule, seed: u64) -> TrainConfig {
        TrainConfig { epochs: self.schedule_epochs, schedule, seed, ..self.train.clone() }
    }

    fn adam_train(&self, seed: u64) -> TrainConfig {
        TrainConfig { seed, ..self.adam.clone() }
    }

    /// The seeds of the study's runs.
    fn seed_list(&self) -> Vec<u64> {
        (0..self.seeds as u64).map(|k| self.train.seed + k).collect()
    }

    /// Runs per seed: the constant rates, the two schedules, Adam.
    fn runs_per_seed(&self) -> usize {
        self.lrs.len() + 3
    }

    /// The progress task of the study's `k`-th run (the constant rates, the two schedules,
    /// Adam, seed by seed), labelled "[k/total] what", its result `runs/<stem>.json`.
    fn task(&self, k: usize, what: String, work: cost::Work, stem: String) -> PlannedRun {
        PlannedRun::new(format!("[{k}/{}] {what}", self.runs_per_seed() * self.seeds), work, format!("runs/{stem}"))
    }

    /// Training steps of a scheduled run (its epochs of the training split's batches).
    fn schedule_steps(&self) -> usize {
        let [n_train, _, _] = cost::split_sizes(&self.data);
        crate::data::batches::batches_per_epoch(n_train, self.train.batch_size, self.train.drop_last)
            * self.schedule_epochs
    }

    /// Rates of the schedules: the first three constant rates (0.1, 0.01, 0.001).
    fn stage_rates(&self) -> (f64, f64, f64) {
        (self.lrs[0], *self.lrs.get(1).unwrap_or(&0.01), *self.lrs.get(2).unwrap_or(&0.001))
    }
}

impl Study for LearningRateConfig {
    const NAME: &'static str = "learning-rate";
    const TITLE: &'static str = "Learning rates and schedules (part 5)";
    const SHARDED: bool = true;

    fn quick() -> Self {
        Self {
            epochs: 1,
            schedule_epochs: 2,
            adam: TrainConfig { epochs: 1, ..TrainConfig::default() },
            plateau: PlateauRule { window: 3, patience: 5, min_delta: 0.002 },
            data: cifar_runs::quick_split(),
            ..Self::default()
        }
    }

    fn validate(&self) -> Result<()> {
        crate::error::ensure_positive("seeds", self.seeds)?;
        self.train.validate()?;
        self.adam.validate_learning()?;
        self.data.validate()?;
        crate::error::ensure_positive("epochs", self.epochs)?;
        crate::error::ensure_positive("schedule_epochs", self.schedule_epochs)?;
        if self.lrs.is_empty() {
            return Err(Error::invalid("lrs", "name at least one learning rate"));
        }
        TrainConfig {
            schedule: Schedule { lrs: self.lrs.clone(), milestones: (1..self.lrs.len()).collect() },
            ..self.train.clone()
        }
        .validate_learning()?;
        if self.arch.name == "mlp1" {
            return Err(Error::invalid(
                "arch",
                "the homework compares learning rates on any network but mlp1; pick mlp2, cnn3, cnn4 or cnn5",
            ));
        }
        if let Some(s) = &self.switch_steps {
            if s.is_empty() || s.len() > 2 {
                return Err(Error::invalid("switch_steps", format!("give one or two steps, got {}", s.len())));
            }
            Schedule::piecewise(vec![1.0; s.len() + 1], s.clone()).map_err(|_| {
                Error::invalid("switch_steps", format!("must be increasing and greater than 0, got {s:?}"))
            })?;
            let steps = self.schedule_steps();
            if let Some(late) = s.iter().find(|&&x| x >= steps) {
                return Err(Error::invalid(
                    "switch_steps",
                    format!(
                        "step {late} is past the end of the scheduled runs ({steps} steps: {} epochs); give steps \
                         below {steps} or train the schedules longer (schedule_epochs)",
                        self.schedule_epochs
                    ),
                ));
            }
        }
        self.plateau.validate()?;
        crate::model::memory::ensure_fits(
            std::slice::from_ref(&self.arch),
            self.train.batch_size,
            self.train.eval_batch_size,
        )
    }

    fn plan(&self) -> Vec<PlannedRun> {
        let cost = |train: &TrainConfig| cost::cifar_run(&self.arch, train, &self.data);
        let (hi, mid, lo) = self.stage_rates();
        let mut plan = Vec::new();
        let arch = &self.arch;
        let detected = self.switch_steps.is_none();
        for seed in self.seed_list() {
            let suffix = if self.seeds > 1 { format!(" seed {seed}") } else { String::new() };
            for &lr in &self.lrs {
                let train = self.constant_train(lr, seed);
                let stem = names::constant(arch, lr, seed);
                plan.push(
                    self.task(plan.len() + 1, format!("lr {lr}{suffix}"), cost(&train), stem).keyed(self.key(train)),
                );
            }
            // Switch steps detected on the lr-0.1 run's curve, then on the two-stage run's.
            let scheduled = cost(&self.schedule_train(Schedule::constant(hi), seed));
            let first = plan[plan.len() - self.lrs.len()].id.clone();
            let two =
                self.task(plan.len() + 1, format!("{hi}→{mid}{suffix}"), scheduled, names::schedule(arch, 2, seed));
            let two_id = two.id.clone();
            plan.push(if detected { two.needing(vec![first]) } else { two });
            let three = self.task(
                plan.len() + 1,
                format!("{hi}→{mid}→{lo}{suffix}"),
                scheduled,
                names::schedule(arch, 3, seed),
            );
            plan.push(if detected { three.needing(vec![two_id]) } else { three });
            let adam = self.adam_train(seed);
            plan.push(
                self.task(plan.len() + 1, format!("adam{suffix}"), cost(&adam), names::adam(arch, seed))
                    .keyed(self.key(adam)),
            );
        }
        plan
    }

    fn set_seed(&mut self, seed: u64) {
        self.train.seed = seed;
        self.adam.seed = seed;
        self.data.seed = seed;
    }

    fn run<B: TrainBackend>(&self, ctx: &StudyContext, device: &B::Device) -> Result<Vec<PathBuf>> {
        run::<B>(ctx, self, device)
    }

    fn merge(&self, out: &Path, observer: &dyn crate::progress::Observer) -> Result<Vec<PathBuf>> {
        let mut reader = cifar_runs::Reader::default();
        let walked = walk(self, out, &mut reader, &crate::progress::Silent)?;
        cifar_runs::warn_missing(observer, Self::NAME, &reader);
        write_outputs(self, &out.join(Self::NAME), &walked)
    }

    fn report(out: &Path) -> Result<Option<String>> {
        let Some(results) = super::study_file::<Vec<ScheduleResult>>(out, Self::NAME, SCHEDULE_RESULT)? else {
            return Ok(None);
        };
        let mut md = super::config_link(out, Self::NAME);
        md.push_str(&super::figure(out, &format!("{}/{RATES_FIGURE}.png", Self::NAME), "SGD at three learning rates"));
        md.push_str(
            "| seed | switch steps | 0.1 → 0.01 final val acc | 0.1 → 0.01 → 0.001 final val acc | its test acc | \
             Adam final val acc | Adam test acc | Adam run |\n|---:|---|---:|---:|---:|---:|---:|---|\n",
        );
        // "—": not recorded (no validation records).
        let acc = |v: f64| if v.is_finite() { format!("{v:.4}") } else { "—".to_string() };
        for s in &results {
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                s.seed,
                s.switch_steps.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", "),
                acc(s.two_stage_val_acc),
                acc(s.three_stage_val_acc),
                acc(s.three_stage_test_acc),
                acc(s.adam_val_acc),
                acc(s.adam_test_acc),
                s.adam_source
            ));
        }
        if results.len() > 1 {
            let stats = |f: fn(&ScheduleResult) -> f64| Stats::of(&results.iter().map(f).collect::<Vec<_>>());
            let (sched, adam) = (stats(|s| s.three_stage_test_acc), stats(|s| s.adam_test_acc));
            md.push_str(&format!(
                "\nTest accuracy over {} seeds (mean ± standard deviation): scheduled SGD {:.4} ± {:.4}, Adam {:.4} ± {:.4}.\n",
                results.len(),
                sched.mean,
                sched.std,
                adam.mean,
                adam.std
            ));
        }
        md.push_str("\nHow each switch step was chosen:\n\n");
        for s in &results {
            for (i, r) in s.reasons.iter().enumerate() {
                md.push_str(&format!("- seed {}, switch {}: {r}\n", s.seed, i + 1));
            }
        }
        md.push('\n');
        md.push_str(&super::figure(out, &format!("{}/{SCHEDULE_FIGURE}.png", Self::NAME), "scheduled SGD vs Adam"));
        Ok(Some(md))
    }
}

/// Runs the study on backend `B`: for each seed the constant rates, then the schedules with
/// switch steps detected on that seed's curves (or given), then Adam; returns the files
/// written. As a shard ([`StudyContext::shard`]): only the shard's runs, and no summaries.
pub fn run<B: TrainBackend>(
    ctx: &StudyContext,
    config: &LearningRateConfig,
    device: &B::Device,
) -> Result<Vec<PathBuf>> {
    Study::validate(config)?;
    let study_dir = super::StudyDir::open(ctx, LearningRateConfig::NAME, config)?;
    crate::results::prepare_dir(&study_dir.path.join("runs"))?;
    let mut trainer = cifar_runs::Trainer::<B>::new(ctx, device);
    let mut walked = walk(config, &ctx.out, &mut trainer, &*ctx.observer)?;
    if let Some(assignment) = &ctx.shard {
        study_dir.finish_shard(assignment, config, trainer.work, &mut walked.files)?;
        return Ok(walked.files);
    }
    let mut files = walked.files.clone();
    files.extend(write_outputs(config, &study_dir.path, &walked)?);
    study_dir.finish(config, &mut files)?;
    Ok(files)
}

/// The runs of every seed whose comparison is complete.
struct Walked {
    /// Per seed: the constant-rate runs, with their rates.
    constant: Vec<Vec<(f64, CifarRun)>>,
    /// Per seed: the two schedules and Adam.
    schedules: Vec<[CifarRun; 3]>,
    /// Per seed: the outcome.
    results: Vec<ScheduleResult>,
    /// The run files read or written.
    files: Vec<PathBuf>,
}

/// Every planned run that `runs` gives, seed by seed: a seed's comparison enters the
/// result only when all its runs are there (a shard may hold only some of them).
fn walk(
    config: &LearningRateConfig,
    out: &Path,
    runs: &mut dyn cifar_runs::Runs,
    observer: &dyn crate::progress::Observer,
) -> Result<Walked> {
    let runs_dir = out.join(LearningRateConfig::NAME).join("runs");
    let plan = config.plan();
    let arch = &config.arch;
    let mut files = Vec::new();
    let mut get = |task: &PlannedRun, key: RunKey, runs: &mut dyn cifar_runs::Runs| -> Result<Option<CifarRun>> {
        let stem = task.id.trim_start_matches("runs/").to_string();
        let summary = |run: &CifarRun| {
            format!(
                "{stem:<28} final val acc {:.4}  test acc {:.4}{}",
                last(&run.val_acc_curve),
                run.test_acc,
                if run.diverged { "  DIVERGED" } else { "" }
            )
        };
        let path = runs_dir.join(format!("{stem}.json"));
        let run = runs.get(LearningRateConfig::NAME, &path, &key, task, &summary)?;
        if run.is_some() {
            files.push(path);
        }
        Ok(run)
    };
    let (hi, mid, lo) = config.stage_rates();
    let n = config.lrs.len();
    let schedule_steps = config.schedule_steps();
    let mut walked = Walked { constant: Vec::new(), schedules: Vec::new(), results: Vec::new(), files: Vec::new() };
    for (k, seed) in config.seed_list().into_iter().enumerate() {
        let plan = &plan[k * config.runs_per_seed()..(k + 1) * config.runs_per_seed()];
        // 1. Constant rates.
        let mut rates = Vec::new();
        for (i, &lr) in config.lrs.iter().enumerate() {
            let run = get(&plan[i], config.key(config.constant_train(lr, seed)), runs)?;
            rates.push(run.map(|r| (lr, r)));
        }

        // 2. Schedules with detected (or given) switch steps.
        let given = config.switch_steps.as_deref();
        let first = match (given, &rates[0]) {
            (Some([a, ..]), _) => Some((*a, "given as a switch step".to_string())),
            (None, Some((_, fast))) => Some(switch_after(config, fast, 0)?),
            _ => None,
        };
        let mut scheduled = None;
        if let Some((s1, why1)) = first {
            if s1 + 1 >= schedule_steps {
                return Err(Error::invalid(
                    "schedule_epochs",
                    format!(
                        "the first switch step, detected at step {s1} on the lr {hi} curve ({} epochs), is at or \
                         past the end of the scheduled runs ({schedule_steps} steps); train the schedules longer or \
                         give switch steps",
                        config.epochs
                    ),
                ));
            }
            let two = config.schedule_train(Schedule::piecewise(vec![hi, mid], vec![s1])?, seed);
            let two_run = get(&plan[n], config.key(two), runs)?;
            let second = match (given, &two_run) {
                (Some([_, b, ..]), _) => Some((*b, "given as a switch step".to_string())),
                (None, Some(two_run)) => Some(switch_after(config, two_run, s1 + 1)?),
                _ => None,
            };
            if let Some((s2, why2)) = second {
                if s2 <= s1 {
                    return Err(Error::Data(format!(
                        "the second switch step ({s2}) was found before the first ({s1}) on the seed {seed} curves"
                    )));
                }
                let three = config.schedule_train(Schedule::piecewise(vec![hi, mid, lo], vec![s1, s2])?, seed);
                let three_run = get(&plan[n + 1], config.key(three), runs)?;
                scheduled = Some((two_run, three_run, [s1, s2], [why1, why2]));
            }
        }

        // 3. Adam: the architectures study's run when it matches, else this study's own.
        let adam_key = config.key(config.adam_train(seed));
        let arch_file = format!("{}.json", super::architectures::run_name(arch, seed));
        let arch_path = out.join(super::architectures::ArchitecturesConfig::NAME).join(&arch_file);
        let adam = match runs.elsewhere(&arch_path, &adam_key) {
            Some(r) => {
                let what = format!("adam seed {seed}: reused from the architectures study");
                observer.reused(&plan[n + 2].label, plan[n + 2].cost(), &what);
                Some((r, format!("reused architectures/{arch_file}")))
            }
            None => get(&plan[n + 2], adam_key, runs)?.map(|r| (r, "trained by this study".to_string())),
        };

        let rates: Option<Vec<(f64, CifarRun)>> = rates.into_iter().collect();
        let (Some(rates), Some((Some(two_run), Some(three_run), [s1, s2], [why1, why2])), Some((adam, adam_source))) =
            (rates, scheduled, adam)
        else {
            continue;
        };
        let result = ScheduleResult {
            seed,
            switch_steps: vec![s1, s2],
            reasons: vec![why1, why2],
            two_stage_val_acc: last(&two_run.val_acc_curve),
            three_stage_val_acc: last(&three_run.val_acc_curve),
            three_stage_test_acc: three_run.test_acc,
            adam_val_acc: last(&adam.val_acc_curve),
            adam_test_acc: adam.test_acc,
            adam_source,
        };
        observer.note(&format!(
            "seed {seed}: switch steps {s1}, {s2}: scheduled test acc {:.4} vs Adam {:.4}",
            result.three_stage_test_acc, result.adam_test_acc
        ));
        walked.results.push(result);
        walked.constant.push(rates);
        walked.schedules.push([two_run, three_run, adam]);
    }
    walked.files = files;
    Ok(walked)
}

/// The constant rates' curves, both figures and `schedule.json` from the complete seeds.
fn write_outputs(config: &LearningRateConfig, dir: &Path, walked: &Walked) -> Result<Vec<PathBuf>> {
    let (hi, mid, lo) = config.stage_rates();
    let Walked { constant, schedules, results, .. } = walked;
    let mut files = Vec::new();
    files.push(write_constant_results(dir, config, constant)?);
    files.extend(plot::save(&rates_figure(config, constant), dir, RATES_FIGURE)?);
    let path = dir.join(SCHEDULE_RESULT);
    write_json(&path, results)?;
    files.push(path);
    let labels = match results.as_slice() {
        [r] => {
            let (s1, s2) = (r.switch_steps[0], r.switch_steps[1]);
            [
                format!("{hi}→{mid} (switch at {s1})"),
                format!("{hi}→{mid}→{lo} (switches at {s1}, {s2})"),
                "Adam".to_string(),
            ]
        }
        _ => [
            format!("{hi}→{mid} (switch detected per seed)"),
            format!("{hi}→{mid}→{lo} (switches detected per seed)"),
            "Adam".to_string(),
        ],
    };
    files.extend(plot::save(&schedule_figure(config, results, &labels, schedules), dir, SCHEDULE_FIGURE)?);
    Ok(files)
}

/// Mean curve over seeds (drawn raw faint with its moving average on top: both the loss and
/// the validation accuracy are recorded every few steps and are noisy), with the standard
/// deviation as a band when there are several.
fn seed_series(label: String, colour: usize, runs: &[&CifarRun], curve: fn(&CifarRun) -> &Vec<f64>) -> Series {
    let stats = SeedStats::of(&runs.iter().map(|r| curve(r)).collect::<Vec<_>>());
    Series {
        label,
        colour,
        x: runs[0].outcome_curves.step.iter().map(|&s| s as f64).collect(),
        y: stats.mean,
        std: (runs.len() > 1).then_some(stats.std),
        smooth: true,
        ..Default::default()
    }
}

/// The constant-rate curves under the course's keys (`loss_curve_1`, `val_acc_curve_01`, …),
/// the mean over seeds when several ran.
fn write_constant_results(
    dir: &Path,
    config: &LearningRateConfig,
    constant: &[Vec<(f64, CifarRun)>],
) -> Result<PathBuf> {
    let mut combined = serde_json::Map::new();
    combined.insert("name".into(), config.arch.name.clone().into());
    combined.insert("seeds".into(), constant.len().into());
    for (i, lr) in config.lrs.iter().enumerate() {
        let runs: Vec<&CifarRun> = constant.iter().map(|rates| &rates[i].1).collect();
        let mean = |f: fn(&CifarRun) -> &Vec<f64>| SeedStats::of(&runs.iter().map(|r| f(r)).collect::<Vec<_>>()).mean;
        let curve = |v: Vec<f64>| -> serde_json::Value {
            v.iter().map(|x| if x.is_finite() { serde_json::json!(x) } else { serde_json::Value::Null }).collect()
        };
        combined.insert(format!("loss_curve_{}", lr_suffix(*lr)), curve(mean(|r| &r.loss_curve)));
        combined.insert(format!("val_acc_curve_{}", lr_suffix(*lr)), curve(mean(|r| &r.val_acc_curve)));
    }
    let path = dir.join(format!("{}.json", names::combined(&config.arch)));
    write_json(&path, &combined)?;
    Ok(path)
}

/// The switch step found on `run`'s validation curve after step `after`, and why; the last
/// step of the curve when no plateau is found.
fn switch_after(config: &LearningRateConfig, run: &CifarRun, after: usize) -> Result<(usize, String)> {
    if run.diverged {
        return Err(Error::invalid(
            "switch_steps",
            format!(
                "the run {} diverged (its loss became NaN or infinite by step {}): no switch step can be detected on \
                 its validation curve; give switch steps, or lower the rates",
                super::cifar_runs::run_label(run),
                run.steps
            ),
        ));
    }
    let pairs: Vec<(usize, f64)> = run
        .outcome_curves
        .step
        .iter()
        .copied()
        .zip(run.val_acc_curve.iter().copied())
        .filter(|(s, _)| *s >= after)
        .collect();
    let (steps, acc): (Vec<usize>, Vec<f64>) = pairs.into_iter().unzip();
    let p: Plateau = find_plateau(&steps, &acc, &config.plateau);
    Ok(match p.step {
        Some(s) => (s, p.reason),
        None => {
            let end = run.steps.saturating_sub(1).max(1);
            (
                end,
                format!("{}; switching at the last step of that curve ({end}); give switch steps to choose", p.reason),
            )
        }
    })
}

fn rates_figure(config: &LearningRateConfig, constant: &[Vec<(f64, CifarRun)>]) -> PanelFigure {
    let lr_series = |val: bool| -> Vec<Series> {
        config
            .lrs
            .iter()
            .enumerate()
            .map(|(i, lr)| {
                let runs: Vec<&CifarRun> = constant.iter().map(|rates| &rates[i].1).collect();
                let curve: fn(&CifarRun) -> &Vec<f64> = if val { |r| &r.val_acc_curve } else { |r| &r.loss_curve };
                seed_series(format!("lr {lr}"), i, &runs, curve)
            })
            .collect()
    };
    let seeds = crate::plot::curves::band_note(constant.len());
    let records = constant.iter().flatten().map(|(_, r)| r.loss_curve.len()).max().unwrap_or(0);
    let note = crate::plot::curves::smoothing_note(records);
    PanelFigure {
        panels: vec![
            Panel {
                title: crate::plot::curves::titled(
                    &format!("{}: training loss, SGD", config.arch.name),
                    &[&note, &seeds],
                ),
                x_label: "step".into(),
                y_label: "loss".into(),
                log_y: false,
                kind: PanelKind::Lines(lr_series(false)),
            },
            Panel {
                title: crate::plot::curves::titled(
                    &format!("{}: validation accuracy, SGD", config.arch.name),
                    &[&note, &seeds],
                ),
                x_label: "step".into(),
                y_label: "accuracy".into(),
                log_y: false,
                kind: PanelKind::Lines(lr_series(true)),
            },
        ],
        columns: 2,
        panel_size: (720, 480),
    }
}

fn schedule_figure(
    config: &LearningRateConfig,
    results: &[ScheduleResult],
    labels: &[String; 3],
    schedules: &[[CifarRun; 3]],
) -> PanelFigure {
    let val_series = (0..3)
        .map(|i| {
            let runs: Vec<&CifarRun> = schedules.iter().map(|s| &s[i]).collect();
            let mut s = seed_series(labels[i].clone(), i, &runs, |r| &r.val_acc_curve);
            s.dashed = i == 2; // Adam: another optimiser, another line style
            s
        })
        .collect();
    let mean = |f: fn(&ScheduleResult) -> f64| Stats::of(&results.iter().map(f).collect::<Vec<_>>()).mean;
    let (hi, mid, lo) = config.stage_rates();
    let records = schedules.iter().flatten().map(|r| r.val_acc_curve.len()).max().unwrap_or(0);
    let note = crate::plot::curves::smoothing_note(records);
    let seeds = crate::plot::curves::band_note(results.len());
    PanelFigure {
        panels: vec![Panel {
            title: crate::plot::curves::titled(
                &format!(
                    "{}: SGD {hi}→{mid}→{lo} vs Adam, test acc {:.4} vs {:.4}",
                    config.arch.name,
                    mean(|r| r.three_stage_test_acc),
                    mean(|r| r.adam_test_acc)
                ),
                &[&note, &seeds],
            ),
            x_label: "step".into(),
            y_label: "validation accuracy".into(),
            log_y: false,
            kind: PanelKind::Lines(val_series),
        }],
        columns: 1,
        panel_size: (900, 520),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without validation records (`train.record_val: false`, switch steps given) the final
    /// validation accuracies are NaN: `schedule.json` holds `null` and the report still reads it.
    #[test]
    fn a_schedule_result_without_validation_reads_back_for_the_report() {
        let out = tempfile::tempdir().unwrap();
        let result = ScheduleResult {
            seed: 0,
            switch_steps: vec![3, 8],
            reasons: vec!["given as a switch step".into(); 2],
            two_stage_val_acc: f64::NAN,
            three_stage_val_acc: f64::NAN,
            three_stage_test_acc: 0.25,
            adam_val_acc: f64::NAN,
            adam_test_acc: 0.5,
            adam_source: "trained by this study".into(),
        };
        let path = out.path().join(LearningRateConfig::NAME).join(SCHEDULE_RESULT);
        write_json(&path, &[result]).unwrap();
        assert!(std::fs::read_to_string(&path).unwrap().contains("\"adam_val_acc\": null"));
        let md = LearningRateConfig::report(out.path()).unwrap().expect("a section");
        assert!(md.contains("| 0 | 3, 8 | — | — | 0.2500 | — | 0.5000 |"), "{md}");
    }
}
