//! `nnlab all`: every study of [`Studies`] in the homework's order, each with its protocol,
//! then the report. Progress counts planned work ([`super::cost`]), not runs, and
//! [`estimate`] says before the start roughly how long the whole will take here.

use super::{PlannedRun, Studies, StudyContext};
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
    /// Measured seconds per [`super::cost`] unit on this backend.
    pub seconds_per_unit: f64,
}

/// Times a few cnn4 training steps on `ctx.backend` (synthetic data, about a second on a
/// CPU) and scales the planned cost of `config` and of the quick configuration by it.
/// Finished runs that would be reused are still counted.
pub fn estimate(ctx: &StudyContext, config: &AllConfig) -> Result<Estimate> {
    /// Seconds per cost unit of cnn4 training steps.
    struct Calibrate;
    impl BackendTask for Calibrate {
        type Output = f64;
        fn run<B: TrainBackend>(self, device: B::Device, _: BackendKind) -> Result<f64> {
            let arch = crate::model::ArchSpec::parse("cnn4")?;
            let bench = crate::bench::BenchConfig { warmup: 2, iters: 3, ..Default::default() };
            let step = crate::bench::time_steps::<B>(&arch, &bench, &device)?;
            Ok(step.median_ms / 1e3 / super::cost::train_step(&arch, bench.batch_size))
        }
    }
    let seconds_per_unit = run_task(ctx.backend, Calibrate)?;
    let total = |c: &AllConfig| c.plan().iter().flat_map(|(_, runs)| runs.iter().map(|r| r.cost)).sum::<f64>();
    Ok(Estimate {
        runs: config.plan().iter().map(|(_, runs)| runs.len()).sum(),
        seconds: total(config) * seconds_per_unit,
        quick_seconds: total(&AllConfig::quick()) * seconds_per_unit,
        seconds_per_unit,
    })
}

/// Runs every study on `ctx.backend` (the ones without training on its inner backend),
/// then writes the report; returns the files written. Every configuration is checked before
/// any work starts. Besides each task's own progress, the context's observer hears
/// [`Observer::overall`]: planned cost done of the total, with the current study.
pub fn run(ctx: &StudyContext, config: &AllConfig) -> Result<Vec<PathBuf>> {
    let studies = config.studies.each();
    for s in studies {
        s.validate()?;
    }
    let started = Instant::now();
    let plan = config.plan();
    let total: f64 = plan.iter().flat_map(|(_, runs)| runs.iter().map(|r| r.cost)).sum();
    let tracker = std::sync::Arc::new(Tracker {
        inner: ctx.observer.clone(),
        state: Mutex::new(TrackState { total, ..TrackState::default() }),
    });
    let tracked = StudyContext { observer: SharedObserver(tracker.clone()), ..ctx.clone() };
    let mut files = Vec::new();
    let mut times = Vec::new();
    for (i, s) in studies.iter().enumerate() {
        tracker.begin(format!("study {}/{}: {}", i + 1, studies.len(), s.name()));
        let since = Instant::now();
        files.extend(s.run(&tracked)?);
        times.push(format!("{}: {:.0} s", s.name(), since.elapsed().as_secs_f64()));
    }
    let mut header = Vec::new();
    if config.quick {
        header.push("**QUICK RUN** (`nnlab all --quick`): 1 epoch on 2 000 training images — the pipeline, not the homework's numbers.".to_string());
    }
    header.extend([
        format!("Backend: {}", ctx.backend),
        format!("Machine: {}", crate::bench::machine_description()),
        format!("Total wall time: {:.0} s", started.elapsed().as_secs_f64()),
        format!("Per study (finished runs reused from earlier invocations take no time): {}", times.join(", ")),
    ]);
    let config_json = serde_json::to_value(config).unwrap_or_default();
    files.extend(crate::report::write_all_record(&ctx.out, &header, config_json)?);
    files.extend(super::write_report(&ctx.out, &header)?);
    Ok(files)
}

/// Turns the tasks of every study into overall progress, in planned cost.
struct Tracker {
    inner: SharedObserver,
    state: Mutex<TrackState>,
}

#[derive(Default)]
struct TrackState {
    /// Planned cost of everything still to run or done (reused runs are taken off).
    total: f64,
    /// Cost of the tasks finished.
    done: f64,
    /// The current task's cost and length.
    current: (f64, u64),
    /// The current study and task, for the message.
    study: String,
    task: String,
}

impl Tracker {
    fn state(&self) -> std::sync::MutexGuard<'_, TrackState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn begin(&self, study: String) {
        let mut s = self.state();
        s.study = study;
        s.task.clear();
        self.emit(&s, s.done);
    }

    fn emit(&self, s: &TrackState, at: f64) {
        let message = if s.task.is_empty() { s.study.clone() } else { format!("{} · {}", s.study, s.task) };
        self.inner.overall(at.min(s.total), s.total, &message);
    }
}

impl Observer for Tracker {
    fn started(&self, label: &str, total: u64, unit: Unit, cost: f64) {
        self.inner.started(label, total, unit, cost);
        let mut s = self.state();
        s.current = (cost, total);
        s.task = label.to_string();
        self.emit(&s, s.done);
    }

    fn advanced(&self, position: u64, message: &str) {
        self.inner.advanced(position, message);
        let s = self.state();
        let (cost, len) = s.current;
        let fraction = if len == 0 { 0.0 } else { (position as f64 / len as f64).min(1.0) };
        self.emit(&s, s.done + cost * fraction);
    }

    fn finished(&self, summary: &str) {
        self.inner.finished(summary);
        let mut s = self.state();
        s.done += s.current.0;
        s.current = (0.0, 0);
        self.emit(&s, s.done);
    }

    fn reused(&self, label: &str, cost: f64, summary: &str) {
        self.inner.reused(label, cost, summary);
        let mut s = self.state();
        s.total -= cost;
        self.emit(&s, s.done);
    }

    fn note(&self, line: &str) {
        self.inner.note(line);
    }
}
