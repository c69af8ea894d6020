//! Writing and reading result files safely.
//!
//! Every file nnlab produces goes through [`write_atomic`]: the bytes are written to a
//! temporary file in the same directory, flushed, then renamed over the target, so an
//! interrupted run never leaves a half-written result behind. Temporary files carry the
//! writer's process id, so the ones a killed process leaves are removed the next time the
//! directory is prepared; [`DirLock`] keeps two configurations from writing one study at once.

use crate::error::{Error, Result};
use serde::{Serialize, de::DeserializeOwned};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Creates `dir` (and parents) and checks that files can be created in it.
pub fn prepare_dir(dir: &Path) -> Result<PathBuf> {
    // The nearest existing ancestor must be a directory (a file given as --out is a common slip).
    if let Some(existing) = dir.ancestors().find(|p| p.exists())
        && !existing.is_dir()
    {
        return Err(Error::io(
            "output path is not a directory",
            existing,
            std::io::Error::other("it is a file; choose a directory with --out"),
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create output directory", dir, e))?;
    // Probe writability now, so a read-only directory fails before any work is done.
    temp_file(dir).map_err(|e| Error::io("output directory is not writable (choose another with --out)", dir, e))?;
    remove_stale_temp_files(dir);
    Ok(dir.to_path_buf())
}

/// Prefix of nnlab's temporary files: `.nnlab-tmp-<pid>-<random>`.
const TEMP_PREFIX: &str = ".nnlab-tmp-";

/// A temporary file in `dir` named after this process, so that one left behind by a killed
/// process can be recognised and removed ([`remove_stale_temp_files`]).
fn temp_file(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new().prefix(&format!("{TEMP_PREFIX}{}-", std::process::id())).tempfile_in(dir)
}

/// Age after which a temporary file or a lock is taken as left behind, whoever wrote it.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Whether the file `path` was last modified more than [`STALE_AFTER`] ago.
fn stale(path: &Path) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > STALE_AFTER)
}

/// Whether process `pid` is running. On Linux from `/proc`; elsewhere every process is taken
/// as running (temporary files are then removed only once a day old).
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") { Path::new("/proc").join(pid.to_string()).exists() } else { true }
}

/// Removes temporary files in `dir` left by nnlab processes that are gone (killed while
/// writing, e.g. by `kill -9`), and any older than a day. Files of running processes stay.
pub fn remove_stale_temp_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(TEMP_PREFIX)) else { continue };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        let orphan = pid.is_some_and(|p| p != std::process::id() && !process_alive(p));
        if orphan || stale(&entry.path()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The lock file of a study directory.
pub const LOCK_FILE: &str = ".nnlab-lock";

/// Who holds a study directory: a process and the fingerprint of its configuration.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct LockOwner {
    pid: u32,
    fingerprint: String,
}

/// A study directory held by this process while it writes there with one configuration.
///
/// Processes with the same configuration may share a directory (they write the same runs,
/// each atomically); a process with another configuration is refused while the holder runs,
/// so results and `config.json` never mix two settings. Released on drop.
#[derive(Debug)]
pub struct DirLock {
    path: PathBuf,
    owner: LockOwner,
}

impl DirLock {
    /// Takes `dir` for a configuration whose fingerprint is `fingerprint`; an error names the
    /// process that holds it with another configuration.
    pub fn acquire(dir: &Path, fingerprint: &str) -> Result<DirLock> {
        let path = dir.join(LOCK_FILE);
        let owner = LockOwner { pid: std::process::id(), fingerprint: fingerprint.to_string() };
        if let Ok(held) = read_json::<LockOwner>(&path) {
            let live = held.pid != owner.pid && process_alive(held.pid) && !stale(&path);
            if live && held.fingerprint != owner.fingerprint {
                return Err(Error::io(
                    "another nnlab is writing this study with other settings in",
                    dir,
                    std::io::Error::other(format!(
                        "process {} holds it; wait for it to finish or choose another output directory \
                         (if no nnlab is running, delete {})",
                        held.pid,
                        path.display()
                    )),
                ));
            }
        }
        let mut holders = lock_holders();
        write_json(&path, &owner)?;
        match holders.iter_mut().find(|(p, _)| *p == path) {
            Some((_, count)) => *count += 1,
            None => holders.push((path.clone(), 1)),
        }
        Ok(DirLock { path, owner })
    }
}

/// How many [`DirLock`]s of this process hold each lock file (concurrent workers of one
/// process each hold the study directory they write in); the file goes with the last.
fn lock_holders() -> std::sync::MutexGuard<'static, Vec<(PathBuf, usize)>> {
    static HOLDERS: std::sync::Mutex<Vec<(PathBuf, usize)>> = std::sync::Mutex::new(Vec::new());
    HOLDERS.lock().unwrap_or_else(|p| p.into_inner())
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let mut holders = lock_holders();
        if let Some(i) = holders.iter().position(|(p, _)| *p == self.path) {
            holders[i].1 -= 1;
            if holders[i].1 > 0 {
                return;
            }
            holders.swap_remove(i);
        }
        // Only our own lock is removed (another process with the same settings may have
        // taken it over meanwhile).
        if read_json::<LockOwner>(&self.path).is_ok_and(|o| o == self.owner) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes `bytes` to `path` atomically (temporary file in the same directory, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create directory", dir, e))?;
    let mut tmp = temp_file(dir).map_err(|e| Error::io("cannot write in", dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io("cannot write", path, e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io("cannot write", path, e))?;
    // Temporary files are private (0600); results are ordinary files others may read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644));
    }
    tmp.persist(path).map_err(|e| Error::io("cannot write", path, e.error))?;
    Ok(())
}

/// Serialises `value` as pretty JSON and writes it atomically to `path`.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|source| Error::Json { path: path.into(), source })?;
    write_atomic(path, &bytes)
}

