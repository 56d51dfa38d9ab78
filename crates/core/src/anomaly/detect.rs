//! The batch pass: every account's metrics through the baseline, the detectors and the ensemble, then
//! the metrics of one account that went wrong together grouped into one incident with an explanation
//! ("sessions 412 against 64 expected (+544%) on 2024-03-05; moved with it: api_calls +180%").
//!
//! An incident is the union of one account's events (any metric, any kind) whose days overlap or touch
//! (`ensemble.merge_gap_days`). Its kind, metric, severity and score are those of its most severe event
//! (then the strongest); metrics without an event but |z| ≥ `comove_z` on that event's peak day are
//! listed as having moved with it. Accounts run in parallel; output order is the sorted account key.

use std::sync::atomic::AtomicU64;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::ensemble::{EnsembleConfig, Event, combine};
use super::{
    BaselineConfig, Detection, Detector, Flatline, Kind, LevelShift, Prepared, ResidualMad, Severity, Shesd,
    VolatilityShift,
};
use crate::error::{Error, Result};
use crate::progress::{Counter, Observer, Silent};
use crate::table::Table;
use crate::timing::Timing;
use crate::trend::series::{Grouped, date_column, epoch_date, float_column, int_column, text_column, to_table};

/// The detectors to run; `None` switches one off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Detectors {
    /// Robust z-score of the STL remainder.
    pub residual: Option<ResidualMad>,
    /// Seasonal Hybrid ESD.
    pub shesd: Option<Shesd>,
    /// Level shifts.
    pub level_shift: Option<LevelShift>,
    /// Volatility shifts.
    pub volatility_shift: Option<VolatilityShift>,
    /// Missing days and stuck values.
    pub flatline: Option<Flatline>,
}

impl Default for Detectors {
    fn default() -> Self {
        Self {
            residual: Some(ResidualMad::default()),
            shesd: Some(Shesd::default()),
            level_shift: Some(LevelShift::default()),
            volatility_shift: Some(VolatilityShift::default()),
            flatline: Some(Flatline::default()),
        }
    }
}

impl Detectors {
    fn validate(&self) -> Result<()> {
        self.residual.as_ref().map_or(Ok(()), ResidualMad::validate)?;
        self.shesd.as_ref().map_or(Ok(()), Shesd::validate)?;
        self.level_shift.as_ref().map_or(Ok(()), LevelShift::validate)?;
        self.volatility_shift.as_ref().map_or(Ok(()), VolatilityShift::validate)?;
        self.flatline.as_ref().map_or(Ok(()), Flatline::validate)
    }

    /// The enabled detectors in run order.
    pub fn list(&self) -> Vec<&dyn Detector> {
        let mut out: Vec<&dyn Detector> = Vec::new();
        if let Some(d) = &self.residual {
            out.push(d);
        }
        if let Some(d) = &self.shesd {
            out.push(d);
        }
        if let Some(d) = &self.level_shift {
            out.push(d);
        }
        if let Some(d) = &self.volatility_shift {
            out.push(d);
        }
        if let Some(d) = &self.flatline {
            out.push(d);
        }
        out
    }
}

/// What the batch pass reads and how it decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnomalyConfig {
    /// Columns that identify a series (an account).
    pub id_columns: Vec<String>,
    /// Day column (date or timestamp at midnight).
    pub time_column: String,
    /// Metrics, each a series per account.
    pub value_columns: Vec<String>,
    /// Seasonal baseline.
    pub baseline: BaselineConfig,
    /// Detectors to run.
    pub detectors: Detectors,
    /// How findings become events.
    pub ensemble: EnsembleConfig,
    /// Metrics without an event but this far (robust sd) from expected on an event's peak day moved with it.
    pub comove_z: f64,
    /// Also return a score per day and metric (large: one row per input value).
    pub point_scores: bool,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        Self {
            id_columns: vec!["account_id".into()],
            time_column: "date".into(),
            value_columns: super::usage_metrics(),
            baseline: BaselineConfig::default(),
            detectors: Detectors::default(),
            ensemble: EnsembleConfig::default(),
            comove_z: 2.0,
            point_scores: false,
        }
    }
}

