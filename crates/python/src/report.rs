//! Reports, privacy and schedules for Python: specs and policies cross as JSON text (the core's serde
//! structs), reports come back as a [`Report`] object that renders bytes in any format.

use std::path::PathBuf;

use accountscope::privacy::{self, AuditLog, Privacy, PrivacyPolicy};
use accountscope::report::{self, Filters, ReportFormat, ReportOptions, ReportSpec, Schedule};
use chrono::{DateTime, Utc};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::engine::Engine;
use crate::errors::{IntoPy, config, to_py};

fn json<T: serde::Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string(value).map_err(|e| to_py(accountscope::Error::Internal(e.to_string())))
}

fn formats(names: &[String]) -> PyResult<Vec<ReportFormat>> {
    if names.is_empty() {
        return Ok(ReportFormat::ALL.to_vec());
    }
    names.iter().map(|n| ReportFormat::parse(n)).collect::<accountscope::Result<_>>().py()
}

fn instant(text: &str, field: &str) -> PyResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| to_py(accountscope::Error::config(field, format!("expected an RFC 3339 time, got '{text}': {e}"))))
}

fn privacy(policy: Option<&str>, key: &[u8]) -> PyResult<Privacy> {
    let policy = match policy {
        Some(text) => config::<PrivacyPolicy>(text, "privacy policy")?,
        None => PrivacyPolicy::default(),
    };
    Privacy::new(policy, key.to_vec()).py()
}

/// A finished report (already masked for its role); renders JSON, HTML, Excel or PDF bytes.
#[pyclass(module = "accountscope._native", frozen)]
pub(crate) struct Report {
    inner: report::Report,
}

#[pymethods]
impl Report {
    /// The report title.
    #[getter]
    fn title(&self) -> String {
        self.inner.title.clone()
    }

    /// The role the report was prepared for.
    #[getter]
    fn role(&self) -> String {
        self.inner.role.clone()
    }

    /// The template or spec id.
    #[getter]
    fn template(&self) -> String {
        self.inner.template.clone()
    }

    /// The bytes of the report in `format` (`json`, `html`, `xlsx`, `pdf`).
    fn render<'py>(&self, py: Python<'py>, format: &str) -> PyResult<Bound<'py, PyBytes>> {
        let format = ReportFormat::parse(format).py()?;
        let bytes = py.detach(|| self.inner.render(format)).py()?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Writes `dir/stem.<ext>` per format (all four when `formats` is empty); returns the paths.
    #[pyo3(signature = (dir, stem, formats=Vec::new()))]
    fn write(&self, py: Python<'_>, dir: PathBuf, stem: &str, formats: Vec<String>) -> PyResult<Vec<PathBuf>> {
        let formats = self::formats(&formats)?;
        py.detach(|| self.inner.write(&dir, stem, &formats)).py()
    }

    /// Writes like `write` and appends the generation (actor, role, SHA-256 of each file) to the audit log
    /// at `audit_path` (JSON lines).
    fn publish(
        &self,
        py: Python<'_>,
        dir: PathBuf,
        stem: &str,
        formats: Vec<String>,
        actor: &str,
        audit_path: PathBuf,
    ) -> PyResult<Vec<PathBuf>> {
        let formats = self::formats(&formats)?;
        py.detach(|| {
            let audit = AuditLog::open(&audit_path)?;
            self.inner.publish(&dir, stem, &formats, actor, &audit)
        })
        .py()
    }

    /// The JSON document as text.
    fn to_json(&self) -> PyResult<String> {
        let bytes = self.inner.render(ReportFormat::Json).py()?;
        String::from_utf8(bytes).map_err(|e| to_py(accountscope::Error::Internal(e.to_string())))
    }

    /// The HTML document in an iframe (its styles stay inside), for Jupyter.
    fn _repr_html_(&self) -> String {
        self.inner.notebook_html()
    }

    fn __repr__(&self) -> String {
        format!("Report(template={:?}, role={:?}, as_of={})", self.inner.template, self.inner.role, self.inner.as_of)
    }
}

/// A spec (JSON, YAML or TOML text in `format`) checked and returned as JSON.
#[pyfunction]
pub(crate) fn report_spec(text: &str, format: &str) -> PyResult<String> {
    json(&ReportSpec::from_str(text, format).py()?)
}

