//! Content fingerprints for lineage: XXH3-128 (non-cryptographic: they identify content, they do not
//! protect it; `twox-hash` implements XXH3 as its authors specify it).
//!
//! A table's fingerprint does not depend on how its rows are split into batches and is read straight from
//! the Arrow buffers (gigabytes per second, no per-row work for the common types): each column feeds three
//! streams — the bytes of its valid values in row order (fixed-width values, or the UTF-8 / binary bytes),
//! the byte lengths of its valid values (variable-width columns only) and the row numbers of its nulls —
//! and the fingerprint hashes the schema's names and types followed by every stream's digest. Columns of
//! other types (booleans, dictionaries, nested types) feed each row's 64-bit value hash instead. The value
//! of a fingerprint is stable for a given accountscope version.

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::{DataType, Schema};
use datafusion::common::hash_utils::{RandomState, create_hashes};
use rayon::prelude::*;
use twox_hash::XxHash3_128;

use crate::error::Result;

/// Incremental content fingerprint of a table given batch by batch.
pub(crate) struct ContentHasher {
    schema: XxHash3_128,
    columns: Vec<ColumnHasher>,
    rows: u64,
}

impl std::fmt::Debug for ContentHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ContentHasher({} rows)", self.rows)
    }
}

/// The three streams of one column.
#[derive(Default)]
struct ColumnHasher {
    values: XxHash3_128,
    lengths: XxHash3_128,
    nulls: XxHash3_128,
}

impl ContentHasher {
    /// A fingerprint of tables with `schema`.
    pub(crate) fn new(schema: &Schema) -> Self {
        let mut h = XxHash3_128::default();
        for f in schema.fields() {
            h.write(f.name().as_bytes());
            h.write(f.data_type().to_string().as_bytes());
        }
        Self { schema: h, columns: schema.fields().iter().map(|_| ColumnHasher::default()).collect(), rows: 0 }
    }

    /// Adds a batch's rows (its columns in parallel).
    pub(crate) fn update(&mut self, batch: &RecordBatch) -> Result<()> {
        let first = self.rows;
        self.columns.par_iter_mut().zip(batch.columns()).try_for_each(|(h, a)| h.update(a.as_ref(), first))?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Adds the rows of several batches in order.
    pub(crate) fn update_all(&mut self, batches: &[RecordBatch]) -> Result<()> {
        batches.iter().try_for_each(|b| self.update(b))
    }

    /// The fingerprint as 32 hex digits.
    pub(crate) fn finish(&self) -> String {
        let mut h = self.schema.clone();
        h.write(&self.rows.to_le_bytes());
        for c in &self.columns {
            for stream in [&c.values, &c.lengths, &c.nulls] {
                h.write(&stream.finish_128().to_le_bytes());
            }
        }
        format!("{:032x}", h.finish_128())
    }
}

impl ColumnHasher {
    /// Adds one batch's values of the column; its first row is row `first` of the table.
    fn update(&mut self, a: &dyn Array, first: u64) -> Result<()> {
        let nulls = a.logical_nulls().filter(|n| n.null_count() > 0);
        if let Some(n) = &nulls {
            write_u64s(&mut self.nulls, (0..a.len()).filter(|i| n.is_null(*i)).map(|i| first + i as u64));
        }
        let valid: Vec<(usize, usize)> = match &nulls {
            Some(n) => n.valid_slices().collect(),
            None => vec![(0, a.len())],
        };
        let data = a.to_data();
        match (a.data_type(), a.data_type().primitive_width()) {
            (_, Some(width)) => {
                let bytes = data.buffers()[0].as_slice();
                let at = data.offset();
                for (s, e) in valid {
                    self.values.write(&bytes[(at + s) * width..(at + e) * width]);
                }
            }
            (DataType::Utf8 | DataType::Binary, _) => self.variable::<i32>(&data, &valid),
            (DataType::LargeUtf8 | DataType::LargeBinary, _) => self.variable::<i64>(&data, &valid),
            _ => {
                let mut hashes = vec![0u64; a.len()];
                create_hashes(&[arrow::array::make_array(data)], &RandomState::with_seed(0x11e_a9e), &mut hashes)?;
                for (s, e) in valid {
                    write_u64s(&mut self.values, hashes[s..e].iter().copied());
                }
            }
        }
        Ok(())
    }

