//! Splitting a long table (id columns, a time column, value columns) into series, and making one series
//! regular: every trend function starts here, so bad input is reported the same way everywhere.
//!
//! Rows are grouped by the id columns through Arrow's row format (one byte string per key, compared as
//! the values compare), so grouping allocates once per table, not once per row; groups come out in key
//! order, so results do not depend on how the input was batched or on the number of threads.
//!
//! A series' status is one of `ok`, `too_short`, `duplicate_times`, `constant`, `invalid` (the reason
//! says why); dropped nulls and non-finite values are counted in the reason, never hidden.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, PrimitiveArray, UInt32Array};
use arrow::compute::{cast, take};
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Date32Type, Field, Float32Type, Float64Type, Int32Type, Int64Type, TimeUnit,
    TimestampMillisecondType,
};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};
use datafusion::common::HashMap;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::table::Table;

/// A long table split into series by its id columns.
pub(crate) struct Grouped {
    batch: RecordBatch,
    id_columns: Vec<String>,
    /// Row indices of each series, in key order (rows in input order within a series).
    pub(crate) groups: Vec<Vec<u32>>,
    /// The time column in (fractional) days since 1970-01-01; null stays null.
    pub(crate) days: Vec<Option<f64>>,
}

impl Grouped {
    /// Groups `table` by `id_columns`; `time_column` must be a date or a timestamp.
    pub(crate) fn new(table: &Table, id_columns: &[String], time_column: &str) -> Result<Self> {
        let mut grouped = Self::by_ids(table, id_columns)?;
        grouped.days = time_in_days(column(&grouped.batch, time_column)?, time_column)?;
        Ok(grouped)
    }

    /// Groups `table` by `id_columns` without a time column (`days` stays empty: no [`Grouped::points`]).
    pub(crate) fn by_ids(table: &Table, id_columns: &[String]) -> Result<Self> {
        let batch = table.concat()?;
        let ids: Vec<ArrayRef> = id_columns.iter().map(|c| column(&batch, c).cloned()).collect::<Result<_>>()?;
        let groups = if ids.is_empty() {
            vec![(0..batch.num_rows() as u32).collect()]
        } else if let Some(groups) =
            single_string_id(&ids).and_then(|s| sorted_runs(s.len(), |a, b| s.value(a).cmp(s.value(b))))
        {
            groups
        } else {
            let converter = RowConverter::new(ids.iter().map(|a| SortField::new(a.data_type().clone())).collect())?;
            let rows = converter.convert_columns(&ids)?;
            sorted_runs(rows.num_rows(), |a, b| rows.row(a).cmp(&rows.row(b))).unwrap_or_else(|| hashed_groups(&rows))
        };
        Ok(Self { batch, id_columns: id_columns.to_vec(), groups, days: Vec::new() })
    }

    /// Rows of the input.
    pub(crate) fn num_rows(&self) -> usize {
        self.batch.num_rows()
    }

    /// A value column as f64 (numeric columns only), for reading row by row.
    pub(crate) fn float_values(&self, name: &str) -> Result<Float64Array> {
        crate::table::numeric_column(&self.batch, name, "trend input")
    }

    /// A value column (numeric columns only), read as f64 by [`Grouped::points`].
    pub(crate) fn values(&self, name: &str) -> Result<ValueColumn> {
        let array = crate::table::numeric_array(&self.batch, name, "trend input")?;
        Ok(ValueColumn(match array.data_type() {
            DataType::Int32 | DataType::Int64 | DataType::Float32 | DataType::Float64 => array.clone(),
            _ => cast(array, &DataType::Float64)?,
        }))
    }

    /// The id columns of the listed series (one row per entry of `series`, an index into `groups`),
    /// with their input types.
    pub(crate) fn key_columns(&self, series: &[usize]) -> Result<Vec<(Field, ArrayRef)>> {
        let series: Vec<Option<usize>> = series.iter().map(|&g| Some(g)).collect();
        self.key_columns_or_null(&series)
    }

