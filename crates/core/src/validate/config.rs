//! Rule sets: the declarative description of what valid data looks like, read from JSON, YAML or TOML or
//! built in code.
//!
//! The vocabulary follows Great Expectations' expectations (`mostly`, not-null, in-set, between, regex,
//! unique, compound-unique, foreign keys) and pandera's checks, reduced to what customer-success tables need.
//! A rule set is checked against the data's schema before any row is read ([`super::Validator::new`]).

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::contracts::{ColumnMapping, ColumnType, TableKind};
use crate::error::{Error, Result};

/// What a failing row means.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The row goes to the quarantine table.
    #[default]
    Error,
    /// The row stays in the clean table and the failure is reported.
    Warning,
}

impl Severity {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
        }
    }
}

/// Text formats a `format` rule checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextFormat {
    /// An e-mail address: one `@`, a non-empty local part, a dotted domain, no blanks (the practical subset
    /// of RFC 5322 that HTML's `input type=email` accepts).
    Email,
    /// An absolute `http` or `https` URL with a host.
    Url,
    /// An ISO 8601 calendar date, `YYYY-MM-DD`, that exists.
    IsoDate,
    /// An ISO 8601 / RFC 3339 timestamp (`YYYY-MM-DDTHH:MM:SS`, optional fraction and offset or `Z`).
    IsoTimestamp,
    /// An ISO 3166-1 alpha-2 country code in upper case.
    Country,
    /// An ISO 4217 currency code in upper case.
    Currency,
    /// The rule's `pattern` (Rust `regex` syntax), matched anywhere unless anchored.
    Regex,
}

/// Comparison operators of `compare` rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CompareOp {
    /// `left < right`
    #[serde(rename = "<")]
    Lt,
    /// `left <= right`
    #[serde(rename = "<=")]
    Le,
    /// `left == right`
    #[serde(rename = "==")]
    Eq,
    /// `left != right`
    #[serde(rename = "!=")]
    Ne,
    /// `left > right`
    #[serde(rename = ">")]
    Gt,
    /// `left >= right`
    #[serde(rename = ">=")]
    Ge,
}

impl CompareOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Eq => "==",
            Self::Ne => "!=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }
}

/// A bound of a `range` rule: a number, or a date / timestamp as ISO text for temporal columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Bound {
    /// A number.
    Number(f64),
    /// An ISO date or timestamp.
    Text(String),
}

/// Which copies a `unique` rule reports (pandera's `report_duplicates`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportDuplicates {
    /// Every row whose key occurs more than once.
    All,
    /// Every occurrence after the first.
    #[default]
    ExcludeFirst,
}

/// What one rule checks. Row-level checks mark rows; table-level checks (`row_count`, `freshness`,
/// `completeness`) pass or fail as a whole and never quarantine rows. Nulls pass every row-level check but
/// `not_null` (as in Great Expectations), so each defect is reported by exactly the rule about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Check {
    /// The value is present.
    NotNull {
        /// Column.
        column: String,
    },
    /// The value can be read as `type` (text is parsed as the contracts do); the clean table holds the
    /// typed column. Canonical tables get one such rule per contract column.
    Type {
        /// Column.
        column: String,
        /// Target type.
        #[serde(rename = "type")]
        data_type: ColumnType,
    },
    /// A text value has the format.
    Format {
        /// Column.
        column: String,
        /// Format.
        format: TextFormat,
        /// The pattern, for `format: regex`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pattern: Option<String>,
    },
    /// A number, date or timestamp lies within the bounds (inclusive unless `exclusive`).
    Range {
        /// Column.
        column: String,
        /// Lower bound.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<Bound>,
        /// Upper bound.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<Bound>,
        /// Whether the bounds themselves fail.
        #[serde(default)]
        exclusive: bool,
    },
    /// The value is one of `values` (compared as text).
    InSet {
        /// Column.
        column: String,
        /// Allowed values.
        values: Vec<String>,
        /// Compare ignoring ASCII case.
        #[serde(default)]
        ignore_case: bool,
    },
    /// The text length in characters lies within the bounds (inclusive).
    Length {
        /// Column.
        column: String,
        /// Shortest allowed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<usize>,
        /// Longest allowed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<usize>,
    },
    /// No two rows share the values of `columns` (rows with a null key column are not compared).
    Unique {
        /// One column or a compound key.
        columns: Vec<String>,
        /// Which copies fail.
        #[serde(default)]
        report: ReportDuplicates,
    },
    /// `left op right` holds between two columns of the same row.
    Compare {
        /// Left column.
        left: String,
        /// Operator.
        op: CompareOp,
        /// Right column.
        right: String,
    },
    /// The value exists in `ref_column` of the table `ref_table` (another table of the run or a reference
    /// table given to the validator).
    ForeignKey {
        /// Column.
        column: String,
        /// Referenced table.
        ref_table: String,
        /// Referenced column; defaults to `column`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ref_column: Option<String>,
    },
    /// A SQL boolean expression over the row's columns, evaluated by DataFusion (`arr >= 0 OR segment =
    /// 'trial'`); a null result passes.
    Sql {
        /// The expression.
        expression: String,
    },
    /// The table has between `min` and `max` rows (table-level).
    RowCount {
        /// Fewest rows.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<u64>,
        /// Most rows.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<u64>,
    },
    /// The latest value of a date / timestamp column is at most `max_age` older than the run's `as_of`
    /// time (table-level). `max_age` is a number with a unit: `90s`, `30m`, `36h`, `2d`.
    Freshness {
        /// Column.
        column: String,
        /// Largest allowed age.
        max_age: String,
    },
    /// At least the share `min` of the column's values are present (table-level).
    Completeness {
        /// Column.
        column: String,
        /// Smallest share of non-null values, in `0..=1`.
        min: f64,
    },
}

