//! Conformance: map an input's column names and values onto a canonical table, cast every column to its
//! canonical type, and report every value that cannot be cast with its row number.
//!
//! Casting follows Arrow's `cast` kernel for numbers and booleans (strings are trimmed first, an empty
//! string is a null, not an error) and parses text dates and timestamps with chrono against a list of
//! formats, the common export formats by default (ISO 8601 / RFC 3339 first, then US and European
//! day-first forms). A float cast to a count must be whole. Row numbers are 0-based positions in the input,
//! counted across all batches of a stream (a CSV data row `r` is on line `r + 2` when the file has a header).

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Date32Builder, StringArray, StringBuilder, TimestampMillisecondBuilder, new_null_array,
};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Schema, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::{ColumnSpec, ColumnType, TableKind};
use crate::error::{BadValue, Error, Result};
use crate::table::Table;

/// Default date formats, tried in order (chrono `strftime` syntax).
pub const DEFAULT_DATE_FORMATS: &[&str] = &["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%m/%d/%Y", "%d.%m.%Y", "%d-%b-%Y"];

/// Default timestamp formats without a zone (read as UTC), tried after RFC 3339.
pub const DEFAULT_TIMESTAMP_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
];

/// What to do with input columns that are not part of the canonical table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtraColumns {
    /// Keep them after the canonical columns, with their input names and types.
    #[default]
    Keep,
    /// Drop them.
    Drop,
    /// Fail with a schema error naming them.
    Reject,
}

/// What to do with values that cannot be cast to the canonical type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CastPolicy {
    /// Fail with [`Error::Cast`] naming the column, the count and the first rows.
    #[default]
    Fail,
    /// Set the value to null and list it in [`Conformed::failures`] (validation quarantines those rows).
    NullAndReport,
}

/// How an input's columns map onto a canonical table. Deserializes from JSON/TOML/YAML.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ColumnMapping {
    /// Canonical column name → input column name, for columns whose names differ
    /// (e.g. `"account_id": "Account ID"` for a Salesforce export).
    pub columns: BTreeMap<String, String>,
    /// Canonical column name → (input value → canonical value), e.g. `"segment": {"Mid-Market": "MidMarket"}`.
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    /// Date formats to try (chrono syntax); empty means [`DEFAULT_DATE_FORMATS`].
    pub date_formats: Vec<String>,
    /// Timestamp formats to try after RFC 3339; empty means [`DEFAULT_TIMESTAMP_FORMATS`].
    pub timestamp_formats: Vec<String>,
    /// Columns that are not canonical.
    pub extra_columns: ExtraColumns,
    /// Values that cannot be cast.
    pub cast_policy: CastPolicy,
    /// Match input column names ignoring ASCII case and surrounding blanks when no exact match exists.
    pub case_insensitive: bool,
}

impl ColumnMapping {
    /// A mapping with the defaults and case-insensitive name matching.
    pub fn new() -> Self {
        Self { case_insensitive: true, ..Self::default() }
    }

    /// Maps the canonical column `canonical` from the input column `source`.
    pub fn with_column(mut self, canonical: impl Into<String>, source: impl Into<String>) -> Self {
        self.columns.insert(canonical.into(), source.into());
        self
    }

    /// Sets the policy for extra columns.
    pub fn with_extra_columns(mut self, extra: ExtraColumns) -> Self {
        self.extra_columns = extra;
        self
    }

    /// Sets the policy for values that cannot be cast.
    pub fn with_cast_policy(mut self, policy: CastPolicy) -> Self {
        self.cast_policy = policy;
        self
    }

    /// Checks that the mapping names only canonical columns of `table`.
    pub fn validate(&self, table: TableKind) -> Result<()> {
        let known: Vec<&str> = table.columns().iter().map(|c| c.name).collect();
        for name in self.columns.keys().chain(self.values.keys()) {
            if !known.contains(&name.as_str()) {
                return Err(Error::config(
                    format!("mapping.columns.{name}"),
                    format!("'{name}' is not a column of table '{}'; its columns are {known:?}", table.name()),
                ));
            }
        }
        Ok(())
    }
}

/// One value set to null under [`CastPolicy::NullAndReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CastFailure {
    /// Canonical column.
    pub column: String,
    /// 0-based input row.
    pub row: usize,
    /// The input value as text.
    pub value: String,
    /// The expected type or format.
    pub expected: String,
}

/// A conformed batch and the values that could not be cast (empty under [`CastPolicy::Fail`]).
#[derive(Debug, Clone)]
pub struct Conformed {
    /// The batch in the canonical schema (plus kept extra columns).
    pub batch: RecordBatch,
    /// Every value that was set to null because it could not be cast.
    pub failures: Vec<CastFailure>,
}

