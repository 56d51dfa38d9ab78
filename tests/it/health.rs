//! Health scorecards: hand-computed scores on a tiny portfolio, the default scorecards on the demo
//! (scores separate accounts that churn from those that stay), explanations that add up, typed errors.

use std::sync::Arc;

use accountscope::engine::Engine;
use accountscope::health::{HealthConfig, HealthOptions, default_config, explain, score_history};
use accountscope::{ErrorCategory, Table};
use arrow::array::{Array, AsArray, Date32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Float64Type, Schema};
use chrono::NaiveDate;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn day(d: NaiveDate) -> i32 {
    (d - date(1970, 1, 1)).num_days() as i32
}

const CONFIG: &str = r#"
scorecards:
  - name: default
    groups:
      - name: adoption
        weight: 3
        measures:
          - {name: users, source: usage, expression: "CAST(active_users AS DOUBLE)", time_column: date,
             window_days: 3, aggregate: mean, weight: 1, bands: [0, 10, 20, 30]}
          - {name: logins, source: usage, expression: "CAST(logins AS DOUBLE)", time_column: date,
             window_days: 3, aggregate: sum, weight: 3, bands: [0, 30, 60, 90]}
      - name: sentiment
        weight: 1
        measures:
          - {name: nps, source: surveys, expression: "CAST(nps AS DOUBLE)", time_column: date,
             aggregate: last, bands: [0, 5, 7, 9], null_policy: worst}
  - name: enterprise
    segments: [Enterprise]
    groups:
      - name: adoption
        measures:
          - {name: users, source: usage, expression: "CAST(active_users AS DOUBLE)", time_column: date,
             window_days: 2, aggregate: max, bands: [0, 10, 20, 30]}
"#;

fn tiny() -> Engine {
    let engine = Engine::new().unwrap();
    let batch = |fields: Vec<Field>, cols: Vec<Arc<dyn Array>>| {
        Table::from_batch(RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap())
    };
    let f = |n: &str, t: DataType| Field::new(n, t, true);
    engine
        .register(
            "accounts",
            &batch(
                vec![f("account_id", DataType::Utf8), f("segment", DataType::Utf8), f("start_date", DataType::Date32)],
                vec![
                    Arc::new(StringArray::from(vec!["A", "B"])),
                    Arc::new(StringArray::from(vec!["SMB", "Enterprise"])),
                    Arc::new(Date32Array::from(vec![day(date(2024, 1, 1)), day(date(2024, 1, 1))])),
                ],
            ),
        )
        .unwrap();
    let days: Vec<i32> = (1..=4).map(|d| day(date(2024, 1, d))).collect();
    engine
        .register(
            "usage",
            &batch(
                vec![
                    f("account_id", DataType::Utf8),
                    f("date", DataType::Date32),
                    f("active_users", DataType::Int64),
                    f("logins", DataType::Int64),
                ],
                vec![
                    Arc::new(StringArray::from(vec!["A", "A", "A", "A", "B", "B"])),
                    Arc::new(Date32Array::from(vec![days[0], days[1], days[2], days[3], days[0], days[2]])),
                    Arc::new(Int64Array::from(vec![10, 20, 30, 5, 25, 40])),
                    Arc::new(Int64Array::from(vec![Some(10), Some(20), None, Some(40), Some(1), Some(1)])),
                ],
            ),
        )
        .unwrap();
    engine
        .register(
            "surveys",
            &batch(
                vec![f("account_id", DataType::Utf8), f("date", DataType::Date32), f("nps", DataType::Int64)],
                vec![
                    Arc::new(StringArray::from(vec!["A"])),
                    Arc::new(Date32Array::from(vec![days[2]])),
                    Arc::new(Int64Array::from(vec![8])),
                ],
            ),
        )
        .unwrap();
    engine
}

