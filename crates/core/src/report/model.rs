//! The report model: one tree of sections holding KPI tiles, tables, charts and text, from which every
//! renderer (JSON, HTML, Excel, PDF) draws. Renderers never query data; they only lay out this model.
//!
//! Table values are kept as Arrow (a [`RecordBatch`] per table block) and read through [`Cell`], the one
//! typed view of a value that all renderers share, so a number stays a number in JSON and Excel and a
//! date stays a date.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Date32Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type};
use arrow::datatypes::{TimeUnit, TimestampMillisecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A finished report: metadata and a tree of sections.
#[derive(Debug, Clone)]
pub struct Report {
    /// Title shown on the first page.
    pub title: String,
    /// Optional subtitle (e.g. the account's name on a CSM report).
    pub subtitle: Option<String>,
    /// The template or spec id the report came from.
    pub template: String,
    /// The role the report was prepared for; its privacy policy was applied.
    pub role: String,
    /// The day the report describes.
    pub as_of: NaiveDate,
    /// When the report was generated.
    pub generated_at: DateTime<Utc>,
    /// The filters in force, as (name, value) pairs for display.
    pub filters: Vec<(String, String)>,
    /// Top-level sections, in order.
    pub sections: Vec<Section>,
}

/// A titled section: blocks, then sub-sections.
#[derive(Debug, Clone)]
pub struct Section {
    /// Heading.
    pub title: String,
    /// Content blocks in order.
    pub blocks: Vec<Block>,
    /// Nested sections.
    pub sections: Vec<Section>,
}

/// One piece of content.
#[derive(Debug, Clone)]
pub enum Block {
    /// A row of KPI tiles.
    Kpis(Vec<Kpi>),
    /// A table of rows.
    Table(TableBlock),
    /// A chart.
    Chart(Chart),
    /// A paragraph (or a note, e.g. that an input was not available).
    Text(Text),
}

/// How a number is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueFormat {
    /// Whole number with thousands separators.
    Integer,
    /// Two decimals.
    #[default]
    Decimal,
    /// A share 0–1 shown as a percentage with one decimal.
    Percent,
    /// Money with thousands separators and no decimals.
    Currency,
    /// A calendar date.
    Date,
    /// Text as it is.
    Text,
}

impl ValueFormat {
    /// The number as text, as every renderer shows it.
    pub fn format(self, value: f64) -> String {
        if !value.is_finite() {
            return String::from("–");
        }
        match self {
            Self::Integer => thousands(value.round(), 0),
            Self::Currency if value.round() < 0.0 => format!("-${}", thousands(-value.round(), 0)),
            Self::Currency => format!("${}", thousands(value.round(), 0)),
            Self::Percent => format!("{:.1}%", 100.0 * value),
            Self::Decimal | Self::Date | Self::Text => thousands(value, 2),
        }
    }

    /// The Excel number format of the same display.
    pub fn excel(self) -> &'static str {
        match self {
            Self::Integer => "#,##0",
            Self::Currency => "$#,##0",
            Self::Percent => "0.0%",
            Self::Decimal => "#,##0.00",
            Self::Date => "yyyy-mm-dd",
            Self::Text => "@",
        }
    }

    /// The default format of a column: dates as dates, integers as integers, other numbers with two
    /// decimals, anything else as text.
    pub fn for_type(data_type: &DataType) -> Self {
        match data_type {
            DataType::Date32 | DataType::Date64 | DataType::Timestamp(..) => Self::Date,
            t if t.is_integer() => Self::Integer,
            t if t.is_floating() || matches!(t, DataType::Decimal128(..)) => Self::Decimal,
            _ => Self::Text,
        }
    }
}

fn thousands(value: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, value.abs());
    let (int, frac) = text.split_once('.').map_or((text.as_str(), None), |(i, f)| (i, Some(f)));
    let mut out = String::with_capacity(text.len() + int.len() / 3 + 1);
    if value < 0.0 && text.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        out.push('-');
    }
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// A headline number.
#[derive(Debug, Clone)]
pub struct Kpi {
    /// What the number is.
    pub label: String,
    /// The number (NaN when the query gave none).
    pub value: f64,
    /// How it is shown.
    pub format: ValueFormat,
    /// The value at the comparison point, when there is one (the tile shows the change).
    pub previous: Option<f64>,
    /// Whether a rise is good (green) or bad (red).
    pub higher_is_better: bool,
}

