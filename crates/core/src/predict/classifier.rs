//! A calibrated binary classifier on any Arrow table: our GBDT trained on the earlier rows, early-stopped,
//! calibrated and given its operating threshold on the later (held-out) rows, with per-row reasons from
//! TreeSHAP. The churn and expansion models are one of these per horizon; the Telco comparison uses it
//! on a plain table.

use arrow::array::{Array, AsArray, RecordBatch, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::{DataType, Float64Type};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::calibrate::{self, Calibration, Calibrator};
use super::evaluate::{Evaluation, ThresholdTarget, choose_threshold, evaluate};
use crate::error::{Error, Result};
use crate::features::{Driver, FEATURES, feature_index};
use crate::gbdt::{Booster, Dataset, FeatureInfo, FeatureKind, Features, GbdtParams, Training};
use crate::progress::{Observer, Silent};
use crate::table::column;

/// How a [`BinaryClassifier`] is trained. Deserializes from JSON (missing fields take the defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClassifierConfig {
    /// The trees. Defaults: learning rate 0.1, up to 300 rounds early-stopped after 30 on held-out
    /// log-loss, 15 leaves, 40 rows per leaf, 80% feature and row sampling, L2 1 (on the demo these give
    /// the held-out AUC of learning rate 0.05 with half the trees, so scoring is twice as fast).
    pub gbdt: GbdtParams,
    /// Calibration of the probabilities on the held-out rows.
    pub calibration: Calibration,
    /// Share of rows (the latest by time, or a seeded random share without a time column) held out for
    /// early stopping, calibration and the threshold (0.2).
    pub holdout_share: f64,
    /// What the operating threshold aims at on the held-out rows.
    pub threshold: ThresholdTarget,
}

/// The trees of the prediction models: learning rate 0.1, up to 300 rounds early-stopped after 30, 15
/// leaves, 40 rows per leaf, 80% feature and row sampling, L2 1.
pub(crate) fn default_trees() -> GbdtParams {
    GbdtParams {
        learning_rate: 0.1,
        num_iterations: 300,
        num_leaves: 15,
        min_data_in_leaf: 40,
        feature_fraction: 0.8,
        bagging_fraction: 0.8,
        bagging_freq: 1,
        lambda_l2: 1.0,
        early_stopping_round: Some(30),
        ..GbdtParams::default()
    }
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        Self {
            gbdt: default_trees(),
            calibration: Calibration::Auto,
            holdout_share: 0.2,
            threshold: ThresholdTarget::default(),
        }
    }
}

impl ClassifierConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<()> {
        self.gbdt.validate()?;
        if !(self.holdout_share > 0.0 && self.holdout_share < 0.9) {
            return Err(Error::config(
                "classifier.holdout_share",
                format!("expected (0, 0.9), got {}", self.holdout_share),
            ));
        }
        Ok(())
    }
}

/// Which columns of a table train a classifier.
#[derive(Debug, Clone, Copy)]
pub struct Columns<'a> {
    /// The 0/1 (or boolean) label; rows where it is null are not used.
    pub label: &'a str,
    /// A date or timestamp column: the latest rows are held out. `None` holds out a seeded random share.
    pub time: Option<&'a str>,
    /// Columns that are neither features nor the label (ids, other labels).
    pub exclude: &'a [&'a str],
}

/// One reason behind a prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// Feature name.
    pub feature: String,
    /// The row's value as written ("down 42%", "Retail").
    pub value: String,
    /// TreeSHAP contribution to the raw score (log-odds); positive raises the probability.
    pub contribution: f64,
    /// The feature's driver, for features of [`FEATURES`].
    pub driver: Option<Driver>,
    /// A readable sentence.
    pub text: String,
}

/// A fitted, calibrated binary classifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BinaryClassifier {
    label: String,
    booster: Booster,
    calibrator: Calibrator,
    threshold: f64,
    holdout: Evaluation,
    train_rows: usize,
}

/// A label column as 0/1 with nulls, accepting booleans and numbers.
pub(crate) fn label_values(batch: &RecordBatch, name: &str) -> Result<Vec<Option<f64>>> {
    let array = column(batch, name, "classifier input")?;
    let values =
        crate::table::cast_strict(array, &DataType::Float64, "classifier input", name, "a boolean or 0/1 label")?;
    let values = values.as_primitive::<Float64Type>();
    let mut out = Vec::with_capacity(values.len());
    for i in 0..values.len() {
        if values.is_null(i) {
            out.push(None);
        } else if values.value(i) == 0.0 || values.value(i) == 1.0 {
            out.push(Some(values.value(i)));
        } else {
            return Err(Error::invalid(
                format!("classifier input, column '{name}', row {i}"),
                format!("expected a label 0 or 1, got {}", values.value(i)),
            ));
        }
    }
    Ok(out)
}

