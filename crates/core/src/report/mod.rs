//! Reports: one report model ([`Report`]: sections of KPI tiles, tables, charts and text) assembled from
//! the engine's tables by a [`ReportSpec`] (the shipped role templates `executive`, `csm`, `data_quality`,
//! or a custom spec), masked for the reader's role by [`crate::privacy`], and rendered from that same
//! model as JSON, HTML, Excel and PDF. Schedules say which reports are due when; the host application
//! runs them from its own scheduler.
//!
//! Charts are laid out once as vector shapes (`draw`), written as inline SVG in HTML and as PDF paths in
//! PDF; Excel gets native charts over the same series. Writing by hand what a crate would give: the SVG and
//! PDF chart drawing (plotters draws SVG but not PDF vectors, and would give two pictures), and the
//! Helvetica metrics the PDF layout needs.

mod build;
mod draw;
mod fonts;
mod html;
pub mod json;
mod model;
mod pdf;
mod schedule;
mod spec;
mod svg;
mod xlsx;

pub use build::{ReportOptions, build};
pub use model::{
    Block, Cell, Chart, ChartKind, Kpi, Report, Section, Series, TableBlock, Text, ValueFormat, XValues, cells,
};
pub use schedule::{Due, Schedule, due, run_due};
pub use spec::{Filters, KpiSpec, ReportSpec, SectionSpec, WidgetKind, WidgetSpec};

use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::privacy::{AuditEntry, AuditLog, sha256_hex};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    /// JSON following `report.schema.json`.
    Json,
    /// One self-contained HTML file.
    Html,
    /// An Excel workbook.
    Xlsx,
    /// A PDF document.
    Pdf,
}

impl ReportFormat {
    /// All four formats.
    pub const ALL: [ReportFormat; 4] = [Self::Json, Self::Html, Self::Xlsx, Self::Pdf];

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Html => "html",
            Self::Xlsx => "xlsx",
            Self::Pdf => "pdf",
        }
    }

    /// The format named `name` (`json`, `html`, `xlsx` / `excel`, `pdf`).
    pub fn parse(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "html" => Ok(Self::Html),
            "xlsx" | "excel" => Ok(Self::Xlsx),
            "pdf" => Ok(Self::Pdf),
            other => Err(Error::config("format", format!("unknown report format '{other}': json, html, xlsx or pdf"))),
        }
    }
}

impl Report {
    /// The report in one format, as bytes.
    pub fn render(&self, format: ReportFormat) -> Result<Vec<u8>> {
        match format {
            ReportFormat::Json => json::render(self),
            ReportFormat::Html => Ok(html::render(self).into_bytes()),
            ReportFormat::Xlsx => xlsx::render(self),
            ReportFormat::Pdf => Ok(pdf::render(self)),
        }
    }

    /// The HTML report inside an `<iframe srcdoc>`, for notebook output cells: the document's styles stay
    /// inside the frame instead of restyling the notebook page, and its SVG charts display inline.
    pub fn notebook_html(&self) -> String {
        format!(
            "<iframe srcdoc=\"{}\" title=\"{}\" style=\"width:100%;height:720px;border:1px solid #ddd\"></iframe>",
            crate::html::escape(&html::render(self)),
            crate::html::escape(&self.title)
        )
    }

    /// Writes `dir/stem.<ext>` for each format (creating `dir`); returns the paths in the order given.
    pub fn write(&self, dir: impl AsRef<Path>, stem: &str, formats: &[ReportFormat]) -> Result<Vec<PathBuf>> {
        Ok(self.write_hashed(dir.as_ref(), stem, formats)?.into_iter().map(|(p, _)| p).collect())
    }

    fn write_hashed(&self, dir: &Path, stem: &str, formats: &[ReportFormat]) -> Result<Vec<(PathBuf, String)>> {
        if stem.is_empty() || stem.contains(['/', '\\']) {
            return Err(Error::invalid("report file name", format!("'{stem}' is not a plain file name")));
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
        let mut out = Vec::with_capacity(formats.len());
        for &f in formats {
            let bytes = self.render(f)?;
            let path = dir.join(format!("{stem}.{}", f.extension()));
            std::fs::write(&path, &bytes).map_err(|e| Error::io(path.display(), e))?;
            out.push((path, sha256_hex(&bytes)));
        }
        Ok(out)
    }

    /// Writes the formats like [`Report::write`] and records the generation in `audit`: `actor`, the role,
    /// the template and filters, and the SHA-256 of every file.
    pub fn publish(
        &self,
        dir: impl AsRef<Path>,
        stem: &str,
        formats: &[ReportFormat],
        actor: &str,
        audit: &AuditLog,
    ) -> Result<Vec<PathBuf>> {
        let written = self.write_hashed(dir.as_ref(), stem, formats)?;
        let filters: Vec<String> = self.filters.iter().map(|(k, v)| format!("{k}={v}")).collect();
        audit.record(AuditEntry {
            at: Utc::now(),
            actor: actor.to_string(),
            role: self.role.clone(),
            action: "report".into(),
            target: format!("{} [{}]", self.template, filters.join("; ")),
            outputs: written
                .iter()
                .map(|(p, h)| (p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), h.clone()))
                .collect(),
        })?;
        Ok(written.into_iter().map(|(p, _)| p).collect())
    }
}
