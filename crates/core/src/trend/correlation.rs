//! Correlation across metrics and lead-lag analysis.
//!
//! [`correlations`]: Pearson and Spearman (average ranks for ties) correlation of every pair of metrics,
//! per series (e.g. per account) and pooled over all rows, over the rows where both values are present
//! (pairwise complete, as pandas' `DataFrame.corr`), with the two-sided p-value of t = r √((n − 2) /
//! (1 − r²)) on n − 2 degrees of freedom, as scipy's `pearsonr` and `spearmanr` report it.
//!
//! [`lead_lag`]: does a candidate metric move before a target metric? Per series, both are put on a daily
//! grid, averaged over `resolution_days` and differenced (so shared trends do not pass for leadership),
//! and the cross-correlation r(Δx_t, Δy_{t+k}) is computed at lags k = 0..=`max_lag`. Across series the
//! Fisher transforms z = atanh r are combined with weights n − 3 (the inverse variance of z): the mean
//! correlation is tanh of the weighted mean, and Stouffer's Z = Σ √(n_i − 3) z_i / √m tests it. A leader is
//! the candidate with the strongest combined correlation at a lag of one step or more.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array};
use arrow::datatypes::{DataType, Field};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use super::series::{GapFill, Grouped, daily, float_column, int_column, text_column, to_table};
use crate::error::{Error, Result};
use crate::table::Table;

/// Correlation method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Pearson's product-moment correlation.
    Pearson,
    /// Spearman's rank correlation (Pearson on average ranks).
    Spearman,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Self::Pearson => "pearson",
            Self::Spearman => "spearman",
        }
    }
}

/// Which correlations to compute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorrelationConfig {
    /// Columns that identify a series; empty for pooled only.
    pub id_columns: Vec<String>,
    /// The numeric columns to correlate (every pair).
    pub value_columns: Vec<String>,
    /// Methods to report.
    pub methods: Vec<Method>,
    /// Report each series' own correlations.
    pub per_series: bool,
    /// Report correlations over all rows together.
    pub pooled: bool,
    /// Pairs with fewer complete rows get status `too_short`.
    pub min_points: usize,
}

impl Default for CorrelationConfig {
    fn default() -> Self {
        Self {
            id_columns: vec!["account_id".into()],
            value_columns: ["active_users", "logins", "sessions", "feature_events", "api_calls"]
                .map(String::from)
                .to_vec(),
            methods: vec![Method::Pearson, Method::Spearman],
            per_series: true,
            pooled: true,
            min_points: 10,
        }
    }
}

/// One correlation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Correlation {
    /// Complete pairs used.
    pub n: usize,
    /// The coefficient.
    pub r: f64,
    /// Two-sided p-value (Student t, n − 2 degrees of freedom).
    pub p_value: f64,
}

/// Pearson's r of two equally long slices with its p-value; `None` when n < 3 or a side is constant.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<Correlation> {
    let n = x.len();
    if n < 3 || y.len() != n {
        return None;
    }
    let (mx, my) = (x.iter().sum::<f64>() / n as f64, y.iter().sum::<f64>() / n as f64);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx <= 0.0 || syy <= 0.0 {
        return None;
    }
    let r = (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0);
    Some(Correlation { n, r, p_value: p_value(r, n) })
}

/// Spearman's rank correlation (average ranks for ties) with its p-value.
pub fn spearman(x: &[f64], y: &[f64]) -> Option<Correlation> {
    pearson(&ranks(x), &ranks(y))
}

/// Average ranks (1-based), ties sharing the mean of their positions.
pub(crate) fn ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut out = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]] == x[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            out[k] = rank;
        }
        i = j + 1;
    }
    out
}

fn p_value(r: f64, n: usize) -> f64 {
    if r.abs() >= 1.0 {
        return 0.0;
    }
    let df = (n - 2) as f64;
    let t = r * (df / (1.0 - r * r)).sqrt();
    StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |d| 2.0 * d.sf(t.abs()))
}

/// One output row of [`correlations`].
struct Row {
    series: Option<usize>,
    method: Method,
    a: usize,
    b: usize,
    n: usize,
    status: &'static str,
    result: Option<Correlation>,
}

