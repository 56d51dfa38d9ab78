//! The demo portfolio: a deterministic generator of a realistic customer base in the canonical tables,
//! with the ground truth that produced it, and a dirty variant with a manifest of injected defects.
//!
//! Each account is simulated day by day with its own ChaCha8 random stream (stream = account index, key =
//! seed), so output is bit-identical for a seed whatever the number of threads, and accounts are generated in
//! parallel with rayon. The hidden mechanism (segments, seasonality by industry, onboarding ramps, trends,
//! champion loss, tickets and NPS that respond to health, renewals, expansions driven by seat utilisation, and
//! churn driven by declining usage, unresolved severe tickets, low NPS and champion loss) is documented in
//! `docs/demo.md`; no crate simulates customer-success data, hence our own code.

mod catalog;
mod dirty;
mod records;
mod signals;
mod sim;

pub use dirty::{DIRTY_RULES_YAML, DefectKind, DirtyConfig, DirtyPortfolio, dirty, dirty_rules};

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int32Array, StringArray, StringBuilder,
    TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::contracts::TableKind;
use crate::error::{Error, Result};
use crate::portfolio::Portfolio;
use crate::table::Table;
use records::{Account, Calendar};

/// Accounts simulated per parallel task (and rows of the accounts table per batch).
const CHUNK: usize = 128;

/// Parameters of the demo portfolio. Deserializes from JSON (missing fields take the defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DemoConfig {
    /// Seed of every random choice: the same seed gives the same bytes.
    pub seed: u64,
    /// Number of accounts.
    pub accounts: usize,
    /// First day of the observed window.
    pub start: NaiveDate,
    /// Last day of the observed window (inclusive).
    pub end: NaiveDate,
    /// Shares of SMB, MidMarket and Enterprise accounts (normalised).
    pub segment_mix: [f64; 3],
    /// Planted anomalies per account and year of activity (Poisson mean).
    pub anomalies_per_year: f64,
    /// Added to every renewal decision's churn log-odds: > 0 more churn, < 0 less.
    pub churn_shift: f64,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            accounts: 1_000,
            start: NaiveDate::from_ymd_opt(2023, 1, 1).unwrap_or_default(),
            end: NaiveDate::from_ymd_opt(2025, 12, 31).unwrap_or_default(),
            segment_mix: [0.6, 0.3, 0.1],
            anomalies_per_year: 1.0,
            churn_shift: 0.0,
        }
    }
}

