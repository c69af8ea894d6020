//! `nnlab learning-rate`: one network (cnn4 by default) with SGD at lr 0.1, 0.01, 0.001
//! (part 5), then step schedules 0.1 → 0.01 and 0.1 → 0.01 → 0.001 whose switch steps are
//! found on the validation curves by [`find_plateau`], compared with Adam.

use super::cifar_runs::{self, CifarRun, RunKey};
use super::plateau::{Plateau, PlateauRule, find_plateau};
use super::{PlannedRun, Study, StudyContext, cost};
use crate::activation::Activation;
use crate::backend::TrainBackend;
use crate::data::SplitConfig;
use crate::error::{Error, Result};
use crate::model::ArchSpec;
use crate::plot::curves::{Panel, PanelFigure, PanelKind, Series};
use crate::plot::{self};
use crate::results::{read_json, write_json};
use crate::train::{DeviceData, Schedule, TrainConfig};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What `nnlab learning-rate` runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearningRateConfig {
    /// The network (any but mlp1 in the homework; cnn4 by default).
    pub arch: ArchSpec,
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

impl Default for LearningRateConfig {
    fn default() -> Self {
        Self {
            arch: ArchSpec::parse("cnn4").expect("built-in"),
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

/// The scheduled runs' outcome, `schedule.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleResult {
    /// The switch steps used (0.1 → 0.01, then 0.01 → 0.001).
    pub switch_steps: Vec<usize>,
    /// How each was chosen.
    pub reasons: Vec<String>,
    /// Final validation accuracy of the 0.1 → 0.01 run.
    pub two_stage_val_acc: f64,
    /// Final validation accuracy of the 0.1 → 0.01 → 0.001 run.
    pub three_stage_val_acc: f64,
    /// Its test accuracy.
    pub three_stage_test_acc: f64,
    /// Adam's final validation accuracy.
    pub adam_val_acc: f64,
    /// Adam's test accuracy.
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

    /// A constant-rate run, `<arch>_lr<lr>`.
    pub fn constant(arch: &ArchSpec, lr: f64) -> String {
        format!("{}_lr{lr}", arch.file_stem())
    }
    /// The scheduled run with `stages` rates, `<arch>_schedule_<stages>`.
    pub fn schedule(arch: &ArchSpec, stages: usize) -> String {
        format!("{}_schedule_{stages}", arch.file_stem())
    }
    /// The Adam run trained here, `<arch>_adam`.
    pub fn adam(arch: &ArchSpec) -> String {
        format!("{}_adam", arch.file_stem())
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

    fn constant_train(&self, lr: f64) -> TrainConfig {
        TrainConfig { epochs: self.epochs, schedule: Schedule::constant(lr), ..self.train.clone() }
    }

    fn schedule_train(&self, schedule: Schedule) -> TrainConfig {
        TrainConfig { epochs: self.schedule_epochs, schedule, ..self.train.clone() }
    }

    fn adam_train(&self) -> TrainConfig {
        TrainConfig { seed: self.train.seed, ..self.adam.clone() }
    }

    /// The progress task of the study's `k`-th run (the constant rates, the two schedules,
    /// Adam), labelled "[k/total] what".
    fn task(&self, k: usize, what: String, work: cost::Work) -> PlannedRun {
        PlannedRun::new(format!("[{k}/{}] {what}", self.lrs.len() + 3), work)
    }

    /// Rates of the schedules: the first three constant rates (0.1, 0.01, 0.001).
    fn stage_rates(&self) -> (f64, f64, f64) {
        (self.lrs[0], *self.lrs.get(1).unwrap_or(&0.01), *self.lrs.get(2).unwrap_or(&0.001))
    }
}

impl Study for LearningRateConfig {
    const NAME: &'static str = "learning-rate";
    const TITLE: &'static str = "Learning rates and schedules (part 5)";

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
        }
        self.plateau.validate()
    }

    fn plan(&self) -> Vec<PlannedRun> {
        let cost = |train: &TrainConfig| cost::cifar_run(&self.arch, train, &self.data);
        let mut plan: Vec<PlannedRun> = self
            .lrs
            .iter()
            .enumerate()
            .map(|(i, &lr)| self.task(i + 1, format!("lr {lr}"), cost(&self.constant_train(lr))))
            .collect();
        let scheduled = cost(&self.schedule_train(Schedule::constant(self.lrs[0])));
        let (hi, mid, lo) = self.stage_rates();
        let n = self.lrs.len();
        plan.push(self.task(n + 1, format!("{hi}→{mid}"), scheduled));
        plan.push(self.task(n + 2, format!("{hi}→{mid}→{lo}"), scheduled));
        plan.push(self.task(n + 3, "adam".into(), cost(&self.adam_train())));
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

    fn report(out: &Path) -> Option<String> {
        let s = read_json::<ScheduleResult>(&out.join(Self::NAME).join(SCHEDULE_RESULT)).ok()?;
        let mut md = super::config_link(out, Self::NAME);
        md.push_str(&super::figure(out, &format!("{}/{RATES_FIGURE}.png", Self::NAME), "SGD at three learning rates"));
        md.push_str(&format!(
            "Switch steps: **{}**.\n\n",
            s.switch_steps.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
        ));
        for (i, r) in s.reasons.iter().enumerate() {
            md.push_str(&format!("{}. {r}\n", i + 1));
        }
        md.push_str(&format!(
            "\n| run | final val acc | test acc |\n|---|---:|---:|\n| 0.1 → 0.01 | {:.4} | |\n| 0.1 → 0.01 → 0.001 | {:.4} | {:.4} |\n| Adam ({}) | {:.4} | {:.4} |\n\n",
            s.two_stage_val_acc, s.three_stage_val_acc, s.three_stage_test_acc, s.adam_source, s.adam_val_acc, s.adam_test_acc
        ));
        md.push_str(&super::figure(out, &format!("{}/{SCHEDULE_FIGURE}.png", Self::NAME), "scheduled SGD vs Adam"));
        Some(md)
    }
}

/// Runs the study on backend `B`: the constant rates, then the schedules with switch steps
/// detected on their curves (or given), then Adam; returns the files written.
pub fn run<B: TrainBackend>(
    ctx: &StudyContext,
    config: &LearningRateConfig,
    device: &B::Device,
) -> Result<Vec<PathBuf>> {
    Study::validate(config)?;
    let dir = crate::results::prepare_dir(&ctx.dir(LearningRateConfig::NAME))?;
    let runs_dir = crate::results::prepare_dir(&dir.join("runs"))?;
    let mut files = vec![super::write_config(&dir, config)?];
    let mut data: Option<DeviceData<B::InnerBackend>> = None;
    let plan = config.plan();
    let arch = &config.arch;
    let run_one = |stem: String,
                   task: &PlannedRun,
                   key: RunKey,
                   data: &mut Option<DeviceData<B::InnerBackend>>|
     -> Result<CifarRun> {
        let summary = |run: &CifarRun| {
            format!(
                "{stem:<22} final val acc {:.4}  test acc {:.4}{}",
                last(&run.val_acc_curve),
                run.test_acc,
                if run.diverged { "  DIVERGED" } else { "" }
            )
        };
        cifar_runs::reuse_or_train::<B>(ctx, &runs_dir.join(format!("{stem}.json")), &key, task, data, device, summary)
    };

    // 1. Constant rates.
    let mut constant = Vec::new();
    for (i, &lr) in config.lrs.iter().enumerate() {
        let run = run_one(names::constant(arch, lr), &plan[i], config.key(config.constant_train(lr)), &mut data)?;
        constant.push((lr, run));
    }
    files.push(write_constant_results(&dir, config, &constant)?);
    files.extend(plot::save(&rates_figure(config, &constant), &dir, RATES_FIGURE)?);

    // 2. Schedules with detected (or given) switch steps.
    let n = config.lrs.len();
    let (hi, mid, lo) = config.stage_rates();
    let (s1, why1) = match config.switch_steps.as_deref() {
        Some([a, ..]) => (*a, "given as a switch step".to_string()),
        _ => switch_after(config, &constant[0].1, 0),
    };
    let two = config.schedule_train(Schedule::piecewise(vec![hi, mid], vec![s1])?);
    let two_run = run_one(names::schedule(arch, 2), &plan[n], config.key(two), &mut data)?;
    let (s2, why2) = match config.switch_steps.as_deref() {
        Some([_, b, ..]) => (*b, "given as a switch step".to_string()),
        _ => switch_after(config, &two_run, s1 + 1),
    };
    if s2 <= s1 {
        return Err(Error::invalid(
            "switch_steps",
            format!("the second switch ({s2}) must come after the first ({s1})"),
        ));
    }
    let three = config.schedule_train(Schedule::piecewise(vec![hi, mid, lo], vec![s1, s2])?);
    let three_run = run_one(names::schedule(arch, 3), &plan[n + 1], config.key(three), &mut data)?;

    // 3. Adam: the architectures study's run when it matches, else trained here.
    let adam_key = config.key(config.adam_train());
    let arch_file = format!("{}.json", super::architectures::run_name(arch, config.train.seed));
    let arch_path = ctx.dir(super::architectures::ArchitecturesConfig::NAME).join(&arch_file);
    let (adam, adam_source) = match cifar_runs::stored(ctx, &arch_path, &adam_key) {
        Some(r) => {
            ctx.observer.reused(&plan[n + 2].label, plan[n + 2].cost(), "adam: reused from the architectures study");
            (r, format!("reused architectures/{arch_file}"))
        }
        None => (run_one(names::adam(arch), &plan[n + 2], adam_key, &mut data)?, "trained by this study".into()),
    };

    let result = ScheduleResult {
        switch_steps: vec![s1, s2],
        reasons: vec![why1, why2],
        two_stage_val_acc: last(&two_run.val_acc_curve),
        three_stage_val_acc: last(&three_run.val_acc_curve),
        three_stage_test_acc: three_run.test_acc,
        adam_val_acc: last(&adam.val_acc_curve),
        adam_test_acc: adam.test_acc,
        adam_source,
    };
    ctx.observer.note(&format!(
        "switch steps {s1}, {s2}: scheduled test acc {:.4} vs Adam {:.4}",
        result.three_stage_test_acc, result.adam_test_acc
    ));
    let path = dir.join(SCHEDULE_RESULT);
    write_json(&path, &result)?;
    files.push(path);
    let runs = [
        (format!("{hi}→{mid} (switch at {s1})"), &two_run),
        (format!("{hi}→{mid}→{lo} (switches at {s1}, {s2})"), &three_run),
        ("Adam".to_string(), &adam),
    ];
    files.extend(plot::save(&schedule_figure(config, &result, &runs), &dir, SCHEDULE_FIGURE)?);
    Ok(files)
}

/// The constant-rate curves under the course's keys (`loss_curve_1`, `val_acc_curve_01`, …).
fn write_constant_results(dir: &Path, config: &LearningRateConfig, constant: &[(f64, CifarRun)]) -> Result<PathBuf> {
    let mut combined = serde_json::Map::new();
    combined.insert("name".into(), config.arch.name.clone().into());
    for (lr, run) in constant {
        combined.insert(
            format!("loss_curve_{}", lr_suffix(*lr)),
            serde_json::to_value(&run.loss_curve).unwrap_or_default(),
        );
        combined.insert(
            format!("val_acc_curve_{}", lr_suffix(*lr)),
            serde_json::to_value(&run.val_acc_curve).unwrap_or_default(),
        );
    }
    let path = dir.join(format!("{}.json", names::combined(&config.arch)));
    write_json(&path, &combined)?;
    Ok(path)
}

/// The switch step found on `run`'s validation curve after step `after`, and why; the last
/// step of the curve when no plateau is found.
fn switch_after(config: &LearningRateConfig, run: &CifarRun, after: usize) -> (usize, String) {
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
    match p.step {
        Some(s) => (s, p.reason),
        None => {
            let end = run.steps.saturating_sub(1).max(1);
            (
                end,
                format!("{}; switching at the last step of that curve ({end}); give switch steps to choose", p.reason),
            )
        }
    }
}

fn rates_figure(config: &LearningRateConfig, constant: &[(f64, CifarRun)]) -> PanelFigure {
    let lr_series = |val: bool| -> Vec<Series> {
        constant
            .iter()
            .enumerate()
            .map(|(i, (lr, r))| Series {
                label: format!("lr {lr}"),
                colour: i,
                x: r.outcome_curves.step.iter().map(|&s| s as f64).collect(),
                y: if val { r.val_acc_curve.clone() } else { r.loss_curve.clone() },
                ..Default::default()
            })
            .collect()
    };
    PanelFigure {
        panels: vec![
            Panel {
                title: format!("{}: training loss, SGD", config.arch.name),
                x_label: "step".into(),
                y_label: "loss".into(),
                log_y: false,
                kind: PanelKind::Lines(lr_series(false)),
            },
            Panel {
                title: format!("{}: validation accuracy, SGD", config.arch.name),
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

fn schedule_figure(config: &LearningRateConfig, result: &ScheduleResult, runs: &[(String, &CifarRun)]) -> PanelFigure {
    let val_series = runs
        .iter()
        .enumerate()
        .map(|(i, (label, r))| Series {
            label: label.clone(),
            colour: i,
            x: r.outcome_curves.step.iter().map(|&s| s as f64).collect(),
            y: r.val_acc_curve.clone(),
            ..Default::default()
        })
        .collect();
    PanelFigure {
        panels: vec![Panel {
            title: format!(
                "{}: scheduled SGD vs Adam — test acc {:.4} vs {:.4}",
                config.arch.name, result.three_stage_test_acc, result.adam_test_acc
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
