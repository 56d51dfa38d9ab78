//! Time-honest evaluation: what a feature table looked like at a past date (rows before it, labels only
//! where their horizon had ended), and rolling-origin cross-validation (Tashman 2000): for each cut-off,
//! train on what was known then and evaluate on the snapshots of the following window.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, BooleanArray, RecordBatch};
use arrow::compute::{filter_record_batch, nullif};
use arrow::datatypes::Date32Type;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::churn::{ChurnConfig, ChurnModel, HorizonEvaluation};
use crate::contracts::days_since_epoch;
use crate::error::Result;
use crate::table::{Table, column};

/// The horizon in days of a label column (`churn_90d` → 90).
fn horizon_of(name: &str) -> Option<i32> {
    if !super::churn::is_label(name) {
        return None;
    }
    let digits: String = name[..name.len() - 1].chars().rev().take_while(char::is_ascii_digit).collect();
    digits.chars().rev().collect::<String>().parse().ok()
}

fn snapshot_days(batch: &RecordBatch) -> Result<arrow::array::Date32Array> {
    Ok(column(batch, "snapshot_date", "features")?.as_primitive::<Date32Type>().clone())
}

/// The rows of `features` with snapshots before `cutoff`, with every label whose horizon reaches `cutoff`
/// or later set to null: the training data a model fitted on `cutoff` could have had.
pub fn known_at(features: &Table, cutoff: NaiveDate) -> Result<Table> {
    let d = days_since_epoch(cutoff);
    let batch = features.concat()?;
    let days = snapshot_days(&batch)?;
    let keep: BooleanArray = days.iter().map(|t| Some(t.is_some_and(|t| t < d))).collect();
    let batch = filter_record_batch(&batch, &keep)?;
    let days = snapshot_days(&batch)?;
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    for (field, array) in batch.schema().fields().iter().zip(batch.columns()) {
        match horizon_of(field.name()) {
            Some(h) => {
                let unknown: BooleanArray = days.iter().map(|t| Some(t.is_some_and(|t| t + h > d))).collect();
                columns.push(nullif(array, &unknown)?);
            }
            None => columns.push(Arc::clone(array)),
        }
    }
    Ok(Table::from_batch(RecordBatch::try_new(batch.schema(), columns)?))
}

/// The rows of `features` with snapshots in `from .. to`.
pub fn snapshots_between(features: &Table, from: NaiveDate, to: NaiveDate) -> Result<Table> {
    let (lo, hi) = (days_since_epoch(from), days_since_epoch(to));
    let batch = features.concat()?;
    let days = snapshot_days(&batch)?;
    let keep: BooleanArray = days.iter().map(|t| Some(t.is_some_and(|t| t >= lo && t < hi))).collect();
    Ok(Table::from_batch(filter_record_batch(&batch, &keep)?))
}

/// One fold of [`rolling_origin`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fold {
    /// The deployment date of the fold.
    pub cutoff: NaiveDate,
    /// Rows the model was trained on.
    pub train_rows: usize,
    /// Rows evaluated (snapshots from the cut-off for the test window).
    pub test_rows: usize,
    /// Per horizon with both classes among the labelled test rows.
    pub evaluations: Vec<HorizonEvaluation>,
}

/// Rolling-origin cross-validation of the churn model: for each cut-off, fit on [`known_at`] and evaluate
/// on the snapshots of the next `test_days`.
pub fn rolling_origin(
    features: &Table,
    config: &ChurnConfig,
    cutoffs: &[NaiveDate],
    test_days: u32,
) -> Result<Vec<Fold>> {
    cutoffs
        .iter()
        .map(|&cutoff| {
            let train = known_at(features, cutoff)?;
            let model = ChurnModel::fit(&train, config)?;
            let end = cutoff + chrono::TimeDelta::days(i64::from(test_days));
            let test = snapshots_between(features, cutoff, end)?;
            Ok(Fold {
                cutoff,
                train_rows: train.num_rows(),
                test_rows: test.num_rows(),
                evaluations: model.evaluate(&test)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn horizons_are_read_from_label_names() {
        assert_eq!(horizon_of("churn_90d"), Some(90));
        assert_eq!(horizon_of("expansion_mrr_365d"), Some(365));
        assert_eq!(horizon_of("mrr"), None);
    }
}
