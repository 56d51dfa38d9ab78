//! One table's validation: cast, resolve duplicates, then check the rows in chunks (see [`super::chunk`])
//! and accumulate the report. The in-memory validator runs it once over the whole table's batches; the
//! streaming validator once per batch, keeping key state between batches.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, UInt32Array};
use arrow::compute::{concat_batches, take};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::HashSet as FastSet;
use rayon::prelude::*;

use super::DuplicatePolicy;
use super::chunk::{self, CastFailures, Checked, Chunk, Origin, Tally};
use super::compile::{Prepared, TablePlan};
use super::dedup::{self, DedupState};
use super::evaluate::RowFailures;
use super::report::{QualityScores, RuleResult, ScoreWeights, TableReport};
use super::unique::{self, UniqueState};
use crate::contracts::cast_array;
use crate::error::{Error, Result};
use crate::timing::Timing;

/// Column names the library adds to the quarantine and duplicates outputs.
pub const ROW_COLUMN: &str = "_row";
/// Quarantine: ids of every rule the row failed.
pub const RULES_COLUMN: &str = "_rule_ids";
/// Quarantine: one readable reason per failed rule.
pub const REASONS_COLUMN: &str = "_reasons";
/// Duplicates: the row kept in its place.
pub const KEPT_COLUMN: &str = "_kept_row";
/// Duplicates: `exact`, `key` or `merged`.
pub const DUPLICATE_KIND_COLUMN: &str = "_duplicate";

/// The three outputs of one batch.
#[derive(Debug, Clone)]
pub struct BatchOutput {
    /// Rows that passed every error rule, typed.
    pub clean: RecordBatch,
    /// Rejected rows as they were input, with `_row`, `_rule_ids` and `_reasons` first.
    pub quarantine: RecordBatch,
    /// Dropped copies as they were input, with `_row`, `_kept_row` and `_duplicate` first.
    pub duplicates: RecordBatch,
}

/// The outputs of a whole table: clean and quarantine rows as batches (one per chunk that has any), dropped
/// copies as one batch.
#[derive(Debug)]
pub(crate) struct TableBatches {
    pub(crate) clean: Vec<RecordBatch>,
    pub(crate) quarantine: Vec<RecordBatch>,
    pub(crate) duplicates: RecordBatch,
}

/// Validation state of one table across batches.
#[derive(Debug)]
pub(crate) struct TableRun {
    pub(crate) plan: Arc<TablePlan>,
    dedup: DedupState,
    /// State of each rule that is `unique` (streams only).
    unique: Vec<UniqueState>,
    max_keys: usize,
    as_of_ms: i64,
    /// Whether more batches may follow (streams keep key state between batches).
    persist: bool,
    rows_in: u64,
    dropped: u64,
    tally: Tally,
}

impl TableRun {
    pub(crate) fn new(plan: Arc<TablePlan>, max_keys: usize, as_of_ms: i64, persist: bool) -> Self {
        let n = plan.rules.len();
        Self {
            dedup: DedupState::default(),
            unique: (0..n).map(|_| UniqueState::default()).collect(),
            max_keys,
            as_of_ms,
            persist,
            rows_in: 0,
            dropped: 0,
            tally: Tally::new(n),
            plan,
        }
    }

    /// Output schemas: clean, quarantine, duplicates.
    pub(crate) fn schemas(&self) -> (SchemaRef, SchemaRef, SchemaRef) {
        let raw = self.plan.input_schema.fields().iter().map(|f| f.as_ref().clone().with_nullable(true));
        let list = DataType::new_list(DataType::Utf8, true);
        let mut q = vec![
            Field::new(ROW_COLUMN, DataType::Int64, false),
            Field::new(RULES_COLUMN, list.clone(), false),
            Field::new(REASONS_COLUMN, list, false),
        ];
        q.extend(raw.clone());
        let mut d = vec![
            Field::new(ROW_COLUMN, DataType::Int64, false),
            Field::new(KEPT_COLUMN, DataType::Int64, false),
            Field::new(DUPLICATE_KIND_COLUMN, DataType::Utf8, false),
        ];
        d.extend(raw);
        (self.plan.schema.clone(), Arc::new(Schema::new(q)), Arc::new(Schema::new(d)))
    }

