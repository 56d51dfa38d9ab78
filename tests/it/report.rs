//! Reports on a demo portfolio run through the whole pipeline (health, anomalies, churn and expansion
//! models): every template in every format, KPIs checked against figures computed here from the raw
//! rows, no PII in any output for masked roles, named errors for bad specs, erasure with its receipt.
//! The real readers (jsonschema, openpyxl, pdfinfo / pdftotext, headless Chromium) run in the Python tests.

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use accountscope::anomaly::{AnomalyConfig, detect};
use accountscope::features::{FeatureConfig, FeatureInputs, build_features};
use accountscope::health::{HealthOptions, default_config, score_history};
use accountscope::predict::{ChurnConfig, ChurnModel, ExpansionConfig, ExpansionModel, Playbook, known_at};
use accountscope::privacy::{Privacy, PrivacyPolicy, erase_account};
use accountscope::report::{self, Block, Filters, Report, ReportFormat, ReportOptions, ReportSpec};
use accountscope::{DemoConfig, Engine, ErrorCategory, Portfolio, TableKind, generate};
use arrow::array::{Array, AsArray};
use arrow::datatypes::{Date32Type, Float64Type};
use chrono::{DateTime, NaiveDate, Utc};

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

const AS_OF: fn() -> NaiveDate = || day(2026, 1, 1);

struct Pipeline {
    portfolio: Portfolio,
    engine: Engine,
}

/// 300 accounts through health, anomalies and the prediction models, registered under the names the
/// templates read.
fn pipeline() -> &'static Pipeline {
    static P: OnceLock<Pipeline> = OnceLock::new();
    P.get_or_init(|| {
        let config = DemoConfig::new(300, 7);
        let portfolio = generate(&config).unwrap().portfolio;
        let engine = Engine::new().unwrap();
        engine.register_portfolio(&portfolio).unwrap();
        let options = HealthOptions { from: day(2025, 1, 6), to: config.end, step_days: 7 };
        let health = score_history(&engine, &default_config().unwrap(), &options).unwrap();
        engine.register("health", &health.history).unwrap();
        engine
            .register_anomalies(&detect(portfolio.get(TableKind::Usage), &AnomalyConfig::default()).unwrap())
            .unwrap();
        let inputs = FeatureInputs::from_portfolio(&portfolio);
        let features = build_features(&inputs, &FeatureConfig::monthly(day(2023, 4, 1), day(2025, 6, 1))).unwrap();
        let known = known_at(&features.table, day(2025, 7, 1)).unwrap();
        let churn = ChurnModel::fit(&known, &ChurnConfig { horizons: vec![30, 90], ..ChurnConfig::default() }).unwrap();
        let expansion =
            ExpansionModel::fit(&known, &ExpansionConfig { horizons: vec![90], ..ExpansionConfig::default() }).unwrap();
        let current = engine.features_at(AS_OF(), None).unwrap().table;
        engine.register("churn_risk", &churn.predict(&current, &Playbook::default()).unwrap()).unwrap();
        engine.register("expansion_forecast", &expansion.predict(&current).unwrap()).unwrap();
        Pipeline { portfolio, engine }
    })
}

fn privacy() -> Privacy {
    Privacy::new(PrivacyPolicy::default(), b"integration-test-key".to_vec()).unwrap()
}

fn options(role: &str) -> ReportOptions {
    ReportOptions {
        role: Some(role.into()),
        as_of: Some(AS_OF()),
        generated_at: Some(DateTime::<Utc>::from_timestamp(1_767_225_600, 0).unwrap()),
        ..ReportOptions::default()
    }
}

