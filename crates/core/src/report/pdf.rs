//! The PDF renderer (pdf-writer): A4 pages of real text in the standard Helvetica fonts (WinAnsi encoding,
//! so nothing is embedded and text can be searched and extracted), KPI tiles, charts as vector paths from
//! the same [`Drawing`] the HTML uses, and tables whose rows wrap and which continue across pages with the
//! header repeated. Characters outside WinAnsi are written as `?`.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::draw::{Anchor, Drawing, Rgb, Shape, draw, height_for};
use super::fonts::{fit, text_width, wrap};
use super::model::{Block, Cell, Kpi, Report, TableBlock, cells, walk};

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 48.0;
const WIDTH: f32 = PAGE_W - 2.0 * MARGIN;
const INK: Rgb = Rgb(34, 34, 34);
const MUTED: Rgb = Rgb(102, 102, 102);
const LINE: Rgb = Rgb(210, 210, 210);
/// Table text size, line height and cell padding.
const SIZE: f32 = 7.0;
const LEAD: f32 = 8.6;
const PAD: f32 = 2.5;

/// A path through `points` (drawing coordinates, mapped by `at`).
fn trace(c: &mut Content, points: &[(f32, f32)], at: impl Fn(f32, f32) -> (f32, f32)) {
    for (i, (x, y)) in points.iter().enumerate() {
        let (px, py) = at(*x, *y);
        if i == 0 {
            c.move_to(px, py);
        } else {
            c.line_to(px, py);
        }
    }
}

/// Text in the WinAnsi encoding of the standard fonts.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            _ => b'?',
        })
        .collect()
}

struct Writer {
    pages: Vec<Content>,
    y: f32,
}

impl Writer {
    fn new() -> Self {
        let mut w = Self { pages: Vec::new(), y: 0.0 };
        w.page();
        w
    }

    fn page(&mut self) {
        self.pages.push(Content::new());
        self.y = PAGE_H - MARGIN;
    }

