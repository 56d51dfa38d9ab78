//! The full trend pass over many series: one decomposition per series feeds the seasonality tests, the
//! trend tests and the change points, so a portfolio's usage is read, regularised and decomposed once.
//!
//! Per series and metric: gap filling and the transform of [`SeasonalityConfig`], MSTL over the candidate
//! periods the series repeats `min_cycles` times, the period tests ([`super::seasonality`]); then the
//! seasonally adjusted series (back on the original scale) averaged over `resolution_days` (weekly by
//! default: a trend test on daily points would count the same week seven times) for Mann-Kendall, Sen's
//! slope and the OLS slope ([`super::significance`], slopes per day), and PELT on the same averages for
//! change points ([`super::changepoint`]), each reported with its date, the levels before and after and
//! the change. Series run in parallel; output order is the sorted series key, whatever the thread count.

use arrow::array::{ArrayRef, Date32Array};
use arrow::datatypes::{DataType, Field};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use super::changepoint::{PeltParams, pelt, segments};
use super::seasonality::{PeriodResult, SeasonalityConfig, period_columns, series_seasonality, test_periods};
use super::series::{Grouped, Points, float_column, text_column, to_table};
use super::{SeriesResult, TrendTestConfig, build_output, test_series};
use crate::error::{Error, Result};
use crate::table::Table;

/// What the full pass computes; the series, gap filling, transform and periods come from `seasonality`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalyzeConfig {
    /// Series selection, gap filling, transform, candidate periods and their tests.
    pub seasonality: SeasonalityConfig,
    /// Days averaged into one point for the trend tests and change points.
    pub resolution_days: usize,
    /// Significance level of the trend tests.
    pub alpha: f64,
    /// Fewest averaged points for the trend tests.
    pub min_points: usize,
    /// Change-point search on the averaged points (`min_size` counts points).
    pub pelt: PeltParams,
}

impl Default for AnalyzeConfig {
    fn default() -> Self {
        Self {
            seasonality: SeasonalityConfig {
                value_columns: ["active_users", "logins", "sessions", "feature_events", "api_calls"]
                    .map(String::from)
                    .to_vec(),
                ..SeasonalityConfig::default()
            },
            resolution_days: 7,
            alpha: 0.05,
            min_points: 10,
            pelt: PeltParams { min_size: 4, ..PeltParams::default() },
        }
    }
}

impl AnalyzeConfig {
    /// Checks the fields that do not depend on the data.
    pub fn validate(&self) -> Result<()> {
        self.seasonality.validate()?;
        if self.resolution_days == 0 {
            return Err(Error::config("analyze.resolution_days", "must be at least 1, got 0"));
        }
        self.pelt.validate()?;
        self.trend_config().validate()
    }

    fn trend_config(&self) -> TrendTestConfig {
        TrendTestConfig {
            id_columns: self.seasonality.id_columns.clone(),
            time_column: self.seasonality.time_column.clone(),
            value_columns: self.seasonality.value_columns.clone(),
            alpha: self.alpha,
            min_points: self.min_points,
        }
    }
}

/// The three tables of a trend pass.
#[derive(Debug, Clone)]
pub struct TrendAnalysis {
    /// As [`super::seasonality`]: one row per series, metric and candidate period.
    pub seasonality: Table,
    /// As [`super::trend_tests`] on the seasonally adjusted averages: one row per series and metric.
    pub trends: Table,
    /// One row per change point: id columns, `metric`, `date` (first day of the new level),
    /// `before_mean`, `after_mean`, `change`, `relative_change`, `before_sd`, `after_sd`.
    pub change_points: Table,
}

/// One change point of one series.
struct Change {
    day: i32,
    before: (f64, f64),
    after: (f64, f64),
}

