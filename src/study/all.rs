//! `nnlab all`: every study of [`Studies`] in the homework's order, each with its protocol,
//! then the report. Progress counts planned work ([`super::cost`]), not runs, and
//! [`estimate`] says before the start roughly how long the whole will take here.

use super::{PlannedRun, Studies, StudyContext, cost, plan};
use crate::backend::{BackendKind, BackendTask, TrainBackend, run_task};
use crate::error::Result;
use crate::progress::{Observer, SharedObserver, Unit};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

/// The configuration of every study.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AllConfig {
    /// Each study's configuration.
    pub studies: Studies,
    /// A small-scale run ([`AllConfig::quick`]), said so in the report.
    pub quick: bool,
}

impl AllConfig {
    /// The same pipeline at small scale, so a CPU user sees the whole report in minutes:
    /// each study's [`super::Study::quick`] (1 epoch, 2 000 / 500 / 1 000 training /
    /// validation / test images, 2 000 XOR epochs).
    pub fn quick() -> Self {
        AllConfig { studies: Studies::quick(), quick: true }
    }

    /// Checks every study's configuration.
    pub fn validate(&self) -> Result<()> {
        self.studies.each().iter().try_for_each(|s| s.validate())
    }

    /// Every planned run, study by study (name, runs), in order.
    pub fn plan(&self) -> Vec<(&'static str, Vec<PlannedRun>)> {
        self.studies.each().iter().map(|s| (s.name(), s.plan())).collect()
    }

    /// Sets the base seed of every study.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.studies.each_mut().into_iter().for_each(|s| s.set_seed(seed));
        self
    }
}

/// How long `nnlab all` should take on this machine, before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Runs planned.
    pub runs: usize,
    /// Expected wall time of the configuration asked for, in seconds.
    pub seconds: f64,
    /// Expected wall time of [`AllConfig::quick`], in seconds.
    pub quick_seconds: f64,
    /// What one unit of each kind of work took here.
    pub rates: Rates,
}

/// Seconds per unit of each part of [`cost::Work`], measured on one backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    /// Per multiply-add.
    pub per_mac: f64,
    /// Per training step, beyond its arithmetic.
    pub per_step: f64,
    /// Per XOR epoch.
    pub per_xor_epoch: f64,
    /// Per multiply-add of an evaluation pass.
    #[serde(default)]
    pub per_eval_mac: f64,
    /// Per evaluation batch, beyond its arithmetic.
    #[serde(default)]
    pub per_eval_batch: f64,
}

impl Rates {
    /// Expected seconds of `work`.
    pub fn seconds(&self, work: &cost::Work) -> f64 {
        work.macs * self.per_mac
            + work.steps * self.per_step
            + work.xor_epochs * self.per_xor_epoch
            + work.eval_macs * self.per_eval_mac
            + work.eval_batches * self.per_eval_batch
    }
}

/// Measures [`Rates`] on `backend` (synthetic data, a few seconds on a CPU in a release
/// build): training steps of mlp2 and cnn4 give the cost of a step and of a multiply-add (a
/// line through two points), their evaluation passes over 1 000 images in the studies'
/// evaluation batches the same for evaluation, 200 XOR epochs (after 20 untimed ones) the
/// cost of one.
pub fn measure_rates(backend: BackendKind) -> Result<Rates> {
    struct Calibrate;
    impl BackendTask for Calibrate {
        type Output = Rates;
        fn run<B: TrainBackend>(self, device: B::Device, _: BackendKind) -> Result<Rates> {
            // The first few training steps run two to three times slower than the rest (on
            // flex, cnn4 at 40-45 ms against 17 ms until the fourth or fifth step; on a GPU
            // kernels are still compiling): eight untimed steps keep them out of the rates.
            let bench = crate::bench::BenchConfig {
                warmup: 8,
                iters: 7,
                val_images: 1000,
                eval_batch_size: crate::train::TrainConfig::default().eval_batch_size,
                val_iters: 3,
                ..Default::default()
            };
            let (mut steps, mut passes) = (Vec::new(), Vec::new());
            for name in ["mlp2", "cnn4"] {
                let arch = crate::model::ArchSpec::parse(name)?;
                let seconds = crate::bench::time_steps::<B>(&arch, &bench, &device)?.median_ms / 1e3;
                steps.push((cost::train_step(&arch, bench.batch_size).macs, seconds));
                let seconds = crate::bench::time_val_pass::<B>(&arch, &bench, &device)?.median_ms / 1e3;
                passes.push((cost::evaluation(&arch, bench.val_images, bench.eval_batch_size), seconds));
            }
            // A line through two points: seconds = multiply-adds · a + b.
            let line = |(m1, t1): (f64, f64), (m2, t2): (f64, f64)| {
                let a = ((t2 - t1) / (m2 - m1)).max(0.0);
                (a, (t1 - a * m1).max(0.0))
            };
            let (per_mac, per_step) = line(steps[0], steps[1]);
            let (per_eval_mac, per_pass) =
                line((passes[0].0.eval_macs, passes[0].1), (passes[1].0.eval_macs, passes[1].1));
            let per_eval_batch = per_pass / passes[0].0.eval_batches.max(1.0);
            // 20 untimed epochs first: a GPU runtime compiles each kernel on its first use.
            let warm = crate::xor::XorTrainConfig { epochs: 20, ..Default::default() };
            crate::xor::train_xor::<B::InnerBackend>(&warm, "calibration", &device, |_| {})?;
            let xor = crate::xor::XorTrainConfig { epochs: 200, ..Default::default() };
            let started = std::time::Instant::now();
            crate::xor::train_xor::<B::InnerBackend>(&xor, "calibration", &device, |_| {})?;
            let per_xor_epoch = started.elapsed().as_secs_f64() / xor.epochs as f64;
            Ok(Rates { per_mac, per_step, per_xor_epoch, per_eval_mac, per_eval_batch })
        }
    }
    run_task(backend, Calibrate)
}

