//! The report's findings: the t-interval against published quantiles, and verdicts computed
//! from run files whose numbers were chosen by hand (a template run trained once, copied
//! with other names, seeds and accuracies).

use crate::cifar_studies::synthetic_cifar;
use nnlab::study::findings::{Estimate, Verdict, findings};
use nnlab::study::{AnyStudy, Study, StudyContext};
use std::path::Path;

#[test]
fn t_interval_matches_published_quantiles() {
    // t(0.975, 2) = 4.302653 and t(0.975, 9) = 2.262157 (scipy.stats.t.ppf).
    let e = Estimate::of(&[1.0, 2.0, 3.0]);
    assert!((e.mean - 2.0).abs() < 1e-12);
    let half = 4.302653 / 3f64.sqrt();
    assert!((e.lo - (2.0 - half)).abs() < 1e-5 && (e.hi - (2.0 + half)).abs() < 1e-5, "{e:?}");
    let ten: Vec<f64> = (0..10).map(f64::from).collect();
    let e = Estimate::of(&ten);
    let sd = (ten.iter().map(|x| (x - 4.5f64).powi(2)).sum::<f64>() / 9.0).sqrt();
    assert!((e.hi - (4.5 + 2.262157 * sd / 10f64.sqrt())).abs() < 1e-5, "{e:?}");
    let one = Estimate::of(&[0.5]);
    assert!(one.n == 1 && one.lo.is_nan());
}

/// A finished run of mlp1 on the synthetic data, as JSON, to copy.
fn template(dir: &Path) -> serde_json::Value {
    let mut config = nnlab::study::architectures::ArchitecturesConfig::quick();
    config.archs = nnlab::model::parse_arch_list("mlp1").unwrap();
    (config.data.max_train, config.data.max_val, config.data.max_test) = (Some(100), Some(50), Some(50));
    let mut ctx = StudyContext::new(dir, nnlab::BackendKind::Ndarray);
    ctx.data_source.data_dir = Some(synthetic_cifar().to_path_buf());
    AnyStudy::run(&config, &ctx).unwrap();
    serde_json::from_slice(&std::fs::read(dir.join("architectures/mlp1_seed0.json")).unwrap()).unwrap()
}

fn write_runs(out: &Path, template: &serde_json::Value, test_acc: &[(&str, [f64; 3])], seeds: usize) {
    let dir = out.join("architectures");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, accs) in test_acc {
        for (seed, acc) in accs.iter().enumerate().take(seeds) {
            let mut run = template.clone();
            run["name"] = (*name).into();
            run["test_acc"] = (*acc).into();
            run["key"]["train"]["seed"] = seed.into();
            std::fs::write(dir.join(format!("{name}_seed{seed}.json")), serde_json::to_vec(&run).unwrap()).unwrap();
        }
    }
}

#[test]
fn verdicts_follow_the_seeds() {
    let scratch = tempfile::tempdir().unwrap();
    let t = template(scratch.path());
    let accs = [
        ("mlp1", [0.45, 0.46, 0.44]),
        ("mlp2", [0.47, 0.46, 0.48]),
        ("cnn3", [0.55, 0.56, 0.54]),
        ("cnn4", [0.60, 0.62, 0.61]),
        ("cnn5", [0.58, 0.50, 0.66]),
    ];
    let verdict = |seeds: usize, number: usize| {
        let out = tempfile::tempdir().unwrap();
        write_runs(out.path(), &t, &accs, seeds);
        let f = findings(out.path());
        let f = f.iter().find(|f| f.number == number).unwrap().clone();
        (f.verdict, f.parts)
    };
    // 3: worst CNN − best MLP per seed = 0.08, 0.04, 0.06: interval above 0.
    assert_eq!(verdict(3, 3).0, Verdict::Holds);
    // 4: cnn4 − best other = 0.02, 0.06, −0.05: straddles 0.
    assert_eq!(verdict(3, 4).0, Verdict::NotResolved);
    // 6b: cnn4 − cnn3 = 0.05, 0.06, 0.07 holds; 6a: mlp2 − mlp1 = 0.02, 0, 0.04 straddles.
    let (v6, parts) = verdict(3, 6);
    assert_eq!((parts[0].verdict, parts[1].verdict), (Verdict::NotResolved, Verdict::Holds));
    assert_eq!(v6, Verdict::NotResolved);
    let d = &parts[1].estimate;
    assert!((d.mean - 0.06).abs() < 1e-9 && d.n == 3, "{d:?}");
    // One seed: no verdict.
    assert_eq!(verdict(1, 3).0, Verdict::OneRun);
    // With mlp2 ahead of every CNN, claim 3 does not hold.
    let out = tempfile::tempdir().unwrap();
    let mut worse = accs;
    worse[1].1 = [0.70, 0.71, 0.72];
    write_runs(out.path(), &t, &worse, 3);
    let f = findings(out.path());
    assert_eq!(f.iter().find(|f| f.number == 3).unwrap().verdict, Verdict::DoesNotHold);
    // Claims without runs are not measured.
    assert_eq!(f.iter().find(|f| f.number == 11).unwrap().verdict, Verdict::NotMeasured);
}

