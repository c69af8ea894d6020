//! Line and point panels in a grid: the training curves of the CIFAR-10 studies
//! (the course's `part3Plots`, `part4Plots`, `part5Plots`).

use super::{FONT, Figure, PlotResult, colour, err, finite_range};
use plotters::coord::Shift;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

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
    /// A noisy per-batch curve: drawn faint as recorded, with its moving average as the line
    /// on top (one window for the whole panel, [`smoothing_window`] of its longest series, so
    /// that one caption note is true of every curve).
    pub smooth: bool,
}

/// Points in the moving average of a smoothed series of `n` points: about a fortieth of the
/// curve, odd, between 1 and 101 (45 for the homework's 1 350 records).
pub fn smoothing_window(n: usize) -> usize {
    ((n / 40) | 1).clamp(1, 101)
}

/// The caption note of a smoothed panel whose longest series has `n` records: "raw faint,
/// 45-record moving average" (empty when the curves are too short to be smoothed).
pub fn smoothing_note(n: usize) -> String {
    let w = smoothing_window(n);
    if w > 1 { format!("raw faint, {w}-record moving average") } else { String::new() }
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

/// Panels in a grid of `columns` columns, each `panel_size` pixels, or narrower (same shape,
/// at most 4:3) where the row would be wider than [`super::PAGE_WIDTH`].
#[derive(Debug, Clone)]
pub struct PanelFigure {
    /// The panels, row by row.
    pub panels: Vec<Panel>,
    /// Panels per row.
    pub columns: usize,
    /// Width and height of one panel (before fitting the page width).
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

/// The ticks of a log axis from `10^lo` to `10^hi` (`lo`, `hi` in decades): labelled ticks
/// at 1, 2 and 5 of each decade over three decades or fewer, else at every k-th power of ten
/// (k of 1, 2, 3, 5, 10, … giving at most eight); light grid lines at the other powers of
/// ten, or at 2…9 of each decade when every power is labelled. Plotters' own log ticks drop
/// every value under `f64::EPSILON` as if it were zero, leaving vanishing gradients unlabelled.
fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let inside = |v: &f64| (lo - 1e-9..=hi + 1e-9).contains(&v.log10());
    let decades = lo.floor() as i32..=hi.ceil() as i32;
    // The multiples m·10^e inside the axis, for the m (1…9) that `keep` takes.
    let multiples = |keep: fn(i32) -> bool| -> Vec<f64> {
        decades
            .clone()
            .flat_map(|e| (1..10).filter(move |&m| keep(m)).map(move |m| m as f64 * 10f64.powi(e)))
            .filter(inside)
            .collect()
    };
    if hi - lo <= 3.0 {
        return (multiples(|m| matches!(m, 1 | 2 | 5)), multiples(|m| !matches!(m, 1 | 2 | 5)));
    }
    let k = [1, 2, 3, 5, 10, 20, 50, 100].into_iter().find(|&k| (hi - lo) / k as f64 <= 8.0).unwrap_or(100);
    let powers = |labelled: bool| -> Vec<f64> {
        decades.clone().filter(|e| (e.rem_euclid(k) == 0) == labelled).map(|e| 10f64.powi(e)).filter(inside).collect()
    };
    let light = if k == 1 { multiples(|m| m > 1) } else { powers(false) };
    (powers(true), light)
}

/// Share of a smoothed series' raw records at each end of its range that may fall outside
/// the plot box: one spike (a first step's loss of 50 with inputs in [0, 255], every other
/// record near 2.3) is cut at the box's edge instead of squashing every curve into a sliver
/// of the panel, as a careful `ylim` would.
const RAW_OUTLIER_SHARE: f64 = 0.005;

/// The lowest and highest of the finite values of `y` (positive ones for a log axis), less
/// the rarest [`RAW_OUTLIER_SHARE`] at each end; empty when there are none.
fn raw_span(y: &[f64], log_y: bool) -> Vec<f64> {
    let mut v: Vec<f64> = y.iter().copied().filter(|v| v.is_finite() && (!log_y || *v > 0.0)).collect();
    if v.is_empty() {
        return v;
    }
    v.sort_by(f64::total_cmp);
    let cut = (v.len() as f64 * RAW_OUTLIER_SHARE) as usize;
    vec![v[cut], v[v.len() - 1 - cut]]
}

/// Where a panel's legend goes: in a corner of the box where no line runs, or, when every
/// corner holds some, beside the box on the right (matplotlib's `bbox_to_anchor=(1.02, 1)`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum LegendPlace {
    /// In the corner on the right (`true`) or left, at the top (`true`) or bottom.
    Inside {
        right: bool,
        top: bool,
    },
    Beside,
}

