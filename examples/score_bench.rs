//! The Rust side of the Python overhead benchmark (`benches/python_overhead.py`): loads a churn model and a
//! GBDT booster saved by Python, reads the same feature files, and times the same calls the script times
//! through Python — the churn risk table of every row, a booster's batch prediction over a float matrix,
//! and one account's churn probability (`ChurnModel::probability_row`) — printing the medians as one JSON line.
//!
//! `cargo run --release --example score_bench -- --dir <folder written by the script> --runs 7`

use std::time::Instant;

use accountscope::gbdt::{Booster, Value};
use accountscope::io::{ReadOptions, read_all};
use accountscope::predict::{ChurnModel, Playbook, Registrable};
use accountscope::{Error, Result, Table};
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type};
use ndarray::Array2;

#[path = "support/cli.rs"]
mod cli;

use cli::{main_with, median, number, required};

fn main() {
    main_with(run);
}

fn timed<T>(runs: usize, mut f: impl FnMut() -> Result<T>) -> Result<f64> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let clock = Instant::now();
        std::hint::black_box(f()?);
        times.push(clock.elapsed().as_secs_f64());
    }
    Ok(median(times))
}

fn read(path: &std::path::Path) -> Result<RecordBatch> {
    let (schema, batches) = read_all(path, &ReadOptions::default())?;
    Ok(arrow::compute::concat_batches(&schema, &batches)?)
}

/// The matrix columns as a row-major float64 array (what numpy hands the Python binding).
fn matrix(batch: &RecordBatch) -> Result<Array2<f64>> {
    let (n, k) = (batch.num_rows(), batch.num_columns());
    let mut x = Array2::<f64>::zeros((n, k));
    for (j, column) in batch.columns().iter().enumerate() {
        let column = cast(column, &DataType::Float64)?;
        for (i, v) in column.as_primitive::<Float64Type>().values().iter().enumerate() {
            x[[i, j]] = *v;
        }
    }
    Ok(x)
}

/// One row's values in the churn model's feature order, encoded as `ChurnModel.predict_one` encodes a dict.
fn first_row(model: &ChurnModel, batch: &RecordBatch) -> Result<Vec<f64>> {
    let features = model.features();
    features
        .iter()
        .map(|f| {
            let column = batch.column_by_name(&f.name).ok_or_else(|| Error::invalid("features", f.name.clone()))?;
            if column.is_null(0) {
                f.encode(Value::Missing)
            } else if matches!(column.data_type(), DataType::Utf8 | DataType::Utf8View | DataType::Dictionary(..)) {
                let text = cast(column, &DataType::Utf8)?;
                f.encode(Value::Text(text.as_string::<i32>().value(0)))
            } else {
                let number = cast(column, &DataType::Float64)?;
                f.encode(Value::Number(number.as_primitive::<Float64Type>().value(0)))
            }
        })
        .collect()
}

fn run() -> Result<()> {
    let dir = std::path::PathBuf::from(required("--dir")?);
    let runs: usize = number("--runs", 7)?;
    let text =
        std::fs::read_to_string(dir.join("churn.json")).map_err(|e| Error::io(dir.join("churn.json").display(), e))?;
    let model: ChurnModel = serde_json::from_str(&text)?;
    model.check()?;
    let features = Table::from_batch(read(&dir.join("features.parquet"))?);
    let playbook = Playbook::default();
    let churn_predict = timed(runs, || model.predict(&features, &playbook))?;

    let booster = Booster::load(dir.join("booster.bin"))?;
    let x = matrix(&read(&dir.join("matrix.parquet"))?)?;
    let booster_predict = timed(runs, || booster.predict_array(x.view(), false))?;

    let row = first_row(&model, &features.concat()?)?;
    let calls = 100_000;
    let clock = Instant::now();
    for _ in 0..calls {
        std::hint::black_box(model.probability_row(std::hint::black_box(&row), None)?);
    }
    let one_row = clock.elapsed().as_secs_f64() / calls as f64;
    println!(
        "{{\"churn_predict_s\": {churn_predict}, \"booster_predict_s\": {booster_predict}, \"predict_row_s\": {one_row}, \
         \"rows\": {}, \"matrix_rows\": {}}}",
        features.num_rows(),
        x.nrows()
    );
    Ok(())
}