/// How long `config` should take here: [`measure_rates`] on `ctx.backend` times the planned
/// work of the runs this process performs (a shard's own, with [`StudyContext::shard`]), and
/// of the quick configuration. Finished runs that would be reused are counted; loading
/// CIFAR-10 and a GPU runtime's first compilation of its kernels are not.
pub fn estimate(ctx: &StudyContext, config: &AllConfig) -> Result<Estimate> {
    let rates = measure_rates(ctx.backend)?;
    // The runs this process performs: a run planned twice counts once, and a shard counts
    // only its own.
    let mine = |c: &AllConfig| -> Vec<plan::Job> {
        plan::Plan::of_all(c)
            .jobs
            .into_iter()
            .filter(|j| j.reuses.is_none() && ctx.shard.as_ref().is_none_or(|a| a.owns(&j.id)))
            .collect()
    };
    let seconds = |c: &AllConfig| mine(c).iter().map(|j| rates.seconds(&j.work)).sum();
    Ok(Estimate {
        runs: mine(config).len(),
        seconds: seconds(config),
        quick_seconds: seconds(&AllConfig::quick()),
        rates,
    })
}

/// Runs every study on `ctx.backend` (the ones without training on its inner backend),
/// then writes the report; returns the files written. As a shard ([`StudyContext::shard`]):
/// only the shard's runs, and no report (`nnlab report` merges the shards' results). Every configuration is checked before
/// any work starts. Besides each task's own progress, the context's observer hears
/// [`Observer::overall`]: planned cost done of the total, with the current study.
pub fn run(ctx: &StudyContext, config: &AllConfig) -> Result<Vec<PathBuf>> {
    config.validate()?;
    let studies = config.studies.each();
    let started = Instant::now();
    let plan = config.plan();
    let total: f64 = plan.iter().flat_map(|(_, runs)| runs.iter().map(|r| r.cost())).sum();
    let tracker = std::sync::Arc::new(Tracker::new(ctx.observer.clone(), total));
    let tracked = StudyContext { observer: SharedObserver(tracker.clone()), ..ctx.clone() };
    let mut files = Vec::new();
    let mut times = Vec::new();
    if ctx.jobs > 1 {
        tracker.begin(format!("{} runs at a time", ctx.jobs));
        let done = super::concurrent::run(&tracked, "all", &studies)?;
        files.extend(done.files);
        times.extend(done.busy_seconds.iter().map(|(name, s)| format!("{name}: {s:.0} s")));
    } else {
        for (i, s) in studies.iter().enumerate() {
            tracker.begin(format!("study {}/{}: {}", i + 1, studies.len(), s.name()));
            let since = Instant::now();
            files.extend(s.run(&tracked)?);
            times.push(format!("{}: {:.0} s", s.name(), since.elapsed().as_secs_f64()));
        }
    }
    let per_study = if ctx.jobs > 1 {
        format!(
            "Per study ({} runs at a time, `--jobs {}`: the time each study's runs took, summed over the workers; \
             finished runs reused from earlier invocations take no time)",
            ctx.jobs, ctx.jobs
        )
    } else {
        "Per study (finished runs reused from earlier invocations take no time)".to_string()
    };
    let mut header = Vec::new();
    if config.quick {
        header.push("**QUICK RUN** (`nnlab all --quick`): 1 epoch on 2 000 training images — the pipeline, not the homework's numbers.".to_string());
    }
    header.extend([
        format!("Backend: {}", ctx.backend),
        format!("Machine: {}", crate::machine::description()),
        format!("Total wall time: {:.0} s", started.elapsed().as_secs_f64()),
        format!("{per_study}: {}", times.join(", ")),
    ]);
    let config_json = serde_json::to_value(config).unwrap_or_default();
    if let Some(assignment) = &ctx.shard {
        files.push(crate::report::write_shard_record(&ctx.out, assignment.shard, &header, config_json)?);
        tracker.note(&format!(
            "shard {} finished; once every shard has, `nnlab --out {} report` merges their results",
            assignment.shard,
            ctx.out.display()
        ));
        return Ok(files);
    }
    files.extend(crate::report::write_all_record(&ctx.out, &header, config_json)?);
    files.extend(super::write_report(&ctx.out, &header, &*ctx.observer)?);
    Ok(files)
}

