//! The online detector ([`super::online`]) over one plain series of equally spaced steps, of any
//! frequency: machine metrics every five minutes, the Numenta Anomaly Benchmark's files, anything that is
//! not daily account usage (for that, [`super::stream`] keys series by account and day). Its events come
//! back as a list or as an Arrow table.
//!
//! Step i is the i-th value; a NaN is a step without a value, so a run of them is a gap, reported as a
//! `missing` event when the series resumes (the policy of [`super::online`]).

use super::online::{OnlineConfig, OnlineEvent, OnlineState};
use crate::error::Result;
use crate::table::Table;
use crate::trend::series::{float_column, int_column, text_column, to_table};

/// Runs a fresh detector over `values` (step i = `values[i]`) and returns its events in the order they
/// were reported. The configuration is validated first.
pub fn events(values: &[f64], config: &OnlineConfig) -> Result<Vec<OnlineEvent>> {
    config.validate()?;
    let mut state = OnlineState::new(config);
    let mut out = Vec::new();
    for (t, x) in values.iter().enumerate() {
        state.update(t as i64, *x, config, &mut out);
    }
    Ok(out)
}

/// Events as a table, with the stream's columns ([`super::stream`]) less the ids and dates: `kind`,
/// `start`, `end` (steps), `expected`, `observed` (null for missing data), `strength`, `p_value` (null where
/// the event has none).
pub fn events_table(events: &[OnlineEvent]) -> Result<Table> {
    to_table(vec![
        text_column("kind", events.iter().map(|e| Some(e.kind.name()))),
        int_column("start", events.iter().map(|e| e.start)),
        int_column("end", events.iter().map(|e| e.end)),
        float_column("expected", events.iter().map(|e| Some(e.expected))),
        float_column("observed", events.iter().map(|e| Some(e.observed).filter(|v| !v.is_nan()))),
        float_column("strength", events.iter().map(|e| Some(e.strength))),
        float_column("p_value", events.iter().map(|e| e.p_value)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anomaly::Kind;

    #[test]
    fn a_five_minute_series_gets_its_spike_gap_and_missing_plateau() {
        // Three weeks of 5-minute steps (288 a day) of a daily square wave with noise; a spike on day 10,
        // two hours without data on day 12, and on day 16 the plateau never comes.
        let mut values = crate::anomaly::square_wave(288, 21, 16, 4);
        values[288 * 10 + 40] = 500.0;
        values[288 * 12 + 60..=288 * 12 + 83].fill(f64::NAN);
        let config = OnlineConfig {
            period: 288,
            counts: false,
            min_relative_change: 0.0,
            warmup: 288 * 3,
            refractory: 288,
            records: true,
            rarity: Some(0.001),
            ..OnlineConfig::default()
        };
        let found = events(&values, &config).unwrap();
        let at = |kind: Kind, from: usize, to: usize| {
            found.iter().any(|e| e.kind == kind && (from as i64..=to as i64).contains(&e.start))
        };
        assert!(at(Kind::Record, 288 * 10 + 40, 288 * 10 + 40), "the spike is past every earlier value");
        assert!(at(Kind::Missing, 288 * 12 + 60, 288 * 12 + 60), "{found:?}");
        assert!(at(Kind::Rare, 288 * 16 + 96, 288 * 16 + 130), "the missing plateau within 3 hours");
        let missing = found.iter().find(|e| e.kind == Kind::Missing).unwrap();
        assert_eq!((missing.start, missing.end), (288 * 12 + 60, 288 * 12 + 83));

        let table = events_table(&found).unwrap().concat().unwrap();
        assert_eq!(table.num_rows(), found.len());
        assert_eq!(
            table.column_by_name("p_value").unwrap().null_count(),
            found.iter().filter(|e| e.p_value.is_none()).count()
        );
        let bad = OnlineConfig { rarity: Some(2.0), ..config };
        assert!(events(&values, &bad).unwrap_err().to_string().contains("anomaly.online.rarity"));
    }
}
