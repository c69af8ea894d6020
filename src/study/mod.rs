//! The studies. Each is one module that owns its whole life: its configuration (the
//! homework protocol by default, [`Study::quick`] for a small run, [`Study::validate`]),
//! the runs it plans with their cost ([`Study::plan`]), running them ([`Study::run`]), and
//! its section of the report ([`Study::report`]), which takes file names from the same code
//! that writes them.
//!
//! [`Studies`] is the one list of studies: `nnlab all` runs it, `nnlab report` reads it,
//! and the CLI dispatches through [`AnyStudy`], the same trait with the backend chosen at
//! run time. Adding a study is a module implementing [`Study`] plus a field of [`Studies`]
//! and its entry in [`Studies::each`] (docs/GUIDE.md shows how).

pub mod activations;
pub mod all;
pub mod architectures;
pub mod cifar_runs;
pub mod concurrent;
pub mod conv;
pub mod findings;
pub mod gradients;
pub mod learning_rate;
pub mod plan;
pub mod plateau;
pub mod xor;

use crate::backend::{BackendKind, BackendTask, TrainBackend, run_task};
use crate::error::Result;
use crate::progress::SharedObserver;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::path::{Path, PathBuf};

/// What every study needs to know besides its own config.
#[derive(Debug, Clone)]
pub struct StudyContext {
    /// The root output directory; each study writes to `<out>/<study>/`.
    pub out: PathBuf,
    /// The backend runs use.
    pub backend: BackendKind,
    /// Recompute runs whose results already exist.
    pub force: bool,
    /// Keep every trained CIFAR-10 net under `<study>/models/<run>/` (see
    /// [`crate::model::saved`]); a finished run without its saved net is then trained again.
    pub save_models: bool,
    /// Where CIFAR-10 comes from (for the studies that train on it).
    pub data_source: crate::data::DataSource,
    /// Who hears about progress (nothing is printed by the library).
    pub observer: SharedObserver,
    /// When set, this process performs only its shard's runs ([`plan::Assignment`]): runs
    /// of other shards are reused when finished and skipped otherwise, and studies leave
    /// their summaries and figures to [`write_report`], which merges every shard's results.
    pub shard: Option<std::sync::Arc<plan::Assignment>>,
    /// Runs performed at the same time, each on its own thread ([`concurrent`]); 1 runs
    /// them one after the other.
    pub jobs: usize,
    /// CIFAR-10 splits already on the device, shared by every run of the process.
    pub data: crate::train::DataCache,
}

impl StudyContext {
    /// A context writing under `out` on `backend`: finished runs reused, CIFAR-10 from the
    /// default places, progress reported to nobody.
    pub fn new(out: impl Into<PathBuf>, backend: BackendKind) -> Self {
        StudyContext {
            out: out.into(),
            backend,
            force: false,
            save_models: false,
            data_source: crate::data::DataSource::default(),
            observer: SharedObserver::default(),
            shard: None,
            jobs: 1,
            data: Default::default(),
        }
    }

    /// `<out>/<study>`.
    pub fn dir(&self, study: &str) -> PathBuf {
        self.out.join(study)
    }
}

/// One run a study plans, with its expected work (see [`cost`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedRun {
    /// The run's label, as its progress is reported.
    pub label: String,
    /// What the work is made of.
    pub work: cost::Work,
    /// The run within its study: its result file under `<out>/<study>/` without `.json`
    /// (`cnn4_seed0`, `runs/cnn4_lr0.1_seed0`); a study that runs as one piece names its
    /// single task after itself.
    #[serde(default)]
    pub id: String,
    /// Runs of the same study (their ids) whose results this one needs before it starts.
    #[serde(default)]
    pub needs: Vec<String>,
    /// Everything that determines a CIFAR-10 run's result, when it is known before the run
    /// starts (a schedule whose switch steps are detected on another run's curves has
    /// none): two planned runs with equal keys are one run.
    #[serde(skip)]
    pub key: Option<cifar_runs::RunKey>,
}

impl PlannedRun {
    /// A run labelled `label` that does `work`, identified as `id` within its study.
    pub fn new(label: impl Into<String>, work: cost::Work, id: impl Into<String>) -> Self {
        PlannedRun { label: label.into(), work, id: id.into(), needs: Vec::new(), key: None }
    }

    /// The same run, known to produce the result of `key`.
    pub fn keyed(self, key: cifar_runs::RunKey) -> Self {
        PlannedRun { key: Some(key), ..self }
    }