impl DemoConfig {
    /// The defaults with `accounts` accounts and `seed`.
    pub fn new(accounts: usize, seed: u64) -> Self {
        Self { accounts, seed, ..Self::default() }
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<()> {
        if self.accounts == 0 || self.accounts > 999_999 {
            return Err(Error::config("demo.accounts", format!("must be 1..=999999, got {}", self.accounts)));
        }
        if (self.end - self.start).num_days() < 90 {
            return Err(Error::config(
                "demo.end",
                format!("must be at least 90 days after start ({} .. {})", self.start, self.end),
            ));
        }
        if self.segment_mix.iter().any(|w| !w.is_finite() || *w < 0.0) || self.segment_mix.iter().sum::<f64>() <= 0.0 {
            return Err(Error::config(
                "demo.segment_mix",
                format!("must be three non-negative weights with a positive sum, got {:?}", self.segment_mix),
            ));
        }
        if !self.anomalies_per_year.is_finite() || !(0.0..=50.0).contains(&self.anomalies_per_year) {
            return Err(Error::config(
                "demo.anomalies_per_year",
                format!("must be in 0..=50, got {}", self.anomalies_per_year),
            ));
        }
        if !self.churn_shift.is_finite() || !(-10.0..=10.0).contains(&self.churn_shift) {
            return Err(Error::config("demo.churn_shift", format!("must be in -10..=10, got {}", self.churn_shift)));
        }
        Ok(())
    }
}

/// What the generator knows and a real data set would not.
#[derive(Debug, Clone)]
pub struct GroundTruth {
    /// Per account: seasonality, trend, champion loss, churn date and cause, last churn probability.
    pub accounts: Table,
    /// Planted anomalies: account, kind (outage, usage_spike, data_gap), metric, first and last day, magnitude.
    pub anomalies: Table,
    /// Seat and MRR changes: new, expansion, contraction and churn, with seats before and after.
    pub seat_changes: Table,
}

/// A generated portfolio and its ground truth.
#[derive(Debug, Clone)]
pub struct Demo {
    /// The canonical tables.
    pub portfolio: Portfolio,
    /// The hidden truth behind them.
    pub truth: GroundTruth,
}

impl Demo {
    /// The ground truth tables with their names (`truth_accounts`, `truth_anomalies`, `truth_seat_changes`).
    pub fn truth_tables(&self) -> [(&'static str, &Table); 3] {
        [
            ("truth_accounts", &self.truth.accounts),
            ("truth_anomalies", &self.truth.anomalies),
            ("truth_seat_changes", &self.truth.seat_changes),
        ]
    }
}

/// Generates the demo portfolio described by `config`.
pub fn generate(config: &DemoConfig) -> Result<Demo> {
    config.validate()?;
    let mix_sum: f64 = config.segment_mix.iter().sum();
    let config = DemoConfig { segment_mix: config.segment_mix.map(|w| w / mix_sum), ..config.clone() };
    let cal = Calendar::new(&config);
    let chunks: Vec<Chunk> = (0..config.accounts.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let first = c * CHUNK;
            let accounts: Vec<Account> = (first..(first + CHUNK).min(config.accounts))
                .map(|i| {
                    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
                    rng.set_stream(i as u64);
                    sim::simulate(&config, &cal, &mut rng)
                })
                .collect();
            Chunk::build(first, &accounts, &cal)
        })
        .collect::<Result<_>>()?;
    let table = |f: fn(&Chunk) -> &RecordBatch, schema: SchemaRef| -> Result<Table> {
        Table::try_new(schema, chunks.iter().map(|c| f(c).clone()).collect())
    };
    let portfolio = Portfolio {
        accounts: table(|c| &c.accounts, TableKind::Accounts.schema())?,
        usage: table(|c| &c.usage, TableKind::Usage.schema())?,
        tickets: table(|c| &c.tickets, TableKind::Tickets.schema())?,
        surveys: table(|c| &c.surveys, TableKind::Surveys.schema())?,
        revenue: table(|c| &c.revenue, TableKind::Revenue.schema())?,
        churn_labels: table(|c| &c.churn_labels, TableKind::ChurnLabels.schema())?,
        expansion_labels: table(|c| &c.expansion_labels, TableKind::ExpansionLabels.schema())?,
    };
    let truth = GroundTruth {
        accounts: table(|c| &c.truth_accounts, truth_accounts_schema())?,
        anomalies: table(|c| &c.truth_anomalies, truth_anomalies_schema())?,
        seat_changes: table(|c| &c.truth_seats, truth_seats_schema())?,
    };
    Ok(Demo { portfolio, truth })
}

fn account_id(index: usize) -> String {
    format!("ACC-{:06}", index + 1)
}

fn nullable(name: &str, data_type: DataType) -> Field {
    Field::new(name, data_type, true)
}

fn truth_accounts_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        nullable("account_id", DataType::Utf8),
        nullable("weekly_seasonality", DataType::Boolean),
        nullable("weekend_factor", DataType::Float64),
        nullable("yearly_pattern", DataType::Utf8),
        nullable("yearly_realised", DataType::Float64),
        nullable("trend", DataType::Utf8),
        nullable("trend_slope", DataType::Float64),
        nullable("decline_start", DataType::Date32),
        nullable("champion_lost_date", DataType::Date32),
        nullable("churned", DataType::Boolean),
        nullable("churn_date", DataType::Date32),
        nullable("churn_cause", DataType::Utf8),
        nullable("last_churn_probability", DataType::Float64),
    ]))
}

