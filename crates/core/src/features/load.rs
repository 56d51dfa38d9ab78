//! Reading the canonical tables into per-account histories sorted by time, once, for every snapshot.
//!
//! Rows whose account is not in `accounts` are counted per table (nothing is dropped silently: the counts
//! are part of [`super::FeatureTable`]); a null in a column the features need is an error naming the
//! table, column and row.

use std::collections::HashMap;

use arrow::array::{Array, ArrayRef, AsArray, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type, Float32Type, Float64Type, Int32Type, TimeUnit, TimestampMillisecondType};
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};
use crate::table::{Table, column};

use super::FeatureInputs;

/// Milliseconds in a day.
pub(crate) const DAY_MS: i64 = 86_400_000;

/// One day of usage. Counts are `f32` (exact below 2^24 per day) to halve the memory of large portfolios;
/// a null count is NaN.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UsageDay {
    pub(crate) day: i32,
    /// active_users, logins, sessions, features_used, api_calls, seats_used.
    pub(crate) v: [f32; 6],
}

/// Usage columns read, in [`UsageDay::v`] order.
pub(crate) const USAGE_COLUMNS: [&str; 6] =
    ["active_users", "logins", "sessions", "features_used", "api_calls", "seats_used"];

/// One support ticket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    pub(crate) opened_ms: i64,
    pub(crate) closed_ms: Option<i64>,
    /// 0 low, 1 medium, 2 high, 3 urgent (unknown priorities count as medium).
    pub(crate) priority: u8,
    pub(crate) csat: Option<f32>,
}

/// One revenue event.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Revenue {
    pub(crate) day: i32,
    pub(crate) kind: EventKind,
    pub(crate) mrr_delta: f64,
    pub(crate) seats: Option<i32>,
}

/// Revenue event types the features tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventKind {
    Renewal,
    Expansion,
    Contraction,
    Other,
}

/// Everything known about one account, sorted by time.
#[derive(Debug, Default)]
pub(crate) struct History {
    pub(crate) id: String,
    pub(crate) profile: [Option<String>; 4],
    pub(crate) start: i32,
    pub(crate) churn: Option<i32>,
    pub(crate) usage: Vec<UsageDay>,
    pub(crate) tickets: Vec<Ticket>,
    /// (day, nps).
    pub(crate) surveys: Vec<(i32, f32)>,
    pub(crate) revenue: Vec<Revenue>,
    /// (day, added MRR).
    pub(crate) expansions: Vec<(i32, f64)>,
    /// (day, score).
    pub(crate) health: Vec<(i32, f32)>,
    /// (start day, went down).
    pub(crate) anomalies: Vec<(i32, bool)>,
}

/// Every account's history and the rows that matched no account, per table.
pub(crate) struct Loaded {
    pub(crate) accounts: Vec<History>,
    pub(crate) unmatched: Vec<(String, usize)>,
    /// Latest day seen in usage (the default end of observation).
    pub(crate) last_usage_day: Option<i32>,
}

fn strings(batch: &RecordBatch, name: &str, table: &str) -> Result<StringArray> {
    let array = column(batch, name, table)?;
    Ok(cast(array, &DataType::Utf8)?.as_string::<i32>().clone())
}

fn typed(batch: &RecordBatch, name: &str, table: &str, to: &DataType, what: &str) -> Result<ArrayRef> {
    crate::table::cast_strict(column(batch, name, table)?, to, table, name, what)
}

fn days(batch: &RecordBatch, name: &str, table: &str) -> Result<ArrayRef> {
    typed(batch, name, table, &DataType::Date32, "a date")
}

fn millis(batch: &RecordBatch, name: &str, table: &str) -> Result<ArrayRef> {
    typed(batch, name, table, &DataType::Timestamp(TimeUnit::Millisecond, None), "a timestamp")
}

fn floats(batch: &RecordBatch, name: &str, table: &str) -> Result<ArrayRef> {
    typed(batch, name, table, &DataType::Float32, "a number")
}

fn null_error(table: &str, name: &str, row: usize) -> Error {
    Error::invalid(format!("{table}, column '{name}', row {row}"), "null where the features need a value")
}