    /// The same run, started only once the runs `ids` (of the same study) have finished.
    pub fn needing(self, ids: Vec<String>) -> Self {
        PlannedRun { needs: ids, ..self }
    }

    /// Expected work in [`cost`] units.
    pub fn cost(&self) -> f64 {
        self.work.cost()
    }
}

/// Expected cost of work, in multiply-adds, with a fixed charge per step for what does not
/// scale with the arithmetic (launches, allocation, bookkeeping). Only ratios matter: the
/// overall progress of `nnlab all` and its time estimate count these units.
pub mod cost {
    use crate::data::SplitConfig;
    use crate::model::ArchSpec;
    use crate::train::TrainConfig;
    use serde::{Deserialize, Serialize};

    /// What one training step or evaluation batch costs beyond its arithmetic.
    pub const STEP_OVERHEAD: f64 = 1e7;
    /// What one epoch of the XOR MLP costs (a few small ops on 1 000 points).
    pub const XOR_EPOCH: f64 = 2e6;

    /// Work of a run: arithmetic, and the counts of what costs time whatever its size. A
    /// machine's time for it is `macs · a + steps · b + xor_epochs · c`, with `a`, `b`, `c`
    /// measured there ([`crate::study::all::estimate`]).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
    pub struct Work {
        /// Multiply-adds of training steps.
        pub macs: f64,
        /// Training steps.
        pub steps: f64,
        /// Epochs of the XOR MLP.
        pub xor_epochs: f64,
        /// Multiply-adds of evaluation passes (validation and test): a GPU runs these large
        /// batches at a far higher rate per multiply-add than a 50-image training step.
        #[serde(default)]
        pub eval_macs: f64,
        /// Evaluation batches.
        #[serde(default)]
        pub eval_batches: f64,
    }

    impl Work {
        /// The work as one number: multiply-adds, with [`STEP_OVERHEAD`] per training step or
        /// evaluation batch and [`XOR_EPOCH`] per XOR epoch.
        pub fn cost(&self) -> f64 {
            self.macs + self.eval_macs + (self.steps + self.eval_batches) * STEP_OVERHEAD + self.xor_epochs * XOR_EPOCH
        }
    }

    impl std::ops::Add for Work {
        type Output = Work;
        fn add(self, o: Work) -> Work {
            Work {
                macs: self.macs + o.macs,
                steps: self.steps + o.steps,
                xor_epochs: self.xor_epochs + o.xor_epochs,
                eval_macs: self.eval_macs + o.eval_macs,
                eval_batches: self.eval_batches + o.eval_batches,
            }
        }
    }

    impl std::ops::Mul<f64> for Work {
        type Output = Work;
        /// The work `times` times over.
        fn mul(self, times: f64) -> Work {
            Work {
                macs: self.macs * times,
                steps: self.steps * times,
                xor_epochs: self.xor_epochs * times,
                eval_macs: self.eval_macs * times,
                eval_batches: self.eval_batches * times,
            }
        }
    }

    impl std::iter::Sum for Work {
        fn sum<I: Iterator<Item = Work>>(iter: I) -> Work {
            iter.fold(Work::default(), |a, b| a + b)
        }
    }

    /// Training, validation and test images of `split` (CIFAR-10: 50 000 + 10 000).
    pub fn split_sizes(split: &SplitConfig) -> [usize; 3] {
        let val = (50_000.0 * split.val_fraction).round() as usize;
        let cap = |n: usize, max: Option<usize>| max.map_or(n, |m| m.min(n));
        [cap(50_000 - val, split.max_train), cap(val, split.max_val), cap(10_000, split.max_test)]
    }

    /// A pass of `arch` over `images` in batches of `batch`.
    pub fn evaluation(arch: &ArchSpec, images: usize, batch: usize) -> Work {
        Work {
            eval_macs: images as f64 * arch.forward_macs() as f64,
            eval_batches: images.div_ceil(batch.max(1)) as f64,
            ..Work::default()
        }
    }

    /// One training step of `arch` on `batch` images (forward and backward ≈ 3 forwards).
    pub fn train_step(arch: &ArchSpec, batch: usize) -> Work {
        Work { macs: 3.0 * batch as f64 * arch.forward_macs() as f64, steps: 1.0, ..Work::default() }
    }

