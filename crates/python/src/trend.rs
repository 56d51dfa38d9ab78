//! Trend analysis for Python: per-series tables from Arrow input, and STL / MSTL on numpy vectors.

use numpy::{IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3_arrow::input::AnyRecordBatch;

use crate::errors::{IntoPy, config};
use crate::table::{Table, from_py};

/// Mann-Kendall, Sen's slope and OLS slope for every series of `data`, from a JSON `TrendTestConfig`.
#[pyfunction]
#[pyo3(signature = (data, config_json="{}"))]
pub(crate) fn trend_tests(py: Python<'_>, data: AnyRecordBatch, config_json: &str) -> PyResult<Table> {
    let config: accountscope::trend::TrendTestConfig = config(config_json, "trend")?;
    let input = from_py(data)?;
    py.detach(|| accountscope::trend::trend_tests(&input, &config)).py().map(Table::new)
}

/// Seasonality of every series of `data`, from a JSON `SeasonalityConfig`.
#[pyfunction]
#[pyo3(signature = (data, config_json="{}"))]
pub(crate) fn seasonality(py: Python<'_>, data: AnyRecordBatch, config_json: &str) -> PyResult<Table> {
    let config: accountscope::trend::SeasonalityConfig = config(config_json, "seasonality")?;
    let input = from_py(data)?;
    py.detach(|| accountscope::trend::seasonality(&input, &config)).py().map(Table::new)
}

/// Seasonality results summarised by attributes of the series (e.g. the accounts' industry).
#[pyfunction]
pub(crate) fn seasonality_summary(
    py: Python<'_>,
    per_series: AnyRecordBatch,
    attributes: AnyRecordBatch,
    group_by: Vec<String>,
) -> PyResult<Table> {
    let (per_series, attributes) = (from_py(per_series)?, from_py(attributes)?);
    py.detach(|| accountscope::trend::seasonality_summary(&per_series, &attributes, &group_by)).py().map(Table::new)
}

/// The full trend pass from a JSON `AnalyzeConfig`: (seasonality, trends, change points).
#[pyfunction]
#[pyo3(signature = (data, config_json="{}"))]
pub(crate) fn analyze(py: Python<'_>, data: AnyRecordBatch, config_json: &str) -> PyResult<(Table, Table, Table)> {
    let config: accountscope::trend::AnalyzeConfig = config(config_json, "analyze")?;
    let input = from_py(data)?;
    let out = py.detach(|| accountscope::trend::analyze(&input, &config)).py()?;
    Ok((Table::new(out.seasonality), Table::new(out.trends), Table::new(out.change_points)))
}

/// Correlations of every pair of metrics, from a JSON `CorrelationConfig`.
#[pyfunction]
#[pyo3(signature = (data, config_json="{}"))]
pub(crate) fn correlations(py: Python<'_>, data: AnyRecordBatch, config_json: &str) -> PyResult<Table> {
    let config: accountscope::trend::CorrelationConfig = config(config_json, "correlation")?;
    let input = from_py(data)?;
    py.detach(|| accountscope::trend::correlations(&input, &config)).py().map(Table::new)
}

/// Lead-lag analysis from a JSON `LeadLagConfig`: (by lag, leaders).
#[pyfunction]
#[pyo3(signature = (data, config_json="{}"))]
pub(crate) fn lead_lag(py: Python<'_>, data: AnyRecordBatch, config_json: &str) -> PyResult<(Table, Table)> {
    let config: accountscope::trend::LeadLagConfig = config(config_json, "lead_lag")?;
    let input = from_py(data)?;
    let out = py.detach(|| accountscope::trend::lead_lag(&input, &config)).py()?;
    Ok((Table::new(out.by_lag), Table::new(out.leaders)))
}

/// Leading indicators of churn from usage and churn labels, with a JSON `ChurnIndicatorConfig`.
#[pyfunction]
#[pyo3(signature = (usage, labels, config_json="{}"))]
pub(crate) fn churn_indicators(
    py: Python<'_>,
    usage: AnyRecordBatch,
    labels: AnyRecordBatch,
    config_json: &str,
) -> PyResult<Table> {
    let config: accountscope::trend::ChurnIndicatorConfig = config(config_json, "churn_indicators")?;
    let (usage, labels) = (from_py(usage)?, from_py(labels)?);
    py.detach(|| accountscope::trend::churn_indicators(&usage, &labels, &config)).py().map(Table::new)
}

/// Resampling with changes and rolling means, from a JSON `ResampleConfig`.
#[pyfunction]
#[pyo3(signature = (data, config_json="{}"))]
pub(crate) fn resample(py: Python<'_>, data: AnyRecordBatch, config_json: &str) -> PyResult<Table> {
    let config: accountscope::trend::ResampleConfig = config(config_json, "resample")?;
    let input = from_py(data)?;
    py.detach(|| accountscope::trend::resample(&input, &config)).py().map(Table::new)
}

type Components<'py> =
    (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>);

pub(crate) fn series(y: &PyReadonlyArray1<'_, f64>) -> PyResult<Vec<f64>> {
    if !y.is_contiguous() {
        return Err(crate::errors::to_py(accountscope::Error::invalid("y", "the numpy array must be contiguous")));
    }
    Ok(y.as_slice()?.to_vec())
}

/// STL of a float64 vector from a JSON `StlParams`: (trend, seasonal, resid, weights).
#[pyfunction]
pub(crate) fn stl<'py>(py: Python<'py>, y: PyReadonlyArray1<'py, f64>, params_json: &str) -> PyResult<Components<'py>> {
    let params: accountscope::trend::StlParams = config(params_json, "stl")?;
    let y = series(&y)?;
    let d = py.detach(|| accountscope::trend::stl(&y, &params)).py()?;
    Ok((d.trend.into_pyarray(py), d.seasonal.into_pyarray(py), d.resid.into_pyarray(py), d.weights.into_pyarray(py)))
}

/// MSTL of a float64 vector from a JSON `MstlParams`: (periods, dropped periods, seasonal matrix with one
/// column per period, trend, resid, weights).
#[pyfunction]
#[allow(clippy::type_complexity)]
pub(crate) fn mstl<'py>(
    py: Python<'py>,
    y: PyReadonlyArray1<'py, f64>,
    params_json: &str,
) -> PyResult<(Vec<usize>, Vec<usize>, Bound<'py, PyArray2<f64>>, Components<'py>)> {
    let params: accountscope::trend::MstlParams = config(params_json, "mstl")?;
    let y = series(&y)?;
    let m = py.detach(|| accountscope::trend::mstl(&y, &params)).py()?;
    let n = y.len();
    let k = m.seasonals.len();
    let matrix: Vec<f64> = (0..n).flat_map(|i| m.seasonals.iter().map(move |s| s[i])).collect();
    let matrix = matrix.into_pyarray(py).reshape([n, k])?;
    let d = m.total;
    let parts =
        (d.trend.into_pyarray(py), d.seasonal.into_pyarray(py), d.resid.into_pyarray(py), d.weights.into_pyarray(py));
    Ok((m.periods, m.dropped, matrix, parts))
}
