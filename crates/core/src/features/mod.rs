//! Point-in-time feature engineering: for each snapshot date, one row per account active then, with
//! features computed only from data strictly before the snapshot day, and labels (churned, expanded and
//! by how much within 30 / 90 / 365 days) from what happened from the snapshot day on.
//!
//! This is the "point-in-time correct" join of feature stores (Feast, Tecton): a row for snapshot `t`
//! reads usage, tickets, surveys, revenue, health scores and anomalies dated before `t` only, so a model
//! trained on past snapshots sees what it will see when it scores today. The test suite moves every row
//! dated on or after a snapshot and checks that the snapshot's features do not change. What each feature
//! means is in [`FEATURES`] (named and versioned by [`FEATURE_SET_VERSION`]) and `docs/predictions.md`.
//!
//! Export-time columns of `accounts` (`arr`, `seats_purchased`, `renewal_date`) are *not* used: they
//! describe the account at export (a churned account's `arr` is 0), which would leak the outcome. Seats
//! and MRR come from the revenue events before the snapshot, the next renewal from the start date and the
//! contract term those events show.
//!
//! Computation: each table is read once into per-account histories sorted by time (`load`), then accounts
//! are processed in parallel with rayon, each snapshot answered from prefix sums and binary searches
//! (`compute`); the output does not depend on the number of threads. Feature stores and pandas offer
//! point-in-time joins but not these customer-success windows over Arrow, hence our own code.
//!
//! ```
//! use accountscope::features::{FeatureConfig, FeatureInputs, build_features};
//! use accountscope::{DemoConfig, generate};
//! use chrono::NaiveDate;
//!
//! let demo = generate(&DemoConfig::new(20, 7))?;
//! let day = |m| NaiveDate::from_ymd_opt(2025, m, 1).unwrap();
//! let config = FeatureConfig { snapshots: vec![day(1), day(6)], ..FeatureConfig::default() };
//! let features = build_features(&FeatureInputs::from_portfolio(&demo.portfolio), &config)?;
//! assert!(features.table.num_rows() > 20);
//! assert!(features.table.schema().field_with_name("active_users_change_30").is_ok());
//! # Ok::<(), accountscope::Error>(())
//! ```

mod compute;
mod defs;
mod load;

pub use defs::{Driver, FEATURE_SET_VERSION, FEATURES, FeatureDef, Unit, feature_index};

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Date32Array, Float64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::contracts::days_since_epoch;
use crate::error::{Error, Result};
use crate::portfolio::Portfolio;
use crate::table::Table;

/// Accounts per parallel task (and per output batch).
const CHUNK: usize = 256;

/// Schema metadata key holding [`FEATURE_SET_VERSION`].
pub const VERSION_KEY: &str = "accountscope.feature_set";

/// Which snapshots to compute and which labels to attach. Deserializes from JSON (missing fields take
/// the defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeatureConfig {
    /// Snapshot days (any order; each account gets a row per snapshot it was active on).
    pub snapshots: Vec<NaiveDate>,
    /// Label horizons in days (30, 90, 365).
    pub horizons: Vec<u32>,
    /// Last day the data covers; labels whose horizon reaches past it are null (censored). Default: the
    /// latest usage day.
    pub observed_until: Option<NaiveDate>,
    /// Attach label columns (false for scoring).
    pub labels: bool,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        Self { snapshots: Vec::new(), horizons: vec![30, 90, 365], observed_until: None, labels: true }
    }
}

