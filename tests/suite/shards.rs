//! Runs split among processes (#18): `nnlab plan`, `--shard I/N` through the Slurm array
//! script of examples/cluster/ run locally, and `nnlab report` merging what the shards wrote
//! into the same results a single process writes.

use crate::cifar_studies::synthetic_cifar;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A synthetic CIFAR-10 in the official binary layout on which SGD at lr 0.1 trains (the
/// shared one of cifar_studies.rs is so regular that mlp2 diverges at 0.1, and the
/// learning-rate study then cannot detect a switch step): noise in 0..200 everywhere, plus
/// a band of brighter rows whose position gives the class. Made once.
pub(crate) fn noisy_cifar() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        crate::cifar_studies::cifar_files("noisy-cifar", |file, i| {
            let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ ((file as u64) << 32 | i as u64);
            (0..3072usize)
                .map(|p| {
                    state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                    let noise = ((state >> 33) % 200) as usize;
                    let band = (p / 32) % 32 / 3 == i % 10;
                    (noise + if band { 55 } else { 0 }).min(255) as u8
                })
                .collect()
        })
    })
}

pub(crate) fn nnlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nnlab")).args(args).env("NNLAB_DATA", "").output().unwrap()
}

pub(crate) fn ok(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "failed: {err}");
    err
}

/// `nnlab all` at small scale: the pipeline with both MLPs, no time estimate.
const ALL: [&str; 8] = ["--quick", "--arch", "mlp1,mlp2", "--lr-arch", "mlp2", "--backend", "ndarray", "--no-estimate"];

/// Every JSON file under `root` (shard records and `all.json`, which say who ran what and
/// when, left out), by relative path, with wall times removed.
pub(crate) fn results(root: &Path) -> BTreeMap<PathBuf, Value> {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.remove("seconds");
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if p.is_dir() {
                if name != "shards" {
                    stack.push(p);
                }
            } else if name.ends_with(".json") && name != "all.json" {
                let mut v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
                strip(&mut v);
                out.insert(p.strip_prefix(root).unwrap().to_path_buf(), v);
            }
        }
    }
    out
}

