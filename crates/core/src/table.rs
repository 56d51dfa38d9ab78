//! [`Table`]: a schema and its record batches, the unit every accountscope operation takes and returns.
//!
//! A plain `Vec<RecordBatch>` loses the schema when it is empty; `Table` keeps it, so an empty result still
//! says what its columns are (and a binding can still export it over the Arrow C stream interface).

use arrow::array::{ArrayRef, AsArray, Float64Array, RecordBatchReader};
use arrow::compute::{cast, concat_batches};
use arrow::datatypes::{DataType, Float64Type, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchIterator};

use crate::error::{Error, Result, from_arrow};
use crate::io::BatchReader;

/// A schema and the record batches that hold its rows.
#[derive(Debug, Clone)]
pub struct Table {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
}

impl Table {
    /// A table from batches that all have `schema` (checked).
    pub fn try_new(schema: SchemaRef, batches: Vec<RecordBatch>) -> Result<Self> {
        for (i, b) in batches.iter().enumerate() {
            if b.schema().fields() != schema.fields() {
                return Err(crate::error::Error::Schema {
                    context: format!("batch {i}"),
                    message: format!("batch schema {:?} differs from table schema {:?}", b.schema(), schema),
                });
            }
        }
        Ok(Self { schema, batches })
    }

    /// A table of one batch.
    pub fn from_batch(batch: RecordBatch) -> Self {
        Self { schema: batch.schema(), batches: vec![batch] }
    }

    /// An empty table with `schema`.
    pub fn empty(schema: SchemaRef) -> Self {
        Self { schema, batches: Vec::new() }
    }

    /// Reads every batch of a stream.
    pub fn from_reader(reader: impl RecordBatchReader) -> Result<Self> {
        let schema = reader.schema();
        let batches = reader.collect::<std::result::Result<Vec<_>, _>>().map_err(from_arrow)?;
        Ok(Self { schema, batches })
    }

    /// The schema.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The batches.
    pub fn batches(&self) -> &[RecordBatch] {
        &self.batches
    }

    /// Takes the batches out.
    pub fn into_batches(self) -> Vec<RecordBatch> {
        self.batches
    }

    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// All rows as one batch (no copy for a single batch; columns are concatenated in parallel).
    pub fn concat(&self) -> Result<RecordBatch> {
        use rayon::prelude::*;
        if self.batches.len() < 2 || self.schema.fields().is_empty() {
            return Ok(concat_batches(&self.schema, &self.batches)?);
        }
        let columns = (0..self.schema.fields().len())
            .into_par_iter()
            .map(|c| {
                let parts: Vec<&dyn arrow::array::Array> = self.batches.iter().map(|b| b.column(c).as_ref()).collect();
                arrow::compute::concat(&parts)
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(self.num_rows()));
        Ok(RecordBatch::try_new_with_options(self.schema.clone(), columns, &options)?)
    }

    /// The batches as a stream (cloning only the `Arc`s of the arrays).
    pub fn reader(&self) -> BatchReader {
        Box::new(RecordBatchIterator::new(self.batches.clone().into_iter().map(Ok), self.schema.clone()))
    }

    /// The rows as an aligned text table (for printing small results).
    pub fn pretty(&self) -> Result<String> {
        Ok(arrow::util::pretty::pretty_format_batches(&self.batches)?.to_string())
    }
}

/// Column `name` of `batch`, or a `MissingColumns` error naming `table` and the columns it has.
pub(crate) fn column<'a>(batch: &'a RecordBatch, name: &str, table: &str) -> Result<&'a ArrayRef> {
    batch.column_by_name(name).ok_or_else(|| Error::MissingColumns {
        table: table.into(),
        missing: vec![name.to_string()],
        present: batch.schema().fields().iter().map(|f| f.name().clone()).collect(),
    })
}

/// Numeric column `name` of `batch` as it is, or an error naming `table` and the column.
pub(crate) fn numeric_array<'a>(batch: &'a RecordBatch, name: &str, table: &str) -> Result<&'a ArrayRef> {
    let array = column(batch, name, table)?;
    if !array.data_type().is_numeric() {
        return Err(Error::Schema {
            context: format!("{table}, column '{name}'"),
            message: format!("expected a numeric column, got {}", array.data_type()),
        });
    }
    Ok(array)
}

/// Numeric column `name` of `batch` as f64, or an error naming `table` and the column.
pub(crate) fn numeric_column(batch: &RecordBatch, name: &str, table: &str) -> Result<Float64Array> {
    let array = numeric_array(batch, name, table)?;
    Ok(cast(array, &DataType::Float64)?.as_primitive::<Float64Type>().clone())
}
