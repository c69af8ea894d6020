//! Epoch checkpoints: a run that stops part-way (the process killed, the machine shut down)
//! continues from its last finished epoch instead of from the start.
//!
//! With [`Checkpoints`] the loop ([`super::trainer::train_resumable`]) writes, at the end of
//! every epoch but the last, the net's weights and the optimiser's state (Burn's MessagePack
//! records, full precision) and the curves so far into one directory. Started again with the
//! same directory and the same identity (the caller's description of the run: for the
//! studies, the run's key), the loop loads them and goes on with the next epoch. Nothing else
//! in a run is random once the weights are drawn (each epoch's batch order comes from the seed
//! and the epoch), so the resumed run takes exactly the steps the uninterrupted one would
//! (tests/suite/model.rs checks the curves and the test accuracy to the last digit on ndarray).
//! A cnn4 checkpoint is about 60 kB; an MLP's with Adam's moments about 1.2 MB.

use super::trainer::Curves;
use crate::error::{Error, Result};
use crate::results::{read_json, write_json};
use burn::module::AutodiffModule;
use burn::optim::Optimizer;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder};
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The format of checkpoints this version writes; other formats are not resumed from.
const FORMAT: u32 = 1;
/// The description's file name.
const STATE: &str = "state.json";

/// Where a run keeps its checkpoint, and what run it is (see the module docs).
#[derive(Debug, Clone)]
pub struct Checkpoints {
    dir: PathBuf,
    identity: serde_json::Value,
}

/// Where a resumed run stood when its checkpoint was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resumed {
    /// Epochs finished.
    pub epochs: usize,
    /// Steps taken.
    pub step: usize,
    /// Seconds of training before the checkpoint (the resumed run's clock goes on from there).
    pub seconds: f64,
    /// The curves recorded up to the checkpoint.
    pub curves: Curves,
}

/// The description of a checkpoint, written last (the weights' files are named by epoch, so
/// it never points at half-written ones).
#[derive(Debug, Serialize, Deserialize)]
struct State {
    format: u32,
    identity: serde_json::Value,
    /// The optimiser's type (its record fits only its own kind: Burn's Adam and Adam over all
    /// parameters keep their moments differently).
    #[serde(default)]
    optimizer: String,
    #[serde(flatten)]
    at: Resumed,
}

fn recorder() -> NamedMpkFileRecorder<FullPrecisionSettings> {
    NamedMpkFileRecorder::<FullPrecisionSettings>::new()
}

fn files(dir: &Path, epochs: usize) -> (PathBuf, PathBuf) {
    (dir.join(format!("net-epoch{epochs}")), dir.join(format!("optimizer-epoch{epochs}")))
}

impl Checkpoints {
    /// Checkpoints in `dir` of the run described by `identity` (anything that tells runs
    /// apart: a checkpoint of another identity is never resumed from). Include the backend
    /// when runs of one configuration may train on several: the optimiser's state of one
    /// backend does not fit another's (loading it is an error).
    pub fn new(dir: impl Into<PathBuf>, identity: &impl Serialize) -> Result<Self> {
        let dir = dir.into();
        let identity = serde_json::to_value(identity).map_err(|source| Error::Json { path: dir.clone(), source })?;
        Ok(Checkpoints { dir, identity })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the checkpoint in the directory stands, if it is one of this run that this
    /// version can resume (a missing, unreadable or foreign one is `None`: the run starts afresh).
    pub fn saved(&self) -> Option<Resumed> {
        self.state().map(|s| s.at)
    }

    /// The description of the checkpoint in the directory, if it is one of this run.
    fn state(&self) -> Option<State> {
        let state: State = read_json(&self.dir.join(STATE)).ok()?;
        (state.format == FORMAT && state.identity == self.identity).then_some(state)
    }

    /// Removes the checkpoint (once the run's result is kept, or to start afresh).
    pub fn clear(&self) -> Result<()> {
        match std::fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("cannot remove", &self.dir, e)),
            _ => Ok(()),
        }
    }

    /// Writes `model` and `optim` after `at.epochs` epochs, then drops the previous epoch's
    /// files (the loop saves every epoch in turn, so they are those of `at.epochs - 1`).
    pub(crate) fn save<B: AutodiffBackend, M: AutodiffModule<B>, O: Optimizer<M, B>>(
        &self,
        model: &M,
        optim: &O,
        at: Resumed,
    ) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io("cannot create directory", &self.dir, e))?;
        let (net, opt) = files(&self.dir, at.epochs);
        let failed = |path: &Path, e: burn::record::RecorderError| {
            Error::io("cannot write", path, std::io::Error::other(e.to_string()))
        };
        model.clone().save_file(&net, &recorder()).map_err(|e| failed(&net, e))?;
        Recorder::<B>::record(&recorder(), optim.to_record(), opt.clone()).map_err(|e| failed(&opt, e))?;
        // On disk before the description points at them (a power cut must not leave a
        // description of empty files).
        for file in [net.with_extension("mpk"), opt.with_extension("mpk")] {
            std::fs::File::open(&file).and_then(|f| f.sync_all()).map_err(|e| Error::io("cannot write", &file, e))?;
        }
        let previous = at.epochs.checked_sub(1);
        let optimizer = std::any::type_name::<O>().to_string();
        write_json(&self.dir.join(STATE), &State { format: FORMAT, identity: self.identity.clone(), optimizer, at })?;
        if let Some(epochs) = previous {
            let (net, opt) = files(&self.dir, epochs);
            let _ = std::fs::remove_file(net.with_extension("mpk"));
            let _ = std::fs::remove_file(opt.with_extension("mpk"));
        }
        Ok(())
    }

    /// `model` and `optim` as the checkpoint of this run left them, with where it stood; as
    /// they are, with `None`, when there is none. A checkpoint that is there but cannot be
    /// read, or whose optimiser state another optimiser type wrote, is an error naming its
    /// directory.
    pub(crate) fn resume<B: AutodiffBackend, M: AutodiffModule<B>, O: Optimizer<M, B>>(
        &self,
        model: M,
        optim: O,
        device: &B::Device,
    ) -> Result<(M, O, Option<Resumed>)> {
        let Some(state) = self.state() else { return Ok((model, optim, None)) };
        let (net, opt) = files(&self.dir, state.at.epochs);
        let bad = |what: &str| {
            Error::Data(format!(
                "the checkpoint in {} cannot be read ({what}); delete that directory to train the run from the start",
                self.dir.display()
            ))
        };
        if state.optimizer != std::any::type_name::<O>() {
            return Err(bad(&format!(
                "its optimiser state was written by {}, this run trains with {}: another backend \
                 (give the backend in the identity to keep their checkpoints apart)",
                state.optimizer,
                std::any::type_name::<O>()
            )));
        }
        let loaded = crate::error::catch_quietly(|| {
            let model = model.load_file(&net, &recorder(), device).map_err(|e| e.to_string())?;
            let record =
                Recorder::<B>::load::<O::Record>(&recorder(), opt.clone(), device).map_err(|e| e.to_string())?;
            Ok::<_, String>((model, optim.load_record(record)))
        });
        match loaded {
            Ok(Ok((model, optim))) => Ok((model, optim, Some(state.at))),
            Ok(Err(e)) => Err(bad(&e)),
            Err(_) => Err(bad("its records do not fit this net")),
        }
    }
}
