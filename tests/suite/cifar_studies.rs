//! The CIFAR-10 studies end to end on a synthetic CIFAR-10 of official size (written by
//! the test): result files with the course's keys, figures, summary, resume, bad input;
//! the plateau rule on synthetic curves.

use nnlab::study::plateau::{PlateauRule, find_plateau};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// A synthetic CIFAR-10 in the official binary layout (6 × 10 000 records), made once.
pub(crate) fn synthetic_cifar() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // Class-dependent brightness plus noise: learnable, not trivial.
        cifar_files("synthetic-cifar", |file, i| {
            let label = i % 10;
            (0..3072usize).map(|p| ((label * 20 + (p * 7 + i * 13 + file) % 50) % 256) as u8).collect()
        })
    })
}

/// Writes a CIFAR-10 in the official binary layout under cargo's per-target scratch
/// directory (`<name>/cifar-10-batches-bin/`, kept for later runs): five training files and
/// the test file of 10 000 records each, image `i` of file `file` labelled `i % 10` with
/// the 3 072 bytes `pixels(file, i)`. Returns its root.
pub(crate) fn cifar_files(name: &str, pixels: impl Fn(usize, usize) -> Vec<u8>) -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let dir = root.join("cifar-10-batches-bin");
    if dir.join("test_batch.bin").is_file() {
        return root;
    }
    std::fs::create_dir_all(&dir).unwrap();
    let names = [
        "data_batch_1.bin",
        "data_batch_2.bin",
        "data_batch_3.bin",
        "data_batch_4.bin",
        "data_batch_5.bin",
        "test_batch.bin",
    ];
    for (file, name) in names.iter().enumerate() {
        let mut bytes = Vec::with_capacity(10_000 * 3073);
        for i in 0..10_000usize {
            bytes.push((i % 10) as u8);
            bytes.extend(pixels(file, i));
        }
        let tmp = dir.join(format!("{name}.{}.tmp", std::process::id()));
        std::fs::write(&tmp, bytes).unwrap();
        std::fs::rename(&tmp, dir.join(name)).unwrap();
    }
    root
}

fn nnlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nnlab")).args(args).env("NNLAB_DATA", "").output().unwrap()
}

const QUICK: [&str; 12] = [
    "--arch",
    "mlp1",
    "--epochs",
    "1",
    "--max-train",
    "200",
    "--max-val",
    "50",
    "--max-test",
    "100",
    "--record-every",
    "2",
];

/// A diverged run (SGD at lr 1 on this set: the loss and the weights become NaN) is written
/// with `null`s and read back: the next invocation reuses it instead of training it again.
#[test]
fn a_diverged_run_reads_back_and_is_reused() {
    let data = synthetic_cifar().to_str().unwrap().to_string();
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    let mut args = vec!["--quiet", "--backend", "ndarray", "--data-dir", &data, "--out", o];
    args.extend(
        "architectures --arch mlp2 --optimizer sgd --lr 1 --epochs 1 --max-train 500 --max-val 300 --max-test 100"
            .split_whitespace(),
    );
    let first = nnlab(&args);
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(first.status.success() && stdout.contains("DIVERGED"), "{stdout}");
    let path = out.path().join("architectures/mlp2_seed0.json");
    let run: nnlab::study::cifar_runs::CifarRun = nnlab::results::read_json(&path).expect("the run file reads back");
    assert!(run.diverged && run.test_acc.is_nan());
    assert!(run.weights.iter().flatten().flatten().flatten().any(|w| w.is_nan()), "expected NaN weights");
    let second = nnlab(&args);
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(stdout.contains("(reused)"), "the diverged run was trained again:\n{stdout}");
}

