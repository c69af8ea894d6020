//! XOR figures: one run's decision boundary, and the spread of boundaries over seeds.

use super::{FONT, Figure, PlotResult, colour, err};
use crate::results::Stats;
use plotters::coord::Shift;
use plotters::element::BitMapElement;
use plotters::prelude::*;

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

impl Figure for BoundaryFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (620, 600)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult {
        let e = self.grid.extent;
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 20))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(-e..e, -e..e)
            .map_err(err)?;
        chart.configure_mesh().disable_mesh().label_style((FONT, 12)).draw().map_err(err)?;
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
            .map_err(err)?
            .label("output = 0.5")
            .legend(|(x, y)| Rectangle::new([(x, y - 2), (x + 14, y + 2)], BLACK.filled()));
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
                .map_err(err)?
                .label(format!("label {class}"))
                .legend(move |(x, y)| Circle::new((x + 7, y), 4, style));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font((FONT, 12))
            .draw()
            .map_err(err)?;
        Ok(())
    }
}

/// All seeds' 0.5 contours overlaid, one panel per activation, with accuracy statistics.
pub struct SpreadFigure<'a> {
    /// Per activation: its name, one grid per seed, and the seeds' validation accuracies.
    pub panels: Vec<(String, Vec<&'a BoundaryGrid>, Vec<f64>)>,
}

impl Figure for SpreadFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (520 * self.panels.len().max(1) as u32, 560)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult {
        let areas = root.split_evenly((1, self.panels.len().max(1)));
        for (i, ((name, grids, accs), area)) in self.panels.iter().zip(&areas).enumerate() {
            let s = Stats::of(accs);
            let e = grids.first().map_or(2.0, |g| g.extent);
            let mut chart = ChartBuilder::on(area)
                .caption(
                    format!(
                        "{name}: {} runs, acc {:.3} ± {:.3} [{:.2}, {:.2}]",
                        accs.len(),
                        s.mean,
                        s.std,
                        s.min,
                        s.max
                    ),
                    (FONT, 15),
                )
                .margin(10)
                .x_label_area_size(30)
                .y_label_area_size(40)
                .build_cartesian_2d(-e..e, -e..e)
                .map_err(err)?;
            chart.configure_mesh().disable_mesh().label_style((FONT, 12)).draw().map_err(err)?;
            let alpha = (1.5 / grids.len().max(1) as f64).clamp(0.08, 1.0);
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
