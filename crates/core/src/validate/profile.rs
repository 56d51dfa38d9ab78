//! Column profiling: per-column statistics of a table as one Arrow table (one row per column), used by
//! the data-quality report and, later, by drift detection.
//!
//! - `distinct`: exact count of distinct non-null values up to 64-bit hash collisions (values are hashed
//!   with Arrow-aware hashing; two different values share a hash with probability ~n²/2⁶⁵, about 3e-6 for
//!   10 million distinct values).
//! - `mean`, `stddev` (sample, n − 1), quantiles and the histogram are computed for numeric columns;
//!   quantiles are exact with linear interpolation between order statistics (NumPy's default `linear`
//!   method, Hyndman & Fan type 7).
//! - `min` / `max` are shown as text for every orderable type; `top_values` lists the most frequent values
//!   (ties broken by first appearance) for every column that is not floating point.
//! - `histogram`: `bins` equal-width bins between min and max; the last bin includes max.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, ListArray, RecordBatch, StringArray, StructArray, UInt64Array,
};
use arrow::buffer::OffsetBuffer;
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Field, Fields, Schema};
use datafusion::common::HashMap as FastMap;
use datafusion::common::hash_utils::{RandomState, create_hashes};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::evaluate::display;
use crate::error::{Error, Result};
use crate::table::Table;

/// What the profile computes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProfileOptions {
    /// How many most frequent values to list.
    pub top_k: usize,
    /// Histogram bins for numeric columns.
    pub bins: usize,
    /// Quantile levels in `0..=1`; their columns are named `q<level>` (e.g. `q0.5`).
    pub quantiles: Vec<f64>,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        Self { top_k: 5, bins: 10, quantiles: vec![0.05, 0.25, 0.5, 0.75, 0.95] }
    }
}

/// Statistics of one column.
struct ColumnProfile {
    name: String,
    data_type: String,
    rows: u64,
    nulls: u64,
    distinct: u64,
    min: Option<String>,
    max: Option<String>,
    mean: Option<f64>,
    stddev: Option<f64>,
    quantiles: Vec<Option<f64>>,
    top: Vec<(String, u64)>,
    histogram: Vec<(f64, f64, u64)>,
}

/// Profiles every column of `table`.
pub fn profile(table: &Table, options: &ProfileOptions) -> Result<Table> {
    if let Some(q) = options.quantiles.iter().find(|q| !(0.0..=1.0).contains(*q)) {
        return Err(Error::config("profile.quantiles", format!("levels must be in 0..=1, got {q}")));
    }
    let batch = table.concat()?;
    let profiles: Vec<ColumnProfile> = (0..batch.num_columns())
        .into_par_iter()
        .map(|c| profile_column(batch.schema().field(c).name(), batch.column(c), options))
        .collect::<Result<_>>()?;
    to_table(&profiles, options)
}

fn profile_column(name: &str, a: &ArrayRef, options: &ProfileOptions) -> Result<ColumnProfile> {
    let n = a.len();
    let nulls = a.logical_null_count();
    let mut hashes = vec![0u64; n];
    create_hashes([a], &RandomState::with_seed(0x9f0f), &mut hashes)?;
    // value hash → (count, first row)
    let mut counts: FastMap<u64, (u64, usize)> = FastMap::new();
    for (i, h) in hashes.iter().enumerate() {
        if a.is_valid(i) {
            counts.entry(*h).or_insert((0, i)).0 += 1;
        }
    }
    let orderable = !matches!(a.data_type(), DataType::List(_) | DataType::Struct(_) | DataType::Map(..));
    let (min, max) = if orderable && nulls < n { min_max(a, counts.values().map(|v| v.1))? } else { (None, None) };
    let floating = a.data_type().is_floating();
    let mut top = Vec::new();
    if !floating {
        let mut by_count: Vec<(u64, usize)> = counts.values().copied().collect();
        by_count.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
        top = by_count.iter().take(options.top_k).map(|(c, row)| (display(a.as_ref(), *row), *c)).collect();
    }
    let (mut mean, mut stddev, mut quantiles, mut histogram) =
        (None, None, vec![None; options.quantiles.len()], vec![]);
    if a.data_type().is_numeric() {
        let f = cast_with_options(a, &DataType::Float64, &CastOptions::default())?;
        let mut v: Vec<f64> =
            f.as_primitive::<arrow::datatypes::Float64Type>().iter().flatten().filter(|x| !x.is_nan()).collect();
        if !v.is_empty() {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            mean = Some(m);
            if v.len() > 1 {
                stddev = Some((v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64).sqrt());
            }
            v.sort_by(f64::total_cmp);
            quantiles = options.quantiles.iter().map(|q| Some(quantile_sorted(&v, *q))).collect();
            histogram = histogram_of(&v, options.bins);
        }
    }
    Ok(ColumnProfile {
        name: name.into(),
        data_type: a.data_type().to_string(),
        rows: n as u64,
        nulls: nulls as u64,
        distinct: counts.len() as u64,
        min,
        max,
        mean,
        stddev,
        quantiles,
        top,
        histogram,
    })
}

