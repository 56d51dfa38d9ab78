//! Scoring: source queries, trailing windows per account, the health history, band changes, explanations.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Date32Array, Float64Array, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type, Field, Float64Type, Schema};
use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;
use datafusion::common::HashMap;
use rayon::prelude::*;

use super::config::{HealthConfig, Measure, NullPolicy, WindowAggregate};
use crate::contracts::days_since_epoch;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::progress::{Counter, Observer, Silent};
use crate::table::Table;

/// The days to score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthOptions {
    /// First day scored.
    pub from: NaiveDate,
    /// Last day scored (inclusive).
    pub to: NaiveDate,
    /// Days between scores: 1 for daily, 7 for weekly.
    pub step_days: u32,
}

/// The outcome of [`score_history`].
#[derive(Debug, Clone)]
pub struct HealthHistory {
    /// One row per account and scored day: `account_id`, `date`, `scorecard`, `score`, `band`,
    /// `group_<name>` per group, and per measure its value (`<measure>`) and score (`<measure>_score`).
    pub history: Table,
    /// One row per band change: `account_id`, `date` (first day in the new band), `from_band`, `to_band`,
    /// `score_before`, `score_after`, `drivers` (the three measures whose contributions moved most).
    pub band_changes: Table,
}

/// One source query's rows per account, sorted by day, with prefix sums.
#[derive(Debug, Default)]
struct Events {
    t: Vec<i32>,
    v: Vec<f64>,
    prefix: Vec<f64>,
}

impl Events {
    /// The measure's value on `day` (data up to and including `day`).
    fn value(&self, m: &Measure, static_source: bool, day: i32) -> Option<f64> {
        if static_source {
            return self.v.last().copied();
        }
        let hi = self.t.partition_point(|t| *t <= day);
        if m.aggregate == WindowAggregate::Last {
            return hi.checked_sub(1).map(|i| self.v[i]);
        }
        let lo = self.t.partition_point(|t| *t <= day - m.window_days as i32);
        let (n, sum) = (hi - lo, self.prefix[hi] - self.prefix[lo]);
        let window = &self.v[lo..hi];
        match m.aggregate {
            WindowAggregate::Mean => (n > 0).then(|| sum / n as f64),
            WindowAggregate::Sum => Some(sum),
            WindowAggregate::Count => Some(n as f64),
            WindowAggregate::Min => window.iter().copied().reduce(f64::min),
            WindowAggregate::Max => window.iter().copied().reduce(f64::max),
            WindowAggregate::Last => None,
        }
    }
}

/// Everything read from the engine, ready to score any account on any day: build it once with
/// [`HealthScorer::new`], then score the portfolio, one account's trend or an explanation without
/// reading the tables again (one account's year of weekly scores takes well under a millisecond).
pub struct HealthScorer {
    config: HealthConfig,
    /// Per source query: events per account, and whether it has no time.
    sources: Vec<(HashMap<String, Events>, bool)>,
    /// Per scorecard, per group, per measure: the source query index.
    measure_source: Vec<Vec<Vec<usize>>>,
    /// Every account, sorted by id.
    accounts: Vec<Account>,
    /// Position of each account in `accounts`.
    index: HashMap<String, usize>,
    /// Group and measure names over all scorecards, in order of first appearance.
    groups: Vec<String>,
    measures: Vec<String>,
}

fn text(array: &ArrayRef) -> Result<StringArray> {
    Ok(cast(array, &DataType::Utf8)?.as_string::<i32>().clone())
}

impl std::fmt::Debug for HealthScorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthScorer")
            .field("accounts", &self.accounts.len())
            .field("sources", &self.sources.len())
            .finish()
    }
}

