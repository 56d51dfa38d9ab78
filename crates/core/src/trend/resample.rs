//! Series utilities: resampling to days, weeks, months, quarters or years; rolling windows over calendar
//! days; period-over-period change (WoW, MoM, QoQ, YoY). Definitions follow pandas, which the Python tests
//! compare against: `resample(rule).agg(...)` with weeks starting on Monday (`W-MON`, labelled by the first
//! day) and periods labelled by their first day; `rolling("<n>D", min_periods=m)` over the days up to and
//! including each day; `pct_change(periods=k)`.
//!
//! Every series gets a complete calendar from its first to its last period; a period without rows gets
//! `rows` = 0 and a value by `fill` (null by default, or 0, the previous value, or linear interpolation),
//! so a gap is visible rather than silently skipped.

use chrono::{Datelike, NaiveDate};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::series::{Grouped, epoch_date, float_column, int_column, to_table};
use crate::contracts::days_since_epoch;
use crate::error::{Error, Result};
use crate::table::Table;

/// The calendar unit of a resampled series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    /// Calendar days.
    Day,
    /// Weeks from Monday (ISO).
    #[default]
    Week,
    /// Calendar months.
    Month,
    /// Calendar quarters.
    Quarter,
    /// Calendar years.
    Year,
}

/// How the rows of one period become one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// Sum of the values.
    Sum,
    /// Mean of the values.
    #[default]
    Mean,
    /// The value of the latest row.
    Last,
    /// Smallest value.
    Min,
    /// Largest value.
    Max,
}

/// The value of a period without rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fill {
    /// Null.
    #[default]
    Null,
    /// 0 (no rows means none of it, e.g. no usage).
    Zero,
    /// The previous period's value.
    Previous,
    /// Linear interpolation between the neighbouring periods with values.
    Linear,
}

/// What to resample and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResampleConfig {
    /// Columns that identify a series.
    pub id_columns: Vec<String>,
    /// The date or timestamp column.
    pub time_column: String,
    /// The numeric columns to resample.
    pub value_columns: Vec<String>,
    /// The calendar unit.
    pub frequency: Frequency,
    /// How rows become a period's value.
    pub aggregation: Aggregation,
    /// The value of periods without rows.
    pub fill: Fill,
    /// Period-over-period changes to add, in periods (e.g. `[1, 52]` on weeks: WoW and YoY); each adds
    /// `<metric>_change_<k>` (difference) and `<metric>_pct_change_<k>` (relative, as pandas'
    /// `pct_change(k, fill_method=None)`, except null where the earlier value is 0: pandas gives ±inf or
    /// NaN there).
    pub changes: Vec<usize>,
    /// Rolling windows to add, in periods: each adds `<metric>_rolling_mean_<k>` over the last k periods
    /// including the current one (null until k periods exist, as pandas' `rolling(k).mean()`).
    pub rolling: Vec<usize>,
}

impl Default for ResampleConfig {
    fn default() -> Self {
        Self {
            id_columns: vec!["account_id".into()],
            time_column: "date".into(),
            value_columns: vec!["active_users".into()],
            frequency: Frequency::Week,
            aggregation: Aggregation::Mean,
            fill: Fill::Null,
            changes: Vec::new(),
            rolling: Vec::new(),
        }
    }
}

impl Frequency {
    /// The unit's name for SQL's `date_trunc`.
    pub fn sql_unit(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
            Self::Quarter => "quarter",
            Self::Year => "year",
        }
    }

    /// The first day (days since 1970-01-01) of the period holding `day`, and of the period after it.
    fn bounds(self, day: i64) -> Option<(i64, i64)> {
        let d = epoch_date(day)?;
        let first = |y: i32, m: u32| NaiveDate::from_ymd_opt(y, m, 1).map(|d| i64::from(days_since_epoch(d)));
        Some(match self {
            Self::Day => (day, day + 1),
            Self::Week => {
                let start = day - i64::from(d.weekday().num_days_from_monday());
                (start, start + 7)
            }
            Self::Month => {
                let (y, m) = (d.year(), d.month());
                (first(y, m)?, if m == 12 { first(y + 1, 1)? } else { first(y, m + 1)? })
            }
            Self::Quarter => {
                let (y, q) = (d.year(), (d.month() - 1) / 3);
                (first(y, 3 * q + 1)?, if q == 3 { first(y + 1, 1)? } else { first(y, 3 * q + 4)? })
            }
            Self::Year => (first(d.year(), 1)?, first(d.year() + 1, 1)?),
        })
    }
}

