//! GDPR erasure (Art. 17): remove one account from every registered table that has an `account_id`
//! column — inputs, validation outputs and results alike — and return a receipt of what was removed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::engine::{Engine, sql_text};
use crate::error::{Error, Result};

/// What erasure removed from one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasedTable {
    /// Registered table name.
    pub table: String,
    /// Rows of the account removed.
    pub rows_removed: usize,
    /// Rows left in the table.
    pub rows_left: usize,
    /// True when the table was scanned from a file: the engine now holds an erased copy in memory, and the
    /// file itself must be rewritten or deleted by its owner.
    pub file_backed: bool,
}

/// The receipt of an erasure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureReceipt {
    /// The erased account id.
    pub account_id: String,
    /// When the erasure ran.
    pub erased_at: DateTime<Utc>,
    /// Every table that had an `account_id` column, whether or not it held rows of the account.
    pub tables: Vec<ErasedTable>,
}

impl ErasureReceipt {
    /// Rows removed over all tables.
    pub fn rows_removed(&self) -> usize {
        self.tables.iter().map(|t| t.rows_removed).sum()
    }
}

/// Removes every row of `account_id` from every registered table with an `account_id` column; tables
/// without rows of the account are left untouched.
pub fn erase_account(engine: &Engine, account_id: &str) -> Result<ErasureReceipt> {
    if account_id.is_empty() {
        return Err(Error::invalid("erase_account", "the account id is empty"));
    }
    let id = sql_text(account_id);
    let mut tables = Vec::new();
    for name in engine.tables() {
        let schema = engine.schema(&name)?;
        if schema.index_of("account_id").is_err() {
            continue;
        }
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        // Count first: the table is copied only when it holds rows of the account.
        let counts = engine
            .sql(&format!(
                "SELECT COUNT(*) AS total, SUM(CASE WHEN CAST(account_id AS VARCHAR) = {id} THEN 1 ELSE 0 END) AS removed
                 FROM {quoted}"
            ))?
            .concat()?;
        let count = |i: usize| -> Result<usize> {
            let c = arrow::compute::cast(counts.column(i), &arrow::datatypes::DataType::UInt64)?;
            let c = arrow::array::AsArray::as_primitive::<arrow::datatypes::UInt64Type>(&c);
            Ok(if arrow::array::Array::is_valid(c, 0) { c.value(0) as usize } else { 0 })
        };
        let (total, rows_removed) = (count(0)?, count(1)?);
        let file_backed = !engine.is_in_memory(&name)?;
        if rows_removed > 0 {
            let keep = engine.sql(&format!(
                "SELECT * FROM {quoted} WHERE account_id IS NULL OR CAST(account_id AS VARCHAR) <> {id}"
            ))?;
            // The query result keeps the registered schema (field metadata included).
            let table = crate::table::Table::try_new(schema.clone(), keep.into_batches())?;
            engine.register(&name, &table)?;
        }
        tables.push(ErasedTable { table: name, rows_removed, rows_left: total - rows_removed, file_backed });
    }
    Ok(ErasureReceipt { account_id: account_id.to_string(), erased_at: Utc::now(), tables })
}
