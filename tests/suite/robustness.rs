//! What a user can get wrong, through the binary: each case is one clear `error:` line, a
//! non-zero exit, no panic, and nothing already written is lost. (Divergence is a result,
//! not an error: see `xor::divergent_run_is_reported_not_a_crash` and the gradients study.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn nnlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nnlab")).args(args).env("NNLAB_DATA", "").output().expect("run nnlab")
}

/// Fails non-zero, without a panic, with exactly one `error:` line containing every needle.
fn assert_one_clear_error(args: &[&str], needles: &[&str]) {
    let o = nnlab(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{args:?} should fail");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "{args:?}: expected one error line in:\n{err}");
    for n in needles {
        assert!(lines[0].contains(n), "{args:?}: expected '{n}' in: {}", lines[0]);
    }
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

/// Makes `dir` refuse new files: read-only permissions, and for root (who ignores them)
/// the immutable attribute. Returns false when neither stops writes on this system.
fn deny_writes(dir: &Path) -> bool {
    let mut perm = std::fs::metadata(dir).unwrap().permissions();
    perm.set_readonly(true);
    std::fs::set_permissions(dir, perm).unwrap();
    let blocked = || std::fs::write(dir.join(".probe"), b"").is_err();
    if blocked() {
        return true;
    }
    let _ = std::fs::remove_file(dir.join(".probe"));
    let _ = Command::new("chattr").arg("+i").arg(dir).output();
    blocked()
}

fn allow_writes(dir: &Path) {
    let _ = Command::new("chattr").arg("-i").arg(dir).output();
    let mut perm = std::fs::metadata(dir).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perm.set_readonly(false);
    std::fs::set_permissions(dir, perm).unwrap();
}

#[test]
fn missing_data_and_data_dir_at_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = out.to_str().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let args = |data: &str| {
        ["--quiet", "--offline", "--data-dir", data, "--out", o, "architectures", "--arch", "mlp1", "--epochs", "1"]
            .map(String::from)
    };
    let run = |data: &Path, needles: &[&str]| {
        let a = args(data.to_str().unwrap());
        assert_one_clear_error(&a.iter().map(String::as_str).collect::<Vec<_>>(), needles);
    };
    run(&empty, &["no CIFAR-10 there", "--data-dir"]);
    let file = dir.path().join("cifar-10-binary.tar.gz");
    std::fs::write(&file, b"not an archive").unwrap();
    run(&file, &["is a file, not a directory"]);
    run(&dir.path().join("nowhere"), &["nowhere"]);
    assert!(!out.join("architectures").join("mlp1_seed0.json").exists());
}

#[test]
fn corrupt_data_names_the_file_and_the_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("cifar-10-batches-bin");
    std::fs::create_dir(&bin).unwrap();
    for name in [
        "data_batch_1.bin",
        "data_batch_2.bin",
        "data_batch_3.bin",
        "data_batch_4.bin",
        "data_batch_5.bin",
        "test_batch.bin",
    ] {
        std::fs::write(bin.join(name), vec![0u8; 10_000 * 3073]).unwrap();
    }
    // Truncated: 100 bytes short.
    std::fs::write(bin.join("data_batch_3.bin"), vec![0u8; 10_000 * 3073 - 100]).unwrap();
    let out = dir.path().join("out");
    assert_one_clear_error(
        &[
            "--quiet",
            "--offline",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "architectures",
            "--arch",
            "mlp1",
        ],
        &["data_batch_3.bin", "30730000"],
    );
}

#[test]
fn bad_flag_values_and_backends() {
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().to_str().unwrap();
    assert_one_clear_error(&["--out", o, "architectures", "--epochs", "0"], &["--epochs"]);
    assert_one_clear_error(&["--out", o, "architectures", "--arch", "cnn9"], &["cnn9"]);
    assert_one_clear_error(&["--out", o, "architectures", "--optimizer", "rmsprop"], &["rmsprop"]);
    assert_one_clear_error(&["--out", o, "learning-rate", "--arch", "mlp1"], &["mlp1"]);
    assert_one_clear_error(&["--out", o, "activation-gradients", "--input-range", "100"], &["--input-range"]);
    assert_one_clear_error(&["--out", o, "bench", "--iters", "0"], &["--iters"]);
    assert_one_clear_error(&["--backend", "tpu", "--out", o, "activations"], &["invalid value 'tpu' for '--backend"]);
    if !cfg!(feature = "wgpu") {
        assert_one_clear_error(&["--backend", "wgpu", "--out", o, "activations"], &["--features wgpu"]);
    }
}

/// A full disk or a read-only mount in the middle of a study: the run fails with the path
/// it could not write, and the results already there are untouched.
#[test]
fn unwritable_output_keeps_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = out.to_str().unwrap();
    let xor = ["--quiet", "--backend", "ndarray", "--out", o, "xor", "--activation", "tanh", "--epochs", "20"];
    assert!(nnlab(&xor).status.success());
    let study = out.join("xor");
    let before = snapshot(&study);
    assert!(before.len() >= 4, "xor wrote {} files", before.len());
    if !deny_writes(&study) {
        allow_writes(&study);
        crate::common::skip(
            "SKIPPED unwritable_output_keeps_what_was_written: cannot make a directory unwritable here".into(),
        );
        return;
    }
    let mut forced = vec!["--force"];
    forced.extend(xor);
    let o2 = nnlab(&forced);
    let denied_root = deny_writes(&out);
    let o3 = nnlab(&["--quiet", "--backend", "ndarray", "--out", o, "activations"]);
    allow_writes(&out);
    allow_writes(&study);
    let err = String::from_utf8_lossy(&o2.stderr);
    assert!(!o2.status.success() && !err.contains("panicked"), "{err}");
    assert!(err.contains("not writable") && err.contains("xor"), "{err}");
    assert_eq!(snapshot(&study), before, "a failed write changed or removed existing results");
    if denied_root {
        let err = String::from_utf8_lossy(&o3.stderr);
        assert!(
            !o3.status.success()
                && err.contains("cannot create output directory")
                && err.contains("activations")
                && !err.contains("panicked"),
            "{err}"
        );
    }
}

/// Configurations that cannot work are refused before anything is trained or written: an
/// empty list of specs, switch steps out of order (both checked by the studies' `validate`).
#[test]
fn impossible_configurations_fail_before_any_work() {
    let out = tempfile::tempdir().unwrap();
    let o = out.path().join("out");
    let o = o.to_str().unwrap();
    assert_one_clear_error(&["--out", o, "architectures", "--arch", ";"], &["--arch", "at least one"]);
    assert_one_clear_error(&["--out", o, "learning-rate", "--switch-steps", "30,10"], &["--switch-steps", "[30, 10]"]);
    assert!(!out.path().join("out").exists(), "something was written for a refused configuration");
}
