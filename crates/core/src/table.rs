//! [`Table`]: a schema and its record batches, the unit every accountscope operation takes and returns.
//!
//! A plain `Vec<RecordBatch>` loses the schema when it is empty; `Table` keeps it, so an empty result still
//! says what its columns are (and a binding can still export it over the Arrow C stream interface).

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, RecordBatchReader};
use arrow::compute::{CastOptions, cast, cast_with_options, concat_batches};
use arrow::datatypes::{DataType, Float64Type, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchIterator};
use arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::error::{BadValue, Error, Result, from_arrow};
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

/// At most this many failing values are quoted in an [`Error::Cast`].
pub(crate) const MAX_BAD_EXAMPLES: usize = 10;

/// `array` cast to `target`, with the values the cast could not carry over (arrow's cast turns text that
/// is not a number or a date, or a number out of the target's range, into a null): their rows, counted
/// from `offset`, and their text. A cast arrow does not support is a schema error naming `context()`.
pub(crate) fn cast_checked(
    array: &ArrayRef,
    target: &DataType,
    offset: usize,
    context: impl Fn() -> String,
) -> Result<(ArrayRef, Vec<BadValue>)> {
    let out = cast_with_options(array, target, &CastOptions { safe: true, ..Default::default() }).map_err(|e| {
        Error::Schema { context: context(), message: format!("cannot cast {} to {target}: {e}", array.data_type()) }
    })?;
    let mut bad = Vec::new();
    // Logical nulls: a column of arrow's null type has no null buffer, yet every value is null.
    let input_nulls = array.logical_nulls();
    if out.null_count() > input_nulls.as_ref().map_or(0, |n| n.null_count()) {
        let formatter = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default())?;
        for i in 0..array.len() {
            if input_nulls.as_ref().is_none_or(|n| n.is_valid(i)) && out.is_null(i) {
                bad.push(BadValue { row: offset + i, value: formatter.value(i).to_string() });
            }
        }
    }
    Ok((out, bad))
}

/// Column `column` of `table` cast to `target`, where a value that does not carry over is an
/// [`Error::Cast`] with the count and the first rows, never a silent null; a type that cannot be cast at
/// all is a schema error saying `expected` (e.g. "a date") and the type found.
pub(crate) fn cast_strict(
    array: &ArrayRef,
    target: &DataType,
    table: &str,
    column: &str,
    expected: &str,
) -> Result<ArrayRef> {
    let context = || format!("{table}, column '{column}'");
    let (out, bad) = cast_checked(array, target, 0, context).map_err(|_| Error::Schema {
        context: context(),
        message: format!("expected {expected}, got {}", array.data_type()),
    })?;
    if bad.is_empty() {
        return Ok(out);
    }
    Err(Error::Cast {
        table: table.into(),
        column: column.into(),
        expected: expected.into(),
        count: bad.len(),
        examples: bad.into_iter().take(MAX_BAD_EXAMPLES).collect(),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{BooleanArray, NullArray, StringArray};

    use super::*;

    #[test]
    fn strict_casts_name_what_does_not_carry_over() {
        let text: ArrayRef = Arc::new(StringArray::from(vec![Some("1.5"), None, Some("x"), Some(" 2"), Some("y")]));
        let err = cast_strict(&text, &DataType::Float64, "usage", "logins", "a number").unwrap_err();
        assert_eq!(
            err.to_string(),
            "table 'usage', column 'logins': 2 value(s) cannot be read as a number; first rows: row 2 = \"x\", row 4 = \"y\""
        );
        assert!(err.with_row_offset(10).to_string().ends_with("row 12 = \"x\", row 14 = \"y\""));
        let good: ArrayRef = Arc::new(StringArray::from(vec![Some("1.5"), None, Some("-3")]));
        let out = cast_strict(&good, &DataType::Float64, "usage", "logins", "a number").unwrap();
        assert_eq!(out.as_primitive::<Float64Type>().iter().collect::<Vec<_>>(), [Some(1.5), None, Some(-3.0)]);
        // Arrow's null type has no null buffer, yet nothing is lost casting it.
        let nulls: ArrayRef = Arc::new(NullArray::new(3));
        assert_eq!(cast_strict(&nulls, &DataType::Date32, "t", "d", "a date").unwrap().null_count(), 3);
        let flags: ArrayRef = Arc::new(BooleanArray::from(vec![true]));
        let err = cast_strict(&flags, &DataType::Date32, "t", "d", "a date").unwrap_err();
        assert_eq!(err.to_string(), "schema error in t, column 'd': expected a date, got Boolean");
    }
}
