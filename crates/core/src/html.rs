//! Small HTML pieces shared by the report renderer and the notebook views (`_repr_html_` of validation
//! reports, health summaries and model evaluations): escaping and a plain table.

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A table with an optional caption, a header row and text cells, all escaped.
pub fn table<S: AsRef<str>>(caption: Option<&str>, header: &[&str], rows: &[Vec<S>]) -> String {
    let cells = |tag: &str, row: &mut dyn Iterator<Item = &str>| {
        row.map(|c| format!("<{tag}>{}</{tag}>", escape(c))).collect::<String>()
    };
    let mut html = String::from("<table>");
    if let Some(caption) = caption {
        html += &format!("<caption>{}</caption>", escape(caption));
    }
    html += &format!("<thead><tr>{}</tr></thead><tbody>", cells("th", &mut header.iter().copied()));
    for row in rows {
        html += &format!("<tr>{}</tr>", cells("td", &mut row.iter().map(AsRef::as_ref)));
    }
    html + "</tbody></table>"
}

#[cfg(test)]
mod tests {
    #[test]
    fn cells_are_escaped() {
        let html = super::table(Some("a<b"), &["x"], &[vec!["<script>&"]]);
        assert_eq!(
            html,
            "<table><caption>a&lt;b</caption><thead><tr><th>x</th></tr></thead>\
             <tbody><tr><td>&lt;script&gt;&amp;</td></tr></tbody></table>"
        );
    }
}
