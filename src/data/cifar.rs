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
        // Exists rather than is_file: a directory in its place is then reported by name.
        dir.join(self.train_file(1)).exists()
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
        if path.is_dir() {
            return Err(Error::Data(format!(
                "{} is a directory; the {} layout needs a file there (data_batch_1..5 and test_batch)",
                path.display(),
                layout.dir_name()
            )));
        }
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
    // Sized for all five files at once: growing it file by file copies it again each time.
    let mut train = RawImages {
        images: Vec::with_capacity(5 * records_per_file * IMAGE_BYTES),
        labels: Vec::with_capacity(5 * records_per_file),
    };
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
    let record = 1 + IMAGE_BYTES;
    let meta = std::fs::metadata(path).map_err(|e| Error::io("cannot read", path, e))?;
    if !meta.is_file() {
        return Err(Error::Data(format!("{} is not a regular file; CIFAR-10 files are plain files", path.display())));
    }
    // The size is known: a wrong file is refused before it is read.
    let bytes = if meta.len() == (records * record) as u64 {
        std::fs::read(path).map_err(|e| Error::io("cannot read", path, e))?
    } else {
        Vec::new()
    };
    let found = if bytes.is_empty() { meta.len() as usize } else { bytes.len() };
    if bytes.len() != records * record {
        return Err(Error::Data(format!(
            "{}: expected {} bytes ({records} records of {record} bytes), found {} bytes{}; \
             the file is truncated or not CIFAR-10 — delete it and download again",
            path.display(),
            records * record,
            found,
            if found % record == 0 { format!(" ({} records)", found / record) } else { String::new() },
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
    let meta = std::fs::metadata(path).map_err(|e| Error::io("cannot read", path, e))?;
    if !meta.is_file() {
        return Err(bad("not a regular file; CIFAR-10 files are plain files".into()));
    }
    let size = meta.len();
    if size > MAX_PYTHON_BATCH_BYTES {
        return Err(bad(format!(
            "{size} bytes; a CIFAR-10 python batch of {records} images is about {} bytes",
            records * (IMAGE_BYTES + 40)
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read", path, e))?;
    check_pickle_structure(&bytes)
        .map_err(|why| bad(format!("not a readable pickle ({why}); expected a CIFAR-10 python batch")))?;
    // numpy arrays are pickled as calls to numpy globals; with those replaced by None the
    // array's state tuple (version, shape, dtype, fortran, raw bytes) remains readable.
    // keep_restore_state: numpy's protocol-5 pickles build the array by calling
    // `_frombuffer(buffer, dtype, shape, order)`; its arguments (the buffer) are kept.
    let options = DeOptions::new().replace_unresolved_globals().replace_recursive_structures().keep_restore_state();
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

/// The largest python-layout file read (a real batch is about 31 MB).
const MAX_PYTHON_BATCH_BYTES: u64 = 256 << 20;

/// Most containers (lists, dicts, tuples, marks, calls) a python batch may build: a real one
/// builds fewer than a hundred. Nesting can be no deeper, so reading stays within the stack.
const MAX_PICKLE_CONTAINERS: usize = 10_000;

/// Walks the opcodes of a pickle without running it, and refuses what a CIFAR-10 batch never
/// holds: more than [`MAX_PICKLE_CONTAINERS`] containers (a deeply nested pickle would
/// otherwise overflow the stack while it is converted), out-of-band buffers (protocol 5's
/// `NEXT_BUFFER`), and opcodes that are not pickle opcodes at all.
fn check_pickle_structure(bytes: &[u8]) -> std::result::Result<(), String> {
    let mut pos = 0usize;
    let mut containers = 0usize;
    let take = |pos: &mut usize, n: usize| -> std::result::Result<(), String> {
        *pos = pos.checked_add(n).filter(|&p| p <= bytes.len()).ok_or("the pickle ends in the middle of an opcode")?;
        Ok(())
    };
    let length = |pos: &mut usize, n: usize| -> std::result::Result<usize, String> {
        let field = bytes.get(*pos..*pos + n).ok_or("the pickle ends in the middle of an opcode")?;
        *pos += n;
        Ok(field.iter().rev().fold(0usize, |acc, &b| acc.saturating_mul(256).saturating_add(b as usize)))
    };
    let line = |pos: &mut usize| -> std::result::Result<(), String> {
        let end = bytes[*pos..].iter().position(|&b| b == b'\n').ok_or("the pickle ends inside a text argument")?;
        *pos += end + 1;
        Ok(())
    };
    while pos < bytes.len() {
        let op = bytes[pos];
        pos += 1;
        match op {
            b'.' => return Ok(()),
            // Containers and calls: each can add one level of nesting.
            b'(' | b']' | b'}' | b')' | b'l' | b'd' | b't' | b'\x85' | b'\x86' | b'\x87' | b'R' | b'b' | b'o'
            | b'\x81' | b'\x92' | b'\x8f' | b'\x91' => {
                containers += 1;
                if containers > MAX_PICKLE_CONTAINERS {
                    return Err(format!(
                        "the pickle builds more than {MAX_PICKLE_CONTAINERS} containers (nested or repeated \
                         structures a CIFAR-10 batch does not have)"
                    ));
                }
            }
            // No argument.
            b'N' | b'\x88' | b'\x89' | b'0' | b'1' | b'2' | b'a' | b'e' | b's' | b'u' | b'\x90' | b'\x93' | b'\x94'
            | b'Q' | b'\x98' => {}
            b'\x97' => return Err("the pickle refers to out-of-band buffers (protocol 5 NEXT_BUFFER)".into()),
            // Text arguments ended by a newline (two lines for GLOBAL and INST).
            b'I' | b'L' | b'F' | b'S' | b'V' | b'g' | b'p' | b'P' => line(&mut pos)?,
            b'c' | b'i' => {
                line(&mut pos)?;
                line(&mut pos)?;
                if op == b'i' {
                    containers += 1;
                }
            }
            // Fixed-size arguments.
            b'K' | b'h' | b'q' | b'\x80' | b'\x82' => take(&mut pos, 1)?,
            b'M' | b'\x83' => take(&mut pos, 2)?,
            b'J' | b'j' | b'r' | b'\x84' => take(&mut pos, 4)?,
            b'G' | b'\x95' => take(&mut pos, 8)?,
            // Length-prefixed arguments.
            b'U' | b'C' | b'\x8c' | b'\x8a' => {
                let n = length(&mut pos, 1)?;
                take(&mut pos, n)?;
            }
            b'T' | b'X' | b'B' | b'\x8b' => {
                let n = length(&mut pos, 4)?;
                take(&mut pos, n)?;
            }
            b'\x8d' | b'\x8e' | b'\x96' => {
                let n = length(&mut pos, 8)?;
                take(&mut pos, n)?;
            }
            other => return Err(format!("byte {other:#04x} at offset {} is not a pickle opcode", pos - 1)),
        }
    }
    Err("the pickle has no STOP opcode (truncated?)".into())
}

/// The longest byte string inside a pickled value: the raw buffer of a numpy array.
fn largest_bytes(v: &Value) -> Option<&Vec<u8>> {
    match v {
        Value::Bytes(b) => Some(b),
        Value::Tuple(items) | Value::List(items) => items.iter().filter_map(largest_bytes).max_by_key(|b| b.len()),
        _ => None,
    }
}
