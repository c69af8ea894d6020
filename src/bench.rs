//! `nnlab bench`: wall-clock timings of the homework's workloads, side by side with the
//! PyTorch reference on the same machine and thread count.
//!
//! Three measurements per net, on synthetic images (timings do not depend on pixel values,
//! so no dataset is needed):
//! 1. one Adam training step, batch 50 (forward, loss, backward, optimiser update);
//! 2. one validation pass over 5 000 images in batches of 1 000;
//! 3. one epoch of the homework protocol with validation every 10 steps, through the same
//!    [`crate::train::train`] loop the studies use.
//!
//! The PyTorch side is `benches/pytorch_reference.py --bench`, embedded in the binary and run
//! with the Python the user names (default `python3`); when Python or torch is missing the
//! report says so and carries the nnlab column alone.

use crate::activation::Activation;
use crate::backend::TrainBackend;
use crate::data::DeviceSet;
use crate::error::{Error, Result, ensure_positive};
use crate::model::{ArchSpec, Net};
use crate::train::trainer::{DeviceData, train};
use crate::train::{StepRecord, TrainConfig, evaluate::accuracy, train_step};
use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Int, Tensor};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// The PyTorch reference script, embedded so `nnlab bench` works from any directory.
pub const PYTORCH_REFERENCE: &str = include_str!("../benches/pytorch_reference.py");

/// What to measure and how often.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchConfig {
    /// The nets to time (PyTorch knows the five built-in ones).
    pub archs: Vec<ArchSpec>,
    /// Training batch size (50 in the homework).
    pub batch_size: usize,
    /// Untimed steps before the timed ones (allocator and caches warm up).
    pub warmup: usize,
    /// Timed training steps per net; the median is reported.
    pub iters: usize,
    /// Images in one validation pass (5 000 in the homework).
    pub val_images: usize,
    /// Timed validation passes per net (after one untimed pass).
    pub val_iters: usize,
    /// Batch size of validation passes.
    pub eval_batch_size: usize,
    /// Steps of the protocol epoch (900 = 45 000 images / 50); `None` skips the epoch.
    pub epoch_steps: Option<usize>,
    /// Seed of weights and synthetic data.
    pub seed: u64,
    /// Torch device of the PyTorch reference: "cpu", or "cuda" beside a GPU backend.
    #[serde(default = "cpu")]
    pub pytorch_device: String,
}

fn cpu() -> String {
    "cpu".into()
}

impl Default for BenchConfig {
    /// The homework's sizes: batch 50, 5 000 validation images, a full 900-step epoch.
    fn default() -> Self {
        Self {
            archs: ArchSpec::builtins(),
            batch_size: 50,
            warmup: 3,
            iters: 20,
            val_images: 5000,
            val_iters: 3,
            eval_batch_size: 1000,
            epoch_steps: Some(900),
            seed: 0,
            pytorch_device: cpu(),
        }
    }
}

impl BenchConfig {
    /// Checks the numbers, naming the flags.
    pub fn validate(&self) -> Result<()> {
        ensure_positive("batch_size", self.batch_size)?;
        ensure_positive("iters", self.iters)?;
        ensure_positive("val_images", self.val_images)?;
        ensure_positive("val_iters", self.val_iters)?;
        ensure_positive("eval_batch_size", self.eval_batch_size)?;
        if let Some(steps) = self.epoch_steps {
            ensure_positive("epoch_steps", steps)?;
        }
        crate::model::ensure_some(&self.archs)?;
        crate::model::memory::ensure_fits(&self.archs, self.batch_size, self.eval_batch_size)
    }
}

/// Repeated measurements of one thing, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Median of the samples.
    pub median_ms: f64,
    /// Every timed sample.
    pub samples_ms: Vec<f64>,
}

