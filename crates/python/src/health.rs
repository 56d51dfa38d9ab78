//! Health scorecards for Python: scores over an engine's registered tables.

use chrono::NaiveDate;
use pyo3::prelude::*;

use crate::engine::Engine;
use crate::errors::IntoPy;
use crate::table::Table;

fn parse(config_text: Option<&str>) -> PyResult<accountscope::health::HealthConfig> {
    match config_text {
        Some(text) => accountscope::health::HealthConfig::parse(text).py(),
        None => accountscope::health::default_config().py(),
    }
}

/// Health history and band changes of every account in `engine`, from a YAML / JSON `HealthConfig`
/// (the default scorecards when none).
#[pyfunction]
#[pyo3(signature = (engine, start, end, step_days=1, config_text=None))]
pub(crate) fn health_history(
    py: Python<'_>,
    engine: &Engine,
    start: NaiveDate,
    end: NaiveDate,
    step_days: u32,
    config_text: Option<&str>,
) -> PyResult<(Table, Table)> {
    let config = parse(config_text)?;
    let options = accountscope::health::HealthOptions { from: start, to: end, step_days };
    let out = py.detach(|| accountscope::health::score_history(&engine.inner, &config, &options)).py()?;
    Ok((Table::new(out.history), Table::new(out.band_changes)))
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
