//! The `nnlab` command: clap's flags mapped to the library's study configurations, and a
//! terminal that draws progress. Everything it runs is callable from Rust through the
//! `nnlab` crate. Exit codes: 0 success, 2 a usage error (a flag or value nnlab cannot
//! use), 1 a failure while running.

mod terminal;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use nnlab::activation::{Activation, parse_activation_list};
use nnlab::backend::BackendKind;
use nnlab::data::InputScale;
use nnlab::error::{Error, Result};
use nnlab::model::parse_arch_list;
use nnlab::progress::{Observer, SharedObserver};
use nnlab::study::plan::{Plan, Shard};
use nnlab::study::{self, AnyStudy, StudyContext};
use nnlab::train::{OptimizerConfig, Schedule, TrainConfig};
use nnlab::xor::{XorMode, XorTrainConfig};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use terminal::Terminal;

/// mimalloc keeps freed memory for reuse; with glibc's malloc every training step's large
/// buffers came back as fresh pages, and page faults cost up to a third of a CNN step.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EXAMPLES: &str = "\
Examples:
  nnlab activations                        plot tanh, sigmoid, ReLU and their derivatives
  nnlab xor --seeds 20                     scratch MLP on XOR, 20 seeds per activation
  nnlab xor --activation relu --mode sample --epochs 200
  nnlab conv                               conv2d from scratch on the shipped digits and kernels
  nnlab conv --input samples_7.npy --kernel kernel.npy
  nnlab architectures --arch mlp1,cnn4     five nets on CIFAR-10 with Adam (or a subset)
  nnlab activation-gradients               ReLU vs sigmoid gradient magnitudes under SGD
  nnlab learning-rate                      SGD learning rates and step schedules vs Adam
  nnlab all                                every study above, homework protocol, + report.md/.html
  nnlab all --quick                        the same at small scale, minutes on a CPU
  nnlab report                             report.md/.html of whatever studies nnlab-out holds
  nnlab bench --arch cnn4                  time nnlab against PyTorch on this machine
  nnlab --backend ndarray --out runs xor   pick a backend and an output directory
  cargo run --release --features wgpu -- --backend wgpu activations   (GPU build)";

/// nnlab: the classic neural-network training study (EE449 HW1) on Burn, CPU or GPU.
///
/// --backend, --seed, --force and the CIFAR-10 flags may come before the command or after
/// it; each command's help lists the ones it uses.
#[derive(Debug, Parser)]
#[command(name = "nnlab", version, about, after_help = EXAMPLES)]
struct Cli {
    /// Output directory; each study writes to <out>/<study>/
    #[arg(long, global = true, default_value = "nnlab-out", value_name = "DIR")]
    out: PathBuf,
    /// No progress bars
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(flatten)]
    shared: TrainFlags,
    #[command(subcommand)]
    command: Command,
}

/// The flags of the commands that train on CIFAR-10: backend, seed, force, and where the
/// data comes from.
#[derive(Debug, Clone, Default, Args)]
struct TrainFlags {
    #[command(flatten)]
    backend: BackendArg,
    #[command(flatten)]
    seed: SeedArg,
    #[command(flatten)]
    force: ForceArg,
    #[command(flatten)]
    data: DataArgs,
}

/// `--backend`.
#[derive(Debug, Clone, Default, Args)]
struct BackendArg {
    /// Backend [default: cuda where compiled in and usable, else the fastest compiled CPU backend]
    #[arg(long, value_enum)]
    backend: Option<BackendKind>,
}

/// `--seed`.
#[derive(Debug, Clone, Default, Args)]
struct SeedArg {
    /// Base random seed (data, weights, shuffles) [default: 0]
    #[arg(long)]
    seed: Option<u64>,
}

/// `--force`.
#[derive(Debug, Clone, Default, Args)]
struct ForceArg {
    /// Recompute runs whose results already exist, and start interrupted runs from the
    /// beginning instead of from their last epoch checkpoint
    #[arg(long)]
    force: bool,
}

/// Where CIFAR-10 comes from.
#[derive(Debug, Clone, Default, Args)]
struct DataArgs {
    /// CIFAR-10 directory (cifar-10-batches-bin/ or cifar-10-batches-py/, or their parent)
    /// [default: $NNLAB_DATA, then the cache ~/.cache/nnlab, then download]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Never download CIFAR-10; fail with instructions if it is not found
    #[arg(long)]
    offline: bool,
    /// Download CIFAR-10 from this mirror instead (the same archive; its MD5 is checked)
    /// [default: $NNLAB_CIFAR_URL, then the official URL]
    #[arg(long, value_name = "URL")]
    cifar_url: Option<String>,
}

impl DataArgs {
    fn given(&self) -> Option<&'static str> {
        if self.data_dir.is_some() {
            Some("--data-dir")
        } else if self.offline {
            Some("--offline")
        } else if self.cifar_url.is_some() {
            Some("--cifar-url")
        } else {
            None
        }
    }
}

/// The run settings a command uses, after those given before it were merged in.
#[derive(Debug, Clone, Default)]
struct Settings {
    backend: Option<BackendKind>,
    seed: u64,
    force: bool,
    data: DataArgs,
}