impl Timing {
    /// The median of `samples_ms` (NaN when empty).
    pub fn of(samples_ms: Vec<f64>) -> Timing {
        let mut s = samples_ms.clone();
        s.sort_by(f64::total_cmp);
        let median_ms = match s.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => s[n / 2],
            n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
        };
        Timing { median_ms, samples_ms }
    }
}

/// The three timings of one net on one side (nnlab or PyTorch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetTimings {
    /// Architecture name.
    pub arch: String,
    /// Trainable parameters.
    pub params: usize,
    /// One training step.
    pub step: Timing,
    /// One validation pass over `val_images`.
    pub val_pass: Timing,
    /// One protocol epoch (`epoch_steps` steps, validation every 10), seconds.
    pub epoch_seconds: Option<f64>,
}

/// One implementation's timings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Side {
    /// "nnlab (flex)", "PyTorch 2.15.0 (cpu)", …
    pub name: String,
    /// CPU threads it used.
    pub threads: usize,
    /// Per-net timings, in the config's order.
    pub nets: Vec<NetTimings>,
}

/// nnlab / PyTorch for one net (below 1: nnlab is faster).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ratio {
    /// Architecture name.
    pub arch: String,
    /// Training step.
    pub step: f64,
    /// Validation pass.
    pub val_pass: f64,
    /// Protocol epoch.
    pub epoch: Option<f64>,
}

/// Everything `nnlab bench` measured; written as `<out>/bench/bench.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    /// What was measured.
    pub config: BenchConfig,
    /// The machine: CPU model, threads and GPUs ([`crate::machine::description`]).
    pub machine: String,
    /// nnlab's timings.
    pub nnlab: Side,
    /// PyTorch's timings, when the reference could run.
    pub pytorch: Option<Side>,
    /// Why there is no PyTorch column, when there is none.
    pub pytorch_note: Option<String>,
    /// nnlab / PyTorch per net.
    pub ratios: Vec<Ratio>,
}

