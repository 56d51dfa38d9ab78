//! The demo portfolio generator for Python.

use std::sync::Arc;

use pyo3::prelude::*;

use crate::errors::{IntoPy, config, kwargs_json};
use crate::table::Table;

/// A generated demo portfolio with its ground truth.
#[pyclass(module = "accountscope._native", frozen)]
pub(crate) struct Demo {
    pub(crate) inner: Arc<accountscope::Demo>,
}

/// Generates the demo portfolio from a JSON `DemoConfig` (missing fields take their defaults).
#[pyfunction]
#[pyo3(signature = (config_json="{}"))]
pub(crate) fn generate_demo(py: Python<'_>, config_json: &str) -> PyResult<Demo> {
    let config: accountscope::DemoConfig = config(config_json, "demo")?;
    let demo = py.detach(|| accountscope::generate(&config)).py()?;
    Ok(Demo { inner: Arc::new(demo) })
}

#[pymethods]
impl Demo {
    /// Names of the canonical tables and the ground-truth tables.
    fn table_names(&self) -> Vec<String> {
        let canonical = self.inner.portfolio.tables().map(|(k, _)| k.name().to_string());
        canonical.into_iter().chain(self.inner.truth_tables().iter().map(|(n, _)| n.to_string())).collect()
    }

    /// One table by name (`accounts`, `usage`, ..., `truth_accounts`, `truth_anomalies`, `truth_seat_changes`).
    fn table(&self, name: &str) -> PyResult<Table> {
        if let Some((_, t)) = self.inner.truth_tables().into_iter().find(|(n, _)| *n == name) {
            return Ok(Table::new(t.clone()));
        }
        let kind = accountscope::TableKind::from_name(name).py()?;
        Ok(Table::new(self.inner.portfolio.get(kind).clone()))
    }

    /// Writes the canonical tables to `directory` as `format` files; returns the paths.
    #[pyo3(signature = (directory, format="parquet"))]
    fn write(&self, py: Python<'_>, directory: std::path::PathBuf, format: &str) -> PyResult<Vec<String>> {
        let format: accountscope::io::Format = config(&format!("\"{format}\""), "format")?;
        let paths = py.detach(|| self.inner.portfolio.write_dir(directory, format)).py()?;
        Ok(paths.iter().map(|p| p.display().to_string()).collect())
    }

    /// The dirty variant: the raw text tables as (name, table) pairs and the defect manifest; keyword
    /// arguments are `DirtyConfig` fields (`seed`, `rate`, `min_per_kind`, `load_delay_hours`).
    #[pyo3(signature = (**config))]
    fn dirty(
        &self,
        py: Python<'_>,
        config: Option<&Bound<'_, pyo3::types::PyDict>>,
    ) -> PyResult<(Vec<(String, Table)>, Table)> {
        let config: accountscope::demo::DirtyConfig = crate::errors::config(&kwargs_json(py, config)?, "dirty")?;
        let dirty = py.detach(|| accountscope::demo::dirty(&self.inner.portfolio, &config)).py()?;
        let tables = dirty.tables.into_iter().map(|(k, t)| (k.name().to_string(), Table::new(t))).collect();
        Ok((tables, Table::new(dirty.manifest)))
    }
}
