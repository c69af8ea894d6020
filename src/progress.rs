//! What long work reports while it runs. The library never prints: studies, training runs,
//! downloads and the bench report through an [`Observer`], and whoever called them decides
//! what to show (the `nnlab` binary draws progress bars with ETAs; [`Silent`] shows nothing).
//!
//! A piece of work is a *task*: [`Observer::started`], any number of
//! [`Observer::advanced`], then [`Observer::finished`] with a one-line summary (or
//! [`Observer::reused`] instead of all three, when a finished result was found on disk, or
//! [`Observer::skipped`] when another process performs it).
//! Concurrent workers each report through their own [`Observer::worker`].
//! Each task carries its planned cost ([`crate::study::PlannedRun::cost`]), so a command
//! that runs many tasks can count progress in work rather than in tasks.

use std::fmt;

/// What a task's positions count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Training steps or epochs.
    Steps,
    /// Bytes (downloads).
    Bytes,
}

/// Receives progress from long work. Every method has an empty default.
pub trait Observer: Send + Sync {
    /// A task starts: its label, its length in `unit`s, and its planned cost (0 when the
    /// task was not planned, e.g. a download).
    fn started(&self, _label: &str, _total: u64, _unit: Unit, _cost: f64) {}
    /// The current task reached `position` of its length; `message` says how it goes
    /// (epoch, loss, validation accuracy).
    fn advanced(&self, _position: u64, _message: &str) {}
    /// The current task goes on from `position`, reached in an earlier process (a run
    /// resumed from its checkpoint); `line` says so. By default a [`Observer::note`] and an
    /// [`Observer::advanced`] to `position`.
    fn resumed(&self, position: u64, line: &str) {
        self.note(line);
        self.advanced(position, "");
    }
    /// The current task ended; `summary` is one line worth keeping (may be empty).
    fn finished(&self, _summary: &str) {}
    /// A planned task was not run because its finished result was found; `summary` as in
    /// [`Observer::finished`].
    fn reused(&self, _label: &str, _cost: f64, _summary: &str) {}
    /// A planned task was not run by this process because another one performs it (a
    /// shard of a plan split among processes, see [`crate::study::plan`]); `why` says which.
    fn skipped(&self, _label: &str, _cost: f64, _why: &str) {}
    /// A line worth showing a person that belongs to no task (an estimate, a notice).
    fn note(&self, _line: &str) {}
    /// Something the person should know because a result may not be what they expect (a
    /// tiny validation set, a study the report had to leave out); shown apart from notes.
    fn warning(&self, _message: &str) {}
    /// Progress of a command made of many tasks: `done` of `total` planned cost, and what
    /// runs now.
    fn overall(&self, _done: f64, _total: f64, _message: &str) {}
    /// The observer of worker `index` when several run tasks at the same time
    /// ([`crate::study::concurrent`]): each worker's tasks start, advance and finish in
    /// order, but the workers' tasks overlap. `None` (the default) gives every worker this
    /// observer, which then hears the workers' calls interleaved.
    fn worker(&self, _index: usize) -> Option<SharedObserver> {
        None
    }
}

/// An observer that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {}

/// A shared observer, cheap to clone into a study's context.
#[derive(Clone)]
pub struct SharedObserver(pub std::sync::Arc<dyn Observer>);

impl SharedObserver {
    /// Wraps `observer`.
    pub fn new(observer: impl Observer + 'static) -> Self {
        SharedObserver(std::sync::Arc::new(observer))
    }

    /// The observer of concurrent worker `index` ([`Observer::worker`], or this one).
    pub fn for_worker(&self, index: usize) -> SharedObserver {
        self.0.worker(index).unwrap_or_else(|| self.clone())
    }
}

impl Default for SharedObserver {
    fn default() -> Self {
        SharedObserver::new(Silent)
    }
}

impl fmt::Debug for SharedObserver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedObserver")
    }
}

impl std::ops::Deref for SharedObserver {
    type Target = dyn Observer;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}
