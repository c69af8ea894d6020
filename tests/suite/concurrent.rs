//! Runs on concurrent threads (`--jobs N`, #14): the same runs trained side by side give
//! the results of the same runs trained one after the other, and a seed's run does not
//! depend on which other seeds ran with it; on flex a seed trains to the same bits twice,
//! however its threads shared the work.

use crate::shards::{nnlab, noisy_cifar, ok, results};
use serde_json::Value;
use std::path::Path;

/// `nnlab --quiet --out <out> <args> --data-dir <noisy synthetic CIFAR-10> --offline`.
fn run(out: &Path, args: &[&str]) -> String {
    let data = noisy_cifar().to_str().unwrap().to_string();
    let mut a = vec!["--quiet", "--out", out.to_str().unwrap()];
    a.extend(args);
    a.extend(["--data-dir", &data, "--offline"]);
    ok(&nnlab(&a))
}

/// Every number of `a` within `tol` (absolute, plus `tol` relative) of `b`'s, everything
/// else equal; the first difference, by path.
fn close(a: &Value, b: &Value, tol: f64, path: &str) -> Result<(), String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            if (x - y).abs() <= tol * (1.0 + x.abs()) { Ok(()) } else { Err(format!("{path}: {x} vs {y}")) }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().try_for_each(|(i, (p, q))| close(p, q, tol, &format!("{path}/{i}")))
        }
        (Value::Object(x), Value::Object(y)) if x.len() == y.len() => x.iter().try_for_each(|(k, v)| match y.get(k) {
            Some(w) => close(v, w, tol, &format!("{path}/{k}")),
            None => Err(format!("{path}/{k}: missing")),
        }),
        _ if a == b => Ok(()),
        _ => Err(format!("{path}: {a} vs {b}")),
    }
}

/// `nnlab <args> --jobs 1` and `--jobs <jobs>` into two directories of a temporary one:
/// the same files, every number within `tol` ([`close`]); returns how many files.
fn same_with_jobs(args: &[&str], jobs: &str, tol: f64) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let (one, many) = (dir.path().join("one"), dir.path().join("many"));
    run(&one, &[args, &["--jobs", "1"]].concat());
    run(&many, &[args, &["--jobs", jobs]].concat());
    let (a, b) = (results(&one), results(&many));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "different files");
    for (path, value) in &a {
        close(value, &b[path], tol, &path.display().to_string()).unwrap();
    }
    a.len()
}

/// `nnlab all` (both MLPs, the learning-rate study on mlp2) with `--jobs 3` and with
/// `--jobs 1`: the same files, every number the same (ndarray is deterministic), no shard
/// records, and the summaries and report written as by one worker.
#[test]
fn concurrent_runs_equal_runs_one_after_the_other_on_ndarray() {
    let dir = tempfile::tempdir().unwrap();
    let (one, three) = (dir.path().join("one"), dir.path().join("three"));
    let all = ["--backend", "ndarray", "all", "--quick", "--arch", "mlp1,mlp2", "--lr-arch", "mlp2", "--no-estimate"];
    run(&one, &[&all[..], &["--jobs", "1"]].concat());
    run(&three, &[&all[..], &["--jobs", "3"]].concat());
    let (a, b) = (results(&one), results(&three));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "different files");
    for (path, value) in &a {
        assert!(value == &b[path], "{} differs between --jobs 1 and --jobs 3", path.display());
    }
    for study in ["architectures", "activation-gradients", "activation-gradients-raw255", "learning-rate"] {
        assert!(!three.join(study).join("shards").exists(), "{study}: workers wrote shard records");
        assert!(three.join(study).join("config.json").is_file(), "{study}: not finished");
        assert!(!three.join(study).join(".nnlab-lock").exists(), "{study}: lock left behind");
    }
    let header = std::fs::read_to_string(three.join("report.md")).unwrap();
    assert!(header.contains("3 runs at a time"), "{header}");
}

/// The same on flex, with a CNN among the runs (nnlab's own conv kernels on concurrent
/// threads). Flex's parallel reductions do not add in a fixed order, so two sequential
/// flex runs already differ in the last digits: results are compared as such two runs
/// are, within 1 % (and the files and curve lengths exactly).
#[cfg(feature = "flex")]
#[test]
fn concurrent_runs_equal_runs_one_after_the_other_on_flex() {
    let arch = [
        "--backend",
        "flex",
        "architectures",
        "--arch",
        "mlp1,mlp2,cnn3",
        "--seeds",
        "2",
        "--epochs",
        "1",
        "--max-train",
        "500",
        "--max-val",
        "200",
        "--max-test",
        "200",
    ];
    assert_eq!(same_with_jobs(&arch, "3", 0.01), 2 * 3 + 2, "six runs, the summary and config.json");
}