    /// As [`Grouped::key_columns`], with null ids where the entry is `None` (rows about all series).
    pub(crate) fn key_columns_or_null(&self, series: &[Option<usize>]) -> Result<Vec<(Field, ArrayRef)>> {
        let first = UInt32Array::from_iter(series.iter().map(|g| g.map(|g| self.groups[g][0])));
        self.id_columns
            .iter()
            .map(|name| {
                let array = column(&self.batch, name)?;
                Ok((Field::new(name, array.data_type().clone(), true), take(array, &first, None)?))
            })
            .collect()
    }

    /// The finite points of one series, sorted by time.
    pub(crate) fn points(&self, group: usize, values: &ValueColumn) -> Points {
        let array = &values.0;
        match array.data_type() {
            DataType::Int32 => self.points_of(group, array.as_primitive::<Int32Type>(), f64::from),
            DataType::Int64 => self.points_of(group, array.as_primitive::<Int64Type>(), |v| v as f64),
            DataType::Float32 => self.points_of(group, array.as_primitive::<Float32Type>(), f64::from),
            _ => self.points_of(group, array.as_primitive::<Float64Type>(), |v| v),
        }
    }

    /// [`Grouped::points`] of a column of type `T`, each value made f64 by `to_f64` (as Arrow's cast).
    fn points_of<T: ArrowPrimitiveType>(
        &self,
        group: usize,
        values: &PrimitiveArray<T>,
        to_f64: impl Fn(T::Native) -> f64,
    ) -> Points {
        let rows = &self.groups[group];
        let (mut t, mut v) = (Vec::with_capacity(rows.len()), Vec::with_capacity(rows.len()));
        let (mut dropped_null, mut dropped_non_finite) = (0, 0);
        let (raw, any_null) = (values.values(), values.null_count() > 0);
        for &r in rows {
            let r = r as usize;
            match (self.days[r], (!any_null || values.is_valid(r)).then(|| to_f64(raw[r]))) {
                (Some(day), Some(value)) if value.is_finite() => {
                    t.push(day);
                    v.push(value);
                }
                (Some(_), Some(_)) => dropped_non_finite += 1,
                _ => dropped_null += 1,
            }
        }
        // Usually already in time order; else a stable sort by time.
        if !t.is_sorted_by(|a: &f64, b: &f64| a.total_cmp(b).is_le()) {
            let mut pairs: Vec<(f64, f64)> = t.into_iter().zip(v).collect();
            pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
            (t, v) = pairs.into_iter().unzip();
        }
        let mut notes = Vec::new();
        if dropped_null > 0 {
            notes.push(format!("{dropped_null} rows with a null time or value dropped"));
        }
        if dropped_non_finite > 0 {
            notes.push(format!("{dropped_non_finite} NaN or infinite values dropped"));
        }
        Points { t, v, notes }
    }
}

/// A numeric value column of a [`Grouped`] table: 32- and 64-bit integers and floats as they are (no
/// f64 copy of the whole column), other numeric types cast to f64 once.
pub(crate) struct ValueColumn(ArrayRef);

/// The groups when the table is sorted by its keys (the usual layout of an export: each key's rows
/// together, keys ascending): runs of equal keys, found by comparing each row's key (`compare`, in the
/// order of Arrow's row format) with the previous one instead of hashing every row. `None` as soon as a
/// key is smaller than the one before it. Same groups as the hash path.
fn sorted_runs(n: usize, compare: impl Fn(usize, usize) -> std::cmp::Ordering) -> Option<Vec<Vec<u32>>> {
    let mut groups: Vec<Vec<u32>> = Vec::new();
    for i in 0..n {
        match (i > 0).then(|| compare(i - 1, i)) {
            Some(std::cmp::Ordering::Equal) => groups.last_mut()?.push(i as u32),
            Some(std::cmp::Ordering::Greater) => return None,
            _ => groups.push(vec![i as u32]),
        }
    }
    Some(groups)
}