/// The report's "where and how long" table sums each study's runs as their files record them
/// (four hand-made runs: 30 s on ndarray, 30 s, 3 000 s and 4 140 s on flex: 2.0 h, the longest
/// 69 min), and is left out where no CIFAR-10 run is.
#[test]
fn the_time_table_sums_what_the_run_files_record() {
    let scratch = tempfile::tempdir().unwrap();
    let t = template(scratch.path());
    let out = tempfile::tempdir().unwrap();
    assert!(nnlab::study::cifar_runs::time_section(out.path()).is_none());
    let dir = out.path().join("architectures");
    std::fs::create_dir_all(&dir).unwrap();
    let write = |machines: [Option<&str>; 4]| {
        for ((stem, backend, seconds), machine) in [
            ("mlp1_seed0", "ndarray", 30.0),
            ("mlp1_seed1", "flex", 30.0),
            ("cnn4_seed0", "flex", 3000.0),
            ("cnn4_seed1", "flex", 4140.0),
        ]
        .into_iter()
        .zip(machines)
        {
            let mut run = t.clone();
            run["backend"] = backend.into();
            run["seconds"] = seconds.into();
            match machine {
                Some(m) => run["machine"] = m.into(),
                // A run file from before runs recorded their machine.
                None => drop(run.as_object_mut().unwrap().remove("machine")),
            }
            std::fs::write(dir.join(format!("{stem}.json")), serde_json::to_vec(&run).unwrap()).unwrap();
        }
    };
    let laptop = "Intel(R) Core(TM) i7-8565U CPU @ 1.80GHz, 8 threads available";
    let gpu_box = "AMD EPYC 9454, 16 threads available, GPU: NVIDIA H100 80GB HBM3";
    write([Some(laptop); 4]);
    std::fs::write(dir.join("summary.json"), b"{}").unwrap();
    let md = nnlab::study::cifar_runs::time_section(out.path()).expect("a table");
    assert!(md.contains("| architectures | 4 | flex, ndarray | 2.0 h | cnn4_seed1 (69 min) |"), "{md}");
    assert!(!md.contains("learning-rate |"), "a study that did not run has no row:\n{md}");
    assert!(md.contains(&format!("\n\nMachine: {laptop}.\n")), "one machine, named once:\n{md}");
    // Two machines and a run that does not say: each machine after its studies, in run-file
    // order (cnn4 before mlp1), then the count in a paragraph of its own.
    write([Some(laptop), Some(gpu_box), None, Some(gpu_box)]);
    let md = nnlab::study::cifar_runs::time_section(out.path()).unwrap();
    assert!(
        md.contains(&format!(
            "Machines:\n\n- architectures: {gpu_box}\n- architectures: {laptop}\n\n1 run does not record its machine"
        )),
        "{md}"
    );
}

/// A run file records the machine it trained on: this one's CPU model as /proc/cpuinfo names
/// it, and its thread count.
#[test]
fn a_run_records_the_machine_it_trained_on() {
    let scratch = tempfile::tempdir().unwrap();
    let run = template(scratch.path());
    let machine = run["machine"].as_str().expect("a machine field");
    let threads = std::thread::available_parallelism().unwrap().get();
    assert!(machine.contains(&format!("{threads} threads available")), "{machine}");
    match std::fs::read_to_string("/proc/cpuinfo") {
        Ok(cpuinfo) => {
            let model =
                cpuinfo.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap().trim());
            if let Some(model) = model {
                assert!(machine.starts_with(model), "{machine} should name the CPU {model}");
            }
        }
        Err(_) => eprintln!("no /proc/cpuinfo here: only the thread count was checked"),
    }
}