#[test]
fn scores_equal_hand_computation() {
    let engine = tiny();
    let config = HealthConfig::parse(CONFIG).unwrap();
    let options = HealthOptions { from: date(2024, 1, 2), to: date(2024, 1, 4), step_days: 1 };
    let out = score_history(&engine, &config, &options).unwrap();
    let h = out.history.concat().unwrap();
    assert_eq!(h.num_rows(), 6, "2 accounts x 3 days");
    let score = h.column_by_name("score").unwrap().as_primitive::<Float64Type>();
    let id = h.column(0).as_string::<i32>();
    let at = |account: &str, n: usize| (0..h.num_rows()).filter(|&i| id.value(i) == account).nth(n).unwrap();
    // A on Jan 2 (window Dec 31 - Jan 2): users mean(10, 20) = 15 -> 55; logins sum(10, 20) = 30 -> 40;
    // adoption (1*55 + 3*40)/4 = 43.75; no NPS yet, null policy worst -> 0; score (3*43.75 + 0)/4 = 32.8125.
    assert!((score.value(at("A", 0)) - 32.8125).abs() < 1e-12, "{}", score.value(at("A", 0)));
    // A on Jan 3: users mean(10, 20, 30) = 20 -> 70; logins sum(10, 20) = 30 (Jan 3 null) -> 40;
    // adoption (70 + 120)/4 = 47.5; NPS 8 -> 85; score (3*47.5 + 85)/4 = 56.875.
    assert!((score.value(at("A", 1)) - 56.875).abs() < 1e-12, "{}", score.value(at("A", 1)));
    // A on Jan 4: users mean(20, 30, 5) = 18.333 -> 40 + 30*0.8333 = 65; logins 20 + 40 = 60 -> 70;
    // adoption (65 + 210)/4 = 68.75; NPS 85; score (3*68.75 + 85)/4 = 72.8125.
    assert!((score.value(at("A", 2)) - 72.8125).abs() < 1e-12, "{}", score.value(at("A", 2)));
    // B (Enterprise scorecard): max users over 2 days: Jan 2 -> 25 -> 85; Jan 3 -> 40 -> 100; Jan 4 -> 40.
    let b: Vec<f64> = (0..3).map(|n| score.value(at("B", n))).collect();
    assert_eq!(b, vec![85.0, 100.0, 100.0]);
    let band = h.column_by_name("band").unwrap().as_string::<i32>();
    assert_eq!((band.value(at("A", 0)), band.value(at("A", 1)), band.value(at("A", 2))), ("red", "yellow", "green"));
    let changes = out.band_changes.concat().unwrap();
    assert_eq!(changes.num_rows(), 2);
    let drivers = changes.column_by_name("drivers").unwrap().as_string::<i32>();
    assert!(drivers.value(0).starts_with("nps +21.2"), "{}", drivers.value(0));

    let e = explain(&engine, &config, "A", date(2024, 1, 4), Some(date(2024, 1, 2))).unwrap().concat().unwrap();
    let contribution = e.column_by_name("contribution").unwrap().as_primitive::<Float64Type>();
    let total: f64 = contribution.iter().flatten().sum();
    assert!((total - 72.8125).abs() < 1e-12, "contributions add up to the score: {total}");
    let change: f64 = e.column_by_name("change").unwrap().as_primitive::<Float64Type>().iter().flatten().sum();
    assert!((change - (72.8125 - 32.8125)).abs() < 1e-12, "changes add up to the score's change: {change}");
}

