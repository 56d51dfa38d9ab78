//! One chunk of a table's rows through the row-level rules: evaluate every rule, split the rows into the
//! clean and quarantine outputs (one readable reason per failure) and tally what the report needs.
//!
//! A table is validated as chunks of at most [`CHUNK_ROWS`] rows (the input's own batches, or slices of
//! them): a chunk's columns stay in cache while all its rules run, chunks run in parallel, and no step
//! copies the whole table. Chunks are independent except for `unique` rules, which see every chunk and
//! arrive here already evaluated; tallies are added in chunk order, so a run's results do not depend on
//! the number of threads.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, ListBuilder, RecordBatch, RecordBatchOptions};
use arrow::array::{StringBuilder, UInt32Array};
use arrow::buffer::BooleanBuffer;
use arrow::compute::{FilterBuilder, take};
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use datafusion::common::HashSet as FastSet;

use super::Severity;
use super::compile::{Prepared, TablePlan};
use super::evaluate::{self, EvalContext, RowFailures};
use crate::error::{Error, Result};

/// Rows per chunk: a chunk's columns fit in the second-level cache of one core.
pub(crate) const CHUNK_ROWS: usize = 1 << 16;

/// Raw values that failed their cast: rule index → (row in the chunk, value).
pub(crate) type CastFailures = HashMap<usize, Vec<(usize, String)>>;

/// Where a chunk's rows come from.
#[derive(Debug, Clone)]
pub(crate) enum Origin {
    /// Consecutive input rows: row `i` is input row `first + i` and row `i` of the chunk's raw batch.
    Run { first: u64 },
    /// Survivors of duplicate resolution: each row's input row and its row in the chunk's raw batch.
    Listed { global: Vec<u64>, raw: Vec<u32> },
}

impl Origin {
    /// The input row number of row `i` (counted across a stream).
    pub(crate) fn global(&self, i: usize) -> u64 {
        match self {
            Origin::Run { first } => first + i as u64,
            Origin::Listed { global, .. } => global[i],
        }
    }

    /// Row `i`'s row in the raw batch.
    fn raw(&self, i: usize) -> u32 {
        match self {
            Origin::Run { .. } => i as u32,
            Origin::Listed { raw, .. } => raw[i],
        }
    }
}

/// Typed rows ready for the rules, with the raw rows they were read from.
#[derive(Debug, Clone)]
pub(crate) struct Chunk {
    /// The input rows as given (for the quarantine output); indexed through `origin`.
    pub(crate) raw: RecordBatch,
    /// The rows to check, typed.
    pub(crate) typed: RecordBatch,
    /// Where each row comes from.
    pub(crate) origin: Origin,
    /// Cast failures by rule.
    pub(crate) type_failures: CastFailures,
    /// Rows the `reject_all` duplicate policy quarantines, with the reason.
    pub(crate) rejected: HashMap<usize, String>,
}

impl Chunk {
    /// The chunk cut into chunks of at most [`CHUNK_ROWS`] rows (zero-copy slices of its columns).
    pub(crate) fn split(self) -> Vec<Chunk> {
        let n = self.typed.num_rows();
        if n <= CHUNK_ROWS {
            return vec![self];
        }
        // Cast failures and rejections handed to their chunk in one pass.
        let parts = n.div_ceil(CHUNK_ROWS);
        let mut type_failures: Vec<CastFailures> = vec![CastFailures::new(); parts];
        for (rule, rows) in self.type_failures {
            for (r, v) in rows {
                type_failures[r / CHUNK_ROWS].entry(rule).or_default().push((r % CHUNK_ROWS, v));
            }
        }
        let mut rejected: Vec<HashMap<usize, String>> = vec![HashMap::new(); parts];
        for (r, why) in self.rejected {
            rejected[r / CHUNK_ROWS].insert(r % CHUNK_ROWS, why);
        }
        type_failures
            .into_iter()
            .zip(rejected)
            .enumerate()
            .map(|(part, (type_failures, rejected))| {
                let start = part * CHUNK_ROWS;
                let len = CHUNK_ROWS.min(n - start);
                let range = start..start + len;
                let (raw, origin) = match &self.origin {
                    Origin::Run { first } => (self.raw.slice(start, len), Origin::Run { first: first + start as u64 }),
                    Origin::Listed { global, raw } => (
                        self.raw.clone(),
                        Origin::Listed { global: global[range.clone()].to_vec(), raw: raw[range].to_vec() },
                    ),
                };
                Chunk { raw, typed: self.typed.slice(start, len), origin, type_failures, rejected }
            })
            .collect()
    }
}

