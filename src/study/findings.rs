//! The homework's questions as claims tested on whatever results an output directory holds:
//! each claim a statistic per seed, its mean with a 95 % Student-t interval over the seeds,
//! and a verdict. `nnlab report` recomputes them every time, so adding seeds sharpens them.
//!
//! A claim **holds** when the whole interval lies on the claimed side of its threshold,
//! **does not hold** when the whole interval lies on the other side, and is **not resolved**
//! otherwise; a single run gives no interval and never a verdict. Claims with several parts
//! hold when every part holds and do not hold when any part does not.
//!
//! Dead runs (loss stuck at ln 10) and diverged runs are kept: they enter every statistic
//! with the values they reached (a dead net's test accuracy is about 0.10; a diverged run's
//! accuracy is its last one, and its gradient norms are the finite ones it recorded), and
//! each row counts them.

use super::Study;
use super::cifar_runs::CifarRun;
use crate::activation::Activation;
use crate::data::InputScale;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};
use std::collections::BTreeMap;
use std::path::Path;

/// A statistic over seeds: mean and 95 % t-interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Number of seeds (values).
    pub n: usize,
    /// Their mean.
    pub mean: f64,
    /// Lower end of the 95 % interval (NaN for one value).
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
}

impl Estimate {
    /// Mean and two-sided 95 % Student-t interval of `values` (non-finite values left out).
    pub fn of(values: &[f64]) -> Estimate {
        let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        let n = v.len();
        let mean = if n == 0 { f64::NAN } else { v.iter().sum::<f64>() / n as f64 };
        if n < 2 {
            return Estimate { n, mean, lo: f64::NAN, hi: f64::NAN };
        }
        let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
        let t = StudentsT::new(0.0, 1.0, (n - 1) as f64).map(|d| d.inverse_cdf(0.975)).unwrap_or(f64::NAN);
        let half = t * sd / (n as f64).sqrt();
        Estimate { n, mean, lo: mean - half, hi: mean + half }
    }
}

/// What the data says of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The interval lies on the claimed side.
    Holds,
    /// The interval lies on the other side.
    DoesNotHold,
    /// The interval straddles the threshold.
    NotResolved,
    /// One run: no interval.
    OneRun,
    /// The output directory holds no runs this claim needs.
    NotMeasured,
}

impl Verdict {
    /// The verdict as the table reads it; `n` values, each a seed's or (`per_run`) a run's.
    fn text(self, n: usize, per_run: bool) -> String {
        match self {
            Verdict::Holds => "**holds**".into(),
            Verdict::DoesNotHold => "**does not hold**".into(),
            Verdict::NotResolved => format!("not resolved at {n} {}", if per_run { "runs" } else { "seeds" }),
            Verdict::OneRun => "one run: not resolved".into(),
            Verdict::NotMeasured => "not measured".into(),
        }
    }

    /// The verdict of "the statistic is above `threshold`" (or below, when `above` is false).
    fn of(e: &Estimate, threshold: f64, above: bool) -> Verdict {
        match e.n {
            0 => Verdict::NotMeasured,
            1 => Verdict::OneRun,
            _ if !(e.lo.is_finite() && e.hi.is_finite()) => Verdict::NotResolved,
            _ => {
                let (claimed, other) =
                    if above { (e.lo > threshold, e.hi < threshold) } else { (e.hi < threshold, e.lo > threshold) };
                if claimed {
                    Verdict::Holds
                } else if other {
                    Verdict::DoesNotHold
                } else {
                    Verdict::NotResolved
                }
            }
        }
    }

    fn all(parts: &[Verdict]) -> Verdict {
        if parts.contains(&Verdict::NotMeasured) {
            Verdict::NotMeasured
        } else if parts.contains(&Verdict::DoesNotHold) {
            Verdict::DoesNotHold
        } else if parts.iter().all(|v| *v == Verdict::Holds) {
            Verdict::Holds
        } else if parts.contains(&Verdict::OneRun) {
            Verdict::OneRun
        } else {
            Verdict::NotResolved
        }
    }
}

