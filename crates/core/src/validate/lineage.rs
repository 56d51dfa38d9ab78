//! Lineage: one audit record per validated table per run (what came in, under which rules, what came out,
//! when and how long), exported as an Arrow table or JSON lines.
//! Fingerprints are XXH3-128, see [`super::fingerprint`].

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::table::Table;

/// One validation of one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineageRecord {
    /// Table name.
    pub table: String,
    /// Where the input came from (a path, or `memory`).
    pub source: String,
    /// XXH3-128 of the input's schema and rows, hex.
    pub content_hash: String,
    /// Rule set id.
    pub ruleset_id: String,
    /// Rule set version.
    pub ruleset_version: String,
    /// XXH3-128 of the rule set's canonical JSON, hex.
    pub ruleset_hash: String,
    /// Input rows.
    pub rows_in: u64,
    /// Clean rows.
    pub rows_clean: u64,
    /// Quarantined rows.
    pub rows_quarantined: u64,
    /// Dropped duplicate copies.
    pub rows_deduplicated: u64,
    /// Start of the run (RFC 3339, UTC).
    pub started_at: String,
    /// Wall time of the table's validation in milliseconds.
    pub duration_ms: f64,
    /// accountscope version.
    pub library_version: String,
}

/// The records as an Arrow table.
pub fn lineage_table(records: &[LineageRecord]) -> Result<Table> {
    let text = |f: &dyn Fn(&LineageRecord) -> &str| -> ArrayRef {
        Arc::new(records.iter().map(|r| Some(f(r))).collect::<StringArray>())
    };
    let count =
        |f: &dyn Fn(&LineageRecord) -> u64| -> ArrayRef { Arc::new(records.iter().map(f).collect::<UInt64Array>()) };
    let fields = [
        ("table", DataType::Utf8),
        ("source", DataType::Utf8),
        ("content_hash", DataType::Utf8),
        ("ruleset_id", DataType::Utf8),
        ("ruleset_version", DataType::Utf8),
        ("ruleset_hash", DataType::Utf8),
        ("rows_in", DataType::UInt64),
        ("rows_clean", DataType::UInt64),
        ("rows_quarantined", DataType::UInt64),
        ("rows_deduplicated", DataType::UInt64),
        ("started_at", DataType::Utf8),
        ("duration_ms", DataType::Float64),
        ("library_version", DataType::Utf8),
    ];
    let schema =
        Arc::new(Schema::new(fields.iter().map(|(n, t)| Field::new(*n, t.clone(), false)).collect::<Vec<_>>()));
    let cols: Vec<ArrayRef> = vec![
        text(&|r| &r.table),
        text(&|r| &r.source),
        text(&|r| &r.content_hash),
        text(&|r| &r.ruleset_id),
        text(&|r| &r.ruleset_version),
        text(&|r| &r.ruleset_hash),
        count(&|r| r.rows_in),
        count(&|r| r.rows_clean),
        count(&|r| r.rows_quarantined),
        count(&|r| r.rows_deduplicated),
        text(&|r| &r.started_at),
        Arc::new(records.iter().map(|r| r.duration_ms).collect::<Float64Array>()),
        text(&|r| &r.library_version),
    ];
    Ok(Table::from_batch(RecordBatch::try_new(schema, cols)?))
}

/// The records as JSON lines (one object per line).
pub fn to_json_lines(records: &[LineageRecord]) -> Result<String> {
    let mut out = String::new();
    for r in records {
        out += &serde_json::to_string(r)?;
        out.push('\n');
    }
    Ok(out)
}

/// Appends the records to a JSON-lines file (created when missing): the audit trail grows run by run.
pub fn append_json_lines(path: impl AsRef<Path>, records: &[LineageRecord]) -> Result<()> {
    let path = path.as_ref();
    let mut file =
        std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| Error::io(path.display(), e))?;
    file.write_all(to_json_lines(records)?.as_bytes()).map_err(|e| Error::io(path.display(), e))
}
