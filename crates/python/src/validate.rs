//! Validation for Python: the validator, its result, streaming and profiling (see `accountscope::validate`).

use std::collections::HashMap;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3_arrow::input::AnyRecordBatch;

use crate::engine::Engine;
use crate::errors::{IntoPy, config, to_py};
use crate::table::{Table, from_py};
use accountscope::validate as core;

fn json<T: serde::Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string(value).map_err(|e| to_py(e.into()))
}

/// A rule set with options and reference tables, ready to validate.
#[pyclass(module = "accountscope._native", frozen)]
pub(crate) struct Validator {
    inner: Arc<core::Validator>,
}

#[pymethods]
impl Validator {
    /// `rules` is rule-set text in `format` (`json`, `yaml` or `toml`); `options_json` a JSON
    /// `ValidateOptions`; `references` maps names to Arrow tables that foreign keys may reference.
    #[new]
    #[pyo3(signature = (rules, format="json", options_json="{}", references=None))]
    fn new(
        rules: &str,
        format: &str,
        options_json: &str,
        references: Option<HashMap<String, AnyRecordBatch>>,
    ) -> PyResult<Self> {
        let rules = core::RuleSet::from_str(rules, format).py()?;
        Self::build(rules, options_json, references)
    }

    /// A validator for a rule-set file (`.json`, `.yaml` / `.yml`, `.toml`).
    #[staticmethod]
    #[pyo3(signature = (path, options_json="{}", references=None))]
    fn from_file(
        path: std::path::PathBuf,
        options_json: &str,
        references: Option<HashMap<String, AnyRecordBatch>>,
    ) -> PyResult<Self> {
        Self::build(core::RuleSet::from_path(path).py()?, options_json, references)
    }

    /// The rule set as JSON.
    fn rules_json(&self) -> PyResult<String> {
        self.inner.rules().to_json().py()
    }

    /// Validates `(name, table)` pairs held in memory.
    fn validate(&self, py: Python<'_>, inputs: Vec<(String, AnyRecordBatch)>) -> PyResult<Validation> {
        let tables: Vec<(String, accountscope::Table)> =
            inputs.into_iter().map(|(n, d)| Ok((n, from_py(d)?))).collect::<PyResult<_>>()?;
        let inner = self.inner.clone();
        let run = py
            .detach(|| {
                let refs: Vec<(&str, &accountscope::Table)> = tables.iter().map(|(n, t)| (n.as_str(), t)).collect();
                inner.validate(&refs)
            })
            .py()?;
        Ok(Validation { inner: Arc::new(run) })
    }

    /// A streaming validator for batches of `table` with the schema of `schema_of` (any Arrow object).
    fn stream(&self, table: &str, schema_of: AnyRecordBatch) -> PyResult<StreamValidator> {
        let schema = schema_of.into_reader()?.schema();
        let inner = self.inner.stream(table, &schema).py()?;
        Ok(StreamValidator { inner: std::sync::Mutex::new(Some(inner)) })
    }
}

impl Validator {
    fn build(
        rules: core::RuleSet,
        options_json: &str,
        references: Option<HashMap<String, AnyRecordBatch>>,
    ) -> PyResult<Self> {
        let options: core::ValidateOptions = config(options_json, "validate options")?;
        let mut validator = core::Validator::new(rules).py()?.with_options(options);
        for (name, data) in references.unwrap_or_default() {
            validator = validator.with_reference(name, from_py(data)?);
        }
        Ok(Self { inner: Arc::new(validator) })
    }
}

/// The outputs, report and lineage of a validation run.
#[pyclass(module = "accountscope._native", frozen)]
pub(crate) struct Validation {
    inner: Arc<core::Validation>,
}

impl Validation {
    fn output(&self, name: &str) -> PyResult<&core::TableOutput> {
        self.inner.table(name).ok_or_else(|| {
            let known: Vec<&str> = self.inner.tables.iter().map(|t| t.name.as_str()).collect();
            to_py(accountscope::Error::invalid("table", format!("no table '{name}' in this run; it has {known:?}")))
        })
    }
}

#[pymethods]
impl Validation {
    /// Names of the validated tables.
    fn tables(&self) -> Vec<String> {
        self.inner.tables.iter().map(|t| t.name.clone()).collect()
    }

    /// Rows that passed every error rule, typed.
    fn clean(&self, table: &str) -> PyResult<Table> {
        Ok(Table::new(self.output(table)?.clean.clone()))
    }

    /// Rejected rows as input, with `_row`, `_rule_ids` and `_reasons`.
    fn quarantine(&self, table: &str) -> PyResult<Table> {
        Ok(Table::new(self.output(table)?.quarantine.clone()))
    }