/// Which of the shared flags a command takes, and the values given after it.
#[derive(Debug, Default)]
struct Takes<'a> {
    backend: Option<&'a BackendArg>,
    seed: Option<&'a SeedArg>,
    force: Option<&'a ForceArg>,
    data: Option<&'a DataArgs>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Plot tanh, sigmoid and ReLU with their closed-form derivatives (homework part 1.1)
    #[command(
        after_help = concat!(
            "Example:\n",
            "  nnlab activations --out results\n",
            "  → results/activations/activations.{png,svg,json}"
        )
    )]
    Activations(ActivationsArgs),
    /// Train the from-scratch MLP on the XOR blobs (homework parts 1.2–1.3)
    #[command(
        after_help = concat!(
            "Examples:\n",
            "  nnlab xor                         all activations, 1 seed, 10 000 full-batch epochs\n",
            "  nnlab xor --seeds 20              spread of accuracy and boundaries over 20 seeds\n",
            "  nnlab xor --activation relu --mode sample --epochs 200 --lr 0.01"
        )
    )]
    Xor(XorArgs),
    /// conv2d from scratch on digit images and a kernel bank, `.npy` in, image grid out (part 2)
    #[command(
        after_help = concat!(
            "Examples:\n",
            "  nnlab conv                                        the shipped five 7s and eight 4×4 kernels\n",
            "  nnlab conv --input samples_7.npy --kernel kernel.npy   the course's files\n",
            "  → <out>/conv/out.npy (float32 [N, O, H−kh+1, W−kw+1]) and conv.{png,svg}"
        )
    )]
    Conv(ConvArgs),
    /// The five networks on CIFAR-10 with Adam: curves, test accuracy, weights (part 3)
    #[command(
        after_help = concat!(
            "Examples:\n",
            "  nnlab architectures                               mlp1, mlp2, cnn3, cnn4, cnn5; Adam; 15 epochs\n",
            "  nnlab architectures --arch mlp1,cnn4 --seeds 2\n",
            "  nnlab architectures --arch \"conv3x3x16,relu,maxpool2,fc32,relu\"   your own spec (FC10 appended)\n",
            "  nnlab architectures --epochs 1 --max-train 5000 --max-val 1000 --max-test 1000   a quick run\n",
            "\n",
            "Spec notation: fcN, fcN-nobias, convKxKxN, maxpoolK, relu (= the activation), comma-separated;\n",
            "the homework's own notation works too: \"Conv-3×3×16, ReLU, MaxPool-2×2\".\n",
            "Several specs: separate with ';'."
        )
    )]
    Architectures(ArchArgs),
    /// ReLU vs sigmoid with SGD lr 0.01: loss and first-layer gradient magnitude (part 4)
    #[command(
        after_help = concat!(
            "Examples:\n",
            "  nnlab activation-gradients                      five nets × {relu, sigmoid}, SGD 0.01, 15 epochs\n",
            "  nnlab activation-gradients --arch cnn4 --input-range 255   unscaled [0, 255] inputs (the bonus question)\n",
            "  nnlab activation-gradients --linear-scale       gradient panel on a linear axis"
        )
    )]
    ActivationGradients(GradArgs),
    /// SGD at lr 0.1 / 0.01 / 0.001, then step schedules with detected switch points, vs Adam (part 5)
    #[command(
        after_help = concat!(
            "Examples:\n",
            "  nnlab learning-rate                             cnn4; 3 rates × 20 epochs, then two 30-epoch schedules\n",
            "  nnlab learning-rate --arch cnn3 --switch-steps 1500,4000   skip detection\n",
            "  nnlab learning-rate --plateau-window 5 --plateau-patience 30 --plateau-min-delta 0.002"
        )
    )]
    LearningRate(LrArgs),
    /// Run every study in order with the homework protocol (hours on a CPU, minutes on a GPU)
    #[command(
        after_help = concat!(
            "Examples:\n",
            "  nnlab --out results all        → results/<study>/... and results/report.md, report.html\n",
            "  nnlab all --quick              the whole pipeline at small scale, in minutes on a CPU\n",
            "  nnlab all --arch mlp1,mlp2 --lr-arch mlp2   full protocol, MLPs only (minutes on a CPU)\n",
            "  cargo run --release --features wgpu -- --backend wgpu all   on a GPU\n",
            "  cargo run --release --features cuda -- all --seeds 3   NVIDIA GPU, three seeds of every study"
        )
    )]
    All(AllArgs),
    /// List the runs a study command would perform, and deal them to shards
    #[command(
        after_help = concat!(
            "Examples:\n",
            "  nnlab plan all                                every run of `nnlab all`, with what it needs\n",
            "  nnlab plan --shards 4 all --seeds 5           which of 4 shards (`--shard I/4`) runs each\n",
            "  nnlab plan --json architectures --arch cnn4   as JSON\n",
            "  nnlab plan --shards 4 --time all --backend cuda   with each shard's expected wall time here\n",
            "Then, e.g. on 4 machines sharing <out>: nnlab all --seeds 5 --shard I/4 (I = 0..3),\n",
            "and once all have finished: nnlab report. Cluster scripts: examples/cluster/."
        )
    )]
    Plan(PlanArgs),
    /// Test accuracy and confusion matrix of a net saved with --save-models
    #[command(
        after_help = concat!(
            "Example:\n",
            "  nnlab architectures --arch cnn4 --save-models\n",
            "  nnlab eval --model nnlab-out/architectures/models/cnn4_seed0\n",
            "  → nnlab-out/eval/cnn4_seed0/confusion.{md,png,svg} and evaluation.json"
        )
    )]
    Eval(EvalArgs),
    /// The three most likely classes of your own images for a saved net
    #[command(
        after_help = concat!(
            "Example:\n",
            "  nnlab predict --model nnlab-out/architectures/models/cnn4_seed0 cat.png ship.png\n",
            "Images: PNG, RGB or grey, any size (resized to 32×32)."
        )
    )]
    Predict(PredictArgs),
    /// Gather whatever studies <out> holds into <out>/report.md and report.html
    #[command(
        after_help = concat!(
            "Example:\n",
            "  nnlab --out results xor && nnlab --out results conv && nnlab --out results report\n",
            "  → results/report.md and results/report.html (open it in a browser)"
        )
    )]
    Report,
    /// Time training steps, validation passes and a protocol epoch per net, vs PyTorch
    #[command(
        after_help = concat!(
            "Examples:\n",
            "  nnlab bench                                  five nets, nnlab and PyTorch side by side (python3 + torch)\n",
            "  nnlab bench --arch cnn4 --no-epoch           one net, steps and validation only\n",
            "  nnlab bench --pytorch off                    nnlab alone\n",
            "  nnlab bench --pytorch .venv/bin/python --epoch-steps 100\n",
            "  nnlab bench --backend wgpu                   the GPU against PyTorch on CUDA (--pytorch-device)\n",
            "  → <out>/bench/bench.json and bench.md (milliseconds and nnlab / PyTorch ratios)"
        )
    )]
    Bench(BenchArgs),
}

