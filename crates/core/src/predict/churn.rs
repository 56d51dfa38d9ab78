//! Churn risk: one calibrated classifier per horizon on point-in-time features, probabilities made
//! monotone across horizons (churning within 30 days implies within 90), the operating threshold and the
//! reasons from the primary horizon, and actions from the playbook.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use serde::{Deserialize, Serialize};

use super::classifier::{BinaryClassifier, ClassifierConfig, Columns, Reason};
use super::evaluate::Evaluation;
use super::playbook::Playbook;
use crate::error::{Error, Result};
use crate::features::{FEATURE_SET_VERSION, VERSION_KEY};
use crate::gbdt::FeatureInfo;
use crate::progress::{Observer, Silent, model_error};
use crate::table::{Table, column};

/// How the churn model is trained. Deserializes from JSON (missing fields take the defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChurnConfig {
    /// Horizons in days; each needs a `churn_<h>d` label column (30, 90, 365).
    pub horizons: Vec<u32>,
    /// The horizon whose threshold flags accounts and whose reasons explain them (90).
    pub primary_horizon: u32,
    /// The classifier of each horizon.
    pub classifier: ClassifierConfig,
    /// Reasons reported per account (3).
    pub reasons: usize,
}

impl Default for ChurnConfig {
    fn default() -> Self {
        Self { horizons: vec![30, 90, 365], primary_horizon: 90, classifier: ClassifierConfig::default(), reasons: 3 }
    }
}

impl ChurnConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<()> {
        self.classifier.validate()?;
        if self.horizons.is_empty() || !self.horizons.windows(2).all(|w| w[0] < w[1]) {
            return Err(Error::config("churn.horizons", format!("expected increasing days, got {:?}", self.horizons)));
        }
        if !self.horizons.contains(&self.primary_horizon) {
            return Err(Error::config(
                "churn.primary_horizon",
                format!("{} is not one of the horizons {:?}", self.primary_horizon, self.horizons),
            ));
        }
        Ok(())
    }
}

/// The evaluation of one horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HorizonEvaluation {
    /// Days.
    pub horizon: u32,
    /// Metrics on the labelled rows.
    pub evaluation: Evaluation,
}

impl HorizonEvaluation {
    /// One row of headline metrics per horizon as an HTML table (for notebooks).
    pub fn html(evaluations: &[HorizonEvaluation]) -> String {
        let header: Vec<&str> = ["horizon"].into_iter().chain(super::evaluate::METRIC_HEADER).collect();
        let rows: Vec<Vec<String>> = evaluations
            .iter()
            .map(|h| std::iter::once(format!("{} days", h.horizon)).chain(h.evaluation.metric_cells()).collect())
            .collect();
        crate::html::table(Some("Churn model evaluation"), &header, &rows)
    }
}

/// A fitted churn model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChurnModel {
    feature_set: String,
    horizons: Vec<(u32, BinaryClassifier)>,
    primary: usize,
    reasons: usize,
}

