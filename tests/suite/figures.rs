//! Figures as a reader sees them: every line stays inside its axes (a jagged curve and a band
//! that crosses zero on a log axis, drawn and then read back pixel by pixel), and tick labels
//! read like matplotlib's.

use nnlab::plot::curves::{Panel, PanelFigure, PanelKind, Series, log_tick_label, moving_average, tick_label};

/// Pixels of `png` that are not white, within `margin` pixels of the image's edges.
fn ink_at_edges(png: &[u8], margin: u32) -> Vec<(u32, u32)> {
    let img = image::load_from_memory(png).expect("a PNG").to_rgb8();
    let (w, h) = img.dimensions();
    img.enumerate_pixels()
        .filter(|(x, y, _)| *x < margin || *y < margin || *x >= w - margin || *y >= h - margin)
        .filter(|(_, _, p)| p.0 != [255, 255, 255])
        .map(|(x, y, _)| (x, y))
        .collect()
}

#[test]
fn no_line_leaves_its_axes() {
    // A curve that jumps between 0 and 1 every point, with one spike: thick polylines
    // joined with mitres overshoot such turns by far (plotters drew them through the title
    // and past the image's edge before).
    let n = 400;
    let x: Vec<f64> = (0..n).map(|i| i as f64 * 10.0).collect();
    let mut y: Vec<f64> = (0..n).map(|i| (i % 2) as f64).collect();
    y[200] = 50.0;
    let jagged = Series { label: "jagged".into(), x: x.clone(), y: y.clone(), ..Default::default() };
    let dashed = Series { label: "dashed".into(), colour: 1, dashed: true, x: x.clone(), y, ..Default::default() };
    // On a log axis: a band whose lower edge goes below zero, and values that do.
    let g: Vec<f64> = (0..n).map(|i| 1e-3 * (1.0 + (i % 7) as f64)).collect();
    let band = Series {
        label: "band".into(),
        colour: 2,
        x: x.clone(),
        y: g.clone(),
        std: Some(g.iter().map(|v| v * 3.0).collect()),
        smooth: true,
        ..Default::default()
    };
    let fig = PanelFigure {
        panels: vec![
            Panel {
                title: "linear".into(),
                x_label: "step".into(),
                y_label: "loss".into(),
                log_y: false,
                kind: PanelKind::Lines(vec![jagged, dashed]),
            },
            Panel {
                title: "log".into(),
                x_label: "step".into(),
                y_label: "norm".into(),
                log_y: true,
                kind: PanelKind::Lines(vec![band]),
            },
        ],
        columns: 2,
        panel_size: (500, 320),
    };
    let dir = tempfile::tempdir().unwrap();
    let files = nnlab::plot::save(&fig, dir.path(), "clip").unwrap();
    let png = std::fs::read(&files[0]).unwrap();
    let ink = ink_at_edges(&png, 6);
    assert!(
        ink.is_empty(),
        "{} pixels drawn within 6 px of the image's edges, e.g. {:?}",
        ink.len(),
        &ink[..ink.len().min(5)]
    );
    // Between the two panels (a vertical strip at the seam) nothing may be drawn either:
    // a line leaving the left panel's box to the right would cross it.
    let img = image::load_from_memory(&png).unwrap().to_rgb8();
    let seam: Vec<(u32, u32)> = (40..img.height() - 40)
        .flat_map(|y| (497..503).map(move |x| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0 != [255, 255, 255])
        .collect();
    assert!(seam.is_empty(), "drawn across the seam between panels: {:?}", &seam[..seam.len().min(5)]);
}

#[test]
fn tick_labels_read_like_a_careful_plot() {
    assert_eq!(tick_label(2000.0), "2k");
    assert_eq!(tick_label(12000.0), "12k");
    assert_eq!(tick_label(1500.0), "1.5k");
    assert_eq!(tick_label(250.0), "250");
    assert_eq!(tick_label(0.0), "0");
    assert_eq!(tick_label(0.25), "0.25");
    assert_eq!(tick_label(1.5), "1.5");
    assert_eq!(log_tick_label(1e-3), "1e-3");
    assert_eq!(log_tick_label(2e-3), "2e-3");
    assert_eq!(log_tick_label(5.0), "5e0");
    assert_eq!(log_tick_label(10.0), "1e1");
    assert_eq!(log_tick_label(9.0), "");
    assert_eq!(log_tick_label(3e-2), "");
}

#[test]
fn moving_average_keeps_breaks_and_levels() {
    let y = [1.0, 3.0, f64::NAN, 5.0, 7.0, 9.0];
    let m = moving_average(&y, 3);
    assert_eq!(m[0], 2.0); // (1 + 3) / 2 at the edge
    assert_eq!(m[1], 2.0); // NaN left out of the mean
    assert!(m[2].is_nan()); // the break stays
    assert_eq!(m[4], 7.0);
    assert_eq!(m[5], 8.0);
}

/// Pixels of `png` of exactly the colour `rgb`.
fn pixels_of(png: &[u8], rgb: (u8, u8, u8)) -> usize {
    let img = image::load_from_memory(png).expect("a PNG").to_rgb8();
    img.pixels().filter(|p| p.0 == [rgb.0, rgb.1, rgb.2]).count()
}

#[test]
fn the_legend_hides_no_line() {
    // Six level lines spread over the whole height: every corner of the box holds one, so a
    // legend inside would cover a stretch of a line (it did: the gradient figure's legend sat
    // on cnn4's and cnn5's sigmoid curves). Each line must show its full length.
    let x: Vec<f64> = (0..200).map(|i| i as f64).collect();
    let series: Vec<Series> = (0..6)
        .map(|k| Series {
            label: format!("a long legend label {k}"),
            colour: k,
            x: x.clone(),
            y: vec![k as f64 / 5.0; x.len()],
            ..Default::default()
        })
        .collect();
    let fig = PanelFigure {
        panels: vec![Panel {
            title: "level lines".into(),
            x_label: "step".into(),
            y_label: "value".into(),
            log_y: false,
            kind: PanelKind::Lines(series),
        }],
        columns: 1,
        panel_size: (640, 400),
    };
    let dir = tempfile::tempdir().unwrap();
    let files = nnlab::plot::save(&fig, dir.path(), "legend").unwrap();
    let png = std::fs::read(&files[0]).unwrap();
    // tab10, the palette's first six colours.
    let palette = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)];
    let counts: Vec<usize> = palette.iter().map(|&c| pixels_of(&png, c)).collect();
    let most = *counts.iter().max().unwrap();
    assert!(most > 500, "the lines were not drawn in the palette's colours: {counts:?}");
    for (k, &n) in counts.iter().enumerate() {
        assert!(n as f64 >= 0.95 * most as f64, "line {k} shows {n} pixels, the longest {most}: part of it is hidden");
    }
}

