//! Anomaly detection on the demo portfolio: the batch pass timed and scored against the generator's
//! planted anomalies (event-level precision and recall), and with `--stream` the streaming detector's
//! throughput (usage in day order, 50,000-row batches, one thread) and its recall of the same labels.
//! `cargo run --release --example anomaly_bench -- --demo 10000 [--stream [--online '{"records": true}']]`
//! (`--online`: the stream's `OnlineConfig` as JSON).

use std::time::Instant;

use accountscope::anomaly::evaluate::event_score;
use accountscope::anomaly::{AnomalyConfig, detect};
use accountscope::{DemoConfig, Result, TableKind, generate};

#[path = "support/cli.rs"]
mod cli;

use cli::{main_with, median, number};

fn main() {
    main_with(run);
}

fn run() -> Result<()> {
    let accounts = number("--demo", 1_000)?;
    let repeats = number("--repeats", 1)?.max(1);
    let demo = generate(&DemoConfig::new(accounts, number("--seed", 2024)?))?;
    let usage = demo.portfolio.get(TableKind::Usage);
    if cli::arg("--stream").is_some() || std::env::args().any(|a| a == "--stream") {
        return stream(usage, &demo.truth.anomalies, repeats);
    }
    let mut config: AnomalyConfig = match cli::arg("--config") {
        Some(json) => {
            serde_json::from_str(&json).map_err(|e| accountscope::Error::config("--config", e.to_string()))?
        }
        None => AnomalyConfig::default(),
    };
    config.point_scores = cli::arg("--dump").is_some();
    let mut times = Vec::new();
    let mut result = None;
    for _ in 0..repeats {
        let clock = Instant::now();
        result = Some(detect(usage, &config)?);
        times.push(clock.elapsed().as_secs_f64());
    }
    let result = result.expect("at least one run");
    let score = event_score(
        &result.incidents,
        &demo.truth.anomalies,
        "account_id",
        1,
        &["spike", "drop", "missing", "flatline"],
    )?;
    println!(
        "{{\"accounts\": {accounts}, \"usage_rows\": {}, \"metrics\": {}, \"seconds\": {:.3}, \"threads\": {}, \"incidents\": {}, \"events\": {}, \"precision\": {:.4}, \"recall\": {:.4}, \"labels\": {}, \"point_incidents\": {}}}",
        usage.num_rows(),
        config.value_columns.len(),
        median(times),
        rayon::current_num_threads(),
        result.incidents.num_rows(),
        result.events.num_rows(),
        score.precision(),
        score.recall(),
        score.labels,
        score.detected,
    );
    if let Some(dir) = cli::arg("--dump") {
        let options = accountscope::io::WriteOptions::default();
        for (name, table) in [
            ("incidents", &result.incidents),
            ("events", &result.events),
            ("truth", &demo.truth.anomalies),
            ("series", &result.series),
            ("usage", usage),
        ] {
            accountscope::io::write(format!("{dir}/{name}.parquet"), table.reader(), &options)?;
        }
        if let Some(scores) = &result.scores {
            accountscope::io::write(format!("{dir}/scores.parquet"), scores.reader(), &options)?;
        }
    }
    Ok(())
}

fn stream(usage: &accountscope::Table, truth: &accountscope::Table, repeats: usize) -> Result<()> {
    use accountscope::anomaly::{StreamConfig, StreamDetector};
    let online = match cli::arg("--online") {
        Some(json) => {
            serde_json::from_str(&json).map_err(|e| accountscope::Error::config("--online", e.to_string()))?
        }
        None => accountscope::anomaly::OnlineConfig::default(),
    };
    let config = StreamConfig { online, ..StreamConfig::default() };
    use arrow::compute::{SortColumn, lexsort_to_indices, take_record_batch};
    let u = usage.concat()?;
    let columns: Vec<SortColumn> = ["date", "account_id"]
        .iter()
        .map(|c| SortColumn { values: u.column_by_name(c).expect("usage has the column").clone(), options: None })
        .collect();
    let ordered = take_record_batch(&u, &lexsort_to_indices(&columns, None)?)?;
    let chunk = 50_000;
    let (mut times, mut events) = (Vec::new(), Vec::new());
    for _ in 0..repeats {
        let mut detector = StreamDetector::new(config.clone())?;
        events.clear();
        let clock = Instant::now();
        for start in (0..ordered.num_rows()).step_by(chunk) {
            let out = detector.process(&ordered.slice(start, chunk.min(ordered.num_rows() - start)))?;
            events.extend(out.into_batches());
        }
        times.push(clock.elapsed().as_secs_f64());
    }
    let seconds = median(times);
    let points = 5 * ordered.num_rows();
    let events = accountscope::Table::try_new(events[0].schema(), events)?;
    let score = event_score(&events, truth, "account_id", 1, &[])?;
    println!(
        "{{\"rows\": {}, \"points\": {points}, \"seconds\": {seconds:.3}, \"points_per_second\": {:.0}, \"events\": {}, \"recall\": {:.4}}}",
        ordered.num_rows(),
        points as f64 / seconds,
        events.num_rows(),
        score.recall()
    );
    Ok(())
}
