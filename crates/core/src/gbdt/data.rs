//! Model inputs: features from Arrow record batches or ndarray, with the feature schema the model keeps.
//!
//! Columns are stored as `f64` (missing = NaN), as LightGBM's `Dataset` does. Numeric and boolean Arrow
//! columns are numeric features; string, large-string, string-view and dictionary-of-string columns are
//! categorical (their sorted distinct values become codes 0..k); integer columns named in
//! `categorical_features` are categorical with the integers as codes. At prediction the input must have
//! exactly the model's feature columns with the same kinds: a missing, extra or re-typed column is a
//! [`Error::Schema`] (LightGBM predicts silently on such input; we do not).

use std::collections::BTreeSet;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type};
use ndarray::ArrayView2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Values of a batch from which reading its columns runs in parallel.
const PARALLEL_VALUES: usize = 1 << 16;

/// Largest categorical code accepted (codes index bitsets in the trees).
pub const MAX_CATEGORY_CODE: f64 = (1u32 << 30) as f64;

/// How a feature enters the trees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureKind {
    /// A number (integers and floats); NaN or null is missing.
    Numeric,
    /// A boolean (false = 0, true = 1).
    Boolean,
    /// A category. `categories` holds the string values (code = position) when the input was text; it is
    /// `None` when the input held integer codes.
    Categorical {
        /// String values by code, for text input.
        categories: Option<Vec<String>>,
    },
}

impl FeatureKind {
    /// Whether splits on this feature are categorical.
    pub fn is_categorical(&self) -> bool {
        matches!(self, Self::Categorical { .. })
    }
}

/// A feature's name and kind, stored in the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureInfo {
    /// Column name.
    pub name: String,
    /// How the trees use it.
    pub kind: FeatureKind,
}

/// One value of a single row, by feature (the single-row scoring path: [`FeatureInfo::encode`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// A number (booleans as 0 / 1; category codes of code-categorical features).
    Number(f64),
    /// A category's text.
    Text(&'a str),
    /// No value.
    Missing,
}

impl FeatureInfo {
    /// The value as the trees read it, with the batch path's rules: text categories map to their training
    /// code and an unseen category to missing (the unseen-category policy); a number where the model has
    /// text categories, text where it has numbers, or an invalid category code is an error naming the
    /// feature.
    pub fn encode(&self, value: Value<'_>) -> Result<f64> {
        let wrong = |expected: &str| {
            Err(Error::Schema {
                context: format!("feature '{}'", self.name),
                message: format!("the model was trained on {expected} values, got {value:?}"),
            })
        };
        match (&self.kind, value) {
            (_, Value::Missing) => Ok(f64::NAN),
            (FeatureKind::Categorical { categories: Some(c) }, Value::Text(s)) => {
                Ok(c.binary_search_by(|x| x.as_str().cmp(s)).map_or(f64::NAN, |code| code as f64))
            }
            (FeatureKind::Categorical { categories: Some(_) }, Value::Number(_)) => wrong("text (categorical)"),
            (FeatureKind::Categorical { categories: None }, Value::Number(v)) => {
                check_codes(&self.name, &[v])?;
                Ok(v)
            }
            (FeatureKind::Categorical { categories: None }, Value::Text(_)) => wrong("integer category code"),
            (FeatureKind::Numeric | FeatureKind::Boolean, Value::Number(v)) => Ok(v),
            (FeatureKind::Numeric | FeatureKind::Boolean, Value::Text(_)) => wrong("numeric"),
        }
    }
}

/// Feature columns as `f64` (column-major), with their schema.
#[derive(Debug, Clone)]
pub struct Features {
    info: Vec<FeatureInfo>,
    columns: Vec<Vec<f64>>,
    rows: usize,
}

impl Features {
    /// Features from a row-major matrix. `names` defaults to `f0, f1, ...`; columns named in `categorical`
    /// hold integer category codes ≥ 0 (NaN = missing).
    pub fn from_array(x: ArrayView2<'_, f64>, names: Option<&[String]>, categorical: &[String]) -> Result<Self> {
        let names: Vec<String> = match names {
            Some(n) if n.len() != x.ncols() => {
                return Err(Error::invalid("feature_names", format!("{} names for {} columns", n.len(), x.ncols())));
            }
            Some(n) => n.to_vec(),
            None => (0..x.ncols()).map(|j| format!("f{j}")).collect(),
        };
        check_known(&names, categorical)?;
        let mut info = Vec::with_capacity(names.len());
        let mut columns = Vec::with_capacity(names.len());
        for (j, name) in names.into_iter().enumerate() {
            let column: Vec<f64> = x.column(j).to_vec();
            let kind = if categorical.contains(&name) {
                check_codes(&name, &column)?;
                FeatureKind::Categorical { categories: None }
            } else {
                FeatureKind::Numeric
            };
            info.push(FeatureInfo { name, kind });
            columns.push(column);
        }
        Self::new(info, columns)
    }

