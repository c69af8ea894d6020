//! `nnlab architectures` end to end on a synthetic CIFAR-10 of official size (written by
//! the test): result files with the course's keys, figures, summary, resume, bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// A synthetic CIFAR-10 in the official binary layout (6 × 10 000 records), made once.
fn synthetic_cifar() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("nnlab-synthetic-cifar-{}", std::process::id()));
        let dir = root.join("cifar-10-batches-bin");
        std::fs::create_dir_all(&dir).unwrap();
        for (k, name) in ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"].iter().enumerate() {
            let mut bytes = Vec::with_capacity(10_000 * 3073);
            for i in 0..10_000usize {
                let label = (i % 10) as u8;
                bytes.push(label);
                // Class-dependent brightness plus noise: learnable, not trivial.
                bytes.extend((0..3072usize).map(|p| ((label as usize * 20 + (p * 7 + i * 13 + k) % 50) % 256) as u8));
            }
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        root
    })
}

fn nnlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nnlab")).args(args).env("NNLAB_DATA", "").output().unwrap()
}

const QUICK: [&str; 12] = ["--arch", "mlp1", "--epochs", "1", "--max-train", "200", "--max-val", "50", "--max-test", "100", "--record-every", "2"];

#[test]
fn architectures_writes_course_keys_figures_and_resumes() {
    let data = synthetic_cifar().to_str().unwrap().to_string();
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    let mut args = vec!["--quiet", "--backend", "ndarray", "--data-dir", &data, "--out", o, "architectures"];
    args.extend(QUICK);
    let res = nnlab(&args);
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let dir = out.path().join("architectures");
    for f in ["mlp1_seed0.json", "architectures.png", "architectures.svg", "weights_mlp1.png", "summary.md", "summary.json", "config.json"] {
        assert!(dir.join(f).exists(), "{f} missing");
    }
    let run: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("mlp1_seed0.json")).unwrap()).unwrap();
    // 200 images, batch 50: 4 steps, recorded at steps 0 and 2, and the last step (3).
    assert_eq!(run["name"], "mlp1");
    assert_eq!(run["steps"], 4);
    for key in ["loss_curve", "train_acc_curve", "val_acc_curve"] {
        assert_eq!(run[key].as_array().unwrap().len(), 3, "{key}");
    }
    let test_acc = run["test_acc"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&test_acc) && (test_acc * 100.0).fract().abs() < 1e-9, "a fraction of 100 images: {test_acc}");
    let w = &run["weights"];
    assert_eq!((w.as_array().unwrap().len(), w[0].as_array().unwrap().len(), w[0][0].as_array().unwrap().len(), w[0][0][0].as_array().unwrap().len()), (32, 3, 32, 32));
    assert_eq!(run["params"], 98_666);
    // The result round-trips through the library's type without loss.
    let typed: nnlab::study::architectures::ArchRun = serde_json::from_value(run.clone()).unwrap();
    assert_eq!(serde_json::to_value(&typed).unwrap(), run);
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(summary.contains("| mlp1 | 98666 |"), "{summary}");

    // Same config again: reused, not retrained. --force retrains.
    let modified = || std::fs::metadata(dir.join("mlp1_seed0.json")).unwrap().modified().unwrap();
    let before = modified();
    assert!(nnlab(&args).status.success());
    assert_eq!(modified(), before, "finished run was recomputed");
    let mut forced = args.clone();
    forced.insert(0, "--force");
    assert!(nnlab(&forced).status.success());
    assert_ne!(modified(), before, "--force did not recompute");
}

#[test]
fn bad_architecture_input_is_one_clear_message() {
    let data = synthetic_cifar().to_str().unwrap().to_string();
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    let fails = |extra: &[&str], needle: &str| {
        let mut args = vec!["--quiet", "--data-dir", &data, "--out", o, "architectures"];
        args.extend(extra);
        let res = nnlab(&args);
        let err = String::from_utf8_lossy(&res.stderr).into_owned();
        assert!(!res.status.success() && !err.contains("panicked") && err.contains(needle), "{extra:?}: {err}");
    };
    fails(&["--arch", "cnn9"], "unknown architecture");
    fails(&["--arch", "conv3x3x16,relu,conv40x40x8"], "layer 3 (Conv-40×40×8)");
    fails(&["--optimizer", "rmsprop"], "unknown optimiser 'rmsprop'");
    fails(&["--arch", "mlp1", "--epochs", "0"], "--epochs");
    fails(&["--arch", "mlp1", "--max-train", "0"], "--max-train");
    fails(&["--arch", "mlp1", "--lr", "-1"], "--lr");
    fails(&["--activation", "gelu"], "unknown activation 'gelu'");
    // Data problems.
    let missing = out.path().join("nowhere");
    let res = nnlab(&["--quiet", "--data-dir", missing.to_str().unwrap(), "--out", o, "architectures", "--arch", "mlp1"]);
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(!res.status.success() && err.contains("no CIFAR-10 there"), "{err}");
    let cache = tempfile::tempdir().unwrap();
    let res = Command::new(env!("CARGO_BIN_EXE_nnlab"))
        .args(["--quiet", "--offline", "--out", o, "architectures", "--arch", "mlp1"])
        .env("NNLAB_DATA", "")
        .env("XDG_CACHE_HOME", cache.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(!res.status.success() && err.contains("searched") && err.contains("--data-dir"), "{err}");
}
