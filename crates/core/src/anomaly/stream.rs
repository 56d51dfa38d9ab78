//! Streaming detection: record batches of daily usage in (any accounts, mixed), anomaly events out as
//! they happen, one [`OnlineState`] per account and metric ([`super::online`]).
//!
//! Policies:
//! - **Order.** Points of one series must arrive in time order. A point at or before the last accepted
//!   day of its series (a duplicate, or a late arrival) is dropped and counted in [`StreamStats`]; the
//!   first value for a day wins. Within a batch, rows are taken in row order.
//! - **Nulls.** A null or non-finite value is skipped and counted; the day is then missing for that metric.
//! - **Gaps.** Days with no point inside a series are a missing-data event, reported when the series
//!   resumes (delay: the gap's length plus one day). A series that stops altogether is found with
//!   [`StreamDetector::silent`].
//! - **Delay.** Spikes and drops are reported on the day they happen (delay 0); the batch pass
//!   ([`super::detect`]) sees the whole series and also reports where they end.
//! - **State.** Fixed per series (a few floats per weekday), so memory grows with the number of series,
//!   never with the number of points. [`StreamDetector::snapshot`] writes all of it (a versioned, checksummed
//!   postcard encoding, series in key order, so equal states give equal bytes) and
//!   [`StreamDetector::restore`] reads it back: a restored detector continues exactly as the original.

use std::collections::HashMap;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field};
use serde::{Deserialize, Serialize};

use super::Severity;
use super::online::{OnlineConfig, OnlineEvent, OnlineState, Step};
use crate::error::{Error, Result};
use crate::table::Table;
use crate::trend::series::{date_column, float_column, text_column, time_in_days, to_table};

/// What the streaming detector reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StreamConfig {
    /// Columns that identify an account (read as text).
    pub id_columns: Vec<String>,
    /// Day column: a date, or a timestamp at midnight UTC.
    pub time_column: String,
    /// Metrics, each a series per account.
    pub value_columns: Vec<String>,
    /// The per-series detector.
    pub online: OnlineConfig,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            id_columns: vec!["account_id".into()],
            time_column: "date".into(),
            value_columns: super::usage_metrics(),
            online: OnlineConfig::default(),
        }
    }
}

impl StreamConfig {
    /// Checks the fields.
    pub fn validate(&self) -> Result<()> {
        if self.id_columns.is_empty() {
            return Err(Error::config("stream.id_columns", "name at least one id column"));
        }
        if self.value_columns.is_empty() {
            return Err(Error::config("stream.value_columns", "name at least one metric"));
        }
        self.online.validate()
    }
}

/// Counts of what the detector took and left.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamStats {
    /// Points accepted.
    pub points: u64,
    /// Points dropped as duplicate or late.
    pub late: u64,
    /// Null or non-finite values skipped.
    pub nulls: u64,
    /// Events reported.
    pub events: u64,
}

/// Everything a snapshot holds.
#[derive(Serialize, Deserialize)]
struct Saved {
    config: StreamConfig,
    stats: StreamStats,
    series: Vec<(String, Vec<OnlineState>)>,
}

const MAGIC: &[u8; 4] = b"ASSD";
const VERSION: u32 = 5;

/// The streaming detector; see the module documentation.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamDetector {
    config: StreamConfig,
    stats: StreamStats,
    index: HashMap<String, usize>,
    keys: Vec<String>,
    states: Vec<Vec<OnlineState>>,
}

/// Separates id parts inside a series key (a control character no id should contain).
const SEP: char = '\u{1f}';