fn kpi(report: &Report, label: &str) -> f64 {
    report::json::to_value(report)["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["blocks"].as_array().unwrap().clone())
        .filter(|b| b["type"] == "kpis")
        .flat_map(|b| b["kpis"].as_array().unwrap().clone())
        .find(|k| k["label"] == label)
        .and_then(|k| k["value"].as_f64())
        .unwrap_or_else(|| panic!("no KPI '{label}'"))
}

/// MRR per account at `as_of`, summed here from the raw revenue rows.
fn mrr_at(portfolio: &Portfolio, as_of: NaiveDate) -> HashMap<String, f64> {
    let revenue = portfolio.get(TableKind::Revenue).concat().unwrap();
    let ids = revenue.column_by_name("account_id").unwrap().as_string::<i32>();
    let dates = revenue.column_by_name("date").unwrap().as_primitive::<Date32Type>();
    let delta = revenue.column_by_name("mrr_delta").unwrap().as_primitive::<Float64Type>();
    let mut mrr = HashMap::new();
    for i in 0..revenue.num_rows() {
        if dates.value_as_date(i).unwrap() <= as_of && delta.is_valid(i) {
            *mrr.entry(ids.value(i).to_string()).or_insert(0.0) += delta.value(i);
        }
    }
    mrr
}

#[test]
fn executive_report_shows_every_section_with_kpis_that_match_the_raw_rows() {
    let p = pipeline();
    let report =
        report::build(&p.engine, &ReportSpec::template("executive").unwrap(), &options("executive"), &privacy())
            .unwrap();
    let notes: Vec<&str> = report
        .sections
        .iter()
        .flat_map(|s| &s.blocks)
        .filter_map(|b| if let Block::Text(t) = b { t.note.then_some(t.text.as_str()) } else { None })
        .collect();
    assert!(notes.is_empty(), "every input is registered: {notes:?}");

    let mrr = mrr_at(&p.portfolio, AS_OF());
    let active = mrr.values().filter(|m| **m > 0.0).count() as f64;
    let arr: f64 = 12.0 * mrr.values().sum::<f64>();
    assert_eq!(kpi(&report, "Active accounts"), active);
    assert!((kpi(&report, "ARR") - arr).abs() < 1e-6 * arr, "{} vs {arr}", kpi(&report, "ARR"));

    for format in ReportFormat::ALL {
        let bytes = report.render(format).unwrap();
        assert!(bytes.len() > 1_000, "{format:?}");
    }
    let pdf = report.render(ReportFormat::Pdf).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let shown = accountscope::report::ValueFormat::Currency.format(arr);
    let needle = format!("({shown})");
    assert!(pdf.windows(needle.len()).any(|w| w == needle.as_bytes()), "the PDF holds the ARR tile {shown} as text");
    let html = String::from_utf8(report.render(ReportFormat::Html).unwrap()).unwrap();
    assert!(html.contains("<svg") && html.contains(&shown));
    for request in ["src=", "<link", "url(", "<script", "@import"] {
        assert!(!html.contains(request), "no external requests, no scripts: found {request}");
    }
    let xlsx = report.render(ReportFormat::Xlsx).unwrap();
    assert!(xlsx.starts_with(b"PK"), "an xlsx is a zip archive");
}

#[test]
fn same_inputs_give_identical_bytes() {
    let p = pipeline();
    let spec = ReportSpec::template("executive").unwrap();
    let a = report::build(&p.engine, &spec, &options("analyst"), &privacy()).unwrap();
    let b = report::build(&p.engine, &spec, &options("analyst"), &privacy()).unwrap();
    for format in [ReportFormat::Json, ReportFormat::Html, ReportFormat::Pdf] {
        assert!(a.render(format).unwrap() == b.render(format).unwrap(), "{format:?}");
    }
}

/// Every PII value of the portfolio (CSM names, contact e-mails, survey comments).
fn pii_values(portfolio: &Portfolio) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (kind, column) in
        [(TableKind::Accounts, "csm_owner"), (TableKind::Accounts, "contact_email"), (TableKind::Surveys, "comment")]
    {
        for batch in portfolio.get(kind).batches() {
            out.extend(batch.column_by_name(column).unwrap().as_string::<i32>().iter().flatten().map(str::to_string));
        }
    }
    out
}

fn leaks(bytes: &[u8], pii: &BTreeSet<String>) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    pii.iter().filter(|v| text.contains(v.as_str())).cloned().collect()
}