/// Walks every row of `table`: `prepare` reads the columns of each batch once, `f` gets them with the row
/// (in the batch and in the table) and the row's account position; rows of unknown accounts are counted.
fn for_each_row<P>(
    table: &Table,
    name: &str,
    index: &HashMap<String, usize>,
    unmatched: &mut Vec<(String, usize)>,
    mut prepare: impl FnMut(&RecordBatch) -> Result<P>,
    mut f: impl FnMut(&P, usize, usize, usize) -> Result<()>,
) -> Result<()> {
    let mut missing = 0;
    let mut offset = 0;
    for batch in table.batches() {
        let ids = strings(batch, "account_id", name)?;
        let columns = prepare(batch).map_err(|e| e.with_row_offset(offset))?;
        // Tables are usually grouped by account: reuse the last lookup while the id repeats.
        let mut last: Option<(&str, Option<usize>)> = None;
        for row in 0..batch.num_rows() {
            if ids.is_null(row) {
                return Err(null_error(name, "account_id", offset + row));
            }
            let id = ids.value(row);
            let position = match last {
                Some((prev, position)) if prev == id => position,
                _ => index.get(id).copied(),
            };
            last = Some((id, position));
            match position {
                Some(a) => f(&columns, row, offset + row, a)?,
                None => missing += 1,
            }
        }
        offset += batch.num_rows();
    }
    unmatched.push((name.to_string(), missing));
    Ok(())
}

/// Reads `inputs` into one [`History`] per account (in the order of the accounts table).
pub(crate) fn load(inputs: &FeatureInputs<'_>) -> Result<Loaded> {
    let (mut accounts, index) = read_accounts(inputs.accounts)?;
    let mut unmatched = Vec::new();
    let last_usage_day = read_usage(inputs.usage, &index, &mut accounts, &mut unmatched)?;
    read_tickets(inputs.tickets, &index, &mut accounts, &mut unmatched)?;
    read_surveys(inputs.surveys, &index, &mut accounts, &mut unmatched)?;
    read_revenue(inputs.revenue, &index, &mut accounts, &mut unmatched)?;
    if let Some(labels) = inputs.churn_labels {
        read_dated(
            labels,
            "churn_labels",
            "churn_date",
            None,
            &index,
            &mut unmatched,
            |day, _, h| {
                h.churn = Some(h.churn.map_or(day, |c| c.min(day)));
            },
            &mut accounts,
        )?;
    }
    if let Some(labels) = inputs.expansion_labels {
        read_dated(
            labels,
            "expansion_labels",
            "date",
            Some("expansion_mrr"),
            &index,
            &mut unmatched,
            |day, v, h| {
                h.expansions.push((day, v.unwrap_or(0.0)));
            },
            &mut accounts,
        )?;
    }
    if let Some(health) = inputs.health {
        read_dated(
            health,
            "health",
            "date",
            Some("score"),
            &index,
            &mut unmatched,
            |day, v, h| {
                if let Some(v) = v {
                    h.health.push((day, v as f32));
                }
            },
            &mut accounts,
        )?;
    }
    if let Some(anomalies) = inputs.anomalies {
        read_anomalies(anomalies, &index, &mut accounts, &mut unmatched)?;
    }
    for h in &mut accounts {
        h.usage.sort_by_key(|u| u.day);
        h.tickets.sort_by_key(|t| t.opened_ms);
        h.surveys.sort_by_key(|s| s.0);
        h.revenue.sort_by_key(|r| r.day);
        h.expansions.sort_by_key(|e| e.0);
        h.health.sort_by_key(|s| s.0);
        h.anomalies.sort_by_key(|s| s.0);
    }
    Ok(Loaded { accounts, unmatched, last_usage_day })
}

