//! Trained nets kept and reused through the binary: `--save-models`, `nnlab eval` (the same
//! test accuracy the run recorded), `nnlab predict`, and one clear error for each bad model
//! directory or image.

use crate::cifar_studies::synthetic_cifar;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn nnlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nnlab")).args(args).env("NNLAB_DATA", "").output().expect("run nnlab")
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn one_error(o: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && !err.contains("panicked"), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    for n in needles {
        assert!(lines[0].contains(n), "expected '{n}' in {}", lines[0]);
    }
}

/// Trains mlp1 briefly with --save-models into `out` (or reuses it); returns the command's
/// stdout.
fn train(out: &Path) -> String {
    let data = synthetic_cifar().to_str().unwrap().to_string();
    let o = out.to_str().unwrap();
    let quick = ["--epochs", "1", "--max-train", "500", "--max-val", "100", "--record-every", "5"];
    let args = [&["--quiet", "--out", o, "architectures", "--backend", "ndarray", "--data-dir", &data], &quick[..]];
    ok(&nnlab(&[&args.concat()[..], &["--arch", "mlp1", "--save-models"]].concat()))
}

/// [`train`]; returns the model directory.
fn trained(out: &Path) -> PathBuf {
    train(out);
    out.join("architectures/models/mlp1_seed0")
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn a_saved_net_evaluates_to_its_recorded_accuracy_and_predicts() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    assert!(model.join("model.mpk").is_file() && model.join("model.json").is_file());
    let meta = json(&model.join("model.json"));
    assert_eq!(meta["spec"]["name"], "mlp1");
    let data = synthetic_cifar().to_str().unwrap().to_string();
    let o = dir.path().to_str().unwrap();
    let m = model.to_str().unwrap();
    // Loaded on another backend, evaluated on the same (full) test set: the same accuracy.
    let stdout = ok(&nnlab(&["--quiet", "--out", o, "eval", "--backend", "flex", "--data-dir", &data, "--model", m]));
    assert!(stdout.contains("| airplane |"), "{stdout}");
    let eval = json(&dir.path().join("eval/mlp1_seed0/evaluation.json"));
    let run = json(&dir.path().join("architectures/mlp1_seed0.json"));
    let (a, b) = (eval["accuracy"].as_f64().unwrap(), run["test_acc"].as_f64().unwrap());
    assert!((a - b).abs() < 1e-9, "eval {a} vs recorded {b}");
    let confusion: u64 = eval["confusion"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(confusion, 10_000);
    assert!(dir.path().join("eval/mlp1_seed0/confusion.png").is_file());

    // A 40×30 image (resized) and a 32×32 one.
    let big = dir.path().join("big.png");
    image::RgbImage::from_fn(40, 30, |x, y| image::Rgb([(x * 6) as u8, (y * 8) as u8, 90])).save(&big).unwrap();
    let small = dir.path().join("small.png");
    image::RgbImage::from_pixel(32, 32, image::Rgb([20, 200, 40])).save(&small).unwrap();
    let stdout =
        ok(&nnlab(&["--quiet", "--out", o, "predict", "--model", m, big.to_str().unwrap(), small.to_str().unwrap()]));
    assert!(stdout.contains("big.png: ") && stdout.contains("small.png: "), "{stdout}");
    let predictions = json(&dir.path().join("predict/predictions.json"));
    for p in predictions.as_array().unwrap() {
        let probs: Vec<f64> = p["top"].as_array().unwrap().iter().map(|t| t[1].as_f64().unwrap()).collect();
        assert_eq!(probs.len(), 3);
        assert!(probs.windows(2).all(|w| w[0] >= w[1]) && probs.iter().sum::<f64>() <= 1.0 + 1e-6, "{probs:?}");
    }
    // Asked again, the run is reused with its saved net.
    assert!(train(dir.path()).contains("(reused)"));
}

#[test]
fn bad_model_directories_and_images_are_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let o = dir.path().join("out");
    let o = o.to_str().unwrap();
    let predict = |m: &Path, image: &Path| {
        nnlab(&["--quiet", "--out", o, "predict", "--model", m.to_str().unwrap(), image.to_str().unwrap()])
    };
    let png = dir.path().join("ok.png");
    image::RgbImage::from_pixel(32, 32, image::Rgb([1, 2, 3])).save(&png).unwrap();

    one_error(&predict(&dir.path().join("nowhere"), &png), &["nowhere", "no such directory"]);
    let text = dir.path().join("notes.png");
    std::fs::write(&text, "not an image").unwrap();
    one_error(&predict(&model, &text), &["notes.png", "not an image"]);

    let copy = |name: &str| {
        let d = dir.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        for f in ["model.mpk", "model.json"] {
            std::fs::copy(model.join(f), d.join(f)).unwrap();
        }
        d
    };
    let corrupt = copy("corrupt");
    std::fs::write(corrupt.join("model.mpk"), b"\x93garbage").unwrap();
    one_error(&predict(&corrupt, &png), &["corrupt", "model.mpk"]);

    let mismatch = copy("mismatch");
    let mut meta = json(&mismatch.join("model.json"));
    meta["spec"] = serde_json::to_value(nnlab::model::ArchSpec::parse("mlp2").unwrap()).unwrap();
    std::fs::write(mismatch.join("model.json"), serde_json::to_vec(&meta).unwrap()).unwrap();
    one_error(&predict(&mismatch, &png), &["mismatch", "model.mpk"]);

    let newer = copy("newer");
    let mut meta = json(&newer.join("model.json"));
    meta["format"] = 99.into();
    std::fs::write(newer.join("model.json"), serde_json::to_vec(&meta).unwrap()).unwrap();
    one_error(&predict(&newer, &png), &["newer", "format 99", "update nnlab"]);

    let missing = copy("missing");
    std::fs::remove_file(missing.join("model.json")).unwrap();
    one_error(&predict(&missing, &png), &["missing", "model.json"]);
}