    /// Bytes and lengths of the valid values of a variable-width column with offsets of type `O`.
    fn variable<O: arrow::array::OffsetSizeTrait>(&mut self, data: &arrow::array::ArrayData, valid: &[(usize, usize)]) {
        let offsets: &[O] = &data.buffer::<O>(0)[data.offset()..data.offset() + data.len() + 1];
        let bytes = data.buffers()[1].as_slice();
        for &(s, e) in valid {
            self.values.write(&bytes[offsets[s].as_usize()..offsets[e].as_usize()]);
            write_u64s(&mut self.lengths, offsets[s..=e].windows(2).map(|w| (w[1] - w[0]).as_usize() as u64));
        }
    }
}

/// Writes numbers to a stream as little-endian bytes, in one call.
fn write_u64s(h: &mut XxHash3_128, values: impl Iterator<Item = u64>) {
    let mut bytes = Vec::with_capacity(values.size_hint().0 * 8);
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    h.write(&bytes);
}

/// XXH3-128 of bytes, hex.
pub(crate) fn hash_bytes(bytes: &[u8]) -> String {
    format!("{:032x}", XxHash3_128::oneshot(bytes))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, BooleanArray, Int64Array, StringArray};
    use arrow::datatypes::Field;

    use super::*;

    fn batch(ids: Vec<Option<i64>>, names: Vec<Option<&str>>, flags: Vec<Option<bool>>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
            Field::new("flag", DataType::Boolean, true),
        ]));
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(StringArray::from(names)),
            Arc::new(BooleanArray::from(flags)),
        ];
        RecordBatch::try_new(schema, cols).unwrap()
    }

    fn fingerprint(batches: &[RecordBatch]) -> String {
        let mut h = ContentHasher::new(&batches[0].schema());
        h.update_all(batches).unwrap();
        h.finish()
    }

    #[test]
    fn fingerprints_ignore_batching_and_see_every_change() {
        let whole = batch(
            vec![Some(1), None, Some(3), Some(4), Some(5)],
            vec![Some("ab"), Some("c"), None, Some(""), Some("de")],
            vec![Some(true), Some(false), None, Some(true), Some(false)],
        );
        let reference = fingerprint(std::slice::from_ref(&whole));
        // Sliced batches (non-zero offsets) and a different split give the same fingerprint.
        assert_eq!(fingerprint(&[whole.slice(0, 2), whole.slice(2, 3)]), reference);
        assert_eq!(fingerprint(&[whole.slice(0, 1), whole.slice(1, 3), whole.slice(4, 1)]), reference);
        // Moving bytes between neighbouring strings, a null, a value or a boolean changes it.
        let changed = [
            batch(
                vec![Some(1), None, Some(3), Some(4), Some(5)],
                vec![Some("a"), Some("bc"), None, Some(""), Some("de")],
                vec![Some(true), Some(false), None, Some(true), Some(false)],
            ),
            batch(
                vec![Some(1), None, Some(3), Some(4), Some(5)],
                vec![Some("ab"), Some("c"), Some(""), None, Some("de")],
                vec![Some(true), Some(false), None, Some(true), Some(false)],
            ),
            batch(
                vec![Some(1), Some(0), Some(3), Some(4), Some(5)],
                vec![Some("ab"), Some("c"), None, Some(""), Some("de")],
                vec![Some(true), Some(false), None, Some(true), Some(false)],
            ),
            batch(
                vec![Some(1), None, Some(3), Some(4), Some(5)],
                vec![Some("ab"), Some("c"), None, Some(""), Some("de")],
                vec![Some(true), Some(true), None, Some(true), Some(false)],
            ),
        ];
        for c in &changed {
            assert_ne!(fingerprint(std::slice::from_ref(c)), reference);
        }
    }
}
