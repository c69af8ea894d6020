//! The terminal side of progress: an [`Observer`] that draws nnlab's tasks as progress bars
//! with ETAs (indicatif), the overall progress of `nnlab all` above them, and each finished
//! run's summary line above both.

use indicatif::{HumanDuration, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use nnlab::progress::{Observer, SharedObserver, Unit};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Overall progress counts planned cost; the bar's units are this many cost units.
const COST_SCALE: f64 = 1e6;

/// Progress bars on stderr (hidden when quiet), summaries on stdout. Concurrent workers
/// ([`Observer::worker`]) each get a bar of their own under the overall one.
pub struct Terminal {
    shared: Arc<Shared>,
    /// Whose task bar this is: 0 for the command itself, `k + 1` for worker `k`.
    lane: usize,
}

struct Shared {
    multi: MultiProgress,
    quiet: bool,
    tasks: Mutex<HashMap<usize, ProgressBar>>,
    overall: Mutex<Option<ProgressBar>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Terminal {
    /// Bars drawn unless `quiet`; summary lines printed either way.
    pub fn new(quiet: bool) -> Self {
        let multi = MultiProgress::new();
        if quiet {
            multi.set_draw_target(ProgressDrawTarget::hidden());
        }
        let shared = Shared { multi, quiet, tasks: Mutex::new(HashMap::new()), overall: Mutex::new(None) };
        Terminal { shared: Arc::new(shared), lane: 0 }
    }

    /// Prints `line` above the bars (or plainly when there are none).
    pub fn println(&self, line: &str) {
        if line.is_empty() {
            return;
        }
        let s = &self.shared;
        if s.quiet || s.multi.is_hidden() {
            say(line);
        } else {
            let _ = s.multi.println(line);
        }
    }

    fn style(template: &str) -> ProgressStyle {
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
    }

    fn clear_task(&self) {
        if let Some(bar) = lock(&self.shared.tasks).remove(&self.lane) {
            bar.finish_and_clear();
            self.shared.multi.remove(&bar);
        }
    }

    /// Removes every bar (at the end of a command).
    pub fn finish(&self) {
        for (_, bar) in lock(&self.shared.tasks).drain() {
            bar.finish_and_clear();
            self.shared.multi.remove(&bar);
        }
        if let Some(bar) = lock(&self.shared.overall).take() {
            bar.finish_and_clear();
        }
    }
}

impl Observer for Terminal {
    fn started(&self, label: &str, total: u64, unit: Unit, _cost: f64) {
        self.clear_task();
        let template = match unit {
            Unit::Steps => "{prefix:>22} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg} ETA {eta}",
            Unit::Bytes => {
                "{prefix:>22} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}"
            }
        };
        let bar = self.shared.multi.add(ProgressBar::new(total));
        bar.set_style(Self::style(template));
        bar.set_prefix(label.to_string());
        lock(&self.shared.tasks).insert(self.lane, bar);
    }

    fn advanced(&self, position: u64, message: &str) {
        if let Some(bar) = lock(&self.shared.tasks).get(&self.lane) {
            bar.set_position(position);
            bar.set_message(message.to_string());
        }
    }

    fn resumed(&self, position: u64, line: &str) {
        self.println(line);
        if let Some(bar) = lock(&self.shared.tasks).get(&self.lane) {
            bar.set_position(position);
            // The steps done before were not done now: the rate starts afresh.
            bar.reset_eta();
        }
    }

    fn finished(&self, summary: &str) {
        self.clear_task();
        self.println(summary);
    }

    fn reused(&self, _label: &str, _cost: f64, summary: &str) {
        self.println(&format!("{summary}  (reused)"));
    }

    fn skipped(&self, _label: &str, _cost: f64, why: &str) {
        self.println(&format!("skipped {why}"));
    }

    fn note(&self, line: &str) {
        self.println(line);
    }

    fn warning(&self, message: &str) {
        self.shared.multi.suspend(|| say_err(&format!("warning: {message}")));
    }

    fn overall(&self, done: f64, total: f64, message: &str) {
        let mut overall = lock(&self.shared.overall);
        let bar = overall.get_or_insert_with(|| {
            let bar = self.shared.multi.insert(0, ProgressBar::new(1));
            bar.set_style(Self::style(
                "{prefix:>22} [{elapsed_precise}] {wide_bar} {percent:>3}% of planned work · {msg} · ETA {eta}",
            ));
            bar.set_prefix("overall");
            bar
        });
        bar.set_length((total / COST_SCALE).ceil().max(1.0) as u64);
        bar.set_position((done / COST_SCALE) as u64);
        bar.set_message(message.to_string());
    }

    fn worker(&self, index: usize) -> Option<SharedObserver> {
        Some(SharedObserver::new(Terminal { shared: self.shared.clone(), lane: index + 1 }))
    }
}

/// Writes a line to stdout. A closed pipe (`nnlab all | head -1`) is not an error: the line
/// is dropped and the work goes on (println! would panic and stop the study).
pub fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// Writes a line to stderr, ignoring a closed stream like [`say`].
pub fn say_err(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// "about 2 h 10 min", "about 40 s".
pub fn about(seconds: f64) -> String {
    let d = std::time::Duration::from_secs_f64(seconds.max(1.0).round());
    format!("about {}", HumanDuration(d))
}