#[test]
fn a_long_caption_shrinks_to_fit_its_panel() {
    // 77 characters: about 560 px at the caption's usual 16 px, in a panel 480 px wide; its
    // notes in brackets go to a second line.
    let title = "validation accuracy of every net, train solid, val dashed (moving average 33)";
    assert_eq!(title.len(), 77);
    let x: Vec<f64> = (0..50).map(|i| i as f64).collect();
    let fig = PanelFigure {
        panels: vec![Panel {
            title: title.into(),
            x_label: "step".into(),
            y_label: "accuracy".into(),
            log_y: false,
            kind: PanelKind::Lines(vec![Series {
                label: "a".into(),
                y: x.iter().map(|v| v / 50.0).collect(),
                x,
                ..Default::default()
            }]),
        }],
        columns: 1,
        panel_size: (480, 320),
    };
    let dir = tempfile::tempdir().unwrap();
    let files = nnlab::plot::save(&fig, dir.path(), "caption").unwrap();
    let ink = ink_at_edges(&std::fs::read(&files[0]).unwrap(), 4);
    assert!(ink.is_empty(), "the caption runs to the image's edges: {:?}", &ink[..ink.len().min(5)]);
}

/// The texts of an SVG's `<text>` elements.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| Some(t[t.find('>')? + 1..t.find("</text>")?].trim().to_string()))
        .collect()
}