/// A run file that no longer reads (edited by hand) is named by `nnlab report`, not silently
/// dropped from the findings; configurations and summaries are not taken for runs.
#[test]
fn the_report_names_a_run_file_it_cannot_read() {
    let data = synthetic_cifar().to_str().unwrap().to_string();
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    let mut args = vec!["--quiet", "--backend", "ndarray", "--data-dir", &data, "--out", o, "architectures"];
    args.extend(QUICK);
    assert!(nnlab(&args).status.success());
    let report = || {
        let res = nnlab(&["--quiet", "--out", o, "report"]);
        assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
        String::from_utf8_lossy(&res.stderr).to_string()
    };
    assert!(!report().contains("could not be read"), "a clean directory has nothing unreadable");
    let path = out.path().join("architectures/mlp1_seed0.json");
    let mut run: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    run["steps"] = serde_json::json!("many");
    std::fs::write(&path, serde_json::to_vec(&run).unwrap()).unwrap();
    let stderr = report();
    assert!(stderr.contains("1 run file could not be read") && stderr.contains("mlp1_seed0.json"), "{stderr}");
}

/// A summary with no value for a statistic (no validation recorded, or every run diverged)
/// is written with nulls; the report must still read it (it used to leave the study out).
#[test]
fn a_study_without_validation_still_enters_the_report() {
    let data = synthetic_cifar().to_str().unwrap().to_string();
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    let mut args = vec!["--quiet", "--backend", "ndarray", "--data-dir", &data, "--out", o, "architectures"];
    args.extend(QUICK);
    args.push("--no-val");
    let res = nnlab(&args);
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let summary = std::fs::read_to_string(out.path().join("architectures/summary.json")).unwrap();
    assert!(summary.contains("null"), "no validation accuracy should be written as null:\n{summary}");
    let res = nnlab(&["--quiet", "--out", o, "report"]);
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(res.status.success() && !stderr.contains("leaves out"), "{stderr}");
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    let row = md.lines().find(|l| l.starts_with("| mlp1 |")).unwrap_or_else(|| panic!("no mlp1 row in:\n{md}"));
    assert!(row.contains("| — |"), "the missing validation accuracy should read —: {row}");
}

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
    for f in [
        "mlp1_seed0.json",
        "architectures.png",
        "architectures.svg",
        "weights_mlp1.png",
        "summary.md",
        "summary.json",
        "config.json",
    ] {
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
    assert!(
        (0.0..=1.0).contains(&test_acc) && (test_acc * 100.0).fract().abs() < 1e-9,
        "a fraction of 100 images: {test_acc}"
    );
    let w = &run["weights"];
    assert_eq!(
        (
            w.as_array().unwrap().len(),
            w[0].as_array().unwrap().len(),
            w[0][0].as_array().unwrap().len(),
            w[0][0][0].as_array().unwrap().len()
        ),
        (32, 3, 32, 32)
    );
    assert_eq!(run["params"], 98_666);
    // The result round-trips through the library's type without loss.
    let typed: nnlab::study::cifar_runs::CifarRun = serde_json::from_value(run.clone()).unwrap();
    let again: nnlab::study::cifar_runs::CifarRun =
        serde_json::from_str(&serde_json::to_string(&typed).unwrap()).unwrap();
    assert!(again == typed, "CifarRun changed in a JSON round trip");
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
    fails(&["--optimizer", "rmsprop"], "invalid value 'rmsprop' for '--optimizer");
    fails(&["--arch", "mlp1", "--epochs", "0"], "--epochs");
    fails(&["--arch", "mlp1", "--max-train", "0"], "--max-train");
    fails(&["--arch", "mlp1", "--lr", "-1"], "--lr");
    fails(&["--activation", "gelu"], "invalid value 'gelu' for '--activation");
    // Data problems.
    let missing = out.path().join("nowhere");
    let res =
        nnlab(&["--quiet", "--data-dir", missing.to_str().unwrap(), "--out", o, "architectures", "--arch", "mlp1"]);
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

#[test]
fn activation_gradients_writes_course_keys_and_handles_raw_inputs() {
    let data = synthetic_cifar().to_str().unwrap().to_string();
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    let args = [
        "--quiet",
        "--backend",
        "ndarray",
        "--data-dir",
        &data,
        "--out",
        o,
        "activation-gradients",
        "--arch",
        "mlp1",
        "--epochs",
        "1",
        "--max-train",
        "200",
        "--max-test",
        "50",
        "--record-every",
        "1",
    ];
    let res = nnlab(&args);
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let dir = out.path().join("activation-gradients");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("mlp1.json")).unwrap()).unwrap();
    assert_eq!(r["name"], "mlp1");
    for key in ["relu_loss_curve", "sigmoid_loss_curve", "relu_grad_curve", "sigmoid_grad_curve"] {
        let v = r[key].as_array().unwrap_or_else(|| panic!("{key} missing"));
        assert_eq!(v.len(), 4, "{key}: one record per step");
        assert!(v.iter().all(|x| x.as_f64().is_some_and(|x| x.is_finite() && x > 0.0)), "{key}: {v:?}");
    }
    assert!(dir.join("activation_gradients.png").exists());
    // Raw [0, 255] inputs at lr 0.01: reported (diverged or not) rather than a crash.
    let raw = [
        "--quiet",
        "--backend",
        "ndarray",
        "--data-dir",
        &data,
        "--out",
        o,
        "activation-gradients",
        "--arch",
        "mlp1",
        "--epochs",
        "1",
        "--max-train",
        "500",
        "--max-test",
        "50",
        "--record-every",
        "1",
        "--input-range",
        "255",
    ];
    let res = nnlab(&raw);
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    // In a directory of its own: the scaled study's results stay as they were, beside it.
    let raw_dir = out.path().join("activation-gradients-raw255");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(raw_dir.join("mlp1.json")).unwrap()).unwrap();
    assert_eq!(r["input_scale"], "raw255");
    assert!(r["relu_diverged"].is_boolean());
    assert!(raw_dir.join("activation_gradients.png").exists());
    let scaled: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("mlp1.json")).unwrap()).unwrap();
    assert_eq!(scaled["input_scale"], "normalized", "the [0, 255] runs replaced the scaled study's");
    let runs = |d: &std::path::Path| std::fs::read_dir(d.join("runs")).unwrap().count();
    assert_eq!((runs(&dir), runs(&raw_dir)), (2, 2), "one ReLU and one sigmoid run in each directory");
    // The report shows both, and the findings count the [0, 255] runs for claim 9.
    let report = nnlab(&["--quiet", "--out", o, "report"]);
    assert!(report.status.success(), "{}", String::from_utf8_lossy(&report.stderr));
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(md.contains("activation-gradients-raw255/activation_gradients.png"), "{md}");
    assert!(md.contains("activation-gradients/activation_gradients.png"), "{md}");
    let findings: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("findings.json")).unwrap()).unwrap();
    let claim9 = findings.as_array().unwrap().iter().find(|f| f["number"] == 9).expect("claim 9");
    assert!(claim9.to_string().contains("of the 2 runs with inputs in [0, 255]"), "{claim9}");
    let bad = nnlab(&["--quiet", "--data-dir", &data, "--out", o, "activation-gradients", "--input-range", "100"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--input-range"));
}

#[test]
fn learning_rate_schedules_switch_where_asked_and_compare_with_adam() {
    let data = synthetic_cifar().to_str().unwrap().to_string();
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    let args = [
        "--quiet",
        "--backend",
        "ndarray",
        "--data-dir",
        &data,
        "--out",
        o,
        "learning-rate",
        "--arch",
        "mlp2",
        "--epochs",
        "1",
        "--schedule-epochs",
        "2",
        "--max-train",
        "300",
        "--max-val",
        "50",
        "--max-test",
        "50",
        "--record-every",
        "1",
        "--switch-steps",
        "3,8",
    ];
    let res = nnlab(&args);
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let dir = out.path().join("learning-rate");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("mlp2.json")).unwrap()).unwrap();
    for key in
        ["loss_curve_1", "loss_curve_01", "loss_curve_001", "val_acc_curve_1", "val_acc_curve_01", "val_acc_curve_001"]
    {
        assert_eq!(r[key].as_array().map(Vec::len), Some(6), "{key}");
    }
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("schedule.json")).unwrap()).unwrap();
    let s = &s[0]; // one seed
    assert_eq!(s["switch_steps"], serde_json::json!([3, 8]));
    // The three-stage run's recorded learning rate switches at exactly those steps.
    let run: nnlab::study::cifar_runs::CifarRun =
        serde_json::from_slice(&std::fs::read(dir.join("runs/mlp2_schedule_3_seed0.json")).unwrap()).unwrap();
    let lr = &run.outcome_curves.lr;
    assert_eq!(lr.len(), 12);
    assert!(
        lr[..3].iter().all(|&l| l == 0.1) && lr[3..8].iter().all(|&l| l == 0.01) && lr[8..].iter().all(|&l| l == 0.001),
        "{lr:?}"
    );
    assert!(s["adam_test_acc"].as_f64().is_some());
    assert!(dir.join("learning_rates.png").exists() && dir.join("schedule.png").exists());
    let bad = nnlab(&["--quiet", "--data-dir", &data, "--out", o, "learning-rate", "--arch", "mlp1"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("any network but mlp1"));
}