/// Whether a column is a label of the feature tables (`churn_30d`, `expansion_mrr_90d`, ...).
pub(crate) fn is_label(name: &str) -> bool {
    ["churn_", "expansion_mrr_", "expansion_"].iter().any(|p| {
        name.strip_prefix(p)
            .and_then(|rest| rest.strip_suffix('d'))
            .is_some_and(|days| !days.is_empty() && days.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// The feature-set version a table declares ([`VERSION_KEY`] in its schema metadata).
pub(crate) fn feature_set(table: &Table) -> String {
    table.schema().metadata().get(VERSION_KEY).cloned().unwrap_or_else(|| "custom".into())
}

/// A table declaring another feature-set version than `expected` is an error; a table declaring none
/// (e.g. after a round trip through pandas) is accepted and its columns checked by the trees' schema.
pub(crate) fn check_feature_set(expected: &str, features: &Table, what: &str) -> Result<()> {
    let found = feature_set(features);
    if found != "custom" && found != expected {
        return Err(Error::Schema {
            context: what.into(),
            message: format!(
                "the model was trained on feature set '{expected}' but the table has '{found}' (this library writes '{}')",
                FEATURE_SET_VERSION
            ),
        });
    }
    Ok(())
}

/// Columns that are ids or labels, not features.
pub(crate) fn non_features(batch: &RecordBatch) -> Vec<String> {
    batch
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|n| n == "account_id" || n == "snapshot_date" || is_label(n))
        .collect()
}

impl ChurnModel {
    /// Trains one classifier per horizon on the labelled rows of a feature table
    /// ([`crate::features::build_features`]), holding out the latest snapshots.
    pub fn fit(features: &Table, config: &ChurnConfig) -> Result<Self> {
        Self::fit_observed(features, config, &Silent)
    }

    /// [`ChurnModel::fit`] reporting the boosting rounds of each horizon's model (task `"churn 90d"`) to
    /// `observer`, which may cancel it.
    pub fn fit_observed(features: &Table, config: &ChurnConfig, observer: &dyn Observer) -> Result<Self> {
        config.validate()?;
        let batch = features.concat()?;
        let excluded = non_features(&batch);
        let exclude: Vec<&str> = excluded.iter().map(String::as_str).collect();
        let mut horizons = Vec::new();
        for &h in &config.horizons {
            let label = format!("churn_{h}d");
            column(&batch, &label, "churn features")?;
            let columns = Columns { label: &label, time: Some("snapshot_date"), exclude: &exclude };
            let model =
                BinaryClassifier::fit_observed(&batch, columns, &config.classifier, observer, &format!("churn {h}d"))
                    .map_err(model_error(|e| format!("churn model for {h} days: {e}")))?;
            horizons.push((h, model));
        }
        let primary = config.horizons.iter().position(|h| *h == config.primary_horizon).unwrap_or(0);
        Ok(Self { feature_set: feature_set(features), horizons, primary, reasons: config.reasons })
    }

    /// The feature-set version it was trained on.
    pub fn feature_set(&self) -> &str {
        &self.feature_set
    }

    /// Horizons and their classifiers.
    pub fn horizons(&self) -> &[(u32, BinaryClassifier)] {
        &self.horizons
    }

    /// The primary horizon's classifier.
    pub fn primary(&self) -> &BinaryClassifier {
        &self.horizons[self.primary].1
    }

    /// The features every horizon's model reads, in order (the row layout of [`ChurnModel::probability_row`]).
    pub fn features(&self) -> &[FeatureInfo] {
        self.primary().booster().features()
    }

    /// Probability of churn within `horizon` days (default: the primary horizon) for one account, made
    /// monotone as [`ChurnModel::probabilities`] makes it. `row` holds the values in [`ChurnModel::features`]
    /// order, each encoded with [`FeatureInfo::encode`]. The real-time path: no table, no allocation.
    pub fn probability_row(&self, row: &[f64], horizon: Option<u32>) -> Result<f64> {
        let h = horizon.unwrap_or(self.horizons[self.primary].0);
        let upto = self.horizons.iter().position(|(x, _)| *x == h).ok_or_else(|| {
            let have: Vec<u32> = self.horizons.iter().map(|(x, _)| *x).collect();
            Error::invalid("horizon", format!("the model has horizons {have:?}, not {h}"))
        })?;
        self.horizons[..=upto].iter().try_fold(0.0f64, |p, (_, model)| Ok(p.max(model.predict_row(row)?)))
    }

    fn check_version(&self, features: &Table) -> Result<()> {
        check_feature_set(&self.feature_set, features, "churn features")
    }

    /// Probability of churn within each horizon for every row, made monotone: `p[h]` is the largest of the
    /// calibrated probabilities of horizons up to `h`.
    pub fn probabilities(&self, batch: &RecordBatch) -> Result<Vec<Vec<f64>>> {
        let mut out: Vec<Vec<f64>> = Vec::with_capacity(self.horizons.len());
        for (_, model) in &self.horizons {
            let mut p = model.predict_proba(batch)?;
            if let Some(prev) = out.last() {
                for (v, before) in p.iter_mut().zip(prev) {
                    *v = v.max(*before);
                }
            }
            out.push(p);
        }
        Ok(out)
    }

    /// Evaluates every horizon on the rows of `features` that have its label (horizons whose labelled rows
    /// are all of one class, e.g. all censored, are left out).
    pub fn evaluate(&self, features: &Table) -> Result<Vec<HorizonEvaluation>> {
        self.check_version(features)?;
        let batch = features.concat()?;
        let probabilities = self.probabilities(&batch)?;
        let mut out = Vec::new();
        for (k, (h, model)) in self.horizons.iter().enumerate() {
            let labels = super::classifier::label_values(&batch, model.label())?;
            let (y, p): (Vec<f64>, Vec<f64>) =
                labels.iter().zip(&probabilities[k]).filter_map(|(l, p)| l.map(|l| (l, *p))).unzip();
            if !(y.contains(&0.0) && y.contains(&1.0)) {
                continue;
            }
            out.push(HorizonEvaluation {
                horizon: *h,
                evaluation: super::evaluate::evaluate(&y, &p, model.threshold())?,
            });
        }
        Ok(out)
    }

    /// Risk table: `account_id`, `snapshot_date`, `churn_probability_<h>d` per horizon, `at_risk` (primary
    /// probability at or above its threshold), `reason_1..n` and `action_1..m` from `playbook`.
    pub fn predict(&self, features: &Table, playbook: &Playbook) -> Result<Table> {
        self.check_version(features)?;
        let batch = features.concat()?;
        let probabilities = self.probabilities(&batch)?;
        let reasons = self.primary().reasons(&batch, self.reasons)?;
        let primary = &probabilities[self.primary];
        let threshold = self.primary().threshold();
        let mut fields =
            vec![Field::new("account_id", DataType::Utf8, true), Field::new("snapshot_date", DataType::Date32, true)];
        let mut columns: Vec<ArrayRef> = vec![
            column(&batch, "account_id", "churn features")?.clone(),
            column(&batch, "snapshot_date", "churn features")?.clone(),
        ];
        for ((h, _), p) in self.horizons.iter().zip(&probabilities) {
            fields.push(Field::new(format!("churn_probability_{h}d"), DataType::Float64, false));
            columns.push(Arc::new(Float64Array::from(p.clone())));
        }
        fields.push(Field::new("at_risk", DataType::Boolean, false));
        columns.push(Arc::new(primary.iter().map(|p| Some(*p >= threshold)).collect::<BooleanArray>()));
        let texts = |pick: &dyn Fn(&[Reason]) -> Option<String>| -> ArrayRef {
            Arc::new(reasons.iter().map(|r| pick(r)).collect::<StringArray>())
        };
        for i in 0..self.reasons {
            fields.push(Field::new(format!("reason_{}", i + 1), DataType::Utf8, true));
            columns.push(texts(&|r: &[Reason]| r.get(i).map(|x| x.text.clone())));
        }
        let actions: Vec<Vec<String>> = reasons.iter().map(|r| playbook.recommend(r)).collect();
        for i in 0..playbook.actions {
            fields.push(Field::new(format!("action_{}", i + 1), DataType::Utf8, true));
            columns.push(Arc::new(actions.iter().map(|a| a.get(i).cloned()).collect::<StringArray>()));
        }
        Ok(Table::from_batch(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?))
    }

    /// Reasons of every row from the primary horizon.
    pub fn reasons(&self, batch: &RecordBatch) -> Result<Vec<Vec<Reason>>> {
        self.primary().reasons(batch, self.reasons)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_columns_are_recognised() {
        for name in ["churn_30d", "expansion_365d", "expansion_mrr_90d"] {
            assert!(is_label(name), "{name}");
        }
        for name in ["churn_probability_30d", "expansions_365", "churn_d", "mrr"] {
            assert!(!is_label(name), "{name}");
        }
    }
}
