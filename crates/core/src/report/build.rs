//! Assembles a [`Report`] from a [`ReportSpec`] by running each widget's SQL on the [`Engine`], then applies
//! the role's privacy policy, so no renderer ever sees unmasked data.
//!
//! A widget whose tables are not registered becomes a note saying which are missing (a report shows what
//! exists); a widget whose query fails or whose columns do not fit is an error naming the widget and field.

use std::collections::{BTreeSet, HashMap};

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use super::model::{Block, Cell, Chart, ChartKind, Kpi, Report, Section, Series, TableBlock, Text, ValueFormat};
use super::model::{XValues, cells};
use super::spec::{Filters, ReportSpec, SectionSpec, WidgetKind, WidgetSpec};
use crate::engine::{Engine, sql_text};
use crate::error::{Error, Result};
use crate::privacy::Privacy;

/// How to build a report.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// The role to prepare the report for (default: the spec's role).
    pub role: Option<String>,
    /// The day the report describes (default: `filters.to`, else the last day of `usage`, `health` or
    /// `revenue`).
    pub as_of: Option<NaiveDate>,
    /// Filters; fields set here override the spec's.
    pub filters: Filters,
    /// Rows of "top" tables (default 10).
    pub top_n: Option<usize>,
    /// The generation time to stamp (default: now); fixed in tests for byte-identical output.
    pub generated_at: Option<DateTime<Utc>>,
}

/// Placeholders that imply a table the widget needs.
const IMPLIED: [(&str, &str); 5] = [
    ("{scope}", "accounts"),
    ("{mrr}", "revenue"),
    ("{health_now}", "health"),
    ("{health_then}", "health"),
    ("{account}", "accounts"),
];

/// Builds the report for `spec` from the engine's tables and masks it for the role.
pub fn build(engine: &Engine, spec: &ReportSpec, options: &ReportOptions, privacy: &Privacy) -> Result<Report> {
    spec.check()?;
    let role = options
        .role
        .clone()
        .or_else(|| spec.role.clone())
        .ok_or_else(|| Error::config("role", format!("spec '{}' names no role: pass one", spec.id)))?;
    let filters = spec.filters.merged(&options.filters);
    let registered: BTreeSet<String> = engine.tables().into_iter().collect();
    let as_of = match options.as_of.or(filters.to) {
        Some(d) => d,
        None => latest_day(engine, &registered)?,
    };
    let to = filters.to.unwrap_or(as_of);
    let from = filters.from.unwrap_or(as_of - TimeDelta::days(365));
    if from > to {
        return Err(Error::config("filters.from", format!("{from} is after filters.to {to}")));
    }
    let mut values = placeholders(&filters, as_of, from, to, options.top_n)?;
    if registered.contains("health") {
        // The scoring days nearest before `as_of` and `from`, as literals (health may be weekly).
        let (now, then) = health_days(engine, as_of, from)?;
        values.insert("{health_now}", sql_date(now.unwrap_or(as_of)));
        values.insert("{health_then}", sql_date(then.unwrap_or(from)));
    }
    let ctx = Context { engine, registered, values };
    let uses_account = spec.widgets().iter().any(|w| w.sql_texts().any(|s| s.contains("{account}")))
        || spec.subtitle_sql.as_deref().is_some_and(|s| s.contains("{account}"));
    if uses_account {
        check_account(&ctx, &spec.id, filters.account_id.as_deref())?;
    }
    let subtitle = match &spec.subtitle_sql {
        Some(sql) => first_text(&ctx.query("subtitle_sql", sql)?),
        None => None,
    };
    let mut shown = vec![("as of".to_string(), as_of.to_string()), ("range".into(), format!("{from} to {to}"))];
    for (name, values) in [("segment", &filters.segments), ("owner", &filters.owners)] {
        if !values.is_empty() {
            shown.push((name.into(), values.join(", ")));
        }
    }
    if let Some(a) = &filters.account_id {
        shown.push(("account".into(), a.clone()));
    }
    let mut report = Report {
        title: spec.title.clone(),
        subtitle,
        template: spec.id.clone(),
        role: role.clone(),
        as_of,
        generated_at: options.generated_at.unwrap_or_else(Utc::now),
        filters: shown,
        sections: sections(&ctx, &spec.sections)?,
    };
    privacy.apply(engine, &role, &mut report)?;
    Ok(report)
}