/// The smallest and largest of `rows` (one row per distinct value), as text.
fn min_max(a: &ArrayRef, rows: impl Iterator<Item = usize>) -> Result<(Option<String>, Option<String>)> {
    let cmp = arrow::array::make_comparator(a.as_ref(), a.as_ref(), arrow::compute::SortOptions::default())?;
    let (mut lo, mut hi) = (None::<usize>, None::<usize>);
    for r in rows {
        lo = Some(lo.map_or(r, |l| if cmp(r, l).is_lt() { r } else { l }));
        hi = Some(hi.map_or(r, |h| if cmp(r, h).is_gt() { r } else { h }));
    }
    Ok((lo.map(|r| display(a.as_ref(), r)), hi.map(|r| display(a.as_ref(), r))))
}

/// Linear interpolation between order statistics (Hyndman & Fan type 7) of sorted values.
pub(crate) fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    let h = (v.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

fn histogram_of(v: &[f64], bins: usize) -> Vec<(f64, f64, u64)> {
    let (lo, hi) = (v[0], v[v.len() - 1]);
    if bins == 0 || !lo.is_finite() || !hi.is_finite() {
        return Vec::new();
    }
    if lo == hi {
        return vec![(lo, hi, v.len() as u64)];
    }
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0u64; bins];
    for x in v {
        let b = (((x - lo) / width) as usize).min(bins - 1);
        counts[b] += 1;
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, c)| (lo + i as f64 * width, if i + 1 == bins { hi } else { lo + (i + 1) as f64 * width }, c))
        .collect()
}

fn to_table(p: &[ColumnProfile], options: &ProfileOptions) -> Result<Table> {
    let top_fields =
        Fields::from(vec![Field::new("value", DataType::Utf8, false), Field::new("count", DataType::UInt64, false)]);
    let hist_fields = Fields::from(vec![
        Field::new("lower", DataType::Float64, false),
        Field::new("upper", DataType::Float64, false),
        Field::new("count", DataType::UInt64, false),
    ]);
    let top = list_of_structs(
        top_fields,
        vec![
            Arc::new(p.iter().flat_map(|c| c.top.iter().map(|t| Some(t.0.as_str()))).collect::<StringArray>()),
            Arc::new(p.iter().flat_map(|c| c.top.iter().map(|t| t.1)).collect::<UInt64Array>()),
        ],
        p.iter().map(|c| c.top.len()),
    )?;
    let hist = list_of_structs(
        hist_fields,
        vec![
            Arc::new(p.iter().flat_map(|c| c.histogram.iter().map(|h| h.0)).collect::<Float64Array>()),
            Arc::new(p.iter().flat_map(|c| c.histogram.iter().map(|h| h.1)).collect::<Float64Array>()),
            Arc::new(p.iter().flat_map(|c| c.histogram.iter().map(|h| h.2)).collect::<UInt64Array>()),
        ],
        p.iter().map(|c| c.histogram.len()),
    )?;
    let mut fields = vec![
        Field::new("column", DataType::Utf8, false),
        Field::new("data_type", DataType::Utf8, false),
        Field::new("rows", DataType::UInt64, false),
        Field::new("null_count", DataType::UInt64, false),
        Field::new("null_share", DataType::Float64, false),
        Field::new("distinct", DataType::UInt64, false),
        Field::new("min", DataType::Utf8, true),
        Field::new("max", DataType::Utf8, true),
        Field::new("mean", DataType::Float64, true),
        Field::new("stddev", DataType::Float64, true),
    ];
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(p.iter().map(|c| Some(c.name.as_str())).collect::<StringArray>()),
        Arc::new(p.iter().map(|c| Some(c.data_type.as_str())).collect::<StringArray>()),
        Arc::new(p.iter().map(|c| c.rows).collect::<UInt64Array>()),
        Arc::new(p.iter().map(|c| c.nulls).collect::<UInt64Array>()),
        Arc::new(
            p.iter().map(|c| if c.rows == 0 { 0.0 } else { c.nulls as f64 / c.rows as f64 }).collect::<Float64Array>(),
        ),
        Arc::new(p.iter().map(|c| c.distinct).collect::<UInt64Array>()),
        Arc::new(p.iter().map(|c| c.min.as_deref()).collect::<StringArray>()),
        Arc::new(p.iter().map(|c| c.max.as_deref()).collect::<StringArray>()),
        Arc::new(p.iter().map(|c| c.mean).collect::<Float64Array>()),
        Arc::new(p.iter().map(|c| c.stddev).collect::<Float64Array>()),
    ];
    for (i, q) in options.quantiles.iter().enumerate() {
        fields.push(Field::new(format!("q{q}"), DataType::Float64, true));
        cols.push(Arc::new(p.iter().map(|c| c.quantiles[i]).collect::<Float64Array>()));
    }
    fields.push(Field::new("top_values", top.data_type().clone(), false));
    cols.push(top);
    fields.push(Field::new("histogram", hist.data_type().clone(), false));
    cols.push(hist);
    Ok(Table::from_batch(RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?))
}

/// A list array whose items are structs of `columns`, `lengths` items per row.
fn list_of_structs(fields: Fields, columns: Vec<ArrayRef>, lengths: impl Iterator<Item = usize>) -> Result<ArrayRef> {
    let values = StructArray::try_new(fields.clone(), columns, None)?;
    let item = Arc::new(Field::new("item", DataType::Struct(fields), false));
    Ok(Arc::new(ListArray::try_new(item, OffsetBuffer::from_lengths(lengths), Arc::new(values), None)?))
}