    fn content(&mut self) -> &mut Content {
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// Starts a new page unless `height` points fit above the bottom margin.
    fn need(&mut self, height: f32) {
        if self.y - height < MARGIN && self.y < PAGE_H - MARGIN - 1.0 {
            self.page();
        }
    }

    fn text(&mut self, x: f32, baseline: f32, text: &str, size: f32, bold: bool, color: Rgb) {
        let (r, g, b) = color.unit();
        let font = if bold { Name(b"F2") } else { Name(b"F1") };
        let bytes = win_ansi(text);
        let c = self.content();
        c.begin_text();
        c.set_fill_rgb(r, g, b);
        c.set_font(font, size);
        c.next_line(x, baseline);
        c.show(Str(&bytes));
        c.end_text();
    }

    /// A wrapped paragraph at the cursor.
    fn paragraph(&mut self, text: &str, size: f32, bold: bool, color: Rgb) {
        let leading = size * 1.35;
        for line in wrap(text, size, bold, WIDTH) {
            self.need(leading);
            self.y -= leading;
            self.text(MARGIN, self.y + size * 0.3, &line, size, bold, color);
        }
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, fill: Option<Rgb>, stroke: Option<Rgb>) {
        let c = self.content();
        c.save_state();
        if let Some(f) = fill {
            let (r, g, b) = f.unit();
            c.set_fill_rgb(r, g, b);
        }
        if let Some(s) = stroke {
            let (r, g, b) = s.unit();
            c.set_stroke_rgb(r, g, b);
            c.set_line_width(0.5);
        }
        c.rect(x, y, w, h);
        match (fill, stroke) {
            (Some(_), Some(_)) => c.fill_nonzero_and_stroke(),
            (Some(_), None) => c.fill_nonzero(),
            _ => c.stroke(),
        };
        c.restore_state();
    }

    fn drawing(&mut self, d: &Drawing) {
        self.need(d.height);
        let (x0, top) = (MARGIN, self.y);
        let at = |x: f32, y: f32| (x0 + x, top - y);
        for shape in &d.shapes {
            match shape {
                Shape::Rect { x, y, w, h, fill } => {
                    let (px, py) = at(*x, *y + *h);
                    self.rect(px, py, *w, *h, Some(*fill), None);
                }
                Shape::Line { points, color, width, dashed } => {
                    let (r, g, b) = color.unit();
                    let c = self.content();
                    c.save_state();
                    c.set_stroke_rgb(r, g, b);
                    c.set_line_width(*width);
                    if *dashed {
                        c.set_dash_pattern([4.0, 3.0], 0.0);
                    }
                    trace(c, points, at);
                    c.stroke();
                    c.restore_state();
                }
                Shape::Polygon { points, fill } => {
                    let (r, g, b) = fill.unit();
                    let c = self.content();
                    c.save_state();
                    c.set_fill_rgb(r, g, b);
                    trace(c, points, at);
                    c.close_path();
                    c.fill_nonzero();
                    c.restore_state();
                }
                Shape::Text { x, y, text, size, anchor, color, bold } => {
                    let w = text_width(text, *size, *bold);
                    let shift = match anchor {
                        Anchor::Start => 0.0,
                        Anchor::Middle => w / 2.0,
                        Anchor::End => w,
                    };
                    let (px, py) = at(*x - shift, *y);
                    self.text(px, py, text, *size, *bold, *color);
                }
            }
        }
        self.y -= d.height;
    }

    fn kpis(&mut self, tiles: &[Kpi]) {
        const PER_ROW: usize = 4;
        const GAP: f32 = 8.0;
        const H: f32 = 56.0;
        let w = (WIDTH - GAP * (PER_ROW as f32 - 1.0)) / PER_ROW as f32;
        for row in tiles.chunks(PER_ROW) {
            self.need(H + GAP);
            self.y -= GAP;
            let bottom = self.y - H;
            for (i, k) in row.iter().enumerate() {
                let x = MARGIN + (w + GAP) * i as f32;
                self.rect(x, bottom, w, H, None, Some(LINE));
                // The label may take two lines; a longer one is cut with an ellipsis.
                let mut lines = wrap(&k.label, 7.0, false, w - 12.0);
                if lines.len() > 2 {
                    let rest = lines[1..].join(" ");
                    lines = vec![lines[0].clone(), fit(&rest, 7.0, false, w - 12.0)];
                }
                for (i, line) in lines.iter().enumerate() {
                    self.text(x + 6.0, self.y - 10.0 - 8.0 * i as f32, line, 7.0, false, MUTED);
                }
                self.text(x + 6.0, self.y - 38.0, &fit(&k.display(), 14.0, true, w - 12.0), 14.0, true, INK);
                if let Some((change, good)) = k.change() {
                    let color = if good { Rgb(26, 127, 55) } else { Rgb(198, 40, 40) };
                    self.text(x + 6.0, self.y - 50.0, &change, 7.5, false, color);
                }
            }
            self.y = bottom;
        }
    }

    fn table(&mut self, t: &TableBlock) {
        let names: Vec<String> = t.data.schema().fields().iter().map(|f| f.name().clone()).collect();
        let columns: Vec<Vec<Cell>> = t.data.columns().iter().map(cells).collect();
        let text: Vec<Vec<String>> =
            columns.iter().zip(&t.formats).map(|(c, f)| c.iter().map(|v| v.display(*f)).collect()).collect();
        // Natural widths, then the widest columns give way until the table fits the page.
        let mut widths: Vec<f32> = names
            .iter()
            .zip(&text)
            .map(|(n, vals)| {
                let w = vals.iter().map(|v| text_width(v, SIZE, false)).fold(text_width(n, SIZE, true), f32::max);
                w.min(220.0) + 2.0 * PAD
            })
            .collect();
        let total: f32 = widths.iter().sum();
        if total > WIDTH && !widths.is_empty() {
            let fair = WIDTH / widths.len() as f32;
            let small: f32 = widths.iter().filter(|w| **w <= fair).sum();
            let large: f32 = widths.iter().filter(|w| **w > fair).sum();
            let room = (WIDTH - small).max(0.0);
            for w in &mut widths {
                if *w > fair {
                    *w = (*w * room / large).max(24.0);
                }
            }
        }
        let numeric: Vec<bool> =
            columns.iter().map(|c| c.iter().any(|v| matches!(v, Cell::Int(_) | Cell::Float(_)))).collect();
        let caption = if t.total_rows > t.data.num_rows() {
            format!("{} (showing {} of {} rows)", t.title, t.data.num_rows(), t.total_rows)
        } else {
            t.title.clone()
        };
        self.need(40.0);
        self.paragraph(&caption, 9.5, true, INK);
        let header: Vec<Vec<String>> =
            names.iter().zip(&widths).map(|(n, w)| wrap(n, SIZE, true, w - 2.0 * PAD)).collect();
        let header_h = header.iter().map(Vec::len).max().unwrap_or(1) as f32 * LEAD + 2.0 * PAD;
        self.need(header_h + LEAD + 2.0 * PAD);
        self.row(&header, &widths, &vec![false; widths.len()], header_h, true);
        for r in 0..t.data.num_rows() {
            let cells: Vec<Vec<String>> =
                text.iter().zip(&widths).map(|(c, w)| wrap(&c[r], SIZE, false, w - 2.0 * PAD)).collect();
            let h = cells.iter().map(Vec::len).max().unwrap_or(1) as f32 * LEAD + 2.0 * PAD;
            if self.y - h < MARGIN {
                self.page();
                self.row(&header, &widths, &vec![false; widths.len()], header_h, true);
            }
            self.row(&cells, &widths, &numeric, h, false);
        }
        if t.data.num_rows() == 0 {
            self.paragraph("No rows.", 8.0, false, MUTED);
        }
        self.y -= 6.0;
    }

    fn row(&mut self, cells: &[Vec<String>], widths: &[f32], right: &[bool], h: f32, header: bool) {
        let bottom = self.y - h;
        if header {
            self.rect(MARGIN, bottom, widths.iter().sum(), h, Some(Rgb(238, 238, 238)), None);
        }
        let mut x = MARGIN;
        for ((lines, w), right) in cells.iter().zip(widths).zip(right) {
            for (i, line) in lines.iter().enumerate() {
                let tx = if *right { x + w - PAD - text_width(line, SIZE, header) } else { x + PAD };
                self.text(tx, self.y - PAD - LEAD * (i as f32 + 1.0) + 2.0, line, SIZE, header, INK);
            }
            x += w;
        }
        let c = self.content();
        c.save_state();
        let (r, g, b) = LINE.unit();
        c.set_stroke_rgb(r, g, b);
        c.set_line_width(0.4);
        c.move_to(MARGIN, bottom);
        c.line_to(x, bottom);
        c.stroke();
        c.restore_state();
        self.y = bottom;
    }
}

/// The report as a PDF document.
pub(super) fn render(report: &Report) -> Vec<u8> {
    let mut w = Writer::new();
    w.paragraph(&report.title, 20.0, true, INK);
    if let Some(s) = &report.subtitle {
        w.paragraph(s, 11.0, false, INK);
    }
    let mut meta: Vec<String> = report.filters.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    meta.push(format!("role: {}", report.role));
    meta.push(format!("generated {}", report.generated_at.format("%Y-%m-%d %H:%M UTC")));
    w.paragraph(&meta.join(" · "), 8.0, false, MUTED);
    for (depth, s) in walk(&report.sections) {
        w.need(90.0);
        w.y -= 10.0;
        w.paragraph(&s.title, if depth == 0 { 14.0 } else { 12.0 }, true, INK);
        for b in &s.blocks {
            match b {
                Block::Text(t) => {
                    w.y -= 3.0;
                    w.paragraph(&t.text, 9.5, false, if t.note { MUTED } else { INK });
                }
                Block::Kpis(tiles) => w.kpis(tiles),
                Block::Chart(c) => {
                    w.need(height_for(c, WIDTH) + 20.0);
                    w.y -= 6.0;
                    w.paragraph(&c.title, 9.5, true, INK);
                    w.drawing(&draw(c, WIDTH, height_for(c, WIDTH)));
                }
                Block::Table(t) => {
                    w.y -= 6.0;
                    w.table(t);
                }
            }
        }
    }
    finish(report, w.pages)
}

fn finish(report: &Report, mut pages: Vec<Content>) -> Vec<u8> {
    let n = pages.len();
    let footer = |i: usize| format!("{} · page {} of {n}", report.title, i + 1);
    for (i, page) in pages.iter_mut().enumerate() {
        let bytes = win_ansi(&footer(i));
        let (r, g, b) = MUTED.unit();
        page.begin_text();
        page.set_fill_rgb(r, g, b);
        page.set_font(Name(b"F1"), 7.0);
        page.next_line(MARGIN, MARGIN / 2.0);
        page.show(Str(&bytes));
        page.end_text();
    }
    let mut pdf = Pdf::new();
    let (catalog, tree, regular, bold, info) = (Ref::new(1), Ref::new(2), Ref::new(3), Ref::new(4), Ref::new(5));
    let mut next = 6;
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        ids.push((Ref::new(next), Ref::new(next + 1)));
        next += 2;
    }
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids(ids.iter().map(|(p, _)| *p)).count(n as i32);
    for (name, id) in [(b"Helvetica".as_slice(), regular), (b"Helvetica-Bold".as_slice(), bold)] {
        pdf.type1_font(id).base_font(Name(name)).encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    for ((page_id, content_id), content) in ids.iter().zip(pages) {
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H)).parent(tree).contents(*content_id);
        page.resources().fonts().pair(Name(b"F1"), regular).pair(Name(b"F2"), bold);
        page.finish();
        pdf.stream(*content_id, &content.finish());
    }
    let producer = format!("accountscope {}", crate::VERSION);
    pdf.document_info(info).title(TextStr(&report.title)).producer(TextStr(&producer));
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_win_ansi() {
        assert_eq!(win_ansi("a–b €5 ü 中"), vec![b'a', 0x96, b'b', b' ', 0x80, b'5', b' ', 0xfc, b' ', b'?']);
    }
}