/// Correlations of every pair of `value_columns`: one row per series (or pooled), method and pair with the
/// id columns (null on pooled rows), `scope` (`series` / `pooled`), `method`, `metric_a`, `metric_b`, `n`,
/// `status` (`ok`, `too_short`, `constant`), `r` and `p_value`.
pub fn correlations(table: &Table, config: &CorrelationConfig) -> Result<Table> {
    if config.value_columns.len() < 2 {
        return Err(Error::config("correlation.value_columns", "name at least two columns"));
    }
    if config.methods.is_empty() || !(config.per_series || config.pooled) {
        return Err(Error::config("correlation", "choose at least one method and one of per_series / pooled"));
    }
    let grouped = Grouped::by_ids(table, &config.id_columns)?;
    let values: Vec<_> = config.value_columns.iter().map(|c| grouped.float_values(c)).collect::<Result<_>>()?;
    let pairs: Vec<(usize, usize)> =
        (0..values.len()).flat_map(|a| (a + 1..values.len()).map(move |b| (a, b))).collect();
    let one = |series: Option<usize>, rows: &mut dyn Iterator<Item = usize>| -> Vec<Row> {
        let rows: Vec<usize> = rows.collect();
        let mut out = Vec::new();
        for &(a, b) in &pairs {
            let (va, vb) = (&values[a], &values[b]);
            let (x, y): (Vec<f64>, Vec<f64>) = rows
                .iter()
                .filter(|&&r| va.is_valid(r) && vb.is_valid(r))
                .map(|&r| (va.value(r), vb.value(r)))
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .unzip();
            for &method in &config.methods {
                let n = x.len();
                let (status, result) = if n < config.min_points.max(3) {
                    ("too_short", None)
                } else {
                    let r = match method {
                        Method::Pearson => pearson(&x, &y),
                        Method::Spearman => spearman(&x, &y),
                    };
                    (if r.is_some() { "ok" } else { "constant" }, r)
                };
                out.push(Row { series, method, a, b, n, status, result });
            }
        }
        out
    };
    let mut rows: Vec<Row> = Vec::new();
    if config.per_series && !config.id_columns.is_empty() {
        let per: Vec<Vec<Row>> = (0..grouped.groups.len())
            .into_par_iter()
            .map(|g| one(Some(g), &mut grouped.groups[g].iter().map(|&r| r as usize)))
            .collect();
        rows.extend(per.into_iter().flatten());
    }
    if config.pooled {
        rows.extend(one(None, &mut (0..grouped.num_rows())));
    }
    let series: Vec<Option<usize>> = rows.iter().map(|r| r.series).collect();
    let mut columns = grouped.key_columns_or_null(&series)?;
    columns.push(text_column("scope", rows.iter().map(|r| Some(if r.series.is_some() { "series" } else { "pooled" }))));
    columns.push(text_column("method", rows.iter().map(|r| Some(r.method.name()))));
    columns.push(text_column("metric_a", rows.iter().map(|r| Some(config.value_columns[r.a].as_str()))));
    columns.push(text_column("metric_b", rows.iter().map(|r| Some(config.value_columns[r.b].as_str()))));
    columns.push(int_column("n", rows.iter().map(|r| r.n as i64)));
    columns.push(text_column("status", rows.iter().map(|r| Some(r.status))));
    columns.push(float_column("r", rows.iter().map(|r| r.result.map(|c| c.r))));
    columns.push(float_column("p_value", rows.iter().map(|r| r.result.map(|c| c.p_value))));
    to_table(columns)
}

/// Which metrics lead a target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LeadLagConfig {
    /// Columns that identify a series.
    pub id_columns: Vec<String>,
    /// The date column.
    pub time_column: String,
    /// The metric to be led.
    pub target: String,
    /// The candidate leaders.
    pub candidates: Vec<String>,
    /// Days averaged into one step.
    pub resolution_days: usize,
    /// Largest lag, in steps.
    pub max_lag: usize,
    /// How missing days are filled.
    pub gap_fill: GapFill,
    /// Series with fewer steps (after differencing) than this are left out.
    pub min_points: usize,
}

