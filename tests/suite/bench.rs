//! `nnlab bench` end to end at tiny sizes: the report's shape, the ratios against a stand-in
//! PyTorch side, and what happens when the reference cannot run.

use nnlab::bench::BenchReport;
use std::path::Path;
use std::process::Command;

const TINY: [&str; 12] = [
    "--arch",
    "mlp1",
    "--iters",
    "2",
    "--warmup",
    "1",
    "--val-images",
    "120",
    "--val-iters",
    "1",
    "--epoch-steps",
    "3",
];

fn bench(out: &Path, pytorch: &str) -> BenchReport {
    let o = Command::new(env!("CARGO_BIN_EXE_nnlab"))
        .args(["--quiet", "--backend", "ndarray", "--out", out.to_str().unwrap(), "bench"])
        .args(TINY)
        .args(["--pytorch", pytorch])
        .output()
        .expect("run nnlab");
    assert!(o.status.success(), "bench failed: {}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("bench/bench.md").exists());
    nnlab::results::read_json(&out.join("bench/bench.json")).expect("bench.json reads back")
}

#[test]
fn bench_without_pytorch_reports_nnlab_alone_and_says_why() {
    let out = tempfile::tempdir().unwrap();
    let r = bench(out.path(), "off");
    assert_eq!(r.nnlab.nets.len(), 1);
    let n = &r.nnlab.nets[0];
    assert_eq!((n.arch.as_str(), n.params), ("mlp1", 98_666));
    assert_eq!(n.step.samples_ms.len(), 2);
    assert_eq!(n.val_pass.samples_ms.len(), 1);
    assert!(n.step.median_ms > 0.0 && n.val_pass.median_ms > 0.0 && n.epoch_seconds.unwrap() > 0.0);
    assert!(r.pytorch.is_none() && r.ratios.is_empty());
    assert!(r.pytorch_note.unwrap().contains("--pytorch off"));

    let missing = bench(out.path(), "/nonexistent/python3");
    assert!(missing.pytorch_note.unwrap().contains("cannot run '/nonexistent/python3'"));
}

/// A stand-in "python" that prints a fixed PyTorch side: the ratios must be nnlab's own
/// medians divided by those numbers.
#[cfg(unix)]
#[test]
fn ratios_divide_nnlab_by_the_reference() {
    use std::os::unix::fs::PermissionsExt;
    let out = tempfile::tempdir().unwrap();
    let fake = out.path().join("fake-python");
    let side = r#"{"name":"stand-in","threads":2,"nets":[{"arch":"mlp1","params":98666,"step":{"median_ms":2.0,"samples_ms":[2.0]},"val_pass":{"median_ms":4.0,"samples_ms":[4.0]},"epoch_seconds":0.5}]}"#;
    std::fs::write(&fake, format!("#!/bin/sh\necho 'torch noise'\necho '{side}'\n")).unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let r = bench(out.path(), fake.to_str().unwrap());
    let n = &r.nnlab.nets[0];
    let ratio = &r.ratios[0];
    assert!((ratio.step - n.step.median_ms / 2.0).abs() < 1e-12);
    assert!((ratio.val_pass - n.val_pass.median_ms / 4.0).abs() < 1e-12);
    assert!((ratio.epoch.unwrap() - n.epoch_seconds.unwrap() / 0.5).abs() < 1e-12);
    let table = r.markdown();
    assert!(table.contains("| mlp1 | 98666 |") && table.contains("stand-in"), "{table}");
}

/// With Python and torch present (skipped otherwise), the real reference runs and its
/// independent parameter counts equal nnlab's.
#[test]
fn pytorch_reference_runs_and_counts_the_same_parameters() {
    let has_torch =
        Command::new("python3").args(["-c", "import torch, numpy"]).output().is_ok_and(|o| o.status.success());
    if !has_torch {
        crate::common::skip("SKIPPED pytorch_reference_runs_and_counts_the_same_parameters: no python3 with torch (pip install torch numpy)".into());
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let r = bench(out.path(), "python3");
    let p = r.pytorch.unwrap_or_else(|| panic!("no PyTorch side: {:?}", r.pytorch_note));
    assert_eq!(p.nets[0].arch, "mlp1");
    assert_eq!(p.nets[0].params, r.nnlab.nets[0].params);
    assert_eq!(p.nets[0].step.samples_ms.len(), 2);
    assert!(p.nets[0].epoch_seconds.unwrap() > 0.0 && r.ratios.len() == 1);
}