impl HealthScorer {
    /// Checks `config`, runs one query per distinct measure source and reads the accounts (their
    /// scorecard, start date and, when `churn_labels` is registered, churn date).
    pub fn new(engine: &Engine, config: HealthConfig) -> Result<Self> {
        config.validate()?;
        let id = &config.id_column;
        // Distinct (source, expression, time column), with the first measure that uses it (for errors).
        let mut queries: Vec<(String, String, Option<String>)> = Vec::new();
        let mut first_user: Vec<&str> = Vec::new();
        let mut measure_source = Vec::new();
        for card in &config.scorecards {
            let mut per_group = Vec::new();
            for group in &card.groups {
                let mut per_measure = Vec::new();
                for m in &group.measures {
                    let key = (m.source.clone(), m.expression.clone(), m.time_column.clone());
                    let i = queries.iter().position(|q| *q == key).unwrap_or_else(|| {
                        queries.push(key);
                        first_user.push(&m.name);
                        queries.len() - 1
                    });
                    per_measure.push(i);
                }
                per_group.push(per_measure);
            }
            measure_source.push(per_group);
        }
        let mut sources = Vec::new();
        for (i, (source, expression, time)) in queries.iter().enumerate() {
            let time_sql = time.as_ref().map_or(String::new(), |t| format!(", CAST(\"{t}\" AS DATE) AS t"));
            let sql = format!(
                "SELECT CAST(\"{id}\" AS VARCHAR) AS id{time_sql}, CAST(({expression}) AS DOUBLE) AS v FROM \"{source}\""
            );
            let field = format!("health measure '{}'", first_user[i]);
            let table = engine.sql(&sql).map_err(|e| Error::config(field.clone(), format!("{sql}: {e}")))?;
            let batch = table.concat()?;
            let ids = text(batch.column(0))?;
            let values = batch.column(batch.num_columns() - 1).as_primitive::<Float64Type>().clone();
            let times = time.as_ref().map(|_| batch.column(1).as_primitive::<Date32Type>().clone());
            let mut events: HashMap<String, Events> = HashMap::default();
            for r in 0..batch.num_rows() {
                let t = match &times {
                    Some(t) if t.is_valid(r) => t.value(r),
                    Some(_) => continue,
                    None => 0,
                };
                if ids.is_valid(r) && values.is_valid(r) && values.value(r).is_finite() {
                    let e = events.entry(ids.value(r).to_string()).or_default();
                    e.t.push(t);
                    e.v.push(values.value(r));
                }
            }
            for e in events.values_mut() {
                let mut order: Vec<usize> = (0..e.t.len()).collect();
                order.sort_by_key(|&k| e.t[k]);
                e.t = order.iter().map(|&k| e.t[k]).collect();
                e.v = order.iter().map(|&k| e.v[k]).collect();
                e.prefix = std::iter::once(0.0)
                    .chain(e.v.iter().scan(0.0, |s, v| {
                        *s += v;
                        Some(*s)
                    }))
                    .collect();
            }
            sources.push((events, time.is_none()));
        }
        let accounts = read_accounts(engine, &config)?;
        let index = accounts.iter().enumerate().map(|(i, a)| (a.0.clone(), i)).collect();
        let mut groups = Vec::new();
        let mut measures = Vec::new();
        for card in &config.scorecards {
            for g in &card.groups {
                if !groups.contains(&g.name) {
                    groups.push(g.name.clone());
                }
                for m in &g.measures {
                    if !measures.contains(&m.name) {
                        measures.push(m.name.clone());
                    }
                }
            }
        }
        Ok(Self { config, sources, measure_source, accounts, groups, measures, index })
    }

    /// The scorecard configuration.
    pub fn config(&self) -> &HealthConfig {
        &self.config
    }

    /// The scored days of account `a`: every `step_days`-th day from `from`, within the account's life.
    fn schedule(&self, a: usize, from: i32, to: i32, step: usize) -> Vec<i32> {
        let (_, _, start, churn) = &self.accounts[a];
        let first = start.map_or(from, |s| s.max(from));
        let last = churn.map_or(to, |c| c.min(to));
        let offset = (first - from).max(0) as usize;
        let begin = from + (offset.div_ceil(step) * step) as i32;
        (begin..=last).step_by(step).collect()
    }