/// What one chunk adds to its table's report; [`Tally::add`] sums them in chunk order.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Rows checked by the rules (duplicate survivors).
    pub(crate) rows: u64,
    /// Rows that passed every error rule.
    pub(crate) clean: u64,
    /// Rows that failed an error rule or were rejected as duplicates.
    pub(crate) quarantined: u64,
    /// Rows the `reject_all` policy quarantined.
    pub(crate) rejected: u64,
    /// Clean rows that failed a warning rule.
    pub(crate) warned: u64,
    /// Rows failing a validity rule (anything but not-null, unique and foreign keys).
    pub(crate) invalid: u64,
    /// Rows failing a foreign key.
    pub(crate) inconsistent: u64,
    /// Rows failing a `unique` rule and not rejected as duplicates.
    pub(crate) non_unique: u64,
    /// Failing rows per rule.
    pub(crate) failed: Vec<u64>,
    /// The first failing rows' keys per rule.
    pub(crate) keys: Vec<Vec<String>>,
    /// Present values per completeness column.
    pub(crate) present: HashMap<usize, u64>,
    /// Latest value (epoch ms) per freshness column.
    pub(crate) latest: HashMap<usize, i64>,
}

impl Tally {
    /// An empty tally for `rules` rules.
    pub(crate) fn new(rules: usize) -> Self {
        Self { failed: vec![0; rules], keys: vec![Vec::new(); rules], ..Default::default() }
    }

    /// Adds the next chunk's tally, keeping at most `max_keys` keys per rule.
    pub(crate) fn add(&mut self, other: Tally, max_keys: usize) {
        self.rows += other.rows;
        self.clean += other.clean;
        self.quarantined += other.quarantined;
        self.rejected += other.rejected;
        self.warned += other.warned;
        self.invalid += other.invalid;
        self.inconsistent += other.inconsistent;
        self.non_unique += other.non_unique;
        for (i, (failed, keys)) in other.failed.into_iter().zip(other.keys).enumerate() {
            self.failed[i] += failed;
            let room = max_keys.saturating_sub(self.keys[i].len());
            self.keys[i].extend(keys.into_iter().take(room));
        }
        for (c, p) in other.present {
            *self.present.entry(c).or_default() += p;
        }
        for (c, l) in other.latest {
            let e = self.latest.entry(c).or_insert(i64::MIN);
            *e = (*e).max(l);
        }
    }
}

/// A chunk's outputs.
#[derive(Debug)]
pub(crate) struct Checked {
    /// Rows that passed every error rule, typed.
    pub(crate) clean: RecordBatch,
    /// Rejected rows as input, with `_row`, `_rule_ids` and `_reasons` first.
    pub(crate) quarantine: RecordBatch,
    /// What the chunk adds to the report.
    pub(crate) tally: Tally,
}

/// Cast failures by column: values present but unreadable (not-null passes them).
fn unreadable(plan: &TablePlan, chunk: &Chunk) -> HashMap<usize, HashSet<usize>> {
    let mut out: HashMap<usize, HashSet<usize>> = HashMap::new();
    for (rule, rows) in &chunk.type_failures {
        if let Prepared::Type { col, .. } = plan.rules[*rule].check {
            out.entry(col).or_default().extend(rows.iter().map(|r| r.0));
        }
    }
    out
}

/// Evaluates the plan's row-level rules over `chunk`, all but `unique` rules (`None` in their place: they
/// see every chunk and are evaluated in [`super::unique`]).
pub(crate) fn evaluate_rules(
    plan: &TablePlan,
    chunk: &Chunk,
    references: &HashMap<(String, String), FastSet<String>>,
) -> Result<Vec<Option<RowFailures>>> {
    let unreadable = unreadable(plan, chunk);
    let ctx = EvalContext { type_failures: &chunk.type_failures, unreadable: &unreadable, references };
    plan.rules
        .iter()
        .enumerate()
        .map(|(i, rule)| match rule.check {
            Prepared::Unique { .. } => Ok(None),
            _ => evaluate::evaluate(i, rule, &chunk.typed, &ctx).map(Some),
        })
        .collect()
}

