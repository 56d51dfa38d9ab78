//! The JSON renderer: the report model as a stable document (`"schema": "accountscope.report/1"`),
//! described by the JSON Schema in `report.schema.json` ([`JSON_SCHEMA`]). Numbers stay numbers (NaN and
//! infinities become `null`), dates are ISO 8601 strings.

use serde_json::{Map, Value, json};

use super::model::{Block, Cell, Report, Section, XValues, cells};

/// The schema id written in every document.
pub const SCHEMA_ID: &str = "accountscope.report/1";

/// The JSON Schema (draft 2020-12) of the documents [`render`] writes.
pub const JSON_SCHEMA: &str = include_str!("report.schema.json");

fn number(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

fn cell(c: &Cell) -> Value {
    match c {
        Cell::Null => Value::Null,
        Cell::Bool(b) => Value::Bool(*b),
        Cell::Int(v) => json!(v),
        Cell::Float(v) => number(*v),
        Cell::Date(d) => json!(d.to_string()),
        Cell::Timestamp(t) => json!(t.to_rfc3339()),
        Cell::Text(s) => json!(s),
    }
}

fn block(b: &Block) -> Value {
    match b {
        Block::Text(t) => json!({"type": "text", "text": t.text, "note": t.note}),
        Block::Kpis(tiles) => {
            let kpis: Vec<Value> = tiles
                .iter()
                .map(|k| {
                    let change = k.change();
                    json!({
                        "label": k.label,
                        "value": number(k.value),
                        "display": k.display(),
                        "format": k.format,
                        "previous": k.previous.map_or(Value::Null, number),
                        "change": change.as_ref().map(|c| c.0.clone()),
                        "good": change.map(|c| c.1),
                        "higher_is_better": k.higher_is_better,
                    })
                })
                .collect();
            json!({"type": "kpis", "kpis": kpis})
        }
        Block::Table(t) => {
            let columns: Vec<Value> = t
                .data
                .schema()
                .fields()
                .iter()
                .zip(&t.formats)
                .map(|(f, format)| json!({"name": f.name(), "type": f.data_type().to_string(), "format": format}))
                .collect();
            let values: Vec<Vec<Cell>> = t.data.columns().iter().map(cells).collect();
            let rows: Vec<Value> =
                (0..t.data.num_rows()).map(|r| Value::Array(values.iter().map(|c| cell(&c[r])).collect())).collect();
            json!({"type": "table", "title": t.title, "columns": columns, "rows": rows, "total_rows": t.total_rows})
        }
        Block::Chart(c) => {
            let (kind, values): (&str, Vec<Value>) = match &c.x {
                XValues::Categories(v) => ("categories", v.iter().map(|s| json!(s)).collect()),
                XValues::Dates(v) => ("dates", v.iter().map(|d| json!(d.to_string())).collect()),
                XValues::Numbers(v) => ("numbers", v.iter().map(|n| number(*n)).collect()),
            };
            let series: Vec<Value> = c
                .series
                .iter()
                .map(|s| json!({"name": s.name, "values": s.values.iter().map(|v| v.map_or(Value::Null, number)).collect::<Vec<_>>()}))
                .collect();
            json!({
                "type": "chart", "title": c.title, "kind": c.kind, "x_label": c.x_label, "y_label": c.y_label,
                "format": c.format, "x": {"type": kind, "values": values}, "series": series,
            })
        }
    }
}

fn section(s: &Section) -> Value {
    json!({
        "title": s.title,
        "blocks": s.blocks.iter().map(block).collect::<Vec<_>>(),
        "sections": s.sections.iter().map(section).collect::<Vec<_>>(),
    })
}

/// The report as a JSON value.
pub fn to_value(report: &Report) -> Value {
    let mut top = Map::new();
    top.insert("schema".into(), json!(SCHEMA_ID));
    top.insert("title".into(), json!(report.title));
    top.insert("subtitle".into(), json!(report.subtitle));
    top.insert("template".into(), json!(report.template));
    top.insert("role".into(), json!(report.role));
    top.insert("as_of".into(), json!(report.as_of.to_string()));
    top.insert("generated_at".into(), json!(report.generated_at.to_rfc3339()));
    top.insert(
        "filters".into(),
        Value::Array(report.filters.iter().map(|(k, v)| json!({"name": k, "value": v})).collect()),
    );
    top.insert("sections".into(), Value::Array(report.sections.iter().map(section).collect()));
    Value::Object(top)
}

/// The report as pretty-printed JSON bytes.
pub fn render(report: &Report) -> crate::Result<Vec<u8>> {
    let mut out = serde_json::to_vec_pretty(&to_value(report))?;
    out.push(b'\n');
    Ok(out)
}
