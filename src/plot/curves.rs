//! Line and point panels in a grid: the training curves of the CIFAR-10 studies
//! (the course's `part3Plots`, `part4Plots`, `part5Plots`).

use super::{FONT, Figure, PlotResult, colour, err, finite_range};
use plotters::coord::Shift;
use plotters::prelude::*;

/// One line: x and y values, an optional ±std band, a colour index and a dash flag.
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Palette index.
    pub colour: usize,
    /// Dashed instead of solid.
    pub dashed: bool,
    /// x values.
    pub x: Vec<f64>,
    /// y values (non-finite values break the line).
    pub y: Vec<f64>,
    /// Standard deviation per point, drawn as a translucent band.
    pub std: Option<Vec<f64>>,
}

/// One labelled point with optional error bars (final accuracies per net).
#[derive(Debug, Clone, Default)]
pub struct Point {
    /// Label drawn beside the point.
    pub label: String,
    /// Palette index.
    pub colour: usize,
    /// Position.
    pub x: f64,
    /// Position.
    pub y: f64,
    /// Error bar half-widths (std over seeds).
    pub x_err: f64,
    /// Error bar half-heights.
    pub y_err: f64,
}

/// What a panel draws.
#[derive(Debug, Clone)]
pub enum PanelKind {
    /// Lines over x.
    Lines(Vec<Series>),
    /// Labelled points.
    Points(Vec<Point>),
}

/// One chart.
#[derive(Debug, Clone)]
pub struct Panel {
    /// Caption.
    pub title: String,
    /// x axis label.
    pub x_label: String,
    /// y axis label.
    pub y_label: String,
    /// Logarithmic y axis (for gradient magnitudes spanning decades).
    pub log_y: bool,
    /// Content.
    pub kind: PanelKind,
}

/// Panels in a grid of `columns` columns, each `panel_size` pixels.
#[derive(Debug, Clone)]
pub struct PanelFigure {
    /// The panels, row by row.
    pub panels: Vec<Panel>,
    /// Panels per row.
    pub columns: usize,
    /// Width and height of one panel.
    pub panel_size: (u32, u32),
}

