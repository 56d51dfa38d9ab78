//! Scorecard configuration: measures (a SQL expression over a source table, aggregated over a trailing
//! window), banded into 0–100 scores, weighted within groups, groups weighted into the account's score;
//! one scorecard per segment with a default. Deserializes from JSON / YAML like the validation rule sets;
//! every check names the scorecard, group, measure and field.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which way a measure is good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Larger values score higher (adoption, NPS).
    #[default]
    HigherIsBetter,
    /// Smaller values score higher (open urgent tickets, days since last login).
    LowerIsBetter,
}

/// How a measure without a value on a day counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NullPolicy {
    /// Left out; the other measures of its group share its weight.
    #[default]
    Ignore,
    /// Scored 0.
    Worst,
}

/// How the values in a measure's window become one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowAggregate {
    /// Mean of the values in the window.
    #[default]
    Mean,
    /// Sum of the values (0 when the window has none).
    Sum,
    /// Number of rows in the window with a value.
    Count,
    /// Smallest value.
    Min,
    /// Largest value.
    Max,
    /// The latest value at or before the day, however old (e.g. the last NPS answer).
    Last,
}

/// One measure of a scorecard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measure {
    /// Name, unique in the scorecard set (output columns use it).
    pub name: String,
    /// Source table registered in the engine: a canonical table (`usage`, `tickets`, `surveys`,
    /// `accounts`, `revenue`) or any other with the id column.
    pub source: String,
    /// SQL expression over the source's columns giving the value of one row.
    pub expression: String,
    /// The source's time column; none for a static attribute (e.g. `accounts.arr`).
    #[serde(default)]
    pub time_column: Option<String>,
    /// Trailing window in days, ending on the scored day (ignored by `last` and static measures).
    #[serde(default = "default_window")]
    pub window_days: u32,
    /// How the window's values combine.
    #[serde(default)]
    pub aggregate: WindowAggregate,
    /// Weight within its group (> 0).
    #[serde(default = "one")]
    pub weight: f64,
    /// Which way is good.
    #[serde(default)]
    pub direction: Direction,
    /// Values scoring 0, 40 (red/yellow boundary), 70 (yellow/green boundary) and 100, in the order of
    /// getting better (ascending when higher is better, descending when lower is better); scores are
    /// linear between them and clamped outside.
    pub bands: [f64; 4],
    /// A day without a value.
    #[serde(default)]
    pub null_policy: NullPolicy,
}

fn default_window() -> u32 {
    30
}

fn one() -> f64 {
    1.0
}

/// A weighted group of measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Name (output column `group_<name>`).
    pub name: String,
    /// Weight among the scorecard's groups (> 0).
    #[serde(default = "one")]
    pub weight: f64,
    /// The measures.
    pub measures: Vec<Measure>,
}

/// One scorecard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scorecard {
    /// Name.
    pub name: String,
    /// Segments it applies to; empty for the default scorecard.
    #[serde(default)]
    pub segments: Vec<String>,
    /// The groups.
    pub groups: Vec<Group>,
}

/// Scorecards per segment, the score bands, and the column that assigns segments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    /// The scorecards; exactly one has no segments (the default).
    pub scorecards: Vec<Scorecard>,
    /// The accounts table's column that names the segment.
    #[serde(default = "segment")]
    pub segment_column: String,
    /// The id column in every source.
    #[serde(default = "account_id")]
    pub id_column: String,
    /// Scores below this are red.
    #[serde(default = "red")]
    pub red_below: f64,
    /// Scores from this up are green (yellow between).
    #[serde(default = "green")]
    pub green_from: f64,
}

fn segment() -> String {
    "segment".into()
}
fn account_id() -> String {
    "account_id".into()
}
fn red() -> f64 {
    40.0
}
fn green() -> f64 {
    70.0
}

impl HealthConfig {
    /// Reads a configuration from JSON or YAML text.
    pub fn parse(text: &str) -> Result<Self> {
        let trimmed = text.trim_start();
        let parsed = if trimmed.starts_with('{') {
            serde_json::from_str(text).map_err(|e| Error::config("health", e.to_string()))
        } else {
            serde_norway::from_str(text).map_err(|e| Error::config("health", e.to_string()))
        }?;
        let config: Self = parsed;
        config.validate()?;
        Ok(config)
    }