#[derive(Debug, Args)]
struct PlanArgs {
    /// Print the plan as JSON
    #[arg(long)]
    json: bool,
    /// Deal the runs to N shards and show which shard runs each
    #[arg(long, default_value_t = 1, value_name = "N")]
    shards: usize,
    /// Also time a few training steps and evaluation passes on --backend here and give each
    /// shard's expected wall time (run it on the machine the shards will run on)
    #[arg(long)]
    time: bool,
    #[command(subcommand)]
    command: Planned,
}

/// The commands `nnlab plan` can plan: the studies and `all`, with their own flags.
#[derive(Debug, Subcommand)]
enum Planned {
    /// nnlab activations
    Activations(ActivationsArgs),
    /// nnlab xor
    Xor(XorArgs),
    /// nnlab conv
    Conv(ConvArgs),
    /// nnlab architectures
    Architectures(ArchArgs),
    /// nnlab activation-gradients
    ActivationGradients(GradArgs),
    /// nnlab learning-rate
    LearningRate(LrArgs),
    /// nnlab all
    All(AllArgs),
}

impl From<Planned> for Command {
    fn from(p: Planned) -> Command {
        match p {
            Planned::Activations(a) => Command::Activations(a),
            Planned::Xor(a) => Command::Xor(a),
            Planned::Conv(a) => Command::Conv(a),
            Planned::Architectures(a) => Command::Architectures(a),
            Planned::ActivationGradients(a) => Command::ActivationGradients(a),
            Planned::LearningRate(a) => Command::LearningRate(a),
            Planned::All(a) => Command::All(a),
        }
    }
}

#[derive(Debug, Args)]
struct EvalArgs {
    /// A model directory written by --save-models (<study>/models/<run>/)
    #[arg(long, value_name = "DIR")]
    model: PathBuf,
    #[command(flatten)]
    backend: BackendArg,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Debug, Args)]
struct PredictArgs {
    /// A model directory written by --save-models (<study>/models/<run>/)
    #[arg(long, value_name = "DIR")]
    model: PathBuf,
    /// Image files (PNG)
    #[arg(required = true, value_name = "IMAGE")]
    images: Vec<PathBuf>,
    #[command(flatten)]
    backend: BackendArg,
}

#[derive(Debug, Args)]
struct ActivationsArgs {
    #[command(flatten)]
    backend: BackendArg,
}

#[derive(Debug, Args)]
struct BenchArgs {
    #[command(flatten)]
    backend: BackendArg,
    #[command(flatten)]
    seed: SeedArg,
    /// Networks: all, names (mlp1,cnn4), or specs separated by ';'
    #[arg(long, default_value = "all")]
    arch: String,
    /// Timed training steps per net (median reported)
    #[arg(long, default_value_t = 20)]
    iters: usize,
    /// Untimed warm-up steps
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Images in a validation pass
    #[arg(long, default_value_t = 5000)]
    val_images: usize,
    /// Timed validation passes per net
    #[arg(long, default_value_t = 3)]
    val_iters: usize,
    /// Batch size of the validation pass
    #[arg(long, default_value_t = 1000)]
    eval_batch_size: usize,
    /// Steps of the protocol epoch (900 = the homework's 45 000 images / 50)
    #[arg(long, default_value_t = 900)]
    epoch_steps: usize,
    /// Skip the protocol epoch
    #[arg(long)]
    no_epoch: bool,
    /// Python with torch for the reference column, or "off"
    #[arg(long, default_value = "python3", value_name = "PYTHON")]
    pytorch: String,
    /// Torch device of the reference column [default: cuda with a GPU backend, else cpu]
    #[arg(long, value_enum)]
    pytorch_device: Option<TorchDevice>,
}