/// Splits `chunk` into its clean and quarantine outputs by every rule's failures (`outcomes`, in plan
/// order) and tallies them, keeping at most `max_keys` failing keys per rule.
pub(crate) fn split(
    plan: &TablePlan,
    chunk: &Chunk,
    outcomes: &[RowFailures],
    max_keys: usize,
    quarantine_schema: &SchemaRef,
) -> Result<Checked> {
    let typed = &chunk.typed;
    let m = typed.num_rows();
    let rejected_mask = if chunk.rejected.is_empty() {
        BooleanBuffer::new_unset(m)
    } else {
        BooleanBuffer::collect_bool(m, |i| chunk.rejected.contains_key(&i))
    };
    let mut quarantine = rejected_mask.clone();
    let mut any_warning = BooleanBuffer::new_unset(m);
    let mut invalid = BooleanBuffer::new_unset(m);
    let mut inconsistent = BooleanBuffer::new_unset(m);
    let mut non_unique = BooleanBuffer::new_unset(m);
    for (rule, out) in plan.rules.iter().zip(outcomes) {
        let Some(mask) = &out.mask else { continue };
        match rule.severity {
            Severity::Error => quarantine = &quarantine | mask,
            Severity::Warning => any_warning = &any_warning | mask,
        }
        match rule.check {
            Prepared::ForeignKey { .. } => inconsistent = &inconsistent | mask,
            Prepared::Unique { .. } => non_unique = &non_unique | mask,
            Prepared::NotNull { .. } => {}
            _ => invalid = &invalid | mask,
        }
    }
    let clean_mask = !&quarantine;
    let clean = keep_rows(typed, &clean_mask)?;
    let quarantine_out = quarantine_batch(plan, chunk, &quarantine, outcomes, quarantine_schema)?;

    let mut tally = Tally::new(plan.rules.len());
    tally.rows = m as u64;
    tally.clean = clean.num_rows() as u64;
    tally.quarantined = quarantine.count_set_bits() as u64;
    tally.rejected = chunk.rejected.len() as u64;
    tally.warned = (&any_warning & &clean_mask).count_set_bits() as u64;
    tally.invalid = invalid.count_set_bits() as u64;
    tally.inconsistent = inconsistent.count_set_bits() as u64;
    tally.non_unique = (&non_unique & &!&rejected_mask).count_set_bits() as u64;
    for (i, out) in outcomes.iter().enumerate() {
        tally.failed[i] = out.count as u64;
        if let Some(mask) = &out.mask {
            tally.keys[i] = mask.set_indices().take(max_keys).map(|row| key_text(plan, chunk, row)).collect();
        }
    }
    let unreadable = unreadable(plan, chunk);
    for &c in &plan.completeness_cols {
        let bad = unreadable.get(&c).map_or(0, HashSet::len);
        tally.present.insert(c, (m - typed.column(c).null_count() + bad) as u64);
    }
    for rule in &plan.rules {
        if let Prepared::Freshness { col, .. } = rule.check
            && let Some(latest) = max_ms(typed.column(col))?
        {
            let e = tally.latest.entry(col).or_insert(i64::MIN);
            *e = (*e).max(latest);
        }
    }
    Ok(Checked { clean, quarantine: quarantine_out, tally })
}

/// A failing row's key for the report: `row 17: account_id="A-3"`.
fn key_text(plan: &TablePlan, chunk: &Chunk, row: usize) -> String {
    let global = chunk.origin.global(row);
    if plan.key.is_empty() {
        return format!("row {global}");
    }
    let schema = chunk.typed.schema();
    let parts: Vec<String> = plan
        .key
        .iter()
        .map(|&c| format!("{}={}", schema.field(c).name(), evaluate::display(chunk.typed.column(c), row)))
        .collect();
    format!("row {global}: {}", parts.join(", "))
}

