//! `<out>/report.md`: one Markdown report that gathers every study's figures and tables
//! from an output directory, with relative links, so it renders wherever the directory goes;
//! and `<out>/report.html`, the same report as a page a browser opens directly.

use crate::error::Result;
use crate::results::{read_json, write_atomic};
use crate::study::architectures::{SummaryRow, summary_table};
use crate::study::learning_rate::ScheduleResult;
use crate::study::xor::XorSummary;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A line linking the study's `config.json` (every run's full configuration is also in its
/// own result file).
fn config_link(md: &mut String, out: &Path, study: &str) {
    if out.join(study).join("config.json").exists() {
        let _ = writeln!(md, "Configuration: [`{study}/config.json`]({study}/config.json); each run's result file holds its own.\n");
    }
}

fn figure(md: &mut String, out: &Path, rel: &str, alt: &str) {
    if out.join(rel).exists() {
        let _ = writeln!(md, "![{alt}]({rel})\n");
    }
}

/// Writes `<out>/report.md` from whatever studies have results in `out`; returns its path.
/// `header` lines (backend, wall times, quick-run notice) go under the title; when empty,
/// those of the last `nnlab all` in `out` (its `all.json`) are used.
pub fn write_report(out: &Path, header: &[String]) -> Result<PathBuf> {
    let stored: Vec<String>;
    let header = if header.is_empty() {
        stored = read_json::<crate::study::all::AllRecord>(&out.join(crate::study::all::ALL_RECORD)).map(|r| r.header).unwrap_or_default();
        &stored[..]
    } else {
        header
    };
    let mut md = String::from("# nnlab report\n\n");
    for line in header {
        let _ = writeln!(md, "{line}  ");
    }
    let _ = writeln!(md, "nnlab {}\n", env!("CARGO_PKG_VERSION"));

    if out.join("activations/activations.png").exists() {
        md.push_str("## Activation functions (part 1.1)\n\n");
        figure(&mut md, out, "activations/activations.png", "tanh, sigmoid, ReLU and their derivatives");
    }
    if let Ok(summary) = read_json::<XorSummary>(&out.join("xor/summary.json")) {
        md.push_str("## XOR with a from-scratch MLP (parts 1.2–1.3)\n\n");
        config_link(&mut md, out, "xor");
        md.push_str("| activation | runs | mean val acc | std | min | max | diverged |\n|---|---:|---:|---:|---:|---:|---:|\n");
        for (name, e) in &summary {
            let s = e.stats;
            let _ = writeln!(md, "| {name} | {} | {:.3} | {:.3} | {:.2} | {:.2} | {} |", e.accuracies.len(), s.mean, s.std, s.min, s.max, e.diverged);
        }
        md.push('\n');
        figure(&mut md, out, "xor/spread.png", "decision boundaries over seeds");
        for name in summary.keys() {
            figure(&mut md, out, &format!("xor/{name}_seed0.png"), &format!("{name} decision boundary"));
        }
    }
    if out.join("conv/conv.png").exists() {
        md.push_str("## conv2d from scratch (part 2)\n\nOutput: `conv/out.npy`.\n\n");
        config_link(&mut md, out, "conv");
        figure(&mut md, out, "conv/conv.png", "conv2d outputs");
    }
    if let Ok(rows) = read_json::<Vec<SummaryRow>>(&out.join("architectures/summary.json")) {
        md.push_str("## Architectures on CIFAR-10 with Adam (part 3)\n\n");
        config_link(&mut md, out, "architectures");
        md.push_str(&summary_table(&rows));
        md.push('\n');
        for r in &rows {
            let _ = writeln!(md, "- **{}**: `{}`", r.name, r.spec);
        }
        md.push('\n');
        figure(&mut md, out, "architectures/architectures.png", "loss and accuracy curves");
        for r in &rows {
            figure(&mut md, out, &format!("architectures/weights_{}.png", r.name), &format!("{} first-layer weights", r.name));
        }
    }
    if out.join("activation-gradients/activation_gradients.png").exists() {
        md.push_str("## ReLU vs sigmoid gradients with SGD (part 4)\n\n");
        config_link(&mut md, out, "activation-gradients");
        md.push_str("| net | activation | final loss | mean first-layer gradient norm | diverged |\n|---|---|---:|---:|---|\n");
        let mut entries: Vec<PathBuf> = std::fs::read_dir(out.join("activation-gradients")).map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
        entries.sort();
        for path in entries.iter().filter(|p| p.extension().is_some_and(|e| e == "json") && !p.ends_with("config.json")) {
            let Ok(v) = read_json::<serde_json::Value>(path) else { continue };
            for act in ["relu", "sigmoid", "tanh"] {
                let Some(loss) = v[format!("{act}_loss_curve")].as_array() else { continue };
                let grads: Vec<f64> = v[format!("{act}_grad_curve")].as_array().map(|g| g.iter().filter_map(|x| x.as_f64()).collect()).unwrap_or_default();
                let mean = grads.iter().sum::<f64>() / grads.len().max(1) as f64;
                let last = loss.last().and_then(|l| l.as_f64()).map_or("NaN".into(), |l| format!("{l:.4}"));
                let _ = writeln!(md, "| {} | {act} | {last} | {mean:.3e} | {} |", v["name"].as_str().unwrap_or("?"), v[format!("{act}_diverged")]);
            }
        }
        md.push('\n');
        figure(&mut md, out, "activation-gradients/activation_gradients.png", "loss and gradient magnitude");
    }
    if let Ok(s) = read_json::<ScheduleResult>(&out.join("learning-rate/schedule.json")) {
        md.push_str("## Learning rates and schedules (part 5)\n\n");
        config_link(&mut md, out, "learning-rate");
        figure(&mut md, out, "learning-rate/learning_rates.png", "SGD at three learning rates");
        let _ = writeln!(md, "Switch steps: **{}**.\n", s.switch_steps.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", "));
        for (i, r) in s.reasons.iter().enumerate() {
            let _ = writeln!(md, "{}. {r}", i + 1);
        }
        let _ = writeln!(
            md,
            "\n| run | final val acc | test acc |\n|---|---:|---:|\n| 0.1 → 0.01 | {:.4} | |\n| 0.1 → 0.01 → 0.001 | {:.4} | {:.4} |\n| Adam ({}) | {:.4} | {:.4} |\n",
            s.two_stage_val_acc, s.three_stage_val_acc, s.three_stage_test_acc, s.adam_source, s.adam_val_acc, s.adam_test_acc
        );
        figure(&mut md, out, "learning-rate/schedule.png", "scheduled SGD vs Adam");
    }
    let path = out.join("report.md");
    write_atomic(&path, md.as_bytes())?;
    write_atomic(&out.join("report.html"), markdown_to_html(&md, "nnlab report").as_bytes())?;
    Ok(path)
}

/// A standalone HTML page of `markdown` (tables included); images stay relative links.
///
/// The page counts its images once loaded and writes `data-images="loaded/total"` on
/// `<body>`, so a headless browser (see the tests) can check that every figure rendered.
pub fn markdown_to_html(markdown: &str, title: &str) -> String {
    use pulldown_cmark::{Options, Parser, html};
    let mut body = String::new();
    html::push_html(&mut body, Parser::new_ext(markdown, Options::ENABLE_TABLES));
    let title = title.replace('&', "&amp;").replace('<', "&lt;");
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }}
img {{ max-width: 100%; border: 1px solid #ddd; margin: 0.5em 0; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.6em; }}
td {{ font-variant-numeric: tabular-nums; }}
code {{ background: #f4f4f4; padding: 0 0.2em; }}
</style>
</head>
<body data-images="pending">
{body}<script>
window.addEventListener("load", function () {{
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) {{ return i.complete && i.naturalWidth > 0; }}).length;
  document.body.setAttribute("data-images", ok + "/" + imgs.length);
}});
</script>
</body>
</html>
"#
    )
}
