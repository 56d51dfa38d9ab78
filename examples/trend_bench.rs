//! The accountscope side of `scripts/compare_trend.py` (workloads B5 and B6 of the benchmark plan).
//! Build it in release: `cargo build --release --example trend_bench`.
//!
//! `--stl F` reads a Parquet file of series (`series` int64, `y` float64, rows in time order within each
//! series), decomposes each with STL (statsmodels' defaults for `--period`, default 7) once on one thread
//! and once on all threads, and prints one JSON object with the median times and the components of the
//! first `--sample` series. `--demo N` generates the N-account demo portfolio and times the full trend pass
//! (`trend::analyze`, five usage metrics) on it. `--health N` times one account's 12-month daily health
//! trend from a prepared `HealthScorer` (p50 / p99 over 1,000 accounts of the N-account demo).

use std::time::Instant;

use accountscope::io::{ReadOptions, read_all};
use accountscope::trend::{AnalyzeConfig, StlParams, analyze, stl};
use accountscope::{DemoConfig, Error, Result, Table, TableKind, generate};
use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, Int64Type};
use rayon::prelude::*;

#[path = "support/cli.rs"]
mod cli;

use cli::{arg, main_with, median, number};

fn main() {
    main_with(run);
}

fn run() -> Result<()> {
    let repeats = number("--repeats", 3)?.max(1);
    if let Some(path) = arg("--stl") {
        let (schema, batches) = read_all(&path, &ReadOptions::default())?;
        let batch = Table::try_new(schema, batches)?.concat()?;
        let column =
            |name: &str| batch.column_by_name(name).ok_or_else(|| Error::config("--stl", format!("no column {name}")));
        let ids = column("series")?.as_primitive::<Int64Type>().clone();
        let y = column("y")?.as_primitive::<Float64Type>().clone();
        let mut series: Vec<Vec<f64>> = Vec::new();
        for i in 0..batch.num_rows() {
            if i == 0 || ids.value(i) != ids.value(i - 1) {
                series.push(Vec::new());
            }
            if let Some(s) = series.last_mut() {
                s.push(if y.is_valid(i) { y.value(i) } else { f64::NAN });
            }
        }
        let params = StlParams::with_period(number("--period", 7)?);
        let mut sequential = Vec::new();
        let mut parallel = Vec::new();
        let mut sample = Vec::new();
        for _ in 0..repeats {
            let clock = Instant::now();
            let out: Vec<_> = series.iter().map(|s| stl(s, &params)).collect::<Result<_>>()?;
            sequential.push(clock.elapsed().as_secs_f64());
            let clock = Instant::now();
            let par: Vec<_> = series.par_iter().map(|s| stl(s, &params)).collect::<Result<_>>()?;
            parallel.push(clock.elapsed().as_secs_f64());
            if out != par {
                return Err(Error::Internal("parallel STL differs from sequential".into()));
            }
            sample = out
                .into_iter()
                .take(number("--sample", 3)?)
                .map(|d| serde_json::json!({"trend": d.trend, "seasonal": d.seasonal, "resid": d.resid}))
                .collect();
        }
        let out = serde_json::json!({
            "series": series.len(),
            "points": series.first().map_or(0, Vec::len),
            "seconds_one_thread": median(sequential),
            "seconds_all_threads": median(parallel),
            "threads": rayon::current_num_threads(),
            "sample": sample,
        });
        println!("{out}");
    }
    if let Some(accounts) = arg("--demo") {
        let accounts: usize = accounts.parse().map_err(|e| Error::config("--demo", format!("{e}")))?;
        let demo = generate(&DemoConfig::new(accounts, 42))?;
        let usage = demo.portfolio.get(TableKind::Usage);
        let config = AnalyzeConfig::default();
        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..repeats {
            drop(last.take());
            let clock = Instant::now();
            let out = analyze(usage, &config)?;
            times.push(clock.elapsed().as_secs_f64());
            last = Some(out);
        }
        let out = last.ok_or_else(|| Error::Internal("no run".into()))?;
        let json = serde_json::json!({
            "accounts": accounts,
            "usage_rows": usage.num_rows(),
            "metrics": config.seasonality.value_columns.len(),
            "series": out.trends.num_rows(),
            "change_points": out.change_points.num_rows(),
            "seconds": median(times),
            "threads": rayon::current_num_threads(),
        });
        println!("{json}");
    }
    if let Some(accounts) = arg("--health") {
        health(accounts.parse().map_err(|e| Error::config("--health", format!("{e}")))?)?;
    }
    Ok(())
}

/// B9's health half: one account's 12-month daily health trend from a prepared scorer, p50 / p99 over
/// 1,000 accounts; plus the scorer's preparation and the whole portfolio's weekly year.
fn health(accounts: usize) -> Result<()> {
    use accountscope::health::{HealthOptions, HealthScorer, default_config};
    let demo = generate(&DemoConfig::new(accounts, 42))?;
    let engine = accountscope::Engine::new()?;
    engine.register_portfolio(&demo.portfolio)?;
    let clock = Instant::now();
    let scorer = HealthScorer::new(&engine, default_config()?)?;
    let prepare = clock.elapsed().as_secs_f64();
    let end = chrono::NaiveDate::from_ymd_opt(2025, 12, 31).ok_or_else(|| Error::Internal("date".into()))?;
    let year = HealthOptions { from: end - chrono::TimeDelta::days(364), to: end, step_days: 1 };
    let ids = demo.portfolio.get(TableKind::Accounts).concat()?;
    let ids = ids.column(0).as_string::<i32>().clone();
    let step = (ids.len() / 1000).max(1);
    let mut latencies = Vec::new();
    for i in (0..ids.len()).step_by(step) {
        let clock = Instant::now();
        let trend = scorer.account_trend(ids.value(i), &year)?;
        latencies.push(clock.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(trend);
    }
    latencies.sort_by(f64::total_cmp);
    let pct = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    let clock = Instant::now();
    let weekly = scorer.history(&HealthOptions { step_days: 7, ..year })?;
    let history = clock.elapsed().as_secs_f64();
    let out = serde_json::json!({
        "accounts": accounts,
        "prepare_seconds": prepare,
        "trend_queries": latencies.len(),
        "trend_ms_p50": pct(0.5),
        "trend_ms_p99": pct(0.99),
        "trend_ms_max": pct(1.0),
        "portfolio_weekly_year_seconds": history,
        "portfolio_weekly_year_rows": weekly.history.num_rows(),
    });
    println!("{out}");
    Ok(())
}
