//! Progress bars with ETA for long work, silenced by `--quiet`.
//!
//! Every visible bar joins one [`MultiProgress`], so an overall bar (`nnlab all`) and the
//! current run's bar share the terminal, each on its own line.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::OnceLock;

/// The terminal's set of bars.
fn multi() -> &'static MultiProgress {
    static MULTI: OnceLock<MultiProgress> = OnceLock::new();
    MULTI.get_or_init(MultiProgress::new)
}

/// A bar of `total` units drawn with `template`, labelled `label`; hidden when `quiet`.
fn styled(total: u64, label: &str, quiet: bool, template: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let bar = if quiet {
        bar.set_draw_target(ProgressDrawTarget::hidden());
        bar
    } else {
        multi().add(bar)
    };
    bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
    bar.set_prefix(label.to_string());
    bar
}

/// Creates a bar of `total` units with a label, position, message and ETA; hidden when `quiet`.
pub fn bar(total: u64, label: &str, quiet: bool) -> ProgressBar {
    styled(total, label, quiet, "{prefix:>14} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg} ETA {eta}")
}

/// A byte-count bar (downloads) with transfer rate and ETA; hidden when `quiet`.
pub fn bytes_bar(total: u64, label: &str, quiet: bool) -> ProgressBar {
    styled(total, label, quiet, "{prefix:>14} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}")
}

/// The overall bar of a multi-study command: runs done of `total`, the current study as
/// message, ETA; drawn above the per-run bars; hidden when `quiet`.
pub fn overall(total: u64, quiet: bool) -> ProgressBar {
    styled(total, "overall", quiet, "{prefix:>14} [{elapsed_precise}] {wide_bar} {pos}/{len} runs · {msg} · ETA {eta}")
}
