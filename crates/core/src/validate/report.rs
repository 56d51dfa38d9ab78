//! The validation report: per-rule results and the per-table quality scorecard, as Rust values, JSON and
//! Arrow tables.
//!
//! # Quality scores
//! Each score is a share in `[0, 1]`; `n_in` is the table's input rows and `n` the rows the rules ran on
//! (input rows minus dropped copies). An empty table scores 1.
//! - **completeness** = present values / (`n` × |C|), over the columns C that are required by the
//!   contract or named by a `not_null` / `completeness` rule (all columns when there are none). A value
//!   that is present but unreadable as its type counts as present (validity reports it).
//! - **validity** = 1 − (rows failing at least one `type`, `format`, `range`, `in_set`, `length`, `compare`
//!   or `sql` rule) / `n`.
//! - **uniqueness** = 1 − (dropped copies + rows rejected by `reject_all` + other rows failing a `unique`
//!   rule) / `n_in`.
//! - **consistency** = 1 − (rows failing at least one `foreign_key` rule) / `n`.
//! - **freshness** = mean over `freshness` rules of `clamp(2 − age / max_age, 0, 1)`: 1 while the latest
//!   value is within `max_age` of `as_of`, falling linearly to 0 at twice `max_age`; absent when the table
//!   has no freshness rule.
//! - **overall** = the weighted mean of the scores present ([`ScoreWeights`], equal by default).

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Float64Array, ListBuilder, StringArray, StringBuilder, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::table::Table;

/// Column headings of the scorecard.
const SCORECARD_HEADER: [&str; 11] =
    ["table", "rows in", "clean", "quar.", "dupl.", "compl.", "valid.", "uniq.", "consis.", "fresh.", "overall"];

/// The result of one rule on one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleResult {
    /// Rule id (implicit contract rules are `<table>.<column>.type` / `.not_null`; duplicates
    /// `<table>.duplicates`).
    pub rule_id: String,
    /// Table.
    pub table: String,
    /// Rule kind (`not_null`, `range`, ..., `duplicates`).
    pub kind: String,
    /// Column(s), comma-separated; empty when the rule is not about columns.
    pub column: String,
    /// `error` or `warning`.
    pub severity: String,
    /// Rows checked (1 for table-level rules).
    pub evaluated: u64,
    /// Rows that failed (0 or 1 for table-level rules).
    pub failed: u64,
    /// 1 − failed / evaluated (1 when nothing was evaluated).
    pub pass_share: f64,
    /// The rule's `mostly`, if set.
    pub mostly: Option<f64>,
    /// Whether `pass_share` reaches `mostly` (or 1).
    pub success: bool,
    /// What a table-level rule observed (row count, latest time and age, share present).
    pub observed: Option<String>,
    /// Keys (or row numbers) of the first failing rows.
    pub failing_keys: Vec<String>,
}

/// The quality scorecard of one table (see the module documentation for the formulas).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QualityScores {
    /// Share of present values in the checked columns.
    pub completeness: f64,
    /// Share of rows passing every validity rule.
    pub validity: f64,
    /// Share of input rows that are not duplicates.
    pub uniqueness: f64,
    /// Share of rows whose foreign keys resolve.
    pub consistency: f64,
    /// Timeliness of the latest data; `None` without freshness rules.
    pub freshness: Option<f64>,
    /// Weighted mean of the others.
    pub overall: f64,
}

/// Weights of the scores in the overall score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoreWeights {
    /// Weight of completeness.
    pub completeness: f64,
    /// Weight of validity.
    pub validity: f64,
    /// Weight of uniqueness.
    pub uniqueness: f64,
    /// Weight of consistency.
    pub consistency: f64,
    /// Weight of freshness (when present).
    pub freshness: f64,
}

impl Default for ScoreWeights {
    fn default() -> Self {
        Self { completeness: 1.0, validity: 1.0, uniqueness: 1.0, consistency: 1.0, freshness: 1.0 }
    }
}