impl FeatureConfig {
    /// Snapshots on the first day of every month from `from` to `to` (inclusive).
    pub fn monthly(from: NaiveDate, to: NaiveDate) -> Self {
        use chrono::Datelike;
        let mut day = from.with_day(1).unwrap_or(from);
        if day < from {
            day = day.checked_add_months(chrono::Months::new(1)).unwrap_or(to);
        }
        let mut snapshots = Vec::new();
        while day <= to {
            snapshots.push(day);
            match day.checked_add_months(chrono::Months::new(1)) {
                Some(next) => day = next,
                None => break,
            }
        }
        Self { snapshots, ..Self::default() }
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<()> {
        if self.snapshots.is_empty() {
            return Err(Error::config("features.snapshots", "expected at least one snapshot date"));
        }
        if let Some(h) = self.horizons.iter().find(|h| **h == 0 || **h > 3660) {
            return Err(Error::config("features.horizons", format!("expected days in 1..=3660, got {h}")));
        }
        let mut sorted = self.horizons.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != self.horizons.len() {
            return Err(Error::config("features.horizons", format!("repeated horizon in {:?}", self.horizons)));
        }
        Ok(())
    }
}

/// The tables features are computed from. `accounts`, `usage`, `tickets`, `surveys` and `revenue` are the
/// canonical tables; the rest are optional.
#[derive(Debug, Clone, Copy)]
pub struct FeatureInputs<'a> {
    /// Accounts (id, segment, industry, plan, region, start_date).
    pub accounts: &'a Table,
    /// Daily usage.
    pub usage: &'a Table,
    /// Support tickets.
    pub tickets: &'a Table,
    /// NPS responses.
    pub surveys: &'a Table,
    /// Revenue events (`seats`, when present, gives seat utilisation).
    pub revenue: &'a Table,
    /// Churn dates: accounts churned before a snapshot are left out of it, and the churn labels.
    pub churn_labels: Option<&'a Table>,
    /// Expansions: the expansion labels.
    pub expansion_labels: Option<&'a Table>,
    /// Health history (`account_id`, `date`, `score`), e.g. [`crate::health::HealthHistory::history`].
    pub health: Option<&'a Table>,
    /// Anomaly events (`account_id`, `start`, optional `direction`). For leak-free features pass events
    /// of the streaming detector, which only looks back (batch detectors fit their baseline on the
    /// whole series).
    pub anomalies: Option<&'a Table>,
}

impl<'a> FeatureInputs<'a> {
    /// The canonical tables of `portfolio`, with its churn and expansion labels.
    pub fn from_portfolio(portfolio: &'a Portfolio) -> Self {
        Self {
            accounts: &portfolio.accounts,
            usage: &portfolio.usage,
            tickets: &portfolio.tickets,
            surveys: &portfolio.surveys,
            revenue: &portfolio.revenue,
            churn_labels: Some(&portfolio.churn_labels),
            expansion_labels: Some(&portfolio.expansion_labels),
            health: None,
            anomalies: None,
        }
    }

    /// With a health history.
    pub fn with_health(mut self, health: &'a Table) -> Self {
        self.health = Some(health);
        self
    }

    /// With anomaly events.
    pub fn with_anomalies(mut self, anomalies: &'a Table) -> Self {
        self.anomalies = Some(anomalies);
        self
    }
}

/// The outcome of [`build_features`].
#[derive(Debug, Clone)]
pub struct FeatureTable {
    /// One row per (account, snapshot) with the account active at the snapshot: `account_id`,
    /// `snapshot_date`, the [`FEATURES`] in order, then per horizon `h` the labels `churn_<h>d`,
    /// `expansion_<h>d` and `expansion_mrr_<h>d` (null when censored). Rows are ordered by account (as in
    /// the accounts table), then snapshot. The schema metadata holds [`VERSION_KEY`].
    pub table: Table,
    /// Rows per input table whose account is not in `accounts` (not used, reported here).
    pub unmatched: Vec<(String, usize)>,
    /// The end of observation used for censoring.
    pub observed_until: NaiveDate,
}

/// Names of the label columns for `horizons`, in output order.
pub fn label_columns(horizons: &[u32]) -> Vec<String> {
    horizons
        .iter()
        .flat_map(|h| [format!("churn_{h}d"), format!("expansion_{h}d"), format!("expansion_mrr_{h}d")])
        .collect()
}

