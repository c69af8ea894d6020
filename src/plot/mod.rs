//! Figures, drawn once with plotters and saved as both PNG and SVG.
//!
//! A figure implements [`Figure`]: its size and a `draw` method generic over plotters'
//! drawing backend. [`save`] renders it twice (bitmap and SVG) and writes both files
//! atomically.

pub mod activations;
pub mod confusion;
pub mod curves;
pub mod grid;
pub mod xor;

use crate::error::{Error, Result};
use crate::results::write_atomic;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Once;

/// The error type figure code uses internally; turned into [`Error::Plot`] by [`save`].
pub type PlotResult = std::result::Result<(), String>;

/// Converts any displayable plotting error into a [`PlotResult`] error.
pub fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// A figure that can be drawn on any plotters backend.
pub trait Figure {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws the whole figure on `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult;
}

/// The widest figure, in pixels, that report.html shows at its natural size (its text column
/// is 1 100 px). A wider PNG is scaled down to fit, and its 13 px tick labels with it, to
/// 8 px in a 1 720 px figure: wide multi-panel figures shrink their panels to this width.
pub const PAGE_WIDTH: u32 = 1080;

/// The font family every figure uses; the bundled DejaVu Sans is registered under it.
pub const FONT: &str = "sans-serif";

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
        // The font is bundled and valid; if registration ever failed, text would be missing
        // from PNGs but SVGs (which name the family) would still be right.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, bytes);
        let _ = plotters::style::register_font(FONT, FontStyle::Bold, bytes);
    });
}

/// Renders `figure` to `<dir>/<stem>.png` and `<dir>/<stem>.svg`; returns both paths.
pub fn save<F: Figure>(figure: &F, dir: &Path, stem: &str) -> Result<Vec<PathBuf>> {
    register_font();
    let (w, h) = figure.size();
    let png_path = dir.join(format!("{stem}.png"));
    let svg_path = dir.join(format!("{stem}.svg"));
    let plot_err = |path: &Path, message: String| Error::Plot { path: path.to_path_buf(), message };

    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_err(&png_path, e.to_string()))?;
        figure.draw(&root).map_err(|m| plot_err(&png_path, m))?;
        root.present().map_err(|e| plot_err(&png_path, e.to_string()))?;
    }
    let mut png = Vec::new();
    let encoder = image::codecs::png::PngEncoder::new_with_quality(
        std::io::Cursor::new(&mut png),
        image::codecs::png::CompressionType::Best,
        image::codecs::png::FilterType::Adaptive,
    );
    image::ImageEncoder::write_image(encoder, &rgb, w, h, image::ExtendedColorType::Rgb8)
        .map_err(|e| plot_err(&png_path, e.to_string()))?;
    write_atomic(&png_path, &png)?;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_err(&svg_path, e.to_string()))?;
        figure.draw(&root).map_err(|m| plot_err(&svg_path, m))?;
        root.present().map_err(|e| plot_err(&svg_path, e.to_string()))?;
    }
    write_atomic(&svg_path, svg.as_bytes())?;
    Ok(vec![png_path, svg_path])
}

/// The i-th colour of a qualitative palette (matplotlib's tab10), for one line per series.
pub fn colour(i: usize) -> RGBColor {
    const TAB10: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
    let (r, g, b) = TAB10[i % TAB10.len()];
    RGBColor(r, g, b)
}

/// The palette index of a network: the homework's five keep theirs in every figure (mlp1
/// blue, mlp2 orange, cnn3 green, cnn4 red, cnn5 purple); other specs follow, by position.
pub fn net_colour(name: &str, position: usize) -> usize {
    crate::model::spec::BUILTIN.iter().position(|(n, _)| *n == name).unwrap_or(5 + position)
}

/// Smallest and largest finite value over several series, padded by 5 %; (0, 1) if none.
pub fn finite_range<'a>(series: impl IntoIterator<Item = &'a [f64]>) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for s in series {
        for &v in s.iter().filter(|v| v.is_finite()) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-9);
    (lo - pad, hi + pad)
}