/// One part of a claim: what was compared, the threshold and direction, and the estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    /// What was measured, e.g. "test accuracy, cnn4 minus the best other net".
    pub statistic: String,
    /// The estimate over seeds.
    pub estimate: Estimate,
    /// The claimed side: above `threshold` (true) or below.
    pub above: bool,
    /// The threshold.
    pub threshold: f64,
    /// This part's verdict.
    pub verdict: Verdict,
    /// The values are one per run (a share of runs), not one per seed.
    #[serde(default)]
    pub per_run: bool,
}

/// One claim of the reference report, tested.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Its number in the homework's list (1–11).
    pub number: usize,
    /// The claim as the reference report makes it.
    pub claim: String,
    /// Its parts.
    pub parts: Vec<Part>,
    /// The verdict of the whole claim.
    pub verdict: Verdict,
    /// Dead or diverged runs among those it used, and how they entered.
    pub note: String,
}

fn part(statistic: impl Into<String>, values: &[f64], threshold: f64, above: bool) -> Part {
    let estimate = Estimate::of(values);
    Part {
        statistic: statistic.into(),
        verdict: Verdict::of(&estimate, threshold, above),
        estimate,
        above,
        threshold,
        per_run: false,
    }
}

fn finding(number: usize, claim: &str, parts: Vec<Part>, note: String) -> Finding {
    let verdict = Verdict::all(&parts.iter().map(|p| p.verdict).collect::<Vec<_>>());
    Finding { number, claim: claim.into(), parts, verdict, note }
}

/// Every `*.json` directly in `dir` that parses as a [`CifarRun`].
fn cifar_runs(dir: &Path) -> Vec<CifarRun> {
    super::cifar_runs::runs_in(dir).into_iter().map(|(_, run)| run).collect()
}

/// Runs grouped by seed, then by a label.
type BySeed<'a> = BTreeMap<u64, BTreeMap<String, &'a CifarRun>>;

fn by_seed<'a>(runs: &'a [CifarRun], label: impl Fn(&CifarRun) -> Option<String>) -> BySeed<'a> {
    let mut out: BySeed = BTreeMap::new();
    for r in runs {
        if let Some(l) = label(r) {
            out.entry(r.key.train.seed).or_default().insert(l, r);
        }
    }
    out
}

/// One value per seed that has every name in `need`.
fn per_seed(groups: &BySeed<'_>, need: &[&str], f: impl Fn(&BTreeMap<String, &CifarRun>) -> f64) -> Vec<f64> {
    groups.values().filter(|g| need.iter().all(|n| g.contains_key(*n))).map(f).collect()
}

/// Mean batch accuracy over the last epoch's records (the architectures study's "final
/// training accuracy").
fn final_train_acc(r: &CifarRun) -> f64 {
    let per_epoch = r.steps.div_ceil(r.key.train.epochs.max(1));
    let start = r.steps.saturating_sub(per_epoch);
    let v: Vec<f64> =
        r.outcome_curves.step.iter().zip(&r.train_acc_curve).filter(|(s, _)| **s >= start).map(|(_, a)| *a).collect();
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn mean_grad(r: &CifarRun) -> f64 {
    let g: Vec<f64> = r.outcome_curves.grad_norm.iter().copied().filter(|g| g.is_finite()).collect();
    if g.is_empty() { f64::NAN } else { g.iter().sum::<f64>() / g.len() as f64 }
}

fn count_bad<'a>(runs: impl Iterator<Item = &'a CifarRun>) -> String {
    let (mut dead, mut diverged, mut n) = (0, 0, 0);
    for r in runs {
        n += 1;
        dead += r.dead as usize;
        diverged += r.diverged as usize;
    }
    match (dead, diverged) {
        (0, 0) => format!("{n} runs, none dead or diverged"),
        _ => format!("{n} runs, {dead} dead and {diverged} diverged, included with the values they reached"),
    }
}

