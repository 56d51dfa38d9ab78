//! The SQL engine for Python.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3_arrow::input::AnyRecordBatch;

use crate::demo::Demo;
use crate::errors::{IntoPy, config, kwargs_json};
use crate::table::{Table, from_py};

/// SQL over registered tables (DataFusion); see `accountscope::Engine`.
#[pyclass(module = "accountscope._native", frozen)]
pub(crate) struct Engine {
    pub(crate) inner: Arc<accountscope::Engine>,
}

/// A `datetime.date` or a `YYYY-MM-DD` string.
pub(crate) fn parse_date(value: &Bound<'_, PyAny>, field: &str) -> PyResult<chrono::NaiveDate> {
    if let Ok(date) = value.extract::<chrono::NaiveDate>() {
        return Ok(date);
    }
    let text: String = value.str()?.extract()?;
    chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|e| {
        crate::errors::to_py(accountscope::Error::config(
            field,
            format!("expected a date or YYYY-MM-DD, got '{text}': {e}"),
        ))
    })
}

#[pymethods]
impl Engine {
    /// An engine with `threads` worker threads (default: every core).
    #[new]
    #[pyo3(signature = (threads=None))]
    fn new(threads: Option<usize>) -> PyResult<Self> {
        let inner = match threads {
            Some(n) => accountscope::Engine::with_threads(n),
            None => accountscope::Engine::new(),
        }
        .py()?;
        Ok(Self { inner: Arc::new(inner) })
    }

    /// Registers (or replaces) any Arrow table-like object under `name`.
    fn register(&self, py: Python<'_>, name: &str, data: AnyRecordBatch) -> PyResult<()> {
        let table = from_py(data)?;
        py.detach(|| self.inner.register(name, &table)).py()
    }

    /// Registers a file (Parquet lazily; CSV, JSON lines and Arrow IPC read into memory); keyword
    /// arguments are `ReadOptions` fields (`format`, `delimiter`, `has_header`, `batch_size`, `infer_rows`).
    #[pyo3(signature = (name, path, **options))]
    fn register_file(
        &self,
        py: Python<'_>,
        name: &str,
        path: std::path::PathBuf,
        options: Option<&Bound<'_, pyo3::types::PyDict>>,
    ) -> PyResult<()> {
        let options: accountscope::io::ReadOptions = config(&kwargs_json(py, options)?, "read options")?;
        py.detach(|| self.inner.register_file(name, path, &options)).py()
    }

    /// Registers every table of a demo portfolio, and its ground truth tables when `truth` is true.
    #[pyo3(signature = (demo, truth=false))]
    fn register_demo(&self, py: Python<'_>, demo: &Demo, truth: bool) -> PyResult<()> {
        py.detach(|| {
            self.inner.register_portfolio(&demo.inner.portfolio)?;
            if truth {
                for (name, table) in demo.inner.truth_tables() {
                    self.inner.register(name, table)?;
                }
            }
            Ok(())
        })
        .py()
    }

    /// Removes a table; returns whether it existed.
    fn deregister(&self, name: &str) -> PyResult<bool> {
        self.inner.deregister(name).py()
    }

    /// Names of the registered tables.
    fn tables(&self) -> Vec<String> {
        self.inner.tables()
    }

    /// Runs a SQL statement and returns its result.
    fn sql(&self, py: Python<'_>, query: &str) -> PyResult<Table> {
        py.detach(|| self.inner.sql(query)).py().map(Table::new)
    }

    /// Every row of a registered table.
    fn table(&self, py: Python<'_>, name: &str) -> PyResult<Table> {
        py.detach(|| self.inner.table(name)).py().map(Table::new)
    }

    /// Per segment: accounts, active and churned accounts, total ARR, mean seats.
    fn portfolio_summary(&self, py: Python<'_>) -> PyResult<Table> {
        py.detach(|| self.inner.portfolio_summary()).py().map(Table::new)
    }

    /// One account's daily usage between `start` and `end` (inclusive; dates or `YYYY-MM-DD`).
    fn account_usage(
        &self,
        py: Python<'_>,
        account_id: &str,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
    ) -> PyResult<Table> {
        let (start, end) = (parse_date(start, "start")?, parse_date(end, "end")?);
        py.detach(|| self.inner.account_usage(account_id, start, end)).py().map(Table::new)
    }

    /// Usage of one segment per period (`frequency`: day, week, month, quarter, year) between `start` and
    /// `end`.
    #[pyo3(signature = (segment, start, end, frequency="week"))]
    fn segment_usage(
        &self,
        py: Python<'_>,
        segment: &str,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
        frequency: &str,
    ) -> PyResult<Table> {
        let (start, end) = (parse_date(start, "start")?, parse_date(end, "end")?);
        let frequency: accountscope::trend::Frequency = config(&format!("\"{frequency}\""), "frequency")?;
        py.detach(|| self.inner.segment_usage(segment, start, end, frequency)).py().map(Table::new)
    }

    /// Registers the tables of a batch anomaly pass (events, incidents, series).
    fn register_anomalies(
        &self,
        events: AnyRecordBatch,
        incidents: AnyRecordBatch,
        series: AnyRecordBatch,
    ) -> PyResult<()> {
        let result = accountscope::anomaly::AnomalyResult {
            events: crate::table::from_py(events)?,
            incidents: crate::table::from_py(incidents)?,
            series: crate::table::from_py(series)?,
            scores: None,
        };
        self.inner.register_anomalies(&result).py()
    }

    /// Anomaly incidents of one segment's accounts overlapping `start` ..= `end`, most severe first.
    fn segment_anomalies(
        &self,
        py: Python<'_>,
        segment: &str,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
    ) -> PyResult<Table> {
        let (start, end) = (parse_date(start, "start")?, parse_date(end, "end")?);
        py.detach(|| self.inner.segment_anomalies(segment, start, end)).py().map(Table::new)
    }

    /// Per segment between `start` and `end`: accounts, accounts with usage, mean daily active users,
    /// total ARR, churned in the range.
    fn segment_aggregates(&self, py: Python<'_>, start: &Bound<'_, PyAny>, end: &Bound<'_, PyAny>) -> PyResult<Table> {
        let (start, end) = (parse_date(start, "start")?, parse_date(end, "end")?);
        py.detach(|| self.inner.segment_aggregates(start, end)).py().map(Table::new)
    }
}
