//! Where CIFAR-10 comes from, tried in order: `--data-dir` (or `NNLAB_DATA`), the cache
//! (`~/.cache/nnlab` or the platform's cache directory), then a download of the official
//! archive with its published MD5 checked, unpacked into the cache.

use super::cifar::{Layout, find_layout};
use crate::error::{Error, Result};
use crate::progress::{Observer, Unit};
use md5::{Digest, Md5};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The official binary-version archive and its published MD5.
pub const ARCHIVE_URL: &str = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
/// MD5 of [`ARCHIVE_URL`], as published on the dataset's page.
pub const ARCHIVE_MD5: &str = "c32a1d4ab5d03f1284b67883e8d87530";
/// The environment variable that names a data directory, like `--data-dir`.
pub const DATA_ENV: &str = "NNLAB_DATA";
/// The environment variable that points the download at a mirror, like `--cifar-url`.
pub const URL_ENV: &str = "NNLAB_CIFAR_URL";
/// The environment variable with the download's timeout in seconds.
pub const TIMEOUT_ENV: &str = "NNLAB_DOWNLOAD_TIMEOUT";
/// Seconds the download waits to connect, and for each read, before it gives up.
pub const DEFAULT_TIMEOUT_SECS: u64 = 30;

/// How to find CIFAR-10.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DataSource {
    /// A directory holding either official layout (or their parent); overrides everything.
    pub data_dir: Option<PathBuf>,
    /// Cache directory; `None` means `<platform cache dir>/nnlab`.
    pub cache_dir: Option<PathBuf>,
    /// Never download; fail with instructions instead.
    pub offline: bool,
    /// Where to download the archive from; `None` means `$NNLAB_CIFAR_URL`, else
    /// [`ARCHIVE_URL`]. A mirror must serve the same file (its MD5 is checked).
    #[serde(default)]
    pub url: Option<String>,
    /// Seconds to wait for the connection and for each read of the download; `None` means
    /// `$NNLAB_DOWNLOAD_TIMEOUT`, else [`DEFAULT_TIMEOUT_SECS`].
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

impl DataSource {
    /// The cache directory in use.
    pub fn cache(&self) -> Option<PathBuf> {
        self.cache_dir.clone().or_else(|| dirs::cache_dir().map(|d| d.join("nnlab")))
    }

    /// The URL a download would use.
    pub fn archive_url(&self) -> String {
        self.url
            .clone()
            .or_else(|| std::env::var(URL_ENV).ok().filter(|u| !u.is_empty()))
            .unwrap_or_else(|| ARCHIVE_URL.to_string())
    }

    /// The download's connect and read timeout.
    pub fn timeout(&self) -> std::time::Duration {
        let secs = self
            .timeout_secs
            .or_else(|| std::env::var(TIMEOUT_ENV).ok().and_then(|t| t.trim().parse().ok()))
            .unwrap_or(DEFAULT_TIMEOUT_SECS);
        std::time::Duration::from_secs(secs.max(1))
    }

    /// Finds (or downloads) a directory with CIFAR-10; returns it and its layout.
    pub fn locate(&self, observer: &dyn Observer) -> Result<(PathBuf, Layout)> {
        let named = self
            .data_dir
            .clone()
            .map(|d| (d, "the data directory (data_dir, --data-dir)"))
            .or_else(|| std::env::var_os(DATA_ENV).filter(|v| !v.is_empty()).map(|d| (PathBuf::from(d), DATA_ENV)));
        if let Some((dir, origin)) = named {
            // A directory the user named is used or reported; never silently replaced.
            if dir.is_file() {
                return Err(Error::Data(format!(
                    "{origin} {} is a file, not a directory; point it at the directory that holds \
                     cifar-10-batches-bin/ or cifar-10-batches-py/",
                    dir.display()
                )));
            }
            return find_layout(&dir).ok_or_else(|| {
                Error::Data(format!(
                    "{origin} {}: no CIFAR-10 there (expected cifar-10-batches-bin/ or cifar-10-batches-py/, \
                     or their files data_batch_1..5 and test_batch)",
                    dir.display()
                ))
            });
        }
        let cache = self.cache();
        if let Some(found) = cache.as_deref().and_then(find_layout) {
            return Ok(found);
        }
        let searched = match &cache {
            Some(c) => format!("{DATA_ENV} (unset), cache {}", c.display()),
            None => format!("{DATA_ENV} (unset); no cache directory on this platform"),
        };
        let url = self.archive_url();
        let how = format!(
            "Download {url} yourself and unpack it (tar -xzf) into the cache, or point \
             the data directory (data_dir, --data-dir) or {DATA_ENV} at a directory with cifar-10-batches-bin/ or \
             cifar-10-batches-py/ (torchvision's ./data works)."
        );
        let cache = match cache {
            Some(c) if !self.offline => c,
            _ => return Err(Error::Data(format!("CIFAR-10 not found; searched: {searched}. {how}"))),
        };
        download(&cache, &url, self.timeout(), observer).map_err(|e| {
            Error::Data(format!("CIFAR-10 not found (searched: {searched}) and the download failed: {e}. {how}"))
        })?;
        find_layout(&cache)
            .ok_or_else(|| Error::Data(format!("the downloaded archive did not unpack to {}", cache.display())))
    }
}