impl QualityScores {
    /// Scores from their parts, with the overall score weighted by `w`.
    pub fn new(
        completeness: f64,
        validity: f64,
        uniqueness: f64,
        consistency: f64,
        freshness: Option<f64>,
        w: &ScoreWeights,
    ) -> Self {
        let mut parts = vec![
            (completeness, w.completeness),
            (validity, w.validity),
            (uniqueness, w.uniqueness),
            (consistency, w.consistency),
        ];
        if let Some(f) = freshness {
            parts.push((f, w.freshness));
        }
        let total: f64 = parts.iter().map(|p| p.1).sum();
        let overall = if total > 0.0 { parts.iter().map(|(s, w)| s * w).sum::<f64>() / total } else { 1.0 };
        Self { completeness, validity, uniqueness, consistency, freshness, overall }
    }
}

/// What happened to one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableReport {
    /// Table.
    pub table: String,
    /// Input rows.
    pub rows_in: u64,
    /// Rows in the clean output.
    pub rows_clean: u64,
    /// Rows in the quarantine output.
    pub rows_quarantined: u64,
    /// Dropped copies (the duplicates output).
    pub rows_duplicates: u64,
    /// Clean rows that failed a warning rule.
    pub rows_warned: u64,
    /// Every rule's result, implicit contract rules first.
    pub rules: Vec<RuleResult>,
    /// The scorecard.
    pub scores: QualityScores,
    /// Whether every rule succeeded.
    pub success: bool,
}

/// The report of a validation run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
    /// Rule set id.
    pub ruleset_id: String,
    /// Rule set version.
    pub ruleset_version: String,
    /// The time freshness was measured against (RFC 3339).
    pub as_of: String,
    /// One report per table, in rule-set order.
    pub tables: Vec<TableReport>,
}

impl ValidationReport {
    /// Whether every rule of every table succeeded.
    pub fn success(&self) -> bool {
        self.tables.iter().all(|t| t.success)
    }