    /// A whole CIFAR-10 run: its steps, the validation passes at record points, the test pass.
    pub fn cifar_run(arch: &ArchSpec, train: &TrainConfig, split: &SplitConfig) -> Work {
        let [n_train, n_val, n_test] = split_sizes(split);
        let per_epoch = n_train.div_ceil(train.batch_size.max(1));
        let steps = per_epoch * train.epochs;
        let records = steps.div_ceil(train.record_every.max(1));
        let mut work = train_step(arch, train.batch_size) * steps as f64;
        if train.record_val {
            work = work + evaluation(arch, n_val, train.eval_batch_size) * records as f64;
        }
        work + evaluation(arch, n_test, train.eval_batch_size)
    }
}

/// A study: a configuration that knows how to run itself and report what it found.
pub trait Study: Clone + std::fmt::Debug + Default + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Its directory under `<out>` and its `nnlab` subcommand, e.g. `architectures`.
    const NAME: &'static str;
    /// Its heading in the report.
    const TITLE: &'static str;
    /// The `nnlab` command line that runs it, without the common flags: its name, unless it
    /// is a variant of another study's command.
    const COMMAND: &'static str = Self::NAME;
    /// Whether its runs may be split among shards ([`plan`]): each run is its own result
    /// file, and [`Study::merge`] rebuilds the summaries from them. A study that is not
    /// runs as one piece, in one shard.
    const SHARDED: bool = false;

    /// The same study at small scale (`nnlab all --quick`): minutes on a CPU.
    fn quick() -> Self;

    /// Checks every value before any work is done.
    fn validate(&self) -> Result<()>;

    /// The runs it will perform, in order, with their expected cost.
    fn plan(&self) -> Vec<PlannedRun>;

    /// Sets the base seed of its runs.
    fn set_seed(&mut self, seed: u64);

    /// Runs it on backend `B` (studies without training use `B::InnerBackend`); returns the
    /// files written.
    fn run<B: TrainBackend>(&self, ctx: &StudyContext, device: &B::Device) -> Result<Vec<PathBuf>>;

    /// Its report section (Markdown, links relative to `out`) from the files a run left in
    /// `<out>/<NAME>`, or `None` when there are none.
    fn report(out: &Path) -> Result<Option<String>>;

    /// Rebuilds its summaries and figures in `<out>/<NAME>` from the run results there:
    /// how [`write_report`] merges what shards wrote. Runs missing (a shard not finished)
    /// are left out with a warning to `observer`. Studies that are not [`Study::SHARDED`]
    /// have nothing to merge.
    fn merge(&self, _out: &Path, _observer: &dyn crate::progress::Observer) -> Result<Vec<PathBuf>> {
        Ok(Vec::new())
    }
}

/// A [`Study`] behind a trait object, with the backend picked at run time from the context.
pub trait AnyStudy: Send + Sync {
    /// [`Study::NAME`].
    fn name(&self) -> &'static str;
    /// [`Study::TITLE`].
    fn title(&self) -> &'static str;
    /// [`Study::COMMAND`].
    fn command(&self) -> &'static str;
    /// [`Study::validate`].
    fn validate(&self) -> Result<()>;
    /// [`Study::plan`].
    fn plan(&self) -> Vec<PlannedRun>;
    /// [`Study::set_seed`].
    fn set_seed(&mut self, seed: u64);
    /// Replaces the configuration with [`Study::quick`].
    fn make_quick(&mut self);
    /// Validates, then runs [`Study::run`] on `ctx.backend`.
    fn run(&self, ctx: &StudyContext) -> Result<Vec<PathBuf>>;
    /// [`Study::report`].
    fn report(&self, out: &Path) -> Result<Option<String>>;
    /// [`Study::SHARDED`].
    fn sharded(&self) -> bool;
    /// When shards wrote `<out>/<name>` ([`plan::SHARDS_DIR`] is there): [`Study::merge`]
    /// with the configuration they recorded in its `config.json`; otherwise nothing.
    fn merge_shards(&self, out: &Path, observer: &dyn crate::progress::Observer) -> Result<Vec<PathBuf>>;
    /// Finishes a [`Study::SHARDED`] study once the workers of [`concurrent::run`] are done:
    /// as a shard, its record with what they did (`work`); otherwise [`Study::merge`], the
    /// summaries and figures a single worker would have written; then `config.json`.
    /// Studies that run as one piece finished in their worker: nothing to do.
    fn finish_workers(&self, ctx: &StudyContext, work: plan::ShardWork) -> Result<Vec<PathBuf>>;
}

