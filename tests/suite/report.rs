//! The report of an output directory, as Markdown and as HTML, rendered by a real headless
//! browser (Debian's chromium) to check that every figure loads.

use std::path::Path;
use std::process::Command;

fn nnlab(out: &Path, args: &[&str]) {
    // `report` computes nothing and takes no backend.
    let backend: &[&str] = if args.first() == Some(&"report") { &[] } else { &["--backend", "ndarray"] };
    let o = Command::new(env!("CARGO_BIN_EXE_nnlab"))
        .args(["--quiet", "--out", out.to_str().unwrap()])
        .args(backend)
        .args(args)
        .output()
        .expect("run nnlab");
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

/// The first chromium-like browser on PATH.
fn browser() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()))
}

#[test]
fn report_of_an_empty_directory_says_to_run_a_study_first() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_nnlab"))
        .args(["--out", dir.path().to_str().unwrap(), "report"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("holds no study results"));
    assert!(!dir.path().join("report.md").exists());
}

#[test]
fn html_report_shows_every_figure_in_a_headless_browser() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    nnlab(out, &["activations"]);
    nnlab(out, &["conv"]);
    nnlab(out, &["xor", "--activation", "tanh,sigmoid", "--epochs", "20"]);
    nnlab(out, &["report"]);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();

    // Every figure of the Markdown is an <img> of the HTML, and the file is there.
    let figures: Vec<&str> = md
        .lines()
        .filter_map(|l| l.strip_prefix("!["))
        .filter_map(|l| l.split("](").nth(1)?.strip_suffix(')'))
        .collect();
    assert!(figures.len() >= 3, "expected the activation, conv and XOR figures in:\n{md}");
    for f in &figures {
        assert!(out.join(f).is_file(), "{f} linked but missing");
        assert!(html.contains(&format!("src=\"{f}\"")), "{f} not in report.html");
    }
    assert!(html.contains("<table>") && html.contains("<td>tanh</td>"), "XOR table not rendered as HTML");
    // The findings come first: one XOR run gives no verdict, the CIFAR claims are not measured.
    let findings = md.find("## Findings").expect("a Findings section");
    assert!(findings < md.find("## ").unwrap() + 1, "Findings is not the first section");
    assert!(md.contains("one run: not resolved") && md.contains("not measured"), "{md}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("findings.json")).unwrap()).unwrap();
    assert_eq!(json.as_array().map(Vec::len), Some(11));

    let Some(browser) = browser() else {
        if std::env::var("NNLAB_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("no chromium on PATH, but NNLAB_REQUIRE_BROWSER=1 (apt-get install chromium)");
        }
        crate::common::skip("SKIPPED html_report_shows_every_figure_in_a_headless_browser: no chromium on PATH (apt-get install chromium)".into());
        return;
    };
    let page = format!("file://{}", out.join("report.html").display());
    let o = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000", "--dump-dom", &page])
        .output()
        .expect("run the browser");
    let dom = String::from_utf8_lossy(&o.stdout);
    let expected = format!("data-images=\"{0}/{0}\"", figures.len());
    assert!(
        dom.contains(&expected),
        "browser did not load every figure ({expected}); body: {}",
        dom.lines().find(|l| l.contains("<body")).unwrap_or("no <body>")
    );
}

/// The report links the XOR boundary figures the study wrote, whatever the base seed
/// (they are named `<activation>_seed<k>.png`).
#[test]
fn report_links_xor_boundaries_of_a_non_zero_seed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    nnlab(out, &["--seed", "3", "xor", "--activation", "tanh,relu", "--epochs", "20"]);
    nnlab(out, &["report"]);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    for name in ["tanh_seed3", "relu_seed3"] {
        assert!(out.join("xor").join(format!("{name}.png")).exists(), "{name}.png not written");
        assert!(md.contains(&format!("](xor/{name}.png)")), "report.md does not show {name}.png:\n{md}");
    }
    assert!(!md.contains("_seed0.png"), "report.md links a seed the study did not run:\n{md}");
}

/// A CIFAR-10 study that has not finished (still running, or stopped): the report says so
/// and how many of its runs are done, instead of calling its results unreadable, and the
/// finished runs count in the time table.
#[test]
fn report_of_an_unfinished_study_says_how_far_it_is() {
    let data = crate::cifar_studies::synthetic_cifar().to_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let quick = ["--epochs", "1", "--max-train", "200", "--max-val", "50", "--max-test", "50"];
    let args = [&["architectures", "--data-dir", &data, "--arch", "mlp1", "--seeds", "2"], &quick[..]].concat();
    nnlab(dir.path(), &args);
    // As the directory looks while the study's last run trains: no summary yet.
    for f in ["summary.json", "summary.md", "config.json"] {
        std::fs::remove_file(dir.path().join("architectures").join(f)).unwrap();
    }
    nnlab(dir.path(), &["activations"]);
    nnlab(dir.path(), &["report"]);
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains("**Not finished yet**: 2 of its runs are done"), "{md}");
    assert!(md.contains("`nnlab architectures`") && !md.contains("could not be read"), "{md}");
    assert!(md.contains("| architectures | 2 |"), "the finished runs are not in the time table: {md}");
    assert!(md.contains("activations/activations.png"), "{md}");
}
