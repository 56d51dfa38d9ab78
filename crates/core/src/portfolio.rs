//! [`Portfolio`]: the seven canonical tables of one customer base, together.
//!
//! A portfolio is what the demo generator produces and what a user assembles from their own exports;
//! it writes to and reads from a folder holding one file per table (`accounts.parquet`, `usage.parquet`,
//! ...), conforming each file onto its canonical schema on the way in.

use std::path::{Path, PathBuf};

use crate::contracts::{ColumnMapping, ConformedTable, Conformer, TableKind};
use crate::error::{Error, Result};
use crate::io::{self, Format, ReadOptions, WriteOptions};
use crate::table::Table;

/// The canonical tables of one customer base.
#[derive(Debug, Clone)]
pub struct Portfolio {
    /// One row per account.
    pub accounts: Table,
    /// Daily product usage.
    pub usage: Table,
    /// Support tickets.
    pub tickets: Table,
    /// NPS survey responses.
    pub surveys: Table,
    /// Subscription revenue events.
    pub revenue: Table,
    /// Churn outcome per account.
    pub churn_labels: Table,
    /// Expansions.
    pub expansion_labels: Table,
}

impl Portfolio {
    /// Every table with its kind, in pipeline order.
    pub fn tables(&self) -> [(TableKind, &Table); 7] {
        TableKind::ALL.map(|k| (k, self.get(k)))
    }

    /// One table by kind.
    pub fn get(&self, kind: TableKind) -> &Table {
        match kind {
            TableKind::Accounts => &self.accounts,
            TableKind::Usage => &self.usage,
            TableKind::Tickets => &self.tickets,
            TableKind::Surveys => &self.surveys,
            TableKind::Revenue => &self.revenue,
            TableKind::ChurnLabels => &self.churn_labels,
            TableKind::ExpansionLabels => &self.expansion_labels,
        }
    }

    /// Writes each table to `dir/<table>.<ext>` (creating `dir`); returns the paths written.
    pub fn write_dir(&self, dir: impl AsRef<Path>, format: Format) -> Result<Vec<PathBuf>> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
        let options = WriteOptions { format: Some(format), ..WriteOptions::default() };
        let mut paths = Vec::new();
        for (kind, table) in self.tables() {
            let path = dir.join(format!("{}.{}", kind.name(), format.extension()));
            io::write(&path, table.reader(), &options)?;
            paths.push(path);
        }
        Ok(paths)
    }

    /// Reads `dir/<table>.<ext>` for every table and conforms it onto the canonical schema (CSV and JSON
    /// are read as text and cast by the conformance rules, so any supported date format is accepted).
    pub fn read_dir(dir: impl AsRef<Path>, format: Format) -> Result<Self> {
        let dir = dir.as_ref();
        let read = |kind: TableKind| -> Result<Table> {
            let path = dir.join(format!("{}.{}", kind.name(), format.extension()));
            Ok(read_table(&path, kind, &ReadOptions::default().with_format(format), &ColumnMapping::new())?.table)
        };
        Ok(Self {
            accounts: read(TableKind::Accounts)?,
            usage: read(TableKind::Usage)?,
            tickets: read(TableKind::Tickets)?,
            surveys: read(TableKind::Surveys)?,
            revenue: read(TableKind::Revenue)?,
            churn_labels: read(TableKind::ChurnLabels)?,
            expansion_labels: read(TableKind::ExpansionLabels)?,
        })
    }
}

/// Reads one file and conforms it onto `kind` with `mapping`, batch by batch; under
/// [`crate::contracts::CastPolicy::NullAndReport`] the values that could not be cast are in `failures`.
pub fn read_table(
    path: &Path,
    kind: TableKind,
    options: &ReadOptions,
    mapping: &ColumnMapping,
) -> Result<ConformedTable> {
    let reader = io::open(path, options)?;
    Conformer::new(kind, mapping.clone())?.conform_all(reader.map(|b| b.map_err(crate::error::from_arrow)))
}
