//! Churn prediction on the demo portfolio, as it would run in production: at a deployment date D
//! (2025-01-01) the model is trained on monthly snapshots whose labels were known by D, then evaluated on
//! the snapshots after D (2025-01 .. 2025-10 for 90 days, .. 2025-12 for 30 days), which it never saw.
//! Prints the held-out metrics per horizon, the recall at the threshold chosen for 85% precision, how
//! often the top three reasons name the generator's planted churn cause, and the timings (features,
//! training, batch scoring, one account's risk with reasons).
//! `cargo run --release --example predict_bench -- --demo 10000`.

use std::collections::HashMap;
use std::time::Instant;

use accountscope::features::{Driver, FeatureConfig, FeatureInputs, FeatureTable, build_features};
use accountscope::health::{HealthOptions, default_config, score_history};
use accountscope::predict::{
    ChurnConfig, ChurnModel, ExpansionConfig, ExpansionModel, Playbook, known_at, snapshots_between,
};
use accountscope::{DemoConfig, Result, Table, generate};
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::Date32Type;
use chrono::{Datelike, NaiveDate};

#[path = "support/cli.rs"]
mod cli;

use cli::{main_with, number};

fn main() {
    main_with(run);
}

fn day(y: i32, m: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or_default()
}

fn run() -> Result<()> {
    let accounts = number("--demo", 2_000)?;
    let demo = generate(&DemoConfig::new(accounts, number("--seed", 2024)?))?;
    let deploy = day(2025, 1);
    let monthly = FeatureConfig::monthly(day(2023, 4), day(2025, 12));

    let clock = Instant::now();
    let plain: FeatureTable = build_features(&FeatureInputs::from_portfolio(&demo.portfolio), &monthly)?;
    let feature_secs = clock.elapsed().as_secs_f64();
    let rows = plain.table.num_rows();
    println!("features: {accounts} accounts x 3 years, {rows} account-snapshots in {feature_secs:.2} s");

    // Weekly health scores over the three years, then the features again with them.
    let engine = accountscope::Engine::new()?;
    engine.register_portfolio(&demo.portfolio)?;
    let clock = Instant::now();
    let options =
        HealthOptions { from: day(2023, 1), to: day(2025, 12).with_day(31).unwrap_or_default(), step_days: 7 };
    let health = score_history(&engine, &default_config()?, &options)?.history;
    let health_secs = clock.elapsed().as_secs_f64();
    let clock = Instant::now();
    let all = build_features(&FeatureInputs::from_portfolio(&demo.portfolio).with_health(&health), &monthly)?;
    println!(
        "weekly health history ({} rows) in {health_secs:.2} s; features with health in {:.2} s",
        health.num_rows(),
        clock.elapsed().as_secs_f64()
    );

    // Training sees only labels known by the deployment date.
    let train = known_at(&all.table, deploy)?;
    let clock = Instant::now();
    let config: ChurnConfig = match cli::arg("--config") {
        Some(json) => {
            serde_json::from_str(&json).map_err(|e| accountscope::Error::config("--config", e.to_string()))?
        }
        None => ChurnConfig::default(),
    };
    let model = ChurnModel::fit(&train, &config)?;
    println!("training: 3 horizons on {} rows in {:.2} s", train.num_rows(), clock.elapsed().as_secs_f64());
    for (h, m) in model.horizons() {
        let e = m.holdout();
        println!(
            "  {h:>3}d: {} trees, calibration {}, threshold {:.3} (held-out precision {:.3}, recall {:.3})",
            m.booster().trees().len(),
            m.calibrator().name(),
            m.threshold(),
            e.precision,
            e.recall
        );
    }

    let test = snapshots_between(&all.table, deploy, day(2026, 1))?;
    println!("evaluation on snapshots 2025-01 .. 2025-12 (labels observed to 2025-12-31):");
    for h in model.evaluate(&test)? {
        let e = &h.evaluation;
        println!(
            "  {:>3}d: rows {} positives {} | ROC AUC {:.4} PR AUC {:.4} Brier {:.4} | at threshold {:.3}: precision {:.3} recall {:.3} F1 {:.3} | top-decile lift {:.1}",
            h.horizon,
            e.rows,
            e.positives,
            e.roc_auc,
            e.pr_auc,
            e.brier,
            e.threshold,
            e.precision,
            e.recall,
            e.f1,
            e.lift.first().map_or(0.0, |l| l.lift)
        );
    }

    tradeoff(&model, &test)?;
    expansion(&train, &test)?;
    trajectory(&all.table, &health, deploy)?;
    oracle(&demo.truth.accounts)?;
    reason_hits(&model, &test, &demo.truth.accounts)?;

    let batch = all.table.concat()?;
    let mut times = Vec::new();
    for _ in 0..11 {
        let clock = Instant::now();
        std::hint::black_box(model.primary().predict_proba(&batch)?);
        times.push(clock.elapsed().as_secs_f64());
    }
    let secs = cli::median(times);
    let trees = model.primary().booster().trees().len();
    println!(
        "batch scoring ({} rows, {trees} trees, calibrated): {:.2} M rows/s",
        batch.num_rows(),
        batch.num_rows() as f64 / secs / 1e6
    );
    let (mut read, mut score) = (Vec::new(), Vec::new());
    for _ in 0..11 {
        let clock = Instant::now();
        let features = std::hint::black_box(model.primary().features(&batch)?);
        read.push(clock.elapsed().as_secs_f64());
        let clock = Instant::now();
        std::hint::black_box(model.primary().predict_proba_features(&features)?);
        score.push(clock.elapsed().as_secs_f64());
    }
    println!(
        "  of which reading the feature columns {:.0} ms, the trees and calibration {:.0} ms",
        cli::median(read) * 1e3,
        cli::median(score) * 1e3
    );
    let mut times = Vec::new();
    for _ in 0..11 {
        let clock = Instant::now();
        std::hint::black_box(model.probabilities(&batch)?);
        times.push(clock.elapsed().as_secs_f64());
    }
    println!("batch scoring, all three horizons: {:.2} M rows/s", batch.num_rows() as f64 / cli::median(times) / 1e6);
    let batch = test.concat()?;
    let playbook = Playbook::default();
    let mut times = Vec::new();
    for i in 0..200.min(batch.num_rows()) {
        let one = batch.slice(i, 1);
        let clock = Instant::now();
        let risk = model.predict(&Table::from_batch(one), &playbook)?;
        times.push(clock.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(risk);
    }
    times.sort_by(f64::total_cmp);
    let p99 = times[(times.len() * 99 / 100).min(times.len() - 1)];
    println!(
        "one account's churn risk with reasons and actions: median {:.3} ms, p99 {p99:.3} ms",
        times[times.len() / 2]
    );
    Ok(())
}

/// Share of churned accounts (planted cause other than "other") whose three reasons, at their last
/// snapshot before churning, name a driver of the planted cause.
fn reason_hits(model: &ChurnModel, test: &Table, truth: &Table) -> Result<()> {
    let truth = truth.concat()?;
    let ids = truth.column_by_name("account_id").map(|c| c.as_string::<i32>().clone());
    let causes = truth.column_by_name("churn_cause").map(|c| c.as_string::<i32>().clone());
    let (Some(ids), Some(causes)) = (ids, causes) else { return Ok(()) };
    let cause: HashMap<String, String> = (0..ids.len())
        .filter(|&i| !causes.is_null(i))
        .map(|i| (ids.value(i).to_string(), causes.value(i).to_string()))
        .collect();
    let batch: RecordBatch = test.concat()?;
    let label = batch.column_by_name("churn_90d").map(|c| c.as_boolean().clone());
    let Some(label) = label else { return Ok(()) };
    let accounts = batch.column_by_name("account_id").map(|c| c.as_string::<i32>().clone());
    let Some(accounts) = accounts else { return Ok(()) };
    // The last labelled-positive row of each account (rows are ordered by account, then snapshot).
    let mut last: HashMap<String, usize> = HashMap::new();
    for i in 0..batch.num_rows() {
        if label.is_valid(i) && label.value(i) {
            last.insert(accounts.value(i).to_string(), i);
        }
    }
    let mut rows: Vec<(String, usize)> = last.into_iter().collect();
    rows.sort();
    let idx = arrow::array::UInt32Array::from(rows.iter().map(|(_, i)| *i as u32).collect::<Vec<_>>());
    let picked = arrow::compute::take_record_batch(&batch, &idx)?;
    let reasons = model.reasons(&picked)?;
    let drivers_of = |c: &str| -> &[Driver] {
        match c {
            "declining_usage" => &[Driver::Adoption, Driver::Engagement, Driver::Health, Driver::Anomalies],
            "unresolved_severe_tickets" => &[Driver::Support],
            "low_nps" => &[Driver::Sentiment],
            "champion_loss" => &[Driver::Adoption, Driver::Engagement, Driver::Sentiment],
            _ => &[],
        }
    };
    let (mut hits, mut counted) = (0, 0);
    let mut by_cause: HashMap<&str, (usize, usize)> = HashMap::new();
    for ((id, _), r) in rows.iter().zip(&reasons) {
        let Some(c) = cause.get(id) else { continue };
        let wanted = drivers_of(c);
        if wanted.is_empty() {
            continue;
        }
        counted += 1;
        let hit = r.iter().any(|x| x.driver.is_some_and(|d| wanted.contains(&d)));
        hits += usize::from(hit);
        let e = by_cause.entry(c.as_str()).or_default();
        e.0 += usize::from(hit);
        e.1 += 1;
    }
    let mut detail: Vec<String> = by_cause.iter().map(|(c, (h, n))| format!("{c} {h}/{n}")).collect();
    detail.sort();
    println!(
        "reasons name the planted cause for {hits}/{counted} churned accounts ({:.0}%): {}",
        100.0 * hits as f64 / counted.max(1) as f64,
        detail.join(", ")
    );
    Ok(())
}

/// What the primary horizon's held-out probabilities allow: the most recall at 85% precision and the
/// precision at 80% recall, on the evaluation snapshots.
fn tradeoff(model: &ChurnModel, test: &Table) -> Result<()> {
    use accountscope::predict::{ThresholdTarget, choose_threshold};
    let batch = test.concat()?;
    let label = model.primary().label().to_string();
    let labels = batch.column_by_name(&label).map(|c| c.as_boolean().clone());
    let Some(labels) = labels else { return Ok(()) };
    let p = model.primary().predict_proba(&batch)?;
    let (y, p): (Vec<f64>, Vec<f64>) =
        (0..p.len()).filter(|&i| labels.is_valid(i)).map(|i| (f64::from(u8::from(labels.value(i))), p[i])).unzip();
    for target in [ThresholdTarget::Precision(0.85), ThresholdTarget::Recall(0.8)] {
        let t = choose_threshold(&y, &p, target)?;
        let s = accountscope::metrics::threshold_scores(&y, &p, t, None)?;
        println!(
            "  {label}, threshold chosen on the evaluation rows for {target:?}: precision {:.3} recall {:.3}",
            s.precision, s.recall
        );
    }
    Ok(())
}

/// The generator's own churn probabilities of each account's last renewal decision: the precision an
/// oracle knowing them would get when it flags enough decisions for 80% recall (expected values).
fn oracle(truth: &Table) -> Result<()> {
    let truth = truth.concat()?;
    let p = truth
        .column_by_name("last_churn_probability")
        .map(|c| c.as_primitive::<arrow::datatypes::Float64Type>().clone());
    let churned = truth.column_by_name("churned").map(|c| c.as_boolean().clone());
    let (Some(p), Some(churned)) = (p, churned) else { return Ok(()) };
    let decided: Vec<(f64, bool)> =
        (0..p.len()).filter(|&i| p.value(i) > 0.0).map(|i| (p.value(i), churned.value(i))).collect();
    let mut sorted: Vec<f64> = decided.iter().filter(|d| d.1).map(|d| d.0).collect();
    sorted.sort_by(f64::total_cmp);
    let Some(&tau) = sorted.get(sorted.len() / 5) else { return Ok(()) };
    let flagged: Vec<f64> = decided.iter().filter(|d| d.0 >= tau).map(|d| d.0).collect();
    let precision = flagged.iter().sum::<f64>() / flagged.len().max(1) as f64;
    println!(
        "  oracle on the generator's decision probabilities (last decision per account): 80% recall needs p >= {tau:.3}, expected precision {precision:.3}"
    );
    Ok(())
}

/// The expansion model: held-out AUC by horizon, the amount's error and interval coverage on the accounts
/// that expanded, and the portfolio forecast against what happened, per evaluation snapshot.
fn expansion(train: &Table, test: &Table) -> Result<()> {
    let clock = Instant::now();
    let model = ExpansionModel::fit(train, &ExpansionConfig::default())?;
    println!("expansion: trained in {:.2} s", clock.elapsed().as_secs_f64());
    let batch = test.concat()?;
    let predicted = model.predict(test)?.concat()?;
    let forecast = model.portfolio_forecast(test)?.concat()?;
    let f64s = |b: &RecordBatch, name: &str| -> Vec<Option<f64>> {
        b.column_by_name(name)
            .and_then(|c| arrow::compute::cast(c, &arrow::datatypes::DataType::Float64).ok())
            .map(|c| c.as_primitive::<arrow::datatypes::Float64Type>().iter().collect())
            .unwrap_or_default()
    };
    let days: Vec<i32> = batch
        .column_by_name("snapshot_date")
        .map(|c| c.as_primitive::<Date32Type>().values().to_vec())
        .unwrap_or_default();
    for h in model.horizons() {
        let hz = h.horizon;
        let label = f64s(&batch, &format!("expansion_{hz}d"));
        let actual = f64s(&batch, &format!("expansion_mrr_{hz}d"));
        let p = f64s(&predicted, &format!("expansion_probability_{hz}d"));
        let amount = f64s(&predicted, &format!("expansion_mrr_if_{hz}d"));
        let low = f64s(&predicted, &format!("expansion_mrr_low_{hz}d"));
        let high = f64s(&predicted, &format!("expansion_mrr_high_{hz}d"));
        let rows: Vec<usize> = (0..label.len()).filter(|&i| label[i].is_some()).collect();
        if rows.is_empty() {
            continue;
        }
        let y: Vec<f64> = rows.iter().map(|&i| label[i].unwrap_or(0.0)).collect();
        let s: Vec<f64> = rows.iter().map(|&i| p[i].unwrap_or(0.0)).collect();
        let auc = accountscope::metrics::roc_auc(&y, &s, None).unwrap_or(f64::NAN);
        let pos: Vec<usize> = rows.iter().copied().filter(|&i| label[i] == Some(1.0)).collect();
        let err: f64 = pos.iter().map(|&i| (amount[i].unwrap_or(0.0) - actual[i].unwrap_or(0.0)).abs()).sum::<f64>();
        let mean_actual: f64 = pos.iter().map(|&i| actual[i].unwrap_or(0.0)).sum::<f64>() / pos.len().max(1) as f64;
        let inside = pos
            .iter()
            .filter(|&&i| {
                let a = actual[i].unwrap_or(0.0);
                low[i].unwrap_or(0.0) <= a && a <= high[i].unwrap_or(0.0)
            })
            .count();
        // Portfolio: predicted sum per snapshot against the actual sum, for snapshots with every label known.
        let fd = forecast
            .column_by_name("snapshot_date")
            .map(|c| c.as_primitive::<Date32Type>().values().to_vec())
            .unwrap_or_default();
        let fh = f64s(&forecast, "horizon_days");
        let (fm, fl, fu) =
            (f64s(&forecast, "expected_expansion_mrr"), f64s(&forecast, "low_80"), f64s(&forecast, "high_80"));
        let (mut covered, mut snapshots, mut ape) = (0, 0, 0.0);
        for k in 0..fd.len() {
            if fh[k] != Some(f64::from(hz)) {
                continue;
            }
            let of_day: Vec<usize> = (0..days.len()).filter(|&i| days[i] == fd[k]).collect();
            if of_day.iter().any(|&i| label[i].is_none()) {
                continue;
            }
            let truth: f64 = of_day.iter().map(|&i| actual[i].unwrap_or(0.0)).sum();
            snapshots += 1;
            covered += usize::from(fl[k].unwrap_or(0.0) <= truth && truth <= fu[k].unwrap_or(0.0));
            ape += ((fm[k].unwrap_or(0.0) - truth) / truth.max(1.0)).abs();
        }
        println!(
            "  {hz:>3}d: ROC AUC {auc:.4} on {} rows ({} expanded); amount MAE {:.0} (mean {:.0}), 80% interval holds {:.0}% of amounts; portfolio sum within its 80% interval on {covered}/{snapshots} snapshots, mean abs error {:.1}%",
            rows.len(),
            pos.len(),
            err / pos.len().max(1) as f64,
            mean_actual,
            100.0 * inside as f64 / pos.len().max(1) as f64,
            100.0 * ape / f64::from(snapshots.max(1))
        );
    }
    Ok(())
}

/// The health trajectory: trained on snapshots and scores before the deployment date, evaluated on later
/// snapshots: coverage of the 80% intervals and the median's absolute error, per horizon.
fn trajectory(all: &Table, health: &Table, deploy: NaiveDate) -> Result<()> {
    use accountscope::predict::{TrajectoryConfig, TrajectoryModel, health_targets};
    let cut = accountscope::contracts::days_since_epoch(deploy);
    let past = health.concat()?;
    let dates = past.column_by_name("date").map(|c| c.as_primitive::<Date32Type>().clone());
    let Some(dates) = dates else { return Ok(()) };
    let mask: arrow::array::BooleanArray = dates.iter().map(|d| d.map(|d| d < cut)).collect();
    let past = Table::from_batch(arrow::compute::filter_record_batch(&past, &mask)?);
    let clock = Instant::now();
    let config = TrajectoryConfig::default();
    let model = TrajectoryModel::fit(&known_at(all, deploy)?, &past, &config)?;
    println!("health trajectory: trained in {:.2} s", clock.elapsed().as_secs_f64());
    let test = snapshots_between(all, deploy, day(2026, 1))?;
    let batch = test.concat()?;
    let targets = health_targets(&batch, health, &config.horizons)?;
    let predicted = model.predict(&test)?.concat()?;
    for (h, (kept, target)) in config.horizons.iter().zip(model.horizons().iter().zip(&targets)) {
        let col = |name: String| {
            predicted.column_by_name(&name).map(|c| c.as_primitive::<arrow::datatypes::Float64Type>().clone())
        };
        let (Some(mid), Some(low), Some(high)) =
            (col(format!("health_{h}d")), col(format!("health_low_{h}d")), col(format!("health_high_{h}d")))
        else {
            continue;
        };
        let (mut n, mut inside, mut err) = (0usize, 0usize, 0.0);
        for (i, t) in target.iter().enumerate() {
            if let (Some(t), false) = (t, mid.is_null(i)) {
                n += 1;
                inside += usize::from(low.value(i) <= *t && *t <= high.value(i));
                err += (mid.value(i) - t).abs();
            }
        }
        let kind = match kept.forecaster {
            accountscope::predict::Forecaster::QuantileGbdt { .. } => "quantile GBDT",
            accountscope::predict::Forecaster::DampedTrend { .. } => "damped trend",
        };
        println!(
            "  {h:>2}d: kept {kind} (held-out pinball {:.2} vs damped {:.2}, widening {:.1}); later snapshots: {n} points, 80% interval covers {:.1}%, median abs error {:.1} points",
            kept.pinball[0],
            kept.pinball[1],
            kept.widening,
            100.0 * inside as f64 / n.max(1) as f64,
            err / n.max(1) as f64
        );
    }
    Ok(())
}