/// Reads a JSON file written by [`write_json`].
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read", path, e))?;
    serde_json::from_slice(&bytes).map_err(|source| Error::Json { path: path.into(), source })
}

/// Mean, standard deviation (population), min and max of a list of numbers. Written to JSON
/// with `null` for a value that is not a number (no values, or all NaN) and read back so.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    /// Arithmetic mean.
    #[serde(with = "nan_as_null")]
    pub mean: f64,
    /// Population standard deviation.
    #[serde(with = "nan_as_null")]
    pub std: f64,
    /// Smallest value.
    #[serde(with = "nan_as_null")]
    pub min: f64,
    /// Largest value.
    #[serde(with = "nan_as_null")]
    pub max: f64,
}

impl Stats {
    /// Summary of `values`; NaNs are ignored; all-NaN or empty gives NaNs.
    pub fn of(values: &[f64]) -> Stats {
        let v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
        if v.is_empty() {
            return Stats { mean: f64::NAN, std: f64::NAN, min: f64::NAN, max: f64::NAN };
        }
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        Stats {
            mean,
            std: var.sqrt(),
            min: v.iter().copied().fold(f64::INFINITY, f64::min),
            max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

/// Serde helpers that store non-finite numbers as JSON `null` and read `null` back as NaN,
/// so that the results of diverged runs (a NaN loss, NaN weights) read back: for an `f32` or
/// `f64`, or lists of them nested to any depth (`#[serde(with = "crate::results::nan_as_null")]`).
pub mod nan_as_null {
    use serde::de::DeserializeOwned;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// A number, or a list of [`Nullable`]s, with its form where non-finite numbers are `None`.
    pub trait Nullable: Sized {
        /// The same shape with `Option` numbers.
        type Stored: Serialize + DeserializeOwned;
        /// Non-finite numbers as `None`.
        fn to_stored(&self) -> Self::Stored;
        /// `None` as NaN.
        fn from_stored(stored: Self::Stored) -> Self;
    }

    macro_rules! nullable_float {
        ($t:ty) => {
            impl Nullable for $t {
                type Stored = Option<$t>;
                fn to_stored(&self) -> Option<$t> {
                    self.is_finite().then_some(*self)
                }
                fn from_stored(stored: Option<$t>) -> $t {
                    stored.unwrap_or(<$t>::NAN)
                }
            }
        };
    }
    nullable_float!(f32);
    nullable_float!(f64);

    impl<T: Nullable> Nullable for Vec<T> {
        type Stored = Vec<T::Stored>;
        fn to_stored(&self) -> Self::Stored {
            self.iter().map(T::to_stored).collect()
        }
        fn from_stored(stored: Self::Stored) -> Self {
            stored.into_iter().map(T::from_stored).collect()
        }
    }

    /// Writes the value, non-finite numbers as `null`.
    pub fn serialize<T: Nullable, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        value.to_stored().serialize(s)
    }

    /// Reads the value, `null` as NaN.
    pub fn deserialize<'de, T: Nullable, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        T::Stored::deserialize(d).map(T::from_stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_skip_nans_and_round_trip_through_json_even_without_values() {
        // [1, 2, 3, 4]: mean 2.5, population variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25.
        let s = Stats::of(&[4.0, f64::NAN, 1.0, 3.0, 2.0]);
        assert_eq!((s.mean, s.min, s.max), (2.5, 1.0, 4.0));
        assert!((s.std - 1.25f64.sqrt()).abs() < 1e-15);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stats.json");
        write_json(&path, &s).unwrap();
        assert_eq!(read_json::<Stats>(&path).unwrap(), s);
        // A run set with no finite value (every run diverged, or no validation recorded) is
        // written as nulls and must read back, as NaNs, for the report.
        let none = Stats::of(&[f64::NAN]);
        write_json(&path, &none).unwrap();
        assert!(std::fs::read_to_string(&path).unwrap().contains("\"mean\": null"));
        let back: Stats = read_json(&path).unwrap();
        assert!([back.mean, back.std, back.min, back.max].iter().all(|v| v.is_nan()), "{back:?}");
    }

    #[test]
    fn nested_lists_keep_their_shape_with_non_finite_numbers_as_null() {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Weights {
            #[serde(with = "nan_as_null")]
            w: Vec<Vec<f32>>,
        }
        let w = Weights { w: vec![vec![1.5, f32::NAN], vec![], vec![f32::INFINITY, -2.0]] };
        let json = serde_json::to_string(&w).unwrap();
        assert_eq!(json, r#"{"w":[[1.5,null],[],[null,-2.0]]}"#);
        let back: Weights = serde_json::from_str(&json).unwrap();
        assert_eq!(back.w.iter().map(Vec::len).collect::<Vec<_>>(), [2, 0, 2]);
        assert_eq!((back.w[0][0], back.w[2][1]), (1.5, -2.0));
        assert!(back.w[0][1].is_nan() && back.w[2][0].is_nan());
    }
}
