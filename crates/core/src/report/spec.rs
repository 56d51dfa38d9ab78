//! Report specs: which widgets a report holds, each a SQL query over the engine's registered tables turned
//! into KPI tiles, a table, a chart or text. The role templates (executive, CSM, data quality) are specs
//! shipped with the library (`templates/*.yaml`); a custom report is the same format read from JSON, YAML
//! or TOML. A bad spec is a [`Error::Config`] naming the widget and the field.
//!
//! SQL may use placeholders that the builder fills in: `{scope}` (a sub-query of the account ids the
//! filters keep), `{as_of}`, `{from}`, `{to}` (SQL dates), `{account}` (the CSM report's account id as a
//! quoted literal) and `{top_n}`.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::{ChartKind, ValueFormat};
use crate::error::{Error, Result};

/// A report spec: title, default role and filters, and sections of widgets.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSpec {
    /// Stable id (the template name for the shipped ones).
    pub id: String,
    /// Title, shown as it is.
    pub title: String,
    /// Optional one-value SQL query whose result is the subtitle (e.g. the account's name).
    #[serde(default)]
    pub subtitle_sql: Option<String>,
    /// Role whose privacy policy applies when the caller names none.
    #[serde(default)]
    pub role: Option<String>,
    /// Default filters (the caller's options override them field by field).
    #[serde(default)]
    pub filters: Filters,
    /// The sections, in order.
    pub sections: Vec<SectionSpec>,
}

/// Which accounts and days a report covers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    /// Keep these segments (all when empty).
    #[serde(default)]
    pub segments: Vec<String>,
    /// Keep accounts of these CSM owners (all when empty).
    #[serde(default)]
    pub owners: Vec<String>,
    /// First day of the reporting range (default: a year before `as_of`).
    #[serde(default)]
    pub from: Option<NaiveDate>,
    /// Last day of the reporting range (default: `as_of`).
    #[serde(default)]
    pub to: Option<NaiveDate>,
    /// The one account of an account report.
    #[serde(default)]
    pub account_id: Option<String>,
}

impl Filters {
    /// `self` with every field that `other` sets taken from `other`.
    pub fn merged(&self, other: &Filters) -> Filters {
        let pick = |a: &Vec<String>, b: &Vec<String>| if b.is_empty() { a.clone() } else { b.clone() };
        Filters {
            segments: pick(&self.segments, &other.segments),
            owners: pick(&self.owners, &other.owners),
            from: other.from.or(self.from),
            to: other.to.or(self.to),
            account_id: other.account_id.clone().or_else(|| self.account_id.clone()),
        }
    }
}

/// A section of widgets and sub-sections.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionSpec {
    /// Heading.
    pub title: String,
    /// Widgets in order.
    #[serde(default)]
    pub widgets: Vec<WidgetSpec>,
    /// Nested sections.
    #[serde(default)]
    pub sections: Vec<SectionSpec>,
}

/// Kinds of widget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WidgetKind {
    /// KPI tiles, one query each.
    Kpis,
    /// A table from a query.
    Table,
    /// A chart from a query.
    Chart,
    /// A paragraph: fixed text, or the rows of a one-column query.
    Text,
}

/// One widget. Which fields apply depends on `kind` (checked by [`ReportSpec::check`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WidgetSpec {
    /// Unique id within the spec (named in errors).
    pub id: String,
    /// What the widget shows.
    pub kind: WidgetKind,
    /// Caption (tables and charts).
    #[serde(default)]
    pub title: Option<String>,
    /// Registered tables the widget needs; when one is missing the widget becomes a note saying so.
    #[serde(default)]
    pub requires: Vec<String>,
    /// The query (table, chart, text).
    #[serde(default)]
    pub sql: Option<String>,
    /// The tiles of a `kpis` widget.
    #[serde(default)]
    pub kpis: Vec<KpiSpec>,
    /// At most this many table rows (the report says how many there were).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Display formats by column name (tables).
    #[serde(default)]
    pub formats: BTreeMap<String, ValueFormat>,
    /// Chart kind.
    #[serde(default)]
    pub chart: Option<ChartKind>,
    /// Chart: the x column (categories, dates or numbers).
    #[serde(default)]
    pub x: Option<String>,
    /// Chart: one series per y column (wide data).
    #[serde(default)]
    pub y: Vec<String>,
    /// Chart: the column naming the series (long data; with `value`), or the heatmap's row column.
    #[serde(default)]
    pub series: Option<String>,
    /// Chart: the value column of long data, a heatmap's cells or a histogram's values.
    #[serde(default)]
    pub value: Option<String>,
    /// Histogram: number of bins (default 20).
    #[serde(default)]
    pub bins: Option<usize>,
    /// Chart: y value format.
    #[serde(default)]
    pub format: Option<ValueFormat>,
    /// Chart: x axis title (default: the x column).
    #[serde(default)]
    pub x_label: Option<String>,
    /// Chart: y axis title.
    #[serde(default)]
    pub y_label: Option<String>,
    /// Text widget: the paragraph.
    #[serde(default)]
    pub text: Option<String>,
}

