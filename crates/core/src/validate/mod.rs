//! Validation and data quality: declarative rules, duplicate policies, referential integrity, quarantine,
//! a quality scorecard, profiling and lineage.
//!
//! Nothing reaches health scores or models without passing through here, and nothing is lost: every
//! input row ends in exactly one of three outputs, so **clean + quarantined + dropped duplicates = input
//! rows** for every table and every run.
//!
//! A run, per table: (1) values are cast to their types (the canonical contract's, plus `type` rules for
//! other columns), an unreadable value becoming a null and a failure of its `type` rule; (2) duplicates are
//! resolved under the table's policy ([`DuplicatePolicy`]); (3) every row-level rule marks its failing
//! rows, in parallel; rows failing an `error` rule go to the quarantine output with the ids of every rule
//! they failed and one reason per failure, the others to the clean output (typed); (4) table-level checks,
//! the [`ValidationReport`] and one [`LineageRecord`] are written.
//!
//! Semantics follow Great Expectations where it has a counterpart (`mostly`, nulls passing every
//! expectation but not-null, compound uniqueness) and pandera's lazy validation (every failure of every
//! row is collected, not just the first). Rules are compiled against the input schema first, so an unknown
//! column, a bad regex, a SQL expression that does not parse or is not boolean, or a foreign key to an
//! unknown table is a typed error before any row is read.
//!
//! ```
//! use accountscope::validate::{Check, Rule, RuleSet, TableRules, Validator};
//! use accountscope::{Table, TableKind};
//! # use std::sync::Arc;
//! # use arrow::array::{StringArray, Float64Array, Int32Array, Date32Array};
//! # use arrow::record_batch::RecordBatch;
//! let rules = RuleSet::new("crm").with_table(
//!     TableRules::new("accounts")
//!         .with_rule(Rule::new("arr_positive", Check::Range { column: "arr".into(), min: Some(0.0.into()), max: None, exclusive: false })),
//! );
//! let demo = accountscope::generate(&accountscope::DemoConfig { accounts: 20, ..Default::default() })?;
//! let accounts = demo.portfolio.get(TableKind::Accounts);
//! let run = Validator::new(rules)?.validate(&[("accounts", accounts)])?;
//! let out = run.table("accounts").unwrap();
//! assert_eq!(out.clean.num_rows() + out.quarantine.num_rows() + out.duplicates.num_rows(), accounts.num_rows());
//! println!("{}", run.report.scorecard());
//! # Ok::<(), accountscope::Error>(())
//! ```

mod chunk;
mod compile;
mod config;
mod dedup;
mod evaluate;
mod fingerprint;
mod iso_codes;
mod lineage;
mod profile;
mod report;
mod run;
mod unique;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{AsArray, RecordBatch, RecordBatchReader};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, SchemaRef};
use chrono::{DateTime, Utc};
use datafusion::common::HashSet as FastSet;
use serde::{Deserialize, Serialize};

pub use config::{
    Bound, Check, CompareOp, DuplicatePolicy, ReportDuplicates, Rule, RuleSet, Severity, TableRules, TextFormat,
};
pub use lineage::{LineageRecord, append_json_lines, lineage_table, to_json_lines};
pub use profile::{ProfileOptions, profile};
pub use report::{QualityScores, RuleResult, ScoreWeights, TableReport, ValidationReport};
pub use run::{BatchOutput, DUPLICATE_KIND_COLUMN, KEPT_COLUMN, REASONS_COLUMN, ROW_COLUMN, RULES_COLUMN};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::table::Table;
use compile::{Prepared, TablePlan};
use fingerprint::ContentHasher;
use run::TableRun;

impl From<f64> for Bound {
    fn from(x: f64) -> Self {
        Bound::Number(x)
    }
}