/// The rows of `batch` at `rows`, in that order.
fn select(batch: &RecordBatch, rows: &[usize]) -> Result<RecordBatch> {
    let indices = UInt32Array::from_iter_values(rows.iter().map(|&r| r as u32));
    Ok(take_record_batch(batch, &indices)?)
}

/// The columns of `batch` a model with features `info` reads, in its order (extra columns are ignored; a
/// missing or re-typed feature is an error naming it).
pub(crate) fn model_features(batch: &RecordBatch, info: &[FeatureInfo]) -> Result<Features> {
    let mut keep = Vec::with_capacity(info.len());
    for f in info {
        match batch.schema_ref().index_of(&f.name) {
            Ok(i) => keep.push(i),
            Err(_) => {
                return Err(Error::MissingColumns {
                    table: "model input".into(),
                    missing: vec![f.name.clone()],
                    present: batch.schema_ref().fields().iter().map(|f| f.name().clone()).collect(),
                });
            }
        }
    }
    Features::with_schema(&batch.project(&keep)?, info)
}

/// Orders `rows` by `time` (stable) and returns (train, holdout) with the latest `share` held out; rows
/// sharing the cut-off time all go to the holdout, so no time is on both sides.
pub(crate) fn split(
    batch: &RecordBatch,
    rows: Vec<usize>,
    time: Option<&str>,
    share: f64,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let mut rows = rows;
    if rows.len() < 2 {
        return Err(Error::invalid("classifier input", format!("{} labelled rows: at least 2 are needed", rows.len())));
    }
    match time {
        Some(name) => {
            let t = crate::trend::series::time_in_days(column(batch, name, "classifier input")?, name)?;
            if let Some(&r) = rows.iter().find(|&&r| t[r].is_none()) {
                return Err(Error::invalid(format!("classifier input, column '{name}', row {r}"), "null time"));
            }
            let key = |r: usize| t[r].unwrap_or(0.0);
            rows.sort_by(|&a, &b| key(a).total_cmp(&key(b)).then(a.cmp(&b)));
            let cut = key(rows[((1.0 - share) * rows.len() as f64) as usize]);
            let first_holdout = rows.partition_point(|&r| key(r) < cut);
            let holdout = rows.split_off(first_holdout);
            Ok((rows, holdout))
        }
        None => {
            rows.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
            let holdout = rows.split_off(((1.0 - share) * rows.len() as f64) as usize);
            Ok((rows, holdout))
        }
    }
}

/// Training and held-out datasets of `batch`: the feature columns (all but the label, time and excluded
/// ones) at the `train` and `holdout` rows, categories learned from the training rows.
pub(crate) fn datasets(
    batch: &RecordBatch,
    labels: &[Option<f64>],
    columns: Columns<'_>,
    (train, holdout): (&[usize], &[usize]),
    params: &GbdtParams,
) -> Result<(Dataset, Dataset)> {
    let exclude: Vec<&str> = columns.exclude.iter().copied().chain([columns.label]).chain(columns.time).collect();
    let keep: Vec<usize> =
        (0..batch.num_columns()).filter(|&i| !exclude.contains(&batch.schema_ref().field(i).name().as_str())).collect();
    let features_only = batch.project(&keep)?;
    let y = |rows: &[usize]| rows.iter().map(|&r| labels[r].unwrap_or(0.0)).collect::<Vec<f64>>();
    let train_features = Features::from_batch(&select(&features_only, train)?, &[], &params.categorical_features)?;
    let holdout_features = Features::with_schema(&select(&features_only, holdout)?, train_features.info())?;
    Ok((Dataset::new(train_features, y(train), None)?, Dataset::new(holdout_features, y(holdout), None)?))
}

impl BinaryClassifier {
    /// Trains on `batch` as `columns` say: rows with a label, the earlier part trains the trees, the
    /// held-out part stops them early, calibrates and sets the threshold.
    pub fn fit(batch: &RecordBatch, columns: Columns<'_>, config: &ClassifierConfig) -> Result<Self> {
        Self::fit_observed(batch, columns, config, &Silent, columns.label)
    }