#[derive(Debug, Args)]
struct AllArgs {
    /// Small scale: 1 epoch, 2 000 / 500 / 1 000 images, 2 000 XOR epochs
    #[arg(long)]
    quick: bool,
    /// Runs per configuration in every study (seeds seed, seed+1, ...)
    #[arg(long, default_value_t = 1)]
    seeds: usize,
    /// Keep every trained CIFAR-10 net under <study>/models/<run>/ (for nnlab eval / predict)
    #[arg(long)]
    save_models: bool,
    #[command(flatten)]
    flags: TrainFlags,
    /// Nets of the architectures and activation-gradients studies [default: all five]
    #[arg(long, value_name = "NETS")]
    arch: Option<String>,
    /// Net of the learning-rate study [default: cnn4]
    #[arg(long, value_name = "NET")]
    lr_arch: Option<String>,
    /// Perform only shard I of N (counting from 0) of the runs, into a shared --out; then
    /// `nnlab report` merges. `nnlab plan --shards N all` shows who runs what
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
    /// Runs performed at the same time, each on its own thread [default: 1; on an H100 more
    /// threads did not add throughput, on a CPU they share its cores]
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// Start at once, without estimating the wall time (which times a few training steps
    /// of mlp2 and cnn4 first: a second or two in a release build)
    #[arg(long)]
    no_estimate: bool,
}

/// Flags shared by the CIFAR-10 studies.
#[derive(Debug, Args)]
struct CifarArgs {
    #[command(flatten)]
    flags: TrainFlags,
    /// Keep every trained net under <out>/<study>/models/<run>/ (for nnlab eval / predict)
    #[arg(long)]
    save_models: bool,
    /// Epochs [default: the study's homework protocol]
    #[arg(long)]
    epochs: Option<usize>,
    /// Runs per configuration (seeds seed, seed+1, ...)
    #[arg(long, default_value_t = 1)]
    seeds: usize,
    /// Training batch size
    #[arg(long, default_value_t = 50)]
    batch_size: usize,
    /// Record curves every N steps
    #[arg(long, default_value_t = 10)]
    record_every: usize,
    /// Batch size of validation and test passes
    #[arg(long, default_value_t = 1000)]
    eval_batch_size: usize,
    /// Use at most N training images (stratified), for quick runs
    #[arg(long, value_name = "N")]
    max_train: Option<usize>,
    /// Use at most N validation images (stratified)
    #[arg(long, value_name = "N")]
    max_val: Option<usize>,
    /// Use at most N test images (stratified)
    #[arg(long, value_name = "N")]
    max_test: Option<usize>,
    /// Fraction of each class held out for validation
    #[arg(long, default_value_t = 0.1)]
    val_fraction: f64,
    /// Perform only shard I of N (counting from 0) of the runs, into a shared --out; then
    /// `nnlab report` merges. `nnlab plan --shards N <command>` shows who runs what
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
    /// Runs performed at the same time, each on its own thread [default: 1; on an H100 more
    /// threads did not add throughput, on a CPU they share its cores]
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
}

impl CifarArgs {
    fn split(&self, seed: u64) -> nnlab::data::SplitConfig {
        nnlab::data::SplitConfig {
            val_fraction: self.val_fraction,
            seed,
            max_train: self.max_train,
            max_val: self.max_val,
            max_test: self.max_test,
            input_scale: nnlab::data::InputScale::Normalized,
        }
    }

    fn train(&self, base: TrainConfig, seed: u64) -> TrainConfig {
        TrainConfig {
            epochs: self.epochs.unwrap_or(base.epochs),
            batch_size: self.batch_size,
            record_every: self.record_every,
            eval_batch_size: self.eval_batch_size,
            seed,
            ..base
        }
    }
}

#[derive(Debug, Args)]
struct ArchArgs {
    /// Networks: all, names (mlp1,cnn4), or specs separated by ';'
    #[arg(long, default_value = "all")]
    arch: String,
    /// Activation at every activation layer
    #[arg(long, value_enum, default_value_t = Activation::Relu)]
    activation: Activation,
    /// Optimiser
    #[arg(long, value_enum, default_value_t = OptimizerArg::Adam)]
    optimizer: OptimizerArg,
    /// Learning rate [default: 0.001 for Adam, 0.01 for SGD]
    #[arg(long, allow_negative_numbers = true)]
    lr: Option<f64>,
    /// Skip validation passes during training (test accuracy is unchanged)
    #[arg(long)]
    no_val: bool,
    #[command(flatten)]
    cifar: CifarArgs,
}

#[derive(Debug, Args)]
struct GradArgs {
    /// Networks: all, names (mlp1,cnn4), or specs separated by ';'
    #[arg(long, default_value = "all")]
    arch: String,
    /// Learning rate of plain SGD
    #[arg(long, default_value_t = 0.01, allow_negative_numbers = true)]
    lr: f64,
    /// Input pixel range: 1 (normalised, the homework) or 255 (raw bytes; written to activation-gradients-raw255/)
    #[arg(long, value_enum, default_value_t = InputRange::One)]
    input_range: InputRange,
    /// Linear instead of logarithmic y axis for gradient magnitudes
    #[arg(long)]
    linear_scale: bool,
    #[command(flatten)]
    cifar: CifarArgs,
}

#[derive(Debug, Args)]
struct LrArgs {
    /// Network (any but mlp1)
    #[arg(long, default_value = "cnn4")]
    arch: String,
    /// Epochs of the scheduled runs
    #[arg(long, default_value_t = 30)]
    schedule_epochs: usize,
    /// Switch steps A[,B] instead of detecting them
    #[arg(long, value_name = "A[,B]", value_delimiter = ',')]
    switch_steps: Option<Vec<usize>>,
    /// Plateau rule: records in the moving average
    #[arg(long, default_value_t = 5)]
    plateau_window: usize,
    /// Plateau rule: records without improvement
    #[arg(long, default_value_t = 30)]
    plateau_patience: usize,
    /// Plateau rule: smallest improvement that counts
    #[arg(long, default_value_t = 0.002)]
    plateau_min_delta: f64,
    #[command(flatten)]
    cifar: CifarArgs,
}