impl Check {
    /// The snake-case kind, as in rule files.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotNull { .. } => "not_null",
            Self::Type { .. } => "type",
            Self::Format { .. } => "format",
            Self::Range { .. } => "range",
            Self::InSet { .. } => "in_set",
            Self::Length { .. } => "length",
            Self::Unique { .. } => "unique",
            Self::Compare { .. } => "compare",
            Self::ForeignKey { .. } => "foreign_key",
            Self::Sql { .. } => "sql",
            Self::RowCount { .. } => "row_count",
            Self::Freshness { .. } => "freshness",
            Self::Completeness { .. } => "completeness",
        }
    }

    /// Whether the check is about the table as a whole rather than rows.
    pub fn is_table_level(&self) -> bool {
        matches!(self, Self::RowCount { .. } | Self::Freshness { .. } | Self::Completeness { .. })
    }

    /// The columns the check reads.
    pub fn columns(&self) -> Vec<&str> {
        match self {
            Self::NotNull { column }
            | Self::Type { column, .. }
            | Self::Format { column, .. }
            | Self::Range { column, .. }
            | Self::InSet { column, .. }
            | Self::Length { column, .. }
            | Self::ForeignKey { column, .. }
            | Self::Freshness { column, .. }
            | Self::Completeness { column, .. } => vec![column.as_str()],
            Self::Unique { columns, .. } => columns.iter().map(String::as_str).collect(),
            Self::Compare { left, right, .. } => vec![left.as_str(), right.as_str()],
            Self::Sql { .. } | Self::RowCount { .. } => Vec::new(),
        }
    }
}

/// One rule: an id, a severity, an optional `mostly` share and the check. In files the check's fields sit
/// beside `id` with a `kind`: `{id: arr_positive, kind: range, column: arr, min: 0}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// Unique id within the rule set (reports and quarantine reasons name it).
    pub id: String,
    /// Error quarantines failing rows; warning keeps them.
    #[serde(default)]
    pub severity: Severity,
    /// The rule passes when at least this share of rows pass (Great Expectations' `mostly`); failing rows
    /// are quarantined or flagged either way. `None` means every row must pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mostly: Option<f64>,
    /// Free text shown in reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What is checked.
    #[serde(flatten)]
    pub check: Check,
}

impl Rule {
    /// An error-severity rule.
    pub fn new(id: impl Into<String>, check: Check) -> Self {
        Self { id: id.into(), severity: Severity::Error, mostly: None, description: None, check }
    }

    /// Sets the severity.
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Sets `mostly`.
    pub fn with_mostly(mut self, mostly: f64) -> Self {
        self.mostly = Some(mostly);
        self
    }
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        rule_from_value(value).map_err(serde::de::Error::custom)
    }
}