impl Default for LeadLagConfig {
    fn default() -> Self {
        Self {
            id_columns: vec!["account_id".into()],
            time_column: "date".into(),
            target: "active_users".into(),
            candidates: ["logins", "sessions", "feature_events", "api_calls"].map(String::from).to_vec(),
            resolution_days: 7,
            max_lag: 8,
            gap_fill: GapFill::Linear,
            min_points: 20,
        }
    }
}

/// The outcome of [`lead_lag`].
#[derive(Debug, Clone)]
pub struct LeadLag {
    /// One row per candidate and lag: `candidate`, `lag` (steps), `lag_days`, `series`, `mean_r`, `z`,
    /// `p_value`.
    pub by_lag: Table,
    /// One row per candidate, strongest first: `rank`, `candidate`, `best_lag`, `best_lag_days`, `mean_r`,
    /// `z`, `p_value`, `contemporaneous_r` (lag 0).
    pub leaders: Table,
}

/// Cross-correlations of each candidate with the target at lags 0..=max_lag; see the module doc.
pub fn lead_lag(table: &Table, config: &LeadLagConfig) -> Result<LeadLag> {
    if config.candidates.is_empty() {
        return Err(Error::config("lead_lag.candidates", "name at least one column"));
    }
    if config.resolution_days == 0 || config.min_points < 4 {
        return Err(Error::config("lead_lag", "resolution_days must be >= 1 and min_points >= 4"));
    }
    let grouped = Grouped::new(table, &config.id_columns, &config.time_column)?;
    let target = grouped.values(&config.target)?;
    let lags = config.max_lag + 1;
    // Per candidate and lag: (Σ w z, Σ w, Σ √w z, series count).
    let mut sums = vec![vec![(0.0, 0.0, 0.0, 0usize); lags]; config.candidates.len()];
    for (c, name) in config.candidates.iter().enumerate() {
        let values = grouped.values(name)?;
        let per: Vec<Vec<Option<(f64, usize)>>> = (0..grouped.groups.len())
            .into_par_iter()
            .map(|g| {
                let steps = |v| -> Option<(i32, Vec<f64>)> {
                    let r = daily(&grouped.points(g, v), config.gap_fill).ok()?;
                    Some((r.start, r.values))
                };
                let (Some((sy, y)), Some((sx, x))) = (steps(&target), steps(&values)) else {
                    return vec![None; lags];
                };
                let (x, y) = aligned_differences(sx, &x, sy, &y, config.resolution_days);
                (0..lags)
                    .map(|k| {
                        if x.len() < config.min_points + k {
                            return None;
                        }
                        let c = pearson(&x[..x.len() - k], &y[k..])?;
                        Some((c.r, c.n))
                    })
                    .collect()
            })
            .collect();
        for series in per {
            for (k, v) in series.into_iter().enumerate() {
                if let Some((r, n)) = v {
                    let z = r.clamp(-0.999_999, 0.999_999).atanh();
                    let w = (n as f64 - 3.0).max(1.0);
                    let s = &mut sums[c][k];
                    s.0 += w * z;
                    s.1 += w;
                    s.2 += w.sqrt() * z;
                    s.3 += 1;
                }
            }
        }
    }
    let normal = Normal::new(0.0, 1.0).map_err(|e| Error::Internal(format!("normal: {e}")))?;
    let stat = |s: &(f64, f64, f64, usize)| -> Option<Combined> {
        (s.3 > 0).then(|| {
            let z = s.2 / (s.3 as f64).sqrt();
            Combined { series: s.3, mean_r: (s.0 / s.1).tanh(), z, p_value: 2.0 * normal.sf(z.abs()) }
        })
    };
    let step = config.resolution_days as i64;
    let by_lag: Vec<(usize, usize, Option<Combined>)> = sums
        .iter()
        .enumerate()
        .flat_map(|(c, per_lag)| per_lag.iter().enumerate().map(move |(k, s)| (c, k, s)))
        .map(|(c, k, s)| (c, k, stat(s)))
        .collect();
    let name = |c: usize| Some(config.candidates[c].as_str());
    let by_lag_table = to_table(vec![
        text_column("candidate", by_lag.iter().map(|r| name(r.0))),
        int_column("lag", by_lag.iter().map(|r| r.1 as i64)),
        int_column("lag_days", by_lag.iter().map(|r| r.1 as i64 * step)),
        int_column("series", by_lag.iter().map(|r| r.2.map_or(0, |s| s.series as i64))),
        float_column("mean_r", by_lag.iter().map(|r| r.2.map(|s| s.mean_r))),
        float_column("z", by_lag.iter().map(|r| r.2.map(|s| s.z))),
        float_column("p_value", by_lag.iter().map(|r| r.2.map(|s| s.p_value))),
    ])?;
    // Leaders: strongest |Z| at a lag of one step or more.
    let mut leaders: Vec<Leader> = sums
        .iter()
        .enumerate()
        .filter_map(|(c, per_lag)| {
            let (lag, best) = (1..lags)
                .filter_map(|k| stat(&per_lag[k]).map(|s| (k, s)))
                .max_by(|a, b| a.1.z.abs().total_cmp(&b.1.z.abs()))?;
            Some(Leader { candidate: c, lag, best, lag0: stat(&per_lag[0]).map(|s| s.mean_r) })
        })
        .collect();
    leaders.sort_by(|a, b| b.best.z.abs().total_cmp(&a.best.z.abs()).then(a.candidate.cmp(&b.candidate)));
    let leaders_table = to_table(vec![
        (
            Field::new("rank", DataType::Int64, false),
            Arc::new(Int64Array::from_iter_values(1..=leaders.len() as i64)) as ArrayRef,
        ),
        text_column("candidate", leaders.iter().map(|l| name(l.candidate))),
        int_column("best_lag", leaders.iter().map(|l| l.lag as i64)),
        int_column("best_lag_days", leaders.iter().map(|l| l.lag as i64 * step)),
        float_column("mean_r", leaders.iter().map(|l| Some(l.best.mean_r))),
        float_column("z", leaders.iter().map(|l| Some(l.best.z))),
        float_column("p_value", leaders.iter().map(|l| Some(l.best.p_value))),
        float_column("contemporaneous_r", leaders.iter().map(|l| l.lag0)),
    ])?;
    Ok(LeadLag { by_lag: by_lag_table, leaders: leaders_table })
}