/// Runs the full pass; see the module documentation.
pub fn analyze(table: &Table, config: &AnalyzeConfig) -> Result<TrendAnalysis> {
    config.validate()?;
    let s = &config.seasonality;
    let trend_config = config.trend_config();
    let grouped = Grouped::new(table, &s.id_columns, &s.time_column)?;
    let (mut period_series, mut period_metrics, mut period_rows) = (Vec::new(), Vec::new(), Vec::new());
    let (mut trend_series, mut trend_metrics, mut trend_rows) = (Vec::new(), Vec::new(), Vec::new());
    let (mut change_series, mut change_metrics, mut changes) = (Vec::new(), Vec::new(), Vec::new());
    for metric in &s.value_columns {
        let values = grouped.values(metric)?;
        let mut out: Vec<(usize, Vec<PeriodResult>, SeriesResult, Vec<Change>)> = (0..grouped.groups.len())
            .into_par_iter()
            .map(|g| one_series(grouped.points(g, &values), config, &trend_config))
            .collect();
        test_periods(out.iter_mut().flat_map(|o| o.1.iter_mut()), s);
        for (g, (n, periods, trend, found)) in out.into_iter().enumerate() {
            for p in periods {
                period_series.push(g);
                period_metrics.push(metric.as_str());
                period_rows.push((n, p));
            }
            trend_series.push(g);
            trend_metrics.push(metric.clone());
            trend_rows.push(trend);
            for c in found {
                change_series.push(g);
                change_metrics.push(metric.as_str());
                changes.push(c);
            }
        }
    }
    let mut columns = grouped.key_columns(&period_series)?;
    columns.push(text_column("metric", period_metrics.iter().map(|m| Some(*m))));
    columns.extend(period_columns(&period_rows));
    let seasonality = to_table(columns)?;
    let trends = build_output(grouped.key_columns(&trend_series)?, &trend_metrics, &trend_rows)?;
    let mut columns = grouped.key_columns(&change_series)?;
    columns.push(text_column("metric", change_metrics.iter().map(|m| Some(*m))));
    columns.push((
        Field::new("date", DataType::Date32, false),
        Arc::new(Date32Array::from_iter_values(changes.iter().map(|c| c.day))) as ArrayRef,
    ));
    columns.push(float_column("before_mean", changes.iter().map(|c| Some(c.before.0))));
    columns.push(float_column("after_mean", changes.iter().map(|c| Some(c.after.0))));
    columns.push(float_column("change", changes.iter().map(|c| Some(c.after.0 - c.before.0))));
    columns.push(float_column(
        "relative_change",
        changes.iter().map(|c| (c.before.0 != 0.0).then(|| (c.after.0 - c.before.0) / c.before.0.abs())),
    ));
    columns.push(float_column("before_sd", changes.iter().map(|c| Some(c.before.1))));
    columns.push(float_column("after_sd", changes.iter().map(|c| Some(c.after.1))));
    Ok(TrendAnalysis { seasonality, trends, change_points: to_table(columns)? })
}

fn one_series(
    points: Points,
    config: &AnalyzeConfig,
    trend_config: &TrendTestConfig,
) -> (usize, Vec<PeriodResult>, SeriesResult, Vec<Change>) {
    let s = series_seasonality(points, &config.seasonality);
    let Some((start, decomposed)) = &s.decomposed else {
        let reason = s.periods.first().map(|p| p.reason.clone()).unwrap_or_default();
        let status = s.periods.first().map_or("invalid", |p| p.status);
        let trend = SeriesResult { n: s.n, status, reason, mk: None, sen: None, ols: None };
        return (s.n, s.periods, trend, Vec::new());
    };
    let adjusted = decomposed.adjusted();
    let step = config.resolution_days;
    let means: Vec<f64> = adjusted.chunks_exact(step).map(|c| c.iter().sum::<f64>() / step as f64).collect();
    // Each average sits at the middle day of its chunk.
    let t: Vec<f64> =
        (0..means.len()).map(|i| f64::from(*start) + (i * step) as f64 + (step as f64 - 1.0) / 2.0).collect();
    let mut trend = test_series(Points { t, v: means.clone(), notes: s.notes.clone() }, trend_config);
    // The averages are finite and the parameters were checked, so PELT cannot fail; if it does, the
    // series says so instead of reporting no change.
    let found = match pelt(&means, &config.pelt) {
        Ok(points) => segments(&means, &points)
            .windows(2)
            .map(|w| Change {
                day: *start + (w[1].start * step) as i32,
                before: (w[0].mean, w[0].sd),
                after: (w[1].mean, w[1].sd),
            })
            .collect(),
        Err(e) => {
            trend.status = "invalid";
            trend.reason = format!("change points: {e}");
            Vec::new()
        }
    };
    (s.n, s.periods, trend, found)
}