impl Kpi {
    /// The value as shown.
    pub fn display(&self) -> String {
        self.format.format(self.value)
    }

    /// The change against `previous`, as shown (`+3.2%` for a share, `+120` otherwise), and whether it
    /// is good news.
    pub fn change(&self) -> Option<(String, bool)> {
        let previous = self.previous.filter(|p| p.is_finite())?;
        let delta = self.value - previous;
        if !delta.is_finite() {
            return None;
        }
        let sign = if delta >= 0.0 { "+" } else { "-" };
        let text = match self.format {
            ValueFormat::Percent => format!("{sign}{:.1} pts", 100.0 * delta.abs()),
            f => format!("{sign}{}", f.format(delta.abs()).trim_start_matches('$')),
        };
        Some((text, (delta >= 0.0) == self.higher_is_better))
    }
}

/// A table with a display format per column.
#[derive(Debug, Clone)]
pub struct TableBlock {
    /// Caption (also the Excel sheet name).
    pub title: String,
    /// The rows.
    pub data: RecordBatch,
    /// One display format per column.
    pub formats: Vec<ValueFormat>,
    /// Rows the query returned before a row limit was applied (equal to the row count when none was).
    pub total_rows: usize,
}

/// Kinds of chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    /// One line per series over an ordered x axis.
    Line,
    /// Grouped bars per category.
    Bar,
    /// Series stacked as filled areas over an ordered x axis.
    StackedArea,
    /// A grid of coloured cells: x categories by row (series) categories.
    Heatmap,
    /// Counts of values in equal-width bins.
    Histogram,
}

/// The x axis values of a chart.
#[derive(Debug, Clone, PartialEq)]
pub enum XValues {
    /// Named categories, in order.
    Categories(Vec<String>),
    /// Calendar dates, ascending.
    Dates(Vec<NaiveDate>),
    /// Numbers, ascending.
    Numbers(Vec<f64>),
}

impl XValues {
    /// Number of points.
    pub fn len(&self) -> usize {
        match self {
            Self::Categories(v) => v.len(),
            Self::Dates(v) => v.len(),
            Self::Numbers(v) => v.len(),
        }
    }

    /// Whether there are no points.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Point `i` as a label.
    pub fn label(&self, i: usize) -> String {
        match self {
            Self::Categories(v) => v[i].clone(),
            Self::Dates(v) => v[i].to_string(),
            Self::Numbers(v) => ValueFormat::Decimal.format(v[i]),
        }
    }
}

/// One named series of y values, aligned with the chart's x values (`None` = no value).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend name (the row label of a heatmap).
    pub name: String,
    /// One value per x point.
    pub values: Vec<Option<f64>>,
}

/// A chart: data only; each renderer draws it (SVG, PDF vectors, a native Excel chart).
#[derive(Debug, Clone)]
pub struct Chart {
    /// Caption.
    pub title: String,
    /// What kind of chart.
    pub kind: ChartKind,
    /// X axis title.
    pub x_label: String,
    /// Y axis title (the colour scale's title for a heatmap).
    pub y_label: String,
    /// The x values.
    pub x: XValues,
    /// The series.
    pub series: Vec<Series>,
    /// How y values are shown.
    pub format: ValueFormat,
}

/// A paragraph.
#[derive(Debug, Clone)]
pub struct Text {
    /// The text.
    pub text: String,
    /// Whether it is a note about the report itself (e.g. a missing input) rather than content.
    pub note: bool,
}

/// One value of a table, typed: what JSON, Excel, HTML and PDF all render from.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// No value.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A calendar date.
    Date(NaiveDate),
    /// An instant.
    Timestamp(DateTime<Utc>),
    /// Text (and any other type, in Arrow's display form).
    Text(String),
}

