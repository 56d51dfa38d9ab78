//! Charts drawn once, as a list of vector shapes (lines, rectangles, polygons, text) in points with the
//! origin at the top left. The HTML renderer writes the shapes as inline SVG and the PDF renderer as PDF
//! path and text operators, so both show the same picture; Excel gets native charts instead.
//!
//! Axis ticks follow Heckbert's "nice numbers" (Graphics Gems, 1990): steps of 1, 2 or 5 × 10ⁿ. Colours
//! are the Okabe–Ito palette (readable with colour-vision deficiencies), except that series or
//! categories named after a health band take the band's colour.

use chrono::NaiveDate;

use super::fonts::{fit, text_width};
use super::model::{Chart, ChartKind, ValueFormat, XValues};

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    pub(crate) fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    pub(crate) fn unit(self) -> (f32, f32, f32) {
        (f32::from(self.0) / 255.0, f32::from(self.1) / 255.0, f32::from(self.2) / 255.0)
    }
}

/// Horizontal text alignment at the anchor point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    Start,
    Middle,
    End,
}

/// One vector shape.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Shape {
    Line {
        points: Vec<(f32, f32)>,
        color: Rgb,
        width: f32,
        dashed: bool,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill: Rgb,
    },
    Polygon {
        points: Vec<(f32, f32)>,
        fill: Rgb,
    },
    /// `y` is the baseline.
    Text {
        x: f32,
        y: f32,
        text: String,
        size: f32,
        anchor: Anchor,
        color: Rgb,
        bold: bool,
    },
}

/// A drawn chart.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Drawing {
    pub width: f32,
    pub height: f32,
    pub shapes: Vec<Shape>,
}

const PALETTE: [Rgb; 7] = [
    Rgb(0, 114, 178),
    Rgb(230, 159, 0),
    Rgb(0, 158, 115),
    Rgb(204, 121, 167),
    Rgb(86, 180, 233),
    Rgb(213, 94, 0),
    Rgb(0, 0, 0),
];
const INK: Rgb = Rgb(40, 40, 40);
const GRID: Rgb = Rgb(225, 225, 225);
const FONT: f32 = 8.0;

/// The colour of a series or category: a health band's own colour, else the palette's `i`-th.
pub(crate) fn color(name: &str, i: usize) -> Rgb {
    let band = name.split('_').next().unwrap_or(name).to_ascii_lowercase();
    match band.as_str() {
        "red" => Rgb(214, 39, 40),
        "yellow" => Rgb(230, 184, 0),
        "green" => Rgb(44, 160, 44),
        _ => PALETTE[i % PALETTE.len()],
    }
}

/// Whether a series is a reference line (`red_below`, `green_from`): drawn dashed.
fn is_threshold(name: &str) -> bool {
    ["red_", "yellow_", "green_"].iter().any(|p| name.to_ascii_lowercase().starts_with(p))
}

/// Tick values from `lo` to `hi` in nice steps.
pub(crate) fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let (lo, hi) = if hi > lo { (lo, hi) } else { (lo - 1.0, lo + 1.0) };
    let raw = (hi - lo) / target.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(10.0 * magnitude);
    let first = (lo / step).floor() as i64;
    let last = (hi / step).ceil() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

fn tick_label(v: f64, format: ValueFormat) -> String {
    match format {
        ValueFormat::Percent => format!("{:.0}%", 100.0 * v),
        ValueFormat::Currency if v.abs() >= 1e6 => format!("${:.1}M", v / 1e6),
        ValueFormat::Currency if v.abs() >= 1e3 => format!("${:.0}k", v / 1e3),
        _ if v.abs() >= 1e6 => format!("{:.1}M", v / 1e6),
        _ if v.abs() >= 1e4 => format!("{:.0}k", v / 1e3),
        _ if v.fract().abs() < 1e-9 => format!("{v:.0}"),
        _ => format!("{v:.2}").trim_end_matches('0').trim_end_matches('.').to_string(),
    }
}

/// The height a chart takes at `width` points: a heatmap grows with its rows.
pub(crate) fn height_for(chart: &Chart, width: f32) -> f32 {
    match chart.kind {
        ChartKind::Heatmap => 48.0 + 20.0 * chart.series.len().max(1) as f32,
        _ => (width * 0.42).clamp(160.0, 260.0),
    }
}

