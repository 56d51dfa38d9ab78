//! The HTML renderer: one self-contained file (inline CSS and SVG, no scripts, fonts or requests), with a
//! print stylesheet that keeps tiles and charts whole and repeats table headers on every printed page.

use std::fmt::Write;

use super::draw::{draw, height_for};
use super::model::{Block, Report, Section, TableBlock, cells};
use super::svg::svg;

const CHART_WIDTH: f32 = 640.0;

const STYLE: &str = "
:root { --ink: #222; --muted: #666; --line: #ddd; --good: #1a7f37; --bad: #c62828; }
* { box-sizing: border-box; }
body { font-family: Helvetica, Arial, sans-serif; color: var(--ink); margin: 2rem auto; max-width: 60rem;
       padding: 0 1rem; line-height: 1.4; font-size: 14px; }
header { border-bottom: 2px solid var(--ink); margin-bottom: 1rem; }
h1 { margin: 0 0 .2rem; font-size: 1.7rem; } h2 { margin-top: 2rem; border-bottom: 1px solid var(--line); }
.sub { color: var(--muted); margin: 0 0 .4rem; }
.meta { color: var(--muted); font-size: .85rem; }
.kpis { display: flex; flex-wrap: wrap; gap: .6rem; margin: 1rem 0; }
.kpi { border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem; min-width: 11rem; flex: 1; }
.kpi .label { color: var(--muted); font-size: .8rem; } .kpi .value { font-size: 1.5rem; font-weight: bold; }
.kpi .good { color: var(--good); } .kpi .bad { color: var(--bad); } .kpi .change { font-size: .8rem; }
figure { margin: 1rem 0; } figcaption, caption { font-weight: bold; text-align: left; margin-bottom: .3rem; }
svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; font-size: .8rem; }
th, td { border-bottom: 1px solid var(--line); padding: .25rem .4rem; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } tbody tr:nth-child(even) { background: #f7f7f7; }
.scroll { overflow-x: auto; } .note { color: var(--muted); font-style: italic; } .more { color: var(--muted); font-size: .8rem; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; } .scroll { overflow: visible; }
  h2 { break-after: avoid; } .kpis, figure, tr { break-inside: avoid; }
  thead { display: table-header-group; } tbody tr:nth-child(even) { background: none; }
  @page { size: A4; margin: 15mm; }
}";

pub(crate) use crate::html::escape;

/// The report as one HTML document.
pub(super) fn render(report: &Report) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"generator\" content=\"accountscope {}\"><title>{}</title><style>{STYLE}</style></head><body>\n",
        crate::VERSION,
        escape(&report.title)
    );
    let _ = write!(out, "<header><h1>{}</h1>", escape(&report.title));
    if let Some(s) = &report.subtitle {
        let _ = write!(out, "<p class=\"sub\">{}</p>", escape(s));
    }
    let filters: Vec<String> = report.filters.iter().map(|(k, v)| format!("{}: {}", escape(k), escape(v))).collect();
    let _ = writeln!(
        out,
        "<p class=\"meta\">{} · prepared for role <b>{}</b> · generated {}</p></header>",
        filters.join(" · "),
        escape(&report.role),
        report.generated_at.format("%Y-%m-%d %H:%M UTC")
    );
    for s in &report.sections {
        section(&mut out, s, 2);
    }
    out.push_str("</body></html>\n");
    out
}

fn section(out: &mut String, s: &Section, level: usize) {
    let h = level.min(6);
    let _ = writeln!(out, "<section><h{h}>{}</h{h}>", escape(&s.title));
    for block in &s.blocks {
        match block {
            Block::Text(t) => {
                let class = if t.note { " class=\"note\"" } else { "" };
                let _ = writeln!(out, "<p{class}>{}</p>", escape(&t.text));
            }
            Block::Kpis(tiles) => {
                out.push_str("<div class=\"kpis\">");
                for k in tiles {
                    let change = k.change().map_or(String::new(), |(text, good)| {
                        format!(
                            " <span class=\"change {}\">{}</span>",
                            if good { "good" } else { "bad" },
                            escape(&text)
                        )
                    });
                    let _ = write!(
                        out,
                        "<div class=\"kpi\"><div class=\"label\">{}</div><div class=\"value\">{}</div>{change}</div>",
                        escape(&k.label),
                        escape(&k.display())
                    );
                }
                out.push_str("</div>\n");
            }
            Block::Chart(c) => {
                let d = draw(c, CHART_WIDTH, height_for(c, CHART_WIDTH));
                let _ = writeln!(
                    out,
                    "<figure><figcaption>{}</figcaption>{}</figure>",
                    escape(&c.title),
                    svg(&d, &c.title)
                );
            }
            Block::Table(t) => table(out, t),
        }
    }
    for child in &s.sections {
        section(out, child, level + 1);
    }
    out.push_str("</section>\n");
}

fn table(out: &mut String, t: &TableBlock) {
    let _ = write!(out, "<div class=\"scroll\"><table><caption>{}</caption><thead><tr>", escape(&t.title));
    for f in t.data.schema().fields() {
        let _ = write!(out, "<th>{}</th>", escape(f.name()));
    }
    out.push_str("</tr></thead><tbody>\n");
    let columns: Vec<_> = t.data.columns().iter().map(cells).collect();
    for row in 0..t.data.num_rows() {
        out.push_str("<tr>");
        for (c, format) in columns.iter().zip(&t.formats) {
            let cell = &c[row];
            let class = if matches!(cell, super::model::Cell::Int(_) | super::model::Cell::Float(_)) {
                " class=\"num\""
            } else {
                ""
            };
            let _ = write!(out, "<td{class}>{}</td>", escape(&cell.display(*format)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
    if t.total_rows > t.data.num_rows() {
        let _ = writeln!(out, "<p class=\"more\">Showing {} of {} rows.</p>", t.data.num_rows(), t.total_rows);
    }
    if t.data.num_rows() == 0 {
        out.push_str("<p class=\"note\">No rows.</p>\n");
    }
}