fn segments(x: &[f64], y: &[f64]) -> Vec<Vec<(f64, f64)>> {
    let mut out = vec![Vec::new()];
    for (&a, &b) in x.iter().zip(y) {
        if b.is_finite() {
            out.last_mut().expect("non-empty").push((a, b));
        } else if !out.last().expect("non-empty").is_empty() {
            out.push(Vec::new());
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

impl Panel {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> PlotResult {
        let (xs, ys): (Vec<&[f64]>, Vec<Vec<f64>>) = match &self.kind {
            PanelKind::Lines(series) => (
                series.iter().map(|s| s.x.as_slice()).collect(),
                series
                    .iter()
                    .flat_map(|s| {
                        let band = s.std.clone().unwrap_or_default();
                        let hi: Vec<f64> =
                            s.y.iter().zip(band.iter().chain(std::iter::repeat(&0.0))).map(|(y, d)| y + d).collect();
                        let lo: Vec<f64> =
                            s.y.iter().zip(band.iter().chain(std::iter::repeat(&0.0))).map(|(y, d)| y - d).collect();
                        [hi, lo]
                    })
                    .collect(),
            ),
            PanelKind::Points(points) => {
                (vec![], vec![points.iter().flat_map(|p| [p.y - p.y_err, p.y + p.y_err]).collect()])
            }
        };
        let xs_points: Vec<f64> = match &self.kind {
            PanelKind::Points(points) => points.iter().flat_map(|p| [p.x - p.x_err, p.x + p.x_err]).collect(),
            _ => vec![],
        };
        let (x0, x1) = finite_range(xs.into_iter().chain(std::iter::once(xs_points.as_slice())));
        let positive: Vec<Vec<f64>> =
            ys.iter().map(|v| v.iter().copied().filter(|y| !self.log_y || *y > 0.0).collect()).collect();
        let (y0, y1) = finite_range(positive.iter().map(|v| v.as_slice()));
        let mut builder = ChartBuilder::on(area);
        builder.caption(&self.title, (FONT, 17)).margin(10).x_label_area_size(34).y_label_area_size(56);
        if self.log_y {
            // Pad by a factor, not a difference: a linear pad can cross zero.
            let values = positive.iter().flatten().copied().filter(|v| v.is_finite() && *v > 0.0);
            let lo = values.clone().fold(f64::INFINITY, f64::min);
            let hi = values.fold(0.0, f64::max);
            let (lo, hi) = if lo.is_finite() { (lo / 1.5, hi * 1.5) } else { (1e-3, 1.0) };
            let mut chart = builder.build_cartesian_2d(x0..x1, (lo..hi.max(lo * 10.0)).log_scale()).map_err(err)?;
            chart
                .configure_mesh()
                .x_desc(&self.x_label)
                .y_desc(&self.y_label)
                .label_style((FONT, 12))
                .y_label_formatter(&|v| format!("{v:.0e}"))
                .draw()
                .map_err(err)?;
            self.draw_content(&mut chart)?;
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font((FONT, 12))
                .draw()
                .map_err(err)?;
        } else {
            let mut chart = builder.build_cartesian_2d(x0..x1, y0..y1).map_err(err)?;
            chart
                .configure_mesh()
                .x_desc(&self.x_label)
                .y_desc(&self.y_label)
                .label_style((FONT, 12))
                .draw()
                .map_err(err)?;
            self.draw_content(&mut chart)?;
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font((FONT, 12))
                .draw()
                .map_err(err)?;
        }
        Ok(())
    }

    fn draw_content<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
        &self,
        chart: &mut ChartContext<'_, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    ) -> PlotResult {
        match &self.kind {
            PanelKind::Lines(series) => {
                for s in series {
                    let c = colour(s.colour);
                    if let Some(std) = &s.std {
                        let upper: Vec<(f64, f64)> =
                            s.x.iter().zip(&s.y).zip(std).map(|((&x, &y), &d)| (x, y + d)).collect();
                        let lower: Vec<(f64, f64)> =
                            s.x.iter().zip(&s.y).zip(std).map(|((&x, &y), &d)| (x, y - d)).rev().collect();
                        let polygon: Vec<(f64, f64)> =
                            upper.into_iter().chain(lower).filter(|p| p.1.is_finite()).collect();
                        if polygon.len() > 2 {
                            chart
                                .draw_series(std::iter::once(Polygon::new(polygon, c.mix(0.18).filled())))
                                .map_err(err)?;
                        }
                    }
                    let mut first = true;
                    for seg in segments(&s.x, &s.y) {
                        let style = c.stroke_width(2);
                        let drawn = if s.dashed {
                            chart.draw_series(DashedLineSeries::new(seg, 8, 5, style)).map_err(err)?
                        } else {
                            chart.draw_series(LineSeries::new(seg, style)).map_err(err)?
                        };
                        if first && !s.label.is_empty() {
                            let dashed = s.dashed;
                            drawn.label(s.label.clone()).legend(move |(x, y)| {
                                let end = if dashed { x + 8 } else { x + 18 };
                                PathElement::new(vec![(x, y), (end, y)], c.stroke_width(2))
                            });
                        }
                        first = false;
                    }
                }
            }
            PanelKind::Points(points) => {
                for p in points {
                    let c = colour(p.colour);
                    if p.x_err > 0.0 || p.y_err > 0.0 {
                        chart
                            .draw_series([
                                PathElement::new(vec![(p.x - p.x_err, p.y), (p.x + p.x_err, p.y)], c.stroke_width(1)),
                                PathElement::new(vec![(p.x, p.y - p.y_err), (p.x, p.y + p.y_err)], c.stroke_width(1)),
                            ])
                            .map_err(err)?;
                    }
                    chart
                        .draw_series(std::iter::once(Circle::new((p.x, p.y), 5, c.filled())))
                        .map_err(err)?
                        .label(p.label.clone())
                        .legend(move |(x, y)| Circle::new((x + 7, y), 5, c.filled()));
                }
            }
        }
        Ok(())
    }
}

impl Figure for PanelFigure {
    fn size(&self) -> (u32, u32) {
        let cols = self.columns.max(1) as u32;
        let rows = self.panels.len().div_ceil(self.columns.max(1)) as u32;
        (self.panel_size.0 * cols, self.panel_size.1 * rows.max(1))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult {
        let rows = self.panels.len().div_ceil(self.columns.max(1)).max(1);
        let areas = root.split_evenly((rows, self.columns.max(1)));
        for (panel, area) in self.panels.iter().zip(&areas) {
            panel.draw(area)?;
        }
        Ok(())
    }
}
