//! Architectures as data, in the homework's own notation.
//!
//! A spec is a list of layers, written as the homework writes them, e.g. cnn3 is
//! `Conv-3×3×16, ReLU, Conv-5×5×8, ReLU, MaxPool-2×2, Conv-7×7×16, MaxPool-2×2` followed by
//! the prediction layer FC10. The same text is accepted in a compact ASCII form:
//! `conv3x3x16,relu,conv5x5x8,relu,maxpool2,conv7x7x16,maxpool2`.
//!
//! | token | layer |
//! |---|---|
//! | `fcN` / `FC-N` | fully connected, N outputs (flattens an image input) |
//! | `fcN-nobias` / `FC-N (no bias)` | the same without bias |
//! | `convKxKxN` / `Conv-K×K×N` | convolution, K×K kernel (K×L also), N filters, stride 1, no padding |
//! | `maxpoolK` / `MaxPool-K×K` | max pooling K×K, stride K |
//! | `relu` / `act` | the network's activation (ReLU by default; a parameter, see [`crate::Activation`]) |
//!
//! The prediction layer FC10 is appended unless the spec already ends with `fc10`.
//! Shapes are checked against the 3×32×32 input when the spec is built, with an error
//! that names the offending layer.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One layer of a spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "type")]
pub enum LayerSpec {
    /// Fully connected layer.
    Fc {
        /// Output features.
        out: usize,
        /// Whether it has a bias.
        bias: bool,
    },
    /// Convolution, stride 1, valid padding, with bias.
    Conv {
        /// Kernel height.
        kh: usize,
        /// Kernel width.
        kw: usize,
        /// Output channels.
        out: usize,
    },
    /// Max pooling with a square window and stride equal to its size.
    MaxPool {
        /// Window size (and stride).
        size: usize,
    },
    /// The network's activation function.
    Act,
}

impl fmt::Display for LayerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LayerSpec::Fc { out, bias: true } => write!(f, "FC-{out}"),
            LayerSpec::Fc { out, bias: false } => write!(f, "FC-{out} (no bias)"),
            LayerSpec::Conv { kh, kw, out } => write!(f, "Conv-{kh}×{kw}×{out}"),
            LayerSpec::MaxPool { size } => write!(f, "MaxPool-{size}×{size}"),
            LayerSpec::Act => write!(f, "ReLU"),
        }
    }
}

/// The shape of the tensor between two layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Shape {
    /// Channels, height, width.
    Image(usize, usize, usize),
    /// Features.
    Flat(usize),
}

impl Shape {
    /// Number of values per example.
    pub fn size(self) -> usize {
        match self {
            Shape::Image(c, h, w) => c * h * w,
            Shape::Flat(n) => n,
        }
    }

    /// Number of values per example, or `None` if it overflows `usize`.
    pub fn checked_size(self) -> Option<usize> {
        match self {
            Shape::Image(c, h, w) => c.checked_mul(h)?.checked_mul(w),
            Shape::Flat(n) => Some(n),
        }
    }
}

/// The most values a layer may output per image, and the most weights it may hold (2^31):
/// far beyond what a CIFAR-10 net needs, and within the index range of every backend.
pub const MAX_LAYER_VALUES: usize = 1 << 31;

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Image(c, h, w) => write!(f, "{c}×{h}×{w}"),
            Shape::Flat(n) => write!(f, "{n}"),
        }
    }
}

/// The CIFAR-10 input shape.
pub const INPUT: Shape = Shape::Image(3, 32, 32);
/// Number of classes (the prediction layer's outputs).
pub const CLASSES: usize = 10;

/// A named architecture: its layers, the prediction layer included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchSpec {
    /// `mlp1` … `cnn5`, or the spec text for a user-defined one.
    pub name: String,
    /// Every layer, ending with the prediction layer FC10.
    pub layers: Vec<LayerSpec>,
}

/// The homework's five networks, in its notation (prediction layer FC10 appended).
pub const BUILTIN: [(&str, &str); 5] = [
    ("mlp1", "FC-32, ReLU"),
    ("mlp2", "FC-32, ReLU, FC-64 (no bias)"),
    ("cnn3", "Conv-3×3×16, ReLU, Conv-5×5×8, ReLU, MaxPool-2×2, Conv-7×7×16, MaxPool-2×2"),
    ("cnn4", "Conv-3×3×16, ReLU, Conv-3×3×8, ReLU, Conv-5×5×16, ReLU, MaxPool-2×2, Conv-5×5×16, ReLU, MaxPool-2×2"),
    (
        "cnn5",
        "Conv-3×3×8, ReLU, Conv-3×3×16, ReLU, Conv-3×3×8, ReLU, Conv-3×3×16, ReLU, MaxPool-2×2, \
         Conv-3×3×16, ReLU, Conv-3×3×8, ReLU, MaxPool-2×2",
    ),
];