impl<S: Study> AnyStudy for S {
    fn name(&self) -> &'static str {
        S::NAME
    }
    fn title(&self) -> &'static str {
        S::TITLE
    }
    fn command(&self) -> &'static str {
        S::COMMAND
    }
    fn validate(&self) -> Result<()> {
        Study::validate(self)
    }
    fn plan(&self) -> Vec<PlannedRun> {
        Study::plan(self)
    }
    fn set_seed(&mut self, seed: u64) {
        Study::set_seed(self, seed)
    }
    fn make_quick(&mut self) {
        *self = S::quick();
    }
    fn run(&self, ctx: &StudyContext) -> Result<Vec<PathBuf>> {
        /// The study on whichever backend [`run_task`] picks.
        struct OnBackend<'a, S>(&'a S, &'a StudyContext);
        impl<S: Study> BackendTask for OnBackend<'_, S> {
            type Output = Vec<PathBuf>;
            fn run<B: TrainBackend>(self, device: B::Device, _: BackendKind) -> Result<Vec<PathBuf>> {
                self.0.run::<B>(self.1, &device)
            }
        }
        Study::validate(self)?;
        if ctx.jobs > 1 && S::SHARDED {
            return Ok(concurrent::run(ctx, S::NAME, &[self])?.files);
        }
        if let Some(assignment) = &ctx.shard
            && !S::SHARDED
        {
            // A study that runs as one piece: all in the shard (or worker) that owns it, or
            // not at all.
            let plan = Study::plan(self);
            if !plan.first().is_some_and(|p| assignment.owns(&plan::job_id(S::NAME, &p.id))) {
                for p in plan.iter().map(|p| (p, plan::job_id(S::NAME, &p.id))) {
                    if !assignment.done_in_this_process(&p.1) {
                        ctx.observer.skipped(&p.0.label, p.0.cost(), &assignment.why_not(&p.1));
                    }
                }
                return Ok(Vec::new());
            }
        }
        run_task(ctx.backend, OnBackend(self, ctx))
    }
    fn report(&self, out: &Path) -> Result<Option<String>> {
        S::report(out)
    }
    fn sharded(&self) -> bool {
        S::SHARDED
    }
    fn merge_shards(&self, out: &Path, observer: &dyn crate::progress::Observer) -> Result<Vec<PathBuf>> {
        if !S::SHARDED || !out.join(S::NAME).join(plan::SHARDS_DIR).is_dir() {
            return Ok(Vec::new());
        }
        let config: S = crate::results::read_json(&out.join(S::NAME).join("config.json"))?;
        config.merge(out, observer)
    }
    fn finish_workers(&self, ctx: &StudyContext, work: plan::ShardWork) -> Result<Vec<PathBuf>> {
        if !S::SHARDED {
            return Ok(Vec::new());
        }
        let dir = StudyDir::open(ctx, S::NAME, self)?;
        let mut files = match &ctx.shard {
            Some(assignment) => vec![plan::write_shard_record(&dir.path, assignment, work)?],
            None => self.merge(&ctx.out, &*ctx.observer)?,
        };
        dir.finish(self, &mut files)?;
        Ok(files)
    }
}

/// Every study, in the homework's order: the list `nnlab all` runs and `nnlab report` reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Studies {
    /// Part 1.1.
    pub activations: activations::ActivationsConfig,
    /// Parts 1.2–1.3.
    pub xor: xor::XorStudyConfig,
    /// Part 2.
    pub conv: conv::ConvStudyConfig,
    /// Part 3.
    pub architectures: architectures::ArchitecturesConfig,
    /// Part 4.
    pub gradients: gradients::GradientsConfig,
    /// Part 4's question: the same with inputs in [0, 255].
    #[serde(default)]
    pub raw_input_gradients: gradients::RawInputGradients,
    /// Part 5.
    pub learning_rate: learning_rate::LearningRateConfig,
}

impl Studies {
    /// Each study, in order.
    pub fn each(&self) -> [&dyn AnyStudy; 7] {
        [
            &self.activations,
            &self.xor,
            &self.conv,
            &self.architectures,
            &self.gradients,
            &self.raw_input_gradients,
            &self.learning_rate,
        ]
    }

    /// Each study, in order, to change.
    pub fn each_mut(&mut self) -> [&mut dyn AnyStudy; 7] {
        [
            &mut self.activations,
            &mut self.xor,
            &mut self.conv,
            &mut self.architectures,
            &mut self.gradients,
            &mut self.raw_input_gradients,
            &mut self.learning_rate,
        ]
    }

