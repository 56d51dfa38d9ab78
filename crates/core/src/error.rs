//! The one error type of accountscope.
//!
//! Follows DataFusion's split (`datafusion/common/src/error.rs`) between expected errors, which name what
//! was wrong with the caller's input, configuration or environment, and [`Error::Internal`], which means a
//! bug in accountscope. Every variant maps to a stable [`ErrorCategory`] that the Python, Node and C
//! bindings expose as an exception class, an error `code` and a status number.

use std::fmt;

/// Result with accountscope's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Stable error categories, shared by every binding. The numbers are the C ABI status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum ErrorCategory {
    /// A value in the caller's data is not what was expected.
    InvalidInput = 1,
    /// A table's columns or types do not fit the expected schema.
    Schema = 2,
    /// A configuration (rule set, mapping, model parameters) is invalid.
    Config = 3,
    /// A model or detector was used before it was fitted.
    NotFitted = 4,
    /// Reading or writing a file or stream failed.
    Io = 5,
    /// A model could not be trained, loaded or applied.
    Model = 6,
    /// The request is valid but not supported (yet).
    Unsupported = 7,
    /// A bug in accountscope.
    Internal = 8,
    /// The caller stopped a long call (through a [`crate::progress::Observer`]).
    Cancelled = 9,
}

impl ErrorCategory {
    /// The category's stable name, as used for Node error codes and Python exception lookup.
    pub fn name(self) -> &'static str {
        match self {
            Self::InvalidInput => "INVALID_INPUT",
            Self::Schema => "SCHEMA",
            Self::Config => "CONFIG",
            Self::NotFitted => "NOT_FITTED",
            Self::Io => "IO",
            Self::Model => "MODEL",
            Self::Unsupported => "UNSUPPORTED",
            Self::Internal => "INTERNAL",
            Self::Cancelled => "CANCELLED",
        }
    }
}

impl fmt::Display for ErrorCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One value that could not be cast to its column's canonical type.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BadValue {
    /// 0-based row number in the input (across all batches of a stream).
    pub row: usize,
    /// The value as text, as it was in the input.
    pub value: String,
}

/// Everything that can go wrong in accountscope.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value in the caller's data is invalid; `context` names the table, column, row or field.
    #[error("invalid input in {context}: {message}")]
    InvalidInput {
        /// Where: e.g. `table 'usage', column 'date', row 17`.
        context: String,
        /// What was expected and what was found.
        message: String,
    },

    /// Required columns are missing from an input table.
    #[error("table '{table}' is missing required column(s) {missing:?}; columns present: {present:?}")]
    MissingColumns {
        /// The canonical table.
        table: String,
        /// Canonical names (and the source names they were mapped from) that were not found.
        missing: Vec<String>,
        /// The columns the input has.
        present: Vec<String>,
    },

    /// Values of a column could not be cast to its canonical type.
    #[error(
        "table '{table}', column '{column}': {count} value(s) cannot be read as {expected}; first rows: {}",
        fmt_bad_values(.examples)
    )]
    Cast {
        /// The canonical table.
        table: String,
        /// The canonical column (source name in brackets when mapped).
        column: String,
        /// The expected type or format.
        expected: String,
        /// How many values failed.
        count: usize,
        /// The first failing rows with their values.
        examples: Vec<BadValue>,
    },

    /// Any other schema mismatch: an unexpected column, a column of a type that cannot be cast.
    #[error("schema error in {context}: {message}")]
    Schema {
        /// Where: the table and column.
        context: String,
        /// What was expected and what was found.
        message: String,
    },

    /// A configuration is invalid; `field` names the offending field.
    #[error("invalid configuration: field '{field}': {message}")]
    Config {
        /// The field path, e.g. `demo.segment_mix`.
        field: String,
        /// What was expected.
        message: String,
    },

    /// A model or detector was used before it was fitted.
    #[error("{what} is not fitted: call fit first")]
    NotFitted {
        /// The object that was used.
        what: String,
    },

    /// An I/O failure, with the path or stream it concerns.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or stream.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A model could not be trained, loaded or applied.
    #[error("model error: {0}")]
    Model(String),

    /// The request is valid but not supported.
    #[error("unsupported: {0}")]
    Unsupported(String),

    /// An Arrow error (a kernel or a reader failed).
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),

    /// A Parquet error.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),

    /// A DataFusion error (a SQL query did not plan or execute).
    #[error("sql: {0}")]
    DataFusion(Box<datafusion::error::DataFusionError>),

    /// A JSON (de)serialisation error of a configuration or a document.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),

    /// The caller stopped a long call; its partial work was discarded.
    #[error("cancelled: {0}")]
    Cancelled(String),

    /// A bug in accountscope: please report it.
    #[error("internal error (a bug in accountscope, please report it): {0}")]
    Internal(String),
}

