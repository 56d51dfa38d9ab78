//! Row-level rule evaluation: each rule turns a typed chunk (at most 65,536 rows; chunks run in parallel)
//! into a bitmap of failing rows with Arrow's vectorised kernels (comparison, null masks) or one tight pass
//! over the values, and readable reasons are written only for the rows that fail.

use std::collections::{HashMap, HashSet};

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch, Scalar};
use arrow::buffer::BooleanBuffer;
use arrow::compute::kernels::cmp;
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::DataType;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use datafusion::common::HashSet as FastSet;

use super::compile::{CompiledRule, Prepared};
use super::config::{CompareOp, TextFormat};
use super::iso_codes::{COUNTRIES, CURRENCIES};
use crate::error::{Error, Result};

/// The failing rows of one row-level rule in one batch.
#[derive(Debug, Default)]
pub(crate) struct RowFailures {
    /// Failing rows (true = failed); `None` when none failed.
    pub(crate) mask: Option<BooleanBuffer>,
    /// How many rows failed.
    pub(crate) count: usize,
    /// Reasons prepared during evaluation (type failures' raw text, duplicate keys' first rows).
    pub(crate) notes: HashMap<usize, String>,
}

impl RowFailures {
    fn from_mask(mask: BooleanBuffer) -> Self {
        let count = mask.count_set_bits();
        Self { mask: (count > 0).then_some(mask), count, notes: HashMap::new() }
    }

    pub(crate) fn from_rows(len: usize, rows: HashMap<usize, String>) -> Self {
        if rows.is_empty() {
            return Self::default();
        }
        let mut mask = arrow::array::BooleanBufferBuilder::new(len);
        mask.append_n(len, false);
        for &r in rows.keys() {
            mask.set_bit(r, true);
        }
        Self { count: rows.len(), mask: Some(mask.finish()), notes: rows }
    }

    /// Whether `row` failed.
    pub(crate) fn failed(&self, row: usize) -> bool {
        self.mask.as_ref().is_some_and(|m| m.value(row))
    }
}

/// Everything evaluation reads besides the batch.
pub(crate) struct EvalContext<'a> {
    /// Raw values that failed the cast, by rule and row.
    pub(crate) type_failures: &'a HashMap<usize, Vec<(usize, String)>>,
    /// Rows whose value in a column was present but unreadable, by column: not-null passes them.
    pub(crate) unreadable: &'a HashMap<usize, HashSet<usize>>,
    /// Referenced key sets by (table, column).
    pub(crate) references: &'a HashMap<(String, String), FastSet<String>>,
}