fn truth_anomalies_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        nullable("account_id", DataType::Utf8),
        nullable("kind", DataType::Utf8),
        nullable("metric", DataType::Utf8),
        nullable("start_date", DataType::Date32),
        nullable("end_date", DataType::Date32),
        nullable("magnitude", DataType::Float64),
    ]))
}

fn truth_seats_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        nullable("account_id", DataType::Utf8),
        nullable("date", DataType::Date32),
        nullable("kind", DataType::Utf8),
        nullable("seats_before", DataType::Int32),
        nullable("seats_after", DataType::Int32),
        nullable("mrr_delta", DataType::Float64),
    ]))
}

/// The batches of every table for one chunk of accounts.
struct Chunk {
    accounts: RecordBatch,
    usage: RecordBatch,
    tickets: RecordBatch,
    surveys: RecordBatch,
    revenue: RecordBatch,
    churn_labels: RecordBatch,
    expansion_labels: RecordBatch,
    truth_accounts: RecordBatch,
    truth_anomalies: RecordBatch,
    truth_seats: RecordBatch,
}

fn arr<A: arrow::array::Array + 'static>(a: A) -> ArrayRef {
    Arc::new(a)
}

/// A text column repeating each account's id once per row of that account.
fn repeated_ids(first: usize, counts: impl Iterator<Item = usize>) -> ArrayRef {
    let mut b = StringBuilder::new();
    for (i, n) in counts.enumerate() {
        let id = account_id(first + i);
        for _ in 0..n {
            b.append_value(&id);
        }
    }
    Arc::new(b.finish())
}