    /// Validates a whole table held in memory. Under `keep_all` its batches are cast and checked as they
    /// are, in parallel, without copying the table; the other duplicate policies see every copy of a key
    /// first, so the table is resolved as one batch and then checked in chunks.
    pub(crate) fn process_table(
        &mut self,
        batches: &[RecordBatch],
        references: &HashMap<(String, String), FastSet<String>>,
    ) -> Result<TableBatches> {
        let timing = Timing::from_env("ACCOUNTSCOPE_VALIDATE_TIMING", "validate");
        for b in batches {
            self.check_schema(b)?;
        }
        let (chunks, duplicates) = if matches!(self.plan.duplicates, DuplicatePolicy::KeepAll) {
            let mut first = Vec::with_capacity(batches.len());
            let mut rows = self.rows_in;
            for b in batches {
                first.push(rows);
                rows += b.num_rows() as u64;
            }
            let plan = &self.plan;
            let chunks: Vec<Vec<Chunk>> = batches
                .par_iter()
                .zip(first)
                .map(|(b, first)| Ok(cast(plan, b, first)?.split()))
                .collect::<Result<_>>()?;
            self.rows_in = rows;
            (chunks.into_iter().flatten().collect(), self.no_duplicates())
        } else {
            let raw = concat_batches(&self.plan.input_schema, batches)?;
            self.prepare(&raw)?
        };
        timing.mark("cast + duplicates");
        let (clean, quarantine) = self.check_chunks(chunks, references, &timing)?;
        Ok(TableBatches { clean, quarantine, duplicates })
    }

    /// Validates the next batch of a stream (or a whole table given as one batch).
    pub(crate) fn process(
        &mut self,
        raw: &RecordBatch,
        references: &HashMap<(String, String), FastSet<String>>,
    ) -> Result<BatchOutput> {
        let timing = Timing::from_env("ACCOUNTSCOPE_VALIDATE_TIMING", "validate");
        self.check_schema(raw)?;
        let (chunks, duplicates) = self.prepare(raw)?;
        timing.mark("cast + duplicates");
        let (clean, quarantine) = self.check_chunks(chunks, references, &timing)?;
        let (cs, qs, _) = self.schemas();
        Ok(BatchOutput {
            clean: concat_batches(&cs, &clean)?,
            quarantine: concat_batches(&qs, &quarantine)?,
            duplicates,
        })
    }

    fn check_schema(&self, raw: &RecordBatch) -> Result<()> {
        let plan = &self.plan;
        if raw.schema().fields() == plan.input_schema.fields() {
            return Ok(());
        }
        let names =
            |s: &Schema| s.fields().iter().map(|f| format!("{}: {}", f.name(), f.data_type())).collect::<Vec<_>>();
        Err(Error::Schema {
            context: format!("table '{}'", plan.name),
            message: format!(
                "a batch's schema differs from the first batch's: {:?} vs {:?}",
                names(&raw.schema()),
                names(&plan.input_schema)
            ),
        })
    }

