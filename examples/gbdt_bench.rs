//! The accountscope side of `scripts/compare_gbdt.py` (workloads B1–B4 of the benchmark plan): trains on a
//! Parquet file, evaluates on another, and times training, batch and single-row prediction and TreeSHAP.
//! Prints one JSON object. Build it in release: `cargo run --release --example gbdt_bench -- ...`.
//!
//! Arguments: `--train F --test F --label COL --params JSON [--predict-rows N] [--shap-rows N] [--save F]`
//! (`--save` writes the trained model, which the script then loads from Python for the B3 single row).

use std::time::Instant;

use accountscope::gbdt::{Dataset, Features, GbdtParams, train};
use accountscope::io::{ReadOptions, read_all};
use accountscope::{Result, metrics};
use arrow::array::RecordBatch;
use arrow::compute::concat_batches;

#[path = "support/cli.rs"]
mod cli;

use cli::{arg, main_with, median, number, required};

fn main() {
    main_with(run);
}

fn read(path: &str) -> Result<RecordBatch> {
    let (schema, batches) = read_all(path, &ReadOptions::default())?;
    Ok(concat_batches(&schema, &batches)?)
}

fn run() -> Result<()> {
    let label = required("--label")?;
    let params: GbdtParams = serde_json::from_str(&required("--params")?)?;
    let train_batch = read(&required("--train")?)?;
    let test_batch = read(&required("--test")?)?;

    let start = Instant::now();
    let data = Dataset::from_batch(&train_batch, &label, None, &params.categorical_features)?;
    let model = train(&params, &data)?;
    let train_seconds = start.elapsed().as_secs_f64();
    if let Some(path) = arg("--save") {
        model.save(path)?;
    }

    let test = Dataset::from_batch_with_schema(&test_batch, &label, None, model.features())?;
    let prob = model.predict(&test.features, false)?;
    let auc = metrics::roc_auc(&test.label, &prob, None)?;
    let ap = metrics::average_precision(&test.label, &prob, None)?;

    // B3: batch prediction on the first `predict_rows` test rows (schema check and conversion included).
    let predict_rows = number("--predict-rows", 200_000)?.min(test_batch.num_rows());
    let features_only = {
        let keep: Vec<usize> =
            (0..test_batch.num_columns()).filter(|&i| test_batch.schema_ref().field(i).name() != &label).collect();
        test_batch.project(&keep)?.slice(0, predict_rows)
    };
    let mut batch_times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let p = model.predict_batch(&features_only, false)?;
        batch_times.push(t.elapsed().as_secs_f64());
        std::hint::black_box(p);
    }
    // B3: one row at a time through the allocation-free path.
    let k = model.features().len();
    let rows = 10_000.min(test.features.num_rows());
    let mut row = vec![0.0; k];
    let mut single = Vec::new();
    for i in 0..rows {
        test.features.row_into(i, &mut row);
        let t = Instant::now();
        let p = model.predict_row(&row)?;
        single.push(t.elapsed().as_secs_f64());
        std::hint::black_box(p);
    }
    // B4: TreeSHAP.
    let shap_rows = number("--shap-rows", 10_000)?.min(test_batch.num_rows());
    let shap_features = Features::with_schema(&features_only.slice(0, shap_rows.min(predict_rows)), model.features())?;
    let t = Instant::now();
    let shap = model.shap_values(&shap_features)?;
    let shap_seconds = t.elapsed().as_secs_f64();
    let raw = model.predict(&shap_features, true)?;
    let max_sum_error = (0..raw.len()).map(|i| (shap.row(i).sum() - raw[i]).abs()).fold(0.0, f64::max);

    let single_median = median(single.clone());
    single.sort_by(f64::total_cmp);
    let single_p99 = single[single.len() * 99 / 100];
    let out = serde_json::json!({
        "train_seconds": train_seconds,
        "trees": model.trees().len(),
        "test_auc": auc,
        "test_average_precision": ap,
        "batch_rows": predict_rows,
        "batch_seconds": median(batch_times),
        "single_row_median_us": single_median * 1e6,
        "single_row_p99_us": single_p99 * 1e6,
        "shap_rows": shap_features.num_rows(),
        "shap_seconds": shap_seconds,
        "shap_max_sum_error": max_sum_error,
    });
    println!("{out}");
    Ok(())
}