/// On wgpu (lavapipe in CI), kept tiny: two seeds of mlp1 on two threads equal them one
/// after the other.
#[cfg(feature = "wgpu")]
#[test]
fn concurrent_runs_equal_runs_one_after_the_other_on_wgpu() {
    crate::common::on_wgpu("concurrent_runs_equal_runs_one_after_the_other", |_| {
        let arch = [
            "--backend",
            "wgpu",
            "architectures",
            "--arch",
            "mlp1",
            "--seeds",
            "2",
            "--epochs",
            "1",
            "--max-train",
            "200",
            "--max-val",
            "100",
            "--max-test",
            "100",
        ];
        assert_eq!(same_with_jobs(&arch, "2", 1e-4), 2 + 2, "two runs, the summary and config.json");
    });
}

/// A seed's run does not depend on what ran beside it: the seed-2 cnn4 run of
/// `architectures --arch cnn4 --seeds 3 --jobs 3` (three cnn4 seeds side by side) is the
/// seed-2 cnn4 run of `architectures --arch mlp1,cnn4 --seeds 3 --jobs 1` (six runs, one
/// after the other): test accuracy within 0.01, the same curve lengths and configuration,
/// the recorded losses and the trained first-layer weights within 1e-4. On each CPU
/// backend; on ndarray with one step a run instead of six (Burn's ndarray backward of a
/// convolution takes seconds a step: the test took six minutes). (`--seed 2` alone would be
/// another run: `--seed` also draws the validation split, which `--seeds` keeps.)
#[test]
fn a_seed_trains_the_same_whatever_ran_beside_it() {
    let mut backends = vec![("ndarray", ["50", "50", "100"])];
    if cfg!(feature = "flex") {
        backends.push(("flex", ["300", "100", "200"]));
    }
    for (backend, [train, val, test]) in backends {
        let small = ["--seeds", "3", "--epochs", "1", "--max-train", train, "--max-val", val, "--max-test", test];
        let dir = tempfile::tempdir().unwrap();
        let (side, alone) = (dir.path().join("side"), dir.path().join("alone"));
        let b = ["--backend", backend, "architectures"];
        run(&side, &[&b[..], &["--arch", "cnn4", "--jobs", "3"], &small].concat());
        run(&alone, &[&b[..], &["--arch", "mlp1,cnn4", "--jobs", "1"], &small].concat());
        let read = |root: &Path| -> Value {
            serde_json::from_slice(&std::fs::read(root.join("architectures/cnn4_seed2.json")).unwrap()).unwrap()
        };
        let (among, single) = (read(&side), read(&alone));
        assert_eq!(among["key"], single["key"], "{backend}: the runs' configurations differ");
        let acc = |v: &Value| v["test_acc"].as_f64().unwrap();
        assert!((acc(&among) - acc(&single)).abs() <= 0.01, "{backend}: {} vs {}", acc(&among), acc(&single));
        for curve in ["loss_curve", "train_acc_curve", "val_acc_curve"] {
            let len = |v: &Value| v[curve].as_array().unwrap().len();
            assert!(len(&among) > 0 && len(&among) == len(&single), "{backend}: {curve} lengths differ");
        }
        // Near ln 10 after a step or six whatever the seed; the trained first-layer weights
        // tell seeds apart (they start at ±0.2 from the seed's draws).
        for numbers in ["loss_curve", "weights"] {
            close(&among[numbers], &single[numbers], 1e-4, numbers).unwrap();
        }
    }
}

/// A seed trains to the same bits twice on flex, where each step spreads the conv weight
/// gradient over the rayon pool: the threads' sums are added in a fixed order. (rayon's
/// `fold` + `reduce` added them in the order the threads ran: three runs of the same build,
/// 12 steps of cnn4 each, ended with three different sets of weights.)
#[cfg(feature = "flex")]
#[test]
fn a_seed_trains_to_the_same_bits_twice_on_flex() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--backend", "flex", "architectures", "--arch", "cnn4", "--epochs", "1"];
    let small = ["--max-train", "600", "--max-val", "100", "--max-test", "100"];
    let runs: Vec<Value> = ["first", "second"]
        .iter()
        .map(|name| {
            let out = dir.path().join(name);
            run(&out, &[&args[..], &small].concat());
            serde_json::from_slice(&std::fs::read(out.join("architectures/cnn4_seed0.json")).unwrap()).unwrap()
        })
        .collect();
    for field in ["loss_curve", "weights", "val_acc_curve", "test_acc"] {
        assert!(runs[0][field].is_array() || runs[0][field].is_number(), "{field} recorded");
        assert_eq!(runs[0][field], runs[1][field], "{field} differs between two runs of one seed");
    }
}

/// `--jobs 0` is refused before any work, naming the flag.
#[test]
fn zero_jobs_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let o = nnlab(&["--out", dir.path().to_str().unwrap(), "architectures", "--jobs", "0"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--jobs") && err.contains("1 or more"), "{err}");
    assert!(!dir.path().join("architectures").exists());
}