/// Resamples every series of `table`: one row per series and period with the id columns, `period_start`
/// (date), `rows` (input rows with a time in the period) and per metric its value (rows with a null or
/// non-finite value do not count towards it), plus the requested changes and rolling means.
pub fn resample(table: &Table, config: &ResampleConfig) -> Result<Table> {
    if config.value_columns.is_empty() {
        return Err(Error::config("resample.value_columns", "name at least one column"));
    }
    if let Some(k) = config.changes.iter().chain(&config.rolling).find(|k| **k == 0) {
        return Err(Error::config("resample.changes / rolling", format!("periods must be at least 1, got {k}")));
    }
    let grouped = Grouped::new(table, &config.id_columns, &config.time_column)?;
    let values: Vec<_> = config.value_columns.iter().map(|c| grouped.values(c)).collect::<Result<_>>()?;
    let out: Vec<Result<Resampled>> =
        (0..grouped.groups.len()).into_par_iter().map(|g| resample_series(&grouped, g, &values, config)).collect();
    let mut series = Vec::new();
    let mut starts = Vec::new();
    let mut rows = Vec::new();
    let mut metrics: Vec<Vec<Option<f64>>> = vec![Vec::new(); values.len()];
    for (g, r) in out.into_iter().enumerate() {
        let r = r?;
        series.extend(std::iter::repeat_n(g, r.starts.len()));
        starts.extend(r.starts);
        rows.extend(r.rows);
        for (m, v) in r.values.into_iter().enumerate() {
            metrics[m].extend(v);
        }
    }
    let mut columns = grouped.key_columns(&series)?;
    columns.push((
        arrow::datatypes::Field::new("period_start", arrow::datatypes::DataType::Date32, false),
        std::sync::Arc::new(arrow::array::Date32Array::from_iter_values(starts.iter().map(|d| *d as i32))),
    ));
    columns.push(int_column("rows", rows.iter().map(|r| *r as i64)));
    for (m, name) in config.value_columns.iter().enumerate() {
        let v = &metrics[m];
        columns.push(float_column(name, v.iter().copied()));
        for &k in &config.changes {
            let prev = |i: usize| if i >= k && series[i] == series[i - k] { v[i - k] } else { None };
            columns.push(float_column(&format!("{name}_change_{k}"), (0..v.len()).map(|i| Some(v[i]? - prev(i)?))));
            columns.push(float_column(
                &format!("{name}_pct_change_{k}"),
                (0..v.len()).map(|i| {
                    let p = prev(i)?;
                    (p != 0.0).then(|| v[i].map(|c| c / p - 1.0)).flatten()
                }),
            ));
        }
        for &k in &config.rolling {
            columns.push(float_column(
                &format!("{name}_rolling_mean_{k}"),
                (0..v.len()).map(|i| {
                    if i + 1 < k || series[i + 1 - k] != series[i] {
                        return None;
                    }
                    let window = &v[i + 1 - k..=i];
                    window.iter().copied().sum::<Option<f64>>().map(|s| s / k as f64)
                }),
            ));
        }
    }
    to_table(columns)
}

/// One resampled series.
struct Resampled {
    starts: Vec<i64>,
    rows: Vec<usize>,
    values: Vec<Vec<Option<f64>>>,
}