    /// Casts one batch and resolves its duplicates; returns its chunks and the dropped copies.
    fn prepare(&mut self, raw: &RecordBatch) -> Result<(Vec<Chunk>, RecordBatch)> {
        let plan = self.plan.clone();
        let offset = self.rows_in;
        let n = raw.num_rows();
        self.rows_in += n as u64;
        let chunk = cast(&plan, raw, offset)?;
        if matches!(plan.duplicates, DuplicatePolicy::KeepAll) {
            return Ok((chunk.split(), self.no_duplicates()));
        }
        let res = dedup::resolve(raw, &chunk.typed, &plan, offset, &mut self.dedup, self.persist)?;
        self.dropped += res.dropped.len() as u64;
        let duplicates = self.duplicates_batch(raw, &res.dropped, offset)?;
        if res.keep.len() == n && res.merged_sources.is_none() && res.rejected.is_empty() {
            return Ok((chunk.split(), duplicates));
        }
        let typed = &chunk.typed;
        let indices = UInt32Array::from(res.keep.clone());
        let columns = (0..typed.num_columns())
            .into_par_iter()
            .map(|c| match &res.merged_sources {
                Some(src) => take(typed.column(c), &UInt32Array::from(src[c].clone()), None),
                None => take(typed.column(c), &indices, None),
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let survivors = RecordBatch::try_new(typed.schema(), columns)?;
        // Cast failures and rejections re-indexed to survivor positions.
        let mut position = vec![u32::MAX; n];
        for (p, r) in res.keep.iter().enumerate() {
            position[*r as usize] = p as u32;
        }
        let type_failures = chunk
            .type_failures
            .into_iter()
            .map(|(rule, rows)| {
                let kept = rows.into_iter().filter(|(r, _)| position[*r] != u32::MAX);
                (rule, kept.map(|(r, v)| (position[r] as usize, v)).collect())
            })
            .collect();
        let rejected = res.rejected.into_iter().map(|(r, why)| (position[r] as usize, why)).collect();
        let global = res.keep.iter().map(|r| offset + u64::from(*r)).collect();
        let chunk = Chunk {
            raw: raw.clone(),
            typed: survivors,
            origin: Origin::Listed { global, raw: res.keep },
            type_failures,
            rejected,
        };
        Ok((chunk.split(), duplicates))
    }

    /// Evaluates the rules over the chunks in parallel (`unique` rules across all chunks at the same time),
    /// splits each chunk into its outputs and adds the tallies in chunk order; returns the non-empty clean
    /// and quarantine batches.
    fn check_chunks(
        &mut self,
        chunks: Vec<Chunk>,
        references: &HashMap<(String, String), FastSet<String>>,
        timing: &Timing,
    ) -> Result<(Vec<RecordBatch>, Vec<RecordBatch>)> {
        let plan = self.plan.clone();
        let (persist, states) = (self.persist, &mut self.unique);
        let (unique, evaluated) = rayon::join(
            || -> Result<Vec<(usize, Vec<RowFailures>)>> {
                let mut out = Vec::new();
                for (i, (rule, state)) in plan.rules.iter().zip(states.iter_mut()).enumerate() {
                    let Prepared::Unique { cols, report } = &rule.check else { continue };
                    out.push((
                        i,
                        if persist {
                            unique::in_stream(&chunks, cols, state)?
                        } else {
                            unique::in_table(&chunks, cols, *report)?
                        },
                    ));
                }
                Ok(out)
            },
            || chunks.par_iter().map(|c| chunk::evaluate_rules(&plan, c, references)).collect::<Result<Vec<_>>>(),
        );
        let mut evaluated = evaluated?;
        for (i, per_chunk) in unique? {
            for (e, f) in evaluated.iter_mut().zip(per_chunk) {
                e[i] = Some(f);
            }
        }
        timing.mark("rules");
        let quarantine_schema = self.schemas().1;
        let checked: Vec<Checked> = chunks
            .par_iter()
            .zip(evaluated)
            .map(|(chunk, outcomes)| {
                let outcomes = outcomes
                    .into_iter()
                    .map(|o| o.ok_or_else(|| Error::Internal("validation: a rule was not evaluated".into())))
                    .collect::<Result<Vec<_>>>()?;
                chunk::split(&plan, chunk, &outcomes, self.max_keys, &quarantine_schema)
            })
            .collect::<Result<_>>()?;
        timing.mark("outputs");
        let mut clean = Vec::new();
        let mut quarantine = Vec::new();
        for c in checked {
            self.tally.add(c.tally, self.max_keys);
            if c.clean.num_rows() > 0 {
                clean.push(c.clean);
            }
            if c.quarantine.num_rows() > 0 {
                quarantine.push(c.quarantine);
            }
        }
        Ok((clean, quarantine))
    }

    /// An empty duplicates output (`keep_all` drops nothing).
    fn no_duplicates(&self) -> RecordBatch {
        RecordBatch::new_empty(self.schemas().2)
    }

    fn duplicates_batch(&self, raw: &RecordBatch, dropped: &[dedup::Dropped], offset: u64) -> Result<RecordBatch> {
        let local = UInt32Array::from(dropped.iter().map(|d| d.row as u32).collect::<Vec<_>>());
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(dropped.iter().map(|d| (offset + d.row as u64) as i64).collect::<Vec<_>>())),
            Arc::new(Int64Array::from(dropped.iter().map(|d| d.kept as i64).collect::<Vec<_>>())),
            Arc::new(arrow::array::StringArray::from(dropped.iter().map(|d| d.kind).collect::<Vec<_>>())),
        ];
        for c in raw.columns() {
            columns.push(take(c, &local, None)?);
        }
        Ok(RecordBatch::try_new(self.schemas().2, columns)?)
    }