/// Evaluates one row-level rule (index `idx` of the plan) on `batch`; `unique` rules see every chunk and
/// are evaluated in [`super::unique`] instead.
pub(crate) fn evaluate(
    idx: usize,
    rule: &CompiledRule,
    batch: &RecordBatch,
    ctx: &EvalContext<'_>,
) -> Result<RowFailures> {
    let n = batch.num_rows();
    let column = |c: usize| batch.column(c);
    Ok(match &rule.check {
        Prepared::NotNull { col } => {
            let a = column(*col);
            match (a.logical_nulls(), ctx.unreadable.get(col)) {
                (Some(nulls), None) => RowFailures::from_mask(!nulls.inner()),
                (Some(nulls), Some(bad)) => {
                    RowFailures::from_mask(BooleanBuffer::collect_bool(n, |i| nulls.is_null(i) && !bad.contains(&i)))
                }
                (None, _) => RowFailures::default(),
            }
        }
        Prepared::Type { .. } => {
            let rows = ctx.type_failures.get(&idx).map(|v| v.iter().cloned().collect()).unwrap_or_default();
            RowFailures::from_rows(n, rows)
        }
        Prepared::Format { col, format, regex } => {
            // A clone has its own match cache: sharing one across threads sends every thread but the
            // first through the cache pool's locked slow path (documented by the regex crate).
            let regex = regex.clone();
            let text = as_utf8(column(*col))?;
            let s = text.as_string::<i32>();
            let ok = |v: &str| -> bool {
                match format {
                    TextFormat::Email => is_email(v),
                    TextFormat::Url => is_url(v),
                    TextFormat::IsoDate => v.len() == 10 && NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok(),
                    TextFormat::IsoTimestamp => {
                        DateTime::parse_from_rfc3339(v).is_ok()
                            || NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
                    }
                    TextFormat::Country => COUNTRIES.binary_search(&v).is_ok(),
                    TextFormat::Currency => CURRENCIES.binary_search(&v).is_ok(),
                    TextFormat::Regex => regex.as_ref().is_some_and(|r| r.is_match(v)),
                }
            };
            RowFailures::from_mask(BooleanBuffer::collect_bool(n, |i| s.is_valid(i) && !ok(s.value(i))))
        }
        Prepared::Range { col, min, max, exclusive, .. } => {
            let a = column(*col);
            let values = match min.as_ref().or(max.as_ref()).map(|b| b.data_type()) {
                Some(t) if t != a.data_type() => cast_with_options(a, t, &CastOptions::default())?,
                _ => a.clone(),
            };
            // A value the bound's type cannot hold (text that is not a number) is out of range.
            let mut fail = lost_in_cast(a, &values);
            if let Some(b) = min {
                let s = Scalar::new(b.clone());
                let below = if *exclusive { cmp::lt_eq(&values, &s)? } else { cmp::lt(&values, &s)? };
                fail = &fail | &true_bits(&below);
            }
            if let Some(b) = max {
                let s = Scalar::new(b.clone());
                let above = if *exclusive { cmp::gt_eq(&values, &s)? } else { cmp::gt(&values, &s)? };
                fail = &fail | &true_bits(&above);
            }
            RowFailures::from_mask(fail)
        }
        Prepared::InSet { col, values, ignore_case, .. } => {
            let text = as_utf8(column(*col))?;
            let s = text.as_string::<i32>();
            // A handful of allowed values: comparing beats hashing.
            let small: Vec<&str> = if values.len() <= 8 { values.iter().map(String::as_str).collect() } else { vec![] };
            let bad = |v: &str| match (*ignore_case, small.is_empty()) {
                (true, _) => !values.contains(&v.to_ascii_lowercase()),
                (false, false) => !small.contains(&v),
                (false, true) => !values.contains(v),
            };
            RowFailures::from_mask(BooleanBuffer::collect_bool(n, |i| s.is_valid(i) && bad(s.value(i))))
        }
        Prepared::Length { col, min, max } => {
            let text = as_utf8(column(*col))?;
            let s = text.as_string::<i32>();
            let bad = |v: &str| {
                let len = if v.is_ascii() { v.len() } else { v.chars().count() };
                min.is_some_and(|m| len < m) || max.is_some_and(|m| len > m)
            };
            RowFailures::from_mask(BooleanBuffer::collect_bool(n, |i| s.is_valid(i) && bad(s.value(i))))
        }
        Prepared::Unique { .. } => {
            return Err(Error::Internal(format!("rule '{}': unique rules are evaluated across chunks", rule.id)));
        }
        Prepared::Compare { left, right, op } => {
            let (left, right) = (column(*left), column(*right));
            // Mixed numbers compare as f64 (an integer column would truncate 2.5 to 2); other mixed types
            // (dates with timestamps) on the left's type.
            let to = match (left.data_type(), right.data_type()) {
                (a, b) if a == b => None,
                (a, b) if a.is_numeric() && b.is_numeric() => Some(DataType::Float64),
                (a, _) => Some(a.clone()),
            };
            let as_to = |a: &ArrayRef| match &to {
                Some(t) if a.data_type() != t => cast_with_options(a, t, &CastOptions::default()),
                _ => Ok(a.clone()),
            };
            let (l, r) = (as_to(left)?, as_to(right)?);
            let holds = match op {
                CompareOp::Lt => cmp::lt(&l, &r)?,
                CompareOp::Le => cmp::lt_eq(&l, &r)?,
                CompareOp::Eq => cmp::eq(&l, &r)?,
                CompareOp::Ne => cmp::neq(&l, &r)?,
                CompareOp::Gt => cmp::gt(&l, &r)?,
                CompareOp::Ge => cmp::gt_eq(&l, &r)?,
            };
            // A value the common type cannot hold fails where the other side has a value.
            let lost =
                &(&lost_in_cast(left, &l) & &valid_bits(right)) | &(&lost_in_cast(right, &r) & &valid_bits(left));
            RowFailures::from_mask(&false_bits(&holds) | &lost)
        }
        Prepared::ForeignKey { col, ref_table, ref_column } => {
            let keys = ctx.references.get(&(ref_table.clone(), ref_column.clone())).ok_or_else(|| {
                Error::Internal(format!("validation: reference {ref_table}.{ref_column} was not loaded"))
            })?;
            let text = as_utf8(column(*col))?;
            let s = text.as_string::<i32>();
            RowFailures::from_mask(BooleanBuffer::collect_bool(n, |i| s.is_valid(i) && !keys.contains(s.value(i))))
        }
        Prepared::Sql { expression, expr } => {
            let value = expr.evaluate(batch).and_then(|v| v.into_array(n)).map_err(|e| {
                Error::invalid(format!("rule '{}'", rule.id), format!("SQL `{expression}` failed: {e}"))
            })?;
            let b = value.as_boolean_opt().ok_or_else(|| {
                Error::Internal(format!("rule '{}': SQL result is {}, not boolean", rule.id, value.data_type()))
            })?;
            RowFailures::from_mask(false_bits(b))
        }
        Prepared::RowCount { .. } | Prepared::Freshness { .. } | Prepared::Completeness { .. } => {
            RowFailures::default()
        }
    })
}