/// Lower-case hex of an MD5 digest.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// MD5 of everything `reader` yields, as lower-case hex.
pub fn md5_hex(mut reader: impl Read) -> std::io::Result<String> {
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(hex(&hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

/// Downloads the archive from `url` (the official one or a mirror) into `cache`, checks its
/// MD5 against the published one, and unpacks it there. `timeout` bounds the connection and
/// each read: a server that stops answering is an error, never a hang.
pub fn download(cache: &Path, url: &str, timeout: std::time::Duration, observer: &dyn Observer) -> Result<()> {
    std::fs::create_dir_all(cache).map_err(|e| Error::io("cannot create cache directory", cache, e))?;
    let archive = cache.join("cifar-10-binary.tar.gz");
    if !archive.is_file()
        || md5_hex(std::fs::File::open(&archive).map_err(|e| Error::io("cannot read", &archive, e))?).ok().as_deref()
            != Some(ARCHIVE_MD5)
    {
        fetch(url, &archive, timeout, observer)?;
    }
    let digest = md5_hex(std::fs::File::open(&archive).map_err(|e| Error::io("cannot read", &archive, e))?)
        .map_err(|e| Error::io("cannot read", &archive, e))?;
    if digest != ARCHIVE_MD5 {
        let _ = std::fs::remove_file(&archive);
        return Err(Error::Data(format!(
            "{url}: MD5 {digest} does not match the published {ARCHIVE_MD5}; the partial file was removed, try again"
        )));
    }
    unpack(&archive, cache)
}

/// Streams `url` to `dest` (through a `.part` file), reporting bytes to `observer`.
fn fetch(url: &str, dest: &Path, timeout: std::time::Duration, observer: &dyn Observer) -> Result<()> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_resolve(Some(timeout))
        .timeout_connect(Some(timeout))
        .timeout_per_read(Some(timeout))
        .build()
        .into();
    let waited = timeout.as_secs();
    let failed = |e: &dyn std::fmt::Display| {
        Error::Data(format!("cannot download {url}: {e} (connect and read timeout {waited} s, {TIMEOUT_ENV})"))
    };
    let mut response = agent.get(url).call().map_err(|e| failed(&e))?;
    let total = response.body().content_length().unwrap_or(170_052_171);
    observer.started("CIFAR-10", total, Unit::Bytes, 0.0);
    let mut received = 0u64;
    let part = dest.with_extension("gz.part");
    let mut file = std::fs::File::create(&part).map_err(|e| Error::io("cannot write", &part, e))?;
    let mut reader = response.body_mut().as_reader();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf).map_err(|e| {
            let _ = std::fs::remove_file(&part);
            failed(&format!("interrupted after {received} bytes: {e}"))
        })?;
        if n == 0 {
            break;
        }
        file.write_all(&buf[..n]).map_err(|e| Error::io("cannot write", &part, e))?;
        received += n as u64;
        observer.advanced(received, "downloading");
    }
    observer.finished("");
    file.sync_all().map_err(|e| Error::io("cannot write", &part, e))?;
    std::fs::rename(&part, dest).map_err(|e| Error::io("cannot rename download to", dest, e))
}

/// Unpacks a `.tar.gz` into `dir`.
pub fn unpack(archive: &Path, dir: &Path) -> Result<()> {
    let file = std::fs::File::open(archive).map_err(|e| Error::io("cannot read", archive, e))?;
    tar::Archive::new(flate2::read::GzDecoder::new(file))
        .unpack(dir)
        .map_err(|e| Error::Data(format!("cannot unpack {} into {}: {e}", archive.display(), dir.display())))
}