fn read_accounts(table: &Table) -> Result<(Vec<History>, HashMap<String, usize>)> {
    let mut accounts: Vec<History> = Vec::with_capacity(table.num_rows());
    let mut index: HashMap<String, usize> = HashMap::with_capacity(table.num_rows());
    let mut offset = 0;
    for batch in table.batches() {
        let ids = strings(batch, "account_id", "accounts")?;
        let starts = days(batch, "start_date", "accounts").map_err(|e| e.with_row_offset(offset))?;
        let starts = starts.as_primitive::<Date32Type>();
        let profile = [
            strings(batch, "segment", "accounts")?,
            strings(batch, "industry", "accounts")?,
            strings(batch, "plan", "accounts")?,
            strings(batch, "region", "accounts")?,
        ];
        for row in 0..batch.num_rows() {
            if ids.is_null(row) {
                return Err(null_error("accounts", "account_id", offset + row));
            }
            if starts.is_null(row) {
                return Err(null_error("accounts", "start_date", offset + row));
            }
            let id = ids.value(row).to_string();
            if index.insert(id.clone(), accounts.len()).is_some() {
                return Err(Error::invalid(
                    format!("accounts, column 'account_id', row {}", offset + row),
                    format!("account '{id}' appears twice (deduplicate in validation first)"),
                ));
            }
            accounts.push(History {
                id,
                profile: profile.each_ref().map(|p| (!p.is_null(row)).then(|| p.value(row).to_string())),
                start: starts.value(row),
                ..History::default()
            });
        }
        offset += batch.num_rows();
    }
    Ok((accounts, index))
}

/// A required date of row `at`.
fn day_at(array: &ArrayRef, row: usize, table: &str, name: &str, at: usize) -> Result<i32> {
    let a = array.as_primitive::<Date32Type>();
    if a.is_null(row) { Err(null_error(table, name, at)) } else { Ok(a.value(row)) }
}

fn float_at(array: &ArrayRef, row: usize) -> Option<f32> {
    let a = array.as_primitive::<Float32Type>();
    (!a.is_null(row)).then(|| a.value(row))
}

fn read_usage(
    table: &Table,
    index: &HashMap<String, usize>,
    accounts: &mut [History],
    unmatched: &mut Vec<(String, usize)>,
) -> Result<Option<i32>> {
    let mut last_day: Option<i32> = None;
    let prepare = |batch: &RecordBatch| -> Result<(ArrayRef, Vec<ArrayRef>)> {
        let values = USAGE_COLUMNS
            .iter()
            .map(|c| match batch.column_by_name(c) {
                // Optional counts: a table without the column has NaN for it.
                None if *c != "active_users" => Ok(arrow::array::new_null_array(&DataType::Float32, batch.num_rows())),
                _ => floats(batch, c, "usage"),
            })
            .collect::<Result<_>>()?;
        Ok((days(batch, "date", "usage")?, values))
    };
    for_each_row(table, "usage", index, unmatched, prepare, |(day, values), row, at, a| {
        let d = day_at(day, row, "usage", "date", at)?;
        last_day = Some(last_day.map_or(d, |l| l.max(d)));
        let v = std::array::from_fn(|k| float_at(&values[k], row).unwrap_or(f32::NAN));
        accounts[a].usage.push(UsageDay { day: d, v });
        Ok(())
    })?;
    Ok(last_day)
}

fn read_tickets(
    table: &Table,
    index: &HashMap<String, usize>,
    accounts: &mut [History],
    unmatched: &mut Vec<(String, usize)>,
) -> Result<()> {
    let prepare = |batch: &RecordBatch| -> Result<[ArrayRef; 4]> {
        Ok([
            millis(batch, "opened_at", "tickets")?,
            millis(batch, "closed_at", "tickets")?,
            typed(batch, "priority", "tickets", &DataType::Utf8, "text")?,
            match batch.column_by_name("csat") {
                None => arrow::array::new_null_array(&DataType::Float32, batch.num_rows()),
                Some(_) => floats(batch, "csat", "tickets")?,
            },
        ])
    };
    for_each_row(table, "tickets", index, unmatched, prepare, |[opened, closed, priority, csat], row, at, a| {
        let opened = opened.as_primitive::<TimestampMillisecondType>();
        if opened.is_null(row) {
            return Err(null_error("tickets", "opened_at", at));
        }
        let closed = closed.as_primitive::<TimestampMillisecondType>();
        let priority = priority.as_string::<i32>();
        let priority = match (!priority.is_null(row)).then(|| priority.value(row)) {
            Some("low") => 0,
            Some("high") => 2,
            Some("urgent") => 3,
            _ => 1,
        };
        accounts[a].tickets.push(Ticket {
            opened_ms: opened.value(row),
            closed_ms: (!closed.is_null(row)).then(|| closed.value(row)),
            priority,
            csat: float_at(csat, row),
        });
        Ok(())
    })
}