impl Chunk {
    fn build(first: usize, accounts: &[Account], cal: &Calendar) -> Result<Self> {
        let ids: Vec<String> = (0..accounts.len()).map(|i| account_id(first + i)).collect();
        let a = accounts;
        let accounts_batch = RecordBatch::try_new(
            TableKind::Accounts.schema(),
            vec![
                arr(StringArray::from(ids.clone())),
                arr(a.iter().map(|x| Some(x.name.as_str())).collect::<StringArray>()),
                arr(a.iter().map(|x| Some(x.segment)).collect::<StringArray>()),
                arr(a.iter().map(|x| Some(x.industry.name)).collect::<StringArray>()),
                arr(a.iter().map(|x| Some(x.plan)).collect::<StringArray>()),
                arr(a.iter().map(|x| Some(x.region)).collect::<StringArray>()),
                arr(a.iter().map(|x| Some(x.start)).collect::<Date32Array>()),
                arr(a.iter().map(|x| Some(x.renewal)).collect::<Date32Array>()),
                arr(a.iter().map(|x| Some((x.mrr * 12.0 * 100.0).round() / 100.0)).collect::<Float64Array>()),
                arr(a.iter().map(|x| Some(x.seats)).collect::<Int32Array>()),
                arr(a.iter().map(|x| Some(x.csm.as_str())).collect::<StringArray>()),
                arr(a.iter().map(|x| Some(x.email.as_str())).collect::<StringArray>()),
            ],
        )?;

        let flat = |f: fn(&records::Usage) -> &Vec<i32>| -> ArrayRef {
            arr(Int32Array::from(a.iter().flat_map(|x| f(&x.usage).iter().copied()).collect::<Vec<i32>>()))
        };
        let usage = RecordBatch::try_new(
            TableKind::Usage.schema(),
            vec![
                repeated_ids(first, a.iter().map(|x| x.usage.day.len())),
                arr(Date32Array::from(a.iter().flat_map(|x| x.usage.day.iter().copied()).collect::<Vec<i32>>())),
                flat(|u| &u.active),
                flat(|u| &u.logins),
                flat(|u| &u.sessions),
                flat(|u| &u.features),
                flat(|u| &u.feature_events),
                flat(|u| &u.api_calls),
                flat(|u| &u.seats_used),
            ],
        )?;

        let tickets: Vec<(usize, usize, &records::Ticket)> =
            a.iter().enumerate().flat_map(|(i, x)| x.tickets.iter().enumerate().map(move |(n, t)| (i, n, t))).collect();
        let tickets = RecordBatch::try_new(
            TableKind::Tickets.schema(),
            vec![
                arr(tickets
                    .iter()
                    .map(|(i, n, _)| Some(format!("TCK-{:06}-{:05}", first + i + 1, n + 1)))
                    .collect::<StringArray>()),
                repeated_ids(first, a.iter().map(|x| x.tickets.len())),
                arr(TimestampMillisecondArray::from(tickets.iter().map(|(_, _, t)| t.opened_ms).collect::<Vec<_>>())
                    .with_timezone("UTC")),
                arr(TimestampMillisecondArray::from(tickets.iter().map(|(_, _, t)| t.closed_ms).collect::<Vec<_>>())
                    .with_timezone("UTC")),
                arr(tickets.iter().map(|(_, _, t)| Some(t.priority)).collect::<StringArray>()),
                arr(tickets.iter().map(|(_, _, t)| Some(t.category)).collect::<StringArray>()),
                arr(tickets.iter().map(|(_, _, t)| t.csat).collect::<Int32Array>()),
            ],
        )?;

        let surveys: Vec<(usize, usize, &records::Survey)> =
            a.iter().enumerate().flat_map(|(i, x)| x.surveys.iter().enumerate().map(move |(n, s)| (i, n, s))).collect();
        let surveys = RecordBatch::try_new(
            TableKind::Surveys.schema(),
            vec![
                arr(surveys
                    .iter()
                    .map(|(i, n, _)| Some(format!("NPS-{:06}-{:04}", first + i + 1, n + 1)))
                    .collect::<StringArray>()),
                repeated_ids(first, a.iter().map(|x| x.surveys.len())),
                arr(surveys.iter().map(|(_, _, s)| Some(s.day)).collect::<Date32Array>()),
                arr(surveys.iter().map(|(_, _, s)| Some(s.nps)).collect::<Int32Array>()),
                arr(surveys.iter().map(|(_, _, s)| s.comment).collect::<StringArray>()),
            ],
        )?;

        let revenue: Vec<(usize, usize, &records::RevenueEvent)> =
            a.iter().enumerate().flat_map(|(i, x)| x.revenue.iter().enumerate().map(move |(n, r)| (i, n, r))).collect();
        let money = |v: f64| (v * 100.0).round() / 100.0;
        let revenue_batch = RecordBatch::try_new(
            TableKind::Revenue.schema(),
            vec![
                arr(revenue
                    .iter()
                    .map(|(i, n, _)| Some(format!("REV-{:06}-{:04}", first + i + 1, n + 1)))
                    .collect::<StringArray>()),
                repeated_ids(first, a.iter().map(|x| x.revenue.len())),
                arr(revenue.iter().map(|(_, _, r)| Some(r.day)).collect::<Date32Array>()),
                arr(revenue.iter().map(|(_, _, r)| Some(r.kind)).collect::<StringArray>()),
                arr(revenue.iter().map(|(_, _, r)| Some(money(r.mrr_delta))).collect::<Float64Array>()),
                arr(revenue.iter().map(|(_, _, r)| Some(r.seats_after)).collect::<Int32Array>()),
            ],
        )?;

        let churn_labels = RecordBatch::try_new(
            TableKind::ChurnLabels.schema(),
            vec![
                arr(StringArray::from(ids.clone())),
                arr(a.iter().map(|x| Some(x.churn.is_some())).collect::<BooleanArray>()),
                arr(a.iter().map(|x| x.churn.map(|c| c.0)).collect::<Date32Array>()),
                arr(a.iter().map(|x| x.churn.map(|c| c.1.recorded_reason())).collect::<StringArray>()),
            ],
        )?;

        let expansions: Vec<(usize, &records::RevenueEvent)> = a
            .iter()
            .enumerate()
            .flat_map(|(i, x)| x.revenue.iter().filter(|r| r.kind == "expansion").map(move |r| (i, r)))
            .collect();
        let expansion_labels = RecordBatch::try_new(
            TableKind::ExpansionLabels.schema(),
            vec![
                arr(expansions.iter().map(|(i, _)| Some(account_id(first + i))).collect::<StringArray>()),
                arr(expansions.iter().map(|(_, r)| Some(r.day)).collect::<Date32Array>()),
                arr(expansions.iter().map(|(_, r)| Some(money(r.mrr_delta))).collect::<Float64Array>()),
            ],
        )?;

        let truth_accounts = RecordBatch::try_new(
            truth_accounts_schema(),
            vec![
                arr(StringArray::from(ids)),
                arr(a.iter().map(|x| Some(x.industry.weekend_factor < 1.0)).collect::<BooleanArray>()),
                arr(a.iter().map(|x| Some(x.industry.weekend_factor)).collect::<Float64Array>()),
                arr(a.iter().map(|x| Some(x.industry.yearly.name())).collect::<StringArray>()),
                arr(a.iter().map(|x| x.yearly_realised).collect::<Float64Array>()),
                arr(a.iter().map(|x| Some(x.trend.name())).collect::<StringArray>()),
                arr(a.iter().map(|x| Some(x.trend_slope)).collect::<Float64Array>()),
                arr(a.iter().map(|x| x.decline_start.map(|d| d.min(cal.end))).collect::<Date32Array>()),
                arr(a.iter().map(|x| x.champion_lost).collect::<Date32Array>()),
                arr(a.iter().map(|x| Some(x.churn.is_some())).collect::<BooleanArray>()),
                arr(a.iter().map(|x| x.churn.map(|c| c.0)).collect::<Date32Array>()),
                arr(a.iter().map(|x| x.churn.map(|c| c.1.name())).collect::<StringArray>()),
                arr(a.iter().map(|x| Some(x.last_churn_probability)).collect::<Float64Array>()),
            ],
        )?;

        let anomalies: Vec<(usize, &records::Anomaly)> =
            a.iter().enumerate().flat_map(|(i, x)| x.anomalies.iter().map(move |an| (i, an))).collect();
        let truth_anomalies = RecordBatch::try_new(
            truth_anomalies_schema(),
            vec![
                arr(anomalies.iter().map(|(i, _)| Some(account_id(first + i))).collect::<StringArray>()),
                arr(anomalies.iter().map(|(_, x)| Some(x.kind)).collect::<StringArray>()),
                arr(anomalies.iter().map(|(_, x)| Some(x.metric)).collect::<StringArray>()),
                arr(anomalies.iter().map(|(_, x)| Some(x.start)).collect::<Date32Array>()),
                arr(anomalies.iter().map(|(_, x)| Some(x.end)).collect::<Date32Array>()),
                arr(anomalies.iter().map(|(_, x)| x.magnitude).collect::<Float64Array>()),
            ],
        )?;

        let seats: Vec<(usize, &records::RevenueEvent)> = a
            .iter()
            .enumerate()
            .flat_map(|(i, x)| x.revenue.iter().filter(|r| r.kind != "renewal").map(move |r| (i, r)))
            .collect();
        let truth_seats = RecordBatch::try_new(
            truth_seats_schema(),
            vec![
                arr(seats.iter().map(|(i, _)| Some(account_id(first + i))).collect::<StringArray>()),
                arr(seats.iter().map(|(_, r)| Some(r.day)).collect::<Date32Array>()),
                arr(seats.iter().map(|(_, r)| Some(r.kind)).collect::<StringArray>()),
                arr(seats.iter().map(|(_, r)| Some(r.seats_before)).collect::<Int32Array>()),
                arr(seats.iter().map(|(_, r)| Some(r.seats_after)).collect::<Int32Array>()),
                arr(seats.iter().map(|(_, r)| Some(money(r.mrr_delta))).collect::<Float64Array>()),
            ],
        )?;

        Ok(Self {
            accounts: accounts_batch,
            usage,
            tickets,
            surveys,
            revenue: revenue_batch,
            churn_labels,
            expansion_labels,
            truth_accounts,
            truth_anomalies,
            truth_seats,
        })
    }
}