    /// Features from every column of `batch` except `exclude` (e.g. the label), learning the categories of
    /// text columns.
    pub fn from_batch(batch: &RecordBatch, exclude: &[&str], categorical: &[String]) -> Result<Self> {
        let schema = batch.schema();
        let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        check_known(&names, categorical)?;
        let mut info = Vec::new();
        let mut columns = Vec::new();
        for (field, array) in schema.fields().iter().zip(batch.columns()) {
            if exclude.contains(&field.name().as_str()) {
                continue;
            }
            let name = field.name().clone();
            let (kind, column) = if is_text(array.data_type()) {
                let categories = distinct_strings(array)?;
                let column = encode_strings(&name, array, &categories)?;
                (FeatureKind::Categorical { categories: Some(categories) }, column)
            } else if categorical.contains(&name) {
                let column = numeric_column(&name, array)?;
                check_codes(&name, &column)?;
                (FeatureKind::Categorical { categories: None }, column)
            } else if array.data_type() == &DataType::Boolean {
                (FeatureKind::Boolean, numeric_column(&name, array)?)
            } else {
                (FeatureKind::Numeric, numeric_column(&name, array)?)
            };
            info.push(FeatureInfo { name, kind });
            columns.push(column);
        }
        Self::new(info, columns)
    }

    /// Features of `batch` read with a model's schema: the columns must be exactly the model's features
    /// (any order) with the same kinds. Unseen category strings become missing.
    pub fn with_schema(batch: &RecordBatch, schema: &[FeatureInfo]) -> Result<Self> {
        let input = batch.schema();
        let present: Vec<String> = input.fields().iter().map(|f| f.name().clone()).collect();
        let missing: Vec<String> =
            schema.iter().filter(|f| !present.contains(&f.name)).map(|f| f.name.clone()).collect();
        if !missing.is_empty() {
            return Err(Error::MissingColumns { table: "gbdt input".into(), missing, present });
        }
        let extra: Vec<&String> = present.iter().filter(|p| !schema.iter().any(|f| &&f.name == p)).collect();
        if !extra.is_empty() {
            return Err(Error::Schema {
                context: "gbdt input".into(),
                message: format!("column(s) {extra:?} are not features of the model (it has {})", names(schema)),
            });
        }
        // Column by column, in parallel when the batch is large enough to pay for waking the threads; the
        // first failing column in schema order is the error reported.
        let read = |feature: &FeatureInfo| read_column(batch, feature);
        let columns: Vec<Result<Vec<f64>>> = if batch.num_rows() * schema.len() >= PARALLEL_VALUES {
            schema.par_iter().map(read).collect()
        } else {
            schema.iter().map(read).collect()
        };
        Self::new(schema.to_vec(), columns.into_iter().collect::<Result<_>>()?)
    }

    /// Features of a matrix read with a model's schema (columns in the model's order; text categories
    /// must already be codes).
    pub fn array_with_schema(x: ArrayView2<'_, f64>, schema: &[FeatureInfo]) -> Result<Self> {
        if x.ncols() != schema.len() {
            return Err(Error::Schema {
                context: "gbdt input".into(),
                message: format!(
                    "{} columns, but the model has {} features ({})",
                    x.ncols(),
                    schema.len(),
                    names(schema)
                ),
            });
        }
        let columns: Vec<Vec<f64>> = (0..x.ncols()).map(|j| x.column(j).to_vec()).collect();
        for (f, c) in schema.iter().zip(&columns) {
            if f.kind.is_categorical() {
                check_codes(&f.name, c)?;
            }
        }
        Self::new(schema.to_vec(), columns)
    }

    fn new(info: Vec<FeatureInfo>, columns: Vec<Vec<f64>>) -> Result<Self> {
        if info.is_empty() {
            return Err(Error::invalid("gbdt input", "no feature columns"));
        }
        let rows = columns.first().map_or(0, Vec::len);
        Ok(Self { info, columns, rows })
    }

    /// The feature schema.
    pub fn info(&self) -> &[FeatureInfo] {
        &self.info
    }