struct Context<'a> {
    engine: &'a Engine,
    registered: BTreeSet<String>,
    values: HashMap<&'static str, String>,
}

fn sql_date(d: NaiveDate) -> String {
    format!("DATE {}", sql_text(&d.to_string()))
}

fn health_days(engine: &Engine, as_of: NaiveDate, from: NaiveDate) -> Result<(Option<NaiveDate>, Option<NaiveDate>)> {
    let sql = format!(
        "SELECT MAX(CASE WHEN date <= {a} THEN date END) AS now, MAX(CASE WHEN date <= {f} THEN date END) AS then
         FROM health",
        a = sql_date(as_of),
        f = sql_date(from)
    );
    let batch = engine.sql(&sql)?.concat()?;
    let day = |i: usize| match cells(batch.column(i)).first() {
        Some(Cell::Date(d)) => Some(*d),
        _ => None,
    };
    Ok((day(0), day(1)))
}

fn placeholders(
    filters: &Filters,
    as_of: NaiveDate,
    from: NaiveDate,
    to: NaiveDate,
    top_n: Option<usize>,
) -> Result<HashMap<&'static str, String>> {
    let date = sql_date;
    let list = |v: &[String]| v.iter().map(|s| sql_text(s)).collect::<Vec<_>>().join(", ");
    let mut conditions = Vec::new();
    if !filters.segments.is_empty() {
        conditions.push(format!("segment IN ({})", list(&filters.segments)));
    }
    if !filters.owners.is_empty() {
        conditions.push(format!("csm_owner IN ({})", list(&filters.owners)));
    }
    let scope = if conditions.is_empty() {
        "(SELECT account_id FROM accounts)".to_string()
    } else {
        format!("(SELECT account_id FROM accounts WHERE {})", conditions.join(" AND "))
    };
    let top_n = top_n.unwrap_or(10);
    if top_n == 0 {
        return Err(Error::config("top_n", "must be at least 1"));
    }
    Ok(HashMap::from([
        ("{scope}", scope),
        ("{as_of}", date(as_of)),
        ("{from}", date(from)),
        ("{to}", date(to)),
        ("{top_n}", top_n.to_string()),
        ("{account}", filters.account_id.as_deref().map_or_else(|| "NULL".into(), sql_text)),
        (
            "{mrr}",
            format!(
                "(SELECT account_id, SUM(mrr_delta) AS mrr FROM revenue WHERE date <= {} GROUP BY account_id)",
                date(as_of)
            ),
        ),
    ]))
}

fn latest_day(engine: &Engine, registered: &BTreeSet<String>) -> Result<NaiveDate> {
    for table in ["usage", "health", "revenue"] {
        if registered.contains(table) {
            let result = engine.sql(&format!("SELECT MAX(date) AS d FROM {table}"))?.concat()?;
            if let Some(Cell::Date(d)) = result.columns().first().and_then(|c| cells(c).into_iter().next()) {
                return Ok(d);
            }
        }
    }
    Err(Error::config("as_of", "no usage, health or revenue table to take the report date from: pass as_of"))
}

fn check_account(ctx: &Context<'_>, spec: &str, account: Option<&str>) -> Result<()> {
    let Some(account) = account else {
        return Err(Error::config(
            "filters.account_id",
            format!("the '{spec}' report is about one account: set filters.account_id"),
        ));
    };
    if ctx.registered.contains("accounts") {
        let sql = format!("SELECT COUNT(*) AS n FROM accounts WHERE account_id = {}", sql_text(account));
        let n = ctx.engine.sql(&sql)?.concat()?;
        if matches!(cells(n.column(0)).first(), Some(Cell::Int(0))) {
            return Err(Error::invalid("filters.account_id", format!("no account '{account}' in table 'accounts'")));
        }
    }
    Ok(())
}

impl WidgetSpec {
    fn sql_texts(&self) -> impl Iterator<Item = &str> {
        self.sql.as_deref().into_iter().chain(self.kpis.iter().map(|k| k.sql.as_str()))
    }
}

