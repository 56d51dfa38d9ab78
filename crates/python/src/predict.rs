//! Features and predictions for Python: point-in-time features, the churn, expansion and trajectory models
//! (picklable through their JSON form), time-honest splits, and the lifecycle tests. Configurations arrive
//! as JSON of the core's serde structs; reports leave as JSON of the core's serde results.

use accountscope::features::{FeatureConfig, FeatureInputs};
use accountscope::gbdt::Value;
use accountscope::predict;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use pyo3_arrow::input::AnyRecordBatch;

use crate::errors::{IntoPy, config, to_py};
use crate::progress::observed;
use crate::table::{Table, from_py};

fn json<T: serde::Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string(value).map_err(|e| to_py(accountscope::Error::Internal(e.to_string())))
}

fn model<T: serde::de::DeserializeOwned + predict::Registrable>(text: &str, what: &str) -> PyResult<T> {
    let model: T = serde_json::from_str(text)
        .map_err(|e| to_py(accountscope::Error::Model(format!("invalid {what} model JSON: {e}"))))?;
    model.check().py()?;
    Ok(model)
}

/// Point-in-time features from the canonical tables and a JSON `FeatureConfig`: (table, unmatched rows
/// per input table).
#[pyfunction]
#[pyo3(signature = (accounts, usage, tickets, surveys, revenue, churn_labels=None, expansion_labels=None,
    health=None, anomalies=None, config_json="{}"))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn build_features(
    py: Python<'_>,
    accounts: AnyRecordBatch,
    usage: AnyRecordBatch,
    tickets: AnyRecordBatch,
    surveys: AnyRecordBatch,
    revenue: AnyRecordBatch,
    churn_labels: Option<AnyRecordBatch>,
    expansion_labels: Option<AnyRecordBatch>,
    health: Option<AnyRecordBatch>,
    anomalies: Option<AnyRecordBatch>,
    config_json: &str,
) -> PyResult<(Table, Vec<(String, usize)>)> {
    let config: FeatureConfig = config(config_json, "features")?;
    let (accounts, usage, tickets) = (from_py(accounts)?, from_py(usage)?, from_py(tickets)?);
    let (surveys, revenue) = (from_py(surveys)?, from_py(revenue)?);
    let optional = |t: Option<AnyRecordBatch>| t.map(from_py).transpose();
    let (churn, expansion) = (optional(churn_labels)?, optional(expansion_labels)?);
    let (health, anomalies) = (optional(health)?, optional(anomalies)?);
    let inputs = FeatureInputs {
        accounts: &accounts,
        usage: &usage,
        tickets: &tickets,
        surveys: &surveys,
        revenue: &revenue,
        churn_labels: churn.as_ref(),
        expansion_labels: expansion.as_ref(),
        health: health.as_ref(),
        anomalies: anomalies.as_ref(),
    };
    let out = py.detach(|| accountscope::features::build_features(&inputs, &config)).py()?;
    Ok((Table::new(out.table), out.unmatched))
}

/// The rows of a feature table before `cutoff` with the labels known then.
#[pyfunction]
pub(crate) fn known_at(features: AnyRecordBatch, cutoff: chrono::NaiveDate) -> PyResult<Table> {
    predict::known_at(&from_py(features)?, cutoff).py().map(Table::new)
}

/// The rows of a feature table with snapshots in `start .. end`.
#[pyfunction]
pub(crate) fn snapshots_between(
    features: AnyRecordBatch,
    start: chrono::NaiveDate,
    end: chrono::NaiveDate,
) -> PyResult<Table> {
    predict::snapshots_between(&from_py(features)?, start, end).py().map(Table::new)
}

/// The evaluation report of probabilities at a threshold, as JSON and as HTML tables.
#[pyfunction]
pub(crate) fn evaluate_probabilities(y: Vec<f64>, prob: Vec<f64>, threshold: f64) -> PyResult<(String, String)> {
    let evaluation = predict::evaluate(&y, &prob, threshold).py()?;
    Ok((json(&evaluation)?, evaluation.html()))
}