    /// Column `j` (NaN = missing).
    pub fn column(&self, j: usize) -> &[f64] {
        &self.columns[j]
    }

    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.rows
    }

    /// Number of features.
    pub fn num_features(&self) -> usize {
        self.info.len()
    }

    /// Copies row `i` into `out` (length = number of features).
    pub fn row_into(&self, i: usize, out: &mut [f64]) {
        for (o, c) in out.iter_mut().zip(&self.columns) {
            *o = c[i];
        }
    }

    /// Calls `f(row, slot)` for every row and its slot in `out`, in parallel over blocks of `block` rows
    /// gathered row-major with [`Self::rows_into`].
    pub(crate) fn par_rows(&self, out: &mut [f64], block: usize, f: impl Fn(&[f64], &mut f64) + Sync) {
        self.par_blocks(out, block, |rows, chunk| {
            for (slot, row) in chunk.iter_mut().zip(rows.chunks_exact(self.num_features().max(1))) {
                f(row, slot);
            }
        });
    }

    /// Like [`Self::par_rows`], handing `f` a whole block: its rows row-major and their output slots.
    pub(crate) fn par_blocks(&self, out: &mut [f64], block: usize, f: impl Fn(&[f64], &mut [f64]) + Sync) {
        let k = self.num_features();
        out.par_chunks_mut(block).enumerate().for_each(|(c, chunk)| {
            let mut rows = vec![0.0; chunk.len() * k];
            self.rows_into(c * block, &mut rows);
            f(&rows, chunk);
        });
    }

    /// Copies rows `start..start + out.len() / features` into `out`, row-major. Reading column by column
    /// keeps every read sequential, which a row-at-a-time gather over many columns does not.
    pub fn rows_into(&self, start: usize, out: &mut [f64]) {
        let k = self.columns.len();
        let len = out.len() / k;
        for (j, c) in self.columns.iter().enumerate() {
            for (r, v) in c[start..start + len].iter().enumerate() {
                out[r * k + j] = *v;
            }
        }
    }
}

/// Training data: features, labels and optional sample weights.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The features.
    pub features: Features,
    /// One label per row.
    pub label: Vec<f64>,
    /// Optional sample weights (≥ 0, finite).
    pub weight: Option<Vec<f64>>,
}

impl Dataset {
    /// A dataset; checks lengths and that labels and weights are finite.
    pub fn new(features: Features, label: Vec<f64>, weight: Option<Vec<f64>>) -> Result<Self> {
        let rows = features.num_rows();
        if label.len() != rows {
            return Err(Error::invalid("label", format!("{} labels for {rows} rows", label.len())));
        }
        if let Some(i) = label.iter().position(|v| !v.is_finite()) {
            return Err(Error::invalid(
                format!("label, row {i}"),
                format!("expected a finite value, got {}", label[i]),
            ));
        }
        if let Some(w) = &weight {
            if w.len() != rows {
                return Err(Error::invalid("weight", format!("{} weights for {rows} rows", w.len())));
            }
            if let Some(i) = w.iter().position(|v| !v.is_finite() || *v < 0.0) {
                return Err(Error::invalid(
                    format!("weight, row {i}"),
                    format!("expected a finite value >= 0, got {}", w[i]),
                ));
            }
        }
        Ok(Self { features, label, weight })
    }

    /// A dataset from a record batch: `label` (and `weight`) name columns; every other column is a feature.
    pub fn from_batch(batch: &RecordBatch, label: &str, weight: Option<&str>, categorical: &[String]) -> Result<Self> {
        let (label_values, weight_values) = label_and_weight(batch, label, weight)?;
        let exclude: Vec<&str> = std::iter::once(label).chain(weight).collect();
        let features = Features::from_batch(batch, &exclude, categorical)?;
        Self::new(features, label_values, weight_values)
    }

    /// A dataset read with a model's (or training set's) feature schema, e.g. a validation set: category
    /// codes then agree with the training data's.
    pub fn from_batch_with_schema(
        batch: &RecordBatch,
        label: &str,
        weight: Option<&str>,
        schema: &[FeatureInfo],
    ) -> Result<Self> {
        let (label_values, weight_values) = label_and_weight(batch, label, weight)?;
        let keep: Vec<usize> = (0..batch.num_columns())
            .filter(|&i| {
                let name = batch.schema_ref().field(i).name().as_str();
                name != label && Some(name) != weight
            })
            .collect();
        let features = Features::with_schema(&batch.project(&keep)?, schema)?;
        Self::new(features, label_values, weight_values)
    }

    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.label.len()
    }
}