impl Context<'_> {
    fn fill(&self, sql: &str) -> String {
        let mut out = sql.to_string();
        // Placeholders inside other placeholders' text ({as_of} in {mrr}) are already expanded.
        for (key, value) in &self.values {
            if out.contains(key) {
                out = out.replace(key, value);
            }
        }
        out
    }

    /// Runs a widget query; a failure names the widget's field.
    fn query(&self, field: &str, sql: &str) -> Result<RecordBatch> {
        let table = self.engine.sql_deterministic(&self.fill(sql)).map_err(|e| Error::config(field, e.to_string()))?;
        table.concat()
    }

    fn missing(&self, widget: &WidgetSpec) -> Vec<String> {
        let implied =
            IMPLIED.iter().filter(|(p, _)| widget.sql_texts().any(|s| s.contains(p))).map(|(_, t)| t.to_string());
        let mut needed: BTreeSet<String> = widget.requires.iter().cloned().collect();
        needed.extend(implied);
        needed.into_iter().filter(|t| !self.registered.contains(t)).collect()
    }
}

fn sections(ctx: &Context<'_>, specs: &[SectionSpec]) -> Result<Vec<Section>> {
    specs
        .iter()
        .map(|s| {
            let mut blocks: Vec<Block> = Vec::new();
            for w in &s.widgets {
                for block in widget(ctx, w)? {
                    // Tiles of consecutive KPI widgets share one row of tiles.
                    match (blocks.last_mut(), block) {
                        (Some(Block::Kpis(row)), Block::Kpis(more)) => row.extend(more),
                        (_, block) => blocks.push(block),
                    }
                }
            }
            Ok(Section { title: s.title.clone(), blocks, sections: sections(ctx, &s.sections)? })
        })
        .collect()
}

fn widget(ctx: &Context<'_>, w: &WidgetSpec) -> Result<Vec<Block>> {
    let missing = ctx.missing(w);
    if !missing.is_empty() {
        let what = w.title.clone().unwrap_or_else(|| w.id.replace('_', " "));
        return Ok(vec![Block::Text(Text {
            text: format!("Not available: {what} needs the table(s) {} (not registered).", missing.join(", ")),
            note: true,
        })]);
    }
    let field = |name: &str| format!("widget '{}', field '{name}'", w.id);
    let sql = w.sql.as_deref().unwrap_or_default();
    Ok(match w.kind {
        WidgetKind::Kpis => {
            let mut tiles = Vec::with_capacity(w.kpis.len());
            for (i, k) in w.kpis.iter().enumerate() {
                let batch = ctx.query(&field(&format!("kpis[{i}].sql")), &k.sql)?;
                let (value, previous) = kpi_values(&batch);
                tiles.push(Kpi {
                    label: k.label.clone(),
                    value,
                    format: k.format,
                    previous,
                    higher_is_better: k.higher_is_better,
                });
            }
            vec![Block::Kpis(tiles)]
        }
        WidgetKind::Text => {
            let mut blocks: Vec<Block> =
                w.text.iter().map(|t| Block::Text(Text { text: ctx.fill_plain(t), note: false })).collect();
            if let Some(sql) = &w.sql {
                let batch = ctx.query(&field("sql"), sql)?;
                let lines = batch.columns().first().map(cells).unwrap_or_default();
                blocks.extend(
                    lines
                        .iter()
                        .filter(|c| **c != Cell::Null)
                        .map(|c| Block::Text(Text { text: c.display(ValueFormat::Text), note: false })),
                );
            }
            blocks
        }
        WidgetKind::Table => {
            let batch = ctx.query(&field("sql"), sql)?;
            vec![Block::Table(table_block(w, batch)?)]
        }
        WidgetKind::Chart => {
            let batch = ctx.query(&field("sql"), sql)?;
            vec![Block::Chart(chart(w, &batch)?)]
        }
    })
}

impl Context<'_> {
    /// Text with date placeholders shown as plain dates.
    fn fill_plain(&self, text: &str) -> String {
        let mut out = text.to_string();
        for key in ["{as_of}", "{from}", "{to}"] {
            if let Some(v) = self.values.get(key) {
                out = out.replace(key, v.trim_start_matches("DATE ").trim_matches('\''));
            }
        }
        out
    }
}

fn first_text(batch: &RecordBatch) -> Option<String> {
    let c = cells(batch.columns().first()?).into_iter().next()?;
    (c != Cell::Null).then(|| c.display(ValueFormat::Text))
}

fn as_f64(array: &ArrayRef) -> Option<f64> {
    let cast = cast(array, &DataType::Float64).ok()?;
    let a = cast.as_primitive::<Float64Type>();
    (!a.is_empty() && a.is_valid(0)).then(|| a.value(0))
}