const MLPS: [&str; 2] = ["mlp1", "mlp2"];
const CNNS: [&str; 3] = ["cnn3", "cnn4", "cnn5"];
const NETS: [&str; 5] = ["mlp1", "mlp2", "cnn3", "cnn4", "cnn5"];

fn xor_findings(out: &Path) -> Vec<Finding> {
    // Read as JSON values: a diverged run's weights are null and need not parse.
    let dir = out.join(super::xor::XorStudyConfig::NAME);
    let mut runs: Vec<serde_json::Value> = std::fs::read_dir(&dir)
        .map(|e| {
            e.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .filter_map(|p| serde_json::from_slice::<serde_json::Value>(&std::fs::read(p).ok()?).ok())
                .filter(|v| v.get("val_accuracy").is_some())
                .collect()
        })
        .unwrap_or_default();
    runs.sort_by_key(|r| r["config"]["seed"].as_u64());
    let acc = |act: &str| -> Vec<f64> {
        runs.iter().filter(|r| r["config"]["activation"] == act).filter_map(|r| r["val_accuracy"].as_f64()).collect()
    };
    let (sig, tanh, relu) = (acc("sigmoid"), acc("tanh"), acc("relu"));
    let lower: Vec<f64> = sig.iter().zip(&tanh).map(|(a, b)| a.min(*b)).collect();
    let range =
        relu.iter().copied().fold(f64::NEG_INFINITY, f64::max) - relu.iter().copied().fold(f64::INFINITY, f64::min);
    let relu_part = Part {
        statistic: format!(
            "ReLU validation accuracy, max − min over its {} runs (a range: it does not hold only once 10 runs stay within 0.45)",
            relu.len()
        ),
        estimate: Estimate { n: relu.len(), mean: range, lo: f64::NAN, hi: f64::NAN },
        above: true,
        threshold: 0.45,
        verdict: match relu.len() {
            0 => Verdict::NotMeasured,
            1 => Verdict::OneRun,
            _ if range > 0.45 => Verdict::Holds,
            n if n >= 10 => Verdict::DoesNotHold,
            _ => Verdict::NotResolved,
        },
        per_run: true,
    };
    // Loss at a tenth of training, paired by seed.
    let loss_at = |act: &str| -> BTreeMap<u64, f64> {
        runs.iter()
            .filter(|r| r["config"]["activation"] == act)
            .filter_map(|r| {
                let epochs: Vec<u64> = r["loss_epochs"].as_array()?.iter().filter_map(|e| e.as_u64()).collect();
                let loss = r["loss_curve"].as_array()?;
                let target = r["config"]["epochs"].as_u64()? / 10;
                let i = epochs.iter().position(|&e| e >= target)?;
                Some((r["config"]["seed"].as_u64()?, loss[i].as_f64().unwrap_or(f64::NAN)))
            })
            .collect()
    };
    let (ls, lt) = (loss_at("sigmoid"), loss_at("tanh"));
    let faster: Vec<f64> = ls.iter().filter_map(|(s, a)| lt.get(s).map(|b| a - b)).collect();
    vec![
        finding(
            1,
            "XOR: sigmoid and tanh reach ≥ 0.97 validation accuracy; ReLU's accuracy varies by more than 45 points across runs.",
            vec![part("validation accuracy, the lower of sigmoid and tanh (per seed)", &lower, 0.97, true), relu_part],
            format!("{} runs; diverged runs enter with the accuracy they ended at", runs.len()),
        ),
        finding(
            2,
            "XOR: tanh trains faster than sigmoid (lower loss at a fixed epoch).",
            vec![part("training MSE at a tenth of the epochs, sigmoid minus tanh (per seed)", &faster, 0.0, true)],
            String::new(),
        ),
    ]
}