/// Options of a validation run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ValidateOptions {
    /// The time freshness is measured against; `None` means now. Set it for reproducible reports.
    pub as_of: Option<DateTime<Utc>>,
    /// How many failing keys each rule result lists.
    pub max_failing_keys: usize,
    /// Weights of the overall quality score.
    pub weights: ScoreWeights,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        Self { as_of: None, max_failing_keys: 20, weights: ScoreWeights::default() }
    }
}

/// The outputs of one table.
#[derive(Debug, Clone)]
pub struct TableOutput {
    /// Table name.
    pub name: String,
    /// Rows that passed every error rule, typed.
    pub clean: Table,
    /// Rejected rows as input, with `_row`, `_rule_ids`, `_reasons`.
    pub quarantine: Table,
    /// Dropped copies as input, with `_row`, `_kept_row`, `_duplicate`.
    pub duplicates: Table,
}

/// The result of a validation run.
#[derive(Debug, Clone)]
pub struct Validation {
    /// One output per validated table, in rule-set order.
    pub tables: Vec<TableOutput>,
    /// Rule results and quality scores.
    pub report: ValidationReport,
    /// One lineage record per table.
    pub lineage: Vec<LineageRecord>,
}

impl Validation {
    /// One table's outputs.
    pub fn table(&self, name: &str) -> Option<&TableOutput> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// Registers every output in `engine`: `<table>_clean`, `<table>_quarantine`, `<table>_duplicates`,
    /// `validation_rules`, `validation_scores` and `validation_lineage`.
    pub fn register(&self, engine: &Engine) -> Result<()> {
        for t in &self.tables {
            engine.register(&format!("{}_clean", t.name), &t.clean)?;
            engine.register(&format!("{}_quarantine", t.name), &t.quarantine)?;
            engine.register(&format!("{}_duplicates", t.name), &t.duplicates)?;
        }
        engine.register("validation_rules", &self.report.rules_table()?)?;
        engine.register("validation_scores", &self.report.scores_table()?)?;
        engine.register("validation_lineage", &lineage_table(&self.lineage)?)?;
        Ok(())
    }
}

/// Validates tables against a [`RuleSet`].
#[derive(Debug, Clone)]
pub struct Validator {
    rules: RuleSet,
    options: ValidateOptions,
    references: HashMap<String, Table>,
    ruleset_hash: String,
}

impl Validator {
    /// A validator for `rules` (checked for duplicate ids and bad fields here; columns are checked when
    /// the inputs' schemas are known).
    pub fn new(rules: RuleSet) -> Result<Self> {
        rules.check_ids()?;
        let ruleset_hash = fingerprint::hash_bytes(serde_json::to_string(&rules)?.as_bytes());
        Ok(Self { rules, options: ValidateOptions::default(), references: HashMap::new(), ruleset_hash })
    }

    /// Sets the run options.
    pub fn with_options(mut self, options: ValidateOptions) -> Self {
        self.options = options;
        self
    }

    /// Adds a table that foreign keys may reference without validating it (e.g. an accounts master).
    pub fn with_reference(mut self, name: impl Into<String>, table: Table) -> Self {
        self.references.insert(name.into(), table);
        self
    }