/// Lays a chart out in `width` × `height` points.
pub(crate) fn draw(chart: &Chart, width: f32, height: f32) -> Drawing {
    let mut d = Drawing { width, height, shapes: Vec::new() };
    if chart.x.is_empty() || chart.series.is_empty() {
        text(&mut d, width / 2.0, height / 2.0, "no data", Anchor::Middle, false);
        return d;
    }
    if chart.kind == ChartKind::Heatmap {
        heatmap(chart, &mut d);
        return d;
    }
    let legend = chart.series.len() > 1;
    // The y axis title sits above the plot, clear of the top tick label.
    let top = if chart.y_label.is_empty() { 8.0 } else { 20.0 };
    let plot = Plot { left: 52.0, top, right: width - 10.0, bottom: height - if legend { 44.0 } else { 30.0 } };
    let (lo, hi) = y_range(chart);
    let ticks = nice_ticks(lo, hi, 5);
    let (y0, y1) = (ticks[0], ticks[ticks.len() - 1]);
    let y = |v: f64| plot.bottom - ((v - y0) / (y1 - y0)) as f32 * (plot.bottom - plot.top);
    for &t in &ticks {
        let py = y(t);
        d.shapes.push(Shape::Line {
            points: vec![(plot.left, py), (plot.right, py)],
            color: GRID,
            width: 0.5,
            dashed: false,
        });
        text(&mut d, plot.left - 4.0, py + 3.0, &tick_label(t, chart.format), Anchor::End, false);
    }
    let n = chart.x.len();
    let xs = x_positions(&chart.x, &plot, chart.kind);
    match chart.kind {
        ChartKind::Line => {
            for (i, s) in chart.series.iter().enumerate() {
                let mut run: Vec<(f32, f32)> = Vec::new();
                let (c, dashed) = (color(&s.name, i), is_threshold(&s.name));
                let width = if dashed { 1.0 } else { 1.6 };
                for (j, v) in s.values.iter().enumerate() {
                    match v.filter(|v| v.is_finite()) {
                        Some(v) => run.push((xs[j], y(v))),
                        None if !run.is_empty() => {
                            d.shapes.push(Shape::Line { points: std::mem::take(&mut run), color: c, width, dashed })
                        }
                        None => {}
                    }
                }
                if !run.is_empty() {
                    d.shapes.push(Shape::Line { points: run, color: c, width, dashed });
                }
            }
        }
        ChartKind::StackedArea => {
            let mut lower = vec![0.0f64; n];
            for (i, s) in chart.series.iter().enumerate() {
                let upper: Vec<f64> =
                    lower.iter().zip(&s.values).map(|(l, v)| l + v.filter(|v| v.is_finite()).unwrap_or(0.0)).collect();
                let mut points: Vec<(f32, f32)> = (0..n).map(|j| (xs[j], y(upper[j]))).collect();
                points.extend((0..n).rev().map(|j| (xs[j], y(lower[j]))));
                d.shapes.push(Shape::Polygon { points, fill: color(&s.name, i) });
                lower = upper;
            }
        }
        ChartKind::Bar | ChartKind::Histogram => {
            let slot = (plot.right - plot.left) / n as f32;
            let k = chart.series.len() as f32;
            let (group, gap) = if chart.kind == ChartKind::Histogram { (slot, 0.5) } else { (slot * 0.8, 0.0) };
            let bar = group / k;
            let by_category = chart.series.len() == 1 && chart.kind == ChartKind::Bar;
            for (i, s) in chart.series.iter().enumerate() {
                for (j, v) in s.values.iter().enumerate() {
                    let Some(v) = v.filter(|v| v.is_finite()) else { continue };
                    let x = plot.left + slot * j as f32 + (slot - group) / 2.0 + bar * i as f32;
                    let (top, base) = (y(v.max(0.0)), y(v.min(0.0).max(y0)));
                    let fill = if by_category { color(&chart.x.label(j), j) } else { color(&s.name, i) };
                    d.shapes.push(Shape::Rect {
                        x: x + gap / 2.0,
                        y: top,
                        w: (bar - gap).max(0.5),
                        h: (base - top).max(0.0),
                        fill,
                    });
                }
            }
        }
        ChartKind::Heatmap => {}
    }
    d.shapes.push(Shape::Line {
        points: vec![(plot.left, plot.bottom), (plot.right, plot.bottom)],
        color: INK,
        width: 0.8,
        dashed: false,
    });
    x_labels(chart, &plot, &xs, &mut d);
    text(&mut d, (plot.left + plot.right) / 2.0, plot.bottom + 24.0, &chart.x_label, Anchor::Middle, true);
    if !chart.y_label.is_empty() {
        text(&mut d, 2.0, FONT + 1.0, &chart.y_label, Anchor::Start, true);
    }
    if legend {
        let mut x = plot.left;
        for (i, s) in chart.series.iter().enumerate() {
            let c = color(&s.name, i);
            d.shapes.push(Shape::Rect { x, y: height - 12.0, w: 8.0, h: 8.0, fill: c });
            text(&mut d, x + 11.0, height - 5.0, &s.name, Anchor::Start, false);
            x += 20.0 + text_width(&s.name, FONT, false);
        }
    }
    d
}