/// The groups of any table: rows hashed by key, groups then sorted by key.
fn hashed_groups(rows: &arrow::row::Rows) -> Vec<Vec<u32>> {
    let mut index: HashMap<arrow::row::Row<'_>, usize> = HashMap::default();
    let mut groups: Vec<Vec<u32>> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let g = *index.entry(row).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i as u32);
    }
    groups.sort_unstable_by(|a, b| rows.row(a[0] as usize).cmp(&rows.row(b[0] as usize)));
    groups
}

/// The id when it is one string column without nulls: its values compare as their bytes, as the row
/// format orders them, so a sorted table needs no row conversion.
fn single_string_id(ids: &[ArrayRef]) -> Option<&arrow::array::StringArray> {
    match ids {
        [only] if only.null_count() == 0 => only.as_string_opt::<i32>(),
        _ => None,
    }
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
    crate::table::column(batch, name, "trend input")
}

/// The time column as fractional days since the epoch (nulls stay null).
pub(crate) fn time_in_days(array: &ArrayRef, name: &str) -> Result<Vec<Option<f64>>> {
    let wrong = || Error::Schema {
        context: format!("trend input, column '{name}'"),
        message: format!("expected a date or timestamp column, got {}", array.data_type()),
    };
    match array.data_type() {
        DataType::Date32 => Ok(array.as_primitive::<Date32Type>().iter().map(|v| v.map(f64::from)).collect()),
        DataType::Date64 | DataType::Timestamp(..) => {
            let ms = cast(array, &DataType::Timestamp(TimeUnit::Millisecond, None)).map_err(|_| wrong())?;
            let ms = ms.as_primitive::<TimestampMillisecondType>();
            Ok(ms.iter().map(|v| v.map(|m| m as f64 / 86_400_000.0)).collect())
        }
        _ => Err(wrong()),
    }
}

/// The finite observations of one series in time order, with notes on what was dropped.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Points {
    /// Times in days since the epoch, ascending.
    pub(crate) t: Vec<f64>,
    /// Values.
    pub(crate) v: Vec<f64>,
    /// What was dropped and why.
    pub(crate) notes: Vec<String>,
}

impl Points {
    /// The first time that occurs twice, if any.
    pub(crate) fn duplicate_time(&self) -> Option<f64> {
        self.t.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
    }
}

/// How missing days of a daily series are filled before decomposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GapFill {
    /// Linear interpolation between the neighbouring observations (as the STL references do).
    #[default]
    Linear,
    /// Repeat the last observation.
    Previous,
    /// Fill with 0 (e.g. no usage rows means no usage).
    Zero,
    /// Do not fill: a series with gaps gets status `gaps`.
    None,
}

/// A daily series on a regular grid of whole days.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Regular {
    /// The first day (days since the epoch).
    pub(crate) start: i32,
    /// One value per day from `start`.
    pub(crate) values: Vec<f64>,
    /// How many days were filled.
    pub(crate) filled: usize,
}

/// Puts `points` on a daily grid, filling gaps by `fill`. Errors (as a status and reason) when a time is
/// not a whole day, occurs twice, or there are gaps and `fill` is `None`.
pub(crate) fn daily(points: &Points, fill: GapFill) -> std::result::Result<Regular, (&'static str, String)> {
    if let Some(t) = points.duplicate_time() {
        return Err(("duplicate_times", format!("day {} occurs more than once", day_text(t))));
    }
    let Some((&first, &last)) = points.t.first().zip(points.t.last()) else {
        return Err(("too_short", "no finite observations".into()));
    };
    if let Some(t) = points.t.iter().find(|t| t.fract() != 0.0) {
        return Err(("invalid", format!("time {t} (days) is not a whole day: resample to days first")));
    }
    let (start, end) = (first as i32, last as i32);
    let len = (end - start + 1) as usize;
    let mut values = vec![f64::NAN; len];
    for (t, v) in points.t.iter().zip(&points.v) {
        values[(*t as i32 - start) as usize] = *v;
    }
    let filled = len - points.t.len();
    if filled > 0 {
        match fill {
            GapFill::None => return Err(("gaps", format!("{filled} missing days and gap filling is off"))),
            GapFill::Zero => values.iter_mut().filter(|v| v.is_nan()).for_each(|v| *v = 0.0),
            GapFill::Previous => {
                for i in 1..len {
                    if values[i].is_nan() {
                        values[i] = values[i - 1];
                    }
                }
            }
            GapFill::Linear => {
                let mut prev = 0;
                for i in 1..len {
                    if !values[i].is_nan() {
                        let step = (values[i] - values[prev]) / (i - prev) as f64;
                        for j in prev + 1..i {
                            values[j] = values[prev] + step * (j - prev) as f64;
                        }
                        prev = i;
                    }
                }
            }
        }
    }
    Ok(Regular { start, values, filled })
}