/// On this synthetic set mlp2 diverges at lr 0.1 after 21 steps: no switch step can be
/// detected on that curve, and the error says so (it used to report a second switch step
/// "found before the first").
#[test]
fn a_diverged_rate_is_named_instead_of_detecting_a_switch_on_it() {
    let data = synthetic_cifar().to_str().unwrap().to_string();
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    let res = nnlab(&[
        "--quiet",
        "--backend",
        "ndarray",
        "--data-dir",
        &data,
        "--out",
        o,
        "learning-rate",
        "--arch",
        "mlp2",
        "--epochs",
        "1",
        "--schedule-epochs",
        "2",
        "--max-train",
        "2000",
        "--max-val",
        "100",
        "--max-test",
        "100",
    ]);
    let err = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(2), "{err}");
    assert!(err.contains("mlp2 relu lr 0.1 seed 0 diverged") && err.contains("--switch-steps"), "{err}");
    assert!(!err.contains("before the first") && !err.contains("panicked"), "{err}");
}

#[test]
fn plateau_rule_finds_the_knee_and_reports_no_plateau() {
    let rule = PlateauRule { window: 3, patience: 10, min_delta: 0.002 };
    // Rising to step 500 (record 50), flat afterwards.
    let steps: Vec<usize> = (0..150).map(|i| i * 10).collect();
    let acc: Vec<f64> =
        (0..150).map(|i| if i < 50 { 0.2 + 0.01 * i as f64 } else { 0.69 + 0.0005 * ((i % 3) as f64) }).collect();
    let p = find_plateau(&steps, &acc, &rule);
    let knee = p.step.expect("a plateau");
    assert!((480..=530).contains(&knee), "knee at {knee}: {}", p.reason);
    // Monotone rising: none found, and the reason says so.
    let rising: Vec<f64> = (0..150).map(|i| 0.1 + 0.004 * i as f64).collect();
    let p = find_plateau(&steps, &rising, &rule);
    assert_eq!(p.step, None);
    assert!(p.reason.starts_with("no plateau"), "{}", p.reason);
}

