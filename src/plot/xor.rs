//! XOR figures: one run's decision boundary, and the spread of boundaries over seeds.

use super::curves::tick_label;
use super::{FONT, Figure, PlotResult, colour, err};
use crate::results::Stats;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::element::BitMapElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Network outputs on a square grid, for drawing regions and the 0.5 contour.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundaryGrid {
    /// The grid spans `[-extent, extent]` on both axes.
    pub extent: f64,
    /// Points per axis.
    pub resolution: usize,
    /// Outputs, row-major with y varying slowest: `values[iy * resolution + ix]`.
    pub values: Vec<f32>,
}

impl BoundaryGrid {
    /// The grid's points as `[x, y, x, y, ...]`, in the order of [`BoundaryGrid::values`].
    pub fn points(extent: f64, resolution: usize) -> Vec<f32> {
        let step = 2.0 * extent / (resolution - 1) as f64;
        let mut p = Vec::with_capacity(2 * resolution * resolution);
        for iy in 0..resolution {
            for ix in 0..resolution {
                p.push((-extent + ix as f64 * step) as f32);
                p.push((-extent + iy as f64 * step) as f32);
            }
        }
        p
    }

    fn cell(&self, ix: usize, iy: usize) -> (f64, f64, f64, f64) {
        let step = 2.0 * self.extent / (self.resolution - 1) as f64;
        let x = -self.extent + ix as f64 * step;
        let y = -self.extent + iy as f64 * step;
        (x - step / 2.0, y - step / 2.0, x + step / 2.0, y + step / 2.0)
    }

    fn class(&self, ix: usize, iy: usize) -> bool {
        self.values[iy * self.resolution + ix] >= 0.5
    }

    /// Grid cells on the 0.5 contour: the class changes to the right or above.
    pub fn contour_cells(&self) -> Vec<(usize, usize)> {
        let n = self.resolution;
        let mut cells = Vec::new();
        for iy in 0..n {
            for ix in 0..n {
                let c = self.class(ix, iy);
                let right = ix + 1 < n && self.class(ix + 1, iy) != c;
                let up = iy + 1 < n && self.class(ix, iy + 1) != c;
                if right || up {
                    cells.push((ix, iy));
                }
            }
        }
        cells
    }
}

/// One run's decision regions, 0.5 contour and validation points.
pub struct BoundaryFigure<'a> {
    /// Title above the plot.
    pub title: String,
    /// The network's outputs on a grid.
    pub grid: &'a BoundaryGrid,
    /// Validation points `[x, y, ...]`.
    pub points: &'a [f32],
    /// Their labels (0 or 1).
    pub labels: &'a [f32],
}

const CLASS0: RGBColor = RGBColor(198, 219, 239);
const CLASS1: RGBColor = RGBColor(253, 208, 162);

/// Height of the legend row under the boundary plot, pixels.
const LEGEND_HEIGHT: u32 = 30;

impl Figure for BoundaryFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (620, 600 + LEGEND_HEIGHT)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult {
        let e = self.grid.extent;
        let (plot, legend) = root.split_vertically(root.dim_in_pixel().1 - LEGEND_HEIGHT);
        let mut chart = square_chart(&plot, &self.title, 20, e)?;
        // The filled regions as one bitmap over the plotting area (one PNG inside the SVG).
        let (pw, ph) = chart.plotting_area().dim_in_pixel();
        let n = self.grid.resolution;
        let mut pixels = Vec::with_capacity((pw * ph * 3) as usize);
        for py in 0..ph {
            // Pixel rows run top (y = +e) to bottom (y = −e); grid rows bottom to top.
            let iy = ((ph - 1 - py) as usize * n) / ph as usize;
            for px in 0..pw {
                let ix = (px as usize * n) / pw as usize;
                let c = if self.grid.class(ix, iy) { CLASS1 } else { CLASS0 };
                pixels.extend_from_slice(&[c.0, c.1, c.2]);
            }
        }
        let regions =
            BitMapElement::with_owned_buffer((-e, e), (pw, ph), pixels).ok_or("region bitmap has the wrong size")?;
        chart.plotting_area().draw(&regions).map_err(err)?;
        chart
            .draw_series(self.grid.contour_cells().into_iter().map(|(ix, iy)| {
                let (x0, y0, x1, y1) = self.grid.cell(ix, iy);
                Rectangle::new([(x0, y0), (x1, y1)], BLACK.filled())
            }))
            .map_err(err)?;
        for class in [0.0f32, 1.0] {
            let style = colour(if class == 0.0 { 0 } else { 1 }).filled();
            chart
                .draw_series(
                    self.points
                        .chunks(2)
                        .zip(self.labels)
                        .filter(|(_, l)| **l == class)
                        .map(|(p, _)| Circle::new((p[0] as f64, p[1] as f64), 4, style)),
                )
                .map_err(err)?;
        }
        draw_legend_row(&legend)
    }
}

