//! Compiling a table's rules against the schema of its input: every column, pattern, bound, SQL expression
//! and foreign key is resolved here, so a bad rule is a typed error before any row is read.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Array, Float64Array, RecordBatch, TimestampMillisecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::common::DFSchema;
use datafusion::logical_expr::ExprSchemable;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::prelude::SessionContext;
use regex::Regex;

use super::config::{
    Bound, Check, CompareOp, DuplicatePolicy, ReportDuplicates, Rule, Severity, TableRules, TextFormat,
};
use crate::contracts::{CastPolicy, ColumnMapping, ColumnType, Conformer, ExtraColumns};
use crate::error::{Error, Result};

/// A rule resolved against the typed schema.
#[derive(Debug)]
pub(crate) struct CompiledRule {
    pub(crate) id: String,
    pub(crate) severity: Severity,
    pub(crate) mostly: Option<f64>,
    pub(crate) kind: &'static str,
    /// Column(s) for reports, comma-separated; empty for SQL and row-count rules.
    pub(crate) column: String,
    pub(crate) check: Prepared,
}

/// What evaluation needs of a check; column numbers index the typed batch.
#[derive(Debug)]
pub(crate) enum Prepared {
    NotNull {
        col: usize,
    },
    /// Failures come from the cast step; `col` indexes the typed batch.
    Type {
        col: usize,
        data_type: ColumnType,
    },
    Format {
        col: usize,
        format: TextFormat,
        regex: Option<Regex>,
    },
    /// `shown` is the interval as reasons write it, e.g. `[0, +inf)`.
    Range {
        col: usize,
        min: Option<ArrayRef>,
        max: Option<ArrayRef>,
        exclusive: bool,
        shown: String,
    },
    InSet {
        col: usize,
        values: HashSet<String>,
        ignore_case: bool,
        shown: String,
    },
    Length {
        col: usize,
        min: Option<usize>,
        max: Option<usize>,
    },
    Unique {
        cols: Vec<usize>,
        report: ReportDuplicates,
    },
    Compare {
        left: usize,
        right: usize,
        op: CompareOp,
    },
    ForeignKey {
        col: usize,
        ref_table: String,
        ref_column: String,
    },
    Sql {
        expression: String,
        expr: Arc<dyn PhysicalExpr>,
    },
    RowCount {
        min: Option<u64>,
        max: Option<u64>,
    },
    Freshness {
        col: usize,
        max_age_ms: i64,
        max_age: String,
    },
    Completeness {
        col: usize,
        min: f64,
    },
}

/// A table's rules compiled against its input schema.
#[derive(Debug)]
pub(crate) struct TablePlan {
    pub(crate) name: String,
    /// Casts contract columns (value failures null and reported).
    pub(crate) conformer: Option<Conformer>,
    /// How text is read (date / timestamp formats, value maps), for the contract and the extra columns.
    pub(crate) mapping: ColumnMapping,
    /// Explicit `type` rules on columns outside the contract: (column in the typed batch, type, rule).
    pub(crate) extra_types: Vec<(usize, ColumnType, usize)>,
    /// Contract column → its type rule, for the conformer's failures.
    pub(crate) contract_types: HashMap<String, usize>,
    pub(crate) input_schema: SchemaRef,
    pub(crate) schema: SchemaRef,
    pub(crate) key: Vec<usize>,
    pub(crate) duplicates: DuplicatePolicy,
    /// For `keep_latest`: the column to maximise.
    pub(crate) latest_by: Option<usize>,
    pub(crate) rules: Vec<CompiledRule>,
    /// Columns for completeness: required contract columns and those named by not-null / completeness rules.
    pub(crate) completeness_cols: Vec<usize>,
}

