//! Trained networks kept on disk and read back on any backend.
//!
//! A saved net is a directory: `model.mpk`, the weights as Burn's named MessagePack record
//! (full precision), and `model.json`, a [`SavedModel`]: the architecture spec, activation and
//! input scaling it needs to be rebuilt and fed, and a few facts about its training. A cnn4 is
//! about 60 kB.

use super::net::Net;
use super::spec::ArchSpec;
use crate::activation::Activation;
use crate::data::InputScale;
use crate::error::{Error, Result};
use burn::module::Module;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder};
use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The format of saved nets this version writes; a newer one is refused on load.
pub const FORMAT: u32 = 1;
/// The weights' file name (Burn adds `.mpk`).
pub const RECORD: &str = "model";
/// The description's file name.
pub const META: &str = "model.json";

/// What a saved net is, beside its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedModel {
    /// [`FORMAT`] when it was written.
    pub format: u32,
    /// The nnlab version that wrote it.
    pub nnlab: String,
    /// The architecture.
    pub spec: ArchSpec,
    /// The activation at every activation layer.
    pub activation: Activation,
    /// How its inputs were scaled in training (and must be for prediction).
    pub input_scale: InputScale,
    /// Trainable parameters.
    pub params: usize,
    /// Test accuracy after training (null if the run diverged).
    #[serde(with = "crate::results::nan_as_null")]
    pub test_acc: f64,
    /// Training seed.
    pub seed: u64,
    /// Training steps.
    pub steps: usize,
}

impl SavedModel {
    /// The description of a net of `spec` with `activation`, trained with `seed` on inputs
    /// scaled as `input_scale`, whose training ended as `outcome` says; written by this nnlab
    /// in the current [`FORMAT`].
    pub fn new(
        spec: ArchSpec,
        activation: Activation,
        input_scale: InputScale,
        seed: u64,
        outcome: &crate::train::TrainOutcome,
    ) -> SavedModel {
        SavedModel {
            format: FORMAT,
            nnlab: env!("CARGO_PKG_VERSION").into(),
            params: spec.param_count(),
            spec,
            activation,
            input_scale,
            test_acc: outcome.test_acc,
            seed,
            steps: outcome.steps,
        }
    }
}

fn recorder() -> NamedMpkFileRecorder<FullPrecisionSettings> {
    NamedMpkFileRecorder::<FullPrecisionSettings>::new()
}

/// Saves `net` described by `meta` into the directory `dir` (replaced as a whole: written
/// beside it, then renamed, so a reader never sees half a model); returns its files.
pub fn save<B: Backend>(net: Net<B>, meta: &SavedModel, dir: &Path) -> Result<Vec<PathBuf>> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io("cannot create directory", parent, e))?;
    let name = dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let staging = parent.join(format!(".nnlab-tmp-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(|e| Error::io("cannot create directory", &staging, e))?;
    net.save_file(staging.join(RECORD), &recorder())
        .map_err(|e| Error::io("cannot write", staging.join(RECORD), std::io::Error::other(e.to_string())))?;
    crate::results::write_json(&staging.join(META), meta)?;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::rename(&staging, dir).map_err(|e| Error::io("cannot write", dir, e))?;
    Ok(vec![dir.join(format!("{RECORD}.mpk")), dir.join(META)])
}

impl<B: Backend> Net<B> {
    /// Reads a net saved by [`save`] from `dir` onto `device`, with its description. Every
    /// problem is an error naming the directory: missing files, a description from a newer
    /// nnlab, a record that is not one, weights whose shapes do not match the spec.
    pub fn load(dir: &Path, device: &B::Device) -> Result<(Net<B>, SavedModel)> {
        let bad = |what: String| Error::Data(format!("model {}: {what}", dir.display()));
        if !dir.is_dir() {
            return Err(bad("no such directory (save nets with --save-models; they go under <study>/models/)".into()));
        }
        let meta_path = dir.join(META);
        if !meta_path.is_file() {
            return Err(bad(format!("no {META}: not a directory written by --save-models")));
        }
        let meta: SavedModel = crate::results::read_json(&meta_path)?;
        if meta.format > FORMAT {
            return Err(bad(format!(
                "saved in format {} by nnlab {}; this nnlab {} reads format {FORMAT} and older: update nnlab",
                meta.format,
                meta.nnlab,
                env!("CARGO_PKG_VERSION")
            )));
        }
        // The spec is checked as if typed by the user (shapes, sizes).
        meta.spec.shapes()?;
        let spec: &ArchSpec = &meta.spec;
        let record = dir.join(format!("{RECORD}.mpk"));
        if !record.is_file() {
            return Err(bad(format!("no {RECORD}.mpk (the weights)")));
        }
        let fresh = Net::<B>::new(spec, meta.activation, device)?;
        let expected: Vec<Vec<usize>> = shapes(&fresh);
        // Burn panics on some malformed records; they are the user's files, so an error.
        let loaded = crate::error::catch_quietly(|| fresh.load_file(dir.join(RECORD), &recorder(), device));
        let net = match loaded {
            Ok(Ok(net)) => net,
            Ok(Err(e)) => return Err(bad(format!("{RECORD}.mpk is not a readable record ({e})"))),
            Err(_) => return Err(bad(format!("{RECORD}.mpk does not fit the spec in {META}"))),
        };
        let found = shapes(&net);
        if found != expected {
            return Err(bad(format!(
                "the weights in {RECORD}.mpk have shapes {found:?}, the spec {} needs {expected:?}",
                spec.notation()
            )));
        }
        Ok((net, meta))
    }
}

/// The shapes of every parameter of `net`, in order.
fn shapes<B: Backend>(net: &Net<B>) -> Vec<Vec<usize>> {
    struct Shapes(Vec<Vec<usize>>);
    impl<B: Backend> burn::module::ModuleVisitor<B> for Shapes {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<burn::tensor::Tensor<B, D>>) {
            self.0.push(param.val().dims().to_vec());
        }
    }
    let mut v = Shapes(Vec::new());
    net.visit(&mut v);
    v.0
}