fn architecture_findings(runs: &[CifarRun]) -> Vec<Finding> {
    let g = by_seed(runs, |r| Some(r.name.clone()).filter(|n| NETS.contains(&n.as_str())));
    let test = |g: &BTreeMap<String, &CifarRun>, n: &str| g[n].test_acc;
    let note = count_bad(runs.iter().filter(|r| NETS.contains(&r.name.as_str())));
    vec![
        finding(
            3,
            "CIFAR-10, Adam, 15 epochs: every CNN beats both MLPs on test accuracy.",
            vec![part(
                "test accuracy, the worst CNN minus the best MLP (per seed)",
                &per_seed(&g, &NETS, |g| {
                    CNNS.iter().map(|n| test(g, n)).fold(f64::INFINITY, f64::min)
                        - MLPS.iter().map(|n| test(g, n)).fold(f64::NEG_INFINITY, f64::max)
                }),
                0.0,
                true,
            )],
            note.clone(),
        ),
        finding(
            4,
            "cnn4 has the highest test accuracy of the five nets.",
            vec![part(
                "test accuracy, cnn4 minus the best other net (per seed)",
                &per_seed(&g, &NETS, |g| {
                    test(g, "cnn4")
                        - NETS.iter().filter(|n| **n != "cnn4").map(|n| test(g, n)).fold(f64::NEG_INFINITY, f64::max)
                }),
                0.0,
                true,
            )],
            note.clone(),
        ),
        finding(
            5,
            "cnn5 overfits: higher final training accuracy than cnn4 but lower test accuracy.",
            vec![
                part(
                    "final training accuracy (last epoch's batches), cnn5 minus cnn4",
                    &per_seed(&g, &["cnn4", "cnn5"], |g| final_train_acc(g["cnn5"]) - final_train_acc(g["cnn4"])),
                    0.0,
                    true,
                ),
                part(
                    "test accuracy, cnn5 minus cnn4",
                    &per_seed(&g, &["cnn4", "cnn5"], |g| test(g, "cnn5") - test(g, "cnn4")),
                    0.0,
                    false,
                ),
            ],
            note.clone(),
        ),
        finding(
            6,
            "mlp2 is slightly better than mlp1; cnn4 is better than cnn3.",
            vec![
                part(
                    "test accuracy, mlp2 minus mlp1",
                    &per_seed(&g, &["mlp1", "mlp2"], |g| test(g, "mlp2") - test(g, "mlp1")),
                    0.0,
                    true,
                ),
                part(
                    "test accuracy, cnn4 minus cnn3",
                    &per_seed(&g, &["cnn3", "cnn4"], |g| test(g, "cnn4") - test(g, "cnn3")),
                    0.0,
                    true,
                ),
            ],
            note,
        ),
    ]
}

