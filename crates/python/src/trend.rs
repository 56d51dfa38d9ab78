//! Trend analysis for Python.

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
