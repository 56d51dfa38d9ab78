//! Anomaly detection for Python: the batch pass, the streaming detector (picklable), the online detector
//! over one plain series, peer outliers and NAB scoring. Configurations arrive as JSON of the core's serde structs.

use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use pyo3_arrow::input::AnyRecordBatch;

use crate::errors::{IntoPy, config};
use crate::table::{Table, from_py};

/// The batch pass from a JSON `AnomalyConfig`: (events, incidents, series, scores or None);
/// `progress(task, done, total)` sees the accounts done and Ctrl-C stops it with `KeyboardInterrupt`.
#[pyfunction]
#[pyo3(signature = (data, config_json="{}", progress=None))]
pub(crate) fn detect_anomalies(
    py: Python<'_>,
    data: AnyRecordBatch,
    config_json: &str,
    progress: Option<&Bound<'_, PyAny>>,
) -> PyResult<(Table, Table, Table, Option<Table>)> {
    let config: accountscope::anomaly::AnomalyConfig = config(config_json, "anomaly")?;
    let input = from_py(data)?;
    let out = crate::progress::observed(py, progress, |o| accountscope::anomaly::detect_observed(&input, &config, o))?;
    Ok((Table::new(out.events), Table::new(out.incidents), Table::new(out.series), out.scores.map(Table::new)))
}

/// Event-level (detected, true positives, labels, found) of `detected` against `labels`.
#[pyfunction]
#[pyo3(signature = (detected, labels, id="account_id", tolerance_days=1, kinds=Vec::new()))]
pub(crate) fn anomaly_event_score(
    detected: AnyRecordBatch,
    labels: AnyRecordBatch,
    id: &str,
    tolerance_days: i32,
    kinds: Vec<String>,
) -> PyResult<(usize, usize, usize, usize)> {
    let kinds: Vec<&str> = kinds.iter().map(String::as_str).collect();
    let s = accountscope::anomaly::evaluate::event_score(
        &from_py(detected)?,
        &from_py(labels)?,
        id,
        tolerance_days,
        &kinds,
    )
    .py()?;
    Ok((s.detected, s.true_positives, s.labels, s.found))
}

/// Peer-group outliers of a feature table, from a JSON `PeerConfig`.
#[pyfunction]
#[pyo3(signature = (features, config_json="{}"))]
pub(crate) fn peer_outliers(py: Python<'_>, features: AnyRecordBatch, config_json: &str) -> PyResult<Table> {
    let config: accountscope::anomaly::PeerConfig = config(config_json, "peer")?;
    let input = from_py(features)?;
    py.detach(|| accountscope::anomaly::peer_outliers(&input, &config)).py().map(Table::new)
}

/// Recent-behaviour features per account from daily usage, from a JSON `RecentConfig`.
#[pyfunction]
#[pyo3(signature = (usage, attributes=None, config_json="{}"))]
pub(crate) fn recent_features(
    py: Python<'_>,
    usage: AnyRecordBatch,
    attributes: Option<AnyRecordBatch>,
    config_json: &str,
) -> PyResult<Table> {
    let config: accountscope::anomaly::RecentConfig = config(config_json, "recent")?;
    let usage = from_py(usage)?;
    let attributes = attributes.map(from_py).transpose()?;
    py.detach(|| accountscope::anomaly::recent_features(&usage, attributes.as_ref(), &config)).py().map(Table::new)
}

/// One NAB series from Python: name, anomaly scores, labelled index windows.
type PySeries = (String, Vec<f64>, Vec<(usize, usize)>);

/// NAB scoring of (name, scores, windows) series with one profile ("standard", "reward_low_FP_rate",
/// "reward_low_FN_rate"): (threshold, raw score per series, normalised score).
#[pyfunction]
pub(crate) fn nab_score(series: Vec<PySeries>, profile: &str) -> PyResult<(f64, Vec<f64>, f64)> {
    let profile = accountscope::anomaly::nab::PROFILES.iter().find(|p| p.name == profile).ok_or_else(|| {
        crate::errors::to_py(accountscope::Error::config(
            "nab.profile",
            format!("'{profile}' is not one of standard, reward_low_FP_rate, reward_low_FN_rate"),
        ))
    })?;
    let series: Vec<accountscope::anomaly::nab::NabSeries> = series
        .into_iter()
        .map(|(name, scores, windows)| accountscope::anomaly::nab::NabSeries { name, scores, windows })
        .collect();
    let s = accountscope::anomaly::nab::score(&series, profile);
    Ok((s.threshold, s.raw, s.normalized))
}

/// Events of the online detector over one float64 series of equally spaced steps (NaN: no value at that
/// step), from a JSON `OnlineConfig`: kind, start, end (steps), expected, observed, strength, p_value.
#[pyfunction]
#[pyo3(signature = (values, config_json="{}"))]
pub(crate) fn online_events(py: Python<'_>, values: PyReadonlyArray1<'_, f64>, config_json: &str) -> PyResult<Table> {
    use accountscope::anomaly::steps;
    let config: accountscope::anomaly::OnlineConfig = config(config_json, "online")?;
    let values = crate::trend::series(&values)?;
    py.detach(|| steps::events(&values, &config).and_then(|e| steps::events_table(&e))).py().map(Table::new)
}

/// The streaming detector: `process(batch)` returns the events each batch causes; `snapshot()` /
/// `from_snapshot(bytes)` save and restore its whole state; it pickles through them.
#[pyclass(module = "accountscope._native")]
pub(crate) struct StreamDetector {
    inner: accountscope::anomaly::StreamDetector,
}

#[pymethods]
impl StreamDetector {
    /// A detector from a JSON `StreamConfig`.
    #[new]
    #[pyo3(signature = (config_json="{}"))]
    fn new(config_json: &str) -> PyResult<Self> {
        let config: accountscope::anomaly::StreamConfig = config(config_json, "stream")?;
        Ok(Self { inner: accountscope::anomaly::StreamDetector::new(config).py()? })
    }

    /// Takes a table of new points (any accounts, mixed); returns the events they cause.
    fn process(&mut self, py: Python<'_>, data: AnyRecordBatch) -> PyResult<Table> {
        let input = from_py(data)?;
        let inner = &mut self.inner;
        py.detach(|| {
            let mut out: Vec<arrow::array::RecordBatch> = Vec::new();
            for batch in input.batches() {
                out.extend(inner.process(batch)?.into_batches());
            }
            match out.first() {
                Some(first) => accountscope::Table::try_new(first.schema(), out),
                None => inner.empty_events(),
            }
        })
        .py()
        .map(Table::new)
    }

    /// Series whose last point is more than `min_days` before `as_of`.
    fn silent(&self, as_of: chrono::NaiveDate, min_days: i64) -> PyResult<Table> {
        self.inner.silent(as_of, min_days).py().map(Table::new)
    }

    /// (points, late, nulls, events) so far.
    fn stats(&self) -> (u64, u64, u64, u64) {
        let s = self.inner.stats();
        (s.points, s.late, s.nulls, s.events)
    }

    /// Series held.
    fn num_series(&self) -> usize {
        self.inner.num_series()
    }

    /// The whole state as bytes.
    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(py, &self.inner.snapshot().py()?))
    }

    /// A detector from `snapshot()` bytes.
    #[staticmethod]
    fn from_snapshot(data: &[u8]) -> PyResult<Self> {
        Ok(Self { inner: accountscope::anomaly::StreamDetector::restore(data).py()? })
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let py = slf.py();
        let constructor = slf.get_type().getattr("from_snapshot")?;
        Ok((constructor, (slf.borrow().snapshot(py)?,)))
    }
}
