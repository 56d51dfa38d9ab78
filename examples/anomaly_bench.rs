//! Anomaly detection on the demo portfolio: the batch pass timed and scored against the generator's
//! planted anomalies (event-level precision and recall). Build it in release:
//! `cargo run --release --example anomaly_bench -- --demo 10000`.

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
