//! Combining detectors: one event per unusual stretch of a series, with the detectors that agree.
//!
//! The rules, in order:
//! 1. Findings of the same kind from any detectors whose days overlap or touch (at most `merge_gap_days`
//!    apart) are one event; its peak, expected and observed values come from the strongest finding
//!    (strength = score / threshold), its `votes` are the distinct detectors in it.
//! 2. Spike and drop events need `min_votes` detectors; missing, flatline and the two shifts have one
//!    detector each that can see them and stand alone.
//! 3. Spike, drop and level-shift events whose relative change |observed − expected| / max(|expected|, 1)
//!    is below `min_relative_change` are left out (and counted): a 5% blip on a large, steady account can
//!    be many standard deviations and still not worth anyone's time.
//! 4. Spike and drop events that start in the first `warmup_days` of a series are left out (and counted):
//!    until the baseline has seen three weekly cycles its seasonal part is a guess and its trend lags an
//!    onboarding ramp, so a new account's first busy days read as spikes. Three cycles is what the
//!    seasonality tests ask of a period for the same reason ([`crate::trend::SeasonalityConfig`]'s
//!    `min_cycles`); the streaming detector's `warmup` plays the same part.

use serde::{Deserialize, Serialize};

use super::{Detection, Finding, Kind};
use crate::error::{Error, Result};

/// How detector findings become events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnsembleConfig {
    /// Detectors that must agree on a spike or drop.
    pub min_votes: usize,
    /// Smallest relative change for spikes, drops and level shifts.
    pub min_relative_change: f64,
    /// Findings at most this many days apart are one event.
    pub merge_gap_days: usize,
    /// Spikes and drops starting in the series' first this many days are left out (rule 4).
    pub warmup_days: usize,
}

impl Default for EnsembleConfig {
    fn default() -> Self {
        Self { min_votes: 2, min_relative_change: 0.5, merge_gap_days: 1, warmup_days: 21 }
    }
}

impl EnsembleConfig {
    /// Checks the fields.
    pub fn validate(&self) -> Result<()> {
        if self.min_votes == 0 {
            return Err(Error::config("anomaly.ensemble.min_votes", "must be at least 1, got 0"));
        }
        if !(self.min_relative_change >= 0.0 && self.min_relative_change.is_finite()) {
            return Err(Error::config(
                "anomaly.ensemble.min_relative_change",
                format!("must be a finite number >= 0, got {}", self.min_relative_change),
            ));
        }
        Ok(())
    }
}

/// One event of one series: merged findings.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The strongest finding (its peak, expected and observed values); `start` and `end` span them all.
    pub finding: Finding,
    /// The detectors that found it, in the order they ran.
    pub detectors: Vec<&'static str>,
}

impl Event {
    /// Relative change at the peak, (observed − expected) / max(|expected|, 1); NaN for missing data.
    pub fn relative_change(&self) -> f64 {
        let f = &self.finding;
        (f.observed - f.expected) / f.expected.abs().max(1.0)
    }
}

/// Events of one series from its detections (named, in run order) and how many were left out (too small
/// or inside the warm-up).
pub fn combine(detections: &[(&'static str, Detection)], config: &EnsembleConfig) -> (Vec<Event>, usize) {
    let mut all: Vec<(&'static str, &Finding)> =
        detections.iter().flat_map(|(name, d)| d.findings.iter().map(move |f| (*name, f))).collect();
    all.sort_by_key(|a| (a.1.kind, a.1.start));
    let mut events: Vec<Event> = Vec::new();
    for (name, f) in all {
        match events.last_mut() {
            Some(e) if e.finding.kind == f.kind && f.start <= e.finding.end + 1 + config.merge_gap_days => {
                e.finding.end = e.finding.end.max(f.end);
                let start = e.finding.start.min(f.start);
                if f.strength() > e.finding.strength() {
                    let end = e.finding.end;
                    e.finding = Finding { start, end, ..f.clone() };
                }
                e.finding.start = start;
                if !e.detectors.contains(&name) {
                    e.detectors.push(name);
                }
            }
            _ => events.push(Event { finding: f.clone(), detectors: vec![name] }),
        }
    }
    let order = |n: &str| detections.iter().position(|(d, _)| *d == n).unwrap_or(usize::MAX);
    events.iter_mut().for_each(|e| e.detectors.sort_by_key(|d| order(d)));
    let before = events.len();
    events.retain(|e| match e.finding.kind {
        Kind::Spike | Kind::Drop => {
            e.detectors.len() >= config.min_votes
                && e.relative_change().abs() >= config.min_relative_change
                && e.finding.start >= config.warmup_days
        }
        Kind::LevelShift => e.relative_change().abs() >= config.min_relative_change,
        _ => true,
    });
    let small = before - events.len();
    events.sort_by_key(|e| (e.finding.start, e.finding.kind));
    (events, small)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(start: usize, end: usize, kind: Kind, score: f64, observed: f64) -> Finding {
        Finding { start, end, peak: start, kind, score, threshold: 1.0, expected: 10.0, observed }
    }

    #[test]
    fn overlapping_findings_merge_and_votes_count() {
        let a = Detection {
            scores: vec![],
            findings: vec![finding(5, 6, Kind::Spike, 3.0, 50.0), finding(20, 20, Kind::Drop, 2.0, 1.0)],
        };
        let b = Detection {
            scores: vec![],
            findings: vec![finding(6, 8, Kind::Spike, 5.0, 60.0), finding(30, 30, Kind::Spike, 9.0, 10.5)],
        };
        let config =
            EnsembleConfig { min_votes: 1, min_relative_change: 0.3, warmup_days: 0, ..EnsembleConfig::default() };
        let (events, small) = combine(&[("a", a.clone()), ("b", b.clone())], &config);
        assert_eq!(small, 1, "the 5% change at 30 is too small");
        assert_eq!(events.len(), 2);
        assert_eq!((events[0].finding.start, events[0].finding.end, events[0].finding.observed), (5, 8, 60.0));
        assert_eq!(events[0].detectors, ["a", "b"]);
        let (events, _) = combine(&[("a", a.clone()), ("b", b.clone())], &EnsembleConfig { min_votes: 2, ..config });
        assert_eq!(events.len(), 1);
        // A warm-up of 6 days leaves out the spike starting on day 5 but not the drop on day 20.
        let (events, small) = combine(&[("a", a), ("b", b)], &EnsembleConfig { warmup_days: 6, ..config });
        assert_eq!(small, 2);
        assert_eq!(events.iter().map(|e| (e.finding.start, e.finding.kind)).collect::<Vec<_>>(), [(20, Kind::Drop)]);
    }
}