#[test]
fn default_scorecards_separate_churned_from_retained_accounts() {
    let demo = crate::common::large_demo();
    let engine = Engine::new().unwrap();
    engine.register_portfolio(&demo.portfolio).unwrap();
    let options = HealthOptions { from: date(2023, 3, 1), to: date(2025, 12, 31), step_days: 7 };
    let out = score_history(&engine, &default_config().unwrap(), &options).unwrap();
    engine.register("health", &out.history).unwrap();
    let q = |sql: &str| {
        let t = engine.sql(sql).unwrap().concat().unwrap();
        arrow::compute::cast(t.column(0), &DataType::Float64).unwrap().as_primitive::<Float64Type>().value(0)
    };
    assert_eq!(q("SELECT CAST(COUNT(*) AS DOUBLE) FROM health WHERE score < 0 OR score > 100"), 0.0);
    assert_eq!(q("SELECT CAST(COUNT(*) AS DOUBLE) FROM health WHERE score IS NULL"), 0.0);
    // Mean score over the 60 days before churn, against retained accounts over the last 60 days.
    let churned = q("SELECT AVG(h.score) FROM health h JOIN churn_labels c USING (account_id)
                     WHERE c.churned AND h.date > c.churn_date - INTERVAL '60 days'");
    let retained = q("SELECT AVG(h.score) FROM health h JOIN churn_labels c USING (account_id)
                      WHERE NOT c.churned AND h.date > DATE '2025-11-01'");
    eprintln!("mean health: churned {churned:.1} in their last 60 days, retained {retained:.1}");
    // Measured: 67.7 against 76.6.
    assert!(retained - churned > 5.0, "churned {churned:.1} vs retained {retained:.1}");
    let smb = q("SELECT CAST(COUNT(*) AS DOUBLE) FROM health h JOIN accounts a USING (account_id)
                 WHERE a.segment = 'SMB' AND h.scorecard <> 'smb'");
    assert_eq!(smb, 0.0, "SMB accounts use the SMB scorecard");
    assert!(out.band_changes.num_rows() > 0);
}

#[test]
fn bad_configurations_name_the_field() {
    let bad = CONFIG.replace(
        "bands: [0, 10, 20, 30]}\n          - {name: logins",
        "bands: [0, 10, 5, 30]}\n          - {name: logins",
    );
    let e = HealthConfig::parse(&bad).unwrap_err();
    assert_eq!(e.category(), ErrorCategory::Config);
    assert!(e.to_string().contains("scorecards['default'].groups['adoption'].measures['users'].bands"), "{e}");
    let no_default =
        CONFIG.replace("  - name: default\n    groups:", "  - name: default\n    segments: [SMB]\n    groups:");
    assert!(HealthConfig::parse(&no_default).unwrap_err().to_string().contains("default scorecard"));
    let engine = tiny();
    let sql = CONFIG.replace("CAST(logins AS DOUBLE)", "CAST(no_such AS DOUBLE)");
    let config = HealthConfig::parse(&sql).unwrap();
    let options = HealthOptions { from: date(2024, 1, 2), to: date(2024, 1, 4), step_days: 1 };
    let e = score_history(&engine, &config, &options).unwrap_err();
    assert!(e.to_string().contains("health measure 'logins'"), "{e}");
    let e = explain(&engine, &HealthConfig::parse(CONFIG).unwrap(), "Z", date(2024, 1, 2), None).unwrap_err();
    assert_eq!(e.category(), ErrorCategory::InvalidInput);
    // An account listed twice is an error, not a silent choice of one row.
    let twice = engine.sql("SELECT * FROM accounts UNION ALL SELECT * FROM accounts WHERE account_id = 'A'").unwrap();
    engine.register("accounts", &twice).unwrap();
    let e = score_history(&engine, &HealthConfig::parse(CONFIG).unwrap(), &options).unwrap_err();
    assert!(e.to_string().contains("'A' appears more than once"), "{e}");
}

/// One account's trend from a prepared scorer equals its rows of the portfolio history; the segment
/// queries of the engine agree with a direct count.
#[test]
fn account_trend_and_segment_queries() {
    use accountscope::health::HealthScorer;
    let demo = crate::common::small_demo();
    let engine = Engine::new().unwrap();
    engine.register_portfolio(&demo.portfolio).unwrap();
    let scorer = HealthScorer::new(&engine, default_config().unwrap()).unwrap();
    let options = HealthOptions { from: date(2025, 1, 1), to: date(2025, 12, 31), step_days: 1 };
    let all = scorer.history(&options).unwrap().history.concat().unwrap();
    let ids = all.column(0).as_string::<i32>();
    let account = ids.value(0).to_string();
    let one = scorer.account_trend(&account, &options).unwrap().concat().unwrap();
    let rows: Vec<usize> = (0..all.num_rows()).filter(|&i| ids.value(i) == account).collect();
    assert_eq!(one.num_rows(), rows.len());
    let expected = arrow::compute::take(
        all.column_by_name("score").unwrap(),
        &arrow::array::UInt32Array::from_iter_values(rows.iter().map(|&r| r as u32)),
        None,
    )
    .unwrap();
    assert_eq!(one.column_by_name("score").unwrap().as_ref(), expected.as_ref());
    assert_eq!(scorer.account_trend("nobody", &options).unwrap_err().category(), ErrorCategory::InvalidInput);

    let weekly =
        engine.segment_usage("SMB", date(2025, 1, 1), date(2025, 3, 31), accountscope::trend::Frequency::Week).unwrap();
    assert!((12..=14).contains(&weekly.num_rows()), "{}", weekly.num_rows());
    let quoted = engine
        .segment_usage("O'Brien", date(2025, 1, 1), date(2025, 3, 31), accountscope::trend::Frequency::Month)
        .unwrap();
    assert_eq!(quoted.num_rows(), 0, "a quote in a segment name is a value, not SQL");
    let agg = engine.segment_aggregates(date(2025, 1, 1), date(2025, 12, 31)).unwrap().concat().unwrap();
    let accounts: i64 =
        agg.column_by_name("accounts").unwrap().as_primitive::<arrow::datatypes::Int64Type>().iter().flatten().sum();
    assert_eq!(accounts as usize, demo.portfolio.get(accountscope::TableKind::Accounts).num_rows());
}
