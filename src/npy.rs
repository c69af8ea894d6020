//! Reading and writing NumPy `.npy` files (through the `npyz` crate).
//!
//! nnlab computes in f32; inputs may be uint8, float32 or float64 (what the homework ships),
//! and are converted on read. Output is always float32.

use crate::error::{Error, Result};
use crate::results::write_atomic;
use npyz::{TypeChar, WriterBuilder};
use std::path::Path;

/// An n-dimensional f32 array on the host, row-major (C order).
#[derive(Debug, Clone, PartialEq)]
pub struct HostArray {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// `shape.iter().product()` values in C order.
    pub data: Vec<f32>,
}

impl HostArray {
    /// An array of `shape`; errors if `data` has the wrong length.
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Result<Self> {
        let expected: usize = shape.iter().product();
        if expected != data.len() {
            return Err(Error::Shape(format!("shape {shape:?} needs {expected} values, got {}", data.len())));
        }
        Ok(Self { shape, data })
    }

    /// The shape as a fixed-size array, or an error naming `what` if the rank differs.
    pub fn dims<const D: usize>(&self, what: &str) -> Result<[usize; D]> {
        self.shape.clone().try_into().map_err(|_| {
            Error::Shape(format!(
                "{what} must have {D} dimensions, got {} with shape {:?}",
                self.shape.len(),
                self.shape
            ))
        })
    }
}

/// The largest `.npy` file nnlab reads (4 GiB): far above any input of the conv study, and a
/// bound that keeps a wrong path (a device, `/dev/zero`) from being read until memory runs out.
pub const MAX_NPY_BYTES: u64 = 4 << 30;