impl TablePlan {
    /// Compiles `rules` for input batches of `input_schema`. `tables` are the names a foreign key may
    /// reference.
    pub(crate) fn compile(rules: &TableRules, input_schema: &SchemaRef, tables: &HashSet<String>) -> Result<Self> {
        let name = rules.table.clone();
        let contract = rules.contract_kind()?;
        let mut mapping = match &rules.mapping {
            Some(m) => m.clone(),
            None => ColumnMapping::new(),
        };
        mapping.cast_policy = CastPolicy::NullAndReport;
        mapping.extra_columns = ExtraColumns::Keep;
        let conformer = contract.map(|kind| Conformer::new(kind, mapping.clone())).transpose()?;
        // The typed schema: what the conformer makes of an empty batch, then explicit type rules.
        let conformed = match &conformer {
            Some(c) => c.clone().conform_batch(&RecordBatch::new_empty(input_schema.clone()))?.batch.schema(),
            None => input_schema.clone(),
        };
        let mut fields: Vec<Field> = conformed.fields().iter().map(|f| f.as_ref().clone()).collect();
        let names: Vec<String> = fields.iter().map(|f| f.name().clone()).collect();
        let find = |rule: &str, column: &str| -> Result<usize> {
            names.iter().position(|n| n == column).ok_or_else(|| {
                Error::config(
                    format!("rule '{rule}'.column"),
                    format!("column '{column}' is not in table '{name}'; its columns are {names:?}"),
                )
            })
        };
        let contract_cols: HashMap<&str, (ColumnType, bool)> = contract
            .map(|k| k.columns().iter().map(|c| (c.name, (c.data_type, c.required))).collect())
            .unwrap_or_default();

        // Explicit type rules first, so that the typed schema is known to every other rule.
        let mut explicit_types: HashSet<&str> = HashSet::new();
        for rule in &rules.rules {
            if let Check::Type { column, data_type } = &rule.check {
                let col = find(&rule.id, column)?;
                match contract_cols.get(column.as_str()) {
                    Some((t, _)) if t != data_type => {
                        return Err(Error::config(
                            format!("rule '{}'.type", rule.id),
                            format!("column '{column}' has type {t:?} in the contract of '{name}'"),
                        ));
                    }
                    Some(_) => {}
                    None => fields[col] = Field::new(column, data_type.arrow(), true),
                }
                explicit_types.insert(column);
            }
        }
        let schema: SchemaRef = Arc::new(Schema::new_with_metadata(fields, conformed.metadata().clone()));

        let mut compiled = Vec::new();
        let mut contract_types = HashMap::new();
        let explicit_not_null: HashSet<&str> = rules
            .rules
            .iter()
            .filter_map(|r| match &r.check {
                Check::NotNull { column } => Some(column.as_str()),
                _ => None,
            })
            .collect();
        // Implicit contract rules: a type rule per contract column present, a not-null rule per required one.
        if let Some(kind) = contract {
            for spec in kind.columns() {
                let col = find(spec.name, spec.name)?;
                if !explicit_types.contains(spec.name) {
                    contract_types.insert(spec.name.to_string(), compiled.len());
                    compiled.push(CompiledRule {
                        id: format!("{name}.{}.type", spec.name),
                        severity: Severity::Error,
                        mostly: None,
                        kind: "type",
                        column: spec.name.into(),
                        check: Prepared::Type { col, data_type: spec.data_type },
                    });
                }
                if spec.required && !explicit_not_null.contains(spec.name) {
                    compiled.push(CompiledRule {
                        id: format!("{name}.{}.not_null", spec.name),
                        severity: Severity::Error,
                        mostly: None,
                        kind: "not_null",
                        column: spec.name.into(),
                        check: Prepared::NotNull { col },
                    });
                }
            }
        }
        let mut extra_types = Vec::new();
        for rule in &rules.rules {
            let idx = compiled.len();
            let check = prepare(rule, &schema, &find, tables)?;
            if let Prepared::Type { col, data_type } = check {
                if contract_cols.contains_key(schema.field(col).name().as_str()) {
                    contract_types.insert(schema.field(col).name().clone(), idx);
                } else {
                    extra_types.push((col, data_type, idx));
                }
            }
            compiled.push(CompiledRule {
                id: rule.id.clone(),
                severity: rule.severity,
                mostly: rule.mostly,
                kind: rule.check.kind(),
                column: rule.check.columns().join(", "),
                check,
            });
        }

        let key_names: Vec<String> = match (&rules.key, contract) {
            (Some(k), _) => k.clone(),
            (None, Some(kind)) => kind.key().iter().map(|s| s.to_string()).collect(),
            (None, None) => Vec::new(),
        };
        let key = key_names.iter().map(|k| find("key", k)).collect::<Result<Vec<_>>>()?;
        let latest_by = match &rules.duplicates {
            DuplicatePolicy::KeepLatest { by } => Some(find("duplicates.keep_latest", by)?),
            _ => None,
        };
        let mut completeness_cols: Vec<usize> = compiled
            .iter()
            .filter_map(|r| match r.check {
                Prepared::NotNull { col } | Prepared::Completeness { col, .. } => Some(col),
                _ => None,
            })
            .collect();
        completeness_cols.sort_unstable();
        completeness_cols.dedup();
        if completeness_cols.is_empty() {
            completeness_cols = (0..schema.fields().len()).collect();
        }
        Ok(Self {
            name,
            conformer,
            mapping,
            extra_types,
            contract_types,
            input_schema: input_schema.clone(),
            schema,
            key,
            duplicates: rules.duplicates.clone(),
            latest_by,
            rules: compiled,
            completeness_cols,
        })
    }
}