struct Plot {
    left: f32,
    top: f32,
    right: f32,
    bottom: f32,
}

fn text(d: &mut Drawing, x: f32, y: f32, s: &str, anchor: Anchor, bold: bool) {
    d.shapes.push(Shape::Text { x, y, text: s.to_string(), size: FONT, anchor, color: INK, bold });
}

fn y_range(chart: &Chart) -> (f64, f64) {
    let stacked = chart.kind == ChartKind::StackedArea;
    let n = chart.x.len();
    let values: Vec<f64> = if stacked {
        (0..n).map(|j| chart.series.iter().filter_map(|s| s.values[j]).filter(|v| v.is_finite()).sum()).collect()
    } else {
        chart.series.iter().flat_map(|s| s.values.iter().flatten().copied()).filter(|v| v.is_finite()).collect()
    };
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    // Bars and areas start at zero; a line may zoom in on its range.
    if chart.kind == ChartKind::Line { (lo, hi) } else { (lo.min(0.0), hi.max(0.0)) }
}

fn day(d: NaiveDate) -> f64 {
    f64::from(d.num_days_from_ce())
}

use chrono::Datelike;

fn x_positions(x: &XValues, plot: &Plot, kind: ChartKind) -> Vec<f32> {
    let span = plot.right - plot.left;
    let scale = |values: Vec<f64>| {
        let (lo, hi) = (values[0], values[values.len() - 1]);
        let w = if hi > lo { hi - lo } else { 1.0 };
        values.iter().map(|v| plot.left + ((v - lo) / w) as f32 * span).collect()
    };
    match (x, kind) {
        (XValues::Dates(d), ChartKind::Line | ChartKind::StackedArea) => scale(d.iter().map(|&d| day(d)).collect()),
        (XValues::Numbers(v), ChartKind::Line | ChartKind::StackedArea) => scale(v.clone()),
        _ => {
            let n = x.len();
            let slot = span / n as f32;
            (0..n).map(|i| plot.left + slot * (i as f32 + 0.5)).collect()
        }
    }
}

fn x_labels(chart: &Chart, plot: &Plot, xs: &[f32], d: &mut Drawing) {
    let n = chart.x.len();
    let widest = (0..n).map(|i| text_width(&chart.x.label(i), FONT, false)).fold(0.0, f32::max);
    let room = (plot.right - plot.left) / n as f32;
    let every = ((widest + 6.0) / room).ceil().max(1.0) as usize;
    let every = if matches!(chart.x, XValues::Categories(_)) { every.min(n) } else { every.max(n / 8).max(1) };
    for i in (0..n).step_by(every) {
        let label = fit(&chart.x.label(i), FONT, false, room * every as f32 - 4.0);
        text(d, xs[i], plot.bottom + 11.0, &label, Anchor::Middle, false);
    }
}