    /// Dropped duplicate copies as input, with `_row`, `_kept_row` and `_duplicate`.
    fn duplicates(&self, table: &str) -> PyResult<Table> {
        Ok(Table::new(self.output(table)?.duplicates.clone()))
    }

    /// The `ValidationReport` as JSON.
    fn report_json(&self) -> PyResult<String> {
        json(&self.inner.report)
    }

    /// One row per (table, rule).
    fn rules_table(&self) -> PyResult<Table> {
        self.inner.report.rules_table().py().map(Table::new)
    }

    /// One row per table: counts and quality scores.
    fn scores_table(&self) -> PyResult<Table> {
        self.inner.report.scores_table().py().map(Table::new)
    }

    /// The scorecard as aligned text.
    fn scorecard(&self) -> String {
        self.inner.report.scorecard()
    }

    /// Whether every rule of every table succeeded.
    fn success(&self) -> bool {
        self.inner.report.success()
    }

    /// Lineage records as JSON lines.
    fn lineage_json_lines(&self) -> PyResult<String> {
        core::to_json_lines(&self.inner.lineage).py()
    }

    /// Lineage records as a table.
    fn lineage_table(&self) -> PyResult<Table> {
        core::lineage_table(&self.inner.lineage).py().map(Table::new)
    }

    /// Registers every output in `engine` (`<table>_clean`, `_quarantine`, `_duplicates`,
    /// `validation_rules`, `validation_scores`, `validation_lineage`).
    fn register(&self, engine: &Engine) -> PyResult<()> {
        self.inner.register(&engine.inner).py()
    }

    /// The scorecard as an HTML table, for Jupyter.
    fn _repr_html_(&self) -> String {
        format!("<p>accountscope validation</p>{}", self.inner.report.scorecard_html())
    }
}

/// Validates one table's batches as they come, in bounded memory.
#[pyclass(module = "accountscope._native", frozen)]
pub(crate) struct StreamValidator {
    inner: std::sync::Mutex<Option<core::StreamValidator>>,
}

#[pymethods]
impl StreamValidator {
    /// Validates the next batches (any Arrow object); returns (clean, quarantine, duplicates).
    fn push(&self, py: Python<'_>, data: AnyRecordBatch) -> PyResult<(Table, Table, Table)> {
        let input = from_py(data)?;
        let mut guard = self.inner.lock().map_err(|_| to_py(accountscope::Error::Internal("lock poisoned".into())))?;
        let stream = guard
            .as_mut()
            .ok_or_else(|| to_py(accountscope::Error::invalid("stream", "finish() was already called")))?;
        let outputs = py
            .detach(|| input.batches().iter().map(|b| stream.push(b)).collect::<accountscope::Result<Vec<_>>>())
            .py()?;
        let collect = |f: &dyn Fn(&core::BatchOutput) -> arrow::array::RecordBatch| -> PyResult<Table> {
            let batches: Vec<_> = outputs.iter().map(f).collect();
            let schema =
                batches.first().map(|b| b.schema()).unwrap_or_else(|| Arc::new(arrow::datatypes::Schema::empty()));
            accountscope::Table::try_new(schema, batches).py().map(Table::new)
        };
        Ok((collect(&|o| o.clean.clone())?, collect(&|o| o.quarantine.clone())?, collect(&|o| o.duplicates.clone())?))
    }

    /// Ends the stream; returns the table report and the lineage record as JSON.
    fn finish(&self) -> PyResult<(String, String)> {
        let mut guard = self.inner.lock().map_err(|_| to_py(accountscope::Error::Internal("lock poisoned".into())))?;
        let stream =
            guard.take().ok_or_else(|| to_py(accountscope::Error::invalid("stream", "finish() was already called")))?;
        let (report, lineage) = stream.finish();
        Ok((json(&report)?, json(&lineage)?))
    }
}

/// Per-column statistics of any Arrow table (JSON `ProfileOptions`).
#[pyfunction]
#[pyo3(signature = (data, options_json="{}"))]
pub(crate) fn profile(py: Python<'_>, data: AnyRecordBatch, options_json: &str) -> PyResult<Table> {
    let options: core::ProfileOptions = config(options_json, "profile options")?;
    let table = from_py(data)?;
    py.detach(|| core::profile(&table, &options)).py().map(Table::new)
}

/// The YAML rule set of the dirty demo export.
#[pyfunction]
pub(crate) fn dirty_rules_yaml() -> &'static str {
    accountscope::demo::DIRTY_RULES_YAML
}