    /// [`BinaryClassifier::fit`] reporting each boosting round to `observer` as `task`.
    pub fn fit_observed(
        batch: &RecordBatch,
        columns: Columns<'_>,
        config: &ClassifierConfig,
        observer: &dyn Observer,
        task: &str,
    ) -> Result<Self> {
        config.validate()?;
        let labels = label_values(batch, columns.label)?;
        let labelled: Vec<usize> = (0..labels.len()).filter(|&i| labels[i].is_some()).collect();
        let (train, holdout) = split(batch, labelled, columns.time, config.holdout_share, config.gbdt.seed)?;
        let both = |rows: &[usize]| {
            let pos = rows.iter().filter(|&&r| labels[r] == Some(1.0)).count();
            pos > 0 && pos < rows.len()
        };
        if !both(&train) || !both(&holdout) {
            return Err(Error::invalid(
                format!("classifier input, column '{}'", columns.label),
                format!(
                    "training ({} rows) and held-out ({} rows) parts both need positive and negative labels",
                    train.len(),
                    holdout.len()
                ),
            ));
        }
        let (train_set, valid_set) = datasets(batch, &labels, columns, (&train, &holdout), &config.gbdt)?;
        let holdout_y = valid_set.label.clone();
        let booster =
            Training::new(&config.gbdt, &train_set).with_validation(&valid_set).with_observer(observer, task).run()?;
        let raw = booster.predict(&valid_set.features, true)?;
        let calibrator = calibrate::fit(config.calibration, &raw, &holdout_y)?;
        let prob: Vec<f64> = raw.iter().map(|s| calibrator.apply(*s)).collect();
        let threshold = choose_threshold(&holdout_y, &prob, config.threshold)?;
        let holdout_eval = evaluate(&holdout_y, &prob, threshold)?;
        Ok(Self {
            label: columns.label.to_string(),
            booster,
            calibrator,
            threshold,
            holdout: holdout_eval,
            train_rows: train.len(),
        })
    }

    /// The label it predicts.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The trees.
    pub fn booster(&self) -> &Booster {
        &self.booster
    }

    /// The calibration.
    pub fn calibrator(&self) -> &Calibrator {
        &self.calibrator
    }

    /// The operating threshold on calibrated probabilities.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// The evaluation on the held-out rows it was calibrated on (optimistic: evaluate on later data).
    pub fn holdout(&self) -> &Evaluation {
        &self.holdout
    }

    /// Rows that trained the trees.
    pub fn train_rows(&self) -> usize {
        self.train_rows
    }

    /// The model's feature columns of `batch` (extra columns are ignored; a missing or re-typed feature is
    /// an error naming it).
    pub fn features(&self, batch: &RecordBatch) -> Result<Features> {
        model_features(batch, self.booster.features())
    }

    /// Calibrated probabilities of every row of `batch`.
    pub fn predict_proba(&self, batch: &RecordBatch) -> Result<Vec<f64>> {
        self.predict_proba_features(&self.features(batch)?)
    }

    /// Calibrated probabilities of features already read with [`Self::features`].
    pub fn predict_proba_features(&self, features: &Features) -> Result<Vec<f64>> {
        let raw = self.booster.predict(features, true)?;
        Ok(raw.iter().map(|s| self.calibrator.apply(*s)).collect())
    }

    /// Calibrated probability of one row of raw feature values in model order (no allocation).
    pub fn predict_row(&self, row: &[f64]) -> Result<f64> {
        Ok(self.calibrator.apply(self.booster.predict_row_raw(row)?))
    }

    /// Evaluates on the labelled rows of `batch` at the model's threshold.
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<Evaluation> {
        let labels = label_values(batch, &self.label)?;
        let rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i].is_some()).collect();
        let part = select(batch, &rows)?;
        let prob = self.predict_proba(&part)?;
        let y: Vec<f64> = rows.iter().map(|&r| labels[r].unwrap_or(0.0)).collect();
        evaluate(&y, &prob, self.threshold)
    }

    /// The `top` features raising each row's probability most (TreeSHAP on the raw score), largest first.
    pub fn reasons(&self, batch: &RecordBatch, top: usize) -> Result<Vec<Vec<Reason>>> {
        let features = self.features(batch)?;
        let shap = self.booster.shap_values(&features)?;
        let info = self.booster.features();
        let mut out = Vec::with_capacity(features.num_rows());
        for (r, phi) in shap.rows().into_iter().enumerate() {
            let mut order: Vec<usize> = (0..info.len()).filter(|&j| phi[j] > 0.0).collect();
            order.sort_by(|&a, &b| phi[b].total_cmp(&phi[a]).then(a.cmp(&b)));
            out.push(
                order
                    .into_iter()
                    .take(top)
                    .map(|j| reason(&info[j].name, &info[j].kind, features.column(j)[r], phi[j]))
                    .collect(),
            );
        }
        Ok(out)
    }
}

/// A reason for feature `name` with model value `v` (a category code for categorical features).
fn reason(name: &str, kind: &FeatureKind, v: f64, contribution: f64) -> Reason {
    let def = feature_index(name).map(|i| &FEATURES[i]);
    let value = match kind {
        FeatureKind::Categorical { categories: Some(c) } if v.is_finite() => {
            c.get(v as usize).cloned().unwrap_or_else(|| "unknown".into())
        }
        _ if v.is_nan() => "unknown".into(),
        _ => match def {
            Some(d) => d.format_value(v),
            None => format!("{v}"),
        },
    };
    let text = match def {
        Some(d) => d.reason_text(&value),
        None => format!("{name} = {value}"),
    };
    Reason { feature: name.to_string(), value, contribution, driver: def.map(|d| d.driver), text }
}