/// Reads a rule from its flat form, naming the rule id in every message.
fn rule_from_value(value: Value) -> std::result::Result<Rule, String> {
    let Value::Object(mut map) = value else { return Err(format!("a rule must be a map, got {value}")) };
    let id = match map.remove("id") {
        Some(Value::String(id)) if !id.trim().is_empty() => id,
        Some(other) => return Err(format!("rule id must be non-empty text, got {other}")),
        None => return Err(format!("a rule has no 'id' (fields: {:?})", map.keys().collect::<Vec<_>>())),
    };
    let field = |map: &mut Map<String, Value>, name: &str| map.remove(name).filter(|v| !v.is_null());
    let severity = match field(&mut map, "severity") {
        Some(v) => serde_json::from_value(v).map_err(|e| format!("rule '{id}': field 'severity': {e}"))?,
        None => Severity::Error,
    };
    let mostly = match field(&mut map, "mostly") {
        Some(v) => Some(serde_json::from_value(v).map_err(|e| format!("rule '{id}': field 'mostly': {e}"))?),
        None => None,
    };
    let description = match field(&mut map, "description") {
        Some(v) => Some(serde_json::from_value(v).map_err(|e| format!("rule '{id}': field 'description': {e}"))?),
        None => None,
    };
    let check = serde_json::from_value(Value::Object(map)).map_err(|e| format!("rule '{id}': {e}"))?;
    Ok(Rule { id, severity, mostly, description, check })
}

/// How copies of a row or of a key are resolved before the rules run. Exact copies of a row always keep
/// the first (under every policy but `keep_all`); the policy decides between rows that share the key but
/// differ elsewhere. Every dropped copy is listed in the duplicates output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum DuplicatePolicy {
    /// Keep the first row of each key.
    #[default]
    KeepFirst,
    /// Keep the row with the greatest value of `by` (the last such row on ties; nulls lose).
    KeepLatest {
        /// A date, timestamp or number column.
        by: String,
    },
    /// Quarantine every row of a key that occurs more than once.
    RejectAll,
    /// Keep the first row, filling its nulls from the later copies in row order.
    Merge,
    /// Keep every row, exact copies included (uniqueness rules can still report them).
    KeepAll,
}

impl DuplicatePolicy {
    /// Snake-case name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::KeepFirst => "keep_first",
            Self::KeepLatest { .. } => "keep_latest",
            Self::RejectAll => "reject_all",
            Self::Merge => "merge",
            Self::KeepAll => "keep_all",
        }
    }
}

/// The rules of one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableRules {
    /// The table's name (a canonical table name or any other).
    pub table: String,
    /// The canonical table whose contract applies: each contract column gets a `type` rule (id
    /// `<table>.<column>.type`) and a `not_null` rule when required. Defaults to `table` when that is a
    /// canonical name; `none` (or empty text) turns the contract off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<String>,
    /// How input columns map onto the contract (renames, value maps, date formats); casting failures are
    /// always nulled and reported as `type` rule failures here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<ColumnMapping>,
    /// Columns that identify a row, for the duplicate policy; defaults to the contract's key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Vec<String>>,
    /// How duplicates are resolved.
    #[serde(default)]
    pub duplicates: DuplicatePolicy,
    /// The rules.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

impl TableRules {
    /// Rules for `table` with its contract (when canonical) and no further rules.
    pub fn new(table: impl Into<String>) -> Self {
        Self {
            table: table.into(),
            contract: None,
            mapping: None,
            key: None,
            duplicates: DuplicatePolicy::default(),
            rules: vec![],
        }
    }

    /// Adds a rule.
    pub fn with_rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Sets the key.
    pub fn with_key(mut self, key: &[&str]) -> Self {
        self.key = Some(key.iter().map(|s| s.to_string()).collect());
        self
    }

    /// Sets the duplicate policy.
    pub fn with_duplicates(mut self, policy: DuplicatePolicy) -> Self {
        self.duplicates = policy;
        self
    }

    /// The canonical contract that applies, if any.
    pub fn contract_kind(&self) -> Result<Option<TableKind>> {
        match self.contract.as_deref() {
            Some("") | Some("none") => Ok(None),
            Some(name) => TableKind::from_name(name).map(Some).map_err(|_| {
                Error::config(
                    format!("tables.{}.contract", self.table),
                    format!("'{name}' is not a canonical table; use one of {:?}", canonical_names()),
                )
            }),
            None => Ok(TableKind::from_name(&self.table).ok()),
        }
    }
}

