//! `<out>/report.md`: one Markdown report that gathers every study's figures and tables
//! from an output directory, with relative links, so it renders wherever the directory goes;
//! and `<out>/report.html`, the same report as a page a browser opens directly.

use crate::error::Result;
use crate::results::{read_json, write_atomic, write_json};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File name of [`AllRecord`] under `<out>`.
pub const ALL_RECORD: &str = "all.json";

/// What the last `nnlab all` in an output directory was: the report header (backend,
/// machine, wall times) and its configuration, so `nnlab report` can rebuild the same report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllRecord {
    /// Header lines of the report.
    pub header: Vec<String>,
    /// The configuration of every study ([`crate::study::all::AllConfig`] as JSON).
    pub config: serde_json::Value,
}

/// Writes the [`AllRecord`] of one shard of `nnlab all` (see [`crate::study::plan`]),
/// `<out>/shards/all-<I>of<N>.json`; returns its path. `nnlab report` heads the merged
/// report with every shard's lines when there is no `all.json`.
pub fn write_shard_record(
    out: &Path,
    shard: crate::study::plan::Shard,
    header: &[String],
    config: serde_json::Value,
) -> Result<PathBuf> {
    let dir = crate::results::prepare_dir(&out.join(crate::study::plan::SHARDS_DIR))?;
    let path = dir.join(format!("all-{}of{}.json", shard.index, shard.count));
    write_json(&path, &AllRecord { header: header.to_vec(), config })?;
    Ok(path)
}

/// The header of a report merged from shards: one line per shard record under
/// `<out>/shards/`, in shard order.
fn shard_header(out: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(out.join(crate::study::plan::SHARDS_DIR)) else { return Vec::new() };
    let mut records: Vec<(String, AllRecord)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let shard = name.strip_prefix("all-")?.strip_suffix(".json")?.replace("of", "/");
            Some((shard, read_json::<AllRecord>(&e.path()).ok()?))
        })
        .collect();
    records.sort_by_key(|(s, _)| s.split('/').map(|n| n.parse::<usize>().unwrap_or(0)).collect::<Vec<_>>());
    let mut lines = vec![format!("Merged from {} shard runs of `nnlab all --shard I/N`:", records.len())];
    lines.extend(records.into_iter().map(|(s, r)| format!("- shard {s}: {}", r.header.join(" · "))));
    if lines.len() == 1 { Vec::new() } else { lines }
}

/// Writes `<out>/all.json`; returns its path.
pub fn write_all_record(out: &Path, header: &[String], config: serde_json::Value) -> Result<Vec<PathBuf>> {
    let path = out.join(ALL_RECORD);
    write_json(&path, &AllRecord { header: header.to_vec(), config })?;
    Ok(vec![path])
}

/// Writes `<out>/report.md` and `<out>/report.html` from `sections` (heading, Markdown with
/// links relative to `out`), in order; returns both paths. `header` lines (backend, wall
/// times, quick-run notice) go under the title; when empty, those of the last `nnlab all`
/// in `out` (its `all.json`) are used. [`crate::study::write_report`] gathers the sections
/// of every study.
pub fn write(out: &Path, header: &[String], sections: &[(String, String)]) -> Result<Vec<PathBuf>> {
    let stored: Vec<String>;
    let header = if header.is_empty() {
        stored = read_json::<AllRecord>(&out.join(ALL_RECORD)).map(|r| r.header).unwrap_or_else(|_| shard_header(out));
        &stored[..]
    } else {
        header
    };
    let mut md = String::from("# nnlab report\n\n");
    for line in header {
        md.push_str(&format!("{line}  \n"));
    }
    md.push_str(&format!("nnlab {}\n\n", env!("CARGO_PKG_VERSION")));
    for (title, section) in sections {
        md.push_str(&format!("## {title}\n\n{section}"));
    }
    let path = out.join("report.md");
    write_atomic(&path, md.as_bytes())?;
    let html = out.join("report.html");
    write_atomic(&html, markdown_to_html(&md, "nnlab report").as_bytes())?;
    Ok(vec![path, html])
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