    /// Scores every account; see [`score_history`].
    pub fn history(&self, options: &HealthOptions) -> Result<HealthHistory> {
        self.history_observed(options, &Silent)
    }

    /// [`HealthScorer::history`] reporting each account scored (task `"health"`) to `observer`, which may
    /// cancel it.
    pub fn history_observed(&self, options: &HealthOptions, observer: &dyn Observer) -> Result<HealthHistory> {
        let (from, to, step) = check(options)?;
        let counter = Counter::new(observer, "health", self.accounts.len());
        let scored: Vec<Vec<DayScore>> = (0..self.accounts.len())
            .into_par_iter()
            .map(|a| {
                let days = self
                    .schedule(a, from, to, step)
                    .into_iter()
                    .map(|d| self.score(&self.accounts[a].0, self.accounts[a].1, d))
                    .collect();
                counter.tick()?;
                Ok(days)
            })
            .collect::<Result<_>>()?;
        let all: Vec<usize> = (0..self.accounts.len()).collect();
        Ok(HealthHistory { history: history_table(self, &all, &scored)?, band_changes: band_changes(self, &scored)? })
    }

    /// One account's scores over the range (the history table's rows for that account): the health-trend
    /// query of a customer-success manager looking at one account.
    pub fn account_trend(&self, account_id: &str, options: &HealthOptions) -> Result<Table> {
        let (from, to, step) = check(options)?;
        let a = self.account(account_id)?;
        let days: Vec<DayScore> = self
            .schedule(a, from, to, step)
            .into_iter()
            .map(|d| self.score(account_id, self.accounts[a].1, d))
            .collect();
        history_table(self, &[a], &[days])
    }

    fn account(&self, account_id: &str) -> Result<usize> {
        self.index
            .get(account_id)
            .copied()
            .ok_or_else(|| Error::invalid(format!("health, account '{account_id}'"), "not in the accounts table"))
    }

    /// The score of one account on one day.
    fn score(&self, account: &str, card: usize, day: i32) -> DayScore {
        let sc = &self.config.scorecards[card];
        let mut measures = Vec::new();
        let mut group_scores = Vec::new();
        for (gi, group) in sc.groups.iter().enumerate() {
            let mut parts = Vec::new();
            for (mi, m) in group.measures.iter().enumerate() {
                let (events, is_static) = &self.sources[self.measure_source[card][gi][mi]];
                let value = match events.get(account) {
                    Some(e) => e.value(m, *is_static, day),
                    // No rows at all: nothing to count, sum or average.
                    None => matches!(m.aggregate, WindowAggregate::Sum | WindowAggregate::Count).then_some(0.0),
                };
                let score = value.map(|v| m.score(v)).or(match m.null_policy {
                    NullPolicy::Worst => Some(0.0),
                    NullPolicy::Ignore => None,
                });
                parts.push((m.weight, score));
                measures.push(MeasureScore { group: gi, name: m.name.clone(), value, score, share: 0.0 });
            }
            let total: f64 = parts.iter().filter(|p| p.1.is_some()).map(|p| p.0).sum();
            let score = (total > 0.0).then(|| parts.iter().filter_map(|p| p.1.map(|s| p.0 * s)).sum::<f64>() / total);
            group_scores.push((group.weight, score, total));
        }
        let total: f64 = group_scores.iter().filter(|g| g.1.is_some()).map(|g| g.0).sum();
        let score =
            (total > 0.0).then(|| group_scores.iter().filter_map(|g| g.1.map(|s| g.0 * s)).sum::<f64>() / total);
        // Each measure's share of the account score: its weight within the group times the group's share.
        for m in &mut measures {
            let (gw, gs, gtotal) = group_scores[m.group];
            if let (Some(_), Some(_)) = (m.score, gs) {
                let w = sc.groups[m.group].measures.iter().find(|x| x.name == m.name).map_or(0.0, |x| x.weight);
                m.share = (gw / total) * (w / gtotal);
            }
        }
        DayScore { day, score, groups: group_scores.iter().map(|g| g.1).collect(), measures }
    }
}