/// Correlations of one candidate at one lag, combined across series.
#[derive(Debug, Clone, Copy)]
struct Combined {
    series: usize,
    mean_r: f64,
    z: f64,
    p_value: f64,
}

/// A candidate's strongest lag.
struct Leader {
    candidate: usize,
    lag: usize,
    best: Combined,
    lag0: Option<f64>,
}

/// The two daily series over their common days, averaged per `step` days and differenced.
fn aligned_differences(sx: i32, x: &[f64], sy: i32, y: &[f64], step: usize) -> (Vec<f64>, Vec<f64>) {
    let start = sx.max(sy);
    let end = (sx + x.len() as i32).min(sy + y.len() as i32);
    if end <= start {
        return (Vec::new(), Vec::new());
    }
    let cut = |s: i32, v: &[f64]| -> Vec<f64> {
        v[(start - s) as usize..(end - s) as usize]
            .chunks_exact(step)
            .map(|c| c.iter().sum::<f64>() / step as f64)
            .collect()
    };
    let diff = |v: Vec<f64>| v.windows(2).map(|w| w[1] - w[0]).collect::<Vec<f64>>();
    (diff(cut(sx, x)), diff(cut(sy, y)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pearson_and_spearman_match_scipy() {
        // scipy.stats.pearsonr / spearmanr on these vectors (scipy 1.17).
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 2.0, 5.0];
        let y = [2.1, 3.9, 6.2, 7.8, 9.7, 12.5, 13.1, 16.8, 3.0, 9.0];
        let p = pearson(&x, &y).unwrap();
        let s = spearman(&x, &y).unwrap();
        assert!((p.r - PEARSON.0).abs() < 1e-12 && (p.p_value - PEARSON.1).abs() < 1e-12, "{p:?}");
        assert!((s.r - SPEARMAN.0).abs() < 1e-12 && (s.p_value - SPEARMAN.1).abs() < 1e-12, "{s:?}");
        assert!(pearson(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]).is_none());
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), vec![3.5, 1.0, 3.5, 2.0]);
    }

    const PEARSON: (f64, f64) = (0.9917002181662796, 2.0554774257316687e-08);
    const SPEARMAN: (f64, f64) = (0.9939209163101398, 5.931422714952701e-09);
}