fn read_surveys(
    table: &Table,
    index: &HashMap<String, usize>,
    accounts: &mut [History],
    unmatched: &mut Vec<(String, usize)>,
) -> Result<()> {
    let prepare = |batch: &RecordBatch| Ok([days(batch, "date", "surveys")?, floats(batch, "nps", "surveys")?]);
    for_each_row(table, "surveys", index, unmatched, prepare, |[day, nps], row, at, a| {
        let d = day_at(day, row, "surveys", "date", at)?;
        // A response without a score carries no NPS; it is still counted by validation, not here.
        if let Some(nps) = float_at(nps, row) {
            accounts[a].surveys.push((d, nps));
        }
        Ok(())
    })
}

fn read_revenue(
    table: &Table,
    index: &HashMap<String, usize>,
    accounts: &mut [History],
    unmatched: &mut Vec<(String, usize)>,
) -> Result<()> {
    let prepare = |batch: &RecordBatch| -> Result<[ArrayRef; 4]> {
        Ok([
            days(batch, "date", "revenue")?,
            typed(batch, "event_type", "revenue", &DataType::Utf8, "text")?,
            typed(batch, "mrr_delta", "revenue", &DataType::Float64, "a number")?,
            match batch.column_by_name("seats") {
                None => arrow::array::new_null_array(&DataType::Int32, batch.num_rows()),
                Some(_) => typed(batch, "seats", "revenue", &DataType::Int32, "a count")?,
            },
        ])
    };
    for_each_row(table, "revenue", index, unmatched, prepare, |[day, kind, mrr, seats], row, at, a| {
        let d = day_at(day, row, "revenue", "date", at)?;
        let kind = kind.as_string::<i32>();
        let kind = match (!kind.is_null(row)).then(|| kind.value(row)) {
            Some("renewal") => EventKind::Renewal,
            Some("expansion") => EventKind::Expansion,
            Some("contraction") => EventKind::Contraction,
            _ => EventKind::Other,
        };
        let mrr = mrr.as_primitive::<Float64Type>();
        if mrr.is_null(row) {
            return Err(null_error("revenue", "mrr_delta", at));
        }
        let seats = seats.as_primitive::<Int32Type>();
        accounts[a].revenue.push(Revenue {
            day: d,
            kind,
            mrr_delta: mrr.value(row),
            seats: (!seats.is_null(row)).then(|| seats.value(row)),
        });
        Ok(())
    })
}

/// Rows with a date (null dates are skipped: a churn label without a date did not churn) and an optional
/// value.
#[allow(clippy::too_many_arguments)]
fn read_dated(
    table: &Table,
    name: &str,
    date_column: &str,
    value_column: Option<&str>,
    index: &HashMap<String, usize>,
    unmatched: &mut Vec<(String, usize)>,
    mut f: impl FnMut(i32, Option<f64>, &mut History),
    accounts: &mut [History],
) -> Result<()> {
    let prepare = |batch: &RecordBatch| -> Result<(ArrayRef, Option<ArrayRef>)> {
        let value = value_column.map(|c| typed(batch, c, name, &DataType::Float64, "a number")).transpose()?;
        Ok((days(batch, date_column, name)?, value))
    };
    for_each_row(table, name, index, unmatched, prepare, |(day, value), row, _, a| {
        let day = day.as_primitive::<Date32Type>();
        if !day.is_null(row) {
            let value = value.as_ref().map(|v| v.as_primitive::<Float64Type>()).filter(|v| !v.is_null(row));
            f(day.value(row), value.map(|v| v.value(row)), &mut accounts[a]);
        }
        Ok(())
    })
}

fn read_anomalies(
    table: &Table,
    index: &HashMap<String, usize>,
    accounts: &mut [History],
    unmatched: &mut Vec<(String, usize)>,
) -> Result<()> {
    let prepare = |batch: &RecordBatch| -> Result<(ArrayRef, Option<StringArray>)> {
        let direction =
            batch.column_by_name("direction").map(|_| strings(batch, "direction", "anomalies")).transpose()?;
        Ok((days(batch, "start", "anomalies")?, direction))
    };
    for_each_row(table, "anomalies", index, unmatched, prepare, |(day, direction), row, at, a| {
        let d = day_at(day, row, "anomalies", "start", at)?;
        let down = direction.as_ref().is_some_and(|s| !s.is_null(row) && s.value(row) == "down");
        accounts[a].anomalies.push((d, down));
        Ok(())
    })
}
