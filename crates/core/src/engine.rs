//! [`Engine`]: SQL over the registered input tables and every result table, through Apache DataFusion.
//!
//! The engine owns a DataFusion `SessionContext` and a Tokio runtime, so callers use it from plain
//! synchronous code (a notebook, a C program); every call blocks until its result is ready. Tables
//! registered from memory are `MemTable`s (zero-copy: the batches' buffers are shared), Parquet files are
//! registered lazily as listing tables and scanned in bounded memory at query time. The named queries that
//! customer-success teams run most (portfolio summary, one account's usage) are methods here, built with
//! DataFusion's DataFrame API so account ids are never spliced into SQL text.

use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatchReader;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;
use datafusion::datasource::MemTable;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{DataFrame, ParquetReadOptions, SessionConfig, SessionContext, col, lit};
use futures::StreamExt;

use crate::error::{Error, Result};
use crate::io::{self, BatchReader, Format, ReadOptions};
use crate::portfolio::Portfolio;
use crate::table::Table;

/// SQL over registered tables; see the module documentation.
pub struct Engine {
    ctx: SessionContext,
    /// The same catalog on one partition: aggregates add up in one order, so results are bit-identical.
    serial: SessionContext,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("tables", &self.tables()).finish()
    }
}

impl Engine {
    /// An engine that uses every available core.
    pub fn new() -> Result<Self> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::with_threads(threads)
    }

    /// An engine that uses `threads` worker threads (and as many query partitions).
    pub fn with_threads(threads: usize) -> Result<Self> {
        if threads == 0 {
            return Err(Error::config("threads", "must be at least 1"));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("accountscope-sql")
            .enable_all()
            .build()
            .map_err(|e| Error::io("the SQL runtime", e))?;
        let config = SessionConfig::new().with_target_partitions(threads).with_information_schema(true);
        let ctx = SessionContext::new_with_config(config);
        let serial_config = SessionConfig::new().with_target_partitions(1).with_information_schema(true);
        // The builder keeps the catalog list of the existing state, so both contexts see every table.
        let serial_state = SessionStateBuilder::new_from_existing(ctx.state()).with_config(serial_config).build();
        let serial = SessionContext::new_with_state(serial_state);
        Ok(Self { ctx, serial, runtime: Arc::new(runtime) })
    }

    /// The DataFusion context, for anything this API does not cover.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Registers (or replaces) a table held in memory under `name`.
    pub fn register(&self, name: &str, table: &Table) -> Result<()> {
        check_name(name)?;
        let mem = MemTable::try_new(table.schema().clone(), vec![table.batches().to_vec()])?;
        self.ctx.deregister_table(name)?;
        self.ctx.register_table(name, Arc::new(mem))?;
        Ok(())
    }

    /// Registers (or replaces) a stream under `name`, reading it into memory.
    pub fn register_reader(&self, name: &str, reader: impl RecordBatchReader) -> Result<()> {
        self.register(name, &Table::from_reader(reader)?)
    }

    /// Registers a file under `name`. Parquet is scanned lazily at query time (bounded memory); CSV, JSON
    /// lines and Arrow IPC are read into memory with `options`.
    pub fn register_file(&self, name: &str, path: impl AsRef<Path>, options: &ReadOptions) -> Result<()> {
        check_name(name)?;
        let path = path.as_ref();
        let format = match options.format {
            Some(f) => f,
            None => Format::from_path(path)?,
        };
        if format == Format::Parquet {
            let location = path
                .to_str()
                .ok_or_else(|| Error::invalid("path", format!("'{}' is not valid UTF-8", path.display())))?;
            if !path.exists() {
                return Err(Error::io(
                    path.display(),
                    std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
                ));
            }
            self.ctx.deregister_table(name)?;
            let ext = path.extension().and_then(|e| e.to_str()).map(|e| format!(".{e}")).unwrap_or_default();
            let opts = ParquetReadOptions::default().file_extension(&ext);
            self.block_on(self.ctx.register_parquet(name, location, opts))?;
            Ok(())
        } else {
            self.register_reader(name, io::open(path, options)?)
        }
    }

    /// Registers every table of a portfolio under its canonical name.
    pub fn register_portfolio(&self, portfolio: &Portfolio) -> Result<()> {
        for (kind, table) in portfolio.tables() {
            self.register(kind.name(), table)?;
        }
        Ok(())
    }

    /// Removes a table; returns whether it existed.
    pub fn deregister(&self, name: &str) -> Result<bool> {
        Ok(self.ctx.deregister_table(name)?.is_some())
    }

    /// Names of the registered tables, sorted.
    pub fn tables(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .ctx
            .catalog("datafusion")
            .and_then(|c| c.schema("public"))
            .map(|s| s.table_names())
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Runs a SQL statement and collects its result.
    pub fn sql(&self, query: &str) -> Result<Table> {
        let df = self.block_on(self.ctx.sql(query))?;
        self.collect(df)
    }

    /// Runs a SQL statement on one partition, so floating-point sums and means add up in the same order
    /// on every run and the result is bit-identical (reports use it; [`Engine::sql`] is faster).
    pub fn sql_deterministic(&self, query: &str) -> Result<Table> {
        let df = self.block_on(self.serial.sql(query))?;
        self.collect(df)
    }

    /// Runs a SQL query and streams its result, one batch at a time.
    pub fn sql_stream(&self, query: &str) -> Result<BatchReader> {
        let df = self.block_on(self.ctx.sql(query))?;
        let stream = self.block_on(df.execute_stream())?;
        Ok(Box::new(BlockingStream { stream, runtime: self.runtime.clone() }))
    }

    /// The schema of a registered table (with its field metadata).
    pub fn schema(&self, name: &str) -> Result<SchemaRef> {
        let df = self.block_on(self.ctx.table(name))?;
        Ok(Arc::new(df.schema().as_arrow().clone()))
    }

    /// Whether a registered table is held in memory (not scanned from a file at query time).
    pub fn is_in_memory(&self, name: &str) -> Result<bool> {
        let provider = self.block_on(self.ctx.table_provider(name))?;
        Ok(provider.downcast_ref::<MemTable>().is_some())
    }

    /// Every row of a registered table.
    pub fn table(&self, name: &str) -> Result<Table> {
        self.require(&[name])?;
        let df = self.block_on(self.ctx.table(name))?;
        self.collect(df)
    }

    /// Per segment: accounts, active and churned accounts, total ARR and mean seats purchased.
    /// Needs the `accounts` and `churn_labels` tables.
    pub fn portfolio_summary(&self) -> Result<Table> {
        self.require(&["accounts", "churn_labels"])?;
        self.sql(
            "SELECT a.segment,
                    COUNT(*) AS accounts,
                    SUM(CASE WHEN COALESCE(c.churned, false) THEN 0 ELSE 1 END) AS active_accounts,
                    SUM(CASE WHEN COALESCE(c.churned, false) THEN 1 ELSE 0 END) AS churned_accounts,
                    ROUND(SUM(a.arr), 2) AS total_arr,
                    ROUND(AVG(a.seats_purchased), 1) AS mean_seats
             FROM accounts a LEFT JOIN churn_labels c ON a.account_id = c.account_id
             GROUP BY a.segment ORDER BY total_arr DESC",
        )
    }

    /// One account's daily usage between `from` and `to` (both inclusive), ordered by date.
    pub fn account_usage(&self, account_id: &str, from: NaiveDate, to: NaiveDate) -> Result<Table> {
        check_range(from, to)?;
        self.require(&["usage"])?;
        let (from, to) = (crate::contracts::days_since_epoch(from), crate::contracts::days_since_epoch(to));
        let df = self.block_on(self.ctx.table("usage"))?;
        let df = df
            .filter(
                col("account_id")
                    .eq(lit(account_id))
                    .and(col("date").gt_eq(lit(datafusion::scalar::ScalarValue::Date32(Some(from)))))
                    .and(col("date").lt_eq(lit(datafusion::scalar::ScalarValue::Date32(Some(to))))),
            )?
            .sort(vec![col("date").sort(true, false)])?;
        self.collect(df)
    }

    /// Usage of the accounts of one segment per period (`frequency`) between `from` and `to` (inclusive):
    /// `period_start`, `accounts` reporting, and for each usage metric its total and its mean per
    /// account-day. Needs the `accounts` and `usage` tables.
    pub fn segment_usage(
        &self,
        segment: &str,
        from: NaiveDate,
        to: NaiveDate,
        frequency: crate::trend::Frequency,
    ) -> Result<Table> {
        check_range(from, to)?;
        self.require(&["usage", "accounts"])?;
        let unit = frequency.sql_unit();
        self.sql(&format!(
            "SELECT CAST(date_trunc('{unit}', CAST(u.date AS TIMESTAMP)) AS DATE) AS period_start,
                    COUNT(DISTINCT u.account_id) AS accounts,
                    SUM(u.active_users) AS active_users, AVG(CAST(u.active_users AS DOUBLE)) AS active_users_mean,
                    SUM(u.logins) AS logins, AVG(CAST(u.logins AS DOUBLE)) AS logins_mean,
                    SUM(u.sessions) AS sessions, AVG(CAST(u.sessions AS DOUBLE)) AS sessions_mean,
                    SUM(u.api_calls) AS api_calls, AVG(CAST(u.api_calls AS DOUBLE)) AS api_calls_mean
             FROM usage u JOIN accounts a ON a.account_id = u.account_id
             WHERE a.segment = {segment} AND u.date BETWEEN DATE {from} AND DATE {to}
             GROUP BY 1 ORDER BY 1",
            segment = sql_text(segment),
            from = sql_text(&from.to_string()),
            to = sql_text(&to.to_string()),
        ))
    }

    /// Registers the tables of a batch anomaly pass as `anomaly_events`, `anomaly_incidents` and
    /// `anomaly_series` (replacing earlier ones), so they can be queried with SQL and
    /// [`Engine::segment_anomalies`].
    pub fn register_anomalies(&self, result: &crate::anomaly::AnomalyResult) -> Result<()> {
        self.register("anomaly_events", &result.events)?;
        self.register("anomaly_incidents", &result.incidents)?;
        self.register("anomaly_series", &result.series)
    }

    /// The anomaly incidents of one segment's accounts that overlap `from` ..= `to`, most severe first
    /// (then strongest, then earliest): the account's name and CSM with the incident columns. Needs
    /// `accounts` and [`Engine::register_anomalies`].
    pub fn segment_anomalies(&self, segment: &str, from: NaiveDate, to: NaiveDate) -> Result<Table> {
        check_range(from, to)?;
        self.require(&["anomaly_incidents", "accounts"])?;
        self.sql(&format!(
            "SELECT i.account_id, a.name, a.csm_owner, i.incident, i.start, i.\"end\", i.days, i.kind,
                    i.direction, i.metric, i.metrics, i.severity, i.strength, i.explanation
             FROM anomaly_incidents i JOIN accounts a ON a.account_id = i.account_id
             WHERE a.segment = {segment} AND i.start <= DATE {to} AND i.\"end\" >= DATE {from}
             ORDER BY CASE i.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END,
                      i.strength DESC, i.start, i.account_id",
            segment = sql_text(segment),
            from = sql_text(&from.to_string()),
            to = sql_text(&to.to_string()),
        ))
    }

    /// Per segment between `from` and `to` (inclusive): accounts, accounts with usage, mean daily active
    /// users per account-day, total ARR, and accounts that churned in the range. Needs `accounts`, `usage`
    /// and `churn_labels`.
    pub fn segment_aggregates(&self, from: NaiveDate, to: NaiveDate) -> Result<Table> {
        check_range(from, to)?;
        self.require(&["accounts", "usage", "churn_labels"])?;
        let (from, to) = (sql_text(&from.to_string()), sql_text(&to.to_string()));
        self.sql(&format!(
            "WITH u AS (SELECT account_id, COUNT(*) AS days, AVG(CAST(active_users AS DOUBLE)) AS dau
                        FROM usage WHERE date BETWEEN DATE {from} AND DATE {to} GROUP BY account_id)
             SELECT a.segment, COUNT(*) AS accounts, COUNT(u.account_id) AS accounts_with_usage,
                    ROUND(SUM(u.dau * u.days) / SUM(u.days), 3) AS mean_daily_active_users,
                    ROUND(SUM(a.arr), 2) AS total_arr,
                    SUM(CASE WHEN c.churned AND c.churn_date BETWEEN DATE {from} AND DATE {to} THEN 1 ELSE 0 END)
                        AS churned_in_range
             FROM accounts a LEFT JOIN u ON u.account_id = a.account_id
                  LEFT JOIN churn_labels c ON c.account_id = a.account_id
             GROUP BY a.segment ORDER BY a.segment"
        ))
    }

    /// Every table of `names` registered, or an error naming the first missing one and what is registered
    /// (anomaly tables come from [`Engine::register_anomalies`]).
    fn require(&self, names: &[&str]) -> Result<()> {
        let registered = self.tables();
        let Some(missing) = names.iter().find(|n| !registered.iter().any(|r| r.eq_ignore_ascii_case(n))) else {
            return Ok(());
        };
        let hint = if missing.starts_with("anomaly_") { " (register a batch anomaly pass first)" } else { "" };
        Err(Error::invalid("engine", format!("no table '{missing}' is registered{hint}; registered: {registered:?}")))
    }

    fn collect(&self, df: DataFrame) -> Result<Table> {
        let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let batches = self.block_on(df.collect())?;
        Table::try_new(schema, batches)
    }

    fn block_on<T>(&self, fut: impl Future<Output = datafusion::error::Result<T>>) -> Result<T> {
        Ok(self.runtime.block_on(fut)?)
    }
}

/// A range query's `from` on or before its `to`; a reversed range is a config error, not an empty result.
fn check_range(from: NaiveDate, to: NaiveDate) -> Result<()> {
    if from > to {
        return Err(Error::config("from", format!("{from} is after to {to}")));
    }
    Ok(())
}

/// `value` as a SQL text literal (single quotes doubled).
pub(crate) fn sql_text(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(Error::config("table name", format!("'{name}' must be letters, digits and '_' and not start with a digit")))
    }
}

/// A DataFusion stream driven from synchronous code.
struct BlockingStream {
    stream: SendableRecordBatchStream,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl Iterator for BlockingStream {
    type Item = std::result::Result<RecordBatch, arrow::error::ArrowError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.runtime.block_on(self.stream.next()).map(|r| r.map_err(|e| arrow::error::ArrowError::from(Error::from(e))))
    }
}

impl RecordBatchReader for BlockingStream {
    fn schema(&self) -> SchemaRef {
        self.stream.schema()
    }
}
