//! [`Table`]: a result table that Python libraries read through the Arrow C stream interface.

use std::sync::Arc;

use arrow::array::{ArrayRef, StructArray};
use arrow::datatypes::Field;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use pyo3::prelude::*;
use pyo3::types::PyCapsule;
use pyo3_arrow::error::PyArrowResult;
use pyo3_arrow::ffi::{ArrayIterator, to_schema_pycapsule, to_stream_pycapsule};
use pyo3_arrow::input::AnyRecordBatch;

use crate::errors::IntoPy;

/// An immutable Arrow table. Export it with `pyarrow.table(t)`, `polars.DataFrame(t)`, or the
/// `to_pyarrow()`, `to_pandas()` and `to_polars()` methods; no data is copied for primitive columns.
#[pyclass(module = "accountscope._native", frozen)]
pub(crate) struct Table {
    pub(crate) inner: Arc<accountscope::Table>,
}

impl Table {
    pub(crate) fn new(table: accountscope::Table) -> Self {
        Self { inner: Arc::new(table) }
    }
}

/// Reads any Arrow PyCapsule producer (stream or array) into a core table.
pub(crate) fn from_py(data: AnyRecordBatch) -> PyResult<accountscope::Table> {
    let reader = data.into_reader()?;
    accountscope::Table::from_reader(reader).py()
}

#[pymethods]
impl Table {
    /// Builds a table from any object exporting `__arrow_c_stream__` or `__arrow_c_array__`.
    #[staticmethod]
    fn from_arrow(data: AnyRecordBatch) -> PyResult<Self> {
        Ok(Self::new(from_py(data)?))
    }

    /// Number of rows.
    #[getter]
    fn num_rows(&self) -> usize {
        self.inner.num_rows()
    }

    /// Column names, in order.
    #[getter]
    fn column_names(&self) -> Vec<String> {
        self.inner.schema().fields().iter().map(|f| f.name().clone()).collect()
    }

    fn __len__(&self) -> usize {
        self.inner.num_rows()
    }

    fn __repr__(&self) -> String {
        format!("accountscope.Table({} rows; columns {:?})", self.inner.num_rows(), self.column_names())
    }

    /// Exports the schema through the Arrow C data interface.
    fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyArrowResult<Bound<'py, PyCapsule>> {
        to_schema_pycapsule(py, self.inner.schema().as_ref())
    }

    /// Exports the rows through the Arrow C stream interface (zero-copy).
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyCapsule>>,
    ) -> PyArrowResult<Bound<'py, PyCapsule>> {
        let fields = self.inner.schema().fields().clone();
        let arrays: Vec<arrow::error::Result<ArrayRef>> =
            self.inner.batches().iter().map(|b| Ok(Arc::new(StructArray::from(b.clone())) as ArrayRef)).collect();
        let field = Field::new_struct("", fields, false).with_metadata(self.inner.schema().metadata().clone());
        let reader = Box::new(ArrayIterator::new(arrays.into_iter(), Arc::new(field)));
        to_stream_pycapsule(py, reader, requested_schema)
    }

    /// The table as a `pyarrow.Table` (needs pyarrow).
    fn to_pyarrow<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        slf.py().import("pyarrow")?.getattr("table")?.call1((slf,))
    }

    /// The table as a `pandas.DataFrame` (needs pyarrow and pandas).
    fn to_pandas<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        Self::to_pyarrow(slf)?.call_method0("to_pandas")
    }

    /// The table as a `polars.DataFrame` (needs polars).
    fn to_polars<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        slf.py().import("polars")?.getattr("DataFrame")?.call1((slf,))
    }

    /// An HTML preview of the first rows, for Jupyter.
    fn _repr_html_(&self) -> PyResult<String> {
        let mut html = format!(
            "<p>accountscope.Table: {} rows × {} columns</p><table><thead><tr>",
            self.inner.num_rows(),
            self.column_names().len()
        );
        for name in self.column_names() {
            html.push_str(&format!("<th>{}</th>", escape(&name)));
        }
        html.push_str("</tr></thead><tbody>");
        let mut shown = 0;
        'outer: for batch in self.inner.batches() {
            let formatters = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &FormatOptions::default().with_null("null")))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| crate::errors::to_py(e.into()))?;
            for row in 0..batch.num_rows() {
                if shown == 10 {
                    break 'outer;
                }
                html.push_str("<tr>");
                for f in &formatters {
                    html.push_str(&format!("<td>{}</td>", escape(&f.value(row).to_string())));
                }
                html.push_str("</tr>");
                shown += 1;
            }
        }
        html.push_str("</tbody></table>");
        Ok(html)
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
