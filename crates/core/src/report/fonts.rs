//! Advance widths of Helvetica and Helvetica-Bold (Adobe's AFM files of the PDF standard-14 fonts, in
//! 1/1000 em, for the printable ASCII range), used to lay out charts and PDF text: the PDF renderer uses
//! these fonts without embedding them, so its line breaks must use their metrics. No maintained crate
//! ships just these tables; characters outside ASCII are measured as an average glyph.

/// Widths of ' ' (32) to '~' (126), Helvetica.
const REGULAR: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // space to /
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0-9
    278, 278, 584, 584, 584, 556, 1015, // : to @
    667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944,
    667, 667, 611, // A-Z
    278, 278, 278, 469, 556, 333, // [ to `
    556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722,
    500, 500, 500, // a-z
    334, 260, 334, 584, // { to ~
];

/// Widths of ' ' (32) to '~' (126), Helvetica-Bold.
const BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, // space to /
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0-9
    333, 333, 584, 584, 584, 611, 975, // : to @
    722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944,
    667, 667, 611, // A-Z
    333, 278, 333, 584, 556, 333, // [ to `
    556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778,
    556, 556, 500, // a-z
    389, 280, 389, 584, // { to ~
];

/// Width of one character in 1/1000 em.
pub(crate) fn char_width(c: char, bold: bool) -> f32 {
    let table = if bold { &BOLD } else { &REGULAR };
    match c as u32 {
        32..=126 => f32::from(table[c as usize - 32]),
        _ => 556.0,
    }
}

/// Width of `text` at `size` points.
pub(crate) fn text_width(text: &str, size: f32, bold: bool) -> f32 {
    text.chars().map(|c| char_width(c, bold)).sum::<f32>() * size / 1000.0
}

/// `text` cut to fit `width` points at `size`, with an ellipsis when cut.
pub(crate) fn fit(text: &str, size: f32, bold: bool, width: f32) -> String {
    if text_width(text, size, bold) <= width {
        return text.to_string();
    }
    let budget = width - text_width("…", size, bold);
    let mut used = 0.0;
    let mut out = String::new();
    for c in text.chars() {
        used += char_width(c, bold) * size / 1000.0;
        if used > budget {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// `text` broken into lines no wider than `width` points (words longer than a line are split).
pub(crate) fn wrap(text: &str, size: f32, bold: bool, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
            if text_width(&candidate, size, bold) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let mut piece = String::new();
            for c in word.chars() {
                if !piece.is_empty() && text_width(&format!("{piece}{c}"), size, bold) > width {
                    lines.push(std::mem::take(&mut piece));
                }
                piece.push(c);
            }
            line = piece;
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_and_wrapping() {
        // "Hello": H 722 + e 556 + l 222 + l 222 + o 556 = 2278 / 1000 em.
        assert!((text_width("Hello", 10.0, false) - 22.78).abs() < 1e-4);
        let lines = wrap("the quick brown fox jumps over the lazy dog", 10.0, false, 60.0);
        assert!(lines.len() > 2 && lines.iter().all(|l| text_width(l, 10.0, false) <= 60.0), "{lines:?}");
        assert_eq!(lines.join(" "), "the quick brown fox jumps over the lazy dog");
        assert!(fit("a long caption that does not fit", 10.0, false, 50.0).ends_with('…'));
    }
}
