//! Report schedules: a cron expression (croner: Vixie cron with optional seconds), a template or spec file,
//! a role, formats and an output folder. [`due`] tells which schedules fell due in a time window and
//! [`run_due`] renders them; the host application calls these from its own scheduler (the library runs no
//! daemon). Runs missed inside one window collapse into one report, stamped with the latest due time.

use std::path::PathBuf;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use croner::Cron;
use serde::{Deserialize, Serialize};

use super::ReportFormat;
use super::build::{ReportOptions, build};
use super::spec::{Filters, ReportSpec};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::privacy::{AuditLog, Privacy};

/// One scheduled report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Unique name (also the output file stem).
    pub name: String,
    /// Cron expression in UTC, e.g. `0 7 * * MON` (Mondays 07:00).
    pub cron: String,
    /// A shipped template name, or the path of a spec file (`.json`, `.yaml`, `.toml`).
    pub template: String,
    /// The role to prepare it for (default: the spec's).
    #[serde(default)]
    pub role: Option<String>,
    /// Output formats.
    pub formats: Vec<ReportFormat>,
    /// Folder the files are written to.
    pub output_dir: PathBuf,
    /// Filters (segment, owner, date range, account).
    #[serde(default)]
    pub filters: Filters,
}

/// A schedule that fell due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// The schedule's name.
    pub schedule: String,
    /// The latest due time in the window.
    pub at: DateTime<Utc>,
}

impl Schedule {
    fn cron(&self) -> Result<Cron> {
        Cron::from_str(&self.cron)
            .map_err(|e| Error::config(format!("schedule '{}', field 'cron'", self.name), e.to_string()))
    }

    fn spec(&self) -> Result<ReportSpec> {
        if ReportSpec::template_names().contains(&self.template.as_str()) {
            ReportSpec::template(&self.template)
        } else {
            ReportSpec::from_path(&self.template)
        }
    }
}

/// Schedules due in the window `(after, until]`, in the order given.
pub fn due(schedules: &[Schedule], after: DateTime<Utc>, until: DateTime<Utc>) -> Result<Vec<Due>> {
    let mut names = std::collections::HashSet::new();
    let mut out = Vec::new();
    for s in schedules {
        if !names.insert(s.name.as_str()) {
            return Err(Error::config(format!("schedule '{}'", s.name), "the name is used twice"));
        }
        if s.formats.is_empty() {
            return Err(Error::config(format!("schedule '{}', field 'formats'", s.name), "name at least one format"));
        }
        let cron = s.cron()?;
        if let Ok(at) = cron.find_previous_occurrence(&until, true)
            && at > after
        {
            out.push(Due { schedule: s.name.clone(), at });
        }
    }
    Ok(out)
}

/// Builds and writes every schedule due in `(after, until]`, recording each in `audit` as `actor`; returns
/// what ran with the files written.
pub fn run_due(
    engine: &Engine,
    schedules: &[Schedule],
    after: DateTime<Utc>,
    until: DateTime<Utc>,
    privacy: &Privacy,
    actor: &str,
    audit: &AuditLog,
) -> Result<Vec<(Due, Vec<PathBuf>)>> {
    let mut out = Vec::new();
    for d in due(schedules, after, until)? {
        let Some(s) = schedules.iter().find(|s| s.name == d.schedule) else { continue };
        let options = ReportOptions {
            role: s.role.clone(),
            filters: s.filters.clone(),
            generated_at: Some(d.at),
            ..ReportOptions::default()
        };
        let report = build(engine, &s.spec()?, &options, privacy)?;
        let stem = format!("{}-{}", s.name, d.at.format("%Y%m%dT%H%M"));
        let paths = report.publish(&s.output_dir, &stem, &s.formats, actor, audit)?;
        out.push((d, paths));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(name: &str, cron: &str) -> Schedule {
        Schedule {
            name: name.into(),
            cron: cron.into(),
            template: "executive".into(),
            role: None,
            formats: vec![ReportFormat::Pdf],
            output_dir: "out".into(),
            filters: Filters::default(),
        }
    }

    #[test]
    fn due_finds_the_latest_occurrence_in_the_window() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let weekly = schedule("weekly", "0 7 * * MON");
        let daily = schedule("daily", "30 6 * * *");
        // 2026-11-23 is a Monday.
        let got =
            due(&[weekly.clone(), daily.clone()], at("2026-11-23T06:00:00Z"), at("2026-11-23T08:00:00Z")).unwrap();
        assert_eq!(
            got,
            vec![
                Due { schedule: "weekly".into(), at: at("2026-11-23T07:00:00Z") },
                Due { schedule: "daily".into(), at: at("2026-11-23T06:30:00Z") },
            ]
        );
        // Three missed days collapse into the latest.
        let got = due(&[daily], at("2026-11-20T12:00:00Z"), at("2026-11-23T12:00:00Z")).unwrap();
        assert_eq!(got, vec![Due { schedule: "daily".into(), at: at("2026-11-23T06:30:00Z") }]);
        assert!(due(&[weekly], at("2026-11-23T07:00:00Z"), at("2026-11-24T07:00:00Z")).unwrap().is_empty());
        let e = due(&[schedule("bad", "61 * * * *")], at("2026-11-23T07:00:00Z"), at("2026-11-24T07:00:00Z"));
        assert!(e.unwrap_err().to_string().contains("schedule 'bad', field 'cron'"));
    }
}