impl BenchReport {
    /// Joins both sides and computes the ratios.
    pub fn new(config: BenchConfig, nnlab: Side, pytorch: std::result::Result<Side, String>) -> Self {
        let (pytorch, pytorch_note) = match pytorch {
            Ok(side) => (Some(side), None),
            Err(note) => (None, Some(note)),
        };
        let ratios = pytorch
            .as_ref()
            .map(|p| {
                nnlab
                    .nets
                    .iter()
                    .filter_map(|n| {
                        let t = p.nets.iter().find(|t| t.arch == n.arch)?;
                        Some(Ratio {
                            arch: n.arch.clone(),
                            step: n.step.median_ms / t.step.median_ms,
                            val_pass: n.val_pass.median_ms / t.val_pass.median_ms,
                            epoch: n.epoch_seconds.zip(t.epoch_seconds).map(|(a, b)| a / b),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        BenchReport { config, machine: crate::machine::description(), nnlab, pytorch, pytorch_note, ratios }
    }

    /// The comparison as a Markdown table.
    pub fn markdown(&self) -> String {
        let c = &self.config;
        let mut s = format!("Machine: {}. nnlab: {} ({} threads)", self.machine, self.nnlab.name, self.nnlab.threads);
        match &self.pytorch {
            Some(p) => s += &format!("; reference: {} ({} threads).\n\n", p.name, p.threads),
            None => s += &format!("; no PyTorch column: {}.\n\n", self.pytorch_note.as_deref().unwrap_or("not run")),
        }
        s += &format!(
            "Step: batch {}, Adam, median of {} after {} warm-up. Validation: {} images in batches of {}, median of {}. ",
            c.batch_size, c.iters, c.warmup, c.val_images, c.eval_batch_size, c.val_iters
        );
        match c.epoch_steps {
            Some(n) => s += &format!("Epoch: {n} steps with a validation pass every 10 steps.\n\n"),
            None => s += "Epoch: not measured.\n\n",
        }
        s += "| net | params | step ms nnlab | step ms PyTorch | ratio | val pass ms nnlab | val pass ms PyTorch | ratio | epoch s nnlab | epoch s PyTorch | ratio |\n";
        s += "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
        let num = |v: Option<f64>, digits: usize| {
            v.filter(|v| v.is_finite()).map_or("—".to_string(), |v| format!("{v:.digits$}"))
        };
        for n in &self.nnlab.nets {
            let t = self.pytorch.as_ref().and_then(|p| p.nets.iter().find(|t| t.arch == n.arch));
            let r = self.ratios.iter().find(|r| r.arch == n.arch);
            s += &format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                n.arch,
                n.params,
                num(Some(n.step.median_ms), 2),
                num(t.map(|t| t.step.median_ms), 2),
                num(r.map(|r| r.step), 2),
                num(Some(n.val_pass.median_ms), 0),
                num(t.map(|t| t.val_pass.median_ms), 0),
                num(r.map(|r| r.val_pass), 2),
                num(n.epoch_seconds, 2),
                num(t.and_then(|t| t.epoch_seconds), 2),
                num(r.and_then(|r| r.epoch), 2),
            );
        }
        s
    }
}

fn sync<B: Backend>(device: &B::Device) -> Result<()> {
    B::sync(device).map_err(|e| Error::Device(format!("{e:?}")))
}

fn elapsed_ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}

/// Random `[n, 3, 32, 32]` images and labels on `device`.
fn synthetic_set<B: Backend>(n: usize, device: &B::Device) -> DeviceSet<B> {
    DeviceSet {
        images: Tensor::random([n, 3, 32, 32], Distribution::Normal(0.0, 1.0), device),
        labels: Tensor::<B, 1, Int>::random([n], Distribution::Uniform(0.0, 10.0), device),
    }
}

/// Times `iters` training steps of `arch` (after `warmup` untimed ones) on a fixed batch,
/// with the Adam the training loop runs on `B` ([`crate::train::OptimizerConfig::init`]).
pub fn time_steps<B: TrainBackend>(arch: &ArchSpec, config: &BenchConfig, device: &B::Device) -> Result<Timing> {
    let mut model = Net::<B>::seeded(arch, Activation::Relu, config.seed, device)?;
    let mut optim = crate::train::OptimizerConfig::Adam.init();
    let batch = synthetic_set::<B::InnerBackend>(config.batch_size, device);
    let mut samples = Vec::with_capacity(config.iters);
    for k in 0..config.warmup + config.iters {
        let start = Instant::now();
        let x = Tensor::<B, 4>::from_inner(batch.images.clone());
        let y = Tensor::<B, 1, Int>::from_inner(batch.labels.clone());
        model = train_step(model, &mut optim, x, y, 1e-3, StepRecord::default()).0;
        sync::<B>(device)?;
        if k >= config.warmup {
            samples.push(elapsed_ms(start));
        }
    }
    Ok(Timing::of(samples))
}

/// Times `reps` calls of `f` after `warmup` untimed ones (for work that ends with a host
/// read-back, so each call is complete when it returns).
pub fn time_ms(warmup: usize, reps: usize, mut f: impl FnMut()) -> Timing {
    for _ in 0..warmup {
        f();
    }
    Timing::of(
        (0..reps)
            .map(|_| {
                let start = Instant::now();
                f();
                elapsed_ms(start)
            })
            .collect(),
    )
}

/// Times validation passes of a fresh `arch` over `val_images` synthetic images.
pub fn time_val_pass<B: TrainBackend>(arch: &ArchSpec, config: &BenchConfig, device: &B::Device) -> Result<Timing> {
    let model = Net::<B>::seeded(arch, Activation::Relu, config.seed, device)?.valid();
    let set = synthetic_set::<B::InnerBackend>(config.val_images, device);
    Ok(time_ms(1, config.val_iters, || {
        std::hint::black_box(accuracy(&model, &set, config.eval_batch_size));
    }))
}

/// Seconds for one protocol epoch of `steps` steps (validation every 10) through the
/// studies' training loop, up to and including the last record point.
pub fn time_epoch<B: TrainBackend>(
    arch: &ArchSpec,
    config: &BenchConfig,
    steps: usize,
    device: &B::Device,
) -> Result<f64> {
    B::seed(device, config.seed);
    let data = DeviceData {
        train: synthetic_set(steps * config.batch_size, device),
        val: synthetic_set(config.val_images, device),
        test: synthetic_set(config.batch_size, device),
    };
    let train_config = TrainConfig {
        epochs: 1,
        batch_size: config.batch_size,
        eval_batch_size: config.eval_batch_size,
        seed: config.seed,
        ..TrainConfig::default()
    };
    let outcome = train::<B>(arch, Activation::Relu, &train_config, &data, device, &mut |_| {})?;
    Ok(outcome.curves.seconds.last().copied().unwrap_or(outcome.seconds))
}

/// Runs every nnlab measurement of `config` on backend `B`, calling `done` after each one.
pub fn bench_nnlab<B: TrainBackend>(
    config: &BenchConfig,
    device: &B::Device,
    name: &str,
    done: &mut dyn FnMut(&str),
) -> Result<Side> {
    config.validate()?;
    // The first timed net would otherwise pay for the thread pool and allocator warming up
    // (measured: mlp2 1.11 ms per step when timed first, 0.48 ms after another net).
    time_steps::<B>(&config.archs[0], config, device)?;
    let mut nets = Vec::with_capacity(config.archs.len());
    for arch in &config.archs {
        let step = time_steps::<B>(arch, config, device)?;
        done(&format!("{} step", arch.name));
        let val_pass = time_val_pass::<B>(arch, config, device)?;
        done(&format!("{} validation", arch.name));
        let epoch_seconds = match config.epoch_steps {
            Some(steps) => {
                let s = time_epoch::<B>(arch, config, steps, device)?;
                done(&format!("{} epoch", arch.name));
                Some(s)
            }
            None => None,
        };
        nets.push(NetTimings { arch: arch.name.clone(), params: arch.param_count(), step, val_pass, epoch_seconds });
    }
    Ok(Side {
        name: format!("nnlab {} ({name}{})", env!("CARGO_PKG_VERSION"), gpu_choices::<B>()),
        threads: crate::machine::available_threads(),
        nets,
    })
}

/// What a GPU backend ran that a setting or the backend chose: ", fused Adam, direct forward
/// convolution" (empty on a CPU backend), so benches of different settings
/// say which is which.
fn gpu_choices<B: TrainBackend>() -> String {
    if !<B::InnerBackend as crate::backend::NetBackend>::FUSED_ADAM {
        return String::new();
    }
    let conv = crate::backend::gpu_conv::current().unwrap_or(crate::backend::gpu_conv::DEFAULT);
    format!(", fused Adam, {} forward convolution", conv.name())
}

/// Runs the embedded PyTorch reference with `python` on the same config and thread count.
/// `Err` carries a one-line reason (no Python, no torch, a non-built-in net, a failed run).
pub fn bench_pytorch(python: &str, config: &BenchConfig, scratch: &Path) -> std::result::Result<Side, String> {
    let builtin: Vec<&str> = crate::model::spec::BUILTIN.iter().map(|(n, _)| *n).collect();
    if let Some(a) = config.archs.iter().find(|a| !builtin.contains(&a.name.as_str())) {
        return Err(format!("the PyTorch reference only knows the five built-in nets, not '{}'", a.name));
    }
    let script = scratch.join("pytorch_reference.py");
    std::fs::write(&script, PYTORCH_REFERENCE).map_err(|e| format!("cannot write {}: {e}", script.display()))?;
    let archs: Vec<&str> = config.archs.iter().map(|a| a.name.as_str()).collect();
    let mut cmd = std::process::Command::new(python);
    cmd.arg(&script)
        .arg("--bench")
        .args(["--arch", &archs.join(",")])
        .args(["--batch-size", &config.batch_size.to_string()])
        .args(["--warmup", &config.warmup.to_string()])
        .args(["--iters", &config.iters.to_string()])
        .args(["--val-images", &config.val_images.to_string()])
        .args(["--val-iters", &config.val_iters.to_string()])
        .args(["--eval-batch-size", &config.eval_batch_size.to_string()])
        .args(["--epoch-steps", &config.epoch_steps.unwrap_or(0).to_string()])
        .args(["--threads", &crate::machine::available_threads().to_string()])
        .args(["--seed", &config.seed.to_string()])
        .args(["--device", &config.pytorch_device]);
    let out = cmd.output().map_err(|e| {
        format!("cannot run '{python}' ({e}); install Python 3 with `pip install torch numpy` or pass --pytorch off")
    })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no message");
        return Err(format!("the PyTorch reference failed ({}): {last}", out.status));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().rev().find(|l| l.starts_with('{')).ok_or("the PyTorch reference printed no JSON")?;
    serde_json::from_str(line).map_err(|e| format!("cannot read the PyTorch reference's JSON: {e}"))
}

/// `nnlab bench`: runs nnlab's measurements on `backend`, then the PyTorch reference with
/// `python` (unless `None`), and writes `<out>/bench/bench.json` and `bench.md`. Progress
/// goes to `observer` as one task.
pub fn run(
    out: &std::path::Path,
    backend: crate::backend::BackendKind,
    observer: &dyn crate::progress::Observer,
    config: &BenchConfig,
    python: Option<&str>,
) -> Result<(BenchReport, Vec<std::path::PathBuf>)> {
    /// nnlab's side on whichever backend [`run_task`](crate::backend::run_task) picks.
    struct Measure<'a>(&'a dyn crate::progress::Observer, &'a BenchConfig, u64);
    impl crate::backend::BackendTask for Measure<'_> {
        type Output = Side;
        fn run<B: TrainBackend>(self, device: B::Device, kind: crate::backend::BackendKind) -> Result<Side> {
            let (observer, config, mut done) = (self.0, self.1, self.2);
            bench_nnlab::<B>(config, &device, kind.name(), &mut |what| {
                done += 1;
                observer.advanced(done, what);
            })
        }
    }
    config.validate()?;
    let dir = crate::results::prepare_dir(&out.join("bench"))?;
    let per_net = 2 + usize::from(config.epoch_steps.is_some());
    let total = config.archs.len() * per_net + usize::from(python.is_some());
    observer.started("bench", total as u64, crate::progress::Unit::Steps, 0.0);
    let nnlab = crate::backend::run_task(backend, Measure(observer, config, 0))?;
    let pytorch = match python {
        Some(python) => {
            observer.advanced(total as u64 - 1, "PyTorch reference");
            let scratch = tempfile::tempdir()
                .map_err(|e| Error::io("cannot create a temporary directory in", std::env::temp_dir(), e))?;
            bench_pytorch(python, config, scratch.path())
        }
        None => Err("not run (--pytorch off)".to_string()),
    };
    observer.finished("");
    let report = BenchReport::new(config.clone(), nnlab, pytorch);
    let json = dir.join("bench.json");
    crate::results::write_json(&json, &report)?;
    let md = dir.join("bench.md");
    crate::results::write_atomic(&md, format!("# nnlab bench\n\n{}", report.markdown()).as_bytes())?;
    Ok((report, vec![json, md]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(Timing::of(vec![3.0, 1.0, 2.0]).median_ms, 2.0);
        assert_eq!(Timing::of(vec![4.0, 1.0, 2.0, 3.0]).median_ms, 2.5);
        assert!(Timing::of(vec![]).median_ms.is_nan());
    }
}