/// DeLong's test of challenger against champion scores, as JSON.
#[pyfunction]
#[pyo3(signature = (y, champion, challenger, alpha=0.05))]
pub(crate) fn delong_test(y: Vec<f64>, champion: Vec<f64>, challenger: Vec<f64>, alpha: f64) -> PyResult<String> {
    json(&predict::delong_test(&y, &champion, &challenger, alpha).py()?)
}

/// Drift of `current` against the profile of `reference` over `columns`: a table of PSI and KS per column.
#[pyfunction]
pub(crate) fn feature_drift(
    reference: AnyRecordBatch,
    current: AnyRecordBatch,
    columns: Vec<String>,
) -> PyResult<String> {
    let reference = from_py(reference)?.concat().py()?;
    let current = from_py(current)?.concat().py()?;
    let profile = predict::ReferenceProfile::new(&reference, &columns).py()?;
    json(&profile.drift(&current).py()?)
}

macro_rules! model_class {
    ($name:ident, $core:ident, $config:ident, $what:literal, { $($extra:tt)* }) => {
        #[doc = concat!("A fitted ", $what, " model (pickles through its JSON form).")]
        #[pyclass(module = "accountscope._native", frozen)]
        pub(crate) struct $name {
            inner: predict::$core,
        }

        #[pymethods]
        impl $name {
            #[doc = concat!("Trains on a feature table with labels, from a JSON `", stringify!($config), "`; ")]
            /// `progress(task, done, total)` sees each boosting round and Ctrl-C stops training with
            /// `KeyboardInterrupt`.
            #[staticmethod]
            #[pyo3(signature = (features, config_json="{}", progress=None))]
            fn fit(
                py: Python<'_>,
                features: AnyRecordBatch,
                config_json: &str,
                progress: Option<&Bound<'_, PyAny>>,
            ) -> PyResult<Self> {
                let config: predict::$config = config(config_json, $what)?;
                let features = from_py(features)?;
                let inner = observed(py, progress, |o| predict::$core::fit_observed(&features, &config, o))?;
                Ok(Self { inner })
            }

            /// The model as JSON (what pickling stores).
            fn to_json(&self) -> PyResult<String> {
                json(&self.inner)
            }

            /// A model from [`Self::to_json`]'s text; the trees are checked like any model file.
            #[staticmethod]
            fn from_json(text: &str) -> PyResult<Self> {
                Ok(Self { inner: model(text, $what)? })
            }

            /// The feature-set version it reads.
            #[getter]
            fn feature_set(&self) -> String {
                predict::Registrable::feature_set(&self.inner).to_string()
            }

            fn __reduce__(slf: &Bound<'_, Self>) -> PyResult<(Py<PyAny>, (String,))> {
                let from = slf.getattr("from_json")?.unbind();
                Ok((from, (json(&slf.get().inner)?,)))
            }

            $($extra)*
        }
    };
}

