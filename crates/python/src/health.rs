//! Health scorecards for Python: scores over an engine's registered tables.

use chrono::NaiveDate;
use pyo3::prelude::*;

use crate::engine::{Engine, parse_date};
use crate::errors::{IntoPy, to_py};
use crate::progress::observed;
use crate::table::{Table, from_py};
use pyo3_arrow::input::AnyRecordBatch;

fn parse(config_text: Option<&str>) -> PyResult<accountscope::health::HealthConfig> {
    match config_text {
        Some(text) => accountscope::health::HealthConfig::parse(text).py(),
        None => accountscope::health::default_config().py(),
    }
}

/// Health history and band changes of every account in `engine`, from a YAML / JSON `HealthConfig`
/// (the default scorecards when none); `progress(task, done, total)` sees the accounts scored and Ctrl-C
/// stops it with `KeyboardInterrupt`.
#[pyfunction]
#[pyo3(signature = (engine, start, end, step_days=1, config_text=None, progress=None))]
pub(crate) fn health_history(
    py: Python<'_>,
    engine: &Engine,
    start: NaiveDate,
    end: NaiveDate,
    step_days: u32,
    config_text: Option<&str>,
    progress: Option<&Bound<'_, PyAny>>,
) -> PyResult<(Table, Table)> {
    let config = parse(config_text)?;
    let options = accountscope::health::HealthOptions { from: start, to: end, step_days };
    let out = observed(py, progress, |o| {
        accountscope::health::HealthScorer::new(&engine.inner, config)?.history_observed(&options, o)
    })?;
    Ok((Table::new(out.history), Table::new(out.band_changes)))
}

/// The portfolio summary of a health history (first and last day by band, band changes by direction), as
/// JSON and as an HTML table.
#[pyfunction]
pub(crate) fn health_summary(history: AnyRecordBatch, band_changes: AnyRecordBatch) -> PyResult<(String, String)> {
    let history =
        accountscope::health::HealthHistory { history: from_py(history)?, band_changes: from_py(band_changes)? };
    let summary = history.summary().py()?;
    let json = serde_json::to_string(&summary).map_err(|e| to_py(e.into()))?;
    Ok((json, summary.html()))
}

/// Per-measure explanation of one account's score on `date` (and its change since `compare_to`).
#[pyfunction]
#[pyo3(signature = (engine, account_id, date, compare_to=None, config_text=None))]
pub(crate) fn health_explain(
    py: Python<'_>,
    engine: &Engine,
    account_id: &str,
    date: NaiveDate,
    compare_to: Option<NaiveDate>,
    config_text: Option<&str>,
) -> PyResult<Table> {
    let config = parse(config_text)?;
    py.detach(|| accountscope::health::explain(&engine.inner, &config, account_id, date, compare_to))
        .py()
        .map(Table::new)
}

/// The default scorecards as YAML text.
#[pyfunction]
pub(crate) fn default_scorecards_yaml() -> &'static str {
    accountscope::health::DEFAULT_SCORECARDS_YAML
}

/// A prepared scorer: reads the engine's tables once, then scores the portfolio, one account's trend or
/// an explanation without reading them again.
#[pyclass(module = "accountscope._native", frozen)]
pub(crate) struct HealthScorer {
    inner: accountscope::health::HealthScorer,
}

fn options(
    start: &Bound<'_, PyAny>,
    end: &Bound<'_, PyAny>,
    step_days: u32,
) -> PyResult<accountscope::health::HealthOptions> {
    Ok(accountscope::health::HealthOptions {
        from: parse_date(start, "start")?,
        to: parse_date(end, "end")?,
        step_days,
    })
}

#[pymethods]
impl HealthScorer {
    /// Prepares the scorecards of a YAML / JSON `HealthConfig` (the default ones when none) over `engine`.
    #[new]
    #[pyo3(signature = (engine, config_text=None))]
    fn new(py: Python<'_>, engine: &Engine, config_text: Option<&str>) -> PyResult<Self> {
        let config = parse(config_text)?;
        let inner = py.detach(|| accountscope::health::HealthScorer::new(&engine.inner, config)).py()?;
        Ok(Self { inner })
    }

    /// History and band changes of every account (`progress` as for `health_history`).
    #[pyo3(signature = (start, end, step_days=1, progress=None))]
    fn history(
        &self,
        py: Python<'_>,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
        step_days: u32,
        progress: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<(Table, Table)> {
        let options = options(start, end, step_days)?;
        let out = observed(py, progress, |o| self.inner.history_observed(&options, o))?;
        Ok((Table::new(out.history), Table::new(out.band_changes)))
    }

    /// One account's scores over the range.
    #[pyo3(signature = (account_id, start, end, step_days=1))]
    fn account_trend(
        &self,
        py: Python<'_>,
        account_id: &str,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
        step_days: u32,
    ) -> PyResult<Table> {
        let options = options(start, end, step_days)?;
        py.detach(|| self.inner.account_trend(account_id, &options)).py().map(Table::new)
    }

    /// Per-measure explanation of one account's score (and its change since `compare_to`).
    #[pyo3(signature = (account_id, date, compare_to=None))]
    fn explain(
        &self,
        py: Python<'_>,
        account_id: &str,
        date: &Bound<'_, PyAny>,
        compare_to: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Table> {
        let date = parse_date(date, "date")?;
        let before = compare_to.map(|c| parse_date(c, "compare_to")).transpose()?;
        py.detach(|| self.inner.explain(account_id, date, before)).py().map(Table::new)
    }
}