    /// Every study's [`Study::quick`] configuration.
    pub fn quick() -> Self {
        let mut s = Studies::default();
        s.each_mut().into_iter().for_each(|s| s.make_quick());
        s
    }

    /// The names of every study, in order.
    pub fn names() -> Vec<&'static str> {
        Studies::default().each().iter().map(|s| s.name()).collect()
    }
}

/// Whether `out` holds the results of any study.
pub fn has_results(out: &Path) -> bool {
    Studies::names().iter().any(|s| out.join(s).is_dir())
}

/// Writes `<out>/report.md` and `report.html` from whatever studies have results in `out`:
/// each study's [`Study::report`] section, in the order of [`Studies`] (see
/// [`crate::report::write`] for `header`). An `out` without results is an error.
pub fn write_report(out: &Path, header: &[String], observer: &dyn crate::progress::Observer) -> Result<Vec<PathBuf>> {
    if !has_results(out) {
        return Err(crate::error::Error::invalid(
            "out",
            format!("'{}' holds no study results; run a study into the same output directory first", out.display()),
        ));
    }
    let mut sections: Vec<(String, String)> = Vec::new();
    // Studies with a section that says why they are not in it.
    let mut left_out: Vec<String> = Vec::new();
    let mut merged = Vec::new();
    for s in Studies::default().each() {
        let section = s.merge_shards(out, observer).and_then(|files| {
            merged.extend(files);
            s.report(out)
        });
        match section {
            Ok(Some(section)) => sections.push((s.title().to_string(), section)),
            Ok(None) => {}
            Err(e) => {
                // Why it is left out, and what its section says instead.
                let (why, body) = if let crate::error::Error::Unfinished { .. } = e {
                    let dir = out.join(s.name());
                    let done = cifar_runs::runs_in(&dir).len() + cifar_runs::runs_in(&dir.join("runs")).len();
                    (
                        format!("it has not finished: {done} runs done"),
                        format!(
                            "**Not finished yet**: {done} of its runs are done (they count in the Findings and the \
                             time table above). Run `nnlab {}` into this directory to finish it (finished runs \
                             are reused, an interrupted one goes on from its last epoch), then `nnlab report`.\n\n",
                            s.command()
                        ),
                    )
                } else {
                    (
                        e.to_string(),
                        format!(
                            "**Not included: its results could not be read.** {e}. Run `nnlab {}` again into this \
                             directory (finished runs are reused), then `nnlab report`.\n\n",
                            s.command()
                        ),
                    )
                };
                observer.warning(&format!("the report leaves out {}: {why}", s.name()));
                sections.push((s.title().to_string(), body));
                left_out.push(format!("{} ({why})", s.name()));
            }
        }
    }
    if sections.len() == left_out.len() {
        return Err(crate::error::Error::Data(format!(
            "no study in '{}' could be read: {}; the report was not written (a previous one is kept)",
            out.display(),
            left_out.join("; ")
        )));
    }
    let unreadable: Vec<String> = Studies::default()
        .each()
        .iter()
        .flat_map(|s| [out.join(s.name()), out.join(s.name()).join("runs")])
        .flat_map(|dir| cifar_runs::unreadable_runs_in(&dir))
        .collect();
    if !unreadable.is_empty() {
        let (n, one) = (unreadable.len(), unreadable.len() == 1);
        observer.warning(&format!(
            "{n} run file{} could not be read and {} left out of the findings and the time table (running its \
             study again into this directory trains {} again): {}",
            if one { "" } else { "s" },
            if one { "is" } else { "are" },
            if one { "that run" } else { "those runs" },
            unreadable.join("; ")
        ));
    }
    if let Some(md) = cifar_runs::time_section(out) {
        sections.insert(0, ("Where and how long the training ran".to_string(), md));
    }
    let found = findings::findings(out);
    let mut files = merged;
    if let Some(md) = findings::section(&found) {
        sections.insert(0, ("Findings".to_string(), md));
        let path = out.join(FINDINGS);
        crate::results::write_json(&path, &found)?;
        files.push(path);
    }
    files.extend(crate::report::write(out, header, &sections)?);
    Ok(files)
}

/// `<out>/findings.json`: the report's claims, tested ([`findings::Finding`]).
pub const FINDINGS: &str = "findings.json";

