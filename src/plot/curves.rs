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
    /// A noisy per-batch curve: drawn faint as recorded, with its moving average
    /// ([`smoothing_window`] points) as the line on top.
    pub smooth: bool,
}

/// Points in the moving average of a smoothed series of `n` points: about a fortieth of the
/// curve, odd, between 1 and 101 (45 for the homework's 1 350 records).
pub fn smoothing_window(n: usize) -> usize {
    ((n / 40) | 1).clamp(1, 101)
}

/// Whether a smoothed series of `n` points is drawn as raw plus moving average (short
/// curves are drawn as they are).
fn smooths(n: usize) -> bool {
    smoothing_window(n) > 1
}

/// The caption note of a smoothed panel with `n` records: "raw faint, 45-record moving
/// average" (empty when the curve is too short to be smoothed).
pub fn smoothing_note(n: usize) -> String {
    if smooths(n) { format!("raw faint, {}-record moving average", smoothing_window(n)) } else { String::new() }
}

/// `title (note; note)` with the empty notes left out, or `title` alone.
pub fn titled(title: &str, notes: &[&str]) -> String {
    let notes: Vec<&str> = notes.iter().copied().filter(|n| !n.is_empty()).collect();
    if notes.is_empty() { title.to_string() } else { format!("{title} ({})", notes.join("; ")) }
}

/// The band note of a figure over `seeds` seeds ("band ±1 std over 3 seeds"; empty for one).
pub fn band_note(seeds: usize) -> String {
    if seeds > 1 { format!("band ±1 std over {seeds} seeds") } else { String::new() }
}

/// Centred moving average over `window` points (shorter at the ends); non-finite values are
/// left out of each mean and stay non-finite themselves, so breaks in a curve are kept.
pub fn moving_average(y: &[f64], window: usize) -> Vec<f64> {
    let half = window / 2;
    (0..y.len())
        .map(|i| {
            if !y[i].is_finite() {
                return y[i];
            }
            let part = &y[i.saturating_sub(half)..(i + half + 1).min(y.len())];
            let finite: Vec<f64> = part.iter().copied().filter(|v| v.is_finite()).collect();
            finite.iter().sum::<f64>() / finite.len() as f64
        })
        .collect()
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

/// The plot box in data units (y in log10 units on a log axis), for clipping.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
    log_y: bool,
}

impl Bounds {
    /// y in the units the axis is linear in; `None` where it cannot be drawn.
    fn axis_of(&self, y: f64) -> Option<f64> {
        match (self.log_y, y.is_finite()) {
            (_, false) => None,
            (true, _) if y <= 0.0 => None,
            (true, _) => Some(y.log10()),
            (false, _) => Some(y),
        }
    }

    fn value_of(&self, y: f64) -> f64 {
        if self.log_y { 10f64.powf(y) } else { y }
    }

    /// The part of the segment p–q inside the box (Liang–Barsky), in axis units.
    fn clip(&self, p: (f64, f64), q: (f64, f64)) -> Option<((f64, f64), (f64, f64))> {
        let (dx, dy) = (q.0 - p.0, q.1 - p.1);
        let (mut t0, mut t1) = (0.0f64, 1.0f64);
        for (d, dist) in [(-dx, p.0 - self.x0), (dx, self.x1 - p.0), (-dy, p.1 - self.y0), (dy, self.y1 - p.1)] {
            if d == 0.0 {
                if dist < 0.0 {
                    return None;
                }
            } else {
                let t = dist / d;
                if d < 0.0 {
                    t0 = t0.max(t);
                } else {
                    t1 = t1.min(t);
                }
            }
        }
        (t0 <= t1).then_some(((p.0 + t0 * dx, p.1 + t0 * dy), (p.0 + t1 * dx, p.1 + t1 * dy)))
    }

