//! The dirty variant of a portfolio: the tables as a raw export would land them (every column as text,
//! plus the load time `loaded_at`), with defects injected at known rows and a manifest that lists each one.
//!
//! Each defect touches one row, and no row carries two defects, so a validation run can be checked defect by
//! defect: the manifest's `kind` says which rule should catch it. Duplicates are appended after the original
//! rows; every other defect edits a row in place. Rows not in the manifest equal the clean rows as text.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Int32Array, Int64Array, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::contracts::TableKind;
use crate::error::{Error, Result};
use crate::portfolio::Portfolio;
use crate::table::Table;

/// The kinds of injected defects, each named after the validation rule that should catch it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefectKind {
    /// A required value is null (not-null rule).
    MissingValue,
    /// A text value that does not parse as its type or format: date, timestamp, number, e-mail (format rule).
    BadFormat,
    /// A number outside its valid range (range rule).
    OutOfRange,
    /// A value outside the allowed set (allowed-set rule).
    InvalidCategory,
    /// A foreign key that matches no account (referential-integrity rule).
    OrphanKey,
    /// Two columns that contradict each other (cross-column rule).
    CrossColumn,
    /// A row that repeats another row exactly (duplicate policy).
    ExactDuplicate,
    /// A row with the key of another row but other values (uniqueness rule).
    KeyDuplicate,
    /// A row loaded long after the day it describes (freshness / lateness rule on `loaded_at`).
    LateArriving,
}

impl DefectKind {
    /// Snake-case name, as in the manifest.
    pub fn name(self) -> &'static str {
        match self {
            Self::MissingValue => "missing_value",
            Self::BadFormat => "bad_format",
            Self::OutOfRange => "out_of_range",
            Self::InvalidCategory => "invalid_category",
            Self::OrphanKey => "orphan_key",
            Self::CrossColumn => "cross_column",
            Self::ExactDuplicate => "exact_duplicate",
            Self::KeyDuplicate => "key_duplicate",
            Self::LateArriving => "late_arriving",
        }
    }
}

/// The rule set that validates the dirty tables (YAML, shipped with the library): the contracts' type and
/// not-null rules plus formats, ranges, allowed sets, cross-column order, foreign keys to `accounts`,
/// lateness of `loaded_at` and freshness. Each [`DefectKind`] is caught by the rule named after it.
pub const DIRTY_RULES_YAML: &str = include_str!("dirty_rules.yaml");

/// [`DIRTY_RULES_YAML`] parsed.
pub fn dirty_rules() -> Result<crate::validate::RuleSet> {
    crate::validate::RuleSet::from_str(DIRTY_RULES_YAML, "yaml")
}

/// How many defects to inject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DirtyConfig {
    /// Seed of the defect placement.
    pub seed: u64,
    /// Share of a table's rows that get each applicable defect (per column where several apply).
    pub rate: f64,
    /// At least this many of each applicable defect per table.
    pub min_per_kind: usize,
    /// Hours after the day it describes that a row is normally loaded (`loaded_at`).
    pub load_delay_hours: i64,
}

impl Default for DirtyConfig {
    fn default() -> Self {
        Self { seed: 7, rate: 0.002, min_per_kind: 2, load_delay_hours: 26 }
    }
}

/// The raw tables with defects, and the manifest of every defect.
#[derive(Debug, Clone)]
pub struct DirtyPortfolio {
    /// accounts, usage, tickets, surveys and revenue as text columns plus `loaded_at`.
    pub tables: Vec<(TableKind, Table)>,
    /// One row per defect: `defect_id`, `table`, `row` (0-based, in the dirty table), `column`, `kind`,
    /// `original_row` (the copied row, for duplicates) and `detail`.
    pub manifest: Table,
}

impl DirtyPortfolio {
    /// One dirty table.
    pub fn get(&self, kind: TableKind) -> Option<&Table> {
        self.tables.iter().find(|(k, _)| *k == kind).map(|(_, t)| t)
    }
}

/// One recorded defect.
struct Defect {
    table: TableKind,
    row: usize,
    column: Option<&'static str>,
    kind: DefectKind,
    original_row: Option<usize>,
    detail: String,
}

/// A table as text columns that can be edited.
struct Raw {
    names: Vec<String>,
    cols: Vec<Vec<Option<String>>>,
}

impl Raw {
    fn col(&self, name: &str) -> Result<usize> {
        self.names.iter().position(|n| n == name).ok_or_else(|| Error::Internal(format!("dirty: no column {name}")))
    }
    fn rows(&self) -> usize {
        self.cols.first().map_or(0, Vec::len)
    }
    fn get(&self, row: usize, name: &str) -> Result<Option<String>> {
        Ok(self.cols[self.col(name)?][row].clone())
    }
    fn set(&mut self, row: usize, name: &str, value: Option<String>) -> Result<()> {
        let c = self.col(name)?;
        self.cols[c][row] = value;
        Ok(())
    }
    fn push_copy(&mut self, row: usize) -> usize {
        for c in &mut self.cols {
            let v = c[row].clone();
            c.push(v);
        }
        self.rows() - 1
    }
}