fn kpi_values(batch: &RecordBatch) -> (f64, Option<f64>) {
    let schema = batch.schema();
    let value = schema.index_of("value").ok().or(if batch.num_columns() > 0 { Some(0) } else { None });
    let value = value.and_then(|i| as_f64(batch.column(i))).unwrap_or(f64::NAN);
    let previous = schema.index_of("previous").ok().and_then(|i| as_f64(batch.column(i)));
    (value, previous)
}

fn table_block(w: &WidgetSpec, batch: RecordBatch) -> Result<TableBlock> {
    let schema = batch.schema();
    for name in w.formats.keys() {
        if schema.index_of(name).is_err() {
            return Err(Error::config(
                format!("widget '{}', field 'formats.{name}'", w.id),
                format!("no column '{name}' in the query result; columns: {:?}", column_names(&batch)),
            ));
        }
    }
    let formats = schema
        .fields()
        .iter()
        .map(|f| w.formats.get(f.name()).copied().unwrap_or(ValueFormat::for_type(f.data_type())));
    let total_rows = batch.num_rows();
    let data = match w.limit {
        Some(limit) if limit < total_rows => batch.slice(0, limit),
        _ => batch,
    };
    Ok(TableBlock {
        title: w.title.clone().unwrap_or_else(|| w.id.replace('_', " ")),
        formats: formats.collect(),
        data,
        total_rows,
    })
}

fn column_names(batch: &RecordBatch) -> Vec<String> {
    batch.schema().fields().iter().map(|f| f.name().clone()).collect()
}

fn column<'a>(w: &WidgetSpec, batch: &'a RecordBatch, field: &str, name: &str) -> Result<&'a ArrayRef> {
    batch.column_by_name(name).ok_or_else(|| {
        Error::config(
            format!("widget '{}', field '{field}'", w.id),
            format!("no column '{name}' in the query result; columns: {:?}", column_names(batch)),
        )
    })
}

fn numbers(w: &WidgetSpec, array: &ArrayRef, field: &str) -> Result<Vec<Option<f64>>> {
    let table = format!("widget {}", w.id);
    let cast =
        crate::table::cast_strict(array, &DataType::Float64, &table, field, "a number").map_err(|e| match e {
            Error::Schema { .. } => Error::config(
                format!("widget '{}', field '{field}'", w.id),
                format!("the column is {}, not a number", array.data_type()),
            ),
            e => e,
        })?;
    Ok(cast.as_primitive::<Float64Type>().iter().collect())
}

fn chart(w: &WidgetSpec, batch: &RecordBatch) -> Result<Chart> {
    let kind = w.chart.ok_or_else(|| Error::Internal("a chart widget without a kind passed the spec check".into()))?;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut chart = Chart {
        title: w.title.clone().unwrap_or_else(|| w.id.replace('_', " ")),
        kind,
        x_label: w.x_label.clone().unwrap_or_else(|| text(&w.x)),
        y_label: w.y_label.clone().unwrap_or_default(),
        x: XValues::Categories(Vec::new()),
        series: Vec::new(),
        format: w.format.unwrap_or(ValueFormat::Decimal),
    };
    if kind == ChartKind::Histogram {
        let name = text(&w.value);
        let values: Vec<f64> = numbers(w, column(w, batch, "value", &name)?, "value")?
            .into_iter()
            .flatten()
            .filter(|v| v.is_finite())
            .collect();
        let (labels, counts) = histogram(&values, w.bins.unwrap_or(20));
        chart.x = XValues::Categories(labels);
        chart.series = vec![Series { name: w.y_label.clone().unwrap_or_else(|| "count".into()), values: counts }];
        if w.x_label.is_none() {
            chart.x_label = name;
        }
        chart.format = w.format.unwrap_or(ValueFormat::Integer);
        return Ok(chart);
    }
    let x = column(w, batch, "x", &text(&w.x))?;
    let x_cells = cells(x);
    if w.y.is_empty() {
        // Long data (or a heatmap): pivot series × x.
        let series = cells(column(w, batch, "series", &text(&w.series))?);
        let values = numbers(w, column(w, batch, "value", &text(&w.value))?, "value")?;
        let xs = distinct(&x_cells, kind != ChartKind::Heatmap);
        let names = distinct(&series, false);
        let index: HashMap<String, usize> = xs.iter().enumerate().map(|(i, c)| (key(c), i)).collect();
        chart.series =
            names.iter().map(|n| Series { name: n.display(ValueFormat::Text), values: vec![None; xs.len()] }).collect();
        let row_of: HashMap<String, usize> = names.iter().enumerate().map(|(i, c)| (key(c), i)).collect();
        for ((xc, sc), v) in x_cells.iter().zip(&series).zip(values) {
            if let (Some(&i), Some(&s)) = (index.get(&key(xc)), row_of.get(&key(sc))) {
                chart.series[s].values[i] = v;
            }
        }
        chart.x = x_values(&xs);
    } else {
        let mut order: Vec<usize> = (0..x_cells.len()).collect();
        if !matches!(x.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) {
            order.sort_by(|&a, &b| cmp_cells(&x_cells[a], &x_cells[b]));
        }
        let sorted: Vec<Cell> = order.iter().map(|&i| x_cells[i].clone()).collect();
        for (i, name) in w.y.iter().enumerate() {
            let values = numbers(w, column(w, batch, &format!("y[{i}]"), name)?, &format!("y[{i}]"))?;
            chart.series.push(Series { name: name.clone(), values: order.iter().map(|&r| values[r]).collect() });
        }
        chart.x = x_values(&sorted);
    }
    Ok(chart)
}

