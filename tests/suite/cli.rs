//! The `nnlab` binary as a user meets it: help, bad flags, backends, unwritable output.

use std::path::Path;
use std::process::{Command, Output};

fn nnlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nnlab")).args(args).output().expect("run nnlab")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The command fails with exit code 1 or 2 (clap), no panic, and a message containing `needle`.
fn assert_fails_with(args: &[&str], needle: &str) {
    let o = nnlab(args);
    let err = stderr(&o);
    assert!(!o.status.success(), "{args:?} should fail");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    assert!(err.contains(needle), "{args:?}: expected '{needle}' in:\n{err}");
}

#[test]
fn help_shows_an_example_for_every_subcommand() {
    let o = nnlab(&["--help"]);
    assert!(o.status.success());
    let help = String::from_utf8_lossy(&o.stdout);
    for sub in [
        "activations",
        "xor",
        "conv",
        "architectures",
        "activation-gradients",
        "learning-rate",
        "all",
        "bench",
        "report",
    ] {
        assert!(help.contains(&format!("nnlab {sub}")), "no example for {sub} in --help:\n{help}");
        let sub_help = nnlab(&[sub, "--help"]);
        assert!(String::from_utf8_lossy(&sub_help.stdout).contains("Example"), "{sub} --help has no example");
    }
}

#[test]
fn bad_xor_values_give_one_clear_message() {
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    assert_fails_with(&["--out", o, "xor", "--activation", "softplus"], "unknown activation 'softplus'");
    assert_fails_with(&["--out", o, "xor", "--epochs", "0"], "--epochs");
    assert_fails_with(&["--out", o, "xor", "--lr", "-0.1"], "--lr");
    assert_fails_with(&["--out", o, "xor", "--lr", "nan"], "--lr");
    assert_fails_with(&["--out", o, "xor", "--train-samples", "0"], "--train-samples");
    assert_fails_with(&["--out", o, "xor", "--seeds", "0"], "--seeds");
    assert_fails_with(&["--out", o, "xor", "--mode", "minibatch"], "invalid value 'minibatch' for '--mode");
    assert_fails_with(&["--out", o, "xor", "--epochs", "-3"], "-3");
    // Nothing was written for rejected input.
    assert!(!out.path().join("xor").join("summary.json").exists());
}

#[test]
fn unknown_or_missing_backend_names_what_to_do() {
    let needle = if cfg!(feature = "cuda") { "CUDA" } else { "--features cuda" };
    assert_fails_with(&["--backend", "cuda", "activations"], needle);
    if !cfg!(feature = "wgpu") {
        let out = tempfile::tempdir().unwrap();
        assert_fails_with(
            &["--out", out.path().to_str().unwrap(), "--backend", "wgpu", "activations"],
            "--features wgpu",
        );
    }
}

/// `NNLAB_GPU_CONV` naming no kernel is one clear error on a GPU backend, before the device
/// is touched (so also here, with or without an adapter); CPU backends ignore the setting.
#[cfg(feature = "wgpu")]
#[test]
fn unknown_gpu_convolution_setting_is_a_clear_error() {
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    let run = |backend: &str| {
        Command::new(env!("CARGO_BIN_EXE_nnlab"))
            .args(["--out", o, "-q", "--backend", backend, "activations"])
            .env("NNLAB_GPU_CONV", "winograd")
            .output()
            .expect("run nnlab")
    };
    let gpu = run("wgpu");
    let err = stderr(&gpu);
    assert!(!gpu.status.success() && !err.contains("panicked"), "wgpu: {err}");
    assert!(err.contains("NNLAB_GPU_CONV") && err.contains("direct, gemm or im2col"), "wgpu: {err}");
    let cpu = run("ndarray");
    assert!(cpu.status.success(), "ndarray should ignore NNLAB_GPU_CONV: {}", stderr(&cpu));
}

#[test]
fn unwritable_output_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the output directory should be.
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    assert_fails_with(&["--out", file.to_str().unwrap(), "activations"], "not a directory");
    // A read-only directory (skipped as root, who can write anywhere).
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    set_readonly(&ro);
    if std::fs::write(ro.join("probe"), b"").is_err() {
        assert_fails_with(&["--out", ro.to_str().unwrap(), "activations"], "cannot");
    } else {
        crate::common::skip(
            "SKIPPED read-only --out check: running as a user who can write to read-only directories".to_string(),
        );
    }
}

fn set_readonly(p: &Path) {
    let mut perm = std::fs::metadata(p).unwrap().permissions();
    perm.set_readonly(true);
    std::fs::set_permissions(p, perm).unwrap();
}

#[test]
fn xor_run_writes_results_figures_and_summary() {
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    let args = [
        "--quiet",
        "--backend",
        "ndarray",
        "--out",
        o,
        "xor",
        "--activation",
        "tanh,sigmoid",
        "--seeds",
        "2",
        "--epochs",
        "200",
    ];
    let res = nnlab(&args);
    assert!(res.status.success(), "{}", stderr(&res));
    let dir = out.path().join("xor");
    for f in [
        "tanh_seed0.json",
        "tanh_seed1.json",
        "sigmoid_seed0.png",
        "sigmoid_seed1.svg",
        "summary.json",
        "spread.png",
        "config.json",
    ] {
        assert!(dir.join(f).exists(), "{f} missing");
    }
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    let accs = summary["tanh"]["accuracies"].as_array().unwrap();
    assert_eq!(accs.len(), 2);
    let mean = summary["tanh"]["stats"]["mean"].as_f64().unwrap();
    let expected = accs.iter().map(|a| a.as_f64().unwrap()).sum::<f64>() / 2.0;
    assert!((mean - expected).abs() < 1e-12);
    // Running again reuses the finished runs (same config) instead of retraining.
    let before = std::fs::metadata(dir.join("tanh_seed0.json")).unwrap().modified().unwrap();
    let again = nnlab(&args);
    assert!(again.status.success());
    assert_eq!(std::fs::metadata(dir.join("tanh_seed0.json")).unwrap().modified().unwrap(), before);
}

/// Every study of the one list (`nnlab::study::Studies`) is run by the command it names: a
/// subcommand of the study's name, or a variant of another's (`activation-gradients
/// --input-range 255`), which then names its own directory.
#[test]
fn every_study_in_the_list_is_a_subcommand() {
    let help = String::from_utf8_lossy(&nnlab(&["--help"]).stdout).into_owned();
    let studies = nnlab::study::Studies::default();
    for study in studies.each() {
        let command: Vec<&str> = study.command().split(' ').collect();
        let o = nnlab(&[&command[..], &["--help"]].concat());
        assert!(o.status.success(), "`nnlab {} --help` failed: {}", study.command(), stderr(&o));
        let sub = command[0];
        assert!(help.contains(&format!("  {sub}")), "{sub} missing from `nnlab --help`:\n{help}");
        assert!(command.len() > 1 || sub == study.name(), "{sub} runs the study {}", study.name());
    }
}