/// A day number as an ISO date for messages.
pub(crate) fn day_text(days: f64) -> String {
    chrono::DateTime::from_timestamp_millis((days * 86_400_000.0) as i64)
        .map_or_else(|| format!("{days} days"), |d| d.format("%Y-%m-%d").to_string())
}

/// An Arrow text column.
pub(crate) fn text_column<'a>(name: &str, values: impl IntoIterator<Item = Option<&'a str>>) -> (Field, ArrayRef) {
    (Field::new(name, DataType::Utf8, true), Arc::new(arrow::array::StringArray::from_iter(values)))
}

/// An Arrow int64 column without nulls.
pub(crate) fn int_column(name: &str, values: impl IntoIterator<Item = i64>) -> (Field, ArrayRef) {
    (Field::new(name, DataType::Int64, false), Arc::new(arrow::array::Int64Array::from_iter_values(values)))
}

/// A one-batch table from named columns.
pub(crate) fn to_table(columns: Vec<(Field, ArrayRef)>) -> Result<Table> {
    let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = columns.into_iter().unzip();
    Ok(Table::from_batch(RecordBatch::try_new(Arc::new(arrow::datatypes::Schema::new(fields)), arrays)?))
}

/// The date `day` days after 1970-01-01 (the inverse of `contracts::days_since_epoch`).
pub(crate) fn epoch_date(day: i64) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::default().checked_add_signed(chrono::TimeDelta::try_days(day)?)
}

/// An Arrow date column without nulls from day numbers.
pub(crate) fn date_column(name: &str, days: impl IntoIterator<Item = i32>) -> (Field, ArrayRef) {
    (Field::new(name, DataType::Date32, false), Arc::new(arrow::array::Date32Array::from_iter_values(days)))
}