/// Gap between the plot box's edges and a legend inside it, pixels.
const LEGEND_MARGIN: i32 = 10;

/// The legend's place for lines and points drawn at `points` (axis units), with a legend box
/// taking `size` of the plot box (fractions of its width and height). A corner is free when
/// no drawn point lies under the box there (with a little room around it); the first free
/// one of upper right, lower right, upper left, lower left wins.
fn legend_place(points: &[(f64, f64)], b: &Bounds, size: (f64, f64)) -> LegendPlace {
    let (w, h) = (b.x1 - b.x0, b.y1 - b.y0);
    let (lw, lh) = (size.0 + 0.03, size.1 + 0.03);
    let covered = |right: bool, top: bool| {
        points.iter().any(|(x, y)| {
            let fx = (x - b.x0) / w;
            let fy = (y - b.y0) / h;
            (if right { fx > 1.0 - lw } else { fx < lw }) && (if top { fy > 1.0 - lh } else { fy < lh })
        })
    };
    if size.0 > 0.45 || size.1 > 0.9 {
        return LegendPlace::Beside;
    }
    [(true, true), (true, false), (false, true), (false, false)]
        .into_iter()
        .find(|&(right, top)| !covered(right, top))
        .map_or(LegendPlace::Beside, |(right, top)| LegendPlace::Inside { right, top })
}

/// The polyline's points, with points added along each segment every hundredth of the box,
/// so a long straight segment across a corner counts there too.
fn densified(run: &[(f64, f64)], b: &Bounds) -> Vec<(f64, f64)> {
    let (w, h) = (b.x1 - b.x0, b.y1 - b.y0);
    let mut out: Vec<(f64, f64)> = run.first().copied().into_iter().collect();
    for pair in run.windows(2) {
        let (p, q) = (pair[0], pair[1]);
        let steps = (((q.0 - p.0) / w).abs().max(((q.1 - p.1) / h).abs()) * 100.0).ceil().max(1.0) as usize;
        out.extend((1..=steps).map(|i| {
            let t = i as f64 / steps as f64;
            (p.0 + t * (q.0 - p.0), p.1 + t * (q.1 - p.1))
        }));
    }
    out
}

/// One row of a legend: its text, colour and mark.
struct LegendEntry {
    label: String,
    colour: usize,
    mark: Mark,
}

/// The sample a legend row shows.
#[derive(Clone, Copy)]
enum Mark {
    Line,
    Dashed,
    Dot,
}

/// Legend text size, pixels.
const LEGEND_FONT: u32 = 13;
/// Width of the line sample in a legend row, pixels.
const LEGEND_SAMPLE: u32 = 24;
/// Space inside the legend's frame, pixels.
const LEGEND_PAD: u32 = 8;
/// Height of one legend row, pixels.
const LEGEND_ROW: u32 = LEGEND_FONT + 6;

/// Margin around a panel's chart, pixels.
const CHART_MARGIN: u32 = 12;
/// Height of the x tick labels and axis label under the plot box, pixels.
const X_LABEL_AREA: u32 = 40;
/// Width of the y tick labels and axis label left of the plot box, pixels.
const Y_LABEL_AREA: u32 = 62;
/// Font size of a panel's caption, pixels; its notes in brackets are one size down.
const CAPTION_FONT: u32 = 16;
/// Smallest font a caption line shrinks to before it is cut off at the panel's edge.
const CAPTION_MIN_FONT: u32 = 11;
/// Space between and under caption lines, pixels.
const CAPTION_GAP: u32 = 6;
/// Space above a caption's first line, pixels (plotters' top-aligned text reaches a few
/// pixels above the point it is placed at).
const CAPTION_TOP: u32 = 10;

impl Series {
    /// Whether the records are drawn faint under their moving average over `window` points
    /// (the panel's: a smoothed series in a panel long enough to smooth).
    fn draws_raw(&self, window: usize) -> bool {
        self.smooth && window > 1
    }

