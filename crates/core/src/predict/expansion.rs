//! Expansion: per horizon, the calibrated probability that an account expands (a [`BinaryClassifier`]
//! on `expansion_<h>d`), the MRR it adds if it does (L2 regression on the rows that expanded, with 10% and
//! 90% quantile regressions for an 80% interval), their product as the expected expansion MRR, and a
//! portfolio forecast: the sum over accounts with an 80% interval from the variance of a sum of
//! independent "expands × amount" variables (normal approximation; the amount's spread is read from the
//! quantile interval as a normal's).

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Date32Array, Float64Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Date32Type, Field, Schema};
use serde::{Deserialize, Serialize};

use super::churn::{check_feature_set, feature_set, non_features};
use super::classifier::{BinaryClassifier, ClassifierConfig, Columns, datasets, label_values, split};
use crate::error::{Error, Result};
use crate::gbdt::{Booster, GbdtParams, Objective, Training};
use crate::progress::{Observer, Silent, model_error};
use crate::table::{Table, column, numeric_column};

/// z of the 90% quantile of the standard normal: an 80% central interval is ±1.2816 σ.
const Z80: f64 = 1.281_551_565_544_600_5;

/// How the expansion model is trained. Deserializes from JSON (missing fields take the defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExpansionConfig {
    /// Horizons in days; each needs `expansion_<h>d` and `expansion_mrr_<h>d` columns (30, 90, 365).
    pub horizons: Vec<u32>,
    /// The probability model of each horizon (threshold at the best F1 by default).
    pub classifier: ClassifierConfig,
    /// The amount models (the objective is set per model: L2 for the mean, quantile for the interval).
    pub amount: GbdtParams,
}

impl Default for ExpansionConfig {
    fn default() -> Self {
        let classifier = ClassifierConfig { threshold: super::ThresholdTarget::MaxF1, ..ClassifierConfig::default() };
        let amount = GbdtParams { min_data_in_leaf: 20, ..classifier.gbdt.clone() };
        Self { horizons: vec![30, 90, 365], classifier, amount }
    }
}

/// The models of one horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HorizonExpansion {
    /// Days.
    pub horizon: u32,
    /// Probability of expanding.
    pub classifier: BinaryClassifier,
    /// Mean added MRR given an expansion.
    pub amount: Booster,
    /// 10% quantile of the added MRR.
    pub low: Booster,
    /// 90% quantile of the added MRR.
    pub high: Booster,
}

/// A fitted expansion model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpansionModel {
    feature_set: String,
    horizons: Vec<HorizonExpansion>,
}

fn amounts(batch: &RecordBatch, name: &str) -> Result<Vec<Option<f64>>> {
    Ok(numeric_column(batch, name, "expansion features")?.iter().collect())
}

impl ExpansionModel {
    /// Trains the models of every horizon on a feature table with labels.
    pub fn fit(features: &Table, config: &ExpansionConfig) -> Result<Self> {
        Self::fit_observed(features, config, &Silent)
    }

    /// [`ExpansionModel::fit`] reporting the boosting rounds of each model (tasks `"expansion 90d"`,
    /// `"expansion amount 90d"`, ...) to `observer`, which may cancel it.
    pub fn fit_observed(features: &Table, config: &ExpansionConfig, observer: &dyn Observer) -> Result<Self> {
        let batch = features.concat()?;
        let excluded = non_features(&batch);
        let exclude: Vec<&str> = excluded.iter().map(String::as_str).collect();
        let mut horizons = Vec::new();
        for &h in &config.horizons {
            let (label, mrr) = (format!("expansion_{h}d"), format!("expansion_mrr_{h}d"));
            let columns = Columns { label: &label, time: Some("snapshot_date"), exclude: &exclude };
            let context = |e: Error| model_error(|e| format!("expansion model for {h} days: {e}"))(e);
            let task = format!("expansion {h}d");
            let classifier = BinaryClassifier::fit_observed(&batch, columns, &config.classifier, observer, &task)
                .map_err(context)?;
            // Amounts: rows that expanded, with the same time split.
            let expanded = label_values(&batch, &label)?;
            let added = amounts(&batch, &mrr)?;
            let target: Vec<Option<f64>> =
                expanded.iter().zip(&added).map(|(e, a)| if *e == Some(1.0) { *a } else { None }).collect();
            let rows: Vec<usize> = (0..target.len()).filter(|&i| target[i].is_some()).collect();
            if rows.len() < 50 {
                return Err(context(Error::invalid(
                    &mrr,
                    format!("{} expansions: at least 50 are needed", rows.len()),
                )));
            }
            let share = config.classifier.holdout_share;
            let (train, holdout) = split(&batch, rows, Some("snapshot_date"), share, config.amount.seed)?;
            let amount_columns = Columns { label: &mrr, time: Some("snapshot_date"), exclude: &exclude };
            let fit = |objective: Objective, alpha: f64, what: &str| -> Result<Booster> {
                let params = GbdtParams { objective, alpha, ..config.amount.clone() };
                let (t, v) = datasets(&batch, &target, amount_columns, (&train, &holdout), &params)?;
                let task = format!("expansion {what} {h}d");
                Training::new(&params, &t).with_validation(&v).with_observer(observer, &task).run()
            };
            horizons.push(HorizonExpansion {
                horizon: h,
                classifier,
                amount: fit(Objective::Regression, 0.9, "amount").map_err(context)?,
                low: fit(Objective::Quantile, 0.1, "amount low").map_err(context)?,
                high: fit(Objective::Quantile, 0.9, "amount high").map_err(context)?,
            });
        }
        Ok(Self { feature_set: feature_set(features), horizons })
    }