    /// The polyline through `x`, `y` as runs of points inside the box: breaks at non-finite
    /// values (and non-positive ones on a log axis), cut where it leaves the box.
    fn runs(&self, x: &[f64], y: &[f64]) -> Vec<Vec<(f64, f64)>> {
        let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut prev: Option<(f64, f64)> = None;
        for (&a, &b) in x.iter().zip(y) {
            let point = self.axis_of(b).filter(|_| a.is_finite()).map(|b| (a, b));
            if let (Some(p), Some(q)) = (prev, point) {
                if let Some((c, d)) = self.clip(p, q) {
                    let (c, d) = ((c.0, self.value_of(c.1)), (d.0, self.value_of(d.1)));
                    match out.last_mut() {
                        Some(run) if run.last() == Some(&c) => run.push(d),
                        _ => out.push(vec![c, d]),
                    }
                }
            } else if let Some(q) = point
                && prev.is_none()
                && q.0 >= self.x0
                && q.0 <= self.x1
                && q.1 >= self.y0
                && q.1 <= self.y1
            {
                out.push(vec![(q.0, self.value_of(q.1))]);
            }
            prev = point;
        }
        out
    }

    /// Clamps a band value into the box (the band is a filled area; clamping keeps its shape
    /// inside the axes).
    fn clamp(&self, y: f64) -> Option<f64> {
        let a = self.axis_of(y).unwrap_or(if self.log_y && y.is_finite() { self.y0 } else { f64::NAN });
        a.is_finite().then(|| self.value_of(a.clamp(self.y0, self.y1)))
    }
}

/// Tick labels a reader takes in at a glance: integers without ".0", thousands as "5k",
/// at most three significant digits otherwise.
pub fn tick_label(v: f64) -> String {
    let a = v.abs();
    if a >= 1000.0 && (v / 1000.0).fract().abs() < 1e-9 {
        format!("{}k", (v / 1000.0).round() as i64)
    } else if a >= 1000.0 {
        format!("{:.1}k", v / 1000.0)
    } else if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else if a >= 1.0 {
        format!("{}", (v * 100.0).round() / 100.0)
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').to_string()
    }
}

/// Log-axis labels at 1, 2 and 5 of each decade ("1e-3", "2e-3", "5e-3"); none in between.
pub fn log_tick_label(v: f64) -> String {
    if !(v.is_finite() && v > 0.0) {
        return String::new();
    }
    let exp = v.log10().floor();
    let mantissa = v / 10f64.powf(exp);
    match [1.0, 2.0, 5.0, 10.0].iter().find(|m| (mantissa - **m).abs() < 1e-6 * **m) {
        Some(&10.0) => format!("1e{}", exp as i64 + 1),
        Some(&m) => format!("{}e{}", m as i64, exp as i64),
        None => String::new(),
    }
}

/// The corner of the box where the fewest points lie, for the legend.
fn free_corner(points: &[(f64, f64)], b: &Bounds) -> SeriesLabelPosition {
    let (w, h) = (b.x1 - b.x0, b.y1 - b.y0);
    let count = |left: bool, top: bool| {
        points
            .iter()
            .filter(|(x, y)| {
                let fx = (x - b.x0) / w;
                let fy = (y - b.y0) / h;
                (if left { fx < 0.4 } else { fx > 0.6 }) && (if top { fy > 0.55 } else { fy < 0.45 })
            })
            .count()
    };
    [
        (count(false, true), SeriesLabelPosition::UpperRight),
        (count(false, false), SeriesLabelPosition::LowerRight),
        (count(true, true), SeriesLabelPosition::UpperLeft),
        (count(true, false), SeriesLabelPosition::LowerLeft),
    ]
    .into_iter()
    .min_by_key(|(n, _)| *n)
    .map(|(_, p)| p)
    .unwrap_or(SeriesLabelPosition::UpperRight)
}

impl Series {
    /// The line drawn (the moving average of a smoothed series) and its band.
    fn line(&self) -> (Vec<f64>, Option<Vec<f64>>) {
        if self.smooth && smooths(self.y.len()) {
            let w = smoothing_window(self.y.len());
            (moving_average(&self.y, w), self.std.as_ref().map(|s| moving_average(s, w)))
        } else {
            (self.y.clone(), self.std.clone())
        }
    }
}