fn key(c: &Cell) -> String {
    format!("{c:?}")
}

fn cmp_cells(a: &Cell, b: &Cell) -> std::cmp::Ordering {
    match (a, b) {
        (Cell::Date(a), Cell::Date(b)) => a.cmp(b),
        (Cell::Int(a), Cell::Int(b)) => a.cmp(b),
        (Cell::Float(a), Cell::Float(b)) => a.total_cmp(b),
        (Cell::Timestamp(a), Cell::Timestamp(b)) => a.cmp(b),
        _ => key(a).cmp(&key(b)),
    }
}

/// Distinct non-null cells in first-seen order (sorted when `sort`).
fn distinct(values: &[Cell], sort: bool) -> Vec<Cell> {
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<Cell> = values.iter().filter(|c| **c != Cell::Null && seen.insert(key(c))).cloned().collect();
    if sort {
        out.sort_by(cmp_cells);
    }
    out
}

fn x_values(cells: &[Cell]) -> XValues {
    if !cells.is_empty() && cells.iter().all(|c| matches!(c, Cell::Date(_))) {
        return XValues::Dates(
            cells.iter().filter_map(|c| if let Cell::Date(d) = c { Some(*d) } else { None }).collect(),
        );
    }
    if !cells.is_empty() && cells.iter().all(|c| matches!(c, Cell::Int(_) | Cell::Float(_))) {
        let n = |c: &Cell| match c {
            Cell::Int(v) => *v as f64,
            Cell::Float(v) => *v,
            _ => f64::NAN,
        };
        return XValues::Numbers(cells.iter().map(n).collect());
    }
    XValues::Categories(cells.iter().map(|c| c.display(ValueFormat::Text)).collect())
}

/// Equal-width bins over the values' range: labels and counts.
fn histogram(values: &[f64], bins: usize) -> (Vec<String>, Vec<Option<f64>>) {
    let bins = bins.max(1);
    let (lo, hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
    if values.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let width = if hi > lo { (hi - lo) / bins as f64 } else { 1.0 };
    let mut counts = vec![0.0; bins];
    for &v in values {
        let i = (((v - lo) / width) as usize).min(bins - 1);
        counts[i] += 1.0;
    }
    let label = |i: usize| {
        let (a, b) = (lo + width * i as f64, lo + width * (i + 1) as f64);
        format!("{}–{}", short(a), short(b))
    };
    ((0..bins).map(label).collect(), counts.into_iter().map(Some).collect())
}

fn short(v: f64) -> String {
    if v.abs() >= 100.0 || v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.2}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_counts_every_value_once() {
        let values: Vec<f64> = (0..=100).map(f64::from).collect();
        let (labels, counts) = histogram(&values, 10);
        assert_eq!(labels.len(), 10);
        assert_eq!(labels[0], "0–10");
        let total: f64 = counts.iter().flatten().sum();
        assert_eq!(total, 101.0);
        assert_eq!(counts[9], Some(11.0), "the maximum falls in the last bin");
    }
}