/// (account id, scorecard index, start day, churn day).
type Account = (String, usize, Option<i32>, Option<i32>);

/// One measure on one day.
#[derive(Debug, Clone)]
struct MeasureScore {
    group: usize,
    name: String,
    value: Option<f64>,
    score: Option<f64>,
    /// Share of the account score's weight (0 when left out); share × score summed is the score.
    share: f64,
}

impl MeasureScore {
    fn contribution(&self) -> f64 {
        self.score.map_or(0.0, |s| s * self.share)
    }
}

/// One account on one day.
#[derive(Debug, Clone)]
struct DayScore {
    day: i32,
    score: Option<f64>,
    groups: Vec<Option<f64>>,
    measures: Vec<MeasureScore>,
}

/// Accounts with their scorecard, start date and churn date (when a `churn_labels` table is registered).
fn read_accounts(engine: &Engine, config: &HealthConfig) -> Result<Vec<Account>> {
    let (id, seg) = (&config.id_column, &config.segment_column);
    let accounts = engine.table("accounts")?;
    let has = |name: &str| accounts.schema().column_with_name(name).is_some();
    let start = if has("start_date") { "CAST(start_date AS DATE)" } else { "CAST(NULL AS DATE)" };
    let batch = engine
        .sql(&format!("SELECT CAST(\"{id}\" AS VARCHAR), CAST(\"{seg}\" AS VARCHAR), {start} FROM accounts"))?
        .concat()?;
    let (ids, segments) = (text(batch.column(0))?, text(batch.column(1))?);
    let starts = batch.column(2).as_primitive::<Date32Type>().clone();
    let mut churn: HashMap<String, i32> = HashMap::default();
    if engine.tables().iter().any(|t| t == "churn_labels") {
        let c = engine
            .sql(&format!("SELECT CAST(\"{id}\" AS VARCHAR), CAST(churn_date AS DATE) FROM churn_labels WHERE churned AND churn_date IS NOT NULL"))?
            .concat()?;
        let (cid, cday) = (text(c.column(0))?, c.column(1).as_primitive::<Date32Type>().clone());
        for r in 0..c.num_rows() {
            if cid.is_valid(r) && cday.is_valid(r) {
                churn.insert(cid.value(r).to_string(), cday.value(r));
            }
        }
    }
    let default = config.scorecards.iter().position(|c| c.segments.is_empty()).unwrap_or(0);
    let mut out = Vec::new();
    for r in 0..batch.num_rows() {
        if !ids.is_valid(r) {
            continue;
        }
        let account = ids.value(r).to_string();
        let card = segments
            .is_valid(r)
            .then(|| config.scorecards.iter().position(|c| c.segments.iter().any(|s| s == segments.value(r))))
            .flatten()
            .unwrap_or(default);
        let start = starts.is_valid(r).then(|| starts.value(r));
        let churned = churn.get(&account).copied();
        out.push((account, card, start, churned));
    }
    out.sort();
    if let Some(w) = out.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(Error::invalid(
            format!("table 'accounts', column '{id}'"),
            format!("account '{}' appears more than once: validate the accounts table first", w[0].0),
        ));
    }
    Ok(out)
}

fn check(options: &HealthOptions) -> Result<(i32, i32, usize)> {
    if options.step_days == 0 || options.to < options.from {
        return Err(Error::config("health.options", "need from <= to and step_days >= 1"));
    }
    Ok((days_since_epoch(options.from), days_since_epoch(options.to), options.step_days as usize))
}