/// Whether a tick label is written the way matplotlib would not: "-0.0", "-0", or an integer
/// with ".0".
fn clumsy_tick(t: &str) -> bool {
    let number = t.parse::<f64>().is_ok();
    number && (t == "-0" || t.starts_with("-0.0") && t.parse::<f64>() == Ok(0.0) || t.ends_with(".0"))
}

/// The activations figure: ticks "0", "1", "-2" (the tanh panel spans zero, which plotters'
/// own labels wrote "-0.0"), not "1.0".
#[test]
fn activation_ticks_are_clean() {
    use nnlab::activation::Activation;
    let x: Vec<f64> = (0..=200).map(|i| -5.0 + i as f64 * 0.05).collect();
    let t: Vec<f64> = x.iter().map(|v| v.tanh()).collect();
    let dt: Vec<f64> = t.iter().map(|v| 1.0 - v * v).collect();
    let r: Vec<f64> = x.iter().map(|v| v.max(0.0)).collect();
    let dr: Vec<f64> = x.iter().map(|v| if *v > 0.0 { 1.0 } else { 0.0 }).collect();
    let curves = [(Activation::Tanh, t, dt), (Activation::Relu, r, dr)];
    let dir = tempfile::tempdir().unwrap();
    nnlab::plot::save(&nnlab::plot::activations::ActivationsFigure { x: &x, curves: &curves }, dir.path(), "a")
        .unwrap();
    let texts = svg_texts(&std::fs::read_to_string(dir.path().join("a.svg")).unwrap());
    assert!(texts.iter().any(|t| t == "-4") && texts.iter().any(|t| t == "0"), "{texts:?}");
    let clumsy: Vec<&String> = texts.iter().filter(|t| clumsy_tick(t)).collect();
    assert!(clumsy.is_empty(), "tick labels {clumsy:?} in {texts:?}");
}

/// An XOR decision-boundary figure: its legend is a row under the plot, so nothing but the
/// regions (here one class everywhere) is drawn inside the plot box; clean ticks.
#[test]
fn the_xor_legend_hides_no_region() {
    use nnlab::plot::xor::{BoundaryFigure, BoundaryGrid};
    let grid = BoundaryGrid { extent: 2.5, resolution: 60, values: vec![0.2; 3600] };
    let fig = BoundaryFigure { title: "one class everywhere".into(), grid: &grid, points: &[], labels: &[] };
    let dir = tempfile::tempdir().unwrap();
    nnlab::plot::save(&fig, dir.path(), "b").unwrap();
    let img = image::open(dir.path().join("b.png")).unwrap().to_rgb8();
    let region = [198, 219, 239];
    let inside: Vec<(u32, u32)> =
        img.enumerate_pixels().filter(|(_, _, p)| p.0 == region).map(|(x, y, _)| (x, y)).collect();
    let (x0, x1) = (inside.iter().map(|p| p.0).min().unwrap(), inside.iter().map(|p| p.0).max().unwrap());
    let (y0, y1) = (inside.iter().map(|p| p.1).min().unwrap(), inside.iter().map(|p| p.1).max().unwrap());
    let box_area = ((x1 - x0 + 1) * (y1 - y0 + 1)) as usize;
    assert!(box_area > 300 * 300, "plot box {x0}..{x1} × {y0}..{y1}");
    assert_eq!(inside.len(), box_area, "something other than the region is drawn inside the plot box");
    let below = img.enumerate_pixels().filter(|(_, y, p)| *y > y1 + 35 && p.0[0] < 100).count();
    assert!(below > 50, "no legend under the plot ({below} dark pixels)");
    let texts = svg_texts(&std::fs::read_to_string(dir.path().join("b.svg")).unwrap());
    assert!(texts.iter().any(|t| t.contains("decision boundary")), "{texts:?}");
    assert!(texts.iter().any(|t| t == "-2.5") && texts.iter().any(|t| t == "2"), "{texts:?}");
    assert!(!texts.iter().any(|t| clumsy_tick(t)), "{texts:?}");
}
