//! Trend analysis of many series at once: per account (or any id columns) and metric, the Mann-Kendall
//! test, Sen's slope and the OLS slope, each series with a status and a reason so bad input is reported,
//! never turned into a silently wrong number.
//!
//! The statistics follow Gilbert (1987) and are checked against pymannkendall and scipy
//! ([`significance`]). Series are independent, so they run in parallel with rayon; output order is the
//! sorted series key, so results do not depend on the number of threads.

pub mod analyze;
pub mod changepoint;
pub mod correlation;
mod cycles;
pub mod indicators;
mod loess;
mod moderate;
mod mstl;
pub mod resample;
pub mod seasonality;
pub(crate) mod series;
pub mod significance;
pub mod stl;
mod summary;

pub use analyze::{AnalyzeConfig, TrendAnalysis, analyze};
pub use changepoint::{Cost, PeltParams, Segment, pelt, segments};
pub use correlation::{CorrelationConfig, LeadLag, LeadLagConfig, Method, correlations, lead_lag, pearson, spearman};
pub use indicators::{ChurnIndicatorConfig, churn_indicators};
pub use mstl::{MstlDecomposition, MstlParams, mstl};
pub use resample::{Aggregation, Fill, Frequency, ResampleConfig, resample};
pub use seasonality::{SeasonalityConfig, Transform, seasonality};
pub use series::GapFill;
pub use significance::{Direction, MannKendall, OlsSlope, SenSlope, mann_kendall, ols_slope, sen_slope};
pub use stl::{Decomposition, StlParams, stl};
pub use summary::seasonality_summary;

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::table::Table;
use series::{Grouped, Points, day_text};

/// Which series to test and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrendTestConfig {
    /// Columns that identify a series (cast to text).
    pub id_columns: Vec<String>,
    /// The time column: a date or a timestamp. Slopes are per day.
    pub time_column: String,
    /// The numeric columns to test, each its own series.
    pub value_columns: Vec<String>,
    /// Significance level of the tests and the confidence intervals.
    pub alpha: f64,
    /// Series with fewer finite observations get status `too_short`.
    pub min_points: usize,
}

impl Default for TrendTestConfig {
    fn default() -> Self {
        Self {
            id_columns: vec!["account_id".into()],
            time_column: "date".into(),
            value_columns: vec!["active_users".into()],
            alpha: 0.05,
            min_points: 10,
        }
    }
}

impl TrendTestConfig {
    /// Checks the fields that do not depend on the data.
    pub fn validate(&self) -> Result<()> {
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(Error::config("trend.alpha", format!("must be in (0, 1), got {}", self.alpha)));
        }
        if self.min_points < 3 {
            return Err(Error::config("trend.min_points", format!("must be at least 3, got {}", self.min_points)));
        }
        if self.value_columns.is_empty() {
            return Err(Error::config("trend.value_columns", "name at least one column"));
        }
        Ok(())
    }
}

/// The outcome of one series.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SeriesResult {
    n: usize,
    status: &'static str,
    reason: String,
    mk: Option<MannKendall>,
    sen: Option<SenSlope>,
    ols: Option<OlsSlope>,
}

/// Tests every series of `table`; see the module documentation for the output columns.
///
/// Output: the id columns, `metric`, `n` (finite observations used), `status` (`ok`, `constant`,
/// `too_short`, `duplicate_times`), `reason`, `mk_s`, `mk_z`, `mk_p`, `tau`, `direction`, `sen_slope`,
/// `sen_lower`, `sen_upper`, `ols_slope`, `ols_lower`, `ols_upper`, `ols_p`. Nulls and non-finite values
/// are dropped and counted in `reason`; rows are sorted by time within each series.
pub fn trend_tests(table: &Table, config: &TrendTestConfig) -> Result<Table> {
    config.validate()?;
    let grouped = Grouped::new(table, &config.id_columns, &config.time_column)?;
    let mut series = Vec::new();
    let mut metrics = Vec::new();
    let mut results = Vec::new();
    for value_column in &config.value_columns {
        let values = grouped.values(value_column)?;
        let out: Vec<SeriesResult> = (0..grouped.groups.len())
            .into_par_iter()
            .map(|g| test_series(grouped.points(g, &values), config))
            .collect();
        series.extend(0..grouped.groups.len());
        metrics.extend(std::iter::repeat_n(value_column.clone(), out.len()));
        results.extend(out);
    }
    build_output(grouped.key_columns(&series)?, &metrics, &results)
}