    /// The rule set.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    fn table_rules(&self, name: &str) -> Result<&TableRules> {
        self.rules.tables.iter().find(|t| t.table == name).ok_or_else(|| {
            let known: Vec<&str> = self.rules.tables.iter().map(|t| t.table.as_str()).collect();
            Error::config(
                "tables",
                format!("rule set '{}' has no rules for table '{name}'; it has {known:?}", self.rules.id),
            )
        })
    }

    fn as_of_ms(&self) -> i64 {
        self.options.as_of.unwrap_or_else(Utc::now).timestamp_millis()
    }

    /// Validates tables held in memory. A foreign key may reference any input (its values as given) or
    /// a reference table.
    pub fn validate(&self, inputs: &[(&str, &Table)]) -> Result<Validation> {
        let started = Utc::now();
        let mut names: HashSet<String> = self.references.keys().cloned().collect();
        names.extend(inputs.iter().map(|(n, _)| n.to_string()));
        let mut plans = Vec::new();
        for (name, table) in inputs {
            let plan = TablePlan::compile(self.table_rules(name)?, table.schema(), &names)?;
            plans.push(Arc::new(plan));
        }
        let sources: HashMap<&str, &Table> =
            inputs.iter().map(|(n, t)| (*n, *t)).chain(self.references.iter().map(|(n, t)| (n.as_str(), t))).collect();
        let references = load_references(plans.iter().map(Arc::as_ref), &sources)?;
        let as_of = self.as_of_ms();
        let mut tables = Vec::new();
        let mut reports = Vec::new();
        let mut lineage = Vec::new();
        for ((name, table), plan) in inputs.iter().zip(plans) {
            let clock = Instant::now();
            let mut run = TableRun::new(plan.clone(), self.options.max_failing_keys, as_of, false);
            let mut hasher = ContentHasher::new(table.schema());
            let (hashed, out) =
                rayon::join(|| hasher.update_all(table.batches()), || run.process_table(table.batches(), &references));
            hashed?;
            let out = out?;
            let (cs, qs, ds) = run.schemas();
            let report = run.finish(&self.options.weights);
            lineage.push(self.lineage_record(&report, "memory", hasher.finish(), started, clock));
            reports.push(report);
            tables.push(TableOutput {
                name: name.to_string(),
                clean: Table::try_new(cs, out.clean)?,
                quarantine: Table::try_new(qs, out.quarantine)?,
                duplicates: Table::try_new(ds, vec![out.duplicates])?,
            });
        }
        let report = ValidationReport {
            ruleset_id: self.rules.id.clone(),
            ruleset_version: self.rules.version.clone(),
            as_of: DateTime::from_timestamp_millis(as_of).map(|t| t.to_rfc3339()).unwrap_or_default(),
            tables: reports,
        };
        Ok(Validation { tables, report, lineage })
    }

    /// A validator for the batches of one table's stream with schema `schema`, in bounded memory: state
    /// grows with the number of distinct keys (duplicate policy and `unique` rules, about the encoded key
    /// plus 40 bytes each), never with rows. Foreign keys may reference only reference tables. Policies
    /// that must see every copy first (`keep_latest`, `reject_all`, `merge`) and `unique` rules reporting
    /// `all` copies are [`Error::Unsupported`] here; validate in memory for those.
    pub fn stream(&self, table: &str, schema: &SchemaRef) -> Result<StreamValidator> {
        let names: HashSet<String> = self.references.keys().cloned().collect();
        let plan = Arc::new(TablePlan::compile(self.table_rules(table)?, schema, &names)?);
        streamable(&plan)?;
        let sources: HashMap<&str, &Table> = self.references.iter().map(|(n, t)| (n.as_str(), t)).collect();
        let references = load_references(std::iter::once(plan.as_ref()), &sources)?;
        Ok(StreamValidator {
            run: TableRun::new(plan, self.options.max_failing_keys, self.as_of_ms(), true),
            references,
            hasher: ContentHasher::new(schema),
            started: Utc::now(),
            clock: Instant::now(),
            validator: self.clone(),
            source: "stream".into(),
        })
    }

    /// Validates a stream to the end, handing each batch's outputs to `sink`; returns the report and the
    /// lineage record.
    pub fn validate_reader(
        &self,
        table: &str,
        reader: impl RecordBatchReader,
        mut sink: impl FnMut(BatchOutput) -> Result<()>,
    ) -> Result<(TableReport, LineageRecord)> {
        let mut stream = self.stream(table, &reader.schema())?;
        for batch in reader {
            sink(stream.push(&batch?)?)?;
        }
        Ok(stream.finish())
    }

    fn lineage_record(
        &self,
        report: &TableReport,
        source: &str,
        content_hash: String,
        started: DateTime<Utc>,
        clock: Instant,
    ) -> LineageRecord {
        LineageRecord {
            table: report.table.clone(),
            source: source.into(),
            content_hash,
            ruleset_id: self.rules.id.clone(),
            ruleset_version: self.rules.version.clone(),
            ruleset_hash: self.ruleset_hash.clone(),
            rows_in: report.rows_in,
            rows_clean: report.rows_clean,
            rows_quarantined: report.rows_quarantined,
            rows_deduplicated: report.rows_duplicates,
            started_at: started.to_rfc3339(),
            duration_ms: clock.elapsed().as_secs_f64() * 1e3,
            library_version: crate::VERSION.into(),
        }
    }
}