fn prepare(
    rule: &Rule,
    schema: &SchemaRef,
    find: &dyn Fn(&str, &str) -> Result<usize>,
    tables: &HashSet<String>,
) -> Result<Prepared> {
    let id = rule.id.as_str();
    let bad = |field: &str, message: String| Error::config(format!("rule '{id}'.{field}"), message);
    let dtype = |col: usize| schema.field(col).data_type().clone();
    Ok(match &rule.check {
        Check::NotNull { column } => Prepared::NotNull { col: find(id, column)? },
        Check::Type { column, data_type } => Prepared::Type { col: find(id, column)?, data_type: *data_type },
        Check::Format { column, format, pattern } => {
            let col = find(id, column)?;
            let regex = match (format, pattern) {
                (TextFormat::Regex, Some(p)) => {
                    Some(Regex::new(p).map_err(|e| bad("pattern", format!("invalid regular expression: {e}")))?)
                }
                (TextFormat::Regex, None) => return Err(bad("pattern", "format 'regex' needs a pattern".into())),
                (_, Some(_)) => return Err(bad("pattern", "a pattern is only used with format 'regex'".into())),
                (_, None) => None,
            };
            Prepared::Format { col, format: *format, regex }
        }
        Check::Range { column, min, max, exclusive } => {
            let col = find(id, column)?;
            if min.is_none() && max.is_none() {
                return Err(bad("min", "a range needs min, max or both".into()));
            }
            let t = dtype(col);
            let scalar =
                |b: &Option<Bound>, field: &str| b.as_ref().map(|b| bound_scalar(b, &t, field, &bad)).transpose();
            let (min, max) = (scalar(min, "min")?, scalar(max, "max")?);
            let text = |a: &Option<ArrayRef>, none: &str| {
                a.as_ref().map_or(none.to_string(), |a| super::evaluate::display(a, 0))
            };
            let (lo, hi) = if *exclusive { ("(", ")") } else { ("[", "]") };
            let shown = format!("{lo}{}, {}{hi}", text(&min, "-inf"), text(&max, "+inf"));
            Prepared::Range { col, min, max, exclusive: *exclusive, shown }
        }
        Check::InSet { column, values, ignore_case } => {
            let col = find(id, column)?;
            let norm = |v: &str| if *ignore_case { v.to_ascii_lowercase() } else { v.to_string() };
            Prepared::InSet {
                col,
                values: values.iter().map(|v| norm(v)).collect(),
                ignore_case: *ignore_case,
                shown: format!("{values:?}"),
            }
        }
        Check::Length { column, min, max } => {
            if let (Some(a), Some(b)) = (min, max)
                && a > b
            {
                return Err(bad("min", format!("min {a} is greater than max {b}")));
            }
            Prepared::Length { col: find(id, column)?, min: *min, max: *max }
        }
        Check::Unique { columns, report } => {
            if columns.is_empty() {
                return Err(bad("columns", "a unique rule needs at least one column".into()));
            }
            Prepared::Unique { cols: columns.iter().map(|c| find(id, c)).collect::<Result<_>>()?, report: *report }
        }
        Check::Compare { left, op, right } => {
            let (l, r) = (find(id, left)?, find(id, right)?);
            let (lt, rt) = (dtype(l), dtype(r));
            let comparable = lt == rt || (lt.is_numeric() && rt.is_numeric()) || (lt.is_temporal() && rt.is_temporal());
            if !comparable {
                return Err(bad("right", format!("cannot compare '{left}' ({lt}) with '{right}' ({rt})")));
            }
            Prepared::Compare { left: l, right: r, op: *op }
        }
        Check::ForeignKey { column, ref_table, ref_column } => {
            if !tables.contains(ref_table) {
                let mut known: Vec<&String> = tables.iter().collect();
                known.sort();
                return Err(bad(
                    "ref_table",
                    format!("table '{ref_table}' is neither validated in this run nor registered; known: {known:?}"),
                ));
            }
            Prepared::ForeignKey {
                col: find(id, column)?,
                ref_table: ref_table.clone(),
                ref_column: ref_column.clone().unwrap_or_else(|| column.clone()),
            }
        }
        Check::Sql { expression } => {
            Prepared::Sql { expression: expression.clone(), expr: sql_expr(expression, schema, &bad)? }
        }
        Check::RowCount { min, max } => Prepared::RowCount { min: *min, max: *max },
        Check::Freshness { column, max_age } => {
            let col = find(id, column)?;
            if !dtype(col).is_temporal() {
                return Err(bad(
                    "column",
                    format!(
                        "freshness needs a date or timestamp column; '{column}' is {} (add a type rule)",
                        dtype(col)
                    ),
                ));
            }
            let max_age_ms = super::config::parse_duration_ms(max_age)
                .ok_or_else(|| bad("max_age", format!("'{max_age}' is not a duration like 90s, 30m, 36h or 2d")))?;
            Prepared::Freshness { col, max_age_ms, max_age: max_age.clone() }
        }
        Check::Completeness { column, min } => {
            if !(0.0..=1.0).contains(min) {
                return Err(bad("min", format!("must be in 0..=1, got {min}")));
            }
            Prepared::Completeness { col: find(id, column)?, min: *min }
        }
    })
}

