//! Report benchmark: the executive summary of an N-account portfolio (default 10,000) in all four formats.
//! The pipeline (health, anomalies, churn and expansion models, today's scores) runs first and is not
//! timed; then the report is built (its SQL widgets, privacy for the executive role) and rendered as JSON,
//! HTML, Excel and PDF, `--runs` times (default 5), and the median of each step is printed with the sizes.
//!
//! `cargo run --release --example report_bench -- [--accounts N] [--runs R] [--out DIR]`

use std::time::{Duration, Instant};

use accountscope::anomaly::{AnomalyConfig, detect};
use accountscope::features::{FeatureConfig, FeatureInputs, build_features};
use accountscope::health::{HealthOptions, default_config, score_history};
use accountscope::predict::{ChurnConfig, ChurnModel, ExpansionConfig, ExpansionModel, Playbook, known_at};
use accountscope::privacy::{Privacy, PrivacyPolicy};
use accountscope::report::{self, ReportFormat, ReportOptions, ReportSpec};
use accountscope::{DemoConfig, Engine, Result, TableKind, generate};
use chrono::NaiveDate;

#[path = "support/cli.rs"]
mod cli;

use cli::{arg, main_with, number};

fn main() {
    main_with(run);
}

fn day(y: i32, m: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or_default()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn run() -> Result<()> {
    let accounts: usize = number("--accounts", 10_000)?;
    let runs: usize = number("--runs", 5)?;
    let out = arg("--out").unwrap_or_else(|| "out/report_bench".into());
    let t = Instant::now();
    let config = DemoConfig::new(accounts, 42);
    let portfolio = generate(&config)?.portfolio;
    let engine = Engine::new()?;
    engine.register_portfolio(&portfolio)?;
    let options = HealthOptions { from: day(2025, 1), to: config.end, step_days: 7 };
    engine.register("health", &score_history(&engine, &default_config()?, &options)?.history)?;
    engine.register_anomalies(&detect(portfolio.get(TableKind::Usage), &AnomalyConfig::default())?)?;
    let inputs = FeatureInputs::from_portfolio(&portfolio);
    let features = build_features(&inputs, &FeatureConfig::monthly(day(2023, 4), day(2025, 6)))?;
    let known = known_at(&features.table, day(2025, 7))?;
    let churn = ChurnModel::fit(&known, &ChurnConfig { horizons: vec![30, 90], ..ChurnConfig::default() })?;
    let expansion = ExpansionModel::fit(&known, &ExpansionConfig { horizons: vec![90], ..ExpansionConfig::default() })?;
    let today = day(2026, 1);
    let current = engine.features_at(today, None)?.table;
    engine.register("churn_risk", &churn.predict(&current, &Playbook::default())?)?;
    engine.register("expansion_forecast", &expansion.predict(&current)?)?;
    println!("pipeline for {accounts} accounts (not timed below): {:.1?}", t.elapsed());

    let privacy = Privacy::new(PrivacyPolicy::default(), b"benchmark-key-not-secret".to_vec())?;
    let spec = ReportSpec::template("executive")?;
    let options = ReportOptions { as_of: Some(today), ..ReportOptions::default() };
    let mut build = Vec::new();
    let mut render: Vec<Vec<Duration>> = vec![Vec::new(); 4];
    let mut total = Vec::new();
    let mut sizes = [0usize; 4];
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let report = report::build(&engine, &spec, &options, &privacy)?;
        build.push(start.elapsed());
        for (i, format) in ReportFormat::ALL.iter().enumerate() {
            let t = Instant::now();
            sizes[i] = report.render(*format)?.len();
            render[i].push(t.elapsed());
        }
        total.push(start.elapsed());
    }
    println!("executive report, median of {runs} runs:");
    println!("  build (SQL widgets + masking) {:>9.1?}", median(build));
    for (i, format) in ReportFormat::ALL.iter().enumerate() {
        println!("  render {:<5} {:>9.1?}  ({} bytes)", format.extension(), median(render[i].clone()), sizes[i]);
    }
    println!("  total, all four formats     {:>9.1?}", median(total));
    let report = report::build(&engine, &spec, &options, &privacy)?;
    for p in report.write(&out, "executive", &ReportFormat::ALL)? {
        println!("  wrote {}", p.display());
    }
    Ok(())
}