fn parse_layer(token: &str) -> Option<LayerSpec> {
    // Normalise the homework's notation to the compact one.
    let t: String = token
        .to_lowercase()
        .replace(['×', '*'], "x")
        .replace("(no bias)", "nobias")
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '_')
        .collect();
    let nums = |s: &str| -> Option<Vec<usize>> { s.split('x').map(|p| p.parse().ok().filter(|&v| v > 0)).collect() };
    if t == "relu" || t == "act" {
        return Some(LayerSpec::Act);
    }
    if let Some(rest) = t.strip_prefix("fc") {
        let (n, bias) = match rest.strip_suffix("nobias") {
            Some(n) => (n, false),
            None => (rest, true),
        };
        return n.parse().ok().filter(|&v| v > 0).map(|out| LayerSpec::Fc { out, bias });
    }
    if let Some(rest) = t.strip_prefix("maxpool") {
        return match nums(rest)?.as_slice() {
            [k] => Some(LayerSpec::MaxPool { size: *k }),
            [a, b] if a == b => Some(LayerSpec::MaxPool { size: *a }),
            _ => None,
        };
    }
    if let Some(rest) = t.strip_prefix("conv") {
        return match nums(rest)?.as_slice() {
            [kh, kw, out] => Some(LayerSpec::Conv { kh: *kh, kw: *kw, out: *out }),
            _ => None,
        };
    }
    None
}

impl ArchSpec {
    /// One of the built-in networks by name, or a spec string (see the module docs).
    pub fn parse(text: &str) -> Result<ArchSpec> {
        let text = text.trim();
        if let Some((name, spec)) = BUILTIN.iter().find(|(n, _)| n.eq_ignore_ascii_case(text)) {
            return Self::from_layers(name, spec);
        }
        if !text.contains(',') && parse_layer(text).is_none() {
            let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
            return Err(Error::Spec {
                arch: text.into(),
                message: format!(
                    "unknown architecture; use one of {} or a layer list like \"conv3x3x16,relu,maxpool2,fc10\"",
                    names.join(", ")
                ),
            });
        }
        Self::from_layers(text, text)
    }

    /// Parses a comma-separated layer list under `name`, appends FC10 and checks shapes.
    pub fn from_layers(name: &str, spec: &str) -> Result<ArchSpec> {
        let mut layers = Vec::new();
        for (i, token) in spec.split(',').map(str::trim).filter(|t| !t.is_empty()).enumerate() {
            let layer = parse_layer(token).ok_or_else(|| Error::Spec {
                arch: name.into(),
                message: format!(
                    "layer {} '{token}' is not understood; expected fcN, fcN-nobias, convKxKxN, maxpoolK or relu",
                    i + 1
                ),
            })?;
            layers.push(layer);
        }
        if layers.last() != Some(&LayerSpec::Fc { out: CLASSES, bias: true }) {
            layers.push(LayerSpec::Fc { out: CLASSES, bias: true });
        }
        let arch = ArchSpec { name: name.into(), layers };
        arch.shapes()?;
        Ok(arch)
    }

    /// The five homework networks.
    pub fn builtins() -> Vec<ArchSpec> {
        BUILTIN.iter().map(|(n, s)| Self::from_layers(n, s).expect("built-in specs are valid")).collect()
    }

    /// The shape after each layer, starting from the 3×32×32 input; an error names the
    /// first layer that does not fit.
    pub fn shapes(&self) -> Result<Vec<Shape>> {
        let mut shape = INPUT;
        let mut out = Vec::with_capacity(self.layers.len());
        for (i, layer) in self.layers.iter().enumerate() {
            let fail = |why: String| Error::Spec {
                arch: self.name.clone(),
                message: format!("layer {} ({layer}) does not fit its input {shape}: {why}", i + 1),
            };
            shape = match (*layer, shape) {
                (LayerSpec::Fc { out, .. }, _) => Shape::Flat(out),
                (LayerSpec::Conv { kh, kw, out }, Shape::Image(_, h, w)) => {
                    if kh > h || kw > w {
                        return Err(fail(format!(
                            "a {kh}×{kw} kernel needs at least {kh}×{kw} pixels without padding"
                        )));
                    }
                    Shape::Image(out, h - kh + 1, w - kw + 1)
                }
                (LayerSpec::MaxPool { size }, Shape::Image(c, h, w)) => {
                    if size > h || size > w {
                        return Err(fail(format!("a {size}×{size} window needs at least {size}×{size} pixels")));
                    }
                    Shape::Image(c, h / size, w / size)
                }
                (LayerSpec::Conv { .. } | LayerSpec::MaxPool { .. }, Shape::Flat(_)) => {
                    return Err(fail(
                        "convolution and pooling need an image, but a fully connected layer came before".into(),
                    ));
                }
                (LayerSpec::Act, s) => s,
            };
            let params = match (*layer, out.last().copied().unwrap_or(INPUT)) {
                (LayerSpec::Fc { out, .. }, before) => before.checked_size().and_then(|n| n.checked_mul(out)),
                (LayerSpec::Conv { kh, kw, out }, Shape::Image(c, _, _)) => {
                    c.checked_mul(kh).and_then(|n| n.checked_mul(kw)).and_then(|n| n.checked_mul(out))
                }
                _ => Some(0),
            };
            match (shape.checked_size(), params) {
                (Some(values), Some(params)) if values <= MAX_LAYER_VALUES && params <= MAX_LAYER_VALUES => {}
                _ => {
                    return Err(Error::Spec {
                        arch: self.name.clone(),
                        message: format!(
                            "layer {} ({layer}) is too large: {} values per image and {} weights; a layer may hold \
                             at most {MAX_LAYER_VALUES} of each",
                            i + 1,
                            shape.checked_size().map_or("more than 2^64".into(), |n| n.to_string()),
                            params.map_or("more than 2^64".into(), |n| n.to_string()),
                        ),
                    });
                }
            }
            out.push(shape);
        }
        Ok(out)
    }