fn label_and_weight(batch: &RecordBatch, label: &str, weight: Option<&str>) -> Result<(Vec<f64>, Option<Vec<f64>>)> {
    let column = |name: &str| {
        batch.column_by_name(name).ok_or_else(|| Error::MissingColumns {
            table: "gbdt training data".into(),
            missing: vec![name.to_string()],
            present: batch.schema().fields().iter().map(|f| f.name().clone()).collect(),
        })
    };
    let label_values = numeric_column(label, column(label)?)?;
    let weight_values = weight.map(|w| column(w).and_then(|a| numeric_column(w, a))).transpose()?;
    Ok((label_values, weight_values))
}

fn names(schema: &[FeatureInfo]) -> String {
    schema.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ")
}

fn check_known(names: &[String], categorical: &[String]) -> Result<()> {
    match categorical.iter().find(|c| !names.contains(c)) {
        Some(c) => Err(Error::config(
            "gbdt.categorical_features",
            format!("'{c}' is not a column; columns: {}", names.join(", ")),
        )),
        None => Ok(()),
    }
}

fn check_codes(name: &str, column: &[f64]) -> Result<()> {
    let valid = |v: f64| v.is_nan() || (v.fract() == 0.0 && (0.0..MAX_CATEGORY_CODE).contains(&v));
    let bad = column.iter().position(|v| !valid(*v));
    match bad {
        Some(i) => Err(Error::invalid(
            format!("column '{name}', row {i}"),
            format!("a categorical code must be an integer in [0, 2^30) or missing, got {}", column[i]),
        )),
        None => Ok(()),
    }
}

fn is_text(dt: &DataType) -> bool {
    match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, value) => is_text(value),
        _ => false,
    }
}

fn numeric_column(name: &str, array: &ArrayRef) -> Result<Vec<f64>> {
    let dt = array.data_type();
    if !(dt.is_numeric() || dt == &DataType::Boolean || dt == &DataType::Null) {
        return Err(Error::Schema {
            context: format!("gbdt input, column '{name}'"),
            message: format!("expected a numeric, boolean or text column, got {dt}"),
        });
    }
    let floats = cast(array, &DataType::Float64)?;
    let floats = floats.as_primitive::<Float64Type>();
    Ok((0..floats.len()).map(|i| if floats.is_null(i) { f64::NAN } else { floats.value(i) }).collect())
}

fn utf8(array: &ArrayRef) -> Result<ArrayRef> {
    Ok(cast(array, &DataType::Utf8)?)
}

fn distinct_strings(array: &ArrayRef) -> Result<Vec<String>> {
    let strings = utf8(array)?;
    let strings = strings.as_string::<i32>();
    let set: BTreeSet<&str> = strings.iter().flatten().collect();
    Ok(set.into_iter().map(str::to_string).collect())
}

fn encode_strings(name: &str, array: &ArrayRef, categories: &[String]) -> Result<Vec<f64>> {
    if categories.len() as f64 >= MAX_CATEGORY_CODE {
        return Err(Error::invalid(format!("column '{name}'"), "too many distinct categories"));
    }
    let strings = utf8(array)?;
    let strings = strings.as_string::<i32>();
    Ok(strings
        .iter()
        .map(|s| match s {
            Some(s) => categories.binary_search_by(|c| c.as_str().cmp(s)).map_or(f64::NAN, |code| code as f64),
            None => f64::NAN,
        })
        .collect())
}

/// One feature's column of `batch` as values (text categories as codes), checked against the model's kind.
fn read_column(batch: &RecordBatch, feature: &FeatureInfo) -> Result<Vec<f64>> {
    let array = batch.column_by_name(&feature.name).ok_or_else(|| Error::Internal("column vanished".into()))?;
    let dt = array.data_type();
    let retyped = |expected: &str| Error::Schema {
        context: format!("gbdt input, column '{}'", feature.name),
        message: format!("the model was trained on {expected} values, got {dt}"),
    };
    match &feature.kind {
        FeatureKind::Categorical { categories: Some(categories) } => {
            if !is_text(dt) {
                return Err(retyped("text (categorical)"));
            }
            encode_strings(&feature.name, array, categories)
        }
        FeatureKind::Categorical { categories: None } => {
            if !dt.is_integer() && !dt.is_floating() {
                return Err(retyped("integer category code"));
            }
            let column = numeric_column(&feature.name, array)?;
            check_codes(&feature.name, &column)?;
            Ok(column)
        }
        FeatureKind::Boolean if dt != &DataType::Boolean => Err(retyped("boolean")),
        FeatureKind::Numeric if !dt.is_numeric() => Err(retyped("numeric")),
        FeatureKind::Boolean | FeatureKind::Numeric => numeric_column(&feature.name, array),
    }
}