/// Rows whose value is true (nulls count as false).
fn true_bits(b: &BooleanArray) -> BooleanBuffer {
    match b.nulls() {
        Some(n) => b.values() & n.inner(),
        None => b.values().clone(),
    }
}

/// Rows that have a value in `original` and none in `cast` (the value did not survive the cast).
fn lost_in_cast(original: &ArrayRef, cast: &ArrayRef) -> BooleanBuffer {
    let had = valid_bits(original);
    match cast.logical_nulls() {
        Some(n) => &had & &!n.inner(),
        None => BooleanBuffer::new_unset(original.len()),
    }
}

/// Rows with a value (logical nulls: arrow's null type has no null buffer).
fn valid_bits(a: &ArrayRef) -> BooleanBuffer {
    match a.logical_nulls() {
        Some(n) => n.inner().clone(),
        None => BooleanBuffer::new_set(a.len()),
    }
}

/// Rows whose value is false (nulls count as passing).
fn false_bits(b: &BooleanArray) -> BooleanBuffer {
    let f = !b.values();
    match b.nulls() {
        Some(n) => &f & n.inner(),
        None => f,
    }
}

fn as_utf8(a: &ArrayRef) -> Result<ArrayRef> {
    Ok(if a.data_type() == &DataType::Utf8 {
        a.clone()
    } else {
        cast_with_options(a, &DataType::Utf8, &CastOptions::default())?
    })
}

/// A practical e-mail check: one `@`, a local part, a dotted domain of non-empty labels, no blanks.
fn is_email(v: &str) -> bool {
    let Some((local, domain)) = v.split_once('@') else { return false };
    !local.is_empty()
        && !domain.contains('@')
        && !v.contains(|c: char| c.is_whitespace() || c.is_control())
        && domain.contains('.')
        && domain.split('.').all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'))
}

/// An absolute http(s) URL with a host.
fn is_url(v: &str) -> bool {
    let rest = v.strip_prefix("https://").or_else(|| v.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        let host = host.split(':').next().unwrap_or("");
        !host.is_empty() && !v.contains(char::is_whitespace)
    })
}

/// Writes the readable reason `row` failed `rule` to `out` (straight into the quarantine's string builder:
/// no string is allocated per reason).
pub(crate) fn write_reason(
    out: &mut impl std::fmt::Write,
    rule: &CompiledRule,
    values: &Values<'_>,
    row: usize,
    failures: &RowFailures,
) -> std::fmt::Result {
    let column = &rule.column;
    if let Some(note) = failures.notes.get(&row) {
        return match &rule.check {
            Prepared::Type { data_type, .. } => {
                write!(out, "{column} = {note:?} cannot be read as {}", type_name(*data_type))
            }
            _ => write!(out, "{column} {note}"),
        };
    }
    let show = |col: usize| Shown { values, col, row };
    match &rule.check {
        Prepared::NotNull { .. } => write!(out, "{column} is missing"),
        Prepared::Format { col, format, .. } => {
            let what = match format {
                TextFormat::Email => "an e-mail address",
                TextFormat::Url => "an http(s) URL",
                TextFormat::IsoDate => "an ISO date (YYYY-MM-DD)",
                TextFormat::IsoTimestamp => "an ISO timestamp",
                TextFormat::Country => "an ISO 3166 country code",
                TextFormat::Currency => "an ISO 4217 currency code",
                TextFormat::Regex => "text matching the pattern",
            };
            write!(out, "{column} = {} is not {what}", show(*col))
        }
        Prepared::Range { col, shown, .. } => write!(out, "{column} = {} is outside {shown}", show(*col)),
        Prepared::InSet { col, shown, .. } => write!(out, "{column} = {} is not one of {shown}", show(*col)),
        Prepared::Length { col, min, max } => write!(
            out,
            "{column} = {} has a length outside {}..={}",
            show(*col),
            min.map_or("0".into(), |m| m.to_string()),
            max.map_or("inf".into(), |m| m.to_string())
        ),
        Prepared::Compare { left, right, op } => {
            let schema = values.batch.schema();
            let (l, r) = (schema.field(*left).name(), schema.field(*right).name());
            write!(out, "{l} {} {r} does not hold: {l} = {}, {r} = {}", op.symbol(), show(*left), show(*right))
        }
        Prepared::ForeignKey { col, ref_table, ref_column } => {
            write!(out, "{column} = {} is not a {ref_table}.{ref_column}", show(*col))
        }
        Prepared::Sql { expression, .. } => write!(out, "`{expression}` is false"),
        Prepared::Type { .. } | Prepared::Unique { .. } => write!(out, "{} failed", rule.id),
        Prepared::RowCount { .. } | Prepared::Freshness { .. } | Prepared::Completeness { .. } => Ok(()),
    }
}

