//! One table's validation, batch by batch: cast, resolve duplicates, evaluate the rules in parallel, split
//! the rows into clean / quarantine / duplicates outputs and accumulate the report. The in-memory validator
//! runs it once over the whole table; the streaming validator once per batch.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow::array::RecordBatchOptions;
use arrow::array::{Array, ArrayRef, AsArray, Int64Array, ListBuilder, RecordBatch, StringBuilder, UInt32Array};
use arrow::buffer::BooleanBuffer;
use arrow::compute::{FilterBuilder, take};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::common::HashSet as FastSet;
use rayon::prelude::*;

use super::compile::{Prepared, TablePlan};
use super::dedup::{self, DedupState};
use super::evaluate::{self, EvalContext, RowFailures, RuleState};
use super::report::{QualityScores, RuleResult, ScoreWeights, TableReport};
use crate::contracts::{Conformer, cast_array};
use crate::error::{Error, Result};

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

/// Raw values that failed their cast: rule index → (local row, value).
type CastFailures = HashMap<usize, Vec<(usize, String)>>;

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

/// Phase timings on stderr when `ACCOUNTSCOPE_VALIDATE_TIMING` is set (a diagnostic for profiling).
struct Timing(Option<std::time::Instant>);

impl Timing {
    fn from_env() -> Self {
        Self(std::env::var_os("ACCOUNTSCOPE_VALIDATE_TIMING").map(|_| std::time::Instant::now()))
    }

    fn mark(&self, phase: &str) {
        if let Some(start) = self.0 {
            eprintln!("validate: {phase} done at {:.3} s", start.elapsed().as_secs_f64());
        }
    }

    fn rule(&self, id: &str, clock: std::time::Instant) {
        if self.0.is_some() {
            eprintln!("validate:   rule {id}: {:.3} s", clock.elapsed().as_secs_f64());
        }
    }
}

/// Validation state of one table across batches.
#[derive(Debug)]
pub(crate) struct TableRun {
    pub(crate) plan: Arc<TablePlan>,
    conformer: Option<Conformer>,
    dedup: DedupState,
    states: Vec<RuleState>,
    max_keys: usize,
    as_of_ms: i64,
    /// Whether more batches may follow (streams keep key state between batches).
    persist: bool,
    rows_in: u64,
    rows_eval: u64,
    clean: u64,
    quarantined: u64,
    dropped: u64,
    rejected: u64,
    warned: u64,
    failed: Vec<u64>,
    keys: Vec<Vec<String>>,
    invalid_rows: u64,
    inconsistent_rows: u64,
    non_unique_rows: u64,
    present: HashMap<usize, u64>,
    latest: HashMap<usize, i64>,
}