/// Reads a `.npy` file of dtype uint8, float32 or float64 (any endianness, C order) as f32.
///
/// Only regular files up to [`MAX_NPY_BYTES`] are read (a FIFO or a device is refused before
/// any byte is read); see [`parse_npy`] for what the contents must be.
pub fn read_npy(path: &Path) -> Result<HostArray> {
    let bad = |message: String| Error::Npy { path: path.to_path_buf(), message };
    let meta = std::fs::metadata(path).map_err(|e| Error::io("cannot read", path, e))?;
    if meta.is_dir() {
        return Err(bad("is a directory, not a .npy file".into()));
    }
    if !meta.is_file() {
        return Err(bad(
            "is not a regular file (a device, FIFO or socket); give a .npy file saved with numpy.save".into()
        ));
    }
    if meta.len() > MAX_NPY_BYTES {
        return Err(bad(format!(
            "is {} bytes; nnlab reads .npy files up to {MAX_NPY_BYTES} bytes (4 GiB)",
            meta.len()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read", path, e))?;
    parse_npy(&bytes, path)
}

/// The `shape` tuple of a `.npy` header as written, when it can be read (`None` leaves the
/// header to npyz, which reports what is wrong with it).
fn header_shape(bytes: &[u8]) -> Option<Vec<u64>> {
    let start = if *bytes.get(6)? == 1 { 10 } else { 12 };
    let header = std::str::from_utf8(bytes.get(start..data_offset(bytes)?.min(bytes.len()))?).ok()?;
    let after = &header[header.find("'shape'")? + "'shape'".len()..];
    let tuple = &after[after.find('(')? + 1..];
    let tuple = &tuple[..tuple.find(')')?];
    tuple.split(',').map(str::trim).filter(|t| !t.is_empty()).map(|t| t.trim_end_matches('L').parse().ok()).collect()
}

/// Where the data of a `.npy` file starts: after the magic string, the version, the header
/// length (2 bytes in version 1, 4 in versions 2 and 3) and the header itself.
fn data_offset(bytes: &[u8]) -> Option<usize> {
    let (len_bytes, start) = match bytes.get(6)? {
        1 => (2, 8),
        2 | 3 => (4, 8),
        _ => return None,
    };
    let field = bytes.get(start..start + len_bytes)?;
    let header = field.iter().rev().fold(0usize, |acc, &b| acc << 8 | b as usize);
    Some(start + len_bytes + header)
}

/// Parses the bytes of a `.npy` file (see [`read_npy`]); `path` names it in error messages.
///
/// The data must be exactly what the header declares (no missing and no extra bytes), and
/// every value finite once converted to f32 (NaN, ±inf and float64 values beyond f32's range
/// are refused with the index of the first one).
pub fn parse_npy(bytes: &[u8], path: &Path) -> Result<HostArray> {
    let bad = |message: String| Error::Npy { path: path.to_path_buf(), message };
    // npyz multiplies the shape without checking: refuse a shape that overflows first.
    if let Some(shape) = header_shape(bytes)
        && shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d)).is_none_or(|n| usize::try_from(n).is_err())
    {
        return Err(bad(format!("shape {shape:?} has more values than this machine can address")));
    }
    let file = npyz::NpyFile::new(bytes)
        .map_err(|e| bad(format!("not a valid .npy file ({e}); save arrays with numpy.save")))?;
    if file.order() == npyz::Order::Fortran {
        return Err(bad("Fortran-ordered arrays are not supported; save with np.ascontiguousarray".into()));
    }
    let shape: Vec<usize> = file.shape().iter().map(|&d| d as usize).collect();
    let count = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| bad(format!("shape {shape:?} has more values than this machine can address")))?;
    let dtype = file.dtype();
    let unsupported = || bad(format!("unsupported dtype {}; nnlab reads uint8, float32 and float64", dtype.descr()));
    let type_str = match &dtype {
        npyz::DType::Plain(ts) => ts.clone(),
        _ => return Err(unsupported()),
    };
    let truncated =
        |e: std::io::Error| bad(format!("truncated or corrupt data: expected {count} values of shape {shape:?} ({e})"));
    // The data's length is known from the header: check it before allocating anything.
    let item = type_str.size_field() as usize;
    let available = data_offset(bytes).and_then(|o| bytes.len().checked_sub(o));
    match (count.checked_mul(item), available) {
        (Some(need), Some(have)) if need == have => {}
        (Some(need), Some(have)) if have > need => {
            return Err(bad(format!(
                "{} bytes after the declared data (shape {shape:?}, {need} bytes of {}); the file is not one array \
                 saved with numpy.save",
                have - need,
                dtype.descr()
            )));
        }
        (need, have) => {
            return Err(bad(format!(
                "truncated or corrupt data: shape {shape:?} of {} needs {} bytes, the file holds {}",
                dtype.descr(),
                need.map_or("more than 2^64".into(), |n| n.to_string()),
                have.map_or("none".into(), |h| h.to_string())
            )));
        }
    }
    let data: Vec<f32> = match (type_str.type_char(), type_str.size_field()) {
        (TypeChar::Uint, 1) => file.into_vec::<u8>().map_err(truncated)?.into_iter().map(f32::from).collect(),
        (TypeChar::Float, 4) => file.into_vec::<f32>().map_err(truncated)?,
        (TypeChar::Float, 8) => file.into_vec::<f64>().map_err(truncated)?.into_iter().map(|v| v as f32).collect(),
        _ => return Err(unsupported()),
    };
    if data.len() != count {
        return Err(truncated(std::io::Error::other(format!("found {}", data.len()))));
    }
    if let Some(i) = data.iter().position(|v| !v.is_finite()) {
        let what = if (TypeChar::Float, 8) == (type_str.type_char(), type_str.size_field()) {
            "NaN, infinite, or beyond float32's range"
        } else {
            "NaN or infinite"
        };
        return Err(bad(format!(
            "value {i} (index {:?} of shape {shape:?}) is {what}; nnlab computes in float32 and needs finite inputs",
            unravel(i, &shape)
        )));
    }
    Ok(HostArray { shape, data })
}

/// The multi-index of flat position `i` in a C-ordered array of `shape`.
fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for (k, &d) in shape.iter().enumerate().rev() {
        if d > 0 {
            index[k] = i % d;
            i /= d;
        }
    }
    index
}

/// Encodes `data` of `shape` as a `.npy` file in memory, with the dtype of `T`
/// (`f32` → float32, `u8` → uint8).
pub fn encode_npy<T: npyz::AutoSerialize + Copy>(shape: &[usize], data: &[T]) -> Result<Vec<u8>> {
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let mut bytes = Vec::new();
    let encode = |bytes: &mut Vec<u8>| -> std::io::Result<()> {
        let mut writer = npyz::WriteOptions::new().default_dtype().shape(&shape).writer(bytes).begin_nd()?;
        writer.extend(data.iter().copied())?;
        writer.finish()
    };
    encode(&mut bytes).map_err(|e| Error::Npy { path: "<memory>".into(), message: e.to_string() })?;
    Ok(bytes)
}

/// Writes `array` to `path` as float32 `.npy`, atomically.
pub fn write_npy_f32(path: &Path, array: &HostArray) -> Result<()> {
    write_atomic(path, &encode_npy(&array.shape, &array.data)?)
}