/// Builds the dirty variant of `portfolio`. Meant for portfolios of up to a few thousand accounts (the
/// text tables are held in memory).
pub fn dirty(portfolio: &Portfolio, config: &DirtyConfig) -> Result<DirtyPortfolio> {
    if !(0.0..=0.05).contains(&config.rate) {
        return Err(Error::config(
            "dirty.rate",
            format!("must be in 0..=0.05 so that defects do not overlap, got {}", config.rate),
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut defects = Vec::new();
    let mut tables = Vec::new();
    for kind in [TableKind::Accounts, TableKind::Usage, TableKind::Tickets, TableKind::Surveys, TableKind::Revenue] {
        let table = portfolio.get(kind);
        let mut raw = to_raw(table, kind, config)?;
        inject(kind, &mut raw, config, &mut rng, &mut defects)?;
        tables.push((kind, from_raw(&raw)?));
    }
    Ok(DirtyPortfolio { tables, manifest: manifest(&defects)? })
}

fn to_raw(table: &Table, kind: TableKind, config: &DirtyConfig) -> Result<Raw> {
    let batch = table.concat()?;
    let mut names: Vec<String> = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
    let mut cols = Vec::new();
    for c in batch.columns() {
        let text = cast(c, &DataType::Utf8)?;
        cols.push(text.as_string::<i32>().iter().map(|v| v.map(str::to_string)).collect::<Vec<_>>());
    }
    // loaded_at: the day the row describes, plus the usual load delay.
    let day_col = match kind {
        TableKind::Tickets => "opened_at",
        TableKind::Accounts => "",
        _ => "date",
    };
    let delay = chrono::TimeDelta::hours(config.load_delay_hours);
    let loaded: Vec<Option<String>> = if day_col.is_empty() {
        let latest = portfolio_latest(&batch)?;
        vec![Some(fmt_ts(latest + delay)); batch.num_rows()]
    } else {
        let i =
            names.iter().position(|n| n == day_col).ok_or_else(|| Error::Internal(format!("dirty: no {day_col}")))?;
        cols[i].iter().map(|v| v.as_deref().and_then(parse_day_start).map(|t| fmt_ts(t + delay))).collect()
    };
    names.push("loaded_at".into());
    cols.push(loaded);
    Ok(Raw { names, cols })
}

/// Midnight after the latest start date of the accounts table, taken as the accounts export time (its
/// renewal dates lie in the future).
fn portfolio_latest(batch: &RecordBatch) -> Result<chrono::NaiveDateTime> {
    let start = batch.column_by_name("start_date").ok_or_else(|| Error::Internal("dirty: no start_date".into()))?;
    let days = start.as_primitive::<arrow::datatypes::Date32Type>();
    let max = days.iter().flatten().max().unwrap_or(0);
    let day = chrono::NaiveDate::default() + chrono::TimeDelta::days(i64::from(max) + 1);
    Ok(day.and_hms_opt(0, 0, 0).unwrap_or_default())
}

fn parse_day_start(s: &str) -> Option<chrono::NaiveDateTime> {
    chrono::NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0)
}

fn fmt_ts(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn from_raw(raw: &Raw) -> Result<Table> {
    let fields: Vec<Field> = raw.names.iter().map(|n| Field::new(n, DataType::Utf8, true)).collect();
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    let cols: Vec<ArrayRef> = raw
        .cols
        .iter()
        .map(|c| Arc::new(c.iter().map(|v| v.as_deref()).collect::<StringArray>()) as ArrayRef)
        .collect();
    Ok(Table::from_batch(RecordBatch::try_new(schema, cols)?))
}

/// The defects that apply to each table: (kind, column).
fn plan(kind: TableKind) -> &'static [(DefectKind, &'static str)] {
    use DefectKind::*;
    match kind {
        TableKind::Accounts => &[
            (MissingValue, "name"),
            (MissingValue, "segment"),
            (BadFormat, "contact_email"),
            (BadFormat, "start_date"),
            (OutOfRange, "arr"),
            (OutOfRange, "seats_purchased"),
            (InvalidCategory, "segment"),
            (InvalidCategory, "region"),
            (CrossColumn, "renewal_date"),
            (KeyDuplicate, "account_id"),
            (ExactDuplicate, ""),
        ],
        TableKind::Usage => &[
            (MissingValue, "active_users"),
            (MissingValue, "account_id"),
            (BadFormat, "date"),
            (BadFormat, "logins"),
            (OutOfRange, "active_users"),
            (OrphanKey, "account_id"),
            (CrossColumn, "active_users"),
            (LateArriving, "loaded_at"),
            (KeyDuplicate, "account_id"),
            (ExactDuplicate, ""),
        ],
        TableKind::Tickets => &[
            (MissingValue, "opened_at"),
            (BadFormat, "opened_at"),
            (OutOfRange, "csat"),
            (InvalidCategory, "priority"),
            (OrphanKey, "account_id"),
            (CrossColumn, "closed_at"),
            (KeyDuplicate, "ticket_id"),
            (ExactDuplicate, ""),
        ],
        TableKind::Surveys => &[
            (MissingValue, "nps"),
            (BadFormat, "date"),
            (OutOfRange, "nps"),
            (OrphanKey, "account_id"),
            (LateArriving, "loaded_at"),
            (KeyDuplicate, "response_id"),
        ],
        TableKind::Revenue => &[
            (BadFormat, "mrr_delta"),
            (InvalidCategory, "event_type"),
            (OrphanKey, "account_id"),
            (LateArriving, "loaded_at"),
            (ExactDuplicate, ""),
        ],
        TableKind::ChurnLabels | TableKind::ExpansionLabels => &[],
    }
}

fn inject(
    kind: TableKind,
    raw: &mut Raw,
    config: &DirtyConfig,
    rng: &mut ChaCha8Rng,
    defects: &mut Vec<Defect>,
) -> Result<()> {
    let original_rows = raw.rows();
    if original_rows == 0 {
        return Ok(());
    }
    let per_kind = ((config.rate * original_rows as f64).round() as usize).max(config.min_per_kind);
    let mut used: HashSet<usize> = HashSet::new();
    for &(defect, column) in plan(kind) {
        for _ in 0..per_kind {
            // A clean row that this defect applies to (e.g. a closed ticket for closed_at < opened_at).
            let mut row = None;
            for _ in 0..1000 {
                let r = rng.random_range(0..original_rows);
                if !used.contains(&r) && applies(raw, r, defect, column)? {
                    row = Some(r);
                    break;
                }
            }
            let Some(r) = row else { break };
            used.insert(r);
            let before = if column.is_empty() { None } else { raw.get(r, column)? };
            let show = |v: &Option<String>| v.as_deref().map_or("null".to_string(), |s| format!("'{s}'"));
            let (at, original_row, after) = match defect {
                DefectKind::ExactDuplicate => (raw.push_copy(r), Some(r), None),
                DefectKind::KeyDuplicate => {
                    let copy = raw.push_copy(r);
                    let (col, value) = match kind {
                        TableKind::Accounts => ("name", raw.get(r, "name")?.map(|n| format!("{n} (old)"))),
                        TableKind::Usage => ("active_users", bump(&raw.get(r, "active_users")?, 1)),
                        TableKind::Tickets => ("category", Some("billing_dispute".to_string())),
                        _ => ("nps", bump(&raw.get(r, "nps")?, -1)),
                    };
                    raw.set(copy, col, value.clone())?;
                    (copy, Some(r), Some(format!("{col} = {}", show(&value))))
                }
                _ => {
                    let value = mutate(raw, r, defect, column, rng)?;
                    raw.set(r, column, value.clone())?;
                    (r, None, Some(format!("was {}, now {}", show(&before), show(&value))))
                }
            };
            defects.push(Defect {
                table: kind,
                row: at,
                column: (!column.is_empty()).then_some(column),
                kind: defect,
                original_row,
                detail: after.unwrap_or_else(|| format!("copy of row {r}")),
            });
        }
    }
    Ok(())
}

fn bump(v: &Option<String>, by: i64) -> Option<String> {
    let n: i64 = v.as_deref()?.parse().ok()?;
    Some(if n + by < 0 { (n + 1).to_string() } else { (n + by).to_string() })
}

/// Whether row `r` can carry the defect (its value exists and the edit would change it).
fn applies(raw: &Raw, r: usize, defect: DefectKind, column: &str) -> Result<bool> {
    Ok(match (defect, column) {
        (DefectKind::CrossColumn, "closed_at") => raw.get(r, "closed_at")?.is_some(),
        (DefectKind::CrossColumn, "renewal_date") => raw.get(r, "renewal_date")?.is_some(),
        (DefectKind::OutOfRange, "csat") => raw.get(r, "csat")?.is_some(),
        (DefectKind::OutOfRange, "arr") => {
            raw.get(r, "arr")?.and_then(|v| v.parse::<f64>().ok()).is_some_and(|v| v > 0.0)
        }
        (DefectKind::KeyDuplicate, _) => true,
        (DefectKind::ExactDuplicate, _) => true,
        (_, c) => raw.get(r, c)?.is_some(),
    })
}

/// The defective value for row `r`.
fn mutate(raw: &Raw, r: usize, defect: DefectKind, column: &str, rng: &mut ChaCha8Rng) -> Result<Option<String>> {
    let v = raw.get(r, column)?.unwrap_or_default();
    Ok(match (defect, column) {
        (DefectKind::MissingValue, _) => None,
        (DefectKind::BadFormat, "contact_email") => Some(v.replace('@', " at ")),
        (DefectKind::BadFormat, "date" | "start_date") => {
            Some(if rng.random::<bool>() { format!("{}-13-{}", &v[..4], &v[8..10]) } else { "not a date".to_string() })
        }
        (DefectKind::BadFormat, "opened_at") => Some(format!("{} 25:61", &v[..10])),
        (DefectKind::BadFormat, _) => Some(format!("{v}O").replacen('0', "O", 1)),
        (DefectKind::OutOfRange, "arr") => Some(format!("-{v}")),
        (DefectKind::OutOfRange, "seats_purchased") => Some("0".into()),
        (DefectKind::OutOfRange, "active_users") => Some(format!("-{}", rng.random_range(1..50))),
        (DefectKind::OutOfRange, "csat") => Some(rng.random_range(6..10).to_string()),
        (DefectKind::OutOfRange, _) => Some(if rng.random::<bool>() { "11".into() } else { "-1".into() }),
        (DefectKind::InvalidCategory, "segment") => {
            Some(["Enterprize", "smb ", "Mid Market"][rng.random_range(0..3)].into())
        }
        (DefectKind::InvalidCategory, "region") => Some("Mars".into()),
        (DefectKind::InvalidCategory, "priority") => Some("P1".into()),
        (DefectKind::InvalidCategory, _) => Some("upgrade".into()),
        (DefectKind::OrphanKey, _) => Some(format!("ACC-X{:06}", r)),
        (DefectKind::CrossColumn, "closed_at") => {
            let opened = parse_ts(&raw.get(r, "opened_at")?.unwrap_or_default())?;
            Some(fmt_ts(opened - chrono::TimeDelta::hours(rng.random_range(1..72))))
        }
        (DefectKind::CrossColumn, "renewal_date") => {
            let start = chrono::NaiveDate::parse_from_str(&raw.get(r, "start_date")?.unwrap_or_default(), "%Y-%m-%d")
                .map_err(|e| Error::Internal(format!("dirty: start_date: {e}")))?;
            Some((start - chrono::TimeDelta::days(rng.random_range(1..365))).format("%Y-%m-%d").to_string())
        }
        (DefectKind::CrossColumn, _) => {
            let seats: i64 = raw.get(r, "seats_used")?.and_then(|s| s.parse().ok()).unwrap_or(0);
            Some((seats + rng.random_range(1..20)).to_string())
        }
        (DefectKind::LateArriving, _) => {
            let loaded = parse_ts(&v)?;
            Some(fmt_ts(loaded + chrono::TimeDelta::days(rng.random_range(10..60))))
        }
        (DefectKind::ExactDuplicate | DefectKind::KeyDuplicate, _) => Some(v),
    })
}

fn parse_ts(s: &str) -> Result<chrono::NaiveDateTime> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| d.naive_utc())
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f"))
        .map_err(|e| Error::Internal(format!("dirty: cannot parse timestamp '{s}': {e}")))
}

fn manifest(defects: &[Defect]) -> Result<Table> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("defect_id", DataType::Int32, false),
        Field::new("table", DataType::Utf8, false),
        Field::new("row", DataType::Int64, false),
        Field::new("column", DataType::Utf8, true),
        Field::new("kind", DataType::Utf8, false),
        Field::new("original_row", DataType::Int64, true),
        Field::new("detail", DataType::Utf8, false),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from_iter_values(0..defects.len() as i32)),
        Arc::new(defects.iter().map(|d| Some(d.table.name())).collect::<StringArray>()),
        Arc::new(Int64Array::from_iter_values(defects.iter().map(|d| d.row as i64))),
        Arc::new(defects.iter().map(|d| d.column).collect::<StringArray>()),
        Arc::new(defects.iter().map(|d| Some(d.kind.name())).collect::<StringArray>()),
        Arc::new(defects.iter().map(|d| d.original_row.map(|r| r as i64)).collect::<Int64Array>()),
        Arc::new(defects.iter().map(|d| Some(d.detail.as_str())).collect::<StringArray>()),
    ];
    Ok(Table::from_batch(RecordBatch::try_new(schema, cols)?))
}
