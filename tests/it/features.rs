//! Point-in-time features: equal to the same quantities computed independently in SQL, and free of
//! leakage (deleting every row dated on or after a snapshot leaves its features bit-identical).

use accountscope::Engine;
use accountscope::features::{FEATURE_SET_VERSION, FeatureConfig, FeatureInputs, VERSION_KEY, build_features};
use arrow::array::{Array, AsArray};
use arrow::datatypes::Float64Type;
use chrono::NaiveDate;

use crate::common::small_demo;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// (account_id, value) pairs of a two-column query, sorted by account.
fn sql_values(engine: &Engine, query: &str) -> Vec<(String, Option<f64>)> {
    let table = engine.sql(query).unwrap();
    let mut out = Vec::new();
    for b in table.batches() {
        let ids = b.column(0).as_string::<i32>();
        let v = arrow::compute::cast(b.column(1), &arrow::datatypes::DataType::Float64).unwrap();
        let v = v.as_primitive::<Float64Type>();
        for i in 0..b.num_rows() {
            out.push((ids.value(i).to_string(), (!v.is_null(i)).then(|| v.value(i))));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The feature column `name` of the rows at `snapshot`, by account.
fn feature_values(table: &accountscope::Table, snapshot: NaiveDate, name: &str) -> Vec<(String, Option<f64>)> {
    let t = accountscope::contracts::days_since_epoch(snapshot);
    let mut out = Vec::new();
    for b in table.batches() {
        let ids = b.column_by_name("account_id").unwrap().as_string::<i32>();
        let days = b.column_by_name("snapshot_date").unwrap().as_primitive::<arrow::datatypes::Date32Type>();
        let v = arrow::compute::cast(b.column_by_name(name).unwrap(), &arrow::datatypes::DataType::Float64).unwrap();
        let v = v.as_primitive::<Float64Type>();
        for i in 0..b.num_rows() {
            if days.value(i) == t {
                out.push((ids.value(i).to_string(), (!v.is_null(i)).then(|| v.value(i))));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn features_equal_independent_sql() {
    let demo = small_demo();
    let t = day(2024, 6, 1);
    let config = FeatureConfig { snapshots: vec![day(2023, 6, 1), t, day(2025, 3, 1)], ..FeatureConfig::default() };
    let features = build_features(&FeatureInputs::from_portfolio(&demo.portfolio), &config).unwrap();
    assert_eq!(features.table.schema().metadata().get(VERSION_KEY).map(String::as_str), Some(FEATURE_SET_VERSION));
    assert!(features.unmatched.iter().all(|(_, n)| *n == 0));
    let engine = Engine::new().unwrap();
    engine.register_portfolio(&demo.portfolio).unwrap();
    // Accounts active at t: started before it, not churned by it.
    let active = "SELECT a.account_id FROM accounts a JOIN churn_labels c ON a.account_id = c.account_id
        WHERE a.start_date < DATE '2024-06-01' AND (c.churn_date IS NULL OR c.churn_date > DATE '2024-06-01')";
    let cases = [
        (
            "active_users_mean_30",
            "SELECT account_id, AVG(CAST(active_users AS DOUBLE)) FROM usage
             WHERE date >= DATE '2024-05-02' AND date < DATE '2024-06-01' GROUP BY account_id",
        ),
        (
            "tickets_90",
            "SELECT account_id, COUNT(*) FROM tickets
             WHERE opened_at >= TIMESTAMP '2024-03-03T00:00:00Z' AND opened_at < TIMESTAMP '2024-06-01T00:00:00Z'
             GROUP BY account_id",
        ),
        ("mrr", "SELECT account_id, SUM(mrr_delta) FROM revenue WHERE date < DATE '2024-06-01' GROUP BY account_id"),
        (
            "nps_mean_180",
            "SELECT account_id, AVG(CAST(nps AS DOUBLE)) FROM surveys
             WHERE date >= DATE '2023-12-04' AND date < DATE '2024-06-01' GROUP BY account_id",
        ),
        (
            "churn_90d",
            "SELECT account_id, CASE WHEN churn_date >= DATE '2024-06-01' AND churn_date < DATE '2024-08-30'
             THEN 1.0 ELSE 0.0 END FROM churn_labels",
        ),
        (
            "expansion_mrr_365d",
            "SELECT a.account_id, COALESCE(SUM(e.expansion_mrr), 0.0) FROM accounts a LEFT JOIN expansion_labels e
             ON a.account_id = e.account_id AND e.date >= DATE '2024-06-01' AND e.date < DATE '2025-06-01'
             GROUP BY a.account_id",
        ),
    ];
    let ours_accounts: Vec<String> = feature_values(&features.table, t, "mrr").into_iter().map(|(a, _)| a).collect();
    let mut expected_accounts: Vec<String> =
        sql_values(&engine, &format!("SELECT account_id, 0 FROM ({active})")).into_iter().map(|(a, _)| a).collect();
    expected_accounts.sort();
    assert_eq!(ours_accounts, expected_accounts, "the snapshot holds exactly the active accounts");
    for (name, query) in cases {
        let reference: std::collections::HashMap<String, Option<f64>> =
            sql_values(&engine, query).into_iter().collect();
        let mut compared = 0;
        for (account, ours) in feature_values(&features.table, t, name) {
            // Counts are 0 for accounts the SQL finds no rows for; means are missing.
            let expected = match reference.get(&account) {
                Some(v) => *v,
                None if name == "tickets_90" => Some(0.0),
                None => None,
            };
            match (ours, expected) {
                (Some(a), Some(b)) => {
                    assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{name} of {account}: {a} vs {b}")
                }
                (a, b) => assert_eq!(a, b, "{name} of {account}"),
            }
            compared += 1;
        }
        assert!(compared >= 30, "{name}: only {compared} accounts compared");
    }
}

#[test]
fn features_do_not_see_the_future() {
    let demo = small_demo();
    let p = &demo.portfolio;
    let t = day(2024, 9, 1);
    let config = FeatureConfig { snapshots: vec![t], labels: false, ..FeatureConfig::default() };
    let full = build_features(&FeatureInputs::from_portfolio(p), &config).unwrap();

    // Delete every row dated on or after t, and close nothing after it.
    let engine = Engine::new().unwrap();
    engine.register_portfolio(p).unwrap();
    let cut = "TIMESTAMP '2024-09-01T00:00:00Z'";
    let q = |sql: &str| engine.sql(sql).unwrap();
    let usage = q("SELECT * FROM usage WHERE date < DATE '2024-09-01'");
    let tickets = q(&format!(
        "SELECT ticket_id, account_id, opened_at, CASE WHEN closed_at < {cut} THEN closed_at END AS closed_at, priority,
         category, CASE WHEN closed_at < {cut} THEN csat END AS csat FROM tickets WHERE opened_at < {cut}"
    ));
    let surveys = q("SELECT * FROM surveys WHERE date < DATE '2024-09-01'");
    let revenue = q("SELECT * FROM revenue WHERE date < DATE '2024-09-01'");
    let churn =
        q("SELECT account_id, churned, CASE WHEN churn_date <= DATE '2024-09-01' THEN churn_date END AS churn_date,
         reason FROM churn_labels");
    let inputs = FeatureInputs {
        accounts: &p.accounts,
        usage: &usage,
        tickets: &tickets,
        surveys: &surveys,
        revenue: &revenue,
        churn_labels: Some(&churn),
        expansion_labels: None,
        health: None,
        anomalies: None,
    };
    let past_only =
        build_features(&inputs, &FeatureConfig { observed_until: Some(day(2024, 8, 31)), ..config.clone() }).unwrap();
    assert!(full.table.num_rows() > 30);
    assert_eq!(full.table.concat().unwrap(), past_only.table.concat().unwrap(), "features changed without the future");
}

#[test]
fn bad_inputs_are_named() {
    let demo = small_demo();
    let err = build_features(&FeatureInputs::from_portfolio(&demo.portfolio), &FeatureConfig::default()).unwrap_err();
    assert!(err.to_string().contains("features.snapshots"), "{err}");
    let mut inputs = FeatureInputs::from_portfolio(&demo.portfolio);
    inputs.tickets = &demo.portfolio.surveys;
    let config = FeatureConfig { snapshots: vec![day(2024, 1, 1)], ..FeatureConfig::default() };
    let err = build_features(&inputs, &config).unwrap_err();
    assert!(err.to_string().contains("tickets") && err.to_string().contains("opened_at"), "{err}");
}

/// Text where a number is expected is read when every value parses, and is an error naming the table,
/// column and row (across batches) when one does not, never a silent null.
#[test]
fn unreadable_values_are_named_not_nulled() {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, RecordBatch, StringArray};
    use arrow::compute::cast;
    use arrow::datatypes::{DataType, Field, Schema};

    let demo = small_demo();
    let usage = demo.portfolio.usage.concat().unwrap();
    let at = usage.schema().index_of("active_users").unwrap();
    let as_text = |bad_row: Option<usize>| {
        let text = cast(usage.column(at), &DataType::Utf8).unwrap();
        let text: StringArray = text
            .as_string::<i32>()
            .iter()
            .enumerate()
            .map(|(i, v)| if Some(i) == bad_row { Some("n/a") } else { v })
            .collect();
        let mut fields: Vec<Field> = usage.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
        fields[at] = Field::new("active_users", DataType::Utf8, true);
        let mut columns: Vec<ArrayRef> = usage.columns().to_vec();
        columns[at] = Arc::new(text);
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
        let half = batch.num_rows() / 2;
        accountscope::Table::try_new(
            batch.schema(),
            vec![batch.slice(0, half), batch.slice(half, batch.num_rows() - half)],
        )
        .unwrap()
    };
    let config = FeatureConfig { snapshots: vec![day(2024, 6, 1)], ..FeatureConfig::default() };
    let build = |usage: &accountscope::Table| {
        let mut inputs = FeatureInputs::from_portfolio(&demo.portfolio);
        inputs.usage = usage;
        build_features(&inputs, &config)
    };
    let expected = build(&demo.portfolio.usage).unwrap().table.concat().unwrap();
    assert_eq!(build(&as_text(None)).unwrap().table.concat().unwrap(), expected, "numbers as text read the same");
    let bad_row = usage.num_rows() - 5;
    let err = build(&as_text(Some(bad_row))).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "table 'usage', column 'active_users': 1 value(s) cannot be read as a number; first rows: row {bad_row} = \"n/a\""
        )
    );
}
