//! File I/O and conformance for Python.

use pyo3::prelude::*;
use pyo3_arrow::PySchema;
use pyo3_arrow::input::AnyRecordBatch;

use crate::errors::{IntoPy, config};
use crate::table::{Table, from_py};

/// Reads a CSV, Parquet, JSON lines or Arrow IPC file; `table` conforms it onto a canonical table.
#[pyfunction]
#[pyo3(signature = (path, options_json="{}", table=None))]
pub(crate) fn read_file(py: Python<'_>, path: &str, options_json: &str, table: Option<&str>) -> PyResult<Table> {
    let options: accountscope::io::ReadOptions = config(options_json, "read options")?;
    let kind = table.map(accountscope::TableKind::from_name).transpose().py()?;
    py.detach(|| match kind {
        Some(kind) => accountscope::portfolio::read_table(
            std::path::Path::new(path),
            kind,
            &options,
            &accountscope::ColumnMapping::new(),
        )
        .map(|c| c.table),
        None => accountscope::io::read_all(path, &options).and_then(|(s, b)| accountscope::Table::try_new(s, b)),
    })
    .py()
    .map(Table::new)
}

/// Writes any Arrow table-like object to a file; returns the rows written.
#[pyfunction]
#[pyo3(signature = (path, data, options_json="{}"))]
pub(crate) fn write_file(py: Python<'_>, path: &str, data: AnyRecordBatch, options_json: &str) -> PyResult<usize> {
    let options: accountscope::io::WriteOptions = config(options_json, "write options")?;
    let reader = data.into_reader()?;
    py.detach(|| accountscope::io::write(path, reader, &options)).py()
}

/// Conforms a table onto a canonical table with a JSON `ColumnMapping`; returns the conformed table and
/// the values that could not be cast (under `cast_policy = "null_and_report"`) as dicts.
#[pyfunction]
#[pyo3(signature = (table, data, mapping_json="{\"case_insensitive\": true}"))]
pub(crate) fn conform(
    py: Python<'_>,
    table: &str,
    data: AnyRecordBatch,
    mapping_json: &str,
) -> PyResult<(Table, String)> {
    let kind = accountscope::TableKind::from_name(table).py()?;
    let mapping: accountscope::ColumnMapping = config(mapping_json, "mapping")?;
    let input = from_py(data)?;
    let out = py
        .detach(|| {
            accountscope::contracts::Conformer::new(kind, mapping)?.conform_all(input.batches().iter().cloned().map(Ok))
        })
        .py()?;
    let failures = serde_json::to_string(&out.failures).map_err(|e| crate::errors::to_py(e.into()))?;
    Ok((Table::new(out.table), failures))
}

/// The canonical Arrow schema of a table (with descriptions, required and PII flags as field metadata).
#[pyfunction]
pub(crate) fn canonical_schema(table: &str) -> PyResult<PySchema> {
    let kind = accountscope::TableKind::from_name(table).py()?;
    Ok(PySchema::new(kind.schema()))
}

/// Names of the canonical tables.
#[pyfunction]
pub(crate) fn table_names() -> Vec<&'static str> {
    accountscope::TableKind::ALL.iter().map(|k| k.name()).collect()
}