/// A whole conformed table and every value that could not be cast (empty under [`CastPolicy::Fail`]).
#[derive(Debug, Clone)]
pub struct ConformedTable {
    /// The rows in the canonical schema (plus kept extra columns).
    pub table: Table,
    /// Every value that was set to null because it could not be cast.
    pub failures: Vec<CastFailure>,
}

/// Conforms a single batch onto `table`; see [`Conformer`] for streams.
pub fn conform(table: TableKind, batch: &RecordBatch, mapping: &ColumnMapping) -> Result<RecordBatch> {
    Ok(Conformer::new(table, mapping.clone())?.conform_batch(batch)?.batch)
}

/// Conforms the batches of a stream onto one canonical table, counting rows across batches.
#[derive(Debug, Clone)]
pub struct Conformer {
    table: TableKind,
    mapping: ColumnMapping,
    rows_seen: usize,
}

/// Where an output column comes from.
enum Source {
    Input(usize, ColumnSpec),
    Absent(ColumnSpec),
}

impl Conformer {
    /// A conformer for `table` with `mapping` (validated here).
    pub fn new(table: TableKind, mapping: ColumnMapping) -> Result<Self> {
        mapping.validate(table)?;
        Ok(Self { table, mapping, rows_seen: 0 })
    }

    /// Rows conformed so far.
    pub fn rows_seen(&self) -> usize {
        self.rows_seen
    }

    /// Conforms every batch of a stream into one table, keeping every cast failure.
    pub fn conform_all(mut self, batches: impl IntoIterator<Item = Result<RecordBatch>>) -> Result<ConformedTable> {
        let mut out = Vec::new();
        let mut failures = Vec::new();
        for batch in batches {
            let conformed = self.conform_batch(&batch?)?;
            failures.extend(conformed.failures);
            out.push(conformed.batch);
        }
        let schema = out.first().map_or_else(|| self.table.schema(), RecordBatch::schema);
        Ok(ConformedTable { table: Table::try_new(schema, out)?, failures })
    }

    /// Conforms the next batch of the stream.
    pub fn conform_batch(&mut self, batch: &RecordBatch) -> Result<Conformed> {
        let input = batch.schema();
        let (sources, extra) = self.resolve(&input)?;
        let mut fields = Vec::new();
        let mut columns: Vec<ArrayRef> = Vec::new();
        let mut failures = Vec::new();
        for source in &sources {
            match source {
                Source::Absent(spec) => {
                    fields.push(spec.field());
                    columns.push(new_null_array(&spec.data_type.arrow(), batch.num_rows()));
                }
                Source::Input(i, spec) => {
                    let label = self.label(spec.name, input.field(*i).name());
                    let (array, bad) = self.cast_column(batch.column(*i), spec.name, spec.data_type)?;
                    if !bad.is_empty() {
                        let expected = expected_text(spec.data_type, &self.mapping);
                        if self.mapping.cast_policy == CastPolicy::Fail {
                            return Err(Error::Cast {
                                table: self.table.name().into(),
                                column: label,
                                expected,
                                count: bad.len(),
                                examples: bad.into_iter().take(crate::table::MAX_BAD_EXAMPLES).collect(),
                            });
                        }
                        failures.extend(bad.into_iter().map(|b| CastFailure {
                            column: spec.name.into(),
                            row: b.row,
                            value: b.value,
                            expected: expected.clone(),
                        }));
                    }
                    fields.push(spec.field());
                    columns.push(array);
                }
            }
        }
        for i in extra {
            fields.push(input.field(i).as_ref().clone());
            columns.push(batch.column(i).clone());
        }
        let schema: SchemaRef = Arc::new(Schema::new_with_metadata(fields, self.table.schema().metadata().clone()));
        let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        let out = RecordBatch::try_new_with_options(schema, columns, &options)?;
        self.rows_seen += batch.num_rows();
        Ok(Conformed { batch: out, failures })
    }

    fn label(&self, canonical: &str, source: &str) -> String {
        if canonical == source { canonical.to_string() } else { format!("{canonical} (input column '{source}')") }
    }