#[derive(Debug, Args)]
struct ConvArgs {
    #[command(flatten)]
    backend: BackendArg,
    /// Images [N, C, H, W] as .npy (uint8, float32 or float64) [default: shipped digits]
    #[arg(long, value_name = "FILE.npy")]
    input: Option<PathBuf>,
    /// Kernels [O, C, kh, kw] as .npy [default: shipped 4×4 kernel bank]
    #[arg(long, value_name = "FILE.npy")]
    kernel: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct XorArgs {
    #[command(flatten)]
    backend: BackendArg,
    #[command(flatten)]
    seed: SeedArg,
    #[command(flatten)]
    force: ForceArg,
    /// relu, sigmoid, tanh, a comma list, or all
    #[arg(long, default_value = "all")]
    activation: String,
    /// Runs per activation (seeds seed, seed+1, ...)
    #[arg(long, default_value_t = 1)]
    seeds: usize,
    /// full: one update per epoch on the whole set; sample: one update per point
    #[arg(long, value_enum, default_value_t = XorMode::Full)]
    mode: XorMode,
    /// Epochs [default: 10000 for full, 100 for sample]
    #[arg(long)]
    epochs: Option<usize>,
    /// Learning rate of the W += lr·(−∂L/∂W) rule
    #[arg(long, default_value_t = 0.001, allow_negative_numbers = true)]
    lr: f64,
    /// Hidden units
    #[arg(long, default_value_t = 4)]
    hidden: usize,
    /// Standard deviation of each cluster
    #[arg(long, default_value_t = 0.4, allow_negative_numbers = true)]
    noise_std: f64,
    /// Training points
    #[arg(long, default_value_t = 1000)]
    train_samples: usize,
    /// Validation points
    #[arg(long, default_value_t = 100)]
    val_samples: usize,
}

/// The optimisers a CIFAR study can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OptimizerArg {
    /// Adam with PyTorch's defaults (the homework's part 3)
    Adam,
    /// Plain SGD without momentum (parts 4 and 5)
    Sgd,
}

/// The input ranges of the activation-gradients study.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum InputRange {
    /// Normalised inputs (the homework)
    #[value(name = "1")]
    One,
    /// Raw bytes in [0, 255] (the bonus question), into activation-gradients-raw255/
    #[value(name = "255")]
    Raw,
}

/// Where the PyTorch reference of `nnlab bench` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TorchDevice {
    /// The CPU, with as many threads as nnlab
    Cpu,
    /// The first CUDA GPU
    Cuda,
}

impl TorchDevice {
    fn name(self) -> &'static str {
        match self {
            TorchDevice::Cpu => "cpu",
            TorchDevice::Cuda => "cuda",
        }
    }
}

impl Command {
    /// The command's name, as typed.
    fn name(&self) -> &'static str {
        match self {
            Command::Activations(_) => "activations",
            Command::Xor(_) => "xor",
            Command::Conv(_) => "conv",
            Command::Architectures(_) => "architectures",
            Command::ActivationGradients(_) => "activation-gradients",
            Command::LearningRate(_) => "learning-rate",
            Command::All(_) => "all",
            Command::Plan(_) => "plan",
            Command::Report => "report",
            Command::Eval(_) => "eval",
            Command::Predict(_) => "predict",
            Command::Bench(_) => "bench",
        }
    }

    /// The shared flags this command takes, with the values given after it.
    fn takes(&self) -> Takes<'_> {
        fn every(f: &TrainFlags) -> Takes<'_> {
            Takes { backend: Some(&f.backend), seed: Some(&f.seed), force: Some(&f.force), data: Some(&f.data) }
        }
        match self {
            Command::Activations(a) => Takes { backend: Some(&a.backend), ..Takes::default() },
            Command::Xor(a) => {
                Takes { backend: Some(&a.backend), seed: Some(&a.seed), force: Some(&a.force), data: None }
            }
            Command::Conv(a) => Takes { backend: Some(&a.backend), ..Takes::default() },
            Command::Architectures(a) => every(&a.cifar.flags),
            Command::ActivationGradients(a) => every(&a.cifar.flags),
            Command::LearningRate(a) => every(&a.cifar.flags),
            Command::All(a) => every(&a.flags),
            // Replaced by the command it plans before the settings are read (see `run`).
            Command::Plan(_) => Takes::default(),
            Command::Report => Takes::default(),
            Command::Eval(a) => Takes { backend: Some(&a.backend), data: Some(&a.data), ..Takes::default() },
            Command::Predict(a) => Takes { backend: Some(&a.backend), ..Takes::default() },
            Command::Bench(a) => Takes { backend: Some(&a.backend), seed: Some(&a.seed), ..Takes::default() },
        }
    }

    /// The commands that take `flag` (with its dashes), for the message when another
    /// command is given it: read from clap's own definition of each command.
    fn taking(flag: &str) -> String {
        let long = flag.trim_start_matches('-');
        let cli = Cli::command();
        let names: Vec<&str> = cli
            .get_subcommands()
            .filter(|c| c.get_arguments().any(|a| a.get_long() == Some(long)))
            .map(|c| c.get_name())
            .collect();
        names.join(", ")
    }
}

