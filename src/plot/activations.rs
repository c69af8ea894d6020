//! The activations figure: each function (left) and its derivative (right), one row each.

use super::curves::tick_label;
use super::{FONT, Figure, PlotResult, colour, err, finite_range};
use crate::activation::Activation;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Curves of f and f' for each activation, sampled on a common x grid.
pub struct ActivationsFigure<'a> {
    /// The sample points.
    pub x: &'a [f64],
    /// Per activation: (activation, f(x), f'(x)).
    pub curves: &'a [(Activation, Vec<f64>, Vec<f64>)],
}

impl Figure for ActivationsFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (900, 300 * self.curves.len() as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult {
        let panels = root.split_evenly((self.curves.len(), 2));
        for (row, (act, y, dy)) in self.curves.iter().enumerate() {
            for (col, (values, what)) in [(y, "f(x)"), (dy, "f'(x)")].into_iter().enumerate() {
                let area = &panels[row * 2 + col];
                let (lo, hi) = finite_range([values.as_slice()]);
                let x0 = self.x.first().copied().unwrap_or(-5.0);
                let x1 = self.x.last().copied().unwrap_or(5.0);
                let mut chart = ChartBuilder::on(area)
                    .caption(format!("{act}: {what}"), (FONT, 18))
                    .margin(8)
                    .x_label_area_size(28)
                    .y_label_area_size(40)
                    .build_cartesian_2d(x0..x1, lo..hi)
                    .map_err(err)?;
                chart
                    .configure_mesh()
                    .x_desc("x")
                    .x_label_formatter(&|v| tick_label(*v))
                    .y_label_formatter(&|v| tick_label(*v))
                    .label_style((FONT, 12))
                    .draw()
                    .map_err(err)?;
                chart
                    .draw_series(LineSeries::new(
                        self.x.iter().copied().zip(values.iter().copied()),
                        colour(row).stroke_width(2),
                    ))
                    .map_err(err)?;
            }
        }
        Ok(())
    }
}