fn resample_series(
    grouped: &Grouped,
    g: usize,
    values: &[super::series::ValueColumn],
    config: &ResampleConfig,
) -> Result<Resampled> {
    // Periods from the series' first to last time, whatever metric.
    let days: Vec<i64> =
        grouped.groups[g].iter().filter_map(|&r| grouped.days[r as usize].map(|t| t.floor() as i64)).collect();
    let (Some(&lo), Some(&hi)) = (days.iter().min(), days.iter().max()) else {
        return Ok(Resampled { starts: Vec::new(), rows: Vec::new(), values: vec![Vec::new(); values.len()] });
    };
    let bad = || Error::invalid("resample", format!("day {lo}..{hi} is outside the calendar"));
    let mut starts = Vec::new();
    let mut day = lo;
    while day <= hi {
        let (start, next) = config.frequency.bounds(day).ok_or_else(bad)?;
        starts.push(start);
        day = next;
    }
    let index = |d: i64| -> Option<usize> {
        let p = starts.partition_point(|s| *s <= d);
        p.checked_sub(1)
    };
    let mut rows = vec![0usize; starts.len()];
    for d in &days {
        if let Some(i) = index(*d) {
            rows[i] += 1;
        }
    }
    let mut out = Vec::with_capacity(values.len());
    for v in values {
        let points = grouped.points(g, v);
        // (sum, count, last time, last value, min, max) per period.
        let mut acc = vec![(0.0, 0usize, f64::NEG_INFINITY, 0.0, f64::INFINITY, f64::NEG_INFINITY); starts.len()];
        for (t, x) in points.t.iter().zip(&points.v) {
            let Some(i) = index(t.floor() as i64) else { continue };
            let a = &mut acc[i];
            a.0 += x;
            a.1 += 1;
            if *t >= a.2 {
                (a.2, a.3) = (*t, *x);
            }
            a.4 = a.4.min(*x);
            a.5 = a.5.max(*x);
        }
        let mut value: Vec<Option<f64>> = acc
            .iter()
            .map(|a| {
                (a.1 > 0).then(|| match config.aggregation {
                    Aggregation::Sum => a.0,
                    Aggregation::Mean => a.0 / a.1 as f64,
                    Aggregation::Last => a.3,
                    Aggregation::Min => a.4,
                    Aggregation::Max => a.5,
                })
            })
            .collect();
        fill(&mut value, config.fill);
        out.push(value);
    }
    Ok(Resampled { starts, rows, values: out })
}

/// Fills the periods without a value by the policy.
fn fill(v: &mut [Option<f64>], policy: Fill) {
    match policy {
        Fill::Null => {}
        Fill::Zero => v.iter_mut().filter(|x| x.is_none()).for_each(|x| *x = Some(0.0)),
        Fill::Previous => {
            for i in 1..v.len() {
                if v[i].is_none() {
                    v[i] = v[i - 1];
                }
            }
        }
        Fill::Linear => {
            let mut prev: Option<usize> = None;
            for i in 0..v.len() {
                if let Some(x) = v[i] {
                    if let Some(p) = prev.filter(|p| i > p + 1) {
                        let a = v[p].unwrap_or(x);
                        for (j, slot) in v.iter_mut().enumerate().take(i).skip(p + 1) {
                            *slot = Some(a + (x - a) * (j - p) as f64 / (i - p) as f64);
                        }
                    }
                    prev = Some(i);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_bounds() {
        let day = |y, m, d| i64::from(NaiveDate::from_ymd_opt(y, m, d).map_or(0, days_since_epoch));
        // 2024-02-29 is a Thursday.
        let t = day(2024, 2, 29);
        assert_eq!(Frequency::Week.bounds(t), Some((day(2024, 2, 26), day(2024, 3, 4))));
        assert_eq!(Frequency::Month.bounds(t), Some((day(2024, 2, 1), day(2024, 3, 1))));
        assert_eq!(Frequency::Quarter.bounds(t), Some((day(2024, 1, 1), day(2024, 4, 1))));
        assert_eq!(Frequency::Year.bounds(day(2024, 12, 31)), Some((day(2024, 1, 1), day(2025, 1, 1))));
        assert_eq!(Frequency::Month.bounds(day(2024, 12, 5)), Some((day(2024, 12, 1), day(2025, 1, 1))));
    }

    #[test]
    fn fill_policies() {
        let v = vec![Some(1.0), None, None, Some(4.0), None];
        let run = |p| {
            let mut x = v.clone();
            fill(&mut x, p);
            x
        };
        assert_eq!(run(Fill::Linear), vec![Some(1.0), Some(2.0), Some(3.0), Some(4.0), None]);
        assert_eq!(run(Fill::Previous), vec![Some(1.0), Some(1.0), Some(1.0), Some(4.0), Some(4.0)]);
        assert_eq!(run(Fill::Zero)[1], Some(0.0));
        assert_eq!(run(Fill::Null), v);
    }
}