    /// Finds each canonical column in the input; returns the sources and the indices of extra columns.
    fn resolve(&self, input: &Schema) -> Result<(Vec<Source>, Vec<usize>)> {
        let names: Vec<&str> = input.fields().iter().map(|f| f.name().as_str()).collect();
        let find = |wanted: &str| -> Option<usize> {
            names.iter().position(|n| *n == wanted).or_else(|| {
                self.mapping
                    .case_insensitive
                    .then(|| names.iter().position(|n| n.trim().eq_ignore_ascii_case(wanted.trim())))
                    .flatten()
            })
        };
        let mut used = vec![false; names.len()];
        let mut sources = Vec::new();
        let mut missing = Vec::new();
        for spec in self.table.columns() {
            let wanted = self.mapping.columns.get(spec.name).map_or(spec.name, String::as_str);
            match find(wanted) {
                Some(i) if !used[i] => {
                    used[i] = true;
                    sources.push(Source::Input(i, *spec));
                }
                _ if spec.required => missing.push(if wanted == spec.name {
                    spec.name.to_string()
                } else {
                    format!("{} (mapped from '{wanted}')", spec.name)
                }),
                _ => sources.push(Source::Absent(*spec)),
            }
        }
        if !missing.is_empty() {
            return Err(Error::MissingColumns {
                table: self.table.name().into(),
                missing,
                present: names.iter().map(|s| s.to_string()).collect(),
            });
        }
        let extra: Vec<usize> = (0..names.len()).filter(|i| !used[*i]).collect();
        match self.mapping.extra_columns {
            ExtraColumns::Keep => Ok((sources, extra)),
            ExtraColumns::Drop => Ok((sources, Vec::new())),
            ExtraColumns::Reject if extra.is_empty() => Ok((sources, extra)),
            ExtraColumns::Reject => Err(Error::Schema {
                context: format!("table '{}'", self.table.name()),
                message: format!(
                    "unexpected column(s) {:?} (extra_columns = reject); canonical columns are {:?}",
                    extra.iter().map(|i| names[*i]).collect::<Vec<_>>(),
                    self.table.columns().iter().map(|c| c.name).collect::<Vec<_>>()
                ),
            }),
        }
    }

    /// Casts one column (value mapping applied first); returns the cast array and the values that failed,
    /// with row numbers counted from the start of the stream.
    fn cast_column(&self, array: &ArrayRef, name: &str, data_type: ColumnType) -> Result<(ArrayRef, Vec<BadValue>)> {
        cast_array(array, self.table.name(), name, data_type, &self.mapping, self.rows_seen)
    }
}

/// Casts one column to `data_type` (the mapping's value map and formats applied); returns the cast array
/// and the values that failed, with row numbers starting at `offset`.
pub(crate) fn cast_array(
    array: &ArrayRef,
    table: &str,
    name: &str,
    data_type: ColumnType,
    mapping: &ColumnMapping,
    offset: usize,
) -> Result<(ArrayRef, Vec<BadValue>)> {
    let target = data_type.arrow();
    let array = match mapping.values.get(name) {
        Some(map) => map_values(array, map)?,
        None => array.clone(),
    };
    if array.data_type() == &target {
        return Ok((array, Vec::new()));
    }
    let context = || format!("table '{}', column '{}'", table, name);
    let is_text = matches!(array.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
    match (data_type, is_text) {
        (ColumnType::Text, _) => {
            let out = cast_with_options(&array, &target, &CastOptions::default()).map_err(|e| Error::Schema {
                context: context(),
                message: format!("cannot read {} as text: {e}", array.data_type()),
            })?;
            Ok((out, Vec::new()))
        }
        (ColumnType::Date | ColumnType::Timestamp, true) => Ok(parse_temporal(&array, data_type, mapping, offset)?),
        (_, true) => {
            let trimmed = trim_to_utf8(&array)?;
            crate::table::cast_checked(&trimmed, &target, offset, context)
        }
        (ColumnType::Count, false) if array.data_type().is_floating() => {
            let as_f64 = cast_with_options(&array, &DataType::Float64, &CastOptions::default())?;
            let floats = as_f64.as_primitive::<arrow::datatypes::Float64Type>();
            let mut bad = Vec::new();
            let mut out = arrow::array::Int32Builder::with_capacity(floats.len());
            for (i, v) in floats.iter().enumerate() {
                match v {
                    Some(x) if x.fract() == 0.0 && x >= i32::MIN as f64 && x <= i32::MAX as f64 => {
                        out.append_value(x as i32)
                    }
                    Some(x) => {
                        bad.push(BadValue { row: offset + i, value: x.to_string() });
                        out.append_null();
                    }
                    None => out.append_null(),
                }
            }
            Ok((Arc::new(out.finish()), bad))
        }
        _ => crate::table::cast_checked(&array, &target, offset, context),
    }
}

fn parse_temporal(
    array: &ArrayRef,
    kind: ColumnType,
    mapping: &ColumnMapping,
    offset: usize,
) -> Result<(ArrayRef, Vec<BadValue>)> {
    let text = trim_to_utf8(array)?;
    let text = text.as_string::<i32>();
    let date_formats = formats(&mapping.date_formats, DEFAULT_DATE_FORMATS);
    let ts_formats = formats(&mapping.timestamp_formats, DEFAULT_TIMESTAMP_FORMATS);
    let mut bad = Vec::new();
    let out: ArrayRef = if kind == ColumnType::Date {
        let mut b = Date32Builder::with_capacity(text.len());
        for (i, v) in text.iter().enumerate() {
            match v.filter(|s| !s.is_empty()) {
                None => b.append_null(),
                Some(s) => match parse_date(s, &date_formats, &ts_formats) {
                    Some(d) => b.append_value(days_since_epoch(d)),
                    None => {
                        bad.push(BadValue { row: offset + i, value: s.to_string() });
                        b.append_null();
                    }
                },
            }
        }
        Arc::new(b.finish())
    } else {
        let mut b = TimestampMillisecondBuilder::with_capacity(text.len()).with_timezone("UTC");
        for (i, v) in text.iter().enumerate() {
            match v.filter(|s| !s.is_empty()) {
                None => b.append_null(),
                Some(s) => match parse_timestamp_ms(s, &ts_formats, &date_formats) {
                    Some(ms) => b.append_value(ms),
                    None => {
                        bad.push(BadValue { row: offset + i, value: s.to_string() });
                        b.append_null();
                    }
                },
            }
        }
        Arc::new(b.finish())
    };
    Ok((out, bad))
}

fn formats<'a>(configured: &'a [String], defaults: &'a [&'a str]) -> Vec<&'a str> {
    if configured.is_empty() { defaults.to_vec() } else { configured.iter().map(String::as_str).collect() }
}

