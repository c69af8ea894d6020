//! `nnlab conv`: the from-scratch conv2d on a batch of digit images and a kernel bank
//! (homework part 2). `.npy` in; `out.npy` and an image grid out.

use super::{PlannedRun, Study, StudyContext};
use crate::assets;
use crate::backend::TrainBackend;
use crate::conv::{conv2d_on, output_shape};
use crate::error::Result;
use crate::npy::{HostArray, parse_npy, read_npy, write_npy_f32};
use crate::plot::{self, grid::ImageGrid, grid::Tile};
use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What `nnlab conv` convolves; `None` means the project's own assets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConvStudyConfig {
    /// Images `[N, C, H, W]` (uint8, float32 or float64); default `assets/digits_7.npy`.
    pub input: Option<PathBuf>,
    /// Kernels `[O, C, kh, kw]`; default `assets/kernels.npy`.
    pub kernel: Option<PathBuf>,
}

/// Loads the input and the kernel bank named by `config` (or the shipped assets), and
/// checks they can be convolved, before any work is done.
pub fn load_inputs(config: &ConvStudyConfig) -> Result<(HostArray, HostArray)> {
    let load = |path: &Option<PathBuf>, shipped: &[u8], name: &str| match path {
        Some(p) => read_npy(p),
        None => parse_npy(shipped, Path::new(name)),
    };
    let input = load(&config.input, assets::DIGITS_NPY, "assets/digits_7.npy")?;
    let kernel = load(&config.kernel, assets::KERNELS_NPY, "assets/kernels.npy")?;
    output_shape(&input.shape, &kernel.shape).map_err(|e| {
        let name =
            |p: &Option<PathBuf>, shipped: &str| p.as_ref().map_or(shipped.to_string(), |p| p.display().to_string());
        let message = match e {
            crate::error::Error::Shape(m) => m,
            other => other.to_string(),
        };
        crate::error::Error::Shape(format!(
            "input {} and kernel {}: {message}",
            name(&config.input, "(shipped digits)"),
            name(&config.kernel, "(shipped kernels)")
        ))
    })?;
    Ok((input, kernel))
}

/// The figure: one row per image, the image itself first, then its response to each kernel,
/// each tile scaled to its own range so weak responses stay visible.
pub fn figure(input: &HostArray, kernel: &HostArray, out: &HostArray, kernel_names: &[String]) -> ImageGrid {
    let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3]);
    let (o, oh, ow) = (out.shape[1], out.shape[2], out.shape[3]);
    let rows = (0..n)
        .map(|b| {
            // The input shown as its first channel (digits are single-channel).
            let image = &input.data[b * c * h * w..b * c * h * w + h * w];
            let mut row = vec![Tile::gray_autoscaled(w, h, image)];
            row.extend((0..o).map(|f| {
                let start = (b * o + f) * oh * ow;
                Tile::gray_autoscaled(ow, oh, &out.data[start..start + oh * ow])
            }));
            row
        })
        .collect();
    let mut column_labels = vec!["input".to_string()];
    column_labels.extend(kernel_names.iter().cloned());
    let [_, _, kh, kw] = [kernel.shape[0], kernel.shape[1], kernel.shape[2], kernel.shape[3]];
    ImageGrid {
        title: format!(
            "conv2d, valid padding, stride 1: {n} image{} × {o} kernel{} of {kh}×{kw} → {oh}×{ow}",
            if n == 1 { "" } else { "s" },
            if o == 1 { "" } else { "s" }
        ),
        column_labels,
        row_labels: (0..n).map(|b| format!("#{b}")).collect(),
        rows,
        scale: 4,
    }
}

/// The output array, `out.npy`, and the figure's stem, `conv`.
pub const OUTPUT: &str = "out.npy";
/// The figure's stem (`.png` and `.svg`).
pub const FIGURE: &str = "conv";

impl Study for ConvStudyConfig {
    const NAME: &'static str = "conv";
    const TITLE: &'static str = "conv2d from scratch (part 2)";

    fn quick() -> Self {
        Self::default()
    }

    fn validate(&self) -> Result<()> {
        load_inputs(self).map(|_| ())
    }

    fn plan(&self) -> Vec<PlannedRun> {
        super::single_task(Self::NAME)
    }

    fn set_seed(&mut self, _seed: u64) {}

    fn run<B: TrainBackend>(&self, ctx: &StudyContext, device: &B::Device) -> Result<Vec<PathBuf>> {
        super::as_single_task(ctx, &self.plan(), || run::<B::InnerBackend>(ctx, self, device))
    }

    fn report(out: &Path) -> Result<Option<String>> {
        if super::study_file::<Self>(out, Self::NAME, "config.json")?.is_none() {
            return Ok(None);
        }
        let rel = format!("{}/{FIGURE}.png", Self::NAME);
        let mut md = format!("Output: `{}/{OUTPUT}`.\n\n", Self::NAME);
        md.push_str(&super::config_link(out, Self::NAME));
        md.push_str(&super::figure(out, &rel, "conv2d outputs"));
        Ok(Some(md))
    }
}

/// Runs the study on backend `B`: writes `out.npy`, `conv.png`, `conv.svg`, `config.json`.
pub fn run<B: Backend>(ctx: &StudyContext, config: &ConvStudyConfig, device: &B::Device) -> Result<Vec<PathBuf>> {
    let (input, kernel) = load_inputs(config)?;
    let study_dir = super::StudyDir::open(ctx, ConvStudyConfig::NAME, config)?;
    let dir = study_dir.path.clone();
    let out = conv2d_on::<B>(&input, &kernel, device)?;
    let npy = dir.join(OUTPUT);
    write_npy_f32(&npy, &out)?;
    let names: Vec<String> = if config.kernel.is_none() {
        assets::KERNEL_NAMES.iter().map(|s| s.to_string()).collect()
    } else {
        (0..kernel.shape[0]).map(|k| format!("kernel {k}")).collect()
    };
    let mut files = vec![npy];
    files.extend(plot::save(&figure(&input, &kernel, &out, &names), &dir, FIGURE)?);
    study_dir.finish(config, &mut files)?;
    Ok(files)
}
