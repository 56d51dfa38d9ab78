//! The GBDT engine for Python: training from numpy arrays or any Arrow PyCapsule producer, and the fitted
//! [`Booster`]. The scikit-learn estimators (`accountscope.GBDTClassifier` / `GBDTRegressor`) are thin
//! Python classes over these two entry points.

use std::sync::Arc;

use accountscope::gbdt::{self, Dataset, Features, GbdtParams, Importance, Training};
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use pyo3_arrow::input::AnyRecordBatch;

use crate::errors::{IntoPy, config, to_py};
use crate::progress::observed;
use crate::table::from_py;

/// Features from a C-contiguous float64 numpy matrix or an Arrow table, read with `schema` when given.
fn features(
    x: &Bound<'_, PyAny>,
    schema: Option<&[gbdt::FeatureInfo]>,
    names: Option<&[String]>,
    categorical: &[String],
) -> PyResult<Features> {
    if let Ok(array) = x.extract::<PyReadonlyArray2<'_, f64>>() {
        let shape = array.shape();
        let slice = array.as_slice().map_err(|_| {
            to_py(accountscope::Error::invalid(
                "X",
                "the numpy array must be C-contiguous (use numpy.ascontiguousarray)",
            ))
        })?;
        let view = ndarray::ArrayView2::from_shape((shape[0], shape[1]), slice)
            .map_err(|e| to_py(accountscope::Error::Internal(e.to_string())))?;
        return match schema {
            Some(schema) => Features::array_with_schema(view, schema),
            None => Features::from_array(view, names, categorical),
        }
        .py();
    }
    let data: AnyRecordBatch = x.extract().map_err(|_| {
        to_py(accountscope::Error::invalid(
            "X",
            format!(
                "expected a 2-D float64 numpy array or an Arrow table (pyarrow, polars, pandas), got {}",
                type_name(x)
            ),
        ))
    })?;
    let batch = from_py(data)?.concat().py()?;
    match schema {
        Some(schema) => Features::with_schema(&batch, schema),
        None => Features::from_batch(&batch, &[], categorical),
    }
    .py()
}

fn type_name(x: &Bound<'_, PyAny>) -> String {
    x.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "an unknown type".into())
}

fn vector(v: Option<PyReadonlyArray1<'_, f64>>) -> PyResult<Option<Vec<f64>>> {
    v.map(|a| Ok(a.as_array().to_vec())).transpose()
}

/// Trains a booster. `params_json` holds `GbdtParams` fields; `x` is a float64 matrix (with optional
/// `feature_names`) or an Arrow table; a validation set enables early stopping; `progress(task, done, total)`
/// is called with the rounds done (Ctrl-C stops training with `KeyboardInterrupt`).
#[pyfunction]
#[pyo3(signature = (params_json, x, y, weight=None, feature_names=None, valid_x=None, valid_y=None, valid_weight=None, progress=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn gbdt_train(
    py: Python<'_>,
    params_json: &str,
    x: &Bound<'_, PyAny>,
    y: PyReadonlyArray1<'_, f64>,
    weight: Option<PyReadonlyArray1<'_, f64>>,
    feature_names: Option<Vec<String>>,
    valid_x: Option<&Bound<'_, PyAny>>,
    valid_y: Option<PyReadonlyArray1<'_, f64>>,
    valid_weight: Option<PyReadonlyArray1<'_, f64>>,
    progress: Option<&Bound<'_, PyAny>>,
) -> PyResult<Booster> {
    let params: GbdtParams = config(params_json, "gbdt")?;
    let train_features = features(x, None, feature_names.as_deref(), &params.categorical_features)?;
    let train = Dataset::new(train_features, y.as_array().to_vec(), vector(weight)?).py()?;
    let valid = match (valid_x, valid_y) {
        (Some(vx), Some(vy)) => {
            let f = features(vx, Some(train.features.info()), None, &[])?;
            Some(Dataset::new(f, vy.as_array().to_vec(), vector(valid_weight)?).py()?)
        }
        (None, None) => None,
        _ => return Err(to_py(accountscope::Error::invalid("eval_set", "give both X and y of the validation set"))),
    };
    let booster = observed(py, progress, |observer| {
        let run = Training::new(&params, &train).with_observer(observer, "gbdt");
        match &valid {
            Some(v) => run.with_validation(v).run(),
            None => run.run(),
        }
    })?;
    Ok(Booster { inner: Arc::new(booster) })
}