    /// The table's report after the last batch.
    pub(crate) fn finish(&self, weights: &ScoreWeights) -> TableReport {
        let plan = &self.plan;
        let share = |bad: u64, of: u64| if of == 0 { 1.0 } else { 1.0 - bad as f64 / of as f64 };
        let mut rules = Vec::new();
        let mut freshness = Vec::new();
        for (i, rule) in plan.rules.iter().enumerate() {
            let (evaluated, failed, observed) = match &rule.check {
                Prepared::RowCount { min, max } => {
                    let n = self.tally.rows;
                    let ok = min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m);
                    (1, u64::from(!ok), Some(format!("{n} rows")))
                }
                Prepared::Completeness { col, min } => {
                    let s = self.tally.present.get(col).map_or(1.0, |p| share(self.tally.rows - p, self.tally.rows));
                    (1, u64::from(s < *min), Some(format!("{:.4} present", s)))
                }
                Prepared::Freshness { col, max_age_ms, max_age } => match self.tally.latest.get(col) {
                    Some(&latest) => {
                        let age = self.as_of_ms - latest;
                        freshness.push((2.0 - age as f64 / *max_age_ms as f64).clamp(0.0, 1.0));
                        let when = chrono::DateTime::from_timestamp_millis(latest).map(|t| t.to_rfc3339());
                        let hours = age as f64 / 3_600_000.0;
                        let text =
                            format!("latest {}, {hours:.1} h before as_of (max {max_age})", when.unwrap_or_default());
                        (1, u64::from(age > *max_age_ms), Some(text))
                    }
                    None => {
                        freshness.push(0.0);
                        (1, 1, Some("no values".into()))
                    }
                },
                _ => (self.tally.rows, self.tally.failed[i], None),
            };
            let pass_share = share(failed, evaluated);
            rules.push(RuleResult {
                rule_id: rule.id.clone(),
                table: plan.name.clone(),
                kind: rule.kind.into(),
                column: rule.column.clone(),
                severity: rule.severity.name().into(),
                evaluated,
                failed,
                pass_share,
                mostly: rule.mostly,
                success: pass_share >= rule.mostly.unwrap_or(1.0),
                observed,
                failing_keys: self.tally.keys[i].clone(),
            });
        }
        let dup_failed = self.dropped + self.tally.rejected;
        rules.push(RuleResult {
            rule_id: format!("{}.duplicates", plan.name),
            table: plan.name.clone(),
            kind: "duplicates".into(),
            column: plan.key.iter().map(|c| plan.schema.field(*c).name().as_str()).collect::<Vec<_>>().join(", "),
            severity: "error".into(),
            evaluated: self.rows_in,
            failed: dup_failed,
            pass_share: share(dup_failed, self.rows_in),
            mostly: None,
            success: dup_failed == 0,
            observed: Some(format!("policy {}", plan.duplicates.name())),
            failing_keys: Vec::new(),
        });
        let cols = &plan.completeness_cols;
        let completeness = if cols.is_empty() || self.tally.rows == 0 {
            1.0
        } else {
            let present: u64 = cols.iter().map(|c| self.tally.present.get(c).copied().unwrap_or(0)).sum();
            present as f64 / (self.tally.rows as f64 * cols.len() as f64)
        };
        let scores = QualityScores::new(
            completeness,
            share(self.tally.invalid, self.tally.rows),
            share(self.dropped + self.tally.rejected + self.tally.non_unique, self.rows_in),
            share(self.tally.inconsistent, self.tally.rows),
            (!freshness.is_empty()).then(|| freshness.iter().sum::<f64>() / freshness.len() as f64),
            weights,
        );
        let success = rules.iter().all(|r| r.success);
        TableReport {
            table: plan.name.clone(),
            rows_in: self.rows_in,
            rows_clean: self.tally.clean,
            rows_quarantined: self.tally.quarantined,
            rows_duplicates: self.dropped,
            rows_warned: self.tally.warned,
            rules,
            scores,
            success,
        }
    }
}

/// Casts contract columns (through a fresh copy of the plan's conformer, so failure rows are the batch's)
/// and typed extra columns of one input batch whose first row is input row `first`.
fn cast(plan: &TablePlan, raw: &RecordBatch, first: u64) -> Result<Chunk> {
    let mut failures = CastFailures::new();
    let mut typed = match &plan.conformer {
        Some(conformer) => {
            let out = conformer.clone().conform_batch(raw)?;
            for f in out.failures {
                if let Some(&rule) = plan.contract_types.get(&f.column) {
                    failures.entry(rule).or_default().push((f.row, f.value));
                }
            }
            out.batch
        }
        None => raw.clone(),
    };
    if !plan.extra_types.is_empty() {
        let mut columns = typed.columns().to_vec();
        for &(col, data_type, rule) in &plan.extra_types {
            let name = plan.schema.field(col).name();
            let (array, bad) = cast_array(&columns[col], &plan.name, name, data_type, &plan.mapping, 0)?;
            columns[col] = array;
            failures.entry(rule).or_default().extend(bad.into_iter().map(|b| (b.row, b.value)));
        }
        typed = RecordBatch::try_new(plan.schema.clone(), columns)?;
    } else if typed.schema().fields() != plan.schema.fields() {
        typed = RecordBatch::try_new(plan.schema.clone(), typed.columns().to_vec())?;
    }
    Ok(Chunk {
        raw: raw.clone(),
        typed,
        origin: Origin::Run { first },
        type_failures: failures,
        rejected: HashMap::new(),
    })
}