#[test]
fn masked_roles_leak_no_pii_and_the_csm_sees_it() {
    let p = pipeline();
    let pii = pii_values(&p.portfolio);
    assert!(pii.len() > 300, "the demo has PII to find: {}", pii.len());
    let risky = p.engine.sql("SELECT account_id FROM churn_risk ORDER BY churn_probability_90d DESC LIMIT 1").unwrap();
    let account = risky.concat().unwrap().column(0).as_string::<i32>().value(0).to_string();
    let csm_spec = ReportSpec::template("csm").unwrap();
    for role in ["executive", "analyst", "auditor"] {
        for spec in [ReportSpec::template("executive").unwrap(), csm_spec.clone()] {
            let mut o = options(role);
            o.filters.account_id = Some(account.clone());
            let report = report::build(&p.engine, &spec, &o, &privacy()).unwrap();
            // The xlsx is compressed: the Python tests unzip it and scan it too.
            for format in [ReportFormat::Json, ReportFormat::Html, ReportFormat::Pdf] {
                let found = leaks(&report.render(format).unwrap(), &pii);
                assert!(found.is_empty(), "{role} / {} / {format:?} leaks {found:?}", spec.id);
            }
        }
    }
    // Positive control: the CSM's own report shows the contact's e-mail address.
    let mut o = options("csm");
    o.filters.account_id = Some(account.clone());
    let report = report::build(&p.engine, &csm_spec, &o, &privacy()).unwrap();
    let found = leaks(&report.render(ReportFormat::Html).unwrap(), &pii);
    assert!(found.iter().any(|v| v.contains('@')), "{found:?}");
}

#[test]
fn filters_narrow_the_accounts() {
    let p = pipeline();
    let spec = ReportSpec::template("executive").unwrap();
    let all = report::build(&p.engine, &spec, &options("executive"), &privacy()).unwrap();
    let mut o = options("executive");
    o.filters = Filters { segments: vec!["Enterprise".into()], ..Filters::default() };
    let enterprise = report::build(&p.engine, &spec, &o, &privacy()).unwrap();
    let (a, e) = (kpi(&all, "Active accounts"), kpi(&enterprise, "Active accounts"));
    assert!(e > 0.0 && e < a, "{e} of {a}");
    assert!(enterprise.filters.iter().any(|(k, v)| k == "segment" && v == "Enterprise"));
}

#[test]
fn bad_specs_and_requests_are_named_errors() {
    let p = pipeline();
    let e = report::build(&p.engine, &ReportSpec::template("csm").unwrap(), &options("csm"), &privacy()).unwrap_err();
    assert!(e.to_string().contains("filters.account_id"), "{e}");
    let mut o = options("csm");
    o.filters.account_id = Some("no-such-account".into());
    let e = report::build(&p.engine, &ReportSpec::template("csm").unwrap(), &o, &privacy()).unwrap_err();
    assert!(e.to_string().contains("no-such-account"), "{e}");

    let spec = ReportSpec::from_str(
        "id: custom\ntitle: Custom\nsections:\n- title: S\n  widgets:\n  - id: broken\n    kind: table\n    sql: SELECT no_such_column FROM accounts\n",
        "yaml",
    )
    .unwrap();
    let e = report::build(&p.engine, &spec, &options("analyst"), &privacy()).unwrap_err();
    assert_eq!(e.category(), ErrorCategory::Config);
    assert!(e.to_string().contains("widget 'broken', field 'sql'"), "{e}");

    let spec = ReportSpec::from_str(
        r#"{"id": "c", "title": "C", "sections": [{"title": "S", "widgets": [{"id": "by_segment", "kind": "chart",
            "chart": "bar", "sql": "SELECT segment, COUNT(*) AS n FROM accounts GROUP BY segment", "x": "segment",
            "y": ["count"]}]}]}"#,
        "json",
    )
    .unwrap();
    let e = report::build(&p.engine, &spec, &options("analyst"), &privacy()).unwrap_err();
    assert!(e.to_string().contains("widget 'by_segment', field 'y[0]'") && e.to_string().contains("'count'"), "{e}");
}

#[test]
fn a_report_shows_what_exists_and_notes_what_does_not() {
    let p = pipeline();
    let engine = Engine::new().unwrap();
    engine.register_portfolio(&p.portfolio).unwrap();
    let report =
        report::build(&engine, &ReportSpec::template("executive").unwrap(), &options("executive"), &privacy()).unwrap();
    let text = String::from_utf8(report.render(ReportFormat::Html).unwrap()).unwrap();
    assert!(text.contains("Not available") && text.contains("churn_risk"), "missing inputs are noted");
    assert!(kpi(&report, "Active accounts") > 0.0, "what exists is still shown");
    let quality =
        report::build(&engine, &ReportSpec::template("data_quality").unwrap(), &options("analyst"), &privacy())
            .unwrap();
    assert!(quality.render(ReportFormat::Pdf).unwrap().starts_with(b"%PDF-"));
}