model_class!(ChurnModel, ChurnModel, ChurnConfig, "churn", {
    /// Risk table with probabilities, `at_risk`, reasons and actions (`playbook`: YAML/JSON catalogue).
    #[pyo3(signature = (features, playbook=None))]
    fn predict(&self, py: Python<'_>, features: AnyRecordBatch, playbook: Option<&str>) -> PyResult<Table> {
        let playbook = playbook.map(predict::Playbook::parse).transpose().py()?.unwrap_or_default();
        let features = from_py(features)?;
        py.detach(|| self.inner.predict(&features, &playbook)).py().map(Table::new)
    }

    /// Per-horizon evaluation on the labelled rows, as `accountscope.predict.HorizonEvaluations` (a list
    /// of dicts that renders as a table in Jupyter).
    fn evaluate<'py>(&self, py: Python<'py>, features: AnyRecordBatch) -> PyResult<Bound<'py, PyAny>> {
        let features = from_py(features)?;
        let evaluations = py.detach(|| self.inner.evaluate(&features)).py()?;
        let html = predict::HorizonEvaluation::html(&evaluations);
        let class = py.import("accountscope.predict")?.getattr("HorizonEvaluations")?;
        class.call1((json(&evaluations)?, html))
    }

    /// Churn probability of one account within `horizon` days (default: the primary horizon; monotone
    /// across horizons like `predict`), from a dict of its feature values by name (None: missing; text for
    /// categorical features). The real-time path: no table is built. A feature without a key is an error;
    /// other keys are ignored.
    #[pyo3(signature = (values, horizon=None))]
    fn predict_one(&self, values: &Bound<'_, PyDict>, horizon: Option<u32>) -> PyResult<f64> {
        let features = self.inner.features();
        let mut row = Vec::with_capacity(features.len());
        for feature in features {
            let value = values.get_item(&feature.name)?.ok_or_else(|| {
                to_py(accountscope::Error::invalid(
                    "churn row",
                    format!("no value for feature '{}' (give None for a missing value)", feature.name),
                ))
            })?;
            let encoded = if value.is_none() {
                feature.encode(Value::Missing)
            } else if let Ok(text) = value.cast::<PyString>() {
                feature.encode(Value::Text(text.to_str()?))
            } else {
                feature.encode(Value::Number(value.extract::<f64>()?))
            };
            row.push(encoded.py()?);
        }
        self.inner.probability_row(&row, horizon).py()
    }

    /// (horizon, threshold, trees, calibration) per horizon.
    fn horizons(&self) -> Vec<(u32, f64, usize, String)> {
        self.inner
            .horizons()
            .iter()
            .map(|(h, m)| (*h, m.threshold(), m.booster().trees().len(), m.calibrator().name().to_string()))
            .collect()
    }
});

model_class!(ExpansionModel, ExpansionModel, ExpansionConfig, "expansion", {
    /// Probability, amount with interval and expected MRR per horizon.
    fn predict(&self, py: Python<'_>, features: AnyRecordBatch) -> PyResult<Table> {
        let features = from_py(features)?;
        py.detach(|| self.inner.predict(&features)).py().map(Table::new)
    }

    /// The portfolio's expected expansion MRR per snapshot and horizon with an 80% interval.
    fn portfolio_forecast(&self, py: Python<'_>, features: AnyRecordBatch) -> PyResult<Table> {
        let features = from_py(features)?;
        py.detach(|| self.inner.portfolio_forecast(&features)).py().map(Table::new)
    }
});

/// A fitted health-trajectory model.
#[pyclass(module = "accountscope._native", frozen)]
pub(crate) struct TrajectoryModel {
    inner: predict::TrajectoryModel,
}

#[pymethods]
impl TrajectoryModel {
    /// Trains on a feature table with health features and a health history, from a JSON
    /// `TrajectoryConfig` (`progress` as for churn).
    #[staticmethod]
    #[pyo3(signature = (features, health, config_json="{}", progress=None))]
    fn fit(
        py: Python<'_>,
        features: AnyRecordBatch,
        health: AnyRecordBatch,
        config_json: &str,
        progress: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let config: predict::TrajectoryConfig = config(config_json, "trajectory")?;
        let (features, health) = (from_py(features)?, from_py(health)?);
        let inner = observed(py, progress, |o| predict::TrajectoryModel::fit_observed(&features, &health, &config, o))?;
        Ok(Self { inner })
    }

    /// Forecasts with intervals, red-band probabilities and `red_by`.
    fn predict(&self, py: Python<'_>, features: AnyRecordBatch) -> PyResult<Table> {
        let features = from_py(features)?;
        py.detach(|| self.inner.predict(&features)).py().map(Table::new)
    }

    /// (horizon, kept forecaster, held-out pinball GBDT, damped, held-out coverage) per horizon.
    fn horizons(&self) -> Vec<(u32, String, f64, f64, f64)> {
        self.inner
            .horizons()
            .iter()
            .map(|h| {
                let kind = match h.forecaster {
                    predict::Forecaster::QuantileGbdt { .. } => "quantile_gbdt",
                    predict::Forecaster::DampedTrend { .. } => "damped_trend",
                };
                (h.horizon, kind.to_string(), h.pinball[0], h.pinball[1], h.holdout_coverage)
            })
            .collect()
    }
}