/// The study `name`'s result file `file` under `out`: `Ok(None)` when the study never ran
/// there (no directory), an error naming the file when the directory is there but the file
/// is missing (the study did not finish) or cannot be read.
pub(crate) fn study_file<T: DeserializeOwned>(out: &Path, name: &str, file: &str) -> Result<Option<T>> {
    let dir = out.join(name);
    if !dir.is_dir() {
        return Ok(None);
    }
    let path = dir.join(file);
    if !path.exists() {
        return Err(crate::error::Error::Unfinished { path });
    }
    crate::results::read_json(&path).map(Some)
}

/// The plan of a study that is one small task (no training): its name, one overhead of cost.
pub(crate) fn single_task(name: &str) -> Vec<PlannedRun> {
    vec![PlannedRun::new(name, cost::Work { steps: 1.0, ..Default::default() }, name)]
}

/// Runs `work` as the one task of `plan` (see [`single_task`]), reporting its start and end.
pub(crate) fn as_single_task<T>(
    ctx: &StudyContext,
    plan: &[PlannedRun],
    work: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let task = &plan[0];
    ctx.observer.started(&task.label, 1, crate::progress::Unit::Steps, task.cost());
    let out = work()?;
    ctx.observer.finished("");
    Ok(out)
}

/// Writes a study's `config.json` into `dir` and returns its path.
pub(crate) fn write_config<S: Serialize>(dir: &Path, config: &S) -> Result<PathBuf> {
    let path = dir.join("config.json");
    crate::results::write_json(&path, config)?;
    Ok(path)
}

/// A study's output directory, prepared (created, writable, stale temporary files removed)
/// and held against writers with other settings for as long as the study runs.
pub(crate) struct StudyDir {
    /// The directory, `<out>/<study>`.
    pub path: PathBuf,
    _lock: crate::results::DirLock,
}

impl StudyDir {
    /// Prepares and takes `<out>/<name>` for `config`.
    pub fn open<S: Serialize>(ctx: &StudyContext, name: &str, config: &S) -> Result<StudyDir> {
        let path = crate::results::prepare_dir(&ctx.dir(name))?;
        let json = serde_json::to_vec(config).unwrap_or_default();
        let fingerprint = crate::data::source::md5_hex(json.as_slice()).unwrap_or_default();
        Ok(StudyDir { _lock: crate::results::DirLock::acquire(&path, &fingerprint)?, path })
    }

    /// Writes `config.json` once every result is written, so a failed or interrupted attempt
    /// never leaves a configuration that disagrees with the results beside it; adds it to
    /// `files`.
    pub fn finish<S: Serialize>(&self, config: &S, files: &mut Vec<PathBuf>) -> Result<()> {
        files.insert(0, write_config(&self.path, config)?);
        Ok(())
    }

    /// Ends a shard's part of the study: its record under [`plan::SHARDS_DIR`] (what it
    /// trained and reused), then `config.json`, which [`AnyStudy::merge_shards`] reads. A
    /// worker of several ([`plan::Workers`]) only adds what it did to theirs: the process
    /// finishes the study once every worker is done ([`AnyStudy::finish_workers`]).
    pub fn finish_shard<S: Serialize>(
        &self,
        assignment: &plan::Assignment,
        config: &S,
        done: plan::ShardWork,
        files: &mut Vec<PathBuf>,
    ) -> Result<()> {
        if let Some(workers) = assignment.workers() {
            let study = self.path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            workers.add_work(&study, done);
            return Ok(());
        }
        files.push(plan::write_shard_record(&self.path, assignment, done)?);
        self.finish(config, files)
    }
}

/// Reads the `config.json` a study wrote into `<out>/<name>`, if it is there and readable.
pub(crate) fn read_config<S: DeserializeOwned>(out: &Path, name: &str) -> Option<S> {
    crate::results::read_json(&out.join(name).join("config.json")).ok()
}

/// A line linking a study's `config.json` (every run's full configuration is also in its
/// own result file).
pub(crate) fn config_link(out: &Path, name: &str) -> String {
    if out.join(name).join("config.json").exists() {
        format!("Configuration: [`{name}/config.json`]({name}/config.json); each run's result file holds its own.\n\n")
    } else {
        String::new()
    }
}

/// A Markdown image line for `rel` (relative to `out`), or nothing when the file is missing.
pub(crate) fn figure(out: &Path, rel: &str, alt: &str) -> String {
    if out.join(rel).exists() { format!("![{alt}]({rel})\n\n") } else { String::new() }
}
