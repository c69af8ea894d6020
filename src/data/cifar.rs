//! Reading CIFAR-10 from disk in either official layout, with integrity checks.
//!
//! - binary (`cifar-10-batches-bin/`): `data_batch_1..5.bin`, `test_batch.bin`, each
//!   10 000 records of 1 label byte + 3 072 pixel bytes (R, G, B planes, rows of 32).
//! - python (`cifar-10-batches-py/`): `data_batch_1..5`, `test_batch`, each a pickled dict
//!   with `data` (a uint8 numpy array `[10000, 3072]`, same pixel order) and `labels`.
//!
//! Every problem is an [`Error::Data`] that names the file, what was expected and what was
//! found; nothing is silently skipped.

use crate::error::{Error, Result};
use serde_pickle::{DeOptions, HashableValue, Value};
use std::path::{Path, PathBuf};

/// Pixels per image: 3 channels × 32 × 32.
pub const IMAGE_BYTES: usize = 3 * 32 * 32;
/// Number of classes.
pub const CLASSES: usize = 10;
/// Images per file in the official distribution.
pub const OFFICIAL_RECORDS_PER_FILE: usize = 10_000;
/// The class names, by label.
pub const CLASS_NAMES: [&str; CLASSES] =
    ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

/// Number of labels of each class (labels must be below [`CLASSES`]).
pub fn class_counts(labels: &[u8]) -> [usize; CLASSES] {
    let mut counts = [0; CLASSES];
    for &l in labels {
        counts[l as usize] += 1;
    }
    counts
}

/// Images and labels as stored: `images[i * 3072..]` is image i, planes R, G, B.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawImages {
    /// `len() * 3072` bytes.
    pub images: Vec<u8>,
    /// One label in 0..10 per image.
    pub labels: Vec<u8>,
}

impl RawImages {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Number of images of each class.
    pub fn class_counts(&self) -> [usize; CLASSES] {
        class_counts(&self.labels)
    }
    fn extend(&mut self, other: RawImages) {
        self.images.extend(other.images);
        self.labels.extend(other.labels);
    }
}

/// Which official layout a directory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// `cifar-10-batches-bin/`.
    Binary,
    /// `cifar-10-batches-py/`.
    Python,
}

impl Layout {
    /// The directory name the official archive unpacks to.
    pub fn dir_name(self) -> &'static str {
        match self {
            Layout::Binary => "cifar-10-batches-bin",
            Layout::Python => "cifar-10-batches-py",
        }
    }
    fn train_file(self, k: usize) -> String {
        match self {
            Layout::Binary => format!("data_batch_{k}.bin"),
            Layout::Python => format!("data_batch_{k}"),
        }
    }
    fn test_file(self) -> &'static str {
        match self {
            Layout::Binary => "test_batch.bin",
            Layout::Python => "test_batch",
        }
    }
    /// Whether `dir` itself holds this layout's first training file.
    fn holds(self, dir: &Path) -> bool {
        dir.join(self.train_file(1)).is_file()
    }
}

/// CIFAR-10 as read from disk: 50 000 training and 10 000 test images (official sizes).
#[derive(Debug, Clone, PartialEq)]
pub struct Cifar10 {
    /// The five training files, in order.
    pub train: RawImages,
    /// The test file.
    pub test: RawImages,
    /// The directory the files came from.
    pub dir: PathBuf,
    /// Its layout.
    pub layout: Layout,
}

/// Finds a CIFAR-10 layout in `dir`: the layout directory itself, or its parent.
pub fn find_layout(dir: &Path) -> Option<(PathBuf, Layout)> {
    for layout in [Layout::Binary, Layout::Python] {
        if layout.holds(dir) {
            return Some((dir.to_path_buf(), layout));
        }
        let inner = dir.join(layout.dir_name());
        if layout.holds(&inner) {
            return Some((inner, layout));
        }
    }
    None
}

/// Reads CIFAR-10 from `dir` (either layout, or their parent), expecting the official
/// 10 000 images per file.
pub fn read_dir(dir: &Path) -> Result<Cifar10> {
    read_dir_with(dir, OFFICIAL_RECORDS_PER_FILE)
}

