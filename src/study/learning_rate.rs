//! `nnlab learning-rate`: one network (cnn4 by default) with SGD at lr 0.1, 0.01, 0.001
//! (part 5), then step schedules 0.1 → 0.01 and 0.1 → 0.01 → 0.001 whose switch steps are
//! found on the validation curves by [`find_plateau`], compared with Adam.

use super::StudyContext;
use super::architectures::{ArchRun, arch_run};
use super::cifar_runs::{self, RunKey};
use super::plateau::{Plateau, PlateauRule, find_plateau};
use crate::activation::Activation;
use crate::data::SplitConfig;
use crate::error::{Error, Result};
use crate::model::ArchSpec;
use crate::plot::curves::{Panel, PanelFigure, PanelKind, Series};
use crate::plot::{self};
use crate::results::{read_json, write_json};
use crate::train::{DeviceData, Schedule, TrainConfig};
use crate::kernels::TrainBackend;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

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

/// Runs the study on backend `B`.
pub fn run<B: TrainBackend>(ctx: &StudyContext, config: &LearningRateConfig, device: &B::Device) -> Result<Vec<PathBuf>> {
    config.train.validate()?;
    crate::error::ensure_positive("--epochs", config.epochs)?;
    crate::error::ensure_positive("--schedule-epochs", config.schedule_epochs)?;
    if config.arch.name == "mlp1" {
        return Err(Error::invalid("--arch", "the homework compares learning rates on any network but mlp1; pick mlp2, cnn3, cnn4 or cnn5"));
    }
    let dir = crate::results::prepare_dir(&ctx.dir("learning-rate"))?;
    let runs_dir = crate::results::prepare_dir(&dir.join("runs"))?;
    write_json(&dir.join("config.json"), config)?;
    let mut files = vec![dir.join("config.json")];
    let mut data: Option<DeviceData<B::InnerBackend>> = None;
    let name = config.arch.file_stem();
    let key_for = |train: TrainConfig| RunKey { arch: config.arch.clone(), activation: Activation::Relu, train, split: config.data.clone() };
    let run_one = |stem: String, label: String, key: RunKey, data: &mut Option<DeviceData<B::InnerBackend>>| -> Result<ArchRun> {
        let run = cifar_runs::reuse_or_train::<B, _>(ctx, &runs_dir.join(format!("{stem}.json")), &key, &label, data, device, |o| {
            arch_run(&config.arch, key.clone(), o, ctx.backend.name())
        })?;
        println!("{stem:<22} final val acc {:.4}  test acc {:.4}{}", last(&run.val_acc_curve), run.test_acc, if run.diverged { "  DIVERGED" } else { "" });
        Ok(run)
    };

    // 1. Constant rates.
    let mut constant = Vec::new();
    let mut combined = serde_json::Map::new();
    combined.insert("name".into(), config.arch.name.clone().into());
    for (i, &lr) in config.lrs.iter().enumerate() {
        let train = TrainConfig { epochs: config.epochs, schedule: Schedule::constant(lr), ..config.train.clone() };
        let run = run_one(format!("{name}_lr{lr}"), format!("[{}/{}] lr {lr}", i + 1, config.lrs.len() + 3), key_for(train), &mut data)?;
        combined.insert(format!("loss_curve_{}", lr_suffix(lr)), serde_json::to_value(&run.loss_curve).unwrap_or_default());
        combined.insert(format!("val_acc_curve_{}", lr_suffix(lr)), serde_json::to_value(&run.val_acc_curve).unwrap_or_default());
        constant.push((lr, run));
    }
    let combined_path = dir.join(format!("{name}.json"));
    write_json(&combined_path, &combined)?;
    files.push(combined_path);
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
    let fig = PanelFigure {
        panels: vec![
            Panel { title: format!("{}: training loss, SGD", config.arch.name), x_label: "step".into(), y_label: "loss".into(), log_y: false, kind: PanelKind::Lines(lr_series(false)) },
            Panel { title: format!("{}: validation accuracy, SGD", config.arch.name), x_label: "step".into(), y_label: "accuracy".into(), log_y: false, kind: PanelKind::Lines(lr_series(true)) },
        ],
        columns: 2,
        panel_size: (720, 480),
    };
    files.extend(plot::save(&fig, &dir, "learning_rates")?);

    // 2. Schedules with detected (or given) switch steps.
    let (hi, mid, lo) = (config.lrs[0], *config.lrs.get(1).unwrap_or(&0.01), *config.lrs.get(2).unwrap_or(&0.001));
    let detect = |run: &ArchRun, after: usize| -> Plateau {
        let pairs: Vec<(usize, f64)> = run.outcome_curves.step.iter().copied().zip(run.val_acc_curve.iter().copied()).filter(|(s, _)| *s >= after).collect();
        let (steps, acc): (Vec<usize>, Vec<f64>) = pairs.into_iter().unzip();
        find_plateau(&steps, &acc, &config.plateau)
    };
    let fallback = |p: Plateau, run: &ArchRun| -> (usize, String) {
        match p.step {
            Some(s) => (s, p.reason),
            None => {
                let end = run.steps.saturating_sub(1).max(1);
                (end, format!("{}; switching at the last step of that curve ({end}) — give --switch-steps to choose", p.reason))
            }
        }
    };
    let (s1, why1) = match config.switch_steps.as_deref() {
        Some([a, ..]) => (*a, "given with --switch-steps".to_string()),
        _ => fallback(detect(&constant[0].1, 0), &constant[0].1),
    };
    let two = TrainConfig { epochs: config.schedule_epochs, schedule: Schedule::piecewise(vec![hi, mid], vec![s1])?, ..config.train.clone() };
    let two_run = run_one(format!("{name}_schedule_2"), format!("[4/6] {hi}→{mid} at {s1}"), key_for(two), &mut data)?;
    let (s2, why2) = match config.switch_steps.as_deref() {
        Some([_, b, ..]) => (*b, "given with --switch-steps".to_string()),
        _ => fallback(detect(&two_run, s1 + 1), &two_run),
    };
    if s2 <= s1 {
        return Err(Error::invalid("--switch-steps", format!("the second switch ({s2}) must come after the first ({s1})")));
    }
    let three = TrainConfig { epochs: config.schedule_epochs, schedule: Schedule::piecewise(vec![hi, mid, lo], vec![s1, s2])?, ..config.train.clone() };
    let three_run = run_one(format!("{name}_schedule_3"), format!("[5/6] {hi}→{mid}→{lo}"), key_for(three), &mut data)?;

    // 3. Adam: the architectures study's run when it matches, else trained here.
    let adam_key = key_for(TrainConfig { seed: config.train.seed, ..config.adam.clone() });
    let arch_path = ctx.dir("architectures").join(format!("{name}_seed{}.json", config.train.seed));
    let (adam, adam_source) = match read_json::<ArchRun>(&arch_path) {
        Ok(r) if r.key == adam_key && !ctx.force => (r, format!("reused architectures/{name}_seed{}.json", config.train.seed)),
        _ => (run_one(format!("{name}_adam"), "[6/6] adam".into(), adam_key, &mut data)?, "trained by this study".into()),
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
    println!("switch steps {s1}, {s2}: scheduled test acc {:.4} vs Adam {:.4}", result.three_stage_test_acc, result.adam_test_acc);
    let path = dir.join("schedule.json");
    write_json(&path, &result)?;
    files.push(path);
    let val_series = [(format!("{hi}→{mid} (switch at {s1})"), &two_run), (format!("{hi}→{mid}→{lo} (switches at {s1}, {s2})"), &three_run), ("Adam".to_string(), &adam)]
        .into_iter()
        .enumerate()
        .map(|(i, (label, r))| Series { label, colour: i, x: r.outcome_curves.step.iter().map(|&s| s as f64).collect(), y: r.val_acc_curve.clone(), ..Default::default() })
        .collect();
    let fig = PanelFigure {
        panels: vec![Panel {
            title: format!("{}: scheduled SGD vs Adam — test acc {:.4} vs {:.4}", config.arch.name, result.three_stage_test_acc, result.adam_test_acc),
            x_label: "step".into(),
            y_label: "validation accuracy".into(),
            log_y: false,
            kind: PanelKind::Lines(val_series),
        }],
        columns: 1,
        panel_size: (900, 520),
    };
    files.extend(plot::save(&fig, &dir, "schedule")?);
    Ok(files)
}
