//! Quickstart: generate the demo portfolio, write it to Parquet, query it with SQL, validate a raw (dirty)
//! export and print its quality scorecard, then run the full trend pass and print the strongest seasonality
//! by industry and the top leading indicators of churn, after the portfolio's health distribution, and
//! last the most severe usage anomalies with their explanations.
//!
//! `cargo run --release --example quickstart -- [--accounts N] [--seed S] [--out DIR]`
//! (defaults: 10,000 accounts, seed 42, `out/demo`).

use std::time::Instant;

use accountscope::anomaly::{AnomalyConfig, detect};
use accountscope::demo::{DirtyConfig, dirty, dirty_rules};
use accountscope::health::{HealthOptions, default_config, score_history};
use accountscope::io::{Format, ReadOptions};
use accountscope::trend::{AnalyzeConfig, ChurnIndicatorConfig, analyze, churn_indicators, seasonality_summary};
use accountscope::validate::{ValidateOptions, Validator};
use accountscope::{DemoConfig, Engine, Result, Table, TableKind, generate};

#[path = "support/cli.rs"]
mod cli;

use cli::{arg, main_with, number};

fn main() {
    main_with(run);
}

fn run() -> Result<()> {
    let accounts: usize = number("--accounts", 10_000)?;
    let seed: u64 = number("--seed", 42)?;
    let out = arg("--out").unwrap_or_else(|| "out/demo".into());

    let t = Instant::now();
    let demo_config = DemoConfig::new(accounts, seed);
    let demo = generate(&demo_config)?;
    println!("generated {accounts} accounts in {:.2?}", t.elapsed());

    let t = Instant::now();
    let paths = demo.portfolio.write_dir(&out, Format::Parquet)?;
    println!("wrote {} Parquet files to {out}/ in {:.2?}", paths.len(), t.elapsed());
    for (kind, table) in demo.portfolio.tables() {
        println!("  {:<17} {:>11} rows", kind.name(), table.num_rows());
    }

    // Query the files just written: Parquet is scanned lazily, in bounded memory.
    let engine = Engine::new()?;
    for path in &paths {
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        engine.register_file(name, path, &ReadOptions::default())?;
    }
    println!("\nportfolio by segment:\n{}", engine.portfolio_summary()?.pretty()?);

    let t = Instant::now();
    let monthly = engine.sql(
        "SELECT a.industry,
                ROUND(AVG(CASE WHEN date_part('month', u.date) IN (7, 8) THEN u.active_users END)
                    / AVG(CASE WHEN date_part('month', u.date) IN (3, 4) THEN u.active_users END), 2) AS summer_vs_spring,
                ROUND(AVG(CASE WHEN date_part('dow', u.date) IN (0, 6) THEN u.active_users END)
                    / AVG(CASE WHEN date_part('dow', u.date) NOT IN (0, 6) THEN u.active_users END), 2) AS weekend_vs_weekday
         FROM usage u JOIN accounts a USING (account_id)
         GROUP BY a.industry ORDER BY a.industry",
    )?;
    println!(
        "seasonality by industry (SQL over {} usage rows, {:.2?}):\n{}",
        demo.portfolio.usage.num_rows(),
        t.elapsed(),
        monthly.pretty()?
    );

    let churn = engine.sql(
        "SELECT reason, COUNT(*) AS accounts FROM churn_labels WHERE churned GROUP BY reason ORDER BY accounts DESC",
    )?;
    println!("churn reasons:\n{}", churn.pretty()?);

    // Validation: a raw text export of 1,000 accounts with injected defects, through the shipped rule set.
    let config = DemoConfig::new(1_000, seed);
    let raw = dirty(&generate(&config)?.portfolio, &DirtyConfig::default())?;
    let inputs: Vec<(&str, &Table)> = raw.tables.iter().map(|(k, t)| (k.name(), t)).collect();
    // Freshness is measured two days after the export's last day.
    let as_of = (config.end + chrono::TimeDelta::days(2)).and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    let options = ValidateOptions { as_of, ..Default::default() };
    let t = Instant::now();
    let run = Validator::new(dirty_rules()?)?.with_options(options).validate(&inputs)?;
    println!("data quality of a raw export (validated in {:.2?}):\n{}", t.elapsed(), run.report.scorecard());
    run.register(&engine)?;
    let failures = engine.sql(
        "SELECT \"table\", rule_id, severity, failed FROM validation_rules WHERE failed > 0
         ORDER BY failed DESC, rule_id LIMIT 12",
    )?;
    println!("rules with failures:\n{}", failures.pretty()?);

    // Health: weekly scores over the last year with the default scorecards, and today's distribution.
    let t = Instant::now();
    let end = demo_config.end;
    let options = HealthOptions { from: end - chrono::TimeDelta::days(364), to: end, step_days: 7 };
    let health = score_history(&engine, &default_config()?, &options)?;
    engine.register("health", &health.history)?;
    let distribution = engine.sql(
        "SELECT band, COUNT(*) AS accounts, ROUND(AVG(score), 1) AS mean_score FROM health
         WHERE date = (SELECT MAX(date) FROM health) GROUP BY band ORDER BY mean_score",
    )?;
    println!(
        "\nhealth over the last year ({} scores, {} band changes, {:.2?}); today's distribution:\n{}",
        health.history.num_rows(),
        health.band_changes.num_rows(),
        t.elapsed(),
        distribution.pretty()?
    );

    // The full trend pass over every account's five usage metrics: seasonality, trend tests, change points.
    let t = Instant::now();
    let trends = analyze(demo.portfolio.get(TableKind::Usage), &AnalyzeConfig::default())?;
    println!(
        "\ntrend pass over {} series in {:.2?}: {} change points",
        trends.trends.num_rows(),
        t.elapsed(),
        trends.change_points.num_rows()
    );
    let by_industry =
        seasonality_summary(&trends.seasonality, demo.portfolio.get(TableKind::Accounts), &["industry".into()])?;
    engine.register("seasonality_by_industry", &by_industry)?;
    let strongest = engine.sql(
        "SELECT summary FROM seasonality_by_industry
         WHERE metric = 'active_users' AND detected_share >= 0.5 ORDER BY mean_strength DESC LIMIT 8",
    )?;
    println!("strongest seasonality by industry (active users):\n{}", strongest.pretty()?);
    engine.register("trends", &trends.trends)?;
    let directions = engine.sql(
        "SELECT metric, direction, COUNT(*) AS series FROM trends WHERE status = 'ok'
         GROUP BY metric, direction ORDER BY metric, direction",
    )?;
    println!("trend directions (weekly, seasonally adjusted):\n{}", directions.pretty()?);

    let t = Instant::now();
    let labels = demo.portfolio.get(TableKind::ChurnLabels);
    let indicators = churn_indicators(demo.portfolio.get(TableKind::Usage), labels, &ChurnIndicatorConfig::default())?;
    engine.register("churn_indicators", &indicators)?;
    let top = engine.sql("SELECT rank, summary FROM churn_indicators ORDER BY rank LIMIT 5")?;
    println!("top leading indicators of churn ({:.2?}):\n{}", t.elapsed(), top.pretty()?);

    // Anomalies: every account's usage through the batch detectors; the most severe incidents first.
    let t = Instant::now();
    let anomalies = detect(demo.portfolio.get(TableKind::Usage), &AnomalyConfig::default())?;
    engine.register_anomalies(&anomalies)?;
    let by_kind = engine.sql(
        "SELECT kind, severity, COUNT(*) AS incidents FROM anomaly_incidents GROUP BY kind, severity
         ORDER BY kind, severity",
    )?;
    println!(
        "\nanomaly pass in {:.2?}: {} incidents ({} events)\n{}",
        t.elapsed(),
        anomalies.incidents.num_rows(),
        anomalies.events.num_rows(),
        by_kind.pretty()?
    );
    let severe = engine.sql(
        "SELECT i.account_id, a.name, i.start, i.kind, i.severity, i.explanation
         FROM anomaly_incidents i JOIN accounts a USING (account_id)
         WHERE i.kind IN ('spike', 'drop', 'missing', 'flatline')
         ORDER BY CASE i.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END,
                  i.strength DESC, i.start DESC
         LIMIT 8",
    )?;
    println!("most severe anomalies:\n{}", severe.pretty()?);
    Ok(())
}