impl StreamDetector {
    /// A detector with no series yet.
    pub fn new(config: StreamConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self { config, stats: StreamStats::default(), index: HashMap::new(), keys: Vec::new(), states: Vec::new() })
    }

    /// The configuration.
    pub fn config(&self) -> &StreamConfig {
        &self.config
    }

    /// Counts so far.
    pub fn stats(&self) -> StreamStats {
        self.stats
    }

    /// Series (account × metric) held.
    pub fn num_series(&self) -> usize {
        self.states.len() * self.config.value_columns.len()
    }

    /// Takes one batch; returns the events it caused (columns as [`StreamDetector::empty_events`]).
    pub fn process(&mut self, batch: &RecordBatch) -> Result<Table> {
        const TABLE: &str = "stream input";
        let column = |name: &str| crate::table::column(batch, name, TABLE);
        let ids: Vec<ArrayRef> =
            self.config.id_columns.iter().map(|c| Ok(cast(column(c)?, &DataType::Utf8)?)).collect::<Result<_>>()?;
        let ids: Vec<_> = ids.iter().map(|a| a.as_string::<i32>()).collect();
        let days = days(column(&self.config.time_column)?, &self.config.time_column)?;
        let values: Vec<Float64Array> = self
            .config
            .value_columns
            .iter()
            .map(|c| crate::table::numeric_column(batch, c, TABLE))
            .collect::<Result<_>>()?;
        let mut out: Vec<(usize, usize, OnlineEvent, i64)> = Vec::new();
        let mut events = Vec::new();
        let mut key = String::new();
        for (row, day) in days.iter().enumerate() {
            key.clear();
            for (j, id) in ids.iter().enumerate() {
                if id.is_null(row) {
                    return Err(Error::invalid(
                        format!("stream input, row {row}, column '{}'", self.config.id_columns[j]),
                        "id must not be null",
                    ));
                }
                if j > 0 {
                    key.push(SEP);
                }
                key.push_str(id.value(row));
            }
            let Some(t) = *day else {
                return Err(Error::invalid(
                    format!("stream input, row {row}, column '{}'", self.config.time_column),
                    "day must not be null",
                ));
            };
            let s = match self.index.get(key.as_str()) {
                Some(&s) => s,
                None => {
                    self.index.insert(key.clone(), self.keys.len());
                    self.keys.push(key.clone());
                    self.states.push(vec![OnlineState::new(&self.config.online); values.len()]);
                    self.keys.len() - 1
                }
            };
            for (m, v) in values.iter().enumerate() {
                if v.is_null(row) || !v.value(row).is_finite() {
                    self.stats.nulls += 1;
                    continue;
                }
                match self.states[s][m].update(t, v.value(row), &self.config.online, &mut events) {
                    Step::Late => self.stats.late += 1,
                    Step::Scored { .. } => self.stats.points += 1,
                }
                for e in events.drain(..) {
                    out.push((s, m, e, t));
                }
            }
        }
        self.stats.events += out.len() as u64;
        self.events_table(&out)
    }

    /// The event table of no events: id columns (text), `metric`, `kind`, `start`, `end`, `detected`
    /// (the day of the point that revealed it), `expected`, `observed`, `strength`, `p_value` (spikes
    /// and drops with `online.calibrate`, rare windows always, else null), `severity`.
    pub fn empty_events(&self) -> Result<Table> {
        self.events_table(&[])
    }

    fn events_table(&self, out: &[(usize, usize, OnlineEvent, i64)]) -> Result<Table> {
        let to_day =
            |d: i64| i32::try_from(d).map_err(|_| Error::invalid("stream event", format!("day {d} is out of range")));
        let mut columns: Vec<(Field, ArrayRef)> = Vec::new();
        for (j, name) in self.config.id_columns.iter().enumerate() {
            let parts: Vec<&str> = out.iter().map(|(s, ..)| self.keys[*s].split(SEP).nth(j).unwrap_or("")).collect();
            columns.push(text_column(name, parts.into_iter().map(Some)));
        }
        columns.push(text_column("metric", out.iter().map(|(_, m, ..)| Some(self.config.value_columns[*m].as_str()))));
        columns.push(text_column("kind", out.iter().map(|(_, _, e, _)| Some(e.kind.name()))));
        columns.push(date_column("start", out.iter().map(|(_, _, e, _)| to_day(e.start)).collect::<Result<Vec<_>>>()?));
        columns.push(date_column("end", out.iter().map(|(_, _, e, _)| to_day(e.end)).collect::<Result<Vec<_>>>()?));
        columns.push(date_column("detected", out.iter().map(|(.., t)| to_day(*t)).collect::<Result<Vec<_>>>()?));
        columns.push(float_column("expected", out.iter().map(|(_, _, e, _)| Some(e.expected))));
        columns.push(float_column("observed", out.iter().map(|(_, _, e, _)| Some(e.observed).filter(|v| !v.is_nan()))));
        columns.push(float_column("strength", out.iter().map(|(_, _, e, _)| Some(e.strength))));
        columns.push(float_column("p_value", out.iter().map(|(_, _, e, _)| e.p_value)));
        columns.push(text_column(
            "severity",
            out.iter()
                .map(|(_, _, e, _)| Some(Severity::of(e.kind, e.strength, (e.end - e.start + 1) as usize).name())),
        ));
        to_table(columns)
    }

    /// Series whose last accepted day is more than `min_days` before `as_of` (a feed that stopped): id
    /// columns, `metric`, `last` (date), `silent_days`.
    pub fn silent(&self, as_of: chrono::NaiveDate, min_days: i64) -> Result<Table> {
        let as_of = i64::from(crate::contracts::days_since_epoch(as_of));
        let mut rows: Vec<(usize, usize, i64)> = Vec::new();
        for (s, states) in self.states.iter().enumerate() {
            for (m, state) in states.iter().enumerate() {
                if let Some(last) = state.last().filter(|last| as_of - last > min_days) {
                    rows.push((s, m, last));
                }
            }
        }
        rows.sort_by(|a, b| self.keys[a.0].cmp(&self.keys[b.0]).then(a.1.cmp(&b.1)));
        let mut columns: Vec<(Field, ArrayRef)> = Vec::new();
        for (j, name) in self.config.id_columns.iter().enumerate() {
            columns.push(text_column(name, rows.iter().map(|(s, ..)| self.keys[*s].split(SEP).nth(j))));
        }
        columns.push(text_column("metric", rows.iter().map(|(_, m, _)| Some(self.config.value_columns[*m].as_str()))));
        columns.push(date_column("last", rows.iter().map(|r| r.2 as i32)));
        columns.push(crate::trend::series::int_column("silent_days", rows.iter().map(|r| as_of - r.2)));
        to_table(columns)
    }

    /// The whole state as bytes: magic, version, postcard payload (series in key order), CRC-32.
    pub fn snapshot(&self) -> Result<Vec<u8>> {
        let mut order: Vec<usize> = (0..self.keys.len()).collect();
        order.sort_by(|a, b| self.keys[*a].cmp(&self.keys[*b]));
        let saved = Saved {
            config: self.config.clone(),
            stats: self.stats,
            series: order.into_iter().map(|s| (self.keys[s].clone(), self.states[s].clone())).collect(),
        };
        let payload = postcard::to_allocvec(&saved).map_err(|e| Error::Internal(format!("stream snapshot: {e}")))?;
        let mut bytes = Vec::with_capacity(payload.len() + 12);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&VERSION.to_le_bytes());
        bytes.extend_from_slice(&payload);
        bytes.extend_from_slice(&crc32fast::hash(&bytes).to_le_bytes());
        Ok(bytes)
    }

    /// A detector from [`StreamDetector::snapshot`] bytes; a wrong magic, version or checksum is an error.
    pub fn restore(bytes: &[u8]) -> Result<Self> {
        let bad = |message: String| Error::invalid("stream snapshot", message);
        if bytes.len() < 12 || &bytes[..4] != MAGIC {
            return Err(bad("not a stream detector snapshot (bad magic)".into()));
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        let crc = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
        if crc32fast::hash(body) != crc {
            return Err(bad("checksum mismatch: the snapshot is damaged".into()));
        }
        let version = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
        if version != VERSION {
            return Err(bad(format!("version {version}; this build reads version {VERSION}")));
        }
        let saved: Saved = postcard::from_bytes(&body[8..]).map_err(|e| bad(format!("cannot decode: {e}")))?;
        saved.config.validate()?;
        let mut detector = Self::new(saved.config)?;
        detector.stats = saved.stats;
        for (key, states) in saved.series {
            detector.index.insert(key.clone(), detector.keys.len());
            detector.keys.push(key);
            detector.states.push(states);
        }
        Ok(detector)
    }
}

/// A date or midnight-timestamp column as day numbers ([`time_in_days`]); a time that is not a whole
/// day is an error naming its row.
fn days(array: &ArrayRef, name: &str) -> Result<Vec<Option<i64>>> {
    time_in_days(array, name)?
        .into_iter()
        .enumerate()
        .map(|(row, day)| match day {
            Some(d) if d.fract() != 0.0 => Err(Error::invalid(
                format!("stream input, row {row}, column '{name}'"),
                "expected a whole day (midnight UTC): resample to days first",
            )),
            d => Ok(d.map(|d| d as i64)),
        })
        .collect()
}