/// One KPI tile: a query giving one row with a `value` column and optionally a `previous` column.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KpiSpec {
    /// Tile label.
    pub label: String,
    /// The query.
    pub sql: String,
    /// Display format.
    #[serde(default)]
    pub format: ValueFormat,
    /// Whether a rise is good news (default true).
    #[serde(default = "yes")]
    pub higher_is_better: bool,
}

fn yes() -> bool {
    true
}

/// The shipped templates: (name, YAML text).
const TEMPLATES: [(&str, &str); 3] = [
    ("executive", include_str!("templates/executive.yaml")),
    ("csm", include_str!("templates/csm.yaml")),
    ("data_quality", include_str!("templates/data_quality.yaml")),
];

impl ReportSpec {
    /// Names of the shipped role templates.
    pub fn template_names() -> Vec<&'static str> {
        TEMPLATES.iter().map(|(n, _)| *n).collect()
    }

    /// A shipped template by name: `executive`, `csm` or `data_quality`.
    pub fn template(name: &str) -> Result<Self> {
        let (_, text) = TEMPLATES.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            Error::config("template", format!("unknown template '{name}'; known: {:?}", Self::template_names()))
        })?;
        Self::from_str(text, "yaml")
    }

    /// Reads a spec from JSON, YAML or TOML text (`format` is `json`, `yaml` or `toml`).
    pub fn from_str(text: &str, format: &str) -> Result<Self> {
        let value = crate::config_text::parse_value(text, format, "report spec")?;
        Self::from_value(value)
    }

    /// Reads a spec file; the format comes from the extension.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path.display(), e))?;
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        Self::from_str(&text, &ext)
    }

    /// A spec from a parsed document; errors name the widget (by id) and the field inside it.
    pub fn from_value(value: Value) -> Result<Self> {
        let Value::Object(mut top) = value else {
            return Err(Error::config("report spec", "the top level must be a map"));
        };
        let sections = top.remove("sections").unwrap_or(Value::Array(Vec::new()));
        top.insert("sections".into(), Value::Array(Vec::new()));
        let mut spec: ReportSpec = deserialize(Value::Object(top), "report spec")?;
        spec.sections = sections_from(sections, "sections")?;
        spec.check()?;
        Ok(spec)
    }

    /// Every widget in document order.
    pub fn widgets(&self) -> Vec<&WidgetSpec> {
        fn go<'a>(sections: &'a [SectionSpec], out: &mut Vec<&'a WidgetSpec>) {
            for s in sections {
                out.extend(&s.widgets);
                go(&s.sections, out);
            }
        }
        let mut out = Vec::new();
        go(&self.sections, &mut out);
        out
    }

    /// Checks what can be checked without data: unique widget ids and the fields each kind needs.
    pub fn check(&self) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        for w in self.widgets() {
            if !seen.insert(w.id.as_str()) {
                return Err(Error::config(format!("widget '{}'", w.id), "the id is used twice"));
            }
            w.check()?;
        }
        Ok(())
    }
}

fn deserialize<T: serde::de::DeserializeOwned>(value: Value, what: &str) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { what.to_string() } else { format!("{what}, field '{path}'") };
        Error::config(field, e.into_inner().to_string())
    })
}

