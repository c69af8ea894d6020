//! Progress bars with ETA for long work, silenced by `--quiet`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar of `total` units drawn with `template`, labelled `label`; hidden when `quiet`.
fn styled(total: u64, label: &str, quiet: bool, template: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if quiet {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
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
