//! Health trajectory: each account's health score 30 / 60 / 90 days after a snapshot, with a prediction
//! interval, and when it is expected to turn red.
//!
//! Two forecasters are fitted on the earlier snapshots and compared on the later (held-out) ones by the
//! mean pinball loss of their three quantiles; the better one is kept per horizon:
//! - quantile GBDT: three quantile regressions (lower, median, upper) of the score change on the
//!   point-in-time features (LightGBM's quantile objective, as `crate::gbdt` implements it);
//! - damped trend: the current score plus its last-30-day slope damped by `φ^j` per day (Gardner and
//!   McKenzie 1985), `φ` chosen on the training rows, with the training residuals' quantiles as interval.
//!
//! The kept forecaster's interval is then conformalised on the held-out rows (split conformal quantile
//! regression, Romano, Patterson and Candès 2019): both ends move by the `⌈(n+1)c⌉/n` quantile of
//! `max(lower − y, y − upper)`, so the interval covers `c` of new points when the future resembles the
//! held-out past. The probability of the red band comes from the piecewise-linear distribution through the
//! three quantiles.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Date32Array, Float64Array, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type, Field, Float64Type, Schema};
use serde::{Deserialize, Serialize};

use super::churn::{check_feature_set, feature_set, non_features};
use super::classifier::{Columns, datasets, model_features, split};
use crate::error::{Error, Result};
use crate::gbdt::{Booster, GbdtParams, Objective, Training};
use crate::progress::{Observer, Silent};
use crate::table::{Table, cast_strict, column, numeric_column};

/// How the trajectory model is trained. Deserializes from JSON (missing fields take the defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrajectoryConfig {
    /// Days ahead (30, 60, 90).
    pub horizons: Vec<u32>,
    /// Central coverage of the interval (0.8).
    pub coverage: f64,
    /// The quantile regressions (objective and alpha are set per model).
    pub gbdt: GbdtParams,
    /// Share of the latest rows held out for early stopping, the comparison and conformal calibration (0.3).
    pub holdout_share: f64,
    /// Scores below this are red (40, as the default scorecards).
    pub red_below: f64,
}

impl Default for TrajectoryConfig {
    fn default() -> Self {
        // The classifiers' trees without the L2 penalty (quantile leaves are refitted to residual quantiles).
        let gbdt = GbdtParams { lambda_l2: 0.0, ..super::classifier::default_trees() };
        Self { horizons: vec![30, 60, 90], coverage: 0.8, gbdt, holdout_share: 0.3, red_below: 40.0 }
    }
}

/// A forecaster of one horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Forecaster {
    /// Quantile GBDTs of the change in score: lower, median, upper.
    QuantileGbdt {
        /// The three models.
        models: Box<[Booster; 3]>,
    },
    /// Damped trend with residual quantiles.
    DampedTrend {
        /// Daily damping factor.
        phi: f64,
        /// Residual quantiles: lower, median, upper.
        residuals: [f64; 3],
    },
}

/// The kept forecaster of one horizon and how the two compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HorizonTrajectory {
    /// Days ahead.
    pub horizon: u32,
    /// The forecaster kept.
    pub forecaster: Forecaster,
    /// Conformal widening added to both ends.
    pub widening: f64,
    /// Held-out mean pinball loss of the quantile GBDT and of the damped trend.
    pub pinball: [f64; 2],
    /// Held-out coverage of the kept interval after widening.
    pub holdout_coverage: f64,
}

/// A fitted health-trajectory model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrajectoryModel {
    feature_set: String,
    coverage: f64,
    red_below: f64,
    horizons: Vec<HorizonTrajectory>,
}

