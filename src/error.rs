//! The crate's error type: every failure a user can cause is a value with a message that
//! says what was wrong and what to do, never a panic.

use std::path::PathBuf;

/// Everything that can go wrong in nnlab, each variant with a message meant for a person.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag or parameter value is out of its valid range.
    #[error("invalid value for {name}: {message}")]
    InvalidArgument {
        /// The flag or field name, e.g. `--epochs`.
        name: String,
        /// What was wrong and what is accepted.
        message: String,
    },

    /// The backend asked for at run time was not compiled in.
    #[error(
        "backend '{backend}' is not compiled into this build; rebuild with `--features {feature}` \
         (e.g. `cargo run --release --features {feature} -- --backend {backend} ...`)"
    )]
    BackendNotCompiled {
        /// The backend name given by the user.
        backend: String,
        /// The cargo feature that enables it.
        feature: String,
    },

    /// A file could not be read or written.
    #[error("{action} '{path}': {source}")]
    Io {
        /// What was being done, e.g. "cannot write".
        action: String,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying OS error.
        #[source]
        source: std::io::Error,
    },

    /// A `.npy` file is missing, malformed, or has a shape or dtype nnlab cannot use.
    #[error("{path}: {message}")]
    Npy {
        /// The file concerned.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },

    /// Shapes that do not fit together (convolution inputs, layer specs).
    #[error("shape error: {0}")]
    Shape(String),

    /// A dataset is missing, truncated or corrupt.
    #[error("{0}")]
    Data(String),

    /// A study's directory is there but its summary is not: the study has not finished
    /// there (it may still be running, or was interrupted).
    #[error("{} is missing: the study has not finished there", path.display())]
    Unfinished {
        /// The summary file looked for.
        path: PathBuf,
    },

    /// A layer specification could not be parsed or does not fit its input.
    #[error("architecture '{arch}': {message}")]
    Spec {
        /// The architecture name or spec string.
        arch: String,
        /// What was wrong, naming the layer.
        message: String,
    },

    /// A result or config file could not be (de)serialised.
    #[error("JSON error in '{path}': {source}")]
    Json {
        /// The file concerned.
        path: PathBuf,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },

    /// The compute device (GPU driver, backend runtime) reported a failure.
    #[error("the device failed: {0}")]
    Device(String),

    /// Drawing a figure failed.
    #[error("cannot draw figure '{path}': {message}")]
    Plot {
        /// The figure file.
        path: PathBuf,
        /// The plotting backend's message.
        message: String,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::InvalidArgument`] for `name` with `message`.
    pub fn invalid(name: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidArgument { name: name.into(), message: message.into() }
    }

    /// An [`Error::Io`] saying `action` failed on `path`.
    pub fn io(action: impl Into<String>, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { action: action.into(), path: path.into(), source }
    }
}

/// Runs `f`, turning a panic inside it (dependencies such as GPU runtimes and Burn's record
/// loading panic on bad input; nnlab's own code returns errors) into the panic's message.
/// Nothing is printed: the panic hook is silenced while `f` runs, and the first message it
/// saw (from any thread) is returned.
pub(crate) fn catch_quietly<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    use std::sync::{Arc, Mutex};
    let messages: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = messages.clone();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panicked without a message".into());
        seen.lock().unwrap_or_else(|p| p.into_inner()).push(text);
    }));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    let first = messages.lock().unwrap_or_else(|p| p.into_inner()).first().cloned();
    result.map_err(|_| first.unwrap_or_else(|| "panicked without a message".into()))
}

/// Checks that a number given by the user is strictly positive.
pub fn ensure_positive<T: PartialOrd + Default + std::fmt::Display>(name: &str, value: T) -> Result<T> {
    if value > T::default() {
        Ok(value)
    } else {
        Err(Error::invalid(name, format!("must be greater than 0, got {value}")))
    }
}

/// Checks that a float given by the user is finite and strictly positive.
pub fn ensure_positive_finite(name: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(Error::invalid(name, format!("must be a finite number greater than 0, got {value}")))
    }
}