fn gradient_findings(out: &Path) -> Vec<Finding> {
    // The [0, 255] runs have their own study directory; a Rust caller may also have run the
    // scaled study with raw inputs, so both are read and every run is told apart by its key.
    let mut runs = cifar_runs(&out.join(super::gradients::GradientsConfig::NAME).join("runs"));
    runs.extend(cifar_runs(&out.join(super::gradients::RawInputGradients::NAME).join("runs")));
    let normal = |r: &CifarRun| r.key.split.input_scale == InputScale::Normalized;
    let relu = by_seed(&runs, |r| (normal(r) && r.key.activation == Activation::Relu).then(|| r.name.clone()));
    let sigmoid = by_seed(&runs, |r| (normal(r) && r.key.activation == Activation::Sigmoid).then(|| r.name.clone()));
    let lg = |g: &BTreeMap<String, &CifarRun>, n: &str| mean_grad(g[n]).log10();
    // Sigmoid over ReLU, per seed, for one net (log10).
    let ratio = |net: &str| -> Vec<f64> {
        relu.iter()
            .filter_map(|(seed, g)| {
                let s = sigmoid.get(seed)?.get(net)?;
                Some(mean_grad(s).log10() - mean_grad(g.get(net)?).log10())
            })
            .collect()
    };
    let worst_ratio: Vec<f64> = relu
        .iter()
        .filter_map(|(seed, g)| {
            let s = sigmoid.get(seed)?;
            NETS.iter().all(|n| g.contains_key(*n) && s.contains_key(*n)).then(|| {
                NETS.iter()
                    .map(|n| mean_grad(s[*n]).log10() - mean_grad(g[*n]).log10())
                    .fold(f64::NEG_INFINITY, f64::max)
            })
        })
        .collect();
    let raw: Vec<&CifarRun> = runs.iter().filter(|r| r.key.split.input_scale == InputScale::Raw255).collect();
    let failed: Vec<f64> = raw
        .iter()
        .map(|r| {
            let last = r.loss_curve.iter().rev().find(|l| l.is_finite()).copied().unwrap_or(f64::NAN);
            let stuck = last.is_nan() || last >= 10f64.ln() - 0.05;
            (r.dead || r.diverged || stuck) as u8 as f64
        })
        .collect();
    let raw_part = Part {
        statistic: format!(
            "share of the {} runs with inputs in [0, 255] that failed (dead, diverged, or loss within 0.05 of ln 10)",
            raw.len()
        ),
        estimate: Estimate::of(&failed),
        above: true,
        threshold: 0.5,
        verdict: match raw.len() {
            0 => Verdict::NotMeasured,
            1 => Verdict::OneRun,
            _ if failed.iter().all(|f| *f == 1.0) => Verdict::Holds,
            _ if failed.iter().all(|f| *f == 0.0) => Verdict::DoesNotHold,
            _ => Verdict::NotResolved,
        },
        per_run: true,
    };
    // Claims 7 and 8 use the runs on normalised inputs only, claim 9 the [0, 255] ones.
    let note = count_bad(runs.iter().filter(|r| normal(r)));
    vec![
        finding(
            7,
            "First-layer gradient magnitude (SGD 0.01, ReLU) is larger in the MLPs than in the CNNs, and falls with CNN depth: cnn3 > cnn4 > cnn5.",
            vec![
                part(
                    "log10 of mean ‖∂L/∂W₁‖, the smaller MLP's minus the larger CNN's",
                    &per_seed(&relu, &NETS, |g| {
                        MLPS.iter().map(|n| lg(g, n)).fold(f64::INFINITY, f64::min)
                            - CNNS.iter().map(|n| lg(g, n)).fold(f64::NEG_INFINITY, f64::max)
                    }),
                    0.0,
                    true,
                ),
                part(
                    "log10 of mean ‖∂L/∂W₁‖, cnn3 minus cnn4",
                    &per_seed(&relu, &["cnn3", "cnn4"], |g| lg(g, "cnn3") - lg(g, "cnn4")),
                    0.0,
                    true,
                ),
                part(
                    "log10 of mean ‖∂L/∂W₁‖, cnn4 minus cnn5",
                    &per_seed(&relu, &["cnn4", "cnn5"], |g| lg(g, "cnn4") - lg(g, "cnn5")),
                    0.0,
                    true,
                ),
            ],
            note.clone(),
        ),
        finding(
            8,
            "With sigmoid the first-layer gradient is smaller than with ReLU in every net, and vanishes in cnn4 and cnn5.",
            vec![
                part("log10 (sigmoid / ReLU mean ‖∂L/∂W₁‖), the largest over the five nets", &worst_ratio, 0.0, false),
                part("log10 (sigmoid / ReLU), cnn4 (vanishing: below −2, a hundredth)", &ratio("cnn4"), -2.0, false),
                part("log10 (sigmoid / ReLU), cnn5", &ratio("cnn5"), -2.0, false),
            ],
            note,
        ),
        finding(
            9,
            "Inputs in [0, 255] make training fail (dead ReLUs, saturated sigmoid).",
            vec![raw_part],
            if raw.is_empty() {
                "run `nnlab activation-gradients --input-range 255` into this directory to measure it".into()
            } else {
                count_bad(raw.iter().copied())
            },
        ),
    ]
}