#[test]
fn erasure_removes_the_account_everywhere_and_says_what_it_removed() {
    let p = pipeline();
    let engine = Engine::new().unwrap();
    engine.register_portfolio(&p.portfolio).unwrap();
    engine.register("churn_risk", &p.engine.table("churn_risk").unwrap()).unwrap();
    let id = p.engine.sql("SELECT MIN(account_id) AS a FROM churn_risk").unwrap().concat().unwrap();
    let id = id.column(0).as_string::<i32>().value(0).to_string();
    let count = |table: &str| {
        let t = engine.sql(&format!("SELECT COUNT(*) AS n FROM {table} WHERE account_id = '{id}'")).unwrap();
        t.concat().unwrap().column(0).as_primitive::<arrow::datatypes::Int64Type>().value(0) as usize
    };
    let tables =
        ["accounts", "usage", "tickets", "surveys", "revenue", "churn_labels", "expansion_labels", "churn_risk"];
    let before: HashMap<&str, usize> = tables.iter().map(|t| (*t, count(t))).collect();
    assert!(before["usage"] > 100 && before["churn_risk"] == 1);

    let audit = accountscope::privacy::AuditLog::in_memory();
    let receipt = privacy().erase(&engine, &id, "dpo", &audit).unwrap();
    let entry = &audit.entries().unwrap()[0];
    assert_eq!((entry.action.as_str(), entry.target.clone()), ("erasure", privacy().token(&id)));
    assert!(!format!("{entry:?}").contains(&id), "the log names the account only by its token");
    for t in tables {
        assert_eq!(count(t), 0, "{t}");
        let row = receipt.tables.iter().find(|r| r.table == t).unwrap();
        assert_eq!(row.rows_removed, before[t], "{t}");
        assert!(!row.file_backed);
    }
    assert_eq!(receipt.rows_removed(), before.values().sum::<usize>());
    assert_eq!(erase_account(&engine, &id).unwrap().rows_removed(), 0, "erasing twice removes nothing more");
}

#[test]
fn data_quality_report_shows_the_scorecard_profile_and_drift() {
    use accountscope::demo::{DirtyConfig, dirty, dirty_rules};
    use accountscope::predict::{ReferenceProfile, drift_table};
    use accountscope::validate::{ProfileOptions, Validator, profile};

    let p = pipeline();
    let raw = dirty(&p.portfolio, &DirtyConfig::default()).unwrap();
    let inputs: Vec<(&str, &accountscope::Table)> = raw.tables.iter().map(|(k, t)| (k.name(), t)).collect();
    let rows_in: usize = raw.tables.iter().map(|(_, t)| t.num_rows()).sum();
    let run = Validator::new(dirty_rules().unwrap()).unwrap().validate(&inputs).unwrap();
    let engine = Engine::new().unwrap();
    run.register(&engine).unwrap();
    engine
        .register("profile", &profile(p.portfolio.get(TableKind::Accounts), &ProfileOptions::default()).unwrap())
        .unwrap();
    let inputs = FeatureInputs::from_portfolio(&p.portfolio);
    let early = build_features(&inputs, &FeatureConfig::monthly(day(2024, 1, 1), day(2024, 1, 1)))
        .unwrap()
        .table
        .concat()
        .unwrap();
    let late = build_features(&inputs, &FeatureConfig::monthly(day(2025, 12, 1), day(2025, 12, 1)))
        .unwrap()
        .table
        .concat()
        .unwrap();
    let columns = vec!["active_users_mean_30".to_string(), "mrr".to_string()];
    let drift = ReferenceProfile::new(&early, &columns).unwrap().drift(&late).unwrap();
    engine.register("feature_drift", &drift_table(&drift).unwrap()).unwrap();

    let report =
        report::build(&engine, &ReportSpec::template("data_quality").unwrap(), &options("analyst"), &privacy())
            .unwrap();
    let notes =
        report.sections.iter().flat_map(|s| &s.blocks).filter(|b| matches!(b, Block::Text(t) if t.note)).count();
    assert_eq!(notes, 0, "every input is registered");
    assert_eq!(kpi(&report, "Rows in"), rows_in as f64);
    let reconciled =
        kpi(&report, "Rows clean") + kpi(&report, "Rows quarantined") + kpi(&report, "Duplicate copies removed");
    assert_eq!(reconciled, rows_in as f64, "clean + quarantined + duplicates = input rows");
    for format in ReportFormat::ALL {
        assert!(!report.render(format).unwrap().is_empty());
    }
}