fn type_name(t: crate::contracts::ColumnType) -> &'static str {
    use crate::contracts::ColumnType as T;
    match t {
        T::Text => "text",
        T::Date => "a date",
        T::Timestamp => "a timestamp",
        T::Count => "a whole number",
        T::Float => "a number",
        T::Bool => "a boolean",
    }
}

/// A batch's values as message text, with one formatter per column made on first use.
pub(crate) struct Values<'a> {
    batch: &'a RecordBatch,
    formatters: std::cell::RefCell<HashMap<usize, Option<ArrayFormatter<'a>>>>,
}

impl<'a> Values<'a> {
    pub(crate) fn new(batch: &'a RecordBatch) -> Self {
        Self { batch, formatters: Default::default() }
    }
}

/// Column `col` of `row` as [`display`] writes it (`null`, text quoted).
struct Shown<'v, 'a> {
    values: &'v Values<'a>,
    col: usize,
    row: usize,
}

impl std::fmt::Display for Shown<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let a = self.values.batch.column(self.col);
        let mut cache = self.values.formatters.borrow_mut();
        let formatter = cache
            .entry(self.col)
            .or_insert_with(|| ArrayFormatter::try_new(a.as_ref(), &FormatOptions::default()).ok());
        write_value(f, a.as_ref(), self.row, formatter.as_ref())
    }
}

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Dictionary(..))
}

/// Writes one value for messages: `null` for nulls, text quoted, `?` when it has no formatter.
fn write_value(
    out: &mut impl std::fmt::Write,
    a: &dyn Array,
    row: usize,
    formatter: Option<&ArrayFormatter<'_>>,
) -> std::fmt::Result {
    if a.is_null(row) {
        return out.write_str("null");
    }
    if let Some(s) = a.as_string_opt::<i32>() {
        return write!(out, "{:?}", s.value(row));
    }
    match formatter {
        Some(v) if is_text(a.data_type()) => write!(out, "{:?}", v.value(row).to_string()),
        Some(v) => write!(out, "{}", v.value(row)),
        None => out.write_str("?"),
    }
}

/// One value as text for messages (`null` for nulls, text quoted).
pub(crate) fn display(a: &dyn Array, row: usize) -> String {
    let mut text = String::new();
    let formatter = ArrayFormatter::try_new(a, &FormatOptions::default()).ok();
    // Writing to a String cannot fail.
    let _ = write_value(&mut text, a, row, formatter.as_ref());
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_and_url_checks() {
        for ok in ["a@b.co", "first.last+tag@sub.example.org"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in ["a at b.com", "@b.com", "a@b", "a@@b.com", "a b@c.com", "a@.com", "a@b..com"] {
            assert!(!is_email(bad), "{bad}");
        }
        assert!(is_url("https://example.com/x?y=1"));
        assert!(is_url("http://user@host:8080"));
        assert!(!is_url("ftp://example.com"));
        assert!(!is_url("https://"));
        assert!(!is_url("https://exa mple.com"));
    }

    #[test]
    fn iso_lists_are_sorted() {
        assert!(COUNTRIES.windows(2).all(|w| w[0] < w[1]));
        assert!(CURRENCIES.windows(2).all(|w| w[0] < w[1]));
    }
}