    /// The line drawn (the moving average over `window` points of a smoothed series) and its
    /// band.
    fn line(&self, window: usize) -> (Vec<f64>, Option<Vec<f64>>) {
        if self.draws_raw(window) {
            (moving_average(&self.y, window), self.std.as_ref().map(|s| moving_average(s, window)))
        } else {
            (self.y.clone(), self.std.clone())
        }
    }
}

impl Panel {
    /// The moving-average window of the panel's smoothed series: [`smoothing_window`] of its
    /// longest series (1, no smoothing, for points).
    fn window(&self) -> usize {
        match &self.kind {
            PanelKind::Lines(series) => smoothing_window(series.iter().map(|s| s.y.len()).max().unwrap_or(0)),
            PanelKind::Points(_) => 1,
        }
    }

    /// The plot box: x over every series (and point with its error bar), y over every line
    /// drawn with its band and, for smoothed series, the faint raw curve less its rarest
    /// values ([`raw_span`]), padded; a log axis padded by a factor and at least one decade
    /// tall.
    fn bounds(&self) -> Bounds {
        let window = self.window();
        let (xs, ys): (Vec<&[f64]>, Vec<Vec<f64>>) = match &self.kind {
            PanelKind::Lines(series) => (
                series.iter().map(|s| s.x.as_slice()).collect(),
                series
                    .iter()
                    .flat_map(|s| {
                        let (y, band) = s.line(window);
                        let band = band.unwrap_or_default();
                        let at = |i: usize| band.get(i).copied().filter(|d| d.is_finite()).unwrap_or(0.0);
                        let hi: Vec<f64> = y.iter().enumerate().map(|(i, v)| v + at(i)).collect();
                        let lo: Vec<f64> = y.iter().enumerate().map(|(i, v)| v - at(i)).collect();
                        // The faint raw curve of a smoothed series sets the range too, but
                        // for its rarest values (cut at the box's edge instead).
                        [hi, lo, if s.draws_raw(window) { raw_span(&s.y, self.log_y) } else { vec![] }]
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
        if self.log_y {
            // Pad by a factor, not a difference: a linear pad can cross zero.
            let values = positive.iter().flatten().copied().filter(|v| v.is_finite() && *v > 0.0);
            let lo = values.clone().fold(f64::INFINITY, f64::min);
            let hi = values.fold(0.0, f64::max);
            let (lo, hi) = if lo.is_finite() { (lo / 1.5, hi * 1.5) } else { (1e-3, 1.0) };
            let hi = hi.max(lo * 10.0);
            Bounds { x0, x1, y0: lo.log10(), y1: hi.log10(), log_y: true }
        } else {
            let (y0, y1) = finite_range(positive.iter().map(|v| v.as_slice()));
            Bounds { x0, x1, y0, y1, log_y: false }
        }
    }

    /// The points the legend must not cover, in axis units: the lines as drawn (for smoothed
    /// series their moving averages and their faint raw curves, as far as the box shows them)
    /// and the dots.
    fn drawn_points(&self, b: &Bounds) -> Vec<(f64, f64)> {
        let window = self.window();
        match &self.kind {
            PanelKind::Lines(series) => series
                .iter()
                .flat_map(|s| {
                    let (y, _) = s.line(window);
                    let raw = if s.draws_raw(window) { b.runs(&s.x, &s.y) } else { Vec::new() };
                    b.runs(&s.x, &y)
                        .into_iter()
                        .chain(raw)
                        .map(|run| run.into_iter().map(|(x, v)| (x, b.axis_of(v).unwrap_or(b.y0))).collect::<Vec<_>>())
                        .flat_map(|run| densified(&run, b))
                        .collect::<Vec<_>>()
                })
                .collect(),
            PanelKind::Points(points) => points.iter().filter_map(|p| b.axis_of(p.y).map(|y| (p.x, y))).collect(),
        }
    }

    fn legend_entries(&self) -> Vec<LegendEntry> {
        match &self.kind {
            PanelKind::Lines(series) => series
                .iter()
                .filter(|s| !s.label.is_empty())
                .map(|s| LegendEntry {
                    label: s.label.clone(),
                    colour: s.colour,
                    mark: if s.dashed { Mark::Dashed } else { Mark::Line },
                })
                .collect(),
            PanelKind::Points(points) => points
                .iter()
                .filter(|p| !p.label.is_empty())
                .map(|p| LegendEntry { label: p.label.clone(), colour: p.colour, mark: Mark::Dot })
                .collect(),
        }
    }

    fn draw<DB: DrawingBackend>(&self, panel: &DrawingArea<DB, Shift>) -> PlotResult {
        let lines = caption_lines(panel, &self.title);
        let caption_h = CAPTION_TOP + lines.iter().map(|(_, size)| size + CAPTION_GAP).sum::<u32>();
        let (caption, area) = panel.split_vertically(caption_h);
        draw_caption(&caption, &lines)?;
        let area = &area;
        let bounds = self.bounds();
        let entries = self.legend_entries();
        if entries.is_empty() {
            return self.draw_chart(area, &bounds).map(|_| ());
        }
        let legend = legend_size(area, &entries);
        let (w, h) = area.dim_in_pixel();
        // The plot box inside the area under the caption: margins and tick-label areas around it.
        let plot = (
            w.saturating_sub(2 * CHART_MARGIN + Y_LABEL_AREA).max(1) as f64,
            h.saturating_sub(2 * CHART_MARGIN + X_LABEL_AREA).max(1) as f64,
        );
        let m = LEGEND_MARGIN as f64;
        let size = ((legend.0 as f64 + m) / plot.0, (legend.1 as f64 + m) / plot.1);
        match legend_place(&self.drawn_points(&bounds), &bounds, size) {
            LegendPlace::Inside { right, top } => {
                let plotting = self.draw_chart(area, &bounds)?;
                let (pw, ph) = plotting.dim_in_pixel();
                let x = if right { pw as i32 - legend.0 as i32 - LEGEND_MARGIN } else { LEGEND_MARGIN };
                let y = if top { LEGEND_MARGIN } else { ph as i32 - legend.1 as i32 - LEGEND_MARGIN };
                draw_legend(&plotting, &entries, (x, y), legend)
            }
            LegendPlace::Beside => {
                let (chart_area, side) = area.split_horizontally(w.saturating_sub(legend.0 + LEGEND_MARGIN as u32));
                let plotting = self.draw_chart(&chart_area, &bounds)?;
                // Level with the top of the plot box.
                let top = plotting.get_base_pixel().1 - area.get_base_pixel().1;
                draw_legend(&side, &entries, (0, top), legend)
            }
        }
    }

    /// The axes, grid and content on `area`; returns the plot box's drawing area.
    fn draw_chart<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        bounds: &Bounds,
    ) -> std::result::Result<DrawingArea<DB, Shift>, String> {
        let x = bounds.x0..bounds.x1;
        if self.log_y {
            let (lo, hi) = (bounds.value_of(bounds.y0), bounds.value_of(bounds.y1));
            let (bold, light) = log_ticks(bounds.y0, bounds.y1);
            let y = (lo..hi).log_scale().with_key_points(bold).with_light_points(light);
            self.draw_chart_on(area, bounds, x, y, log_tick_label)
        } else {
            self.draw_chart_on(area, bounds, x, RangedCoordf64::from(bounds.y0..bounds.y1), tick_label)
        }
    }

    /// [`Self::draw_chart`] with the y axis `y`, its ticks labelled by `y_tick`.
    fn draw_chart_on<DB: DrawingBackend, Y>(
        &self,
        area: &DrawingArea<DB, Shift>,
        bounds: &Bounds,
        x: std::ops::Range<f64>,
        y: Y,
        y_tick: fn(f64) -> String,
    ) -> std::result::Result<DrawingArea<DB, Shift>, String>
    where
        Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        let mut chart = ChartBuilder::on(area)
            .margin(CHART_MARGIN)
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(x, y)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .label_style((FONT, 13))
            .light_line_style(BLACK.mix(0.04))
            .bold_line_style(BLACK.mix(0.12))
            .x_label_formatter(&|v| tick_label(*v))
            .y_label_formatter(&|v| y_tick(*v))
            .draw()
            .map_err(err)?;
        self.draw_content(&mut chart, bounds)?;
        Ok(chart.plotting_area().strip_coord_spec())
    }

    /// Draws the content, every line and band clipped to the box.
    fn draw_content<'a, DB: DrawingBackend + 'a, Y: Ranged<ValueType = f64>>(
        &self,
        chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y>>,
        b: &Bounds,
    ) -> PlotResult {
        let window = self.window();
        match &self.kind {
            PanelKind::Lines(series) => {
                for s in series {
                    let c = colour(s.colour);
                    let (y, band) = s.line(window);
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
                    if s.draws_raw(window) {
                        // The records as they are, faint and thin (thin lines have no joins
                        // that could overshoot on a jagged curve).
                        for run in b.runs(&s.x, &s.y) {
                            chart.draw_series(LineSeries::new(run, c.mix(0.22).stroke_width(1))).map_err(err)?;
                        }
                    }
                    for run in b.runs(&s.x, &y) {
                        // Thick lines as separate two-point pieces: plotters joins the
                        // pieces of one path with mitres that shoot past sharp turns.
                        let style = c.stroke_width(2);
                        let pieces: Vec<PathElement<(f64, f64)>> = if s.dashed {
                            dashes(&run, b).into_iter().map(|p| PathElement::new(p, style)).collect()
                        } else {
                            run.windows(2).map(|w| PathElement::new(w.to_vec(), style)).collect()
                        };
                        chart.draw_series(pieces).map_err(err)?;
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
                    chart.draw_series(std::iter::once(Circle::new((p.x, p.y), 5, c.filled()))).map_err(err)?;
                }
            }
        }
        Ok(())
    }
}

/// A panel's caption as lines of (text, font size) that fit its width: one line at
/// [`CAPTION_FONT`] when it fits, else the title and its notes in brackets on two lines (the
/// notes one size down), a line that still does not fit shrinking to [`CAPTION_MIN_FONT`].
fn caption_lines<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, title: &str) -> Vec<(String, u32)> {
    let room = area.dim_in_pixel().0.saturating_sub(16);
    let fits =
        |text: &str, size: u32| area.estimate_text_size(text, &(FONT, size).into()).is_ok_and(|(w, _)| w <= room);
    let shrunk = |text: &str, largest: u32| {
        let size = (CAPTION_MIN_FONT..=largest).rev().find(|&size| fits(text, size)).unwrap_or(CAPTION_MIN_FONT);
        (text.to_string(), size)
    };
    if fits(title, CAPTION_FONT) {
        return vec![(title.to_string(), CAPTION_FONT)];
    }
    match title.split_once(" (") {
        Some((head, notes)) => vec![shrunk(head, CAPTION_FONT), shrunk(&format!("({notes}"), CAPTION_FONT - 2)],
        None => vec![shrunk(title, CAPTION_FONT)],
    }
}

/// Draws caption `lines` centred on `area`, top to bottom.
fn draw_caption<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, lines: &[(String, u32)]) -> PlotResult {
    let centre = area.dim_in_pixel().0 as i32 / 2;
    let mut y = CAPTION_TOP as i32;
    for (text, size) in lines {
        let style = TextStyle::from((FONT, *size).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
        area.draw(&Text::new(text.as_str(), (centre, y), style)).map_err(err)?;
        y += (size + CAPTION_GAP) as i32;
    }
    Ok(())
}

/// Width and height in pixels of the legend box of `entries`.
fn legend_size<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, entries: &[LegendEntry]) -> (u32, u32) {
    let font: TextStyle = (FONT, LEGEND_FONT).into();
    let text = entries
        .iter()
        .map(|e| area.estimate_text_size(&e.label, &font).map_or(e.label.chars().count() as u32 * 8, |s| s.0))
        .max()
        .unwrap_or(0);
    (2 * LEGEND_PAD + LEGEND_SAMPLE + 6 + text, 2 * LEGEND_PAD + entries.len() as u32 * LEGEND_ROW)
}

/// Draws the legend box of `entries` with its top-left corner at `at` on `area`.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
    at: (i32, i32),
    size: (u32, u32),
) -> PlotResult {
    let (x, y) = at;
    let frame = [(x, y), (x + size.0 as i32, y + size.1 as i32)];
    area.draw(&Rectangle::new(frame, WHITE.mix(0.9).filled())).map_err(err)?;
    area.draw(&Rectangle::new(frame, BLACK.mix(0.3))).map_err(err)?;
    let font = TextStyle::from((FONT, LEGEND_FONT).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, e) in entries.iter().enumerate() {
        let c = colour(e.colour);
        let row_mid = y + (LEGEND_PAD + i as u32 * LEGEND_ROW + LEGEND_ROW / 2) as i32;
        let x0 = x + LEGEND_PAD as i32;
        let x1 = x0 + LEGEND_SAMPLE as i32;
        let style = c.stroke_width(2);
        match e.mark {
            Mark::Line => area.draw(&PathElement::new(vec![(x0, row_mid), (x1, row_mid)], style)),
            Mark::Dashed => area
                .draw(&PathElement::new(vec![(x0, row_mid), (x0 + 8, row_mid)], style))
                .and_then(|_| area.draw(&PathElement::new(vec![(x1 - 8, row_mid), (x1, row_mid)], style))),
            Mark::Dot => area.draw(&Circle::new(((x0 + x1) / 2, row_mid), 5, c.filled())),
        }
        .map_err(err)?;
        let text = Text::new(e.label.as_str(), (x1 + 6, row_mid), font.clone());
        area.draw(&text).map_err(err)?;
    }
    Ok(())
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
        let (w, h) = self.panel_size;
        let fitted = w.min(super::PAGE_WIDTH / cols);
        // Narrowed panels keep their shape, but no flatter than matplotlib's 4:3.
        let height = if fitted < w { (h * fitted / w).max(fitted * 3 / 4) } else { h };
        (fitted * cols, height * rows.max(1))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_moving_average_window_serves_the_whole_panel() {
        // Adam's 1 350 records beside a 30-epoch schedule's 2 700: both smoothed over the
        // longer curve's window, the one the caption names.
        let series = |n: usize| Series {
            y: vec![0.5; n],
            x: (0..n).map(|i| i as f64).collect(),
            smooth: true,
            ..Default::default()
        };
        let panel = Panel {
            title: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            log_y: false,
            kind: PanelKind::Lines(vec![series(1350), series(2700)]),
        };
        assert_eq!(panel.window(), smoothing_window(2700));
        assert_eq!(smoothing_note(2700), format!("raw faint, {}-record moving average", panel.window()));
        assert_ne!(smoothing_window(1350), smoothing_window(2700));
    }

    #[test]
    fn a_row_of_panels_fits_the_report_page() {
        let figure = |columns: usize, panel_size| PanelFigure { panels: vec![], columns, panel_size };
        // Two 860 × 540 panels: 540 wide each, the same shape (340 high) but no flatter than 4:3.
        assert_eq!(figure(2, (860, 540)).size(), (1080, 405));
        // Narrow enough already: as given.
        assert_eq!(figure(1, (900, 520)).size(), (900, 520));
        assert!(figure(3, (720, 480)).size().0 <= super::super::PAGE_WIDTH);
    }

    #[test]
    fn log_ticks_label_every_decade_range_even_below_machine_epsilon() {
        // 24 decades, down to 1e-22 (a sigmoid's vanishing gradient): every 5th power.
        let (bold, light) = log_ticks(-22.2, 2.1);
        let labels: Vec<String> = bold.iter().map(|&v| log_tick_label(v)).collect();
        assert_eq!(labels, ["1e-20", "1e-15", "1e-10", "1e-5", "1e0"]);
        assert!(light.iter().any(|&v| v < 1e-21) && light.iter().all(|&v| !log_tick_label(v).is_empty()));
        // Two decades: 1, 2 and 5 of each, the light grid at the other multiples.
        let (bold, light) = log_ticks(-3.0, -1.0);
        let labels: Vec<String> = bold.iter().map(|&v| log_tick_label(v)).collect();
        assert_eq!(labels, ["1e-3", "2e-3", "5e-3", "1e-2", "2e-2", "5e-2", "1e-1"]);
        assert_eq!(light.len(), 12);
        // Six decades: every power labelled, the light grid at 2…9.
        let (bold, light) = log_ticks(-4.0, 2.0);
        assert_eq!(bold.len(), 7);
        assert_eq!(light.len(), 6 * 8);
    }

    #[test]
    fn the_legend_takes_a_free_corner_and_goes_beside_when_there_is_none() {
        let b = Bounds { x0: 0.0, x1: 10.0, y0: 0.0, y1: 1.0, log_y: false };
        let size = (0.3, 0.3);
        // A line along the bottom: the top corners are free; upper right comes first.
        let bottom = densified(&[(0.0, 0.1), (10.0, 0.1)], &b);
        assert_eq!(legend_place(&bottom, &b, size), LegendPlace::Inside { right: true, top: true });
        // Falling from the upper left to the lower right: the other two corners are free.
        let falling = densified(&[(0.0, 0.95), (10.0, 0.05)], &b);
        assert_eq!(legend_place(&falling, &b, size), LegendPlace::Inside { right: true, top: true });
        let rising = densified(&[(0.0, 0.05), (10.0, 0.95)], &b);
        assert_eq!(legend_place(&rising, &b, size), LegendPlace::Inside { right: true, top: false });
        // Both diagonals: every corner holds a line, and only two points of each were given
        // (densifying finds the corners the segments cross).
        let both: Vec<(f64, f64)> = [falling, rising].concat();
        assert_eq!(legend_place(&both, &b, size), LegendPlace::Beside);
        // One straight segment across the upper right corner, its two ends outside it.
        let across = [(5.0, 1.0), (10.0, 0.5)];
        assert_eq!(legend_place(&across, &b, size), LegendPlace::Inside { right: true, top: true });
        let across = densified(&across, &b);
        assert_eq!(legend_place(&across, &b, size), LegendPlace::Inside { right: true, top: false });
        // A legend taller than the box goes beside whatever the data.
        assert_eq!(legend_place(&bottom, &b, (0.3, 0.95)), LegendPlace::Beside);
    }

    /// A panel of one smoothed series (1 350 records, the homework's curve) at `x` = 0, 10, ….
    fn smoothed_panel(y: Vec<f64>, log_y: bool) -> Panel {
        let x = (0..y.len()).map(|i| i as f64 * 10.0).collect();
        let series = Series { label: "loss".into(), x, y, smooth: true, ..Default::default() };
        Panel {
            title: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            log_y,
            kind: PanelKind::Lines(vec![series]),
        }
    }

    #[test]
    fn one_raw_spike_does_not_set_the_range_but_the_smoothed_line_does() {
        // The [0, 255] study's mlp1: a first loss of 50, then about 2.3 with a little noise.
        let mut y: Vec<f64> = (0..1350).map(|i| 2.3 + 0.01 * (i % 5) as f64).collect();
        y[0] = 50.0;
        let b = smoothed_panel(y.clone(), false).bounds();
        let line = moving_average(&y, smoothing_window(y.len()));
        let top = line.iter().copied().fold(f64::MIN, f64::max);
        assert!(top > 3.0, "the moving average carries the spike: {top}");
        assert!(
            b.y1 >= top && b.y1 < 1.2 * top,
            "the box's top {} should sit just above the line's {top}, not at 50",
            b.y1
        );
        assert!(b.y0 <= 2.3 && b.y0 > 2.0, "the box's bottom {} should sit just below 2.3", b.y0);
        // Spikes that are not rare (every tenth record) stay in the box.
        let every: Vec<f64> = (0..1350).map(|i| if i % 10 == 0 { 9.0 } else { 2.3 }).collect();
        assert!(smoothed_panel(every, false).bounds().y1 >= 9.0);
        // On a log axis the same, in decades: a gradient of 2 000 once, then about 1.
        let mut g = vec![1.0; 1350];
        g[0] = 2000.0;
        let b = smoothed_panel(g, true).bounds();
        assert!(b.y1 < 3f64.log10() + 2.0, "log box top 10^{} should be far below 2 000", b.y1);
    }

    #[test]
    fn the_legend_keeps_off_the_faint_raw_curve() {
        // Records alternating between 0 and 1: the moving average runs level through the
        // middle and leaves every corner free, but the faint raw curve fills them all.
        let y: Vec<f64> = (0..1350).map(|i| (i % 2) as f64).collect();
        let panel = smoothed_panel(y, false);
        let b = panel.bounds();
        assert_eq!(legend_place(&panel.drawn_points(&b), &b, (0.3, 0.3)), LegendPlace::Beside);
    }
}