/// Validates the batches of one table as they come; see [`Validator::stream`].
#[derive(Debug)]
pub struct StreamValidator {
    run: TableRun,
    references: HashMap<(String, String), FastSet<String>>,
    hasher: ContentHasher,
    started: DateTime<Utc>,
    clock: Instant,
    validator: Validator,
    source: String,
}

impl StreamValidator {
    /// Names the source in the lineage record (e.g. the file path).
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = source.into();
        self
    }

    /// Validates the next batch; row numbers continue across batches.
    pub fn push(&mut self, batch: &RecordBatch) -> Result<BatchOutput> {
        self.hasher.update(batch)?;
        self.run.process(batch, &self.references)
    }

    /// The report and lineage record after the last batch.
    pub fn finish(self) -> (TableReport, LineageRecord) {
        let report = self.run.finish(&self.validator.options.weights);
        let record =
            self.validator.lineage_record(&report, &self.source, self.hasher.finish(), self.started, self.clock);
        (report, record)
    }
}

/// Whether a table's plan can run batch by batch.
fn streamable(plan: &TablePlan) -> Result<()> {
    if !matches!(plan.duplicates, DuplicatePolicy::KeepFirst | DuplicatePolicy::KeepAll) {
        return Err(Error::Unsupported(format!(
            "table '{}': duplicate policy '{}' needs every copy of a key before deciding; validate in memory",
            plan.name,
            plan.duplicates.name()
        )));
    }
    if let Some(r) =
        plan.rules.iter().find(|r| matches!(r.check, Prepared::Unique { report: ReportDuplicates::All, .. }))
    {
        return Err(Error::Unsupported(format!(
            "rule '{}': report 'all' needs every copy of a key first; use 'exclude_first' or validate in memory",
            r.id
        )));
    }
    Ok(())
}

/// The key sets that foreign keys reference, as text.
fn load_references<'a>(
    plans: impl Iterator<Item = &'a TablePlan>,
    sources: &HashMap<&str, &Table>,
) -> Result<HashMap<(String, String), FastSet<String>>> {
    let mut out = HashMap::new();
    for plan in plans {
        for rule in &plan.rules {
            let Prepared::ForeignKey { ref_table, ref_column, .. } = &rule.check else { continue };
            let key = (ref_table.clone(), ref_column.clone());
            if out.contains_key(&key) {
                continue;
            }
            let table = sources.get(ref_table.as_str()).ok_or_else(|| {
                Error::config(format!("rule '{}'.ref_table", rule.id), format!("table '{ref_table}' is not available"))
            })?;
            let mut values = FastSet::default();
            for batch in table.batches() {
                let col = batch.column_by_name(ref_column).ok_or_else(|| {
                    Error::config(
                        format!("rule '{}'.ref_column", rule.id),
                        format!(
                            "table '{ref_table}' has no column '{ref_column}'; its columns are {:?}",
                            table.schema().fields().iter().map(|f| f.name()).collect::<Vec<_>>()
                        ),
                    )
                })?;
                let text = cast_with_options(col, &DataType::Utf8, &CastOptions::default())?;
                values.extend(text.as_string::<i32>().iter().flatten().map(str::to_string));
            }
            out.insert(key, values);
        }
    }
    Ok(out)
}
