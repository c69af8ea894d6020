//! A grid of small images with row and column labels: conv outputs (one row per input
//! image, one column per kernel) and first-layer weights (one tile per unit or filter).
//!
//! Tiles are drawn as bitmaps (embedded PNG in the SVG), upscaled with nearest neighbour
//! so single pixels stay visible.

use super::{FONT, Figure, PlotResult, err};
use plotters::coord::Shift;
use plotters::element::BitMapElement;
use plotters::prelude::*;

/// One RGB image, row-major, 3 bytes per pixel.
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width · height · 3` bytes.
    pub rgb: Vec<u8>,
}

fn to_byte(v: f32, lo: f32, hi: f32) -> u8 {
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return 128;
    }
    (255.0 * ((v - lo) / (hi - lo)).clamp(0.0, 1.0)).round() as u8
}

impl Tile {
    /// A grey-scale tile: `values` mapped linearly from [lo, hi] to black..white.
    pub fn gray(width: usize, height: usize, values: &[f32], lo: f32, hi: f32) -> Tile {
        let rgb = values.iter().flat_map(|&v| [to_byte(v, lo, hi); 3]).collect();
        Tile { width, height, rgb }
    }

    /// A grey-scale tile scaled to its own minimum and maximum (for visibility).
    pub fn gray_autoscaled(width: usize, height: usize, values: &[f32]) -> Tile {
        let (lo, hi) = min_max(values);
        Tile::gray(width, height, values, lo, hi)
    }

    /// A colour tile from three channel planes (R, G, B, each `width · height`), each value
    /// mapped from [lo, hi] to 0..255 on one shared scale.
    pub fn rgb_planes(width: usize, height: usize, planes: &[f32], lo: f32, hi: f32) -> Tile {
        let n = width * height;
        let rgb = (0..n).flat_map(|p| (0..3).map(move |c| to_byte(planes[c * n + p], lo, hi))).collect();
        Tile { width, height, rgb }
    }

    /// The tile upscaled `s` times with nearest neighbour.
    fn upscaled(&self, s: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.rgb.len() * s * s);
        for y in 0..self.height * s {
            for x in 0..self.width * s {
                let p = ((y / s) * self.width + x / s) * 3;
                out.extend_from_slice(&self.rgb[p..p + 3]);
            }
        }
        out
    }
}

/// Smallest and largest finite value (0, 0 when there is none).
pub fn min_max(values: &[f32]) -> (f32, f32) {
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let lo = finite.clone().fold(f32::INFINITY, f32::min);
    let hi = finite.fold(f32::NEG_INFINITY, f32::max);
    if lo.is_finite() { (lo, hi) } else { (0.0, 0.0) }
}

/// Rows of tiles with a title, optional column labels and optional row labels.
#[derive(Debug, Clone)]
pub struct ImageGrid {
    /// Text above the grid.
    pub title: String,
    /// One label per column (may be empty).
    pub column_labels: Vec<String>,
    /// One label per row (may be empty).
    pub row_labels: Vec<String>,
    /// The tiles, row by row; rows may differ in length.
    pub rows: Vec<Vec<Tile>>,
    /// Display size of one tile pixel, in figure pixels.
    pub scale: usize,
}

const GAP: usize = 8;
const TITLE_H: usize = 40;
const LABEL_H: usize = 22;

impl ImageGrid {
    fn cell(&self) -> (usize, usize) {
        let w = self.rows.iter().flatten().map(|t| t.width).max().unwrap_or(1) * self.scale;
        let h = self.rows.iter().flatten().map(|t| t.height).max().unwrap_or(1) * self.scale;
        (w.max(if self.column_labels.is_empty() { 0 } else { 64 }), h)
    }

    fn row_label_w(&self) -> usize {
        if self.row_labels.is_empty() {
            0
        } else {
            8 * self.row_labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) + 12
        }
    }

    fn top(&self) -> usize {
        TITLE_H + if self.column_labels.is_empty() { 0 } else { LABEL_H }
    }
}

impl Figure for ImageGrid {
    fn size(&self) -> (u32, u32) {
        let (cw, ch) = self.cell();
        let cols = self.rows.iter().map(Vec::len).max().unwrap_or(0).max(self.column_labels.len());
        let w = self.row_label_w() + GAP + cols * (cw + GAP);
        let h = self.top() + self.rows.len() * (ch + GAP) + GAP;
        // Wide enough for the title: DejaVu Sans at 18 px averages under 10 px a character.
        let title_w = 2 * GAP + 10 * self.title.chars().count();
        (w.max(title_w).max(320) as u32, h as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult {
        let (cw, ch) = self.cell();
        let left = self.row_label_w() + GAP;
        root.draw(&Text::new(self.title.clone(), (GAP as i32, 10), (FONT, 18))).map_err(err)?;
        for (c, label) in self.column_labels.iter().enumerate() {
            let x = (left + c * (cw + GAP)) as i32;
            root.draw(&Text::new(label.clone(), (x, TITLE_H as i32), (FONT, 12))).map_err(err)?;
        }
        for (r, row) in self.rows.iter().enumerate() {
            let y = self.top() + r * (ch + GAP);
            if let Some(label) = self.row_labels.get(r) {
                let pos = (GAP as i32, (y + ch / 2) as i32 - 6);
                root.draw(&Text::new(label.clone(), pos, (FONT, 13))).map_err(err)?;
            }
            for (c, tile) in row.iter().enumerate() {
                let x = left + c * (cw + GAP);
                let size = ((tile.width * self.scale) as u32, (tile.height * self.scale) as u32);
                let element = BitMapElement::with_owned_buffer((x as i32, y as i32), size, tile.upscaled(self.scale))
                    .ok_or("tile buffer has the wrong size")?;
                root.draw(&element).map_err(err)?;
            }
        }
        Ok(())
    }
}
