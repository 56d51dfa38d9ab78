//! The dirty variant: every injected defect is in the data and in the manifest, and nothing else changed.

use std::collections::{HashMap, HashSet};

use accountscope::TableKind;
use accountscope::demo::{DirtyConfig, dirty};
use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};

use crate::common::small_demo;

/// A table's rows as text, column by column.
fn text_columns(table: &accountscope::Table) -> (Vec<String>, Vec<Vec<Option<String>>>) {
    let b = table.concat().unwrap();
    let names = b.schema().fields().iter().map(|f| f.name().clone()).collect();
    let cols = b
        .columns()
        .iter()
        .map(|c| cast(c, &DataType::Utf8).unwrap().as_string::<i32>().iter().map(|v| v.map(str::to_string)).collect())
        .collect();
    (names, cols)
}

#[test]
fn every_defect_is_listed_and_nothing_else_changed() {
    let demo = small_demo();
    let config = DirtyConfig::default();
    let dirty = dirty(&demo.portfolio, &config).unwrap();
    let again = accountscope::demo::dirty(&demo.portfolio, &config).unwrap();
    assert_eq!(dirty.manifest.batches(), again.manifest.batches(), "deterministic");

    let manifest = dirty.manifest.concat().unwrap();
    let tables = manifest.column_by_name("table").unwrap().as_string::<i32>();
    let rows = manifest.column_by_name("row").unwrap().as_primitive::<Int64Type>();
    let columns = manifest.column_by_name("column").unwrap().as_string::<i32>();
    let kinds = manifest.column_by_name("kind").unwrap().as_string::<i32>();
    let originals = manifest.column_by_name("original_row").unwrap().as_primitive::<Int64Type>();
    let account_ids: HashSet<String> = text_columns(&demo.portfolio.accounts).1[0].iter().flatten().cloned().collect();
    let mut kinds_seen: HashMap<&str, HashSet<&str>> = HashMap::new();

    for kind in [TableKind::Accounts, TableKind::Usage, TableKind::Tickets, TableKind::Surveys, TableKind::Revenue] {
        let (clean_names, clean) = text_columns(demo.portfolio.get(kind));
        let (names, raw) = text_columns(dirty.get(kind).unwrap());
        assert_eq!(&names[..clean_names.len()], &clean_names[..]);
        assert_eq!(names.last().map(String::as_str), Some("loaded_at"));
        let col = |name: &str| names.iter().position(|n| n == name).unwrap();
        let mut listed: HashMap<usize, usize> = HashMap::new();
        for i in (0..manifest.num_rows()).filter(|i| tables.value(*i) == kind.name()) {
            assert!(listed.insert(rows.value(i) as usize, i).is_none(), "one defect per row");
            kinds_seen.entry(kind.name()).or_default().insert(kinds.value(i));
        }
        let n_clean = clean[0].len();
        let n_dirty = raw[0].len();
        let appended = listed.keys().filter(|r| **r >= n_clean).count();
        assert_eq!(n_dirty, n_clean + appended, "{}: appended rows are all in the manifest", kind.name());
        for r in 0..n_dirty {
            let value = |name: &str| raw[col(name)][r].clone();
            let Some(&m) = listed.get(&r) else {
                for c in 0..clean.len() {
                    assert_eq!(
                        raw[c][r],
                        clean[c][r],
                        "{} row {r} column {} changed but is not listed",
                        kind.name(),
                        names[c]
                    );
                }
                continue;
            };
            let column = columns.is_valid(m).then(|| columns.value(m));
            let changed = |c: &str| raw[col(c)][r] != clean[col(c)].get(r).cloned().flatten().map(Some).unwrap_or(None);
            match kinds.value(m) {
                "missing_value" => assert!(value(column.unwrap()).is_none()),
                "bad_format" => {
                    let v = value(column.unwrap()).unwrap();
                    let ok = match column.unwrap() {
                        "contact_email" => !v.contains('@'),
                        "date" | "start_date" => chrono::NaiveDate::parse_from_str(&v, "%Y-%m-%d").is_err(),
                        "opened_at" => chrono::DateTime::parse_from_rfc3339(&v).is_err(),
                        _ => v.parse::<f64>().is_err(),
                    };
                    assert!(ok, "{}: row {r} {v} should be malformed", kind.name());
                }
                "out_of_range" => {
                    let v: f64 = value(column.unwrap()).unwrap().parse().unwrap();
                    let in_range = match column.unwrap() {
                        "csat" => (1.0..=5.0).contains(&v),
                        "nps" => (0.0..=10.0).contains(&v),
                        "seats_purchased" => v >= 1.0,
                        _ => v >= 0.0,
                    };
                    assert!(!in_range, "{} row {r}: {v}", kind.name());
                }
                "invalid_category" => assert!(changed(column.unwrap())),
                "orphan_key" => assert!(!account_ids.contains(&value("account_id").unwrap())),
                "cross_column" => match column.unwrap() {
                    "closed_at" => assert!(value("closed_at").unwrap() < value("opened_at").unwrap()),
                    "renewal_date" => assert!(value("renewal_date").unwrap() < value("start_date").unwrap()),
                    _ => {
                        let a: i64 = value("active_users").unwrap().parse().unwrap();
                        let s: i64 = value("seats_used").unwrap().parse().unwrap();
                        assert!(a > s);
                    }
                },
                "late_arriving" => {
                    let loaded = chrono::DateTime::parse_from_rfc3339(&value("loaded_at").unwrap()).unwrap();
                    let day = chrono::NaiveDate::parse_from_str(&value("date").unwrap(), "%Y-%m-%d").unwrap();
                    assert!((loaded.date_naive() - day).num_days() >= 10);
                }
                "exact_duplicate" | "key_duplicate" => {
                    let o = originals.value(m) as usize;
                    assert!(r >= n_clean && o < n_clean);
                    let same: Vec<bool> = (0..clean.len()).map(|c| raw[c][r] == raw[c][o]).collect();
                    if kinds.value(m) == "exact_duplicate" {
                        assert!(same.iter().all(|s| *s));
                    } else {
                        let key_cols: Vec<usize> = kind.key().iter().map(|k| col(k)).collect();
                        assert!(key_cols.iter().all(|c| same[*c]));
                        assert!(same.iter().any(|s| !s), "a key duplicate differs somewhere");
                    }
                }
                other => panic!("unknown defect kind {other}"),
            }
        }
    }
    // Every kind of defect appears somewhere.
    let all: HashSet<&str> = kinds_seen.values().flatten().copied().collect();
    for k in [
        "missing_value",
        "bad_format",
        "out_of_range",
        "invalid_category",
        "orphan_key",
        "cross_column",
        "exact_duplicate",
        "key_duplicate",
        "late_arriving",
    ] {
        assert!(all.contains(k), "{k} missing from the manifest");
    }
}