/// A trained gradient-boosted tree model (immutable; picklable).
#[pyclass(module = "accountscope._native", frozen)]
pub(crate) struct Booster {
    inner: Arc<gbdt::Booster>,
}

#[pymethods]
impl Booster {
    /// Predictions (probabilities for binary, means for Poisson/Tweedie; raw scores with `raw=True`) for a
    /// matrix with the model's columns in order, or an Arrow table with exactly its feature columns.
    #[pyo3(signature = (x, raw=false))]
    fn predict<'py>(&self, py: Python<'py>, x: &Bound<'py, PyAny>, raw: bool) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let f = features(x, Some(self.inner.features()), None, &[])?;
        let out = py.detach(|| self.inner.predict(&f, raw)).py()?;
        Ok(out.into_pyarray(py))
    }

    /// Prediction for one row of feature values in model order (categories as codes).
    #[pyo3(signature = (row, raw=false))]
    fn predict_row(&self, row: Vec<f64>, raw: bool) -> PyResult<f64> {
        if raw { self.inner.predict_row_raw(&row) } else { self.inner.predict_row(&row) }.py()
    }

    /// TreeSHAP contributions: one column per feature plus the expected value last; rows sum to the raw score.
    fn shap_values<'py>(&self, py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let f = features(x, Some(self.inner.features()), None, &[])?;
        let out = py.detach(|| self.inner.shap_values(&f)).py()?;
        let (rows, cols) = out.dim();
        let flat = out.into_raw_vec_and_offset().0;
        flat.into_pyarray(py).reshape([rows, cols])
    }

    /// Importance per feature: `"split"` (number of splits) or `"gain"` (total gain).
    #[pyo3(signature = (importance_type="split"))]
    fn feature_importance<'py>(&self, py: Python<'py>, importance_type: &str) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let kind: Importance = config(&serde_json::Value::from(importance_type).to_string(), "importance_type")?;
        Ok(self.inner.feature_importance(kind).into_pyarray(py))
    }

    /// Feature names in model order.
    #[getter]
    fn feature_names(&self) -> Vec<String> {
        self.inner.features().iter().map(|f| f.name.clone()).collect()
    }

    /// Number of trees.
    #[getter]
    fn num_trees(&self) -> usize {
        self.inner.trees().len()
    }

    /// The expected raw score over the training rows (the SHAP base value).
    #[getter]
    fn expected_value(&self) -> f64 {
        self.inner.expected_value()
    }

    /// The training parameters as JSON.
    fn params_json(&self) -> PyResult<String> {
        serde_json::to_string(self.inner.params()).map_err(|e| to_py(e.into()))
    }

    /// Training metadata (rounds, best iteration, validation history, stop reason) as JSON.
    fn training_info_json(&self) -> PyResult<String> {
        serde_json::to_string(self.inner.training_info()).map_err(|e| to_py(e.into()))
    }

    /// The model in its readable JSON form.
    fn to_json(&self) -> PyResult<String> {
        self.inner.to_json().py()
    }

    /// The model in its compact binary form.
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(py, &self.inner.to_bytes().py()?))
    }

    /// A model from its JSON form.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Ok(Self { inner: Arc::new(gbdt::Booster::from_json(text).py()?) })
    }

    /// A model from its binary form.
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Self> {
        Ok(Self { inner: Arc::new(gbdt::Booster::from_bytes(data).py()?) })
    }

    /// Saves the model (JSON for a `.json` path, binary otherwise).
    fn save(&self, path: std::path::PathBuf) -> PyResult<()> {
        self.inner.save(path).py()
    }

    /// Loads a model saved by `save`.
    #[staticmethod]
    fn load(path: std::path::PathBuf) -> PyResult<Self> {
        Ok(Self { inner: Arc::new(gbdt::Booster::load(path).py()?) })
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let py = slf.py();
        let constructor = slf.get_type().getattr("from_bytes")?;
        Ok((constructor, (slf.get().to_bytes(py)?,)))
    }

    fn __repr__(&self) -> String {
        format!(
            "accountscope.Booster({:?}, {} trees, {} features)",
            self.inner.objective(),
            self.inner.trees().len(),
            self.inner.features().len()
        )
    }
}