fn heatmap(chart: &Chart, d: &mut Drawing) {
    let rows = chart.series.len();
    let cols = chart.x.len();
    let label_w = chart.series.iter().map(|s| text_width(&s.name, FONT, false)).fold(0.0, f32::max).min(140.0) + 8.0;
    let plot = Plot { left: label_w, top: 4.0, right: d.width - 8.0, bottom: d.height - 40.0 };
    let (cw, ch) = ((plot.right - plot.left) / cols as f32, (plot.bottom - plot.top) / rows as f32);
    let values: Vec<f64> =
        chart.series.iter().flat_map(|s| s.values.iter().flatten().copied()).filter(|v| v.is_finite()).collect();
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let shade = |v: f64| {
        let t = if hi > lo { ((v - lo) / (hi - lo)) as f32 } else { 0.5 };
        let mix = |a: u8, b: u8| (f32::from(a) + (f32::from(b) - f32::from(a)) * t).round() as u8;
        Rgb(mix(255, 8), mix(247, 81), mix(236, 156))
    };
    for (r, s) in chart.series.iter().enumerate() {
        let y = plot.top + ch * r as f32;
        text(d, label_w - 4.0, y + ch / 2.0 + 3.0, &fit(&s.name, FONT, false, label_w - 6.0), Anchor::End, false);
        for (c, v) in s.values.iter().enumerate() {
            let x = plot.left + cw * c as f32;
            let Some(v) = v.filter(|v| v.is_finite()) else {
                d.shapes.push(Shape::Rect { x, y, w: cw - 1.0, h: ch - 1.0, fill: GRID });
                continue;
            };
            d.shapes.push(Shape::Rect { x, y, w: cw - 1.0, h: ch - 1.0, fill: shade(v) });
            let label = chart.format.format(v);
            if text_width(&label, FONT, false) < cw - 4.0 && ch >= FONT + 2.0 {
                let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
                let ink = if t > 0.55 { Rgb(255, 255, 255) } else { INK };
                d.shapes.push(Shape::Text {
                    x: x + cw / 2.0,
                    y: y + ch / 2.0 + 3.0,
                    text: label,
                    size: FONT,
                    anchor: Anchor::Middle,
                    color: ink,
                    bold: false,
                });
            }
        }
    }
    for c in 0..cols {
        let label = fit(&chart.x.label(c), FONT, false, cw - 2.0);
        text(d, plot.left + cw * (c as f32 + 0.5), plot.bottom + 11.0, &label, Anchor::Middle, false);
    }
    let scale = format!("{}: {} (light) to {} (dark)", chart.y_label, chart.format.format(lo), chart.format.format(hi));
    text(d, plot.left, d.height - 6.0, &scale, Anchor::Start, false);
    text(d, (plot.left + plot.right) / 2.0, plot.bottom + 24.0, &chart.x_label, Anchor::Middle, true);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::Series;

    #[test]
    fn ticks_are_nice_and_cover_the_range() {
        assert_eq!(nice_ticks(0.0, 97.0, 5), vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        let t = nice_ticks(0.013, 0.26, 5);
        assert!(t[0] <= 0.013 && *t.last().unwrap() >= 0.26 && (t[1] - t[0] - 0.05).abs() < 1e-12, "{t:?}");
    }

    #[test]
    fn bars_stay_inside_the_drawing() {
        let chart = Chart {
            title: "t".into(),
            kind: ChartKind::Bar,
            x_label: "band".into(),
            y_label: String::new(),
            x: XValues::Categories(vec!["red".into(), "yellow".into(), "green".into()]),
            series: vec![Series { name: "accounts".into(), values: vec![Some(10.0), Some(30.0), Some(60.0)] }],
            format: ValueFormat::Integer,
        };
        let d = draw(&chart, 400.0, 200.0);
        let bars: Vec<_> = d
            .shapes
            .iter()
            .filter_map(|s| if let Shape::Rect { x, y, w, h, fill } = s { Some((*x, *y, *w, *h, *fill)) } else { None })
            .collect();
        assert_eq!(bars.len(), 3);
        assert!(bars.iter().all(|b| b.0 >= 0.0 && b.0 + b.2 <= 400.0 && b.1 >= 0.0 && b.1 + b.3 <= 200.0));
        assert_eq!(bars[0].4, color("red", 0), "a band category takes the band's colour");
        assert!(bars[2].3 > bars[0].3 * 5.0, "heights follow the values");
    }
}