fn fmt_bad_values(values: &[BadValue]) -> String {
    let shown: Vec<String> = values.iter().map(|v| format!("row {} = {:?}", v.row, v.value)).collect();
    shown.join(", ")
}

impl Error {
    /// The error with the rows of an [`Error::Cast`] moved by `offset` (rows counted in one batch, made
    /// rows of the whole table); any other error as it is.
    pub(crate) fn with_row_offset(mut self, offset: usize) -> Self {
        if let Self::Cast { examples, .. } = &mut self {
            examples.iter_mut().for_each(|b| b.row += offset);
        }
        self
    }

    /// The stable category of this error.
    pub fn category(&self) -> ErrorCategory {
        use datafusion::error::DataFusionError as D;
        match self {
            Self::InvalidInput { .. } => ErrorCategory::InvalidInput,
            Self::MissingColumns { .. } | Self::Cast { .. } | Self::Schema { .. } => ErrorCategory::Schema,
            Self::Config { .. } | Self::Json(_) => ErrorCategory::Config,
            Self::NotFitted { .. } => ErrorCategory::NotFitted,
            Self::Io { .. } | Self::Parquet(_) => ErrorCategory::Io,
            Self::Model(_) => ErrorCategory::Model,
            Self::Unsupported(_) => ErrorCategory::Unsupported,
            Self::Internal(_) => ErrorCategory::Internal,
            Self::Cancelled(_) => ErrorCategory::Cancelled,
            Self::Arrow(e) => match e {
                arrow::error::ArrowError::IoError(..) => ErrorCategory::Io,
                arrow::error::ArrowError::SchemaError(_) => ErrorCategory::Schema,
                _ => ErrorCategory::InvalidInput,
            },
            Self::DataFusion(e) => match e.as_ref() {
                D::SQL(..) | D::Plan(_) | D::SchemaError(..) => ErrorCategory::InvalidInput,
                D::NotImplemented(_) => ErrorCategory::Unsupported,
                D::IoError(_) | D::ObjectStore(_) => ErrorCategory::Io,
                D::Configuration(_) => ErrorCategory::Config,
                D::Internal(_) => ErrorCategory::Internal,
                _ => ErrorCategory::InvalidInput,
            },
        }
    }

    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid(context: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidInput { context: context.into(), message: message.into() }
    }

    /// Shorthand for [`Error::Config`].
    pub fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Config { field: field.into(), message: message.into() }
    }

    /// Shorthand for [`Error::Io`] on a path.
    pub fn io(path: impl fmt::Display, source: std::io::Error) -> Self {
        Self::Io { path: path.to_string(), source }
    }
}

impl From<datafusion::error::DataFusionError> for Error {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        Self::DataFusion(Box::new(e))
    }
}

impl From<linfa::error::Error> for Error {
    fn from(e: linfa::error::Error) -> Self {
        Self::Model(format!("linfa: {e}"))
    }
}

/// Lets accountscope errors travel through Arrow record-batch readers and back.
impl From<Error> for arrow::error::ArrowError {
    fn from(e: Error) -> Self {
        match e {
            Error::Arrow(inner) => inner,
            other => arrow::error::ArrowError::ExternalError(Box::new(other)),
        }
    }
}

/// Recovers an accountscope error that travelled inside an [`arrow::error::ArrowError`].
pub(crate) fn from_arrow(e: arrow::error::ArrowError) -> Error {
    match e {
        arrow::error::ArrowError::ExternalError(inner) => match inner.downcast::<Error>() {
            Ok(ours) => *ours,
            Err(other) => Error::Arrow(arrow::error::ArrowError::ExternalError(other)),
        },
        other => Error::Arrow(other),
    }
}