/// A shipped template's spec as JSON.
#[pyfunction]
pub(crate) fn report_template(name: &str) -> PyResult<String> {
    json(&ReportSpec::template(name).py()?)
}

/// Names of the shipped templates.
#[pyfunction]
pub(crate) fn report_templates() -> Vec<&'static str> {
    ReportSpec::template_names()
}

/// The JSON Schema of the JSON renderer's documents.
#[pyfunction]
pub(crate) fn report_json_schema() -> &'static str {
    report::json::JSON_SCHEMA
}

/// Builds a report from a spec (JSON) on the engine's tables, masked for the role.
#[pyfunction]
#[pyo3(signature = (engine, spec_json, filters_json, key, role=None, as_of=None, top_n=None, policy_json=None, generated_at=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn build_report(
    py: Python<'_>,
    engine: &Engine,
    spec_json: &str,
    filters_json: &str,
    key: &[u8],
    role: Option<String>,
    as_of: Option<&Bound<'_, PyAny>>,
    top_n: Option<usize>,
    policy_json: Option<&str>,
    generated_at: Option<&str>,
) -> PyResult<Report> {
    let spec: ReportSpec = serde_json::from_str(spec_json)
        .map_err(|e| to_py(accountscope::Error::config("report spec", e.to_string())))?;
    let options = ReportOptions {
        role,
        as_of: as_of.map(|d| crate::engine::parse_date(d, "as_of")).transpose()?,
        filters: config::<Filters>(filters_json, "filters")?,
        top_n,
        generated_at: generated_at.map(|t| instant(t, "generated_at")).transpose()?,
    };
    let privacy = privacy(policy_json, key)?;
    let inner = py.detach(|| report::build(&engine.inner, &spec, &options, &privacy)).py()?;
    Ok(Report { inner })
}

/// Removes an account from every registered table; returns the receipt as JSON. With `audit_path` the
/// erasure is appended to that audit log as done by `actor`, the account named only by its keyed token.
#[pyfunction]
#[pyo3(signature = (engine, account_id, key, actor=None, audit_path=None))]
pub(crate) fn erase_account(
    py: Python<'_>,
    engine: &Engine,
    account_id: &str,
    key: &[u8],
    actor: Option<&str>,
    audit_path: Option<PathBuf>,
) -> PyResult<String> {
    let receipt = match audit_path {
        None => py.detach(|| privacy::erase_account(&engine.inner, account_id)).py()?,
        Some(path) => {
            let privacy = privacy(None, key)?;
            let actor = actor.unwrap_or("unknown");
            py.detach(|| privacy.erase(&engine.inner, account_id, actor, &AuditLog::open(&path)?)).py()?
        }
    };
    json(&receipt)
}

/// The schedules (JSON list) due in `(after, until]` (RFC 3339 times): `(name, due time)` pairs.
#[pyfunction]
pub(crate) fn due_reports(schedules_json: &str, after: &str, until: &str) -> PyResult<Vec<(String, String)>> {
    let schedules: Vec<Schedule> = config(schedules_json, "schedules")?;
    let due = report::due(&schedules, instant(after, "after")?, instant(until, "until")?).py()?;
    Ok(due.into_iter().map(|d| (d.schedule, d.at.to_rfc3339())).collect())
}

/// Builds and writes every schedule due in `(after, until]`, recording each in the audit log; returns
/// `(name, due time, paths)` triples.
#[pyfunction]
#[pyo3(signature = (engine, schedules_json, after, until, key, actor, audit_path, policy_json=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_due_reports(
    py: Python<'_>,
    engine: &Engine,
    schedules_json: &str,
    after: &str,
    until: &str,
    key: &[u8],
    actor: &str,
    audit_path: PathBuf,
    policy_json: Option<&str>,
) -> PyResult<Vec<(String, String, Vec<PathBuf>)>> {
    let schedules: Vec<Schedule> = config(schedules_json, "schedules")?;
    let (after, until) = (instant(after, "after")?, instant(until, "until")?);
    let privacy = privacy(policy_json, key)?;
    let ran = py
        .detach(|| {
            let audit = AuditLog::open(&audit_path)?;
            report::run_due(&engine.inner, &schedules, after, until, &privacy, actor, &audit)
        })
        .py()?;
    Ok(ran.into_iter().map(|(d, paths)| (d.schedule, d.at.to_rfc3339(), paths)).collect())
}
