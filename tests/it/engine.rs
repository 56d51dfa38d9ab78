//! SQL over registered tables, files and results.

use accountscope::io::{Format, ReadOptions};
use accountscope::{Engine, ErrorCategory, Table};
use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use chrono::NaiveDate;

use crate::common::small_demo;

fn count(engine: &Engine, query: &str) -> i64 {
    let t = engine.sql(query).unwrap().concat().unwrap();
    t.column(0).as_primitive::<Int64Type>().value(0)
}

#[test]
fn sql_over_a_registered_portfolio() {
    let demo = small_demo();
    let engine = Engine::with_threads(2).unwrap();
    engine.register_portfolio(&demo.portfolio).unwrap();
    assert_eq!(
        engine.tables(),
        vec!["accounts", "churn_labels", "expansion_labels", "revenue", "surveys", "tickets", "usage"]
    );
    assert_eq!(count(&engine, "SELECT COUNT(*) FROM usage") as usize, demo.portfolio.usage.num_rows());
    // A join and an aggregate agree with a computation over the Arrow arrays.
    let orphans = count(
        &engine,
        "SELECT COUNT(*) FROM usage u LEFT JOIN accounts a USING (account_id) WHERE a.account_id IS NULL",
    );
    assert_eq!(orphans, 0);
    let total: i64 = demo
        .portfolio
        .usage
        .batches()
        .iter()
        .map(|b| {
            b.column_by_name("active_users")
                .unwrap()
                .as_primitive::<arrow::datatypes::Int32Type>()
                .iter()
                .flatten()
                .map(i64::from)
                .sum::<i64>()
        })
        .sum();
    assert_eq!(count(&engine, "SELECT CAST(SUM(active_users) AS BIGINT) FROM usage"), total);

    let summary = engine.portfolio_summary().unwrap();
    assert_eq!(summary.num_rows(), 3);
    let streamed = Table::from_reader(engine.sql_stream("SELECT * FROM tickets").unwrap()).unwrap();
    assert_eq!(streamed.num_rows(), demo.portfolio.tickets.num_rows());
}

#[test]
fn account_usage_filters_one_account_and_range_in_order() {
    let demo = small_demo();
    let engine = Engine::with_threads(1).unwrap();
    engine.register("usage", &demo.portfolio.usage).unwrap();
    let from = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let to = NaiveDate::from_ymd_opt(2024, 3, 31).unwrap();
    let active =
        engine.sql("SELECT MIN(account_id) FROM usage WHERE date = DATE '2024-02-01'").unwrap().concat().unwrap();
    let id = active.column(0).as_string::<i32>().value(0).to_string();
    let rows = engine.account_usage(&id, from, to).unwrap().concat().unwrap();
    assert!(rows.num_rows() > 0 && rows.num_rows() <= 91);
    let ids = rows.column_by_name("account_id").unwrap().as_string::<i32>();
    assert!(ids.iter().all(|v| v == Some(id.as_str())));
    let dates = rows.column_by_name("date").unwrap().as_primitive::<arrow::datatypes::Date32Type>();
    let days: Vec<i32> = dates.values().to_vec();
    assert!(days.windows(2).all(|w| w[0] < w[1]));
    assert!(days[0] >= 19723 && *days.last().unwrap() <= 19813);
    // An id with SQL in it is a value, not code.
    assert_eq!(engine.account_usage("x' OR '1'='1", from, to).unwrap().num_rows(), 0);
    let err = engine.account_usage(&id, to, from).unwrap_err();
    assert_eq!(err.category(), accountscope::ErrorCategory::Config);
    assert!(err.to_string().contains(&format!("{to} is after to {from}")), "{err}");
}

#[test]
fn files_register_lazily_and_results_register_back() {
    let dir = tempfile::tempdir().unwrap();
    let demo = small_demo();
    let paths = demo.portfolio.write_dir(dir.path(), Format::Parquet).unwrap();
    let engine = Engine::new().unwrap();
    engine.register_file("usage", &paths[1], &ReadOptions::default()).unwrap();
    let by_day = engine.sql("SELECT date, SUM(active_users) AS dau FROM usage GROUP BY date").unwrap();
    engine.register("daily_active", &by_day).unwrap();
    assert_eq!(count(&engine, "SELECT COUNT(*) FROM daily_active") as usize, by_day.num_rows());
    assert!(engine.deregister("daily_active").unwrap());
    assert!(!engine.deregister("daily_active").unwrap());
}

#[test]
fn bad_queries_and_names_are_typed_errors() {
    let engine = Engine::with_threads(1).unwrap();
    let err = engine.sql("SELEC 1").unwrap_err();
    assert_eq!(err.category(), ErrorCategory::InvalidInput);
    let err = engine.sql("SELECT * FROM no_such_table").unwrap_err();
    assert!(err.to_string().contains("no_such_table"), "{err}");
    let err = engine.register("bad name;", &small_demo().portfolio.accounts).unwrap_err();
    assert_eq!(err.category(), ErrorCategory::Config);
    let err = engine.register_file("t", "/nonexistent/x.parquet", &ReadOptions::default()).unwrap_err();
    assert_eq!(err.category(), ErrorCategory::Io);
    assert_eq!(Engine::with_threads(0).unwrap_err().category(), ErrorCategory::Config);
}

#[test]
fn queries_name_the_table_they_miss() {
    let demo = small_demo();
    let engine = Engine::with_threads(1).unwrap();
    engine.register("accounts", &demo.portfolio.accounts).unwrap();
    let day = |m| NaiveDate::from_ymd_opt(2024, m, 1).unwrap();
    let err = engine.segment_anomalies("SMB", day(1), day(3)).unwrap_err();
    assert_eq!(err.category(), accountscope::ErrorCategory::InvalidInput);
    assert!(
        err.to_string().contains("no table 'anomaly_incidents' is registered (register a batch anomaly pass first)")
    );
    let err = engine.portfolio_summary().unwrap_err().to_string();
    assert!(err.contains("no table 'churn_labels' is registered; registered: [\"accounts\"]"), "{err}");
    assert!(engine.table("ACCOUNTS").is_ok(), "names are case-insensitive, as in SQL");
    assert!(engine.table("usage").unwrap_err().to_string().contains("no table 'usage'"));
}
