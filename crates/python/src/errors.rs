//! Core errors as Python exceptions: one class per error category, looked up in
//! `accountscope.exceptions` (defined in Python so classes can also subclass `ValueError`, `OSError` or
//! scikit-learn's `NotFittedError`).

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// Converts a core error into the Python exception of its category, keeping the message.
pub(crate) fn to_py(e: accountscope::Error) -> PyErr {
    let category = e.category();
    let message = e.to_string();
    Python::attach(|py| {
        let class = py
            .import("accountscope.exceptions")
            .and_then(|m| m.getattr("error_class"))
            .and_then(|f| f.call1((category.name(),)));
        match class {
            Ok(class) => match class.call1((message.clone(),)) {
                Ok(instance) => PyErr::from_value(instance),
                Err(err) => err,
            },
            Err(_) => PyRuntimeError::new_err(format!("[{category}] {message}")),
        }
    })
}

/// Result conversion for core calls.
pub(crate) trait IntoPy<T> {
    /// The value, or the error as a Python exception.
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for accountscope::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

/// Keyword arguments as JSON text, through `accountscope._config` (which turns dates and paths into text).
pub(crate) fn kwargs_json(py: Python<'_>, kwargs: Option<&Bound<'_, pyo3::types::PyDict>>) -> PyResult<String> {
    match kwargs {
        None => Ok("{}".to_string()),
        Some(kwargs) => py.import("accountscope")?.getattr("_config")?.call1((kwargs,))?.extract(),
    }
}

/// Parses a JSON configuration (made from keyword arguments) into a core config struct.
pub(crate) fn config<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> PyResult<T> {
    serde_json::from_str(json).map_err(|e| to_py(accountscope::Error::config(what, e.to_string())))
}