/// Scores every account of the engine's `accounts` table on every `step_days`-th day from `from` to `to`
/// (within each account's life: from its start date, up to its churn date).
pub fn score_history(engine: &Engine, config: &HealthConfig, options: &HealthOptions) -> Result<HealthHistory> {
    check(options)?;
    HealthScorer::new(engine, config.clone())?.history(options)
}

/// The history rows of the accounts `which` (indices into `p.accounts`), `scored[i]` being `which[i]`'s days.
fn history_table(p: &HealthScorer, which: &[usize], scored: &[Vec<DayScore>]) -> Result<Table> {
    let rows: Vec<(usize, &DayScore)> =
        which.iter().zip(scored).flat_map(|(&a, days)| days.iter().map(move |d| (a, d))).collect();
    let mut fields = vec![
        Field::new(&p.config.id_column, DataType::Utf8, false),
        Field::new("date", DataType::Date32, false),
        Field::new("scorecard", DataType::Utf8, false),
        Field::new("score", DataType::Float64, true),
        Field::new("band", DataType::Utf8, true),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(rows.iter().map(|(a, _)| p.accounts[*a].0.as_str()))),
        Arc::new(Date32Array::from_iter_values(rows.iter().map(|(_, d)| d.day))),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|(a, _)| p.config.scorecards[p.accounts[*a].1].name.as_str()),
        )),
        Arc::new(rows.iter().map(|(_, d)| d.score).collect::<Float64Array>()),
        Arc::new(rows.iter().map(|(_, d)| d.score.map(|s| p.config.band(s))).collect::<StringArray>()),
    ];
    for g in &p.groups {
        fields.push(Field::new(format!("group_{g}"), DataType::Float64, true));
        columns.push(Arc::new(
            rows.iter()
                .map(|(a, d)| {
                    let card = &p.config.scorecards[p.accounts[*a].1];
                    card.groups.iter().position(|x| &x.name == g).and_then(|i| d.groups[i])
                })
                .collect::<Float64Array>(),
        ));
    }
    for m in &p.measures {
        let find = |d: &DayScore| d.measures.iter().find(|x| &x.name == m).cloned();
        fields.push(Field::new(m, DataType::Float64, true));
        columns.push(Arc::new(rows.iter().map(|(_, d)| find(d).and_then(|x| x.value)).collect::<Float64Array>()));
        fields.push(Field::new(format!("{m}_score"), DataType::Float64, true));
        columns.push(Arc::new(rows.iter().map(|(_, d)| find(d).and_then(|x| x.score)).collect::<Float64Array>()));
    }
    Ok(Table::from_batch(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?))
}

/// The measures whose contributions moved most between two days, as text.
fn drivers(before: &DayScore, after: &DayScore) -> String {
    let mut moves: Vec<(f64, &str)> = after
        .measures
        .iter()
        .map(|m| {
            let b = before.measures.iter().find(|x| x.name == m.name).map_or(0.0, MeasureScore::contribution);
            (m.contribution() - b, m.name.as_str())
        })
        .collect();
    moves.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()).then(a.1.cmp(b.1)));
    moves.iter().take(3).map(|(d, n)| format!("{n} {d:+.1}")).collect::<Vec<_>>().join(", ")
}