/// A one-element array holding a range bound in the column's type (or Float64 for text and numbers).
fn bound_scalar(
    bound: &Bound,
    column_type: &DataType,
    field: &str,
    bad: &dyn Fn(&str, String) -> Error,
) -> Result<ArrayRef> {
    let not_date = |s: &str| bad(field, format!("'{s}' is not an ISO date or timestamp"));
    Ok(match (column_type, bound) {
        (DataType::Date32, Bound::Text(s)) => {
            let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| not_date(s))?;
            Arc::new(Date32Array::from(vec![crate::contracts::days_since_epoch(d)]))
        }
        (DataType::Timestamp(TimeUnit::Millisecond, tz), Bound::Text(s)) => {
            let ms = chrono::DateTime::parse_from_rfc3339(s)
                .map(|d| d.timestamp_millis())
                .or_else(|_| {
                    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc().timestamp_millis())
                })
                .map_err(|_| not_date(s))?;
            Arc::new(TimestampMillisecondArray::from(vec![ms]).with_timezone_opt(tz.clone()))
        }
        (t, Bound::Number(x))
            if t.is_numeric() || matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) =>
        {
            Arc::new(Float64Array::from(vec![*x]))
        }
        (t, b) => {
            return Err(bad(field, format!("bound {b:?} does not fit a column of type {t} (add a type rule?)")));
        }
    })
}

/// Plans a SQL boolean expression over `schema` with DataFusion.
fn sql_expr(
    expression: &str,
    schema: &SchemaRef,
    bad: &dyn Fn(&str, String) -> Error,
) -> Result<Arc<dyn PhysicalExpr>> {
    let ctx = SessionContext::new();
    let df_schema = DFSchema::try_from(schema.as_ref().clone()).map_err(|e| bad("expression", e.to_string()))?;
    let expr = ctx
        .parse_sql_expr(expression, &df_schema)
        .map_err(|e| bad("expression", format!("`{expression}` does not parse: {e}")))?;
    let t = expr.get_type(&df_schema).map_err(|e| bad("expression", format!("`{expression}`: {e}")))?;
    if t != DataType::Boolean {
        return Err(bad("expression", format!("`{expression}` is {t}, not a boolean")));
    }
    ctx.create_physical_expr(expr, &df_schema).map_err(|e| bad("expression", format!("`{expression}`: {e}")))
}
