//! Several runs at once in one process (`--jobs N`): N workers, each on its own thread,
//! share the runs of a command (all of them, or a shard's, [`plan::Assignment`]).
//!
//! A GPU runs one small net far below its capacity: on one H100, 8 threads each training
//! their own cnn4 on Burn's CUDA backend did 5.0x the work of one thread in the same wall
//! time (CubeCL gives each thread its own stream). The runs of a study need nothing from
//! each other except where the plan says so (the learning-rate study's schedules need its
//! lr-0.1 run), so they can run side by side.
//!
//! Each worker walks the studies as a single process would, as an [`plan::Assignment`]
//! that claims whole groups of dependent runs by the rule of [`plan::Workers`] (most
//! expensive first; dependent runs in order on one worker), reusing finished runs as usual.
//! Once every worker is done, each study's summaries and figures are written from the run
//! files ([`super::AnyStudy::finish_workers`], the same [`super::Study::merge`] that
//! `nnlab report` uses for shards), so the outputs are those of runs one after the other.
//!
//! What makes it exact: every run draws its initial weights with the backend's process-wide
//! random generator held for it alone ([`crate::model::Net::seeded`]); shuffles have their own
//! generator per run; each run's result is its own file, written atomically. A test trains
//! the same runs with `--jobs 1` and `--jobs 3` and compares every number.

use super::{AnyStudy, StudyContext, plan};
use crate::error::Result;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// What [`run`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Concurrent {
    /// Files written: run results, then each study's summaries, figures and configuration.
    pub files: Vec<PathBuf>,
    /// Per study (in the order given): the seconds its runs took, summed over the workers.
    pub busy_seconds: Vec<(String, f64)>,
}

/// Performs `studies` (the command `command`, as [`plan::Plan::of`] plans it) with
/// `ctx.jobs` workers, then finishes each study; returns what was written. The first error
/// of any worker stops new runs from starting; runs under way finish (and are kept for the
/// next attempt), then that error is returned.
pub fn run(ctx: &StudyContext, command: &str, studies: &[&dyn AnyStudy]) -> Result<Concurrent> {
    crate::error::ensure_positive("jobs", ctx.jobs)?;
    let plan = plan::Plan::of(command, studies);
    let base = match &ctx.shard {
        Some(assignment) => assignment.as_ref().clone(),
        None => plan.assignment(plan::Shard { index: 0, count: 1 })?,
    };
    let workers = Arc::new(plan::Workers::new(&plan, base.shard, ctx.jobs)?);
    let outcomes: Vec<Result<WorkerDone>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..ctx.jobs)
            .map(|w| {
                let worker_ctx = StudyContext {
                    shard: Some(Arc::new(base.for_worker(workers.clone(), w))),
                    observer: ctx.observer.for_worker(w),
                    jobs: 1,
                    ..ctx.clone()
                };
                let workers = workers.clone();
                scope.spawn(move || work(&worker_ctx, &workers, studies, w))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(crate::error::Error::Device("a worker thread panicked; see the message above".into()))
                })
            })
            .collect()
    });
    let mut files = Vec::new();
    let mut busy: HashMap<String, f64> = HashMap::new();
    for outcome in outcomes {
        let (written, seconds) = outcome?;
        files.extend(written);
        for (study, s) in seconds {
            *busy.entry(study).or_default() += s;
        }
    }
    for s in studies {
        files.extend(s.finish_workers(ctx, workers.work(s.name()))?);
    }
    Ok(Concurrent {
        files,
        busy_seconds: studies
            .iter()
            .map(|s| (s.name().to_string(), busy.get(s.name()).copied().unwrap_or(0.0)))
            .collect(),
    })
}

/// What one worker wrote, and the seconds it spent in each study.
type WorkerDone = (Vec<PathBuf>, HashMap<String, f64>);

/// One worker: each study in the workers' order, passed over until no group of it is left
/// unclaimed; returns the files written and the seconds spent per study.
fn work(ctx: &StudyContext, workers: &plan::Workers, studies: &[&dyn AnyStudy], index: usize) -> Result<WorkerDone> {
    let mut files = Vec::new();
    let mut seconds = HashMap::new();
    for name in workers.study_order() {
        let Some(study) = studies.iter().find(|s| s.name() == name) else { continue };
        let started = Instant::now();
        while workers.unclaimed(name) {
            workers.begin_pass(index);
            match study.run(ctx) {
                Ok(written) => files.extend(written),
                Err(e) => {
                    workers.stop();
                    return Err(e);
                }
            }
        }
        seconds.insert(name.clone(), started.elapsed().as_secs_f64());
    }
    Ok((files, seconds))
}