impl Panel {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> PlotResult {
        let (xs, ys): (Vec<&[f64]>, Vec<Vec<f64>>) = match &self.kind {
            PanelKind::Lines(series) => (
                series.iter().map(|s| s.x.as_slice()).collect(),
                series
                    .iter()
                    .flat_map(|s| {
                        let (y, band) = s.line();
                        let band = band.unwrap_or_default();
                        let at = |i: usize| band.get(i).copied().filter(|d| d.is_finite()).unwrap_or(0.0);
                        let hi: Vec<f64> = y.iter().enumerate().map(|(i, v)| v + at(i)).collect();
                        let lo: Vec<f64> = y.iter().enumerate().map(|(i, v)| v - at(i)).collect();
                        // The raw values of a smoothed series set the range too: its faint
                        // curve is drawn whole.
                        [hi, lo, if s.smooth { s.y.clone() } else { vec![] }]
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
        let mut builder = ChartBuilder::on(area);
        builder.caption(&self.title, (FONT, 17)).margin(12).x_label_area_size(40).y_label_area_size(62);
        if self.log_y {
            // Pad by a factor, not a difference: a linear pad can cross zero.
            let values = positive.iter().flatten().copied().filter(|v| v.is_finite() && *v > 0.0);
            let lo = values.clone().fold(f64::INFINITY, f64::min);
            let hi = values.fold(0.0, f64::max);
            let (lo, hi) = if lo.is_finite() { (lo / 1.5, hi * 1.5) } else { (1e-3, 1.0) };
            let hi = hi.max(lo * 10.0);
            let bounds = Bounds { x0, x1, y0: lo.log10(), y1: hi.log10(), log_y: true };
            let mut chart = builder.build_cartesian_2d(x0..x1, (lo..hi).log_scale()).map_err(err)?;
            chart
                .configure_mesh()
                .x_desc(&self.x_label)
                .y_desc(&self.y_label)
                .label_style((FONT, 13))
                .light_line_style(BLACK.mix(0.04))
                .bold_line_style(BLACK.mix(0.12))
                .x_label_formatter(&|v| tick_label(*v))
                .y_label_formatter(&|v| log_tick_label(*v))
                .draw()
                .map_err(err)?;
            let placed = self.draw_content(&mut chart, &bounds)?;
            self.draw_legend(&mut chart, &placed, &bounds)?;
        } else {
            let (y0, y1) = finite_range(positive.iter().map(|v| v.as_slice()));
            let bounds = Bounds { x0, x1, y0, y1, log_y: false };
            let mut chart = builder.build_cartesian_2d(x0..x1, y0..y1).map_err(err)?;
            chart
                .configure_mesh()
                .x_desc(&self.x_label)
                .y_desc(&self.y_label)
                .label_style((FONT, 13))
                .light_line_style(BLACK.mix(0.04))
                .bold_line_style(BLACK.mix(0.12))
                .x_label_formatter(&|v| tick_label(*v))
                .y_label_formatter(&|v| tick_label(*v))
                .draw()
                .map_err(err)?;
            let placed = self.draw_content(&mut chart, &bounds)?;
            self.draw_legend(&mut chart, &placed, &bounds)?;
        }
        Ok(())
    }

    fn draw_legend<'a, DB: DrawingBackend + 'a, Y: Ranged<ValueType = f64>>(
        &self,
        chart: &mut ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
        placed: &[(f64, f64)],
        bounds: &Bounds,
    ) -> PlotResult {
        chart
            .configure_series_labels()
            .position(free_corner(placed, bounds))
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.3))
            .label_font((FONT, 13))
            .draw()
            .map_err(err)
    }

    /// Draws the content, every line and band clipped to the box; returns the points drawn
    /// (in axis units) so the legend can go where they are not.
    fn draw_content<'a, DB: DrawingBackend + 'a, Y: Ranged<ValueType = f64>>(
        &self,
        chart: &mut ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
        b: &Bounds,
    ) -> std::result::Result<Vec<(f64, f64)>, String> {
        let mut placed = Vec::new();
        match &self.kind {
            PanelKind::Lines(series) => {
                for s in series {
                    let c = colour(s.colour);
                    let (y, band) = s.line();
                    if let Some(std) = &band {
                        let upper: Vec<(f64, f64)> =
                            s.x.iter()
                                .zip(&y)
                                .zip(std)
                                .filter_map(|((&x, &y), &d)| b.clamp(y + d).map(|v| (x, v)))
                                .collect();
                        let lower: Vec<(f64, f64)> =
                            s.x.iter()
                                .zip(&y)
                                .zip(std)
                                .filter_map(|((&x, &y), &d)| b.clamp(y - d).map(|v| (x, v)))
                                .rev()
                                .collect();
                        let polygon: Vec<(f64, f64)> = upper.into_iter().chain(lower).collect();
                        if polygon.len() > 2 {
                            chart
                                .draw_series(std::iter::once(Polygon::new(polygon, c.mix(0.16).filled())))
                                .map_err(err)?;
                        }
                    }
                    if s.smooth && smooths(s.y.len()) {
                        // The records as they are, faint and thin (thin lines have no joins
                        // that could overshoot on a jagged curve).
                        for run in b.runs(&s.x, &s.y) {
                            chart.draw_series(LineSeries::new(run, c.mix(0.22).stroke_width(1))).map_err(err)?;
                        }
                    }
                    let mut first = true;
                    for run in b.runs(&s.x, &y) {
                        placed.extend(run.iter().map(|&(x, v)| (x, b.axis_of(v).unwrap_or(b.y0))));
                        // Thick lines as separate two-point pieces: plotters joins the
                        // pieces of one path with mitres that shoot past sharp turns.
                        let style = c.stroke_width(2);
                        let pieces: Vec<PathElement<(f64, f64)>> = if s.dashed {
                            dashes(&run, b).into_iter().map(|p| PathElement::new(p, style)).collect()
                        } else {
                            run.windows(2).map(|w| PathElement::new(w.to_vec(), style)).collect()
                        };
                        let drawn = chart.draw_series(pieces).map_err(err)?;
                        if first && !s.label.is_empty() {
                            let dashed = s.dashed;
                            drawn.label(s.label.clone()).legend(move |(x, y)| {
                                let style = c.stroke_width(2);
                                let gap = if dashed { (6, 11) } else { (18, 0) };
                                EmptyElement::at((x, y))
                                    + PathElement::new(vec![(0, 0), (gap.0, 0)], style)
                                    + PathElement::new(vec![(gap.1, 0), (18, 0)], style)
                            });
                        }
                        first = false;
                    }
                }
            }
            PanelKind::Points(points) => {
                for p in points {
                    let c = colour(p.colour);
                    placed.push((p.x, p.y));
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
        Ok(placed)
    }
}

/// A dashed run as its dashes: pieces of about 1/120 of the x range, every other one drawn.
fn dashes(run: &[(f64, f64)], b: &Bounds) -> Vec<Vec<(f64, f64)>> {
    let dash = (b.x1 - b.x0) / 120.0;
    let mut out = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    let mut on = true;
    let mut left = dash;
    for w in run.windows(2) {
        let (mut p, q) = (w[0], w[1]);
        let mut len = (q.0 - p.0).abs().max(1e-12);
        while len > left {
            let t = left / len;
            let m = (p.0 + t * (q.0 - p.0), p.1 + t * (q.1 - p.1));
            if on {
                current.push(p);
                current.push(m);
                out.push(std::mem::take(&mut current));
            }
            on = !on;
            len -= left;
            left = dash;
            p = m;
        }
        left -= len;
        if on {
            current.push(p);
            current.push(q);
        }
    }
    if current.len() > 1 {
        out.push(current);
    }
    out.into_iter().flat_map(|d| d.windows(2).map(|w| w.to_vec()).collect::<Vec<_>>()).collect()
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