/// The settings of `cli`'s command: flags given after the command, else before it; a flag
/// before a command that does not use it is a usage error rather than silently ignored.
fn settings(cli: &Cli) -> Result<Settings> {
    let takes = cli.command.takes();
    let refuse = |flag: &str| {
        Error::invalid(
            flag,
            format!("does not apply to `nnlab {}`; it is a flag of: {}", cli.command.name(), Command::taking(flag)),
        )
    };
    let backend = match takes.backend {
        Some(b) => b.backend.or(cli.shared.backend.backend),
        None if cli.shared.backend.backend.is_some() => return Err(refuse("--backend")),
        None => None,
    };
    let seed = match takes.seed {
        Some(s) => s.seed.or(cli.shared.seed.seed).unwrap_or(0),
        None if cli.shared.seed.seed.is_some() => return Err(refuse("--seed")),
        None => 0,
    };
    let force = match takes.force {
        Some(f) => f.force || cli.shared.force.force,
        None if cli.shared.force.force => return Err(refuse("--force")),
        None => false,
    };
    let data = match takes.data {
        Some(d) => DataArgs {
            data_dir: d.data_dir.clone().or_else(|| cli.shared.data.data_dir.clone()),
            offline: d.offline || cli.shared.data.offline,
            cifar_url: d.cifar_url.clone().or_else(|| cli.shared.data.cifar_url.clone()),
        },
        None => match cli.shared.data.given() {
            Some(flag) => return Err(refuse(flag)),
            None => DataArgs::default(),
        },
    };
    Ok(Settings { backend, seed, force, data })
}

/// Whether `flag` (without its dashes) is a flag of `nnlab` or of one of its commands.
fn is_flag(flag: &str) -> bool {
    let cli = Cli::command();
    cli.get_arguments().chain(cli.get_subcommands().flat_map(|c| c.get_arguments())).any(|a| a.get_long() == Some(flag))
}

/// A library error as the command line says it: a configuration field becomes its flag.
fn in_flag_terms(e: Error) -> Error {
    match e {
        Error::InvalidArgument { name, message } => {
            let flag = name.replace('_', "-");
            let name = if is_flag(&flag) { format!("--{flag}") } else { name };
            Error::InvalidArgument { name, message }
        }
        other => other,
    }
}

/// Usage errors (a flag or value nnlab cannot use) exit with 2, like clap's; the rest with 1.
fn exit_code(e: &Error) -> u8 {
    match e {
        Error::InvalidArgument { .. } | Error::Spec { .. } | Error::BackendNotCompiled { .. } => 2,
        _ => 1,
    }
}

fn architectures_config(a: &ArchArgs, seed: u64) -> Result<study::architectures::ArchitecturesConfig> {
    let (optimizer, default_lr) = match a.optimizer {
        OptimizerArg::Adam => (OptimizerConfig::Adam, 0.001),
        OptimizerArg::Sgd => (OptimizerConfig::Sgd { momentum: 0.0 }, 0.01),
    };
    let base = TrainConfig {
        optimizer,
        schedule: Schedule::constant(a.lr.unwrap_or(default_lr)),
        record_val: !a.no_val,
        ..TrainConfig::default()
    };
    Ok(study::architectures::ArchitecturesConfig {
        archs: parse_arch_list(&a.arch)?,
        activation: a.activation,
        seeds: a.cifar.seeds,
        train: a.cifar.train(base, seed),
        data: a.cifar.split(seed),
    })
}

/// The activation-gradients study `a` asks for: [`study::gradients::RawInputGradients`], in
/// its own directory, for `--input-range 255`.
fn gradients_study(a: &GradArgs, seed: u64) -> Result<Box<dyn study::AnyStudy>> {
    let config = gradients_config(a, seed)?;
    Ok(match a.input_range {
        InputRange::One => Box::new(config),
        InputRange::Raw => Box::new(study::gradients::RawInputGradients::of(config)),
    })
}

fn gradients_config(a: &GradArgs, seed: u64) -> Result<study::gradients::GradientsConfig> {
    let input_scale = match a.input_range {
        InputRange::One => InputScale::Normalized,
        InputRange::Raw => InputScale::Raw255,
    };
    let base = study::gradients::GradientsConfig::default();
    Ok(study::gradients::GradientsConfig {
        archs: parse_arch_list(&a.arch)?,
        seeds: a.cifar.seeds,
        train: a.cifar.train(TrainConfig { schedule: Schedule::constant(a.lr), ..base.train }, seed),
        data: nnlab::data::SplitConfig { input_scale, ..a.cifar.split(seed) },
        log_scale: !a.linear_scale,
        ..base
    })
}

fn learning_rate_config(a: &LrArgs, seed: u64) -> Result<study::learning_rate::LearningRateConfig> {
    let base = study::learning_rate::LearningRateConfig::default();
    Ok(study::learning_rate::LearningRateConfig {
        arch: nnlab::model::ArchSpec::parse(&a.arch)?,
        seeds: a.cifar.seeds,
        epochs: a.cifar.epochs.unwrap_or(base.epochs),
        schedule_epochs: a.schedule_epochs,
        switch_steps: a.switch_steps.clone(),
        plateau: study::plateau::PlateauRule {
            window: a.plateau_window,
            patience: a.plateau_patience,
            min_delta: a.plateau_min_delta,
        },
        train: a.cifar.train(base.train, seed),
        adam: a.cifar.train(base.adam, seed),
        data: a.cifar.split(seed),
        ..base
    })
}

