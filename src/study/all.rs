//! `nnlab all`: every study in the homework's order, each with its protocol.

use super::StudyContext;
use super::{activations, architectures, conv, gradients, learning_rate, xor};
use crate::error::Result;
use crate::kernels::TrainBackend;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The configuration of every study.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AllConfig {
    /// Part 1.2–1.3.
    pub xor: xor::XorStudyConfig,
    /// Part 2.
    pub conv: conv::ConvStudyConfig,
    /// Part 3.
    pub architectures: architectures::ArchitecturesConfig,
    /// Part 4.
    pub gradients: gradients::GradientsConfig,
    /// Part 5.
    pub learning_rate: learning_rate::LearningRateConfig,
    /// A small-scale run (`--quick`), said so in the report.
    pub quick: bool,
}

impl AllConfig {
    /// The same pipeline at small scale, so a CPU user sees the whole report in minutes:
    /// 1 epoch (2 for the schedules), 2 000 / 500 / 1 000 training / validation / test
    /// images, 2 000 XOR epochs.
    pub fn quick() -> Self {
        let mut c = AllConfig { quick: true, ..AllConfig::default() };
        c.xor.run.epochs = 2_000;
        let split = crate::data::SplitConfig { max_train: Some(2_000), max_val: Some(500), max_test: Some(1_000), ..Default::default() };
        c.architectures.train.epochs = 1;
        c.architectures.data = split.clone();
        c.gradients.train.epochs = 1;
        c.gradients.data = split.clone();
        c.learning_rate.epochs = 1;
        c.learning_rate.schedule_epochs = 2;
        c.learning_rate.adam.epochs = 1;
        c.learning_rate.plateau = super::plateau::PlateauRule { window: 3, patience: 5, min_delta: 0.002 };
        c.learning_rate.data = split;
        c
    }

    /// Each study's name and how many runs it makes, in order (for the overall progress).
    pub fn runs(&self) -> Vec<(&'static str, usize)> {
        let counts = [
            1,
            self.xor.activations.len() * self.xor.seeds,
            1,
            self.architectures.archs.len() * self.architectures.seeds,
            self.gradients.archs.len() * self.gradients.activations.len(),
            // Three constant rates, two schedules, and Adam (reused when the architectures study has it).
            6,
        ];
        super::STUDIES.into_iter().zip(counts).collect()
    }

    /// Sets the base seed of every study.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.xor.run.seed = seed;
        for (train, data) in [
            (&mut self.architectures.train, &mut self.architectures.data),
            (&mut self.gradients.train, &mut self.gradients.data),
            (&mut self.learning_rate.train, &mut self.learning_rate.data),
        ] {
            train.seed = seed;
            data.seed = seed;
        }
        self.learning_rate.adam.seed = seed;
        self
    }
}

/// File name of [`AllRecord`] under `<out>`.
pub const ALL_RECORD: &str = "all.json";

/// What the last `nnlab all` in an output directory was: its configuration and the report
/// header (backend, machine, wall times), so `nnlab report` can rebuild the same report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllRecord {
    /// Header lines of the report.
    pub header: Vec<String>,
    /// The configuration of every study.
    pub config: AllConfig,
}

/// Runs every study on backend `B` (the ones without autodiff on its inner backend);
/// returns the files written.
pub fn run<B: TrainBackend>(ctx: &StudyContext, config: &AllConfig, device: &B::Device) -> Result<Vec<PathBuf>> {
    let started = std::time::Instant::now();
    let runs = config.runs();
    let overall = crate::progress::overall(runs.iter().map(|r| r.1 as u64).sum(), ctx.quiet);
    overall.set_message(format!("study 1/{}: {}", runs.len(), runs[0].0));
    let mut times = Vec::new();
    let mut done = 0;
    let mut since = std::time::Instant::now();
    // Called after each study, in the order of `runs`: records its wall time, advances the bar.
    let mut study_done = || {
        let (name, count) = runs[done];
        times.push(format!("{name}: {:.0} s", since.elapsed().as_secs_f64()));
        overall.inc(count as u64);
        done += 1;
        if let Some((next, _)) = runs.get(done) {
            overall.set_message(format!("study {}/{}: {next}", done + 1, runs.len()));
        }
        since = std::time::Instant::now();
    };
    let mut files = activations::run::<B::InnerBackend>(ctx, device)?;
    study_done();
    files.extend(xor::run::<B::InnerBackend>(ctx, &config.xor, device)?.1);
    study_done();
    files.extend(conv::run::<B::InnerBackend>(ctx, &config.conv, device)?);
    study_done();
    files.extend(architectures::run::<B>(ctx, &config.architectures, device)?.1);
    study_done();
    files.extend(gradients::run::<B>(ctx, &config.gradients, device)?);
    study_done();
    files.extend(learning_rate::run::<B>(ctx, &config.learning_rate, device)?);
    study_done();
    overall.finish_and_clear();
    let mut header = Vec::new();
    if config.quick {
        header.push("**QUICK RUN** (`nnlab all --quick`): 1 epoch on 2 000 training images — the pipeline, not the homework's numbers.".to_string());
    }
    header.extend([
        format!("Backend: {}", ctx.backend),
        format!("Machine: {}", crate::bench::machine_description()),
        format!("Total wall time: {:.0} s", started.elapsed().as_secs_f64()),
    ]);
    header.push(format!("Per study (finished runs reused from earlier invocations take no time): {}", times.join(", ")));
    let record = AllRecord { header: header.clone(), config: config.clone() };
    let record_path = ctx.out.join(ALL_RECORD);
    crate::results::write_json(&record_path, &record)?;
    files.push(record_path);
    files.push(crate::report::write_report(&ctx.out, &header)?);
    files.push(ctx.out.join("report.html"));
    Ok(files)
}
