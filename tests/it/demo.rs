//! The demo generator: deterministic, and with the statistical properties `docs/demo.md` documents.

use accountscope::io::to_ipc_stream;
use accountscope::{DemoConfig, Engine, ErrorCategory, Table, generate};
use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, Int64Type};

use crate::common::{large_demo, small_demo};

fn bytes(demo: &accountscope::Demo) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> =
        demo.portfolio.tables().iter().map(|(_, t)| to_ipc_stream(t.schema(), t.batches()).unwrap()).collect();
    for (_, t) in demo.truth_tables() {
        out.push(to_ipc_stream(t.schema(), t.batches()).unwrap());
    }
    out
}

#[test]
fn same_seed_same_bytes_whatever_the_thread_count() {
    let config = DemoConfig::new(300, 5);
    let a = generate(&config).unwrap();
    let single = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let b = single.install(|| generate(&config).unwrap());
    assert_eq!(bytes(&a), bytes(&b));
    let c = generate(&DemoConfig::new(300, 6)).unwrap();
    assert_ne!(bytes(&a), bytes(&c));
}

#[test]
fn invalid_configs_are_typed_errors_naming_the_field() {
    for (config, field) in [
        (DemoConfig { accounts: 0, ..DemoConfig::default() }, "demo.accounts"),
        (DemoConfig { segment_mix: [0.0, 0.0, 0.0], ..DemoConfig::default() }, "demo.segment_mix"),
        (DemoConfig { end: DemoConfig::default().start, ..DemoConfig::default() }, "demo.end"),
        (DemoConfig { churn_shift: f64::NAN, ..DemoConfig::default() }, "demo.churn_shift"),
    ] {
        let err = generate(&config).unwrap_err();
        assert_eq!(err.category(), ErrorCategory::Config);
        assert!(err.to_string().contains(field), "{err}");
    }
    let parsed: DemoConfig =
        serde_json::from_str(r#"{"accounts": 10, "start": "2024-01-01", "end": "2024-12-31"}"#).unwrap();
    assert_eq!((parsed.accounts, parsed.seed), (10, 42));
}

fn engine() -> Engine {
    let demo = large_demo();
    let engine = Engine::with_threads(2).unwrap();
    engine.register_portfolio(&demo.portfolio).unwrap();
    for (name, table) in demo.truth_tables() {
        engine.register(name, table).unwrap();
    }
    engine
}

fn f64s(t: &Table, column: &str) -> Vec<f64> {
    let b = t.concat().unwrap();
    b.column_by_name(column).unwrap().as_primitive::<Float64Type>().iter().map(|v| v.unwrap_or(f64::NAN)).collect()
}

fn scalar(engine: &Engine, query: &str) -> f64 {
    f64s(&engine.sql(query).unwrap(), "v")[0]
}

#[test]
fn segment_mix_matches_the_configuration() {
    let engine = engine();
    let n = large_demo().portfolio.accounts.num_rows() as f64;
    let t = engine
        .sql("SELECT segment, CAST(COUNT(*) AS DOUBLE) AS v FROM accounts GROUP BY segment ORDER BY segment")
        .unwrap();
    let shares: Vec<f64> = f64s(&t, "v").iter().map(|c| c / n).collect();
    // Enterprise, MidMarket, SMB; 1,500 draws: 4 standard errors is ~0.05.
    for (share, expected) in shares.iter().zip([0.1, 0.3, 0.6]) {
        assert!((share - expected).abs() < 0.05, "{shares:?}");
    }
    // Segments differ in size: median seats grow from SMB to Enterprise.
    let seats = engine
        .sql("SELECT segment, CAST(approx_median(seats_purchased) AS DOUBLE) AS v FROM accounts GROUP BY segment ORDER BY v")
        .unwrap();
    let order: Vec<String> =
        seats.concat().unwrap().column(0).as_string::<i32>().iter().map(|s| s.unwrap().to_string()).collect();
    assert_eq!(order, vec!["SMB", "MidMarket", "Enterprise"]);
}

#[test]
fn planted_seasonality_is_present_where_planted_and_absent_elsewhere() {
    let engine = engine();
    let ratio = |industry: &str, num: &str, den: &str| {
        scalar(
            &engine,
            &format!(
                "SELECT AVG(CASE WHEN {num} THEN CAST(active_users AS DOUBLE) END) / AVG(CASE WHEN {den} THEN CAST(active_users AS DOUBLE) END) AS v
                 FROM usage JOIN accounts USING (account_id) WHERE industry = '{industry}'"
            ),
        )
    };
    let weekend = "date_part('dow', date) IN (0, 6)";
    let weekday = "date_part('dow', date) NOT IN (0, 6)";
    let summer = "date_part('month', date) IN (7, 8)";
    let spring = "date_part('month', date) IN (4, 5)";
    let december = "date_part('month', date) = 12";
    // Weekly: Media has none, every other industry is weekday-heavy.
    assert!((ratio("Media", weekend, weekday) - 1.0).abs() < 0.05);
    for industry in ["Education", "Software", "FinancialServices", "Retail"] {
        assert!(ratio(industry, weekend, weekday) < 0.55, "{industry}");
    }
    // Yearly: education dips in summer, retail peaks in December, the others are flat.
    assert!(ratio("Education", summer, spring) < 0.7);
    assert!(ratio("Retail", december, spring) > 1.2);
    for industry in ["Software", "Healthcare", "Manufacturing"] {
        let r = ratio(industry, december, spring);
        assert!((0.85..1.15).contains(&r), "{industry}: {r}");
    }
}

#[test]
fn churn_rate_is_in_the_documented_range_and_follows_the_hidden_drivers() {
    let engine = engine();
    // Annualised logo churn: churned accounts over account-years observed.
    let account_years = scalar(
        &engine,
        "SELECT SUM(CAST(COALESCE(c.churn_date, DATE '2026-01-01') - GREATEST(a.start_date, DATE '2023-01-01') AS DOUBLE)) / 365.0 AS v
         FROM accounts a JOIN churn_labels c USING (account_id)",
    );
    let churned =
        scalar(&engine, "SELECT CAST(SUM(CASE WHEN churned THEN 1 ELSE 0 END) AS DOUBLE) AS v FROM churn_labels");
    let annual = churned / account_years;
    assert!((0.06..0.25).contains(&annual), "annual churn {annual}");
    let rate = |filter: &str| {
        scalar(
            &engine,
            &format!("SELECT AVG(CASE WHEN churned THEN 1.0 ELSE 0.0 END) AS v FROM truth_accounts WHERE {filter}"),
        )
    };
    // Accounts in decline for at least a year churn far more than stable ones.
    let declining = rate("trend = 'declining' AND decline_start < DATE '2025-01-01'");
    let stable = rate("trend = 'stable'");
    assert!(declining > 1.5 * stable, "{declining} vs {stable}");
    // Every churned account has a cause; ground truth and labels agree.
    let mismatches = scalar(
        &engine,
        "SELECT CAST(COUNT(*) AS DOUBLE) AS v FROM truth_accounts t JOIN churn_labels c USING (account_id)
         WHERE t.churned <> c.churned OR (t.churned AND (t.churn_cause IS NULL OR t.churn_date <> c.churn_date))",
    );
    assert_eq!(mismatches, 0.0);
    // No usage on or after the churn date.
    let after = scalar(
        &engine,
        "SELECT CAST(COUNT(*) AS DOUBLE) AS v FROM usage u JOIN churn_labels c USING (account_id) WHERE c.churned AND u.date >= c.churn_date",
    );
    assert_eq!(after, 0.0);
}

#[test]
fn revenue_ledger_reconciles_with_arr_and_expansions_follow_utilisation() {
    let engine = engine();
    let off = scalar(
        &engine,
        "SELECT CAST(COUNT(*) AS DOUBLE) AS v FROM (SELECT account_id, SUM(mrr_delta) AS mrr FROM revenue GROUP BY account_id) r
         JOIN accounts a USING (account_id) WHERE ABS(r.mrr * 12 - a.arr) > 0.5",
    );
    assert_eq!(off, 0.0);
    let expansions = scalar(&engine, "SELECT CAST(COUNT(*) AS DOUBLE) AS v FROM expansion_labels");
    assert!(expansions > 50.0);
    let labelled = scalar(&engine, "SELECT CAST(COUNT(*) AS DOUBLE) AS v FROM revenue WHERE event_type = 'expansion'");
    assert_eq!(expansions, labelled);
    // Usage never exceeds what is assigned.
    let over = scalar(
        &engine,
        "SELECT CAST(COUNT(*) AS DOUBLE) AS v FROM usage WHERE active_users > seats_used OR active_users < 0",
    );
    assert_eq!(over, 0.0);
}

#[test]
fn planted_anomalies_are_in_the_data() {
    let engine = engine();
    let gaps = engine
        .sql(
            "SELECT CAST(COUNT(u.date) AS BIGINT) AS v FROM truth_anomalies t
             JOIN usage u ON u.account_id = t.account_id AND u.date BETWEEN t.start_date AND t.end_date
             WHERE t.kind = 'data_gap'",
        )
        .unwrap();
    assert_eq!(gaps.concat().unwrap().column(0).as_primitive::<Int64Type>().value(0), 0, "gap days have no rows");
    let kinds = scalar(&engine, "SELECT CAST(COUNT(DISTINCT kind) AS DOUBLE) AS v FROM truth_anomalies");
    assert_eq!(kinds, 3.0);
    // Outage days carry far less usage than the same account's median day.
    let outage_ratio = scalar(
        &engine,
        "WITH med AS (SELECT account_id, approx_median(CAST(active_users AS DOUBLE)) AS m FROM usage GROUP BY account_id)
         SELECT AVG(CAST(u.active_users AS DOUBLE) / m.m) AS v FROM truth_anomalies t
         JOIN usage u ON u.account_id = t.account_id AND u.date BETWEEN t.start_date AND t.end_date
         JOIN med m ON m.account_id = t.account_id WHERE t.kind = 'outage' AND m.m >= 5",
    );
    assert!(outage_ratio < 0.3, "{outage_ratio}");
}

#[test]
fn tickets_and_nps_respond_to_health() {
    let engine = engine();
    let nps = |trend: &str| {
        scalar(
            &engine,
            &format!(
                "SELECT AVG(CAST(nps AS DOUBLE)) AS v FROM surveys JOIN truth_accounts USING (account_id) WHERE trend = '{trend}'"
            ),
        )
    };
    assert!(nps("declining") < nps("growing") - 0.3, "{} vs {}", nps("declining"), nps("growing"));
    let severe = |trend: &str| {
        scalar(
            &engine,
            &format!(
                "SELECT AVG(CASE WHEN priority IN ('high', 'urgent') THEN 1.0 ELSE 0.0 END) AS v
                 FROM tickets JOIN truth_accounts USING (account_id) WHERE trend = '{trend}' AND category <> 'outage'"
            ),
        )
    };
    assert!(severe("declining") > severe("growing"));
    let small = &small_demo().portfolio;
    let closed = small.tickets.concat().unwrap();
    let opened =
        closed.column_by_name("opened_at").unwrap().as_primitive::<arrow::datatypes::TimestampMillisecondType>();
    let closed_at =
        closed.column_by_name("closed_at").unwrap().as_primitive::<arrow::datatypes::TimestampMillisecondType>();
    for i in 0..closed.num_rows() {
        if closed_at.is_valid(i) {
            assert!(closed_at.value(i) > opened.value(i));
        }
    }
}
