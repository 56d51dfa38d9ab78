//! A drawn chart ([`Drawing`]) as inline SVG 1.1, for the HTML renderer.

use std::fmt::Write;

use super::draw::{Anchor, Drawing, Shape};
use super::html::escape;

/// The drawing as an `<svg>` element; `title` becomes its accessible name.
pub(crate) fn svg(d: &Drawing, title: &str) -> String {
    let mut out = String::with_capacity(256 + 96 * d.shapes.len());
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" font-family="Helvetica, Arial, sans-serif"><title>{t}</title>"#,
        w = d.width,
        h = d.height,
        t = escape(title)
    );
    let points = |p: &[(f32, f32)]| p.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" ");
    for shape in &d.shapes {
        let _ = match shape {
            Shape::Line { points: p, color, width, dashed } => write!(
                out,
                r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="{width}"{}/>"#,
                points(p),
                color.hex(),
                if *dashed { r#" stroke-dasharray="4 3""# } else { "" }
            ),
            Shape::Rect { x, y, w, h, fill } => {
                write!(out, r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{}"/>"#, fill.hex())
            }
            Shape::Polygon { points: p, fill } => {
                write!(out, r#"<polygon points="{}" fill="{}" fill-opacity="0.85"/>"#, points(p), fill.hex())
            }
            Shape::Text { x, y, text, size, anchor, color, bold } => write!(
                out,
                r#"<text x="{x:.1}" y="{y:.1}" font-size="{size}" text-anchor="{}" fill="{}"{}>{}</text>"#,
                match anchor {
                    Anchor::Start => "start",
                    Anchor::Middle => "middle",
                    Anchor::End => "end",
                },
                color.hex(),
                if *bold { r#" font-weight="bold""# } else { "" },
                escape(text)
            ),
        };
    }
    out.push_str("</svg>");
    out
}