/// The quarantined rows of a chunk as input, with their row numbers, failed rule ids and reasons.
fn quarantine_batch(
    plan: &TablePlan,
    chunk: &Chunk,
    quarantine: &BooleanBuffer,
    outcomes: &[RowFailures],
    schema: &SchemaRef,
) -> Result<RecordBatch> {
    let rows: Vec<usize> = quarantine.set_indices().collect();
    let dup_id = format!("{}.duplicates", plan.name);
    let values = evaluate::Values::new(&chunk.typed);
    let mut ids = ListBuilder::new(StringBuilder::new());
    let mut reasons = ListBuilder::new(StringBuilder::new());
    for &row in &rows {
        for (rule, out) in plan.rules.iter().zip(outcomes) {
            if out.failed(row) {
                ids.values().append_value(&rule.id);
                evaluate::write_reason(reasons.values(), rule, &values, row, out)
                    .map_err(|_| Error::Internal(format!("rule '{}': the reason could not be written", rule.id)))?;
                reasons.values().append_value("");
            }
        }
        if let Some(why) = chunk.rejected.get(&row) {
            ids.values().append_value(&dup_id);
            reasons.values().append_value(why);
        }
        ids.append(true);
        reasons.append(true);
    }
    let raw_rows = UInt32Array::from(rows.iter().map(|r| chunk.origin.raw(*r)).collect::<Vec<_>>());
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(rows.iter().map(|r| chunk.origin.global(*r) as i64).collect::<Vec<_>>())),
        Arc::new(ids.finish()),
        Arc::new(reasons.finish()),
    ];
    for c in chunk.raw.columns() {
        columns.push(take(c, &raw_rows, None)?);
    }
    let options = RecordBatchOptions::new().with_row_count(Some(rows.len()));
    Ok(RecordBatch::try_new_with_options(schema.clone(), columns, &options)?)
}

/// The rows of `batch` where `mask` is set (no copy when all are set).
fn keep_rows(batch: &RecordBatch, mask: &BooleanBuffer) -> Result<RecordBatch> {
    if mask.count_set_bits() == batch.num_rows() {
        return Ok(batch.clone());
    }
    let predicate = FilterBuilder::new(&arrow::array::BooleanArray::new(mask.clone(), None)).optimize().build();
    let columns = batch.columns().iter().map(|c| predicate.filter(c)).collect::<std::result::Result<Vec<_>, _>>()?;
    let options = RecordBatchOptions::new().with_row_count(Some(predicate.count()));
    Ok(RecordBatch::try_new_with_options(batch.schema(), columns, &options)?)
}

/// The latest value of a date or timestamp column in epoch milliseconds.
fn max_ms(a: &ArrayRef) -> Result<Option<i64>> {
    Ok(match a.data_type() {
        DataType::Date32 => {
            arrow::compute::max(a.as_primitive::<arrow::datatypes::Date32Type>()).map(|d| i64::from(d) * 86_400_000)
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            arrow::compute::max(a.as_primitive::<arrow::datatypes::TimestampMillisecondType>())
        }
        other => {
            let ms = arrow::compute::cast(a, &DataType::Timestamp(TimeUnit::Millisecond, None))
                .map_err(|_| Error::Internal(format!("freshness on a {other} column")))?;
            arrow::compute::max(ms.as_primitive::<arrow::datatypes::TimestampMillisecondType>())
        }
    })
}

#[cfg(test)]
mod tests {
    use arrow::array::Int64Array;
    use arrow::datatypes::{Field, Schema};

    use super::*;

    #[test]
    fn split_hands_each_failure_to_its_chunk() {
        let n = 2 * CHUNK_ROWS + 10;
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from_iter_values(0..n as i64))]).unwrap();
        let rows = [0, 5, CHUNK_ROWS - 1, CHUNK_ROWS, 2 * CHUNK_ROWS + 9];
        let chunk = Chunk {
            raw: batch.clone(),
            typed: batch,
            origin: Origin::Run { first: 100 },
            type_failures: HashMap::from([(3, rows.iter().map(|r| (*r, format!("v{r}"))).collect())]),
            rejected: rows.iter().map(|r| (*r, format!("why {r}"))).collect(),
        };
        let parts = chunk.split();
        assert_eq!(parts.len(), 3);
        for (p, part) in parts.iter().enumerate() {
            let start = p * CHUNK_ROWS;
            let inside: Vec<usize> = rows.iter().copied().filter(|r| r / CHUNK_ROWS == p).collect();
            let want: Vec<(usize, String)> = inside.iter().map(|r| (r - start, format!("v{r}"))).collect();
            assert_eq!(part.type_failures.get(&3).cloned().unwrap_or_default(), want);
            let mut got: Vec<(usize, String)> = part.rejected.iter().map(|(r, w)| (*r, w.clone())).collect();
            got.sort();
            let want: Vec<(usize, String)> = inside.iter().map(|r| (r - start, format!("why {r}"))).collect();
            assert_eq!(got, want);
            assert_eq!(part.origin.global(0), 100 + start as u64);
            assert_eq!(part.typed.column(0).as_primitive::<arrow::datatypes::Int64Type>().value(0), start as i64);
        }
    }
}