pub(crate) fn test_series(points: Points, config: &TrendTestConfig) -> SeriesResult {
    let n = points.t.len();
    let mut notes = points.notes.clone();
    let result = |status, mut notes: Vec<String>, reason: Option<String>| {
        notes.extend(reason);
        SeriesResult { n, status, reason: notes.join("; "), mk: None, sen: None, ols: None }
    };
    if let Some(t) = points.duplicate_time() {
        return result("duplicate_times", notes, Some(format!("time {} occurs more than once", day_text(t))));
    }
    if n < config.min_points {
        return result("too_short", notes, Some(format!("{n} observations, {} needed", config.min_points)));
    }
    let Points { t, v: x, .. } = points;
    let constant = x.iter().all(|v| *v == x[0]);
    let tests = (|| -> Result<_> {
        Ok((mann_kendall(&x, config.alpha)?, sen_slope(&t, &x, config.alpha)?, ols_slope(&t, &x, config.alpha)?))
    })();
    match tests {
        Ok((mk, sen, ols)) => {
            let status = if constant { "constant" } else { "ok" };
            if constant {
                notes.push("every value is the same: no trend".into());
            }
            SeriesResult { n, status, reason: notes.join("; "), mk: Some(mk), sen: Some(sen), ols: Some(ols) }
        }
        Err(e) => result("invalid", notes, Some(e.to_string())),
    }
}

/// Reads one statistic of a series result.
type Getter = fn(&SeriesResult) -> Option<f64>;

pub(crate) fn build_output(
    keys: Vec<(Field, ArrayRef)>,
    metrics: &[String],
    results: &[SeriesResult],
) -> Result<Table> {
    let id_count = keys.len();
    let (mut fields, mut columns): (Vec<Field>, Vec<ArrayRef>) = keys.into_iter().unzip();
    let mut text = |name: &str, values: Vec<Option<&str>>| {
        fields.push(Field::new(name, DataType::Utf8, true));
        columns.push(Arc::new(StringArray::from(values)));
    };
    text("metric", metrics.iter().map(|m| Some(m.as_str())).collect());
    let n_field = Field::new("n", DataType::Int64, false);
    let n_col: ArrayRef = Arc::new(Int64Array::from_iter_values(results.iter().map(|r| r.n as i64)));
    text("status", results.iter().map(|r| Some(r.status)).collect());
    text("reason", results.iter().map(|r| Some(r.reason.as_str())).collect());
    text("direction", results.iter().map(|r| r.mk.map(|m| m.direction.name())).collect());
    fields.insert(id_count + 1, n_field);
    columns.insert(id_count + 1, n_col);
    let floats: [(&str, Getter); 12] = [
        ("mk_s", |r| r.mk.map(|m| m.s)),
        ("mk_z", |r| r.mk.map(|m| m.z)),
        ("mk_p", |r| r.mk.map(|m| m.p_value)),
        ("tau", |r| r.mk.map(|m| m.tau)),
        ("sen_slope", |r| r.sen.map(|s| s.slope)),
        ("sen_intercept", |r| r.sen.map(|s| s.intercept)),
        ("sen_lower", |r| r.sen.map(|s| s.lower)),
        ("sen_upper", |r| r.sen.map(|s| s.upper)),
        ("ols_slope", |r| r.ols.map(|o| o.slope)),
        ("ols_lower", |r| r.ols.map(|o| o.lower)),
        ("ols_upper", |r| r.ols.map(|o| o.upper)),
        ("ols_p", |r| r.ols.map(|o| o.p_value)),
    ];
    for (name, get) in floats {
        fields.push(Field::new(name, DataType::Float64, true));
        columns.push(Arc::new(results.iter().map(get).collect::<Float64Array>()));
    }
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    Ok(Table::from_batch(RecordBatch::try_new(schema, columns)?))
}
