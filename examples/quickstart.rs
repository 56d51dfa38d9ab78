//! Quickstart: generate the demo portfolio, write it to Parquet, query it with SQL, validate a raw (dirty)
//! export and print its quality scorecard, then run the full trend pass and print the strongest seasonality
//! by industry and the top leading indicators of churn, after the portfolio's health distribution, the
//! most severe usage anomalies with their explanations, and last the predictions: churn and expansion
//! models trained on what was known at mid-2025, evaluated on the snapshots after it, then the ten
//! riskiest accounts today with reasons and recommended actions and the top expansion opportunities; and
//! finally the executive summary and the riskiest account's CSM report in JSON, HTML, Excel and PDF.
//!
//! `cargo run --release --example quickstart -- [--accounts N] [--seed S] [--out DIR]`
//! (defaults: 10,000 accounts, seed 42, `out/demo`).

use std::time::Instant;

use accountscope::anomaly::{AnomalyConfig, detect};
use accountscope::demo::{DirtyConfig, dirty, dirty_rules};
use accountscope::features::{FeatureConfig, FeatureInputs, build_features};
use accountscope::health::{HealthOptions, default_config, score_history};
use accountscope::io::{Format, ReadOptions};
use accountscope::predict::{
    ChurnConfig, ChurnModel, ExpansionConfig, ExpansionModel, Playbook, known_at, snapshots_between,
};
use accountscope::privacy::{Privacy, PrivacyPolicy};
use accountscope::report::{self, Filters, ReportFormat, ReportOptions, ReportSpec};
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

    // Health: weekly scores over the three years with the default scorecards, and today's distribution.
    let t = Instant::now();
    let end = demo_config.end;
    let options = HealthOptions { from: demo_config.start, to: end, step_days: 7 };
    let health = score_history(&engine, &default_config()?, &options)?;
    engine.register("health", &health.history)?;
    // The name the prediction calls read health scores from.
    engine.register("health_history", &health.history)?;
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
    let health_history = health.history;

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

    predictions(&engine, &demo, &health_history, &out)
}

/// Churn and expansion models on monthly point-in-time features: trained on what was known on 2025-07-01,
/// evaluated on the snapshots after it; then today's ten riskiest accounts and top expansion opportunities.
fn predictions(engine: &Engine, demo: &accountscope::Demo, health: &Table, out: &str) -> Result<()> {
    let day = |y, m| chrono::NaiveDate::from_ymd_opt(y, m, 1).unwrap_or_default();
    let (deploy, today) = (day(2025, 7), day(2026, 1));
    let t = Instant::now();
    let inputs = FeatureInputs::from_portfolio(&demo.portfolio).with_health(health);
    let features = build_features(&inputs, &FeatureConfig::monthly(day(2023, 4), day(2025, 12)))?;
    println!("\nfeatures: {} account-snapshots in {:.2?}", features.table.num_rows(), t.elapsed());

    let t = Instant::now();
    let known = known_at(&features.table, deploy)?;
    let churn = ChurnModel::fit(&known, &ChurnConfig { horizons: vec![30, 90], ..ChurnConfig::default() })?;
    let expansion = ExpansionModel::fit(&known, &ExpansionConfig { horizons: vec![90], ..ExpansionConfig::default() })?;
    println!(
        "churn and expansion models trained on {} rows known at {deploy} in {:.2?}",
        known.num_rows(),
        t.elapsed()
    );
    let later = snapshots_between(&features.table, deploy, today)?;
    for h in churn.evaluate(&later)? {
        let e = &h.evaluation;
        println!(
            "  churn within {:>2} days, snapshots from {deploy}: ROC AUC {:.3}, PR AUC {:.3}, Brier {:.4}; at threshold {:.2}: precision {:.2}, recall {:.2}; top decile holds {:.0}% of churners",
            h.horizon,
            e.roc_auc,
            e.pr_auc,
            e.brier,
            e.threshold,
            e.precision,
            e.recall,
            100.0 * e.lift.first().map_or(0.0, |l| l.cumulative_recall)
        );
    }

    let t = Instant::now();
    let current = engine.features_at(today, None)?.table;
    let risk = churn.predict(&current, &Playbook::default())?;
    engine.register("churn_risk", &risk)?;
    // Every account's expansion forecast: the executive report's pipeline reads it.
    engine.register("expansion_forecast", &expansion.predict(&current)?)?;
    let riskiest = engine.sql(
        "SELECT r.account_id, a.name, ROUND(r.churn_probability_90d, 3) AS p_churn_90d,
                concat_ws('; ', r.reason_1, r.reason_2, r.reason_3) AS reasons,
                concat_ws(' / ', r.action_1, r.action_2) AS actions
         FROM churn_risk r JOIN accounts a USING (account_id)
         ORDER BY r.churn_probability_90d DESC, r.account_id LIMIT 10",
    )?;
    println!("\nten riskiest accounts on {today} (scored in {:.2?}):\n{}", t.elapsed(), riskiest.pretty()?);

    let opportunities = engine.expansion_opportunities(&expansion, today, 90, 10)?;
    engine.register("expansion_opportunities", &opportunities)?;
    let top = engine.sql(
        "SELECT o.account_id, a.name, ROUND(o.expansion_probability_90d, 3) AS p_expand_90d,
                ROUND(o.expansion_mrr_if_90d, 0) AS added_mrr_if, ROUND(o.expected_expansion_mrr_90d, 0) AS expected_mrr
         FROM expansion_opportunities o JOIN accounts a USING (account_id)
         ORDER BY o.expected_expansion_mrr_90d DESC",
    )?;
    println!("top expansion opportunities over the next 90 days:\n{}", top.pretty()?);
    reports(engine, today, out)
}

/// The executive summary and the report on the riskiest account, in all four formats. The executive
/// version is prepared for the `executive` role, so CSM names and contact e-mails are masked.
fn reports(engine: &Engine, today: chrono::NaiveDate, out: &str) -> Result<()> {
    let t = Instant::now();
    let privacy = Privacy::new(PrivacyPolicy::default(), b"quickstart-demo-key-not-secret".to_vec())?;
    let as_of = ReportOptions { as_of: Some(today), ..ReportOptions::default() };
    let executive = report::build(engine, &ReportSpec::template("executive")?, &as_of, &privacy)?;
    let dir = format!("{out}/reports");
    let mut paths = executive.write(&dir, "executive", &ReportFormat::ALL)?;
    let riskiest =
        engine.sql("SELECT account_id FROM churn_risk ORDER BY churn_probability_90d DESC, account_id LIMIT 1")?;
    let account = match riskiest.concat()?.columns().first().map(report::cells).and_then(|c| c.into_iter().next()) {
        Some(report::Cell::Text(id)) => id,
        _ => return Ok(()),
    };
    let filters = Filters { account_id: Some(account.clone()), ..Filters::default() };
    let options = ReportOptions { filters, ..as_of };
    let csm = report::build(engine, &ReportSpec::template("csm")?, &options, &privacy)?;
    paths.extend(csm.write(&dir, &format!("account-{account}"), &ReportFormat::ALL)?);
    println!("\nreports (executive summary and account {account}) in {:.2?}:", t.elapsed());
    for p in paths {
        println!("  {}", p.display());
    }
    Ok(())
}