/// Sections parsed one widget at a time, so an error names the widget's id.
fn sections_from(value: Value, path: &str) -> Result<Vec<SectionSpec>> {
    let Value::Array(items) = value else { return Err(Error::config(path, "must be a list of sections")) };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let here = format!("{path}[{i}]");
        let Value::Object(mut map) = item else { return Err(Error::config(here, "a section must be a map")) };
        let widgets = map.remove("widgets").unwrap_or(Value::Array(Vec::new()));
        let nested = map.remove("sections").unwrap_or(Value::Array(Vec::new()));
        let mut section: SectionSpec = deserialize(Value::Object(map), &here)?;
        let Value::Array(widgets) = widgets else {
            return Err(Error::config(format!("{here}.widgets"), "must be a list of widgets"));
        };
        for (j, w) in widgets.into_iter().enumerate() {
            let id = w.get("id").and_then(Value::as_str).map_or_else(|| format!("{here}.widgets[{j}]"), str::to_string);
            section.widgets.push(deserialize(w, &format!("widget '{id}'"))?);
        }
        section.sections = sections_from(nested, &format!("{here}.sections"))?;
        out.push(section);
    }
    Ok(out)
}

impl WidgetSpec {
    fn field(&self, name: &str) -> String {
        format!("widget '{}', field '{name}'", self.id)
    }

    fn need<'a, T>(&self, value: &'a Option<T>, name: &str, why: &str) -> Result<&'a T> {
        value.as_ref().ok_or_else(|| Error::config(self.field(name), format!("is required {why}")))
    }

    /// Checks that the fields this kind needs are there.
    pub fn check(&self) -> Result<()> {
        match self.kind {
            WidgetKind::Kpis => {
                if self.kpis.is_empty() {
                    return Err(Error::config(self.field("kpis"), "a kpis widget needs at least one tile"));
                }
            }
            WidgetKind::Table => {
                self.need(&self.sql, "sql", "for a table")?;
            }
            WidgetKind::Text => {
                if self.text.is_none() && self.sql.is_none() {
                    return Err(Error::config(self.field("text"), "a text widget needs `text` or `sql`"));
                }
            }
            WidgetKind::Chart => {
                self.need(&self.sql, "sql", "for a chart")?;
                let kind =
                    *self.need(&self.chart, "chart", "for a chart (line, bar, stacked_area, heatmap, histogram)")?;
                match kind {
                    ChartKind::Histogram => {
                        self.need(&self.value, "value", "for a histogram")?;
                        if self.bins == Some(0) {
                            return Err(Error::config(self.field("bins"), "must be at least 1"));
                        }
                    }
                    ChartKind::Heatmap => {
                        self.need(&self.x, "x", "for a heatmap")?;
                        self.need(&self.series, "series", "for a heatmap (the row column)")?;
                        self.need(&self.value, "value", "for a heatmap")?;
                    }
                    ChartKind::Line | ChartKind::Bar | ChartKind::StackedArea => {
                        self.need(&self.x, "x", "for this chart")?;
                        let long = self.series.is_some() && self.value.is_some();
                        if self.y.is_empty() && !long {
                            return Err(Error::config(
                                self.field("y"),
                                "name the y column(s), or `series` and `value` for long data",
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        for name in ReportSpec::template_names() {
            let spec = ReportSpec::template(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!spec.widgets().is_empty(), "{name}");
        }
    }

    #[test]
    fn a_bad_field_names_the_widget_and_the_field() {
        let text = r#"{"id": "x", "title": "X", "sections": [{"title": "S", "widgets": [
            {"id": "top", "kind": "table", "sql": "SELECT 1", "limit": "ten"}]}]}"#;
        let e = ReportSpec::from_str(text, "json").unwrap_err().to_string();
        assert!(e.contains("widget 'top'") && e.contains("limit"), "{e}");

        let text = r#"{"id": "x", "title": "X", "sections": [{"title": "S", "widgets": [
            {"id": "trend", "kind": "chart", "chart": "line", "sql": "SELECT 1 AS a"}]}]}"#;
        let e = ReportSpec::from_str(text, "json").unwrap_err().to_string();
        assert!(e.contains("widget 'trend'") && e.contains("'x'"), "{e}");

        let text = "id: x\ntitle: X\nsections:\n- title: S\n  widgets:\n  - {id: k, kind: kpis, kpis: [{label: A, sql: 'SELECT 1', format: pct}]}\n";
        let e = ReportSpec::from_str(text, "yaml").unwrap_err().to_string();
        assert!(e.contains("widget 'k'") && e.contains("kpis[0].format"), "{e}");
    }
}