    /// Checks weights, bands, names and the default scorecard.
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=100.0).contains(&self.red_below) || self.green_from < self.red_below || self.green_from > 100.0 {
            return Err(Error::config(
                "health.red_below / green_from",
                format!("need 0 <= red_below <= green_from <= 100, got {} and {}", self.red_below, self.green_from),
            ));
        }
        let defaults = self.scorecards.iter().filter(|c| c.segments.is_empty()).count();
        if defaults != 1 {
            return Err(Error::config(
                "health.scorecards",
                format!("need exactly one default scorecard (no segments), found {defaults}"),
            ));
        }
        let mut names = std::collections::HashSet::new();
        let mut segments = std::collections::HashSet::new();
        for card in &self.scorecards {
            let at = |rest: &str| format!("health.scorecards['{}']{rest}", card.name);
            if let Some(s) = card.segments.iter().find(|s| !segments.insert(s.as_str())) {
                return Err(Error::config(at(".segments"), format!("segment '{s}' has two scorecards")));
            }
            if card.groups.is_empty() {
                return Err(Error::config(at(".groups"), "name at least one group"));
            }
            for group in &card.groups {
                let at = |rest: &str| at(&format!(".groups['{}']{rest}", group.name));
                if !(group.weight > 0.0 && group.weight.is_finite()) {
                    return Err(Error::config(at(".weight"), format!("must be > 0, got {}", group.weight)));
                }
                if group.measures.is_empty() {
                    return Err(Error::config(at(".measures"), "name at least one measure"));
                }
                for m in &group.measures {
                    let at = |field: &str| at(&format!(".measures['{}'].{field}", m.name));
                    if !(m.weight > 0.0 && m.weight.is_finite()) {
                        return Err(Error::config(at("weight"), format!("must be > 0, got {}", m.weight)));
                    }
                    let b = m.bands;
                    let ordered = match m.direction {
                        Direction::HigherIsBetter => b.windows(2).all(|w| w[0] < w[1]),
                        Direction::LowerIsBetter => b.windows(2).all(|w| w[0] > w[1]),
                    };
                    if !ordered || b.iter().any(|v| !v.is_finite()) {
                        return Err(Error::config(
                            at("bands"),
                            format!(
                                "need four finite values strictly in the order of getting better ({:?}), got {b:?}",
                                m.direction
                            ),
                        ));
                    }
                    if m.time_column.is_some() && m.window_days == 0 && m.aggregate != WindowAggregate::Last {
                        return Err(Error::config(at("window_days"), "must be at least 1"));
                    }
                    if m.expression.trim().is_empty() {
                        return Err(Error::config(at("expression"), "is empty"));
                    }
                    if !names.insert((card.name.as_str(), m.name.as_str())) {
                        return Err(Error::config(at("name"), "appears twice in the scorecard"));
                    }
                }
            }
        }
        Ok(())
    }

    /// The band of a score.
    pub fn band(&self, score: f64) -> &'static str {
        if score < self.red_below {
            "red"
        } else if score < self.green_from {
            "yellow"
        } else {
            "green"
        }
    }
}

impl Measure {
    /// The 0–100 score of a value: linear between the bands, clamped outside.
    pub fn score(&self, value: f64) -> f64 {
        const SCORES: [f64; 4] = [0.0, 40.0, 70.0, 100.0];
        let b = self.bands;
        let up = self.direction == Direction::HigherIsBetter;
        let below = |v: f64, edge: f64| if up { v <= edge } else { v >= edge };
        if below(value, b[0]) {
            return 0.0;
        }
        for i in 1..4 {
            if below(value, b[i]) {
                let share = (value - b[i - 1]) / (b[i] - b[i - 1]);
                return SCORES[i - 1] + share * (SCORES[i] - SCORES[i - 1]);
            }
        }
        100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measure(direction: Direction, bands: [f64; 4]) -> Measure {
        Measure {
            name: "m".into(),
            source: "usage".into(),
            expression: "x".into(),
            time_column: Some("date".into()),
            window_days: 30,
            aggregate: WindowAggregate::Mean,
            weight: 1.0,
            direction,
            bands,
            null_policy: NullPolicy::Ignore,
        }
    }

    #[test]
    fn scores_are_linear_between_bands_and_clamped() {
        let up = measure(Direction::HigherIsBetter, [0.1, 0.3, 0.6, 0.9]);
        assert_eq!(up.score(0.0), 0.0);
        assert!((up.score(0.2) - 20.0).abs() < 1e-12);
        assert!((up.score(0.45) - 55.0).abs() < 1e-12);
        assert!((up.score(0.75) - 85.0).abs() < 1e-12);
        assert_eq!(up.score(2.0), 100.0);
        let down = measure(Direction::LowerIsBetter, [10.0, 5.0, 2.0, 0.0]);
        assert_eq!(down.score(12.0), 0.0);
        assert!((down.score(3.5) - 55.0).abs() < 1e-12);
        assert_eq!(down.score(0.0), 100.0);
    }
}