/// `arch`: the architectures study's runs, where the Adam run may have been reused from.
fn learning_rate_findings(out: &Path, arch: &[CifarRun]) -> Vec<Finding> {
    let runs = cifar_runs(&out.join(super::learning_rate::LearningRateConfig::NAME).join("runs"));
    let label = |r: &CifarRun| -> Option<String> {
        let s = &r.key.train.schedule;
        match (r.key.train.optimizer.name(), s.lrs.len()) {
            ("adam", _) => Some("adam".into()),
            ("sgd", 1) => Some(format!("lr{}", s.lrs[0])),
            ("sgd", n) => Some(format!("schedule{n}")),
            _ => None,
        }
    };
    let g = by_seed(&runs, label);
    // Adam reused from the architectures study (same key) counts as this study's Adam.
    let adam_of = |seed: u64, like: &CifarRun| -> Option<&CifarRun> {
        g.get(&seed).and_then(|m| m.get("adam").copied()).or_else(|| {
            arch.iter().find(|a| {
                a.key.train.seed == seed
                    && a.name == like.name
                    && a.key.train.optimizer.name() == "adam"
                    && a.key.split == like.key.split
            })
        })
    };
    let best_step = |r: &CifarRun| -> f64 {
        let v = &r.val_acc_curve;
        let best = v.iter().copied().filter(|x| x.is_finite()).fold(f64::NEG_INFINITY, f64::max);
        let i = v.iter().position(|x| *x == best);
        i.and_then(|i| r.outcome_curves.step.get(i)).map_or(f64::NAN, |&s| s as f64)
    };
    let last = |r: &CifarRun| r.val_acc_curve.last().copied().unwrap_or(f64::NAN);
    let rates = ["lr0.1", "lr0.01", "lr0.001"];
    // Validation accuracy at the end of the first epoch.
    let early = |r: &CifarRun| -> f64 {
        let per_epoch = r.steps.div_ceil(r.key.train.epochs.max(1));
        let i = r.outcome_curves.step.iter().position(|&s| s + 1 >= per_epoch);
        i.and_then(|i| r.val_acc_curve.get(i)).copied().unwrap_or(f64::NAN)
    };
    let mut adam_early = Vec::new();
    let mut adam_test = Vec::new();
    for (seed, m) in &g {
        if let Some(s) = m.get("schedule3")
            && let Some(a) = adam_of(*seed, s)
        {
            adam_early.push(early(a) - early(s));
            adam_test.push(s.test_acc - a.test_acc);
        }
    }
    let note = count_bad(runs.iter());
    vec![
        finding(
            10,
            "Of the constant rates, lr 0.1 reaches its best validation accuracy earliest, and lr 0.001 ends lowest after 20 epochs.",
            vec![
                part(
                    "step of the best validation accuracy, the earlier of lr 0.01 and 0.001 minus lr 0.1",
                    &per_seed(&g, &rates, |g| {
                        best_step(g["lr0.01"]).min(best_step(g["lr0.001"])) - best_step(g["lr0.1"])
                    }),
                    0.0,
                    true,
                ),
                part(
                    "final validation accuracy, the lower of lr 0.1 and 0.01 minus lr 0.001",
                    &per_seed(&g, &rates, |g| last(g["lr0.1"]).min(last(g["lr0.01"])) - last(g["lr0.001"])),
                    0.0,
                    true,
                ),
            ],
            note.clone(),
        ),
        finding(
            11,
            "Adam is ahead early; the step-scheduled SGD overtakes it and ends with the higher test accuracy.",
            vec![
                part(
                    "validation accuracy after one epoch, Adam minus the 0.1→0.01→0.001 schedule",
                    &adam_early,
                    0.0,
                    true,
                ),
                part("test accuracy, the 0.1→0.01→0.001 schedule minus Adam", &adam_test, 0.0, true),
            ],
            note,
        ),
    ]
}