impl TableRun {
    pub(crate) fn new(plan: Arc<TablePlan>, max_keys: usize, as_of_ms: i64, persist: bool) -> Self {
        let n = plan.rules.len();
        Self {
            conformer: plan.conformer.clone(),
            dedup: DedupState::default(),
            states: (0..n).map(|_| RuleState::default()).collect(),
            max_keys,
            as_of_ms,
            persist,
            rows_in: 0,
            rows_eval: 0,
            clean: 0,
            quarantined: 0,
            dropped: 0,
            rejected: 0,
            warned: 0,
            failed: vec![0; n],
            keys: vec![Vec::new(); n],
            invalid_rows: 0,
            inconsistent_rows: 0,
            non_unique_rows: 0,
            present: HashMap::new(),
            latest: HashMap::new(),
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

    /// Validates the next batch of the table's input.
    pub(crate) fn process(
        &mut self,
        raw: &RecordBatch,
        references: &HashMap<(String, String), FastSet<String>>,
    ) -> Result<BatchOutput> {
        let plan = self.plan.clone();
        if raw.schema().fields() != plan.input_schema.fields() {
            return Err(Error::Schema {
                context: format!("table '{}'", plan.name),
                message: format!(
                    "a batch's schema differs from the first batch's: {:?} vs {:?}",
                    raw.schema()
                        .fields()
                        .iter()
                        .map(|f| format!("{}: {}", f.name(), f.data_type()))
                        .collect::<Vec<_>>(),
                    plan.input_schema
                        .fields()
                        .iter()
                        .map(|f| format!("{}: {}", f.name(), f.data_type()))
                        .collect::<Vec<_>>()
                ),
            });
        }
        let offset = self.rows_in;
        let n = raw.num_rows();
        let timing = Timing::from_env();
        let (typed, type_failures) = self.cast(raw, offset)?;
        timing.mark("cast");

        let res = dedup::resolve(raw, &typed, &plan, offset, &mut self.dedup, self.persist)?;
        let identity = res.keep.len() == n && res.merged_sources.is_none();
        let survivors = if identity {
            typed.clone()
        } else {
            let indices = UInt32Array::from(res.keep.clone());
            let columns = (0..typed.num_columns())
                .map(|c| match &res.merged_sources {
                    Some(src) => take(typed.column(c), &UInt32Array::from(src[c].clone()), None),
                    None => take(typed.column(c), &indices, None),
                })
                .collect::<std::result::Result<Vec<_>, _>>()?;
            RecordBatch::try_new(typed.schema(), columns)?
        };
        let m = survivors.num_rows();
        let global: Vec<u64> = res.keep.iter().map(|r| offset + u64::from(*r)).collect();
        // Type failures and rejections re-indexed to survivor positions.
        let mut position = vec![u32::MAX; n];
        for (p, r) in res.keep.iter().enumerate() {
            position[*r as usize] = p as u32;
        }
        let type_failures: CastFailures = type_failures
            .into_iter()
            .map(|(rule, rows)| {
                let kept = rows
                    .into_iter()
                    .filter(|(r, _)| position[*r] != u32::MAX)
                    .map(|(r, v)| (position[r] as usize, v))
                    .collect();
                (rule, kept)
            })
            .collect();
        let rejected: HashMap<usize, String> =
            res.rejected.iter().map(|(r, why)| (position[*r] as usize, why.clone())).collect();

        let mut unreadable: HashMap<usize, HashSet<usize>> = HashMap::new();
        for (rule, rows) in &type_failures {
            if let Prepared::Type { col, .. } = plan.rules[*rule].check {
                unreadable.entry(col).or_default().extend(rows.iter().map(|r| r.0));
            }
        }
        let ctx = EvalContext {
            type_failures: &type_failures,
            unreadable: &unreadable,
            references,
            rows: &global,
            persist: self.persist,
        };
        let outcomes: Vec<RowFailures> = plan
            .rules
            .par_iter()
            .zip(self.states.par_iter_mut())
            .enumerate()
            .map(|(i, (rule, state))| {
                let clock = std::time::Instant::now();
                let out = evaluate::evaluate(i, rule, &survivors, &ctx, state);
                timing.rule(&rule.id, clock);
                out
            })
            .collect::<Result<_>>()?;
        timing.mark("dedup + rules");

        // Split.
        let rejected_mask = if rejected.is_empty() {
            BooleanBuffer::new_unset(m)
        } else {
            BooleanBuffer::collect_bool(m, |i| rejected.contains_key(&i))
        };
        let mut quarantine = rejected_mask.clone();
        let mut any_warning = BooleanBuffer::new_unset(m);
        let mut invalid = BooleanBuffer::new_unset(m);
        let mut inconsistent = BooleanBuffer::new_unset(m);
        let mut non_unique = BooleanBuffer::new_unset(m);
        for (rule, out) in plan.rules.iter().zip(&outcomes) {
            let Some(mask) = &out.mask else { continue };
            match rule.severity {
                super::Severity::Error => quarantine = &quarantine | mask,
                super::Severity::Warning => any_warning = &any_warning | mask,
            }
            match rule.check {
                Prepared::ForeignKey { .. } => inconsistent = &inconsistent | mask,
                Prepared::Unique { .. } => non_unique = &non_unique | mask,
                Prepared::NotNull { .. } => {}
                _ => invalid = &invalid | mask,
            }
        }
        let clean_mask = !&quarantine;
        let clean = keep_rows(&survivors, &clean_mask)?;
        let quarantine_out =
            self.quarantine_batch(raw, &survivors, &res.keep, &global, &quarantine, &outcomes, &rejected)?;
        let duplicates_out = self.duplicates_batch(raw, &res.dropped, offset)?;

        timing.mark("outputs");

        // Accumulate.
        self.rows_in += n as u64;
        self.rows_eval += m as u64;
        self.clean += clean.num_rows() as u64;
        self.quarantined += quarantine.count_set_bits() as u64;
        self.dropped += res.dropped.len() as u64;
        self.rejected += rejected.len() as u64;
        self.warned += (&any_warning & &clean_mask).count_set_bits() as u64;
        self.invalid_rows += invalid.count_set_bits() as u64;
        self.inconsistent_rows += inconsistent.count_set_bits() as u64;
        self.non_unique_rows += (&non_unique & &!&rejected_mask).count_set_bits() as u64;
        for (i, out) in outcomes.iter().enumerate() {
            self.failed[i] += out.count as u64;
            if let Some(mask) = &out.mask {
                for row in mask.set_indices().take(self.max_keys.saturating_sub(self.keys[i].len())) {
                    let key = self.key_text(&survivors, row, global[row]);
                    self.keys[i].push(key);
                }
            }
        }
        for &c in &plan.completeness_cols {
            let bad = unreadable.get(&c).map_or(0, HashSet::len);
            let present = (m - survivors.column(c).null_count() + bad) as u64;
            *self.present.entry(c).or_default() += present;
        }
        for rule in &plan.rules {
            if let Prepared::Freshness { col, .. } = rule.check
                && let Some(latest) = max_ms(survivors.column(col))?
            {
                let e = self.latest.entry(col).or_insert(i64::MIN);
                *e = (*e).max(latest);
            }
        }
        Ok(BatchOutput { clean, quarantine: quarantine_out, duplicates: duplicates_out })
    }

    /// Casts contract columns (through the conformer) and typed extra columns; returns the typed batch and
    /// the cast failures by rule index and local row.
    fn cast(&mut self, raw: &RecordBatch, offset: u64) -> Result<(RecordBatch, CastFailures)> {
        let plan = self.plan.clone();
        let mut failures = CastFailures::new();
        let mut typed = match &mut self.conformer {
            Some(conformer) => {
                let out = conformer.conform_batch(raw)?;
                for f in out.failures {
                    if let Some(&rule) = plan.contract_types.get(&f.column) {
                        failures.entry(rule).or_default().push((f.row - offset as usize, f.value));
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
        Ok((typed, failures))
    }

    fn key_text(&self, batch: &RecordBatch, row: usize, global: u64) -> String {
        if self.plan.key.is_empty() {
            return format!("row {global}");
        }
        let parts: Vec<String> = self
            .plan
            .key
            .iter()
            .map(|&c| format!("{}={}", batch.schema().field(c).name(), evaluate::display(batch.column(c), row)))
            .collect();
        format!("row {global}: {}", parts.join(", "))
    }

    #[allow(clippy::too_many_arguments)]
    fn quarantine_batch(
        &self,
        raw: &RecordBatch,
        survivors: &RecordBatch,
        keep: &[u32],
        global: &[u64],
        quarantine: &BooleanBuffer,
        outcomes: &[RowFailures],
        rejected: &HashMap<usize, String>,
    ) -> Result<RecordBatch> {
        let rows: Vec<usize> = quarantine.set_indices().collect();
        let dup_id = format!("{}.duplicates", self.plan.name);
        // Reasons are formatted in parallel chunks, each with its own formatters.
        let chunks: Vec<(ArrayRef, ArrayRef)> = rows
            .par_chunks(8192)
            .map(|chunk| {
                let values = evaluate::Values::new(survivors);
                let mut ids = ListBuilder::new(StringBuilder::new());
                let mut reasons = ListBuilder::new(StringBuilder::new());
                for &row in chunk {
                    for (rule, out) in self.plan.rules.iter().zip(outcomes) {
                        if out.failed(row) {
                            ids.values().append_value(&rule.id);
                            reasons.values().append_value(evaluate::reason(rule, &values, row, out));
                        }
                    }
                    if let Some(why) = rejected.get(&row) {
                        ids.values().append_value(&dup_id);
                        reasons.values().append_value(why);
                    }
                    ids.append(true);
                    reasons.append(true);
                }
                (Arc::new(ids.finish()) as ArrayRef, Arc::new(reasons.finish()) as ArrayRef)
            })
            .collect();
        let list = |part: fn(&(ArrayRef, ArrayRef)) -> &ArrayRef| -> Result<ArrayRef> {
            if chunks.is_empty() {
                return Ok(Arc::new(ListBuilder::new(StringBuilder::new()).finish()));
            }
            let parts: Vec<&dyn Array> = chunks.iter().map(|c| part(c).as_ref()).collect();
            Ok(arrow::compute::concat(&parts)?)
        };
        let local = UInt32Array::from(rows.iter().map(|r| keep[*r]).collect::<Vec<_>>());
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(rows.iter().map(|r| global[*r] as i64).collect::<Vec<_>>())),
            list(|c| &c.0)?,
            list(|c| &c.1)?,
        ];
        for c in raw.columns() {
            columns.push(take(c, &local, None)?);
        }
        Ok(RecordBatch::try_new(self.schemas().1, columns)?)
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
                    let n = self.rows_eval;
                    let ok = min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m);
                    (1, u64::from(!ok), Some(format!("{n} rows")))
                }
                Prepared::Completeness { col, min } => {
                    let s = self.present.get(col).map_or(1.0, |p| share(self.rows_eval - p, self.rows_eval));
                    (1, u64::from(s < *min), Some(format!("{:.4} present", s)))
                }
                Prepared::Freshness { col, max_age_ms, max_age } => match self.latest.get(col) {
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
                _ => (self.rows_eval, self.failed[i], None),
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
                failing_keys: self.keys[i].clone(),
            });
        }
        let dup_failed = self.dropped + self.rejected;
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
        let completeness = if cols.is_empty() || self.rows_eval == 0 {
            1.0
        } else {
            let present: u64 = cols.iter().map(|c| self.present.get(c).copied().unwrap_or(0)).sum();
            present as f64 / (self.rows_eval as f64 * cols.len() as f64)
        };
        let scores = QualityScores::new(
            completeness,
            share(self.invalid_rows, self.rows_eval),
            share(self.dropped + self.rejected + self.non_unique_rows, self.rows_in),
            share(self.inconsistent_rows, self.rows_eval),
            (!freshness.is_empty()).then(|| freshness.iter().sum::<f64>() / freshness.len() as f64),
            weights,
        );
        let success = rules.iter().all(|r| r.success);
        TableReport {
            table: plan.name.clone(),
            rows_in: self.rows_in,
            rows_clean: self.clean,
            rows_quarantined: self.quarantined,
            rows_duplicates: self.dropped,
            rows_warned: self.warned,
            rules,
            scores,
            success,
        }
    }
}

/// The rows of `batch` where `mask` is set, filtering the columns in parallel (no copy when all are set).
fn keep_rows(batch: &RecordBatch, mask: &BooleanBuffer) -> Result<RecordBatch> {
    if mask.count_set_bits() == batch.num_rows() {
        return Ok(batch.clone());
    }
    let predicate = FilterBuilder::new(&arrow::array::BooleanArray::new(mask.clone(), None)).optimize().build();
    let columns =
        batch.columns().par_iter().map(|c| predicate.filter(c)).collect::<std::result::Result<Vec<_>, _>>()?;
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