fn xor_config(a: &XorArgs, seed: u64) -> Result<study::xor::XorStudyConfig> {
    Ok(study::xor::XorStudyConfig {
        activations: parse_activation_list(&a.activation)?,
        seeds: a.seeds,
        run: XorTrainConfig {
            mode: a.mode,
            epochs: a.epochs.unwrap_or(if a.mode == XorMode::Full { 10_000 } else { 100 }),
            lr: a.lr,
            hidden: a.hidden,
            seed,
            data: nnlab::xor::XorDataConfig {
                train_samples: a.train_samples,
                val_samples: a.val_samples,
                noise_std: a.noise_std,
            },
            ..XorTrainConfig::default()
        },
    })
}

fn all_config(a: &AllArgs, seed: u64) -> Result<study::all::AllConfig> {
    let mut config = if a.quick { study::all::AllConfig::quick() } else { study::all::AllConfig::default() };
    let studies = &mut config.studies;
    studies.xor.seeds = a.seeds;
    studies.architectures.seeds = a.seeds;
    studies.gradients.seeds = a.seeds;
    studies.raw_input_gradients.0.seeds = a.seeds;
    studies.learning_rate.seeds = a.seeds;
    if let Some(archs) = &a.arch {
        config.studies.architectures.archs = parse_arch_list(archs)?;
        config.studies.gradients.archs = config.studies.architectures.archs.clone();
        config.studies.raw_input_gradients.0.archs = config.studies.architectures.archs.clone();
    }
    if let Some(arch) = &a.lr_arch {
        config.studies.learning_rate.arch = nnlab::model::ArchSpec::parse(arch)?;
    }
    Ok(config.with_seed(seed))
}

fn bench_config(a: &BenchArgs, seed: u64) -> Result<nnlab::bench::BenchConfig> {
    Ok(nnlab::bench::BenchConfig {
        archs: parse_arch_list(&a.arch)?,
        warmup: a.warmup,
        iters: a.iters,
        val_images: a.val_images,
        val_iters: a.val_iters,
        eval_batch_size: a.eval_batch_size,
        epoch_steps: (!a.no_epoch).then_some(a.epoch_steps),
        seed,
        ..Default::default()
    })
}

/// What a study command runs: one study, or every study.
enum Work {
    One(Box<dyn AnyStudy>),
    All(Box<study::all::AllConfig>),
}

impl Work {
    fn validate(&self) -> Result<()> {
        match self {
            Work::One(s) => s.validate(),
            Work::All(c) => c.validate(),
        }
    }

    fn plan(&self) -> Plan {
        match self {
            Work::One(s) => Plan::of(s.name(), &[s.as_ref()]),
            Work::All(c) => Plan::of_all(c),
        }
    }
}