    /// One table's report.
    pub fn table(&self, name: &str) -> Option<&TableReport> {
        self.tables.iter().find(|t| t.table == name)
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// One row per (table, rule).
    pub fn rules_table(&self) -> Result<Table> {
        let rules: Vec<&RuleResult> = self.tables.iter().flat_map(|t| &t.rules).collect();
        let text = |f: &dyn Fn(&RuleResult) -> &str| -> ArrayRef {
            Arc::new(rules.iter().map(|r| Some(f(r))).collect::<StringArray>())
        };
        let mut keys = ListBuilder::new(StringBuilder::new());
        for r in &rules {
            for k in &r.failing_keys {
                keys.values().append_value(k);
            }
            keys.append(true);
        }
        let schema = Arc::new(Schema::new(vec![
            Field::new("table", DataType::Utf8, false),
            Field::new("rule_id", DataType::Utf8, false),
            Field::new("kind", DataType::Utf8, false),
            Field::new("column", DataType::Utf8, false),
            Field::new("severity", DataType::Utf8, false),
            Field::new("evaluated", DataType::UInt64, false),
            Field::new("failed", DataType::UInt64, false),
            Field::new("pass_share", DataType::Float64, false),
            Field::new("mostly", DataType::Float64, true),
            Field::new("success", DataType::Boolean, false),
            Field::new("observed", DataType::Utf8, true),
            Field::new("failing_keys", DataType::new_list(DataType::Utf8, true), false),
        ]));
        let cols: Vec<ArrayRef> = vec![
            text(&|r| &r.table),
            text(&|r| &r.rule_id),
            text(&|r| &r.kind),
            text(&|r| &r.column),
            text(&|r| &r.severity),
            Arc::new(rules.iter().map(|r| r.evaluated).collect::<UInt64Array>()),
            Arc::new(rules.iter().map(|r| r.failed).collect::<UInt64Array>()),
            Arc::new(rules.iter().map(|r| r.pass_share).collect::<Float64Array>()),
            Arc::new(rules.iter().map(|r| r.mostly).collect::<Float64Array>()),
            Arc::new(rules.iter().map(|r| Some(r.success)).collect::<BooleanArray>()),
            Arc::new(rules.iter().map(|r| r.observed.as_deref()).collect::<StringArray>()),
            Arc::new(keys.finish()),
        ];
        Ok(Table::from_batch(RecordBatch::try_new(schema, cols)?))
    }

    /// One row per table: counts and the scorecard.
    pub fn scores_table(&self) -> Result<Table> {
        let t = &self.tables;
        let count =
            |f: &dyn Fn(&TableReport) -> u64| -> ArrayRef { Arc::new(t.iter().map(f).collect::<UInt64Array>()) };
        let score = |f: &dyn Fn(&TableReport) -> Option<f64>| -> ArrayRef {
            Arc::new(t.iter().map(f).collect::<Float64Array>())
        };
        let schema = Arc::new(Schema::new(vec![
            Field::new("table", DataType::Utf8, false),
            Field::new("rows_in", DataType::UInt64, false),
            Field::new("rows_clean", DataType::UInt64, false),
            Field::new("rows_quarantined", DataType::UInt64, false),
            Field::new("rows_duplicates", DataType::UInt64, false),
            Field::new("rows_warned", DataType::UInt64, false),
            Field::new("completeness", DataType::Float64, false),
            Field::new("validity", DataType::Float64, false),
            Field::new("uniqueness", DataType::Float64, false),
            Field::new("consistency", DataType::Float64, false),
            Field::new("freshness", DataType::Float64, true),
            Field::new("overall", DataType::Float64, false),
            Field::new("success", DataType::Boolean, false),
        ]));
        let cols: Vec<ArrayRef> = vec![
            Arc::new(t.iter().map(|r| Some(r.table.as_str())).collect::<StringArray>()),
            count(&|r| r.rows_in),
            count(&|r| r.rows_clean),
            count(&|r| r.rows_quarantined),
            count(&|r| r.rows_duplicates),
            count(&|r| r.rows_warned),
            score(&|r| Some(r.scores.completeness)),
            score(&|r| Some(r.scores.validity)),
            score(&|r| Some(r.scores.uniqueness)),
            score(&|r| Some(r.scores.consistency)),
            score(&|r| r.scores.freshness),
            score(&|r| Some(r.scores.overall)),
            Arc::new(t.iter().map(|r| Some(r.success)).collect::<BooleanArray>()),
        ];
        Ok(Table::from_batch(RecordBatch::try_new(schema, cols)?))
    }

    /// The scorecard as aligned text, one line per table (for terminals and logs).
    pub fn scorecard(&self) -> String {
        let widths = [18, 10, 10, 8, 8, 8, 8, 8, 8, 8, 8];
        let line = |cells: &[String]| -> String {
            let mut out = format!("{:<18}", cells[0]);
            for (cell, w) in cells[1..].iter().zip(&widths[1..]) {
                out += &format!("{cell:>w$}", w = *w);
            }
            out + "\n"
        };
        let header: Vec<String> = SCORECARD_HEADER.iter().map(|h| h.to_string()).collect();
        self.scorecard_rows().iter().fold(line(&header), |out, row| out + &line(row))
    }

    /// The scorecard as an HTML table (for notebooks and reports).
    pub fn scorecard_html(&self) -> String {
        crate::html::table(None, &SCORECARD_HEADER, &self.scorecard_rows())
    }

    /// One row of scorecard cells per table.
    fn scorecard_rows(&self) -> Vec<Vec<String>> {
        let pct = |x: f64| format!("{:.2}%", 100.0 * x);
        self.tables
            .iter()
            .map(|t| {
                let s = &t.scores;
                vec![
                    t.table.clone(),
                    t.rows_in.to_string(),
                    t.rows_clean.to_string(),
                    t.rows_quarantined.to_string(),
                    t.rows_duplicates.to_string(),
                    pct(s.completeness),
                    pct(s.validity),
                    pct(s.uniqueness),
                    pct(s.consistency),
                    s.freshness.map_or("-".to_string(), pct),
                    pct(s.overall),
                ]
            })
            .collect()
    }
}