fn output_schema(config: &FeatureConfig) -> SchemaRef {
    let mut fields =
        vec![Field::new("account_id", DataType::Utf8, false), Field::new("snapshot_date", DataType::Date32, false)];
    for f in FEATURES {
        let data_type = if f.unit == Unit::Category { DataType::Utf8 } else { DataType::Float64 };
        fields.push(Field::new(f.name, data_type, true));
    }
    if config.labels {
        for h in &config.horizons {
            fields.push(Field::new(format!("churn_{h}d"), DataType::Boolean, true));
            fields.push(Field::new(format!("expansion_{h}d"), DataType::Boolean, true));
            fields.push(Field::new(format!("expansion_mrr_{h}d"), DataType::Float64, true));
        }
    }
    let metadata = HashMap::from([(VERSION_KEY.to_string(), FEATURE_SET_VERSION.to_string())]);
    Arc::new(Schema::new_with_metadata(fields, metadata))
}

/// Computes the features (and labels) of every account at every snapshot of `config`.
pub fn build_features(inputs: &FeatureInputs<'_>, config: &FeatureConfig) -> Result<FeatureTable> {
    config.validate()?;
    let loaded = load::load(inputs)?;
    let observed_until = match config.observed_until {
        Some(d) => days_since_epoch(d),
        None => loaded.last_usage_day.ok_or_else(|| {
            Error::invalid("usage", "no usage rows: set features.observed_until to say what the data covers")
        })?,
    };
    let mut snapshots: Vec<i32> = config.snapshots.iter().map(|d| days_since_epoch(*d)).collect();
    snapshots.sort_unstable();
    snapshots.dedup();
    let schema = output_schema(config);
    let horizons: Vec<i32> =
        if config.labels { config.horizons.iter().map(|h| *h as i32).collect() } else { Vec::new() };
    let batches = loaded
        .accounts
        .par_chunks(CHUNK)
        .map(|chunk| chunk_batch(chunk, &snapshots, &horizons, observed_until, &schema))
        .collect::<Result<Vec<_>>>()?;
    Ok(FeatureTable {
        table: Table::try_new(schema, batches)?,
        unmatched: loaded.unmatched,
        observed_until: crate::trend::series::epoch_date(i64::from(observed_until)).unwrap_or_default(),
    })
}

fn chunk_batch(
    chunk: &[load::History],
    snapshots: &[i32],
    horizons: &[i32],
    observed_until: i32,
    schema: &SchemaRef,
) -> Result<RecordBatch> {
    let numeric = FEATURES.iter().filter(|f| f.unit != Unit::Category).count();
    let mut rows: Vec<(usize, i32)> = Vec::new();
    let mut values: Vec<f64> = Vec::new();
    let mut labels: Vec<Option<(bool, bool, f64)>> = Vec::new();
    for (a, h) in chunk.iter().enumerate() {
        let prefix = compute::UsagePrefix::new(&h.usage);
        for &t in snapshots {
            if h.start >= t || h.churn.is_some_and(|c| c <= t) {
                continue;
            }
            rows.push((a, t));
            compute::numeric_features(h, &prefix, t, &mut values);
            labels.extend(horizons.iter().map(|hz| compute::labels(h, t, *hz, observed_until)));
        }
    }
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(rows.iter().map(|(a, _)| chunk[*a].id.as_str()))),
        Arc::new(Date32Array::from_iter_values(rows.iter().map(|(_, t)| *t))),
    ];
    let mut k = 0;
    let mut profile = 0;
    for f in FEATURES {
        if f.unit == Unit::Category {
            let p = profile;
            columns.push(Arc::new(StringArray::from_iter(rows.iter().map(|(a, _)| chunk[*a].profile[p].as_deref()))));
            profile += 1;
        } else {
            let j = k;
            columns.push(Arc::new(Float64Array::from_iter(
                (0..rows.len()).map(|r| Some(values[r * numeric + j]).filter(|v| !v.is_nan())),
            )));
            k += 1;
        }
    }
    for (i, _) in horizons.iter().enumerate() {
        let label = |r: usize| labels[r * horizons.len() + i];
        columns.push(Arc::new(BooleanArray::from_iter((0..rows.len()).map(|r| label(r).map(|l| l.0)))));
        columns.push(Arc::new(BooleanArray::from_iter((0..rows.len()).map(|r| label(r).map(|l| l.1)))));
        columns.push(Arc::new(Float64Array::from_iter((0..rows.len()).map(|r| label(r).map(|l| l.2)))));
    }
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}