fn canonical_names() -> Vec<&'static str> {
    TableKind::ALL.iter().map(|k| k.name()).collect()
}

/// A named, versioned set of table rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// Identifier recorded in lineage.
    pub id: String,
    /// Version text recorded in lineage.
    #[serde(default = "default_version")]
    pub version: String,
    /// The tables, validated in this order (referenced tables need not come first).
    pub tables: Vec<TableRules>,
}

fn default_version() -> String {
    "1".into()
}

impl RuleSet {
    /// An empty rule set.
    pub fn new(id: impl Into<String>) -> Self {
        Self { id: id.into(), version: default_version(), tables: Vec::new() }
    }

    /// Adds a table's rules.
    pub fn with_table(mut self, table: TableRules) -> Self {
        self.tables.push(table);
        self
    }

    /// Reads a rule set from JSON, YAML or TOML text (`format` is `json`, `yaml` or `toml`).
    pub fn from_str(text: &str, format: &str) -> Result<Self> {
        Self::parse(text, format, "<text>")
    }

    /// Reads a rule set file; the format comes from the extension (`.json`, `.yaml` / `.yml`, `.toml`).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path.display(), e))?;
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        Self::parse(&text, &ext, &path.display().to_string())
    }

    fn parse(text: &str, format: &str, source: &str) -> Result<Self> {
        let bad = |message: String| Error::config(format!("rule set {source}"), message);
        let value = crate::config_text::parse_value(text, format, &format!("rule set {source}"))?;
        let Value::Object(mut top) = value else { return Err(bad("the top level must be a map".into())) };
        let tables = match top.remove("tables") {
            Some(Value::Array(t)) => t,
            Some(other) => return Err(bad(format!("'tables' must be a list, got {other}"))),
            None => Vec::new(),
        };
        let mut set: RuleSet = serde_json::from_value(Value::Object({
            top.insert("tables".into(), Value::Array(Vec::new()));
            top
        }))
        .map_err(|e| bad(e.to_string()))?;
        for (i, table) in tables.into_iter().enumerate() {
            let name = table.get("table").and_then(Value::as_str).map_or_else(|| format!("#{i}"), str::to_string);
            let parsed: TableRules = serde_json::from_value(table).map_err(|e| bad(format!("table '{name}': {e}")))?;
            set.tables.push(parsed);
        }
        set.check_ids().map_err(|e| match e {
            Error::Config { field, message } => bad(format!("{field}: {message}")),
            other => other,
        })?;
        Ok(set)
    }

    /// Serialises the rule set as pretty JSON (which reads back with [`RuleSet::from_str`]).
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// Checks what can be checked without data: unique rule ids, bounds, patterns, `max_age` text.
    pub fn check_ids(&self) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        let mut tables = std::collections::HashSet::new();
        for t in &self.tables {
            if !tables.insert(t.table.as_str()) {
                return Err(Error::config(format!("tables.{}", t.table), "the table appears twice"));
            }
            for r in &t.rules {
                if !seen.insert(r.id.as_str()) {
                    return Err(Error::config(format!("rule '{}'", r.id), "the id is used twice"));
                }
                if let Some(m) = r.mostly
                    && !(0.0..=1.0).contains(&m)
                {
                    return Err(Error::config(format!("rule '{}'.mostly", r.id), format!("must be in 0..=1, got {m}")));
                }
            }
        }
        Ok(())
    }
}

/// Parses a duration such as `90s`, `30m`, `36h` or `2d` into milliseconds.
pub(crate) fn parse_duration_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (num, unit) = text.split_at(split);
    let n: f64 = num.parse().ok()?;
    let unit_ms = match unit.trim() {
        "s" | "sec" | "second" | "seconds" => 1_000.0,
        "m" | "min" | "minute" | "minutes" => 60_000.0,
        "h" | "hour" | "hours" => 3_600_000.0,
        "d" | "day" | "days" => 86_400_000.0,
        _ => return None,
    };
    (n.is_finite() && n >= 0.0).then(|| (n * unit_ms).round() as i64)
}
