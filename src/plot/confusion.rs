//! A confusion matrix as a heat map: true class down, predicted class across, each cell
//! shaded by the share of its row and labelled with its count.

use super::{FONT, Figure, PlotResult, err};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Counts `[true][predicted]` with class names and a title.
#[derive(Debug, Clone)]
pub struct ConfusionFigure {
    /// Above the matrix.
    pub title: String,
    /// One name per class.
    pub classes: Vec<String>,
    /// `counts[t][p]`: images of class t predicted as p.
    pub counts: Vec<Vec<usize>>,
}

const CELL: i32 = 56;
const LEFT: i32 = 110;
const TOP: i32 = 70;

impl Figure for ConfusionFigure {
    fn size(&self) -> (u32, u32) {
        let n = self.classes.len() as i32;
        ((LEFT + n * CELL + 30) as u32, (TOP + n * CELL + 90) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult {
        let n = self.classes.len() as i32;
        root.draw(&Text::new(self.title.clone(), (12, 12), (FONT, 18))).map_err(err)?;
        for (t, row) in self.counts.iter().enumerate() {
            let total: usize = row.iter().sum::<usize>().max(1);
            for (p, &count) in row.iter().enumerate() {
                let share = count as f64 / total as f64;
                let (x, y) = (LEFT + p as i32 * CELL, TOP + t as i32 * CELL);
                // White to matplotlib's "Blues" dark end.
                let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * share).round() as u8;
                let fill = RGBColor(mix(247, 8), mix(251, 48), mix(255, 107));
                root.draw(&Rectangle::new([(x, y), (x + CELL, y + CELL)], fill.filled())).map_err(err)?;
                let ink = if share > 0.5 { WHITE } else { BLACK };
                let text = count.to_string();
                let pos = (x + CELL / 2 - 4 * text.len() as i32, y + CELL / 2 - 7);
                root.draw(&Text::new(text, pos, (FONT, 13).into_font().color(&ink))).map_err(err)?;
            }
        }
        for (i, name) in self.classes.iter().enumerate() {
            let y = TOP + i as i32 * CELL + CELL / 2 - 7;
            root.draw(&Text::new(name.clone(), (8, y), (FONT, 13))).map_err(err)?;
            let x = LEFT + i as i32 * CELL + 4;
            let style = (FONT, 12).into_font().transform(FontTransform::Rotate90);
            root.draw(&Text::new(name.clone(), (x + 12, TOP + n * CELL + 6), style)).map_err(err)?;
        }
        root.draw(&Text::new("true class ↓   predicted class →", (LEFT, TOP - 24), (FONT, 13))).map_err(err)?;
        Ok(())
    }
}