fn floats(batch: &RecordBatch, name: &str) -> Result<Vec<f64>> {
    Ok(numeric_column(batch, name, "trajectory features")?.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// Per row of `batch` and horizon, the health score on the last scored day at or before `snapshot + h`
/// (and at most 7 days before it) from `health` (`account_id`, `date`, `score`).
pub fn health_targets(batch: &RecordBatch, health: &Table, horizons: &[u32]) -> Result<Vec<Vec<Option<f64>>>> {
    use std::collections::HashMap;
    let mut by_account: HashMap<String, Vec<(i32, f64)>> = HashMap::new();
    let mut offset = 0;
    for b in health.batches() {
        let strict = |name: &str, to: &DataType, what: &str| {
            cast_strict(column(b, name, "health")?, to, "health", name, what).map_err(|e| e.with_row_offset(offset))
        };
        let ids = cast(column(b, "account_id", "health")?, &DataType::Utf8)?;
        let ids = ids.as_string::<i32>();
        let days = strict("date", &DataType::Date32, "a date")?;
        let days = days.as_primitive::<Date32Type>();
        let scores = strict("score", &DataType::Float64, "a number")?;
        let scores = scores.as_primitive::<Float64Type>();
        for i in 0..b.num_rows() {
            if let (Some(id), Some(d), Some(s)) = (
                ids.is_valid(i).then(|| ids.value(i)),
                days.is_valid(i).then(|| days.value(i)),
                scores.is_valid(i).then(|| scores.value(i)),
            ) {
                by_account.entry(id.to_string()).or_default().push((d, s));
            }
        }
        offset += b.num_rows();
    }
    by_account.values_mut().for_each(|v| v.sort_by_key(|x| x.0));
    let ids = column(batch, "account_id", "trajectory features")?.as_string::<i32>().clone();
    let days = column(batch, "snapshot_date", "trajectory features")?.as_primitive::<Date32Type>().clone();
    Ok(horizons
        .iter()
        .map(|&h| {
            (0..batch.num_rows())
                .map(|i| {
                    let series = by_account.get(ids.value(i))?;
                    let at = days.value(i) + h as i32;
                    let k = series.partition_point(|x| x.0 <= at).checked_sub(1)?;
                    (series[k].0 >= at - 7).then_some(series[k].1)
                })
                .collect()
        })
        .collect())
}

fn pinball(y: &[f64], q: &[[f64; 3]], alphas: [f64; 3]) -> f64 {
    let mut total = 0.0;
    for (y, q) in y.iter().zip(q) {
        for (qk, a) in q.iter().zip(alphas) {
            let d = y - qk;
            total += if d >= 0.0 { a * d } else { (a - 1.0) * d };
        }
    }
    total / (3 * y.len().max(1)) as f64
}

/// Empirical quantile (linear interpolation) of unsorted values.
fn quantile(values: &[f64], a: f64) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return 0.0;
    }
    let pos = a.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

fn damped_sum(phi: f64, days: u32) -> f64 {
    if (phi - 1.0).abs() < 1e-12 { f64::from(days) } else { phi * (1.0 - phi.powi(days as i32)) / (1.0 - phi) }
}

impl Forecaster {
    /// Lower, median and upper score for the rows (`score`, `slope` per day; the features for the GBDT),
    /// sorted when the quantile models cross (rearrangement, Chernozhukov, Fernández-Val and Galichon 2010).
    fn quantiles(
        &self,
        features: Option<&crate::gbdt::Features>,
        score: &[f64],
        slope: &[f64],
        days: u32,
    ) -> Result<Vec<[f64; 3]>> {
        match self {
            Self::QuantileGbdt { models } => {
                let features = features.ok_or_else(|| Error::Internal("quantile GBDT without features".into()))?;
                let q: Vec<Vec<f64>> = models.iter().map(|m| m.predict(features, false)).collect::<Result<_>>()?;
                Ok((0..score.len())
                    .map(|i| {
                        let mut row: [f64; 3] = std::array::from_fn(|k| score[i] + q[k][i]);
                        row.sort_by(f64::total_cmp);
                        row
                    })
                    .collect())
            }
            Self::DampedTrend { phi, residuals } => {
                let s = damped_sum(*phi, days);
                Ok((0..score.len())
                    .map(|i| {
                        let slope = if slope[i].is_finite() { slope[i] } else { 0.0 };
                        let point = score[i] + slope * s;
                        std::array::from_fn(|k| point + residuals[k])
                    })
                    .collect())
            }
        }
    }
}

impl TrajectoryModel {
    /// Fits both forecasters per horizon on the rows of `features` that have a health score now and a
    /// target in `health`, keeps the better on the held-out (latest) rows and conformalises its interval.
    pub fn fit(features: &Table, health: &Table, config: &TrajectoryConfig) -> Result<Self> {
        Self::fit_observed(features, health, config, &Silent)
    }

    /// [`TrajectoryModel::fit`] reporting the boosting rounds of each quantile model (task
    /// `"trajectory 30d q0.50"`) to `observer`, which may cancel it.
    pub fn fit_observed(
        features: &Table,
        health: &Table,
        config: &TrajectoryConfig,
        observer: &dyn Observer,
    ) -> Result<Self> {
        if !(config.coverage > 0.0 && config.coverage < 1.0) {
            return Err(Error::config("trajectory.coverage", format!("expected (0, 1), got {}", config.coverage)));
        }
        let batch = features.concat()?;
        let targets = health_targets(&batch, health, &config.horizons)?;
        let (score, change) = (floats(&batch, "health_score")?, floats(&batch, "health_change_30")?);
        let slope: Vec<f64> = change.iter().map(|c| c / 30.0).collect();
        let excluded = non_features(&batch);
        let exclude: Vec<&str> = excluded.iter().map(String::as_str).collect();
        let a = (1.0 - config.coverage) / 2.0;
        let alphas = [a, 0.5, 1.0 - a];
        let mut horizons = Vec::new();
        for (&h, target) in config.horizons.iter().zip(&targets) {
            let delta: Vec<Option<f64>> =
                target.iter().zip(&score).map(|(t, s)| t.filter(|_| s.is_finite()).map(|t| t - s)).collect();
            let rows: Vec<usize> = (0..delta.len()).filter(|&i| delta[i].is_some()).collect();
            if rows.len() < 200 {
                return Err(Error::invalid(
                    "trajectory",
                    format!("{} rows have a health score and one {h} days later: at least 200 are needed", rows.len()),
                ));
            }
            let (train, holdout) = split(&batch, rows, Some("snapshot_date"), config.holdout_share, config.gbdt.seed)?;
            let label = format!("health_change_{h}d");
            let columns = Columns { label: &label, time: Some("snapshot_date"), exclude: &exclude };
            let mut models = Vec::new();
            let mut valid_features = None;
            for alpha in alphas {
                let params = GbdtParams { objective: Objective::Quantile, alpha, ..config.gbdt.clone() };
                let (t, v) = datasets(&batch, &delta, columns, (&train, &holdout), &params)?;
                let task = format!("trajectory {h}d q{alpha:.2}");
                models.push(Training::new(&params, &t).with_validation(&v).with_observer(observer, &task).run()?);
                valid_features = Some(v.features);
            }
            let valid_features = valid_features.ok_or_else(|| Error::Internal("no quantile model".into()))?;
            let models: [Booster; 3] =
                models.try_into().map_err(|_| Error::Internal("three quantile models".into()))?;
            let gbdt = Forecaster::QuantileGbdt { models: Box::new(models) };

            // Damped trend: φ by the training rows' mean absolute error, residual quantiles from them.
            let at = |rows: &[usize], v: &[f64]| rows.iter().map(|&i| v[i]).collect::<Vec<f64>>();
            let y_train: Vec<f64> = train.iter().map(|&i| target[i].unwrap_or(f64::NAN)).collect();
            let (s_train, m_train) = (at(&train, &score), at(&train, &slope));
            let residuals_for = |phi: f64| -> Vec<f64> {
                let sum = damped_sum(phi, h);
                (0..train.len())
                    .map(|i| y_train[i] - (s_train[i] + if m_train[i].is_finite() { m_train[i] } else { 0.0 } * sum))
                    .collect()
            };
            let phi = [0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 1.0]
                .into_iter()
                .min_by(|a, b| {
                    let mae = |p: f64| residuals_for(p).iter().map(|r| r.abs()).sum::<f64>();
                    mae(*a).total_cmp(&mae(*b))
                })
                .unwrap_or(1.0);
            let r = residuals_for(phi);
            let damped = Forecaster::DampedTrend { phi, residuals: alphas.map(|a| quantile(&r, a)) };

            let y_hold: Vec<f64> = holdout.iter().map(|&i| target[i].unwrap_or(f64::NAN)).collect();
            let (s_hold, m_hold) = (at(&holdout, &score), at(&holdout, &slope));
            let q_gbdt = gbdt.quantiles(Some(&valid_features), &s_hold, &m_hold, h)?;
            let q_damped = damped.quantiles(None, &s_hold, &m_hold, h)?;
            let pinball_loss = [pinball(&y_hold, &q_gbdt, alphas), pinball(&y_hold, &q_damped, alphas)];
            let (forecaster, q) = if pinball_loss[0] <= pinball_loss[1] { (gbdt, q_gbdt) } else { (damped, q_damped) };
            let errors: Vec<f64> = y_hold.iter().zip(&q).map(|(y, q)| (q[0] - y).max(y - q[2])).collect();
            let n = errors.len() as f64;
            let widening = quantile(&errors, ((n + 1.0) * config.coverage).ceil().min(n) / n);
            let covered =
                y_hold.iter().zip(&q).filter(|(y, q)| q[0] - widening <= **y && **y <= q[2] + widening).count();
            horizons.push(HorizonTrajectory {
                horizon: h,
                forecaster,
                widening,
                pinball: pinball_loss,
                holdout_coverage: covered as f64 / n,
            });
        }
        Ok(Self {
            feature_set: feature_set(features),
            coverage: config.coverage,
            red_below: config.red_below,
            horizons,
        })
    }

    /// The kept forecaster per horizon.
    pub fn horizons(&self) -> &[HorizonTrajectory] {
        &self.horizons
    }

    /// The feature-set version it was trained on.
    pub fn feature_set(&self) -> &str {
        &self.feature_set
    }

    /// Per row: `account_id`, `snapshot_date`, `health_score`, per horizon `h` the `health_<h>d` median
    /// forecast with its interval `health_low_<h>d` / `health_high_<h>d` (clamped to 0..100) and
    /// `red_probability_<h>d`; `red_by` (the first day the median path, linear between the horizons,
    /// falls below the red band; null when it does not within the last horizon) and `red_by_probability`
    /// (the red probability at the first horizon on or after that day). Rows without a health score get
    /// nulls.
    pub fn predict(&self, features: &Table) -> Result<Table> {
        check_feature_set(&self.feature_set, features, "trajectory features")?;
        let batch = features.concat()?;
        let (score, change) = (floats(&batch, "health_score")?, floats(&batch, "health_change_30")?);
        let slope: Vec<f64> = change.iter().map(|c| c / 30.0).collect();
        let days = column(&batch, "snapshot_date", "trajectory features")?.as_primitive::<Date32Type>().clone();
        let a = (1.0 - self.coverage) / 2.0;
        let mut fields = vec![
            Field::new("account_id", DataType::Utf8, true),
            Field::new("snapshot_date", DataType::Date32, true),
            Field::new("health_score", DataType::Float64, true),
        ];
        let mut columns: Vec<ArrayRef> = vec![
            column(&batch, "account_id", "trajectory features")?.clone(),
            Arc::new(days.clone()),
            Arc::new(Float64Array::from_iter(score.iter().map(|s| s.is_finite().then_some(*s)))),
        ];
        let mut medians: Vec<Vec<f64>> = Vec::new();
        let mut red: Vec<Vec<f64>> = Vec::new();
        for h in &self.horizons {
            let features = match &h.forecaster {
                Forecaster::QuantileGbdt { models } => Some(model_features(&batch, models[0].features())?),
                Forecaster::DampedTrend { .. } => None,
            };
            let q = h.forecaster.quantiles(features.as_ref(), &score, &slope, h.horizon)?;
            let clamp = |v: f64, ok: bool| ok.then_some(v.clamp(0.0, 100.0));
            let ok: Vec<bool> = score.iter().map(|s| s.is_finite()).collect();
            let lows: Vec<f64> = q.iter().map(|q| q[0] - h.widening).collect();
            let highs: Vec<f64> = q.iter().map(|q| q[2] + h.widening).collect();
            let mids: Vec<f64> = q.iter().map(|q| q[1]).collect();
            let p_red: Vec<f64> =
                (0..q.len()).map(|i| below(self.red_below, [lows[i], mids[i], highs[i]], a)).collect();
            for (name, values) in [
                (format!("health_{}d", h.horizon), &mids),
                (format!("health_low_{}d", h.horizon), &lows),
                (format!("health_high_{}d", h.horizon), &highs),
            ] {
                fields.push(Field::new(name, DataType::Float64, true));
                columns.push(Arc::new(Float64Array::from_iter(values.iter().zip(&ok).map(|(v, ok)| clamp(*v, *ok)))));
            }
            fields.push(Field::new(format!("red_probability_{}d", h.horizon), DataType::Float64, true));
            columns.push(Arc::new(Float64Array::from_iter(p_red.iter().zip(&ok).map(|(p, ok)| ok.then_some(*p)))));
            medians.push(mids);
            red.push(p_red);
        }
        let mut red_by = Vec::with_capacity(batch.num_rows());
        let mut red_by_p = Vec::with_capacity(batch.num_rows());
        for i in 0..batch.num_rows() {
            let (mut prev_day, mut prev) = (0.0, score[i]);
            let mut found = None;
            for (k, h) in self.horizons.iter().enumerate() {
                let (day, next) = (f64::from(h.horizon), medians[k][i].clamp(0.0, 100.0));
                if prev.is_finite() && next < self.red_below {
                    let frac = if prev <= self.red_below { 0.0 } else { (prev - self.red_below) / (prev - next) };
                    found = Some((days.value(i) + (prev_day + frac * (day - prev_day)).round() as i32, red[k][i]));
                    break;
                }
                (prev_day, prev) = (day, next);
            }
            red_by.push(found.map(|f| f.0));
            red_by_p.push(found.map(|f| f.1));
        }
        fields.push(Field::new("red_by", DataType::Date32, true));
        columns.push(Arc::new(Date32Array::from(red_by)));
        fields.push(Field::new("red_by_probability", DataType::Float64, true));
        columns.push(Arc::new(Float64Array::from(red_by_p)));
        Ok(Table::from_batch(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?))
    }
}

/// P(score < `red`) from the piecewise-linear distribution through (low, a), (median, 0.5), (high, 1 − a),
/// extended linearly beyond and clamped to [0, 1].
fn below(red: f64, q: [f64; 3], a: f64) -> f64 {
    let points = [(q[0], a), (q[1], 0.5), (q[2], 1.0 - a)];
    let interpolate = |(x0, p0): (f64, f64), (x1, p1): (f64, f64)| {
        if x1 > x0 {
            p0 + (p1 - p0) * (red - x0) / (x1 - x0)
        } else if red < x0 {
            p0
        } else {
            p1
        }
    };
    let p = if red <= q[1] { interpolate(points[0], points[1]) } else { interpolate(points[1], points[2]) };
    p.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn red_probability_follows_the_quantiles() {
        assert!((below(40.0, [30.0, 50.0, 70.0], 0.1) - 0.3).abs() < 1e-12);
        assert!((below(50.0, [30.0, 50.0, 70.0], 0.1) - 0.5).abs() < 1e-12);
        assert_eq!(below(0.0, [30.0, 50.0, 70.0], 0.1), 0.0);
        assert_eq!(below(100.0, [30.0, 50.0, 70.0], 0.1), 1.0);
    }

    #[test]
    fn damping_sums_the_geometric_series() {
        assert!((damped_sum(0.5, 3) - (0.5 + 0.25 + 0.125)).abs() < 1e-12);
        assert_eq!(damped_sum(1.0, 30), 30.0);
    }
}