/// The jobs of `nnlab plan --json --shards <n> all ...`.
fn plan(shards: usize, args: &[&str]) -> Value {
    let n = shards.to_string();
    let mut a = vec!["plan", "--json", "--shards", &n];
    a.extend(args);
    let o = nnlab(&a);
    ok(&o);
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Three shards of `nnlab all`, each started by examples/cluster/slurm-array.sh as Slurm
/// would start an array task, at the same time into one directory; then `nnlab report`.
/// The merged results equal one process's, file for file and number for number (ndarray
/// is deterministic), and each run was trained by the one shard the plan gave it to.
#[test]
fn shards_merged_by_report_equal_one_process() {
    let data = noisy_cifar().to_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let (one, sharded) = (dir.path().join("one"), dir.path().join("sharded"));
    let mut single = vec!["--quiet", "--out", one.to_str().unwrap(), "all"];
    single.extend(ALL);
    single.extend(["--data-dir", &data, "--offline"]);
    ok(&nnlab(&single));

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cluster/slurm-array.sh");
    let running: Vec<_> = (0..3)
        .map(|i| {
            Command::new("bash")
                .arg(&script)
                .env("SLURM_ARRAY_TASK_ID", i.to_string())
                .env("SLURM_ARRAY_TASK_MIN", "0")
                .env("SLURM_ARRAY_TASK_MAX", "2")
                .env("NNLAB", env!("CARGO_BIN_EXE_nnlab"))
                .env("NNLAB_OUT", &sharded)
                .env("NNLAB_DATA_DIR", &data)
                .env("NNLAB_ARGS", ALL.join(" "))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("bash runs the Slurm array script")
        })
        .collect();
    for child in running {
        ok(&child.wait_with_output().unwrap());
    }
    assert!(!sharded.join("report.md").exists(), "a shard wrote the report");
    assert!(!sharded.join("architectures/summary.json").exists(), "a shard wrote a summary");
    ok(&nnlab(&["--quiet", "--out", sharded.to_str().unwrap(), "report"]));

    let (a, b) = (results(&one), results(&sharded));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "different result files");
    for (path, value) in &a {
        assert!(b[path] == *value, "{} differs between one process and three shards", path.display());
    }
    let md = std::fs::read_to_string(sharded.join("report.md")).unwrap();
    assert!(md.contains("Merged from 3 shard runs") && md.contains("## Findings"), "{md}");

    // Who trained what: the plan's shard, exactly once.
    let mut args = ALL.to_vec();
    args.retain(|a| *a != "--no-estimate");
    let planned = plan(3, &[&["all"], &args[..]].concat());
    let mut trained: BTreeMap<String, usize> = BTreeMap::new();
    for study in ["architectures", "activation-gradients", "activation-gradients-raw255", "learning-rate"] {
        for e in std::fs::read_dir(sharded.join(study).join("shards")).unwrap().flatten() {
            let record: Value = serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap();
            let shard = record["shard"]["index"].as_u64().unwrap() as usize;
            for id in record["work"]["trained"].as_array().unwrap() {
                let id = id.as_str().unwrap().to_string();
                assert!(trained.insert(id.clone(), shard).is_none(), "{id} trained by two shards");
            }
        }
    }
    let expected: BTreeMap<String, usize> = planned["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["reuses"].is_null() && j["cost"].as_f64().unwrap() > 0.0)
        .filter(|j| {
            ["architectures", "activation-gradients", "activation-gradients-raw255", "learning-rate"]
                .contains(&j["study"].as_str().unwrap())
        })
        .map(|j| (j["id"].as_str().unwrap().to_string(), j["shard"].as_u64().unwrap() as usize))
        .collect();
    assert_eq!(trained, expected, "runs trained by other shards than planned");
}

/// `nnlab report` merges whatever the directory holds: with one of two shards finished it
/// says which runs are missing and reports the rest; with both, everything.
#[test]
fn report_merges_a_partial_set_of_shards_and_names_what_is_missing() {
    let data = synthetic_cifar().to_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().to_str().unwrap();
    let shard = |i: &str| {
        ok(&nnlab(&[
            "--quiet",
            "--backend",
            "ndarray",
            "--data-dir",
            &data,
            "--out",
            o,
            "architectures",
            "--arch",
            "mlp1,mlp2",
            "--epochs",
            "1",
            "--max-train",
            "200",
            "--max-val",
            "50",
            "--max-test",
            "100",
            "--shard",
            i,
        ]))
    };
    shard("0/2");
    let partial = ok(&nnlab(&["--quiet", "--out", o, "report"]));
    let rows = || -> Vec<Value> {
        serde_json::from_slice(&std::fs::read(dir.path().join("architectures/summary.json")).unwrap()).unwrap()
    };
    assert!(partial.contains("warning:") && partial.contains("1 planned run is left out"), "{partial}");
    assert_eq!(rows().len(), 1, "one of the two nets finished");
    shard("1/2");
    let full = ok(&nnlab(&["--quiet", "--out", o, "report"]));
    assert!(!full.contains("warning:"), "{full}");
    let names: BTreeSet<String> = rows().iter().map(|r| r["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, BTreeSet::from(["mlp1".to_string(), "mlp2".to_string()]));
}

/// The plan of the full study: every run once, each schedule after the run its switch
/// step is detected on and in the same shard, Adam of the learning-rate study reused from
/// the architectures study, and a deal within the longest-processing-time rule's bound.
#[test]
fn plan_deals_every_run_once_keeping_dependent_runs_together() {
    let p = plan(4, &["all", "--seeds", "3"]);
    let jobs = p["jobs"].as_array().unwrap();
    let ids: BTreeSet<&str> = jobs.iter().map(|j| j["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), jobs.len(), "a run planned twice");
    // 1 + 3×3 XOR + 1 + 5×3 + 10×3 + 10×3 (inputs in [0, 255]) + 6×3 (Adam reused) = 104.
    assert_eq!(jobs.len(), 104);
    let by_id: BTreeMap<&str, &Value> = jobs.iter().map(|j| (j["id"].as_str().unwrap(), j)).collect();
    for seed in 0..3 {
        let two = by_id[format!("learning-rate/runs/cnn4_schedule_2_seed{seed}").as_str()];
        let three = by_id[format!("learning-rate/runs/cnn4_schedule_3_seed{seed}").as_str()];
        let fast = format!("learning-rate/runs/cnn4_lr0.1_seed{seed}");
        assert_eq!(two["needs"], serde_json::json!([fast]));
        assert_eq!(three["needs"][0], two["id"]);
        assert_eq!(two["shard"], by_id[fast.as_str()]["shard"]);
        assert_eq!(three["shard"], two["shard"]);
        let adam = by_id[format!("learning-rate/runs/cnn4_adam_seed{seed}").as_str()];
        assert_eq!(adam["reuses"], format!("architectures/cnn4_seed{seed}").as_str());
        assert!(adam["shard"].is_null());
    }
    for study in ["activations", "xor", "conv"] {
        let shards: BTreeSet<String> =
            jobs.iter().filter(|j| j["study"] == study).map(|j| j["shard"].to_string()).collect();
        assert_eq!(shards.len(), 1, "{study} runs as one piece");
    }
    // Loads: recomputed from the jobs, and within 4/3 of the lower bound on the best deal.
    let mut loads = [0.0f64; 4];
    let mut groups: BTreeMap<u64, f64> = BTreeMap::new();
    for j in jobs.iter().filter(|j| j["reuses"].is_null()) {
        let cost = j["cost"].as_f64().unwrap();
        loads[j["shard"].as_u64().unwrap() as usize] += cost;
        *groups.entry(j["group"].as_u64().unwrap()).or_default() += cost;
    }
    for (k, c) in p["shard_costs"].as_array().unwrap().iter().enumerate() {
        assert!((c.as_f64().unwrap() - loads[k]).abs() <= 1e-9 * loads[k], "shard {k}");
    }
    let total: f64 = loads.iter().sum();
    let best = (total / 4.0).max(groups.values().copied().fold(0.0, f64::max));
    let worst = loads.iter().copied().fold(0.0, f64::max);
    assert!(worst <= best * 4.0 / 3.0, "max load {worst} vs bound {best}");

    let text = nnlab(&["plan", "learning-rate"]);
    let text = String::from_utf8_lossy(&text.stdout).to_string();
    assert!(text.contains("cnn4_schedule_2_seed0") && text.contains("learning-rate/runs/cnn4_lr0.1_seed0"), "{text}");
}

#[test]
fn shard_flags_that_cannot_work_are_refused() {
    for (args, needle) in [
        (vec!["all", "--shard", "4/4"], "3/4"),
        (vec!["architectures", "--shard", "1"], "I/N"),
        (vec!["plan", "--shards", "0", "all"], "shards"),
    ] {
        let o = nnlab(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle) && !err.contains("panicked"), "{args:?}: {err}");
    }
    // A study that runs as one piece has no --shard of its own.
    let o = nnlab(&["xor", "--shard", "0/2"]);
    assert_eq!(o.status.code(), Some(2));
}