/// What a value of `data_type` must look like, for messages.
pub(crate) fn expected_text(data_type: ColumnType, mapping: &ColumnMapping) -> String {
    match data_type {
        ColumnType::Date => {
            format!("a date in one of the formats {:?}", formats(&mapping.date_formats, DEFAULT_DATE_FORMATS))
        }
        ColumnType::Timestamp => format!(
            "a timestamp (RFC 3339 or one of {:?}, read as UTC)",
            formats(&mapping.timestamp_formats, DEFAULT_TIMESTAMP_FORMATS)
        ),
        ColumnType::Count => "a whole number (Int32)".into(),
        ColumnType::Float => "a number (Float64)".into(),
        ColumnType::Bool => "a boolean (true/false, yes/no, 1/0)".into(),
        ColumnType::Text => "text".into(),
    }
}

/// Days from 1970-01-01 to `d` (the value of an Arrow `Date32`).
pub fn days_since_epoch(d: NaiveDate) -> i32 {
    (d - NaiveDate::default()).num_days() as i32
}

fn parse_date(s: &str, date_formats: &[&str], ts_formats: &[&str]) -> Option<NaiveDate> {
    date_formats
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
        .or_else(|| DateTime::parse_from_rfc3339(s).ok().map(|d| d.naive_utc().date()))
        .or_else(|| ts_formats.iter().find_map(|f| NaiveDateTime::parse_from_str(s, f).ok()).map(|d| d.date()))
}

fn parse_timestamp_ms(s: &str, ts_formats: &[&str], date_formats: &[&str]) -> Option<i64> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.timestamp_millis())
        .or_else(|| DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%#z").ok().map(|d| d.timestamp_millis()))
        .or_else(|| {
            ts_formats
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
                .map(|d| d.and_utc().timestamp_millis())
        })
        .or_else(|| {
            date_formats
                .iter()
                .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc().timestamp_millis())
        })
}

/// Any text array as trimmed `Utf8`, with empty strings as nulls.
fn trim_to_utf8(array: &ArrayRef) -> Result<ArrayRef> {
    let utf8 = cast_with_options(array, &DataType::Utf8, &CastOptions::default())?;
    let strings = utf8.as_string::<i32>();
    let out: StringArray = strings.iter().map(|v| v.map(str::trim).filter(|s| !s.is_empty())).collect();
    Ok(Arc::new(out))
}

/// Replaces values of a text column by the mapping; other values pass unchanged.
fn map_values(array: &ArrayRef, map: &BTreeMap<String, String>) -> Result<ArrayRef> {
    let utf8 = cast_with_options(array, &DataType::Utf8, &CastOptions::default())?;
    let strings = utf8.as_string::<i32>();
    let mut b = StringBuilder::with_capacity(strings.len(), strings.value_data().len());
    for v in strings.iter() {
        match v {
            Some(s) => b.append_value(map.get(s.trim()).map_or(s, String::as_str)),
            None => b.append_null(),
        }
    }
    Ok(Arc::new(b.finish()))
}
