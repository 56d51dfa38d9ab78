//! The churn classifier on real data: IBM Telco customer churn with the fixed split of
//! `../shared/data/churn/ibm_telco_splits.csv` (stratified 80/20, seed 42). The classifier holds out a
//! seeded 20% of the training rows for early stopping and calibration, and is scored on the test rows,
//! beside LightGBM's published 0.8358 ROC AUC on the same split.
//! `cargo run --release --example telco [-- --data ../shared/data/churn]`.

use std::sync::Arc;

use accountscope::io::{ReadOptions, open};
use accountscope::predict::{BinaryClassifier, ClassifierConfig, Columns};
use accountscope::{Error, Result, Table};
use arrow::array::{Array, ArrayRef, AsArray, Float64Array, RecordBatch, UInt32Array};
use arrow::compute::{cast, take_record_batch};
use arrow::datatypes::{DataType, Field, Schema};

#[path = "support/cli.rs"]
mod cli;

fn main() {
    cli::main_with(run);
}

fn read(path: &std::path::Path) -> Result<RecordBatch> {
    let options = ReadOptions { infer_rows: 10_000, ..ReadOptions::default() };
    Table::from_reader(open(path, &options)?)?.concat()
}

fn run() -> Result<()> {
    let dir = std::path::PathBuf::from(cli::arg("--data").unwrap_or_else(|| "../shared/data/churn".into()));
    let raw = read(&dir.join("ibm_telco_customer_churn.csv"))?;
    let splits = read(&dir.join("ibm_telco_splits.csv"))?;

    // customerID is an id; TotalCharges has blank cells (read as text) that become missing; Churn Yes/No.
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (field, column) in raw.schema().fields().iter().zip(raw.columns()) {
        match field.name().as_str() {
            "customerID" => {}
            "TotalCharges" => {
                fields.push(Field::new("TotalCharges", DataType::Float64, true));
                columns.push(cast(column, &DataType::Float64)?);
            }
            "Churn" => {
                let text = column.as_string::<i32>();
                fields.push(Field::new("churn", DataType::Float64, false));
                columns.push(Arc::new(Float64Array::from_iter_values(
                    (0..text.len()).map(|i| f64::from(u8::from(text.value(i) == "Yes"))),
                )));
            }
            _ => {
                fields.push(field.as_ref().clone());
                columns.push(column.clone());
            }
        }
    }
    let data = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
    let holdout = splits.column_by_name("holdout").ok_or_else(|| Error::invalid("splits", "no holdout column"))?;
    let holdout = holdout.as_string::<i32>();
    let rows = |part: &str| {
        UInt32Array::from_iter_values((0..holdout.len()).filter(|&i| holdout.value(i) == part).map(|i| i as u32))
    };
    let (train, test) = (take_record_batch(&data, &rows("train"))?, take_record_batch(&data, &rows("test"))?);

    let config = ClassifierConfig::default();
    let model = BinaryClassifier::fit(&train, Columns { label: "churn", time: None, exclude: &[] }, &config)?;
    let e = model.evaluate(&test)?;
    println!(
        "Telco test rows {} ({} churned): ROC AUC {:.4} (LightGBM 0.8358), PR AUC {:.4} (0.6389), log-loss {:.4}, Brier {:.4}; {} trees, calibration {}",
        e.rows,
        e.positives,
        e.roc_auc,
        e.pr_auc,
        e.log_loss,
        e.brier,
        model.booster().trees().len(),
        model.calibrator().name()
    );
    Ok(())
}