    /// The feature-set version it was trained on.
    pub fn feature_set(&self) -> &str {
        &self.feature_set
    }

    /// The models by horizon.
    pub fn horizons(&self) -> &[HorizonExpansion] {
        &self.horizons
    }

    /// The rows of `features` as one batch, and per horizon: probability (monotone across horizons),
    /// amount, low and high.
    #[allow(clippy::type_complexity)]
    fn components(&self, features: &Table) -> Result<(RecordBatch, Vec<[Vec<f64>; 4]>)> {
        check_feature_set(&self.feature_set, features, "expansion features")?;
        let batch = features.concat()?;
        let mut out: Vec<[Vec<f64>; 4]> = Vec::new();
        for h in &self.horizons {
            let features = h.classifier.features(&batch)?;
            let mut p = h.classifier.predict_proba_features(&features)?;
            if let Some(prev) = out.last() {
                p.iter_mut().zip(&prev[0]).for_each(|(v, before)| *v = v.max(*before));
            }
            let amount: Vec<f64> = h.amount.predict(&features, false)?.iter().map(|a| a.max(0.0)).collect();
            let low: Vec<f64> = h.low.predict(&features, false)?.iter().map(|a| a.max(0.0)).collect();
            let high = h.high.predict(&features, false)?;
            let high: Vec<f64> = high.iter().zip(&low).map(|(h, l)| h.max(*l)).collect();
            out.push([p, amount, low, high]);
        }
        Ok((batch, out))
    }

    /// Per row: `account_id`, `snapshot_date`, and per horizon `h` the `expansion_probability_<h>d`, the
    /// `expansion_mrr_if_<h>d` (mean added MRR if it expands) with its 80% interval
    /// (`expansion_mrr_low_<h>d`, `expansion_mrr_high_<h>d`) and `expected_expansion_mrr_<h>d`
    /// (probability × amount), the confidence of the expansion itself being the probability.
    pub fn predict(&self, features: &Table) -> Result<Table> {
        let (batch, parts) = self.components(features)?;
        let mut fields =
            vec![Field::new("account_id", DataType::Utf8, true), Field::new("snapshot_date", DataType::Date32, true)];
        let mut columns: Vec<ArrayRef> = vec![
            column(&batch, "account_id", "expansion features")?.clone(),
            column(&batch, "snapshot_date", "expansion features")?.clone(),
        ];
        for (h, [p, amount, low, high]) in self.horizons.iter().zip(&parts) {
            let expected: Vec<f64> = p.iter().zip(amount).map(|(p, a)| p * a).collect();
            for (name, values) in [
                (format!("expansion_probability_{}d", h.horizon), p),
                (format!("expansion_mrr_if_{}d", h.horizon), amount),
                (format!("expansion_mrr_low_{}d", h.horizon), low),
                (format!("expansion_mrr_high_{}d", h.horizon), high),
                (format!("expected_expansion_mrr_{}d", h.horizon), &expected),
            ] {
                fields.push(Field::new(name, DataType::Float64, false));
                columns.push(Arc::new(Float64Array::from(values.clone())));
            }
        }
        Ok(Table::from_batch(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?))
    }

    /// Per snapshot and horizon: `accounts`, `expected_expansion_mrr` (sum over accounts) and its 80%
    /// interval `low_80` / `high_80` (never below 0).
    pub fn portfolio_forecast(&self, features: &Table) -> Result<Table> {
        let (batch, parts) = self.components(features)?;
        let days = column(&batch, "snapshot_date", "expansion features")?.as_primitive::<Date32Type>().clone();
        let mut snapshots: Vec<i32> = days.iter().flatten().collect();
        snapshots.sort_unstable();
        snapshots.dedup();
        let (mut out_day, mut out_h, mut n, mut mean, mut lo, mut hi) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for &t in &snapshots {
            let rows: Vec<usize> = (0..batch.num_rows()).filter(|&i| days.value(i) == t).collect();
            for (h, [p, amount, low, high]) in self.horizons.iter().zip(&parts) {
                let (mut m, mut var) = (0.0, 0.0);
                for &i in &rows {
                    let sigma = (high[i] - low[i]) / (2.0 * Z80);
                    let (e, second) = (p[i] * amount[i], p[i] * (sigma * sigma + amount[i] * amount[i]));
                    m += e;
                    var += second - e * e;
                }
                let half = Z80 * var.max(0.0).sqrt();
                out_day.push(t);
                out_h.push(i64::from(h.horizon));
                n.push(rows.len() as i64);
                mean.push(m);
                lo.push((m - half).max(0.0));
                hi.push(m + half);
            }
        }
        let schema = Schema::new(vec![
            Field::new("snapshot_date", DataType::Date32, false),
            Field::new("horizon_days", DataType::Int64, false),
            Field::new("accounts", DataType::Int64, false),
            Field::new("expected_expansion_mrr", DataType::Float64, false),
            Field::new("low_80", DataType::Float64, false),
            Field::new("high_80", DataType::Float64, false),
        ]);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Date32Array::from(out_day)),
            Arc::new(Int64Array::from(out_h)),
            Arc::new(Int64Array::from(n)),
            Arc::new(Float64Array::from(mean)),
            Arc::new(Float64Array::from(lo)),
            Arc::new(Float64Array::from(hi)),
        ];
        Ok(Table::from_batch(RecordBatch::try_new(Arc::new(schema), columns)?))
    }
}