impl Cell {
    /// The value as text with `format` (what HTML and PDF show).
    pub fn display(&self, format: ValueFormat) -> String {
        match self {
            Self::Null => String::new(),
            Self::Bool(b) => b.to_string(),
            Self::Int(v) => format.format(*v as f64),
            Self::Float(v) => format.format(*v),
            Self::Date(d) => d.to_string(),
            Self::Timestamp(t) => t.format("%Y-%m-%d %H:%M").to_string(),
            Self::Text(s) => s.clone(),
        }
    }
}

/// The values of one column as cells.
pub fn cells(column: &ArrayRef) -> Vec<Cell> {
    let n = column.len();
    let get = |i: usize, f: &dyn Fn(usize) -> Cell| if column.is_null(i) { Cell::Null } else { f(i) };
    macro_rules! ints {
        ($t:ty) => {{
            let a = column.as_primitive::<$t>();
            (0..n).map(|i| get(i, &|i| Cell::Int(a.value(i) as i64))).collect()
        }};
    }
    match column.data_type() {
        DataType::Boolean => {
            let a = column.as_boolean();
            (0..n).map(|i| get(i, &|i| Cell::Bool(a.value(i)))).collect()
        }
        DataType::Int8 => ints!(Int8Type),
        DataType::Int16 => ints!(Int16Type),
        DataType::Int32 => ints!(Int32Type),
        DataType::Int64 => ints!(Int64Type),
        DataType::UInt8 => ints!(UInt8Type),
        DataType::UInt16 => ints!(UInt16Type),
        DataType::UInt32 => ints!(UInt32Type),
        DataType::UInt64 => ints!(UInt64Type),
        DataType::Float32 => {
            let a = column.as_primitive::<Float32Type>();
            (0..n).map(|i| get(i, &|i| Cell::Float(f64::from(a.value(i))))).collect()
        }
        DataType::Float64 => {
            let a = column.as_primitive::<Float64Type>();
            (0..n).map(|i| get(i, &|i| Cell::Float(a.value(i)))).collect()
        }
        DataType::Date32 => {
            let a = column.as_primitive::<Date32Type>();
            (0..n).map(|i| get(i, &|i| a.value_as_date(i).map_or(Cell::Null, Cell::Date))).collect()
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            let a = column.as_primitive::<TimestampMillisecondType>();
            let at = |i| DateTime::from_timestamp_millis(a.value(i)).map_or(Cell::Null, Cell::Timestamp);
            (0..n).map(|i| get(i, &at)).collect()
        }
        _ => {
            let options = arrow::util::display::FormatOptions::default();
            match arrow::util::display::ArrayFormatter::try_new(column.as_ref(), &options) {
                Ok(f) => (0..n).map(|i| get(i, &|i| Cell::Text(f.value(i).to_string()))).collect(),
                Err(_) => vec![Cell::Text(format!("<{}>", column.data_type())); n],
            }
        }
    }
}

/// Every section of a report in document order, depth-first, with its depth (0 = top level).
pub(crate) fn walk(sections: &[Section]) -> Vec<(usize, &Section)> {
    fn go<'a>(sections: &'a [Section], depth: usize, out: &mut Vec<(usize, &'a Section)>) {
        for s in sections {
            out.push((depth, s));
            go(&s.sections, depth + 1, out);
        }
    }
    let mut out = Vec::new();
    go(sections, 0, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_formatted_with_separators() {
        assert_eq!(ValueFormat::Integer.format(1_234_567.4), "1,234,567");
        assert_eq!(ValueFormat::Currency.format(-98_765.0), "-$98,765");
        assert_eq!(ValueFormat::Decimal.format(-0.001), "0.00");
        assert_eq!(ValueFormat::Percent.format(0.1234), "12.3%");
        assert_eq!(ValueFormat::Decimal.format(f64::NAN), "–");
    }

    #[test]
    fn kpi_change_says_whether_it_is_good() {
        let kpi = Kpi {
            label: "Churn".into(),
            value: 0.12,
            format: ValueFormat::Percent,
            previous: Some(0.10),
            higher_is_better: false,
        };
        assert_eq!(kpi.change(), Some(("+2.0 pts".into(), false)));
    }
}