impl AnomalyConfig {
    /// Checks the fields that do not depend on the data.
    pub fn validate(&self) -> Result<()> {
        if self.value_columns.is_empty() {
            return Err(Error::config("anomaly.value_columns", "name at least one metric"));
        }
        if self.detectors.list().is_empty() {
            return Err(Error::config("anomaly.detectors", "switch on at least one detector"));
        }
        if !(self.comove_z.is_finite() && self.comove_z > 0.0) {
            return Err(Error::config("anomaly.comove_z", format!("must be > 0, got {}", self.comove_z)));
        }
        self.baseline.validate()?;
        self.detectors.validate()?;
        self.ensemble.validate()
    }
}

/// The tables of a batch pass.
#[derive(Debug, Clone)]
pub struct AnomalyResult {
    /// One row per event: id columns, `metric`, `incident`, `kind`, `direction`, `start`, `end`, `days`,
    /// `peak`, `expected`, `observed`, `relative_change`, `strength` (score / threshold), `severity`,
    /// `detectors`.
    pub events: Table,
    /// One row per incident: id columns, `incident`, `start`, `end`, `days`, `kind`, `direction`,
    /// `metric`, `metrics`, `severity`, `strength`, `explanation`; rows in account then time order
    /// (`Engine::segment_anomalies` sorts by severity).
    pub incidents: Table,
    /// One row per series: id columns, `metric`, `status` (`ok` or why it was not scored), `reason`,
    /// `days`, `missing_days`, `events`, `small_events` (left out by `min_relative_change` or the warm-up).
    pub series: Table,
    /// With `point_scores`: id columns, `metric`, `date`, `observed`, `expected`, `z`, `score` (the
    /// largest score / threshold over the detectors); otherwise `None`.
    pub scores: Option<Table>,
}

/// One metric of one account after the pass.
struct SeriesOut {
    status: &'static str,
    reason: String,
    /// First day, days and missing days of a scored series (0 when not scored).
    start: i32,
    days: usize,
    missing_days: usize,
    /// The prepared series while the account's incidents are built; afterwards only with `point_scores`.
    prepared: Option<Prepared>,
    events: Vec<Event>,
    small: usize,
    point_scores: Vec<f64>,
}

/// One account after the pass.
struct AccountOut {
    series: Vec<SeriesOut>,
    incidents: Vec<Incident>,
}

/// Events of one account grouped; indices are (metric, event).
struct Incident {
    members: Vec<(usize, usize)>,
    lead: (usize, usize),
    start: i32,
    end: i32,
    explanation: String,
}

/// Runs the batch pass over a long table; see the module documentation.
pub fn detect(table: &Table, config: &AnomalyConfig) -> Result<AnomalyResult> {
    detect_observed(table, config, &Silent)
}

/// [`detect`] reporting each account done (task `"anomalies"`) to `observer`, which may cancel it.
pub fn detect_observed(table: &Table, config: &AnomalyConfig, observer: &dyn Observer) -> Result<AnomalyResult> {
    config.validate()?;
    let timing = Timing::from_env("ACCOUNTSCOPE_ANOMALY_TIMING", "anomalies");
    let grouped = Grouped::new(table, &config.id_columns, &config.time_column)?;
    let values: Vec<_> = config.value_columns.par_iter().map(|m| grouped.values(m)).collect::<Result<_>>()?;
    timing.mark("grouping");
    let detectors = config.detectors.list();
    let counter = Counter::new(observer, "anomalies", grouped.groups.len());
    let parts = Parts { detectors: detectors.iter().map(|_| AtomicU64::new(0)).collect(), ..Parts::default() };
    let accounts: Vec<AccountOut> = (0..grouped.groups.len())
        .into_par_iter()
        .map(|g| {
            let mut series: Vec<SeriesOut> = values
                .iter()
                .map(|v| {
                    let points = timing.part(&parts.points, || grouped.points(g, v));
                    one_series(&points, &detectors, config, &timing, &parts)
                })
                .collect();
            let incidents = timing.part(&parts.incidents, || incidents(&series, &config.value_columns, config));
            if !config.point_scores {
                // Three years of five metrics of 10,000 accounts would hold gigabytes of baselines.
                series.iter_mut().for_each(|s| s.prepared = None);
            }
            counter.tick()?;
            Ok(AccountOut { series, incidents })
        })
        .collect::<Result<_>>()?;
    timing.mark("series");
    for (name, total) in [("points", &parts.points), ("baseline", &parts.baseline), ("incidents", &parts.incidents)] {
        timing.report(name, total);
    }
    for (d, total) in detectors.iter().zip(&parts.detectors) {
        timing.report(d.name(), total);
    }
    let result = build(&grouped, &accounts, config);
    timing.mark("tables");
    result
}