/// Turns the tasks of every study into overall progress, in planned cost; with concurrent
/// workers ([`Observer::worker`]), each worker's current task counts.
struct Tracker {
    inner: SharedObserver,
    state: std::sync::Arc<Mutex<TrackState>>,
    /// Which worker's tasks this one hears (0 without workers).
    lane: usize,
}

#[derive(Default)]
struct TrackState {
    /// Planned cost of everything still to run or done (reused runs are taken off).
    total: f64,
    /// Cost of the tasks finished.
    done: f64,
    /// Per worker: the current task's cost, length, position and label.
    current: std::collections::BTreeMap<usize, (f64, u64, u64, String)>,
    /// The current study (or how many run at a time), for the message.
    study: String,
}

impl Tracker {
    fn new(inner: SharedObserver, total: f64) -> Tracker {
        let state = TrackState { total, ..TrackState::default() };
        Tracker { inner, state: std::sync::Arc::new(Mutex::new(state)), lane: 0 }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, TrackState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn begin(&self, study: String) {
        let mut s = self.state();
        s.study = study;
        s.current.clear();
        self.emit(&s);
    }

    /// This lane's task reached `position` of its length.
    fn reached(&self, position: u64) {
        let mut s = self.state();
        if let Some(c) = s.current.get_mut(&self.lane) {
            c.2 = position;
        }
        self.emit(&s);
    }

    fn emit(&self, s: &TrackState) {
        let under_way: f64 = s
            .current
            .values()
            .map(|(cost, len, at, _)| if *len == 0 { 0.0 } else { cost * (*at as f64 / *len as f64).min(1.0) })
            .sum();
        let message = match s.current.len() {
            0 => s.study.clone(),
            1 => format!("{} · {}", s.study, s.current.values().map(|c| c.3.as_str()).collect::<String>()),
            n => format!("{} · {n} runs under way", s.study),
        };
        self.inner.overall((s.done + under_way).min(s.total), s.total, &message);
    }
}

impl Observer for Tracker {
    fn started(&self, label: &str, total: u64, unit: Unit, cost: f64) {
        self.inner.started(label, total, unit, cost);
        let mut s = self.state();
        s.current.insert(self.lane, (cost, total, 0, label.to_string()));
        self.emit(&s);
    }

    fn advanced(&self, position: u64, message: &str) {
        self.inner.advanced(position, message);
        self.reached(position);
    }

    fn resumed(&self, position: u64, line: &str) {
        self.inner.resumed(position, line);
        self.reached(position);
    }

    fn finished(&self, summary: &str) {
        self.inner.finished(summary);
        let mut s = self.state();
        if let Some((cost, ..)) = s.current.remove(&self.lane) {
            s.done += cost;
        }
        self.emit(&s);
    }

    fn reused(&self, label: &str, cost: f64, summary: &str) {
        self.inner.reused(label, cost, summary);
        let mut s = self.state();
        s.total -= cost;
        self.emit(&s);
    }

    fn skipped(&self, label: &str, cost: f64, why: &str) {
        self.inner.skipped(label, cost, why);
        let mut s = self.state();
        s.total -= cost;
        self.emit(&s);
    }

    fn note(&self, line: &str) {
        self.inner.note(line);
    }

    fn warning(&self, message: &str) {
        self.inner.warning(message);
    }

    fn worker(&self, index: usize) -> Option<SharedObserver> {
        Some(SharedObserver::new(Tracker {
            inner: self.inner.for_worker(index),
            state: self.state.clone(),
            lane: index + 1,
        }))
    }
}