/// Runs one command; returns the files it wrote.
fn run(mut cli: Cli, terminal: &Arc<Terminal>) -> Result<Vec<PathBuf>> {
    // `nnlab plan <command> ...` reads the settings of the command it plans.
    let mut planning = None;
    if let Command::Plan(p) = cli.command {
        planning = Some((p.json, p.shards, p.time));
        cli.command = p.command.into();
    }
    let settings = settings(&cli)?;
    let backend = match settings.backend {
        Some(kind) => kind,
        None => BackendKind::preferred()
            .ok_or_else(|| Error::invalid("--backend", "no backend compiled in; build with --features flex"))?,
    };
    if backend == BackendKind::Wgpu {
        quiet_wayland_probe();
    }
    let (save_models, shard, jobs) = match &cli.command {
        Command::Architectures(a) => (a.cifar.save_models, a.cifar.shard, a.cifar.jobs),
        Command::ActivationGradients(a) => (a.cifar.save_models, a.cifar.shard, a.cifar.jobs),
        Command::LearningRate(a) => (a.cifar.save_models, a.cifar.shard, a.cifar.jobs),
        Command::All(a) => (a.save_models, a.shard, a.jobs),
        _ => (false, None, None),
    };
    let jobs = match jobs {
        Some(0) => return Err(Error::invalid("jobs", "0: at least one run must be under way; give 1 or more")),
        Some(n) => n,
        None => 1,
    };
    let mut ctx = StudyContext {
        out: cli.out,
        backend,
        force: settings.force,
        save_models,
        data_source: nnlab::data::DataSource {
            data_dir: settings.data.data_dir,
            cache_dir: None,
            offline: settings.data.offline,
            url: settings.data.cifar_url,
            timeout_secs: None,
        },
        observer: SharedObserver(terminal.clone()),
        shard: None,
        jobs,
        data: Default::default(),
    };
    let seed = settings.seed;
    let (quick, estimate) = match &cli.command {
        Command::All(a) => (a.quick, !a.no_estimate),
        _ => (false, false),
    };
    let work = match cli.command {
        Command::Activations(_) => Work::One(Box::new(study::activations::ActivationsConfig::default())),
        Command::Xor(a) => Work::One(Box::new(xor_config(&a, seed)?)),
        Command::Conv(a) => Work::One(Box::new(study::conv::ConvStudyConfig { input: a.input, kernel: a.kernel })),
        Command::Architectures(a) => Work::One(Box::new(architectures_config(&a, seed)?)),
        Command::ActivationGradients(a) => Work::One(gradients_study(&a, seed)?),
        Command::LearningRate(a) => Work::One(Box::new(learning_rate_config(&a, seed)?)),
        Command::All(a) => Work::All(Box::new(all_config(&a, seed)?)),
        Command::Plan(_) => unreachable!("replaced by the command it plans above"),
        Command::Report => return study::write_report(&ctx.out, &[], &*ctx.observer),
        Command::Eval(a) => {
            let eval = nnlab::inference::evaluate(&a.model, &ctx.data_source, backend, &*ctx.observer)?;
            let files = nnlab::inference::write_evaluation(&ctx.out, &eval)?;
            terminal.finish();
            terminal::say(&nnlab::inference::confusion_table(&eval));
            return Ok(files);
        }
        Command::Predict(a) => {
            let predictions = nnlab::inference::predict(&a.model, &a.images, backend)?;
            for p in &predictions {
                let top: Vec<String> = p.top.iter().map(|(c, prob)| format!("{c} {prob:.3}")).collect();
                terminal::say(&format!("{}: {}", p.image.display(), top.join(", ")));
            }
            let path = ctx.out.join("predict").join("predictions.json");
            nnlab::results::write_json(&path, &predictions)?;
            return Ok(vec![path]);
        }
        Command::Bench(a) => {
            let mut config = bench_config(&a, seed)?;
            let gpu = matches!(backend, BackendKind::Wgpu | BackendKind::Cuda);
            let default_device = if gpu { TorchDevice::Cuda } else { TorchDevice::Cpu };
            config.pytorch_device = a.pytorch_device.unwrap_or(default_device).name().into();
            let python = (a.pytorch != "off").then_some(a.pytorch.as_str());
            let (report, files) = nnlab::bench::run(&ctx.out, backend, &*ctx.observer, &config, python)?;
            terminal.finish();
            terminal::say(&report.markdown());
            return Ok(files);
        }
    };
    work.validate()?;
    if let Some((json, shards, time)) = planning {
        let mut plan = work.plan().split(shards)?;
        if time {
            plan = plan.timed(study::all::measure_rates(backend)?);
        }
        terminal::say(&if json { serde_json::to_string_pretty(&plan).unwrap_or_default() } else { plan.text() });
        return Ok(Vec::new());
    }
    if let Some(shard) = shard {
        ctx.shard = Some(Arc::new(work.plan().assignment(shard)?));
    }
    terminal.note(&format!(
        "backend: {backend}{}; {jobs} run{} at a time{}",
        if settings.backend.is_none() { " (the default: cuda when usable, else the fastest CPU backend)" } else { "" },
        if jobs == 1 { "" } else { "s" },
        if jobs == 1 { "" } else { " (--jobs)" }
    ));
    match work {
        Work::One(one) => one.run(&ctx),
        Work::All(config) if !estimate => study::all::run(&ctx, &config),
        Work::All(config) => {
            let estimate = study::all::estimate(&ctx, &config)?;
            let mut line = format!(
                "nnlab all{}: {} runs on {backend}, {} on this machine (from timing a few training steps and evaluation passes here)",
                shard.map(|s| format!(" --shard {s}")).unwrap_or_default(),
                estimate.runs,
                terminal::about(estimate.seconds)
            );
            if !quick {
                line += &format!(
                    ". `nnlab all --quick` runs the whole pipeline at small scale in {}.",
                    terminal::about(estimate.quick_seconds)
                );
            }
            if estimate.seconds >= 600.0 {
                line += " Stopped part-way, it loses at most the epoch under way: the same command goes on from there.";
            }
            terminal.note(&line);
            study::all::run(&ctx, &config)
        }
    }
}

/// The runtime directory [`quiet_wayland_probe`] makes for this process (removed at exit).
fn private_runtime_dir() -> PathBuf {
    std::env::temp_dir().join(format!("nnlab-runtime-{}", std::process::id()))
}

/// Without `XDG_RUNTIME_DIR`, Vulkan's Wayland probe prints two "error:" lines on stderr
/// while looking for a display nnlab never uses; a private empty runtime directory gives it
/// nothing to find and nothing to say.
fn quiet_wayland_probe() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_some() {
        return;
    }
    let dir = private_runtime_dir();
    #[cfg(unix)]
    let made = {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().mode(0o700).create(&dir).is_ok()
    };
    #[cfg(not(unix))]
    let made = false;
    if made {
        // SAFETY: called before any backend or thread is started; nothing reads the
        // environment concurrently.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let terminal = Arc::new(Terminal::new(cli.quiet));
    let started = std::time::SystemTime::now();
    let result = run(cli, &terminal);
    terminal.finish();
    if std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| d == private_runtime_dir()) {
        let _ = std::fs::remove_dir(private_runtime_dir());
    }
    match result {
        Ok(files) if files.is_empty() => ExitCode::SUCCESS,
        Ok(files) => {
            // Files older than this command were reused, not written.
            let fresh = |f: &PathBuf| std::fs::metadata(f).and_then(|m| m.modified()).is_ok_and(|t| t >= started);
            let written = files.iter().filter(|f| fresh(f)).count();
            let kept = files.len() - written;
            let mut line = format!("wrote {written} file{}", if written == 1 { "" } else { "s" });
            if kept > 0 {
                line += &format!(" (and kept {kept} finished {})", if kept == 1 { "one" } else { "ones" });
            }
            terminal::say(&format!("{line}:"));
            for f in files {
                terminal::say(&format!("  {}", f.display()));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            let e = in_flag_terms(e);
            // Every error's message already includes its cause.
            terminal::say_err(&format!("error: {e}"));
            ExitCode::from(exit_code(&e))
        }
    }
}