/// A chart on `area` with `caption` (`font` px) over the square [-e, e]², axes with clean
/// ticks and no grid.
fn square_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    font: u32,
    e: f64,
) -> std::result::Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>, String> {
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, font))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d(-e..e, -e..e)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_label_formatter(&|v| tick_label(*v))
        .y_label_formatter(&|v| tick_label(*v))
        .label_style((FONT, 12))
        .draw()
        .map_err(err)?;
    Ok(chart)
}

/// The boundary figure's legend as one row under the plot: the regions fill the whole box,
/// so a legend inside it would always hide part of them, points or the boundary.
fn draw_legend_row<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> PlotResult {
    const SAMPLE: i32 = 18;
    const GAP: i32 = 28;
    let font = TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    let entries = [("decision boundary (output = 0.5)", None), ("label 0", Some(0)), ("label 1", Some(1))];
    let widths = entries
        .iter()
        .map(|(text, _)| area.estimate_text_size(text, &font).map(|(w, _)| w as i32))
        .collect::<std::result::Result<Vec<i32>, _>>()
        .map_err(err)?;
    let total = widths.iter().map(|w| SAMPLE + 6 + w).sum::<i32>() + GAP * (entries.len() as i32 - 1);
    let (w, h) = area.dim_in_pixel();
    let (mut x, y) = ((w as i32 - total) / 2, h as i32 / 2);
    for ((text, class), width) in entries.iter().zip(widths) {
        match class {
            None => area.draw(&Rectangle::new([(x, y - 2), (x + SAMPLE, y + 2)], BLACK.filled())),
            Some(c) => area.draw(&Circle::new((x + SAMPLE / 2, y), 4, colour(*c).filled())),
        }
        .map_err(err)?;
        area.draw(&Text::new(*text, (x + SAMPLE + 6, y), font.clone())).map_err(err)?;
        x += SAMPLE + 6 + width + GAP;
    }
    Ok(())
}

/// All seeds' 0.5 contours overlaid, one panel per activation, with accuracy statistics.
pub struct SpreadFigure<'a> {
    /// Per activation: its name, one grid per seed, and the seeds' validation accuracies.
    pub panels: Vec<(String, Vec<&'a BoundaryGrid>, Vec<f64>)>,
}

impl Figure for SpreadFigure<'_> {
    fn size(&self) -> (u32, u32) {
        // Square boxes under a caption line, the row no wider than the report's page.
        let n = self.panels.len().max(1) as u32;
        let side = (super::PAGE_WIDTH / n).min(520);
        (side * n, side + 40)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult {
        let areas = root.split_evenly((1, self.panels.len().max(1)));
        for (i, ((name, grids, accs), area)) in self.panels.iter().zip(&areas).enumerate() {
            let s = Stats::of(accs);
            let e = grids.first().map_or(2.0, |g| g.extent);
            let caption =
                format!("{name}: {} runs, acc {:.3} ± {:.3} [{:.2}, {:.2}]", accs.len(), s.mean, s.std, s.min, s.max);
            let mut chart = square_chart(area, &caption, 13, e)?;
            // Faint enough that where many runs agree the line darkens, strong enough that a
            // boundary only one run drew can still be seen.
            let alpha = (3.0 / grids.len().max(1) as f64).clamp(0.25, 1.0);
            for grid in grids {
                chart
                    .draw_series(grid.contour_cells().into_iter().map(|(ix, iy)| {
                        let (x0, y0, x1, y1) = grid.cell(ix, iy);
                        Rectangle::new([(x0, y0), (x1, y1)], colour(i).mix(alpha).filled())
                    }))
                    .map_err(err)?;
            }
        }
        Ok(())
    }
}