fn band_changes(p: &HealthScorer, scored: &[Vec<DayScore>]) -> Result<Table> {
    let mut rows: Vec<(usize, &DayScore, &DayScore)> = Vec::new();
    for (a, days) in scored.iter().enumerate() {
        for w in days.windows(2) {
            let band = |d: &DayScore| d.score.map(|s| p.config.band(s));
            if let (Some(x), Some(y)) = (band(&w[0]), band(&w[1]))
                && x != y
            {
                rows.push((a, &w[0], &w[1]));
            }
        }
    }
    let band = |d: &DayScore| d.score.map(|s| p.config.band(s));
    let schema = Schema::new(vec![
        Field::new(&p.config.id_column, DataType::Utf8, false),
        Field::new("date", DataType::Date32, false),
        Field::new("from_band", DataType::Utf8, true),
        Field::new("to_band", DataType::Utf8, true),
        Field::new("score_before", DataType::Float64, true),
        Field::new("score_after", DataType::Float64, true),
        Field::new("drivers", DataType::Utf8, false),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| p.accounts[r.0].0.as_str()))),
        Arc::new(Date32Array::from_iter_values(rows.iter().map(|r| r.2.day))),
        Arc::new(rows.iter().map(|r| band(r.1)).collect::<StringArray>()),
        Arc::new(rows.iter().map(|r| band(r.2)).collect::<StringArray>()),
        Arc::new(rows.iter().map(|r| r.1.score).collect::<Float64Array>()),
        Arc::new(rows.iter().map(|r| r.2.score).collect::<Float64Array>()),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| drivers(r.1, r.2)))),
    ];
    Ok(Table::from_batch(RecordBatch::try_new(Arc::new(schema), columns)?))
}

/// Explains one account's score on `date`: one row per measure with `group`, `measure`, `value`, `score`,
/// `share` (its part of the account score's weight) and `contribution` (share × score; the contributions
/// add up to the score). With `compare_to`, also the same on that day and the `change` in contribution.
pub fn explain(
    engine: &Engine,
    config: &HealthConfig,
    account_id: &str,
    date: NaiveDate,
    compare_to: Option<NaiveDate>,
) -> Result<Table> {
    HealthScorer::new(engine, config.clone())?.explain(account_id, date, compare_to)
}

impl HealthScorer {
    /// See [`explain`].
    pub fn explain(&self, account_id: &str, date: NaiveDate, compare_to: Option<NaiveDate>) -> Result<Table> {
        let a = self.account(account_id)?;
        let card = self.accounts[a].1;
        let now = self.score(account_id, card, days_since_epoch(date));
        let before = compare_to.map(|c| self.score(account_id, card, days_since_epoch(c)));
        let sc = &self.config.scorecards[card];
        let find = |d: &DayScore, name: &str| d.measures.iter().find(|m| m.name == name).cloned();
        let mut fields = vec![
            Field::new("group", DataType::Utf8, false),
            Field::new("measure", DataType::Utf8, false),
            Field::new("value", DataType::Float64, true),
            Field::new("score", DataType::Float64, true),
            Field::new("share", DataType::Float64, false),
            Field::new("contribution", DataType::Float64, false),
        ];
        let ms = &now.measures;
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(ms.iter().map(|m| sc.groups[m.group].name.as_str()))),
            Arc::new(StringArray::from_iter_values(ms.iter().map(|m| m.name.as_str()))),
            Arc::new(ms.iter().map(|m| m.value).collect::<Float64Array>()),
            Arc::new(ms.iter().map(|m| m.score).collect::<Float64Array>()),
            Arc::new(Float64Array::from_iter_values(ms.iter().map(|m| m.share))),
            Arc::new(Float64Array::from_iter_values(ms.iter().map(MeasureScore::contribution))),
        ];
        if let Some(b) = &before {
            let prior: Vec<Option<MeasureScore>> = ms.iter().map(|m| find(b, &m.name)).collect();
            for (name, values) in [
                ("value_before", prior.iter().map(|m| m.as_ref().and_then(|m| m.value)).collect::<Float64Array>()),
                ("score_before", prior.iter().map(|m| m.as_ref().and_then(|m| m.score)).collect()),
                ("contribution_before", prior.iter().map(|m| m.as_ref().map(MeasureScore::contribution)).collect()),
                (
                    "change",
                    ms.iter()
                        .zip(&prior)
                        .map(|(m, b)| Some(m.contribution() - b.as_ref().map_or(0.0, MeasureScore::contribution)))
                        .collect(),
                ),
            ] {
                fields.push(Field::new(name, DataType::Float64, true));
                columns.push(Arc::new(values));
            }
        }
        Ok(Table::from_batch(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?))
    }
}
