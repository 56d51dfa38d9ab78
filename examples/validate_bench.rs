//! The accountscope side of `scripts/compare_validate.py` (workload B7 of the benchmark plan): validates a
//! Parquet file held in memory against a YAML rule set and prints one JSON object with the median wall time
//! and each rule's failing-row count. Build it in release: `cargo run --release --example validate_bench`.
//!
//! Arguments: `--data F --rules F [--repeats N]`.

use std::collections::BTreeMap;
use std::time::Instant;

use accountscope::io::{ReadOptions, read_all};
use accountscope::validate::{RuleSet, Validator};
use accountscope::{Error, Result, Table};

#[path = "support/cli.rs"]
mod cli;

use cli::{main_with, number, required};

fn main() {
    main_with(run);
}

fn run() -> Result<()> {
    let data = required("--data")?;
    let rules = RuleSet::from_path(required("--rules")?)?;
    let repeats: usize = number("--repeats", 3)?;
    let (schema, batches) = read_all(&data, &ReadOptions::default())?;
    let table = Table::try_new(schema, batches)?;
    let name = rules.tables.first().map(|t| t.table.clone()).ok_or_else(|| Error::config("rules", "no table"))?;
    let validator = Validator::new(rules)?;
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..repeats.max(1) {
        drop(last.take()); // the previous run's outputs are freed before the next run starts
        let clock = Instant::now();
        let run = validator.validate(&[(name.as_str(), &table)])?;
        times.push(clock.elapsed().as_secs_f64());
        last = Some(run);
    }
    times.sort_by(f64::total_cmp);
    let run = last.ok_or_else(|| Error::Internal("no run".into()))?;
    let report = run.report.table(&name).ok_or_else(|| Error::Internal("no report".into()))?;
    let failed: BTreeMap<&str, u64> = report.rules.iter().map(|r| (r.rule_id.as_str(), r.failed)).collect();
    let out = serde_json::json!({
        "rows": report.rows_in,
        "seconds": times[times.len() / 2],
        "all_seconds": times,
        "clean": report.rows_clean,
        "quarantined": report.rows_quarantined,
        "failed": failed,
    });
    println!("{out}");
    Ok(())
}