/// Every claim, tested on the results under `out` (claims whose runs are absent are "not
/// measured").
pub fn findings(out: &Path) -> Vec<Finding> {
    let arch = cifar_runs(&out.join(super::architectures::ArchitecturesConfig::NAME));
    let mut all = xor_findings(out);
    all.extend(architecture_findings(&arch));
    all.extend(gradient_findings(out));
    all.extend(learning_rate_findings(out, &arch));
    all
}

fn value(p: &Part) -> String {
    let e = &p.estimate;
    match e.n {
        0 => "—".into(),
        _ if !(e.lo.is_finite() && e.hi.is_finite()) => format!("{} (n = {})", number(e.mean), e.n),
        _ => format!("{} [{}, {}] (n = {})", number(e.mean), number(e.lo), number(e.hi), e.n),
    }
}

/// Three decimals for accuracies, losses and log ratios; whole numbers for counts such as
/// steps ("3710", not "3710.000").
fn number(v: f64) -> String {
    if v.abs() >= 100.0 { format!("{v:.0}") } else { format!("{v:.3}") }
}

/// The findings as the report's first section: a table, one row per part, and how to read it.
/// `None` when nothing was measured.
pub fn section(findings: &[Finding]) -> Option<String> {
    if findings.iter().all(|f| f.verdict == Verdict::NotMeasured) {
        return None;
    }
    let mut md = String::from(
        "Each claim of a reference report of this homework, tested on the results in this directory. \
         Value: the statistic's mean over seeds with its 95 % Student-t interval, and the number of \
         seeds (a range has no interval). A claim **holds** when the interval lies entirely on the \
         claimed side (> 0 unless stated), **does not hold** when it lies entirely on the other \
         side, and is not resolved otherwise; one run never gives a verdict. Dead and diverged runs \
         are included with the values they reached. Rerun a study with `--seeds N` and `nnlab \
         report` to sharpen a row.\n\n\
         | # | claim | statistic (claimed side) | value | verdict |\n|---:|---|---|---|---|\n",
    );
    for f in findings {
        for (i, p) in f.parts.iter().enumerate() {
            let side = format!("{} {}", if p.above { ">" } else { "<" }, p.threshold);
            let (num, claim, verdict) = if i == 0 {
                (f.number.to_string(), f.claim.clone(), f.verdict.text(p.estimate.n, p.per_run))
            } else {
                (String::new(), String::new(), String::new())
            };
            let part_verdict = if f.parts.len() > 1 {
                format!(" — {}", p.verdict.text(p.estimate.n, p.per_run))
            } else {
                String::new()
            };
            md.push_str(&format!(
                "| {num} | {claim} | {} ({side}){part_verdict} | {} | {verdict} |\n",
                p.statistic,
                value(p)
            ));
        }
        if !f.note.is_empty() {
            md.push_str(&format!("| | | *{}* | | |\n", f.note));
        }
    }
    md.push('\n');
    Some(md)
}

#[cfg(test)]
mod tests {
    use super::{Verdict, number};

    #[test]
    fn an_open_verdict_counts_what_its_values_are() {
        assert_eq!(Verdict::NotResolved.text(3, false), "not resolved at 3 seeds");
        // A share of the [0, 255] runs: ten runs of one seed.
        assert_eq!(Verdict::NotResolved.text(10, true), "not resolved at 10 runs");
    }

    #[test]
    fn steps_read_as_whole_numbers_and_accuracies_keep_three_decimals() {
        assert_eq!(number(3710.0), "3710");
        assert_eq!(number(-1234.4), "-1234");
        assert_eq!(number(0.02534), "0.025");
        assert_eq!(number(-3.9521), "-3.952");
    }
}
