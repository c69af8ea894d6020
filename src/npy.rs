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

/// Reads a `.npy` file of dtype uint8, float32 or float64 (any endianness, C order) as f32.
pub fn read_npy(path: &Path) -> Result<HostArray> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read", path, e))?;
    parse_npy(&bytes, path)
}

/// Parses the bytes of a `.npy` file (see [`read_npy`]); `path` names it in error messages.
pub fn parse_npy(bytes: &[u8], path: &Path) -> Result<HostArray> {
    let bad = |message: String| Error::Npy { path: path.to_path_buf(), message };
    let file = npyz::NpyFile::new(bytes)
        .map_err(|e| bad(format!("not a valid .npy file ({e}); save arrays with numpy.save")))?;
    if file.order() == npyz::Order::Fortran {
        return Err(bad("Fortran-ordered arrays are not supported; save with np.ascontiguousarray".into()));
    }
    let shape: Vec<usize> = file.shape().iter().map(|&d| d as usize).collect();
    let count: usize = shape.iter().product();
    let dtype = file.dtype();
    let unsupported = || bad(format!("unsupported dtype {}; nnlab reads uint8, float32 and float64", dtype.descr()));
    let type_str = match &dtype {
        npyz::DType::Plain(ts) => ts.clone(),
        _ => return Err(unsupported()),
    };
    let truncated =
        |e: std::io::Error| bad(format!("truncated or corrupt data: expected {count} values of shape {shape:?} ({e})"));
    let data: Vec<f32> = match (type_str.type_char(), type_str.size_field()) {
        (TypeChar::Uint, 1) => file.into_vec::<u8>().map_err(truncated)?.into_iter().map(f32::from).collect(),
        (TypeChar::Float, 4) => file.into_vec::<f32>().map_err(truncated)?,
        (TypeChar::Float, 8) => file.into_vec::<f64>().map_err(truncated)?.into_iter().map(|v| v as f32).collect(),
        _ => return Err(unsupported()),
    };
    if data.len() != count {
        return Err(truncated(std::io::Error::other(format!("found {}", data.len()))));
    }
    Ok(HostArray { shape, data })
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