    /// Number of trainable parameters (weights and biases).
    pub fn param_count(&self) -> usize {
        let mut shape = INPUT;
        let mut count = 0;
        for (layer, next) in self.layers.iter().zip(self.shapes().unwrap_or_default()) {
            count += match (*layer, shape) {
                (LayerSpec::Fc { out, bias }, s) => s.size() * out + if bias { out } else { 0 },
                (LayerSpec::Conv { kh, kw, out }, Shape::Image(c, _, _)) => c * kh * kw * out + out,
                _ => 0,
            };
            shape = next;
        }
        count
    }

    /// Multiply-adds of one forward pass on one image (convolutions and FC layers; pooling
    /// and activations are not counted): the unit of work of [`crate::study::cost`].
    pub fn forward_macs(&self) -> usize {
        let mut shape = INPUT;
        let mut macs = 0;
        for (layer, next) in self.layers.iter().zip(self.shapes().unwrap_or_default()) {
            macs += match (*layer, shape) {
                (LayerSpec::Fc { out, .. }, s) => s.size() * out,
                (LayerSpec::Conv { kh, kw, .. }, Shape::Image(c, _, _)) => next.size() * c * kh * kw,
                _ => 0,
            };
            shape = next;
        }
        macs
    }

    /// The name made safe for file names (a user spec's commas, spaces and slashes become
    /// `_`); every study names its result files with it.
    ///
    /// Long names are cut to a readable prefix plus a hash of the whole name, so every file
    /// name stays far below file systems' limit (255 bytes) and distinct specs stay distinct.
    pub fn file_stem(&self) -> String {
        let safe = self.name.replace(['/', '\\', ' ', ',', ';', ':'], "_");
        if safe.len() <= MAX_STEM_BYTES {
            return safe;
        }
        let cut = (0..=MAX_STEM_BYTES - 9).rev().find(|&i| safe.is_char_boundary(i)).unwrap_or(0);
        let digest = crate::data::source::md5_hex(self.name.as_bytes()).unwrap_or_default();
        format!("{}_{}", &safe[..cut], &digest[..8])
    }

    /// The spec in the homework's notation, e.g. `[FC-32, ReLU] + FC10`.
    pub fn notation(&self) -> String {
        let hidden: Vec<String> = self.layers[..self.layers.len() - 1].iter().map(|l| l.to_string()).collect();
        format!("[{}] + FC10", hidden.join(", "))
    }
}

/// The longest [`ArchSpec::file_stem`], in bytes.
const MAX_STEM_BYTES: usize = 64;

/// Checks that a list of architectures (a config's `arch` field) names at least one, and
/// each only once (a net listed twice would train twice into the same files).
pub fn ensure_some(archs: &[ArchSpec]) -> Result<()> {
    if archs.is_empty() {
        return Err(Error::invalid("arch", "name at least one architecture"));
    }
    for (i, a) in archs.iter().enumerate() {
        if let Some(b) = archs[..i].iter().find(|b| b.layers == a.layers || b.file_stem() == a.file_stem()) {
            let same = if a.name == b.name {
                format!("{} is listed twice", a.name)
            } else {
                format!("{} and {} are the same network", b.name, a.name)
            };
            return Err(Error::invalid(
                "arch",
                format!("{same}; list each network once (for repeated runs use seeds)"),
            ));
        }
    }
    Ok(())
}

/// Parses a list of architectures: `all`, or names / specs separated by `;`
/// (a spec's own layers are separated by commas).
pub fn parse_arch_list(text: &str) -> Result<Vec<ArchSpec>> {
    if text.trim().eq_ignore_ascii_case("all") {
        return Ok(ArchSpec::builtins());
    }
    // Built-in names may also be comma-separated: "mlp1,cnn3".
    let names: Vec<&str> = text.split(',').map(str::trim).collect();
    if names.iter().all(|n| BUILTIN.iter().any(|(b, _)| b.eq_ignore_ascii_case(n))) {
        return names.iter().map(|n| ArchSpec::parse(n)).collect();
    }
    text.split(';').map(str::trim).filter(|s| !s.is_empty()).map(ArchSpec::parse).collect()
}