/// Like [`read_dir`] with another number of images per file (for small synthetic copies).
pub fn read_dir_with(dir: &Path, records_per_file: usize) -> Result<Cifar10> {
    if dir.is_file() {
        return Err(Error::Data(format!(
            "{} is a file, not a directory; point --data-dir at the directory that holds \
             cifar-10-batches-bin/ or cifar-10-batches-py/",
            dir.display()
        )));
    }
    let (root, layout) = find_layout(dir).ok_or_else(|| {
        Error::Data(format!(
            "no CIFAR-10 found in {}: expected data_batch_1.bin (binary layout) or data_batch_1 (python layout) \
             in it, or in its cifar-10-batches-bin/ or cifar-10-batches-py/ subdirectory",
            dir.display()
        ))
    })?;
    let read = |name: &str| -> Result<RawImages> {
        let path = root.join(name);
        if !path.is_file() {
            return Err(Error::Data(format!(
                "missing file {} ({} layout needs data_batch_1..5 and test_batch)",
                path.display(),
                layout.dir_name()
            )));
        }
        match layout {
            Layout::Binary => read_binary_file(&path, records_per_file),
            Layout::Python => read_python_file(&path, records_per_file),
        }
    };
    let mut train = RawImages::default();
    for k in 1..=5 {
        train.extend(read(&layout.train_file(k))?);
    }
    let test = read(layout.test_file())?;
    Ok(Cifar10 { train, test, dir: root, layout })
}

fn check_labels(path: &Path, labels: &[u8]) -> Result<()> {
    match labels.iter().position(|&l| l as usize >= CLASSES) {
        Some(i) => Err(Error::Data(format!(
            "{}: image {i} has label {}; CIFAR-10 labels are 0..9 (file corrupt?)",
            path.display(),
            labels[i]
        ))),
        None => Ok(()),
    }
}

/// Reads one binary-layout file of exactly `records` records.
pub fn read_binary_file(path: &Path, records: usize) -> Result<RawImages> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read", path, e))?;
    let record = 1 + IMAGE_BYTES;
    if bytes.len() != records * record {
        return Err(Error::Data(format!(
            "{}: expected {} bytes ({records} records of {record} bytes), found {} bytes{}; \
             the file is truncated or not CIFAR-10 — delete it and download again",
            path.display(),
            records * record,
            bytes.len(),
            if bytes.len() % record == 0 { format!(" ({} records)", bytes.len() / record) } else { String::new() },
        )));
    }
    let mut out = RawImages { images: Vec::with_capacity(records * IMAGE_BYTES), labels: Vec::with_capacity(records) };
    for r in bytes.chunks_exact(record) {
        out.labels.push(r[0]);
        out.images.extend_from_slice(&r[1..]);
    }
    check_labels(path, &out.labels)?;
    Ok(out)
}

/// Reads one python-layout file (a pickled dict with `data` and `labels`).
pub fn read_python_file(path: &Path, records: usize) -> Result<RawImages> {
    let bad = |what: String| Error::Data(format!("{}: {what}", path.display()));
    let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read", path, e))?;
    // numpy arrays are pickled as calls to numpy globals; with those replaced by None the
    // array's state tuple (version, shape, dtype, fortran, raw bytes) remains readable.
    let options = DeOptions::new().replace_unresolved_globals().replace_recursive_structures();
    let value = serde_pickle::value_from_slice(&bytes, options)
        .map_err(|e| bad(format!("not a readable pickle ({e}); expected a CIFAR-10 python batch")))?;
    let Value::Dict(dict) = value else {
        return Err(bad("expected a pickled dict with 'data' and 'labels'".into()));
    };
    let get = |key: &str| {
        dict.iter().find_map(|(k, v)| match k {
            HashableValue::Bytes(b) if b == key.as_bytes() => Some(v),
            HashableValue::String(s) if s == key => Some(v),
            _ => None,
        })
    };
    let data = get("data").ok_or_else(|| bad("no 'data' entry in the pickled dict".into()))?;
    let images = largest_bytes(data).ok_or_else(|| bad("'data' holds no uint8 array".into()))?.clone();
    let labels_value = get("labels").ok_or_else(|| bad("no 'labels' entry in the pickled dict".into()))?;
    let Value::List(list) = labels_value else {
        return Err(bad("'labels' is not a list".into()));
    };
    let labels = list
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::I64(l) if (0..CLASSES as i64).contains(l) => Ok(*l as u8),
            other => Err(bad(format!("image {i} has label {other}; CIFAR-10 labels are 0..9"))),
        })
        .collect::<Result<Vec<u8>>>()?;
    if labels.len() != records || images.len() != records * IMAGE_BYTES {
        return Err(bad(format!(
            "expected {records} images ({} data bytes, {records} labels), found {} data bytes and {} labels",
            records * IMAGE_BYTES,
            images.len(),
            labels.len()
        )));
    }
    Ok(RawImages { images, labels })
}

/// The longest byte string inside a pickled value: the raw buffer of a numpy array.
fn largest_bytes(v: &Value) -> Option<&Vec<u8>> {
    match v {
        Value::Bytes(b) => Some(b),
        Value::Tuple(items) | Value::List(items) => items.iter().filter_map(largest_bytes).max_by_key(|b| b.len()),
        _ => None,
    }
}