/// CPU time of the parts of the per-series work, for `ACCOUNTSCOPE_ANOMALY_TIMING`.
#[derive(Default)]
struct Parts {
    points: AtomicU64,
    baseline: AtomicU64,
    detectors: Vec<AtomicU64>,
    incidents: AtomicU64,
}

fn one_series(
    points: &crate::trend::series::Points,
    detectors: &[&dyn Detector],
    config: &AnomalyConfig,
    timing: &Timing,
    parts: &Parts,
) -> SeriesOut {
    let notes = points.notes.join("; ");
    match timing.part(&parts.baseline, || Prepared::new(points, &config.baseline)) {
        Err((status, reason)) => SeriesOut {
            status,
            reason: [notes, reason].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join("; "),
            start: 0,
            days: 0,
            missing_days: 0,
            prepared: None,
            events: Vec::new(),
            small: 0,
            point_scores: Vec::new(),
        },
        Ok(prepared) => {
            let detections: Vec<(&'static str, Detection)> = detectors
                .iter()
                .zip(&parts.detectors)
                .map(|(d, total)| (d.name(), timing.part(total, || d.detect(&prepared))))
                .collect();
            let point_scores = if config.point_scores {
                (0..prepared.len())
                    .map(|i| {
                        detectors
                            .iter()
                            .zip(&detections)
                            .map(|(d, (_, x))| x.scores[i] / d.threshold())
                            .fold(0.0, f64::max)
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let (events, small) = combine(&detections, &config.ensemble);
            SeriesOut {
                status: "ok",
                reason: notes,
                start: prepared.start,
                days: prepared.len(),
                missing_days: prepared.observed.iter().filter(|v| v.is_nan()).count(),
                prepared: Some(prepared),
                events,
                small,
                point_scores,
            }
        }
    }
}

fn severity(e: &Event) -> Severity {
    let f = &e.finding;
    Severity::of(f.kind, f.strength(), f.end - f.start + 1)
}

fn day(s: &Prepared, i: usize) -> i32 {
    s.start + i as i32
}

fn date_text(day: i32) -> String {
    epoch_date(i64::from(day)).map_or_else(|| day.to_string(), |d| d.to_string())
}

fn number(x: f64) -> String {
    if x.abs() >= 100.0 || x.fract() == 0.0 { format!("{x:.0}") } else { format!("{x:.1}") }
}

fn percent(change: f64) -> String {
    format!("{:+.0}%", 100.0 * change)
}

/// One event in words, without its dates.
fn describe(metric: &str, e: &Event) -> String {
    let f = &e.finding;
    let days = f.end - f.start + 1;
    match f.kind {
        Kind::Spike | Kind::Drop => format!(
            "{metric} {} against {} expected ({}{})",
            number(f.observed),
            number(f.expected),
            percent(e.relative_change()),
            if days > 1 { format!(", {days} days") } else { String::new() }
        ),
        Kind::Missing => format!("no {metric} data for {days} day{}", if days > 1 { "s" } else { "" }),
        Kind::Flatline => format!("{metric} stuck at {} for {days} days", number(f.observed)),
        Kind::LevelShift => {
            format!(
                "{metric} level {} (from {} to {} a day)",
                percent(e.relative_change()),
                number(f.expected),
                number(f.observed)
            )
        }
        Kind::VolatilityShift => format!("{metric} day-to-day noise ×{:.1}", f.observed / f.expected),
        Kind::Record => format!(
            "{metric} {} beyond every earlier value ({} {})",
            number(f.observed),
            if f.observed > f.expected { "highest was" } else { "lowest was" },
            number(f.expected)
        ),
        Kind::Rare => format!(
            "{metric} {} where it has rarely been at this point of its season (typical {})",
            number(f.observed),
            number(f.expected)
        ),
    }
}

fn incidents(series: &[SeriesOut], metrics: &[String], config: &AnomalyConfig) -> Vec<Incident> {
    let mut all: Vec<(i32, i32, usize, usize)> = Vec::new();
    for (m, s) in series.iter().enumerate() {
        let Some(p) = &s.prepared else { continue };
        for (k, e) in s.events.iter().enumerate() {
            all.push((day(p, e.finding.start), day(p, e.finding.end), m, k));
        }
    }
    all.sort_unstable();
    let gap = config.ensemble.merge_gap_days as i32;
    // (first day, last day, member events as (metric, event)).
    type Group = (i32, i32, Vec<(usize, usize)>);
    let mut groups: Vec<Group> = Vec::new();
    for (start, end, m, k) in all {
        match groups.last_mut() {
            Some(g) if start <= g.1 + 1 + gap => {
                g.1 = g.1.max(end);
                g.2.push((m, k));
            }
            _ => groups.push((start, end, vec![(m, k)])),
        }
    }
    let event = |(m, k): (usize, usize)| &series[m].events[k];
    groups
        .into_iter()
        .map(|(start, end, members)| {
            let lead = *members
                .iter()
                .max_by(|a, b| {
                    (severity(event(**a)), event(**a).finding.strength())
                        .partial_cmp(&(severity(event(**b)), event(**b).finding.strength()))
                        .unwrap_or(std::cmp::Ordering::Equal)
                        .then(b.cmp(a))
                })
                .unwrap_or(&members[0]);
            let explanation = explain(series, metrics, &members, lead, start, end, config);
            Incident { members, lead, start, end, explanation }
        })
        .collect()
}

fn explain(
    series: &[SeriesOut],
    metrics: &[String],
    members: &[(usize, usize)],
    lead: (usize, usize),
    start: i32,
    end: i32,
    config: &AnomalyConfig,
) -> String {
    let event = |(m, k): (usize, usize)| &series[m].events[k];
    let lead_event = event(lead);
    let when = if start == end {
        format!("on {}", date_text(start))
    } else {
        format!("from {} to {}", date_text(start), date_text(end))
    };
    let mut text = format!("{} {when}", describe(&metrics[lead.0], lead_event));
    let missing: Vec<usize> =
        members.iter().filter(|x| event(**x).finding.kind == Kind::Missing).map(|x| x.0).collect();
    if lead_event.finding.kind == Kind::Missing && missing.len() == metrics.len() && metrics.len() > 1 {
        let days = end - start + 1;
        text = format!("no data at all for {days} day{} {when}", if days > 1 { "s" } else { "" });
    } else {
        let others: Vec<String> = members
            .iter()
            .filter(|x| {
                **x != lead && !(lead_event.finding.kind == Kind::Missing && event(**x).finding.kind == Kind::Missing)
            })
            .map(|x| describe(&metrics[x.0], event(*x)))
            .collect();
        if !others.is_empty() {
            text.push_str(&format!("; also {}", others.join(", ")));
        }
    }
    let Some(lead_series) = &series[lead.0].prepared else { return text };
    let peak_day = day(lead_series, lead_event.finding.peak);
    let moved: Vec<String> = series
        .iter()
        .enumerate()
        .filter(|(m, _)| !members.iter().any(|x| x.0 == *m))
        .filter_map(|(m, s)| {
            let p = s.prepared.as_ref()?;
            let i = usize::try_from(peak_day - p.start).ok().filter(|i| *i < p.len())?;
            let z = p.z[i];
            (z.abs() >= config.comove_z).then(|| {
                let change = (p.observed[i] - p.expected[i]) / p.expected[i].abs().max(1.0);
                format!("{} {}", metrics[m], percent(change))
            })
        })
        .collect();
    if !moved.is_empty() {
        text.push_str(&format!("; moved with it: {}", moved.join(", ")));
    }
    text
}

fn lead<'a>(a: &'a AccountOut, i: &Incident) -> &'a Event {
    &a.series[i.lead.0].events[i.lead.1]
}

fn build(grouped: &Grouped, accounts: &[AccountOut], config: &AnomalyConfig) -> Result<AnomalyResult> {
    let metrics = &config.value_columns;
    // Events, numbered incidents.
    let mut ev_group = Vec::new();
    let mut ev: Vec<(usize, i32, &Event, i64)> = Vec::new();
    let mut inc_group = Vec::new();
    let mut inc: Vec<(&AccountOut, &Incident, i64)> = Vec::new();
    let mut next = 0i64;
    for (g, a) in accounts.iter().enumerate() {
        let mut number = vec![Vec::new(); a.series.len()];
        for (m, s) in a.series.iter().enumerate() {
            number[m] = vec![0i64; s.events.len()];
        }
        for i in &a.incidents {
            for &(m, k) in &i.members {
                number[m][k] = next;
            }
            inc_group.push(g);
            inc.push((a, i, next));
            next += 1;
        }
        for (m, s) in a.series.iter().enumerate() {
            for (k, e) in s.events.iter().enumerate() {
                ev_group.push(g);
                ev.push((m, s.start, e, number[m][k]));
            }
        }
    }
    let mut columns = grouped.key_columns(&ev_group)?;
    columns.push(text_column("metric", ev.iter().map(|e| Some(metrics[e.0].as_str()))));
    columns.push(int_column("incident", ev.iter().map(|e| e.3)));
    columns.push(text_column("kind", ev.iter().map(|e| Some(e.2.finding.kind.name()))));
    columns.push(text_column("direction", ev.iter().map(|e| Some(e.2.finding.kind.direction(e.2.relative_change())))));
    columns.push(date_column("start", ev.iter().map(|e| e.1 + e.2.finding.start as i32)));
    columns.push(date_column("end", ev.iter().map(|e| e.1 + e.2.finding.end as i32)));
    columns.push(int_column("days", ev.iter().map(|e| (e.2.finding.end - e.2.finding.start + 1) as i64)));
    columns.push(date_column("peak", ev.iter().map(|e| e.1 + e.2.finding.peak as i32)));
    columns.push(float_column("expected", ev.iter().map(|e| Some(e.2.finding.expected))));
    columns.push(float_column("observed", ev.iter().map(|e| Some(e.2.finding.observed).filter(|v| !v.is_nan()))));
    columns
        .push(float_column("relative_change", ev.iter().map(|e| Some(e.2.relative_change()).filter(|v| !v.is_nan()))));
    columns.push(float_column("strength", ev.iter().map(|e| Some(e.2.finding.strength()))));
    columns.push(text_column("severity", ev.iter().map(|e| Some(severity(e.2).name()))));
    let detectors: Vec<String> = ev.iter().map(|e| e.2.detectors.join(",")).collect();
    columns.push(text_column("detectors", detectors.iter().map(|d| Some(d.as_str()))));
    let events = to_table(columns)?;

    let mut columns = grouped.key_columns(&inc_group)?;
    columns.push(int_column("incident", inc.iter().map(|x| x.2)));
    columns.push(date_column("start", inc.iter().map(|x| x.1.start)));
    columns.push(date_column("end", inc.iter().map(|x| x.1.end)));
    columns.push(int_column("days", inc.iter().map(|x| i64::from(x.1.end - x.1.start + 1))));
    columns.push(text_column("kind", inc.iter().map(|x| Some(lead(x.0, x.1).finding.kind.name()))));
    columns.push(text_column(
        "direction",
        inc.iter().map(|x| {
            let e = lead(x.0, x.1);
            Some(e.finding.kind.direction(e.relative_change()))
        }),
    ));
    columns.push(text_column("metric", inc.iter().map(|x| Some(metrics[x.1.lead.0].as_str()))));
    let member_metrics: Vec<String> = inc
        .iter()
        .map(|x| {
            let mut ms: Vec<usize> = x.1.members.iter().map(|m| m.0).collect();
            ms.sort_unstable();
            ms.dedup();
            ms.iter().map(|m| metrics[*m].as_str()).collect::<Vec<_>>().join(",")
        })
        .collect();
    columns.push(text_column("metrics", member_metrics.iter().map(|m| Some(m.as_str()))));
    columns.push(text_column("severity", inc.iter().map(|x| Some(severity(lead(x.0, x.1)).name()))));
    columns.push(float_column("strength", inc.iter().map(|x| Some(lead(x.0, x.1).finding.strength()))));
    columns.push(text_column("explanation", inc.iter().map(|x| Some(x.1.explanation.as_str()))));
    let incidents = to_table(columns)?;

    let mut series_group = Vec::new();
    let mut rows: Vec<(usize, &SeriesOut)> = Vec::new();
    for (g, a) in accounts.iter().enumerate() {
        for (m, s) in a.series.iter().enumerate() {
            series_group.push(g);
            rows.push((m, s));
        }
    }
    let mut columns = grouped.key_columns(&series_group)?;
    columns.push(text_column("metric", rows.iter().map(|r| Some(metrics[r.0].as_str()))));
    columns.push(text_column("status", rows.iter().map(|r| Some(r.1.status))));
    columns.push(text_column("reason", rows.iter().map(|r| Some(r.1.reason.as_str()))));
    columns.push(int_column("days", rows.iter().map(|r| r.1.days as i64)));
    columns.push(int_column("missing_days", rows.iter().map(|r| r.1.missing_days as i64)));
    columns.push(int_column("events", rows.iter().map(|r| r.1.events.len() as i64)));
    columns.push(int_column("small_events", rows.iter().map(|r| r.1.small as i64)));
    let series = to_table(columns)?;

    let scores = if config.point_scores { Some(point_table(grouped, accounts, metrics)?) } else { None };
    Ok(AnomalyResult { events, incidents, series, scores })
}

fn point_table(grouped: &Grouped, accounts: &[AccountOut], metrics: &[String]) -> Result<Table> {
    let mut group = Vec::new();
    let mut rows: Vec<(usize, &Prepared, &SeriesOut, usize)> = Vec::new();
    for (g, a) in accounts.iter().enumerate() {
        for (m, s) in a.series.iter().enumerate() {
            let Some(p) = &s.prepared else { continue };
            for i in (0..p.len()).filter(|i| !p.observed[*i].is_nan()) {
                group.push(g);
                rows.push((m, p, s, i));
            }
        }
    }
    let mut columns = grouped.key_columns(&group)?;
    columns.push(text_column("metric", rows.iter().map(|r| Some(metrics[r.0].as_str()))));
    columns.push(date_column("date", rows.iter().map(|r| day(r.1, r.3))));
    columns.push(float_column("observed", rows.iter().map(|r| Some(r.1.observed[r.3]))));
    columns.push(float_column("expected", rows.iter().map(|r| Some(r.1.expected[r.3]))));
    columns.push(float_column("z", rows.iter().map(|r| Some(r.1.z[r.3]))));
    columns.push(float_column("score", rows.iter().map(|r| Some(r.2.point_scores[r.3]))));
    to_table(columns)
}
