//! Health scorecards: every account's 0–100 health score for every day (or week) of a range, its colour
//! band, the band changes with the measures that moved them, and a per-measure explanation of one score.
//!
//! A scorecard follows the model of Gainsight's and Totango's scorecards: measures (a SQL expression over
//! a registered source table, aggregated over a trailing window, e.g. 30-day mean active users over seats)
//! are banded into 0–100 scores (linear between four band values, [`Measure::score`]), weighted into group
//! scores, and the groups weighted into the account's score; one scorecard per segment with a default. A
//! measure without a value is left out and its weight shared by the others of its group, or scored 0
//! ([`NullPolicy`]). The score of a day uses only data up to and including that day.
//!
//! Evaluation: each distinct (source, expression, time) is one DataFusion query over the whole table; the
//! trailing windows are then computed per account in parallel from prefix sums, so a year of daily
//! scores for 10,000 accounts reads each source once.

mod compute;
mod config;
mod summary;

pub use compute::{HealthHistory, HealthOptions, HealthScorer, explain, score_history};
pub use config::{Direction, Group, HealthConfig, Measure, NullPolicy, Scorecard, WindowAggregate};
pub use summary::{DaySummary, HealthSummary};

/// A scorecard for the canonical tables, used by the demo and the quickstart (`docs/health.md` explains
/// each measure): adoption (seat utilisation, feature breadth, login trend), engagement (sessions per
/// active user), support (urgent and high tickets, days the oldest open ticket has waited) and sentiment
/// (latest NPS).
pub const DEFAULT_SCORECARDS_YAML: &str = include_str!("default_scorecards.yaml");

/// [`DEFAULT_SCORECARDS_YAML`] parsed.
pub fn default_config() -> crate::error::Result<HealthConfig> {
    HealthConfig::parse(DEFAULT_SCORECARDS_YAML)
}