#[test]
fn a_killed_study_loses_no_finished_run_and_resumes() {
    let data = synthetic_cifar().to_str().unwrap().to_string();
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    // Any backend does; flex where built in: cnn3 trains in 1/50 of ndarray's time, so
    // more images keep each run long enough (about half a second) to be killed after one.
    let (backend, images) = if cfg!(feature = "flex") { ("flex", "1000") } else { ("ndarray", "150") };
    let args = [
        "--quiet",
        "--backend",
        backend,
        "--data-dir",
        &data,
        "--out",
        o,
        "architectures",
        "--arch",
        "cnn3",
        "--seeds",
        "3",
        "--epochs",
        "1",
        "--max-train",
        images,
        "--max-val",
        "50",
        "--max-test",
        "50",
    ];
    let dir = out.path().join("architectures");
    let mut child = Command::new(env!("CARGO_BIN_EXE_nnlab")).args(args).env("NNLAB_DATA", "").spawn().unwrap();
    // Kill it (SIGKILL, no chance to clean up) as soon as the first run's result exists.
    let first = dir.join("cnn3_seed0.json");
    let started = std::time::Instant::now();
    while !first.exists() && started.elapsed().as_secs() < 300 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(first.exists(), "no run finished within 300 s");
    let finished_before_kill =
        ["cnn3_seed0.json", "cnn3_seed1.json", "cnn3_seed2.json"].iter().filter(|f| dir.join(f).exists()).count();
    assert!(finished_before_kill < 3, "the study finished before it could be interrupted; make it longer");
    // Every file present is complete JSON (atomic writes: no half-written result).
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_slice::<serde_json::Value>(&std::fs::read(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
    let kept = std::fs::metadata(&first).unwrap().modified().unwrap();
    let res = nnlab(&args);
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    assert_eq!(std::fs::metadata(&first).unwrap().modified().unwrap(), kept, "the finished run was recomputed");
    for f in ["cnn3_seed1.json", "cnn3_seed2.json", "summary.md"] {
        assert!(dir.join(f).exists(), "{f} missing after resume");
    }
}

/// A run killed part-way goes on from its last epoch checkpoint when the command is run
/// again (saying so), and ends with the result of a run that was never interrupted: the same
/// curves, test accuracy and first-layer weights. The checkpoint is gone once the result is
/// written.
#[test]
fn a_run_killed_part_way_goes_on_from_its_last_epoch() {
    let data = synthetic_cifar().to_str().unwrap().to_string();
    let (killed, whole) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let args = |out: &Path| -> Vec<String> {
        let study = [
            "architectures",
            "--arch",
            "mlp1",
            "--epochs",
            "4",
            "--max-train",
            "3000",
            "--max-val",
            "50",
            "--max-test",
            "50",
            "--record-every",
            "2",
        ];
        let mut a: Vec<String> = ["--backend", "ndarray", "--data-dir", &data, "--out"].map(String::from).to_vec();
        a.push(out.to_str().unwrap().into());
        a.extend(study.map(String::from));
        a
    };
    let dir = killed.path().join("architectures");
    let (state, result) = (dir.join("checkpoints/mlp1_seed0/state.json"), dir.join("mlp1_seed0.json"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_nnlab"))
        .args(args(killed.path()))
        .env("NNLAB_DATA", "")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !state.exists() && started.elapsed().as_secs() < 300 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(state.exists(), "no epoch checkpoint within 300 s");
    assert!(!result.exists(), "the run finished before it could be killed; make it longer");

    let again =
        Command::new(env!("CARGO_BIN_EXE_nnlab")).args(args(killed.path())).env("NNLAB_DATA", "").output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&again.stdout), String::from_utf8_lossy(&again.stderr));
    assert!(again.status.success(), "{said}");
    assert!(said.contains("going on from its checkpoint after epoch"), "no word of the checkpoint:\n{said}");
    assert!(!dir.join("checkpoints").exists(), "the checkpoint outlived the result");
    let uninterrupted = nnlab(&args(whole.path()).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(uninterrupted.status.success(), "{}", String::from_utf8_lossy(&uninterrupted.stderr));
    let read = |path: PathBuf| serde_json::from_slice::<serde_json::Value>(&std::fs::read(path).unwrap()).unwrap();
    let (resumed, reference) = (read(result), read(whole.path().join("architectures/mlp1_seed0.json")));
    for field in ["loss_curve", "train_acc_curve", "val_acc_curve", "test_acc", "weights", "steps"] {
        assert_eq!(resumed[field], reference[field], "{field} differs from the uninterrupted run's");
    }
}

/// A custom spec's first-layer weight figure is written under its file stem and linked
/// from the report under the same name.
#[test]
fn report_shows_the_weight_figure_of_a_custom_spec() {
    let data = synthetic_cifar().to_str().unwrap().to_string();
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    let spec = "conv3x3x4,relu,maxpool2,fc8,relu";
    let mut args = vec!["--quiet", "--backend", "ndarray", "--data-dir", &data, "--out", o, "architectures"];
    args.extend(QUICK);
    let at = args.iter().position(|a| *a == "mlp1").unwrap();
    args[at] = spec;
    let res = nnlab(&args);
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let report = nnlab(&["--quiet", "--out", o, "report"]);
    assert!(report.status.success(), "{}", String::from_utf8_lossy(&report.stderr));
    let stem = spec.replace(',', "_");
    let figure = format!("architectures/weights_{stem}.png");
    assert!(out.path().join(&figure).exists(), "{figure} not written");
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(md.contains(&format!("]({figure})")), "report.md does not show {figure}:\n{md}");
}

/// `nnlab all`'s overall progress counts planned work: it only grows, ends at the planned
/// total, and visits the studies in order; a second invocation reuses every finished run
/// and takes them off the total instead of counting them as done.
#[test]
fn all_reports_overall_progress_in_planned_work() {
    use nnlab::progress::{Observer, SharedObserver};
    use nnlab::study::{StudyContext, all::AllConfig};
    use std::sync::{Arc, Mutex};

    #[derive(Default)]
    struct Seen {
        overall: Mutex<Vec<(f64, f64, String)>>,
        reused: Mutex<usize>,
    }
    impl Observer for Seen {
        fn overall(&self, done: f64, total: f64, message: &str) {
            self.overall.lock().unwrap().push((done, total, message.to_string()));
        }
        fn reused(&self, _label: &str, _cost: f64, _summary: &str) {
            *self.reused.lock().unwrap() += 1;
        }
    }

    let data = synthetic_cifar().to_path_buf();
    let out = tempfile::tempdir().unwrap();
    let mut config = AllConfig::quick();
    let s = &mut config.studies;
    s.xor.run.epochs = 200;
    s.architectures.archs = nnlab::model::parse_arch_list("mlp1").unwrap();
    s.gradients.archs = s.architectures.archs.clone();
    s.raw_input_gradients.0.archs = s.architectures.archs.clone();
    s.learning_rate.arch = nnlab::model::ArchSpec::parse("mlp2").unwrap();
    let raw = &mut s.raw_input_gradients.0.data;
    for split in [&mut s.architectures.data, &mut s.gradients.data, raw, &mut s.learning_rate.data] {
        (split.max_train, split.max_val, split.max_test) = (Some(200), Some(50), Some(100));
    }
    let planned: f64 = config.plan().iter().flat_map(|(_, runs)| runs.iter().map(|r| r.cost())).sum();
    let runs: usize = config.plan().iter().map(|(_, runs)| runs.len()).sum();

    let seen = Arc::new(Seen::default());
    let mut ctx = StudyContext::new(out.path(), nnlab::BackendKind::Ndarray);
    ctx.data_source.data_dir = Some(data);
    ctx.observer = SharedObserver(seen.clone());
    nnlab::study::all::run(&ctx, &config).unwrap();
    let events = seen.overall.lock().unwrap().clone();
    assert!(!events.is_empty());
    let mut last = 0.0;
    for (done, total, _) in &events {
        assert!(*done >= last - 1e-6 && *done <= *total + 1e-6, "progress went back or past the total: {events:?}");
        assert!((total - planned).abs() < 1e-6 * planned, "total {total} is not the planned cost {planned}");
        last = *done;
    }
    assert!((last - planned).abs() < 1e-6 * planned, "ended at {last} of {planned}");
    let order: Vec<&str> = nnlab::study::Studies::names();
    let mut at = 0;
    for (_, _, message) in &events {
        let k = order.iter().position(|n| message.contains(&format!(": {n}"))).expect("a study in the message");
        assert!(k >= at, "studies out of order: {message}");
        at = k;
    }
    assert_eq!(at, order.len() - 1);

    // Again: every run is reused (Adam of the learning-rate study already was), none counted as work.
    let seen = Arc::new(Seen::default());
    ctx.observer = SharedObserver(seen.clone());
    nnlab::study::all::run(&ctx, &config).unwrap();
    assert_eq!(*seen.reused.lock().unwrap(), runs - 2, "activations and conv rerun; everything else is reused");
    let events = seen.overall.lock().unwrap().clone();
    let (done, total, _) = events.last().unwrap();
    assert!(*total < 0.01 * planned && (done - total).abs() < 1e-6 * planned.max(1.0), "{events:?}");
}