/// An Arrow float column.
pub(crate) fn float_column(name: &str, values: impl IntoIterator<Item = Option<f64>>) -> (Field, ArrayRef) {
    (Field::new(name, DataType::Float64, true), Arc::new(Float64Array::from_iter(values)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(t: &[f64], v: &[f64]) -> Points {
        Points { t: t.to_vec(), v: v.to_vec(), notes: vec![] }
    }

    #[test]
    fn gaps_are_filled_by_policy() {
        let p = points(&[10.0, 11.0, 14.0], &[1.0, 2.0, 5.0]);
        assert_eq!(daily(&p, GapFill::Linear).map(|r| r.values), Ok(vec![1.0, 2.0, 3.0, 4.0, 5.0]));
        assert_eq!(daily(&p, GapFill::Previous).map(|r| r.values), Ok(vec![1.0, 2.0, 2.0, 2.0, 5.0]));
        assert_eq!(daily(&p, GapFill::Zero).map(|r| (r.values, r.filled)), Ok((vec![1.0, 2.0, 0.0, 0.0, 5.0], 2)));
        assert_eq!(daily(&p, GapFill::None).map_err(|e| e.0), Err("gaps"));
        assert_eq!(daily(&points(&[1.0, 1.0], &[1.0, 2.0]), GapFill::Linear).map_err(|e| e.0), Err("duplicate_times"));
        assert_eq!(daily(&points(&[1.5], &[1.0]), GapFill::Linear).map_err(|e| e.0), Err("invalid"));
    }

    #[test]
    fn every_numeric_type_reads_as_its_f64_cast() {
        use arrow::array::{Date32Array, Float32Array, Int32Array, Int64Array, StringArray, UInt16Array};
        // Out of time order, with a null and (for floats) a NaN: dropped and counted the same for every type.
        let days = Date32Array::from(vec![3, 1, 2, 4]);
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("i32", Arc::new(Int32Array::from(vec![Some(30), Some(10), None, Some(-4)]))),
            ("i64", Arc::new(Int64Array::from(vec![Some(30), Some(10), None, Some(-4)]))),
            ("f32", Arc::new(Float32Array::from(vec![Some(30.0), Some(10.0), None, Some(-4.0)]))),
            ("f64", Arc::new(Float64Array::from(vec![Some(30.0), Some(10.0), None, Some(-4.0)]))),
            ("u16", Arc::new(UInt16Array::from(vec![Some(30), Some(10), None, Some(4)]))),
        ];
        let mut all: Vec<(&str, ArrayRef)> =
            vec![("id", Arc::new(StringArray::from(vec!["a"; 4]))), ("date", Arc::new(days))];
        all.extend(columns.iter().cloned());
        let table = Table::from_batch(RecordBatch::try_from_iter(all).unwrap());
        let grouped = Grouped::new(&table, &["id".to_string()], "date").unwrap();
        for (name, array) in &columns {
            let p = grouped.points(0, &grouped.values(name).unwrap());
            let cast = cast(array, &DataType::Float64).unwrap();
            let want: Vec<f64> = [1, 0, 3].iter().map(|&r| cast.as_primitive::<Float64Type>().value(r)).collect();
            assert_eq!((p.t.as_slice(), p.v.as_slice()), ([1.0, 3.0, 4.0].as_slice(), want.as_slice()), "{name}");
            assert_eq!(p.notes, ["1 rows with a null time or value dropped"], "{name}");
        }
        assert!(grouped.values("id").is_err(), "text is not a value column");
    }

    #[test]
    fn sorted_tables_group_as_the_hash_path_does() {
        use arrow::array::{Int32Array, StringArray};
        let table = |ids: Vec<&str>, n: Vec<i32>| {
            let batch = RecordBatch::try_from_iter([
                ("account_id", Arc::new(StringArray::from(ids)) as ArrayRef),
                ("n", Arc::new(Int32Array::from(n)) as ArrayRef),
            ])
            .unwrap();
            Table::from_batch(batch)
        };
        let ids = vec!["account_id".to_string(), "n".to_string()];
        let sorted = Grouped::by_ids(&table(vec!["a", "a", "b", "c", "c", "c"], vec![1, 1, 2, 3, 3, 4]), &ids).unwrap();
        assert_eq!(sorted.groups, [vec![0, 1], vec![2], vec![3, 4], vec![5]]);
        // Not sorted (a key comes back): the hash path, groups still in key order, rows in input order.
        let mixed = Grouped::by_ids(&table(vec!["c", "a", "b", "a", "c"], vec![3, 1, 2, 1, 3]), &ids).unwrap();
        assert_eq!(mixed.groups, [vec![1, 3], vec![2], vec![0, 4]]);
        // One string id: compared as strings, no row conversion; the same groups.
        let one = vec!["account_id".to_string()];
        let sorted = Grouped::by_ids(&table(vec!["a", "a", "b", "c", "c"], vec![0; 5]), &one).unwrap();
        assert_eq!(sorted.groups, [vec![0, 1], vec![2], vec![3, 4]]);
        let mixed = Grouped::by_ids(&table(vec!["b", "a", "b", "ab"], vec![0; 4]), &one).unwrap();
        assert_eq!(mixed.groups, [vec![1], vec![3], vec![0, 2]]);
    }
}
