//! Validation: every injected defect of the dirty demo is caught by its rule, nothing clean is lost, scores
//! follow their formulas, bad rule sets are typed errors before any row is read.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use accountscope::demo::{DirtyConfig, dirty, dirty_rules};
use accountscope::validate::{
    Check, CompareOp, DuplicatePolicy, ReportDuplicates, Rule, RuleSet, Severity, TableRules, ValidateOptions,
    Validation, Validator, profile,
};
use accountscope::{Engine, ErrorCategory, Table, TableKind};
use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Int64Type, Schema};
use chrono::{TimeZone, Utc};

use crate::common::small_demo;

fn dirty_run() -> (&'static accountscope::demo::DirtyPortfolio, Validation) {
    use std::sync::OnceLock;
    static DIRTY: OnceLock<accountscope::demo::DirtyPortfolio> = OnceLock::new();
    let dirty = DIRTY.get_or_init(|| dirty(&small_demo().portfolio, &DirtyConfig::default()).unwrap());
    let options = ValidateOptions {
        as_of: Some(Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap()),
        max_failing_keys: 100_000,
        ..Default::default()
    };
    let validator = Validator::new(dirty_rules().unwrap()).unwrap().with_options(options);
    let inputs: Vec<(&str, &Table)> = dirty.tables.iter().map(|(k, t)| (k.name(), t)).collect();
    (dirty, validator.validate(&inputs).unwrap())
}

fn rows_of(table: &Table, column: &str) -> Vec<i64> {
    table
        .batches()
        .iter()
        .flat_map(|b| b.column_by_name(column).unwrap().as_primitive::<Int64Type>().values().to_vec())
        .collect()
}

/// The rule that must catch a defect of `kind` in `table.column`.
fn expected_rule(table: &str, column: &str, kind: &str) -> String {
    match (kind, table, column) {
        ("missing_value", _, c) => format!("{table}.{c}.not_null"),
        ("bad_format", "accounts", "contact_email") => "accounts.email_format".into(),
        ("bad_format", _, c) => format!("{table}.{c}.type"),
        ("out_of_range", "accounts", "arr") => "accounts.arr_range".into(),
        ("out_of_range", "accounts", "seats_purchased") => "accounts.seats_range".into(),
        ("out_of_range", _, c) => format!("{table}.{c}_range"),
        ("invalid_category", _, c) => format!("{table}.{c}_set"),
        ("orphan_key", _, _) => format!("{table}.account_exists"),
        ("cross_column", "accounts", _) => "accounts.renewal_after_start".into(),
        ("cross_column", "usage", _) => "usage.active_within_seats".into(),
        ("cross_column", "tickets", _) => "tickets.closed_after_opened".into(),
        ("late_arriving", _, _) => format!("{table}.loaded_on_time"),
        other => panic!("no rule for {other:?}"),
    }
}

#[test]
fn every_dirty_defect_is_caught_by_its_rule_and_no_clean_row_is_lost() {
    let (dirty, run) = dirty_run();
    let manifest = dirty.manifest.concat().unwrap();
    let m_table = manifest.column_by_name("table").unwrap().as_string::<i32>();
    let m_row = manifest.column_by_name("row").unwrap().as_primitive::<Int64Type>();
    let m_col = manifest.column_by_name("column").unwrap().as_string::<i32>();
    let m_kind = manifest.column_by_name("kind").unwrap().as_string::<i32>();
    let m_orig = manifest.column_by_name("original_row").unwrap().as_primitive::<Int64Type>();
    let mut checked: HashMap<String, usize> = HashMap::new();

    for (kind, input) in &dirty.tables {
        let name = kind.name();
        let out = run.table(name).unwrap();
        let report = run.report.table(name).unwrap();
        // Nothing lost.
        assert_eq!(
            out.clean.num_rows() + out.quarantine.num_rows() + out.duplicates.num_rows(),
            input.num_rows(),
            "{name}: clean + quarantine + duplicates = input"
        );
        assert_eq!(report.rows_in as usize, input.num_rows());
        assert_eq!(report.rows_clean as usize, out.clean.num_rows());
        // Quarantine: row → rule ids.
        let q = out.quarantine.concat().unwrap();
        let q_rows = q.column_by_name("_row").unwrap().as_primitive::<Int64Type>();
        let q_ids = q.column_by_name("_rule_ids").unwrap().as_list::<i32>();
        let q_reasons = q.column_by_name("_reasons").unwrap().as_list::<i32>();
        let mut quarantined: HashMap<i64, Vec<String>> = HashMap::new();
        for i in 0..q.num_rows() {
            let ids = q_ids.value(i);
            let ids: Vec<String> = ids.as_string::<i32>().iter().map(|s| s.unwrap().to_string()).collect();
            assert_eq!(ids.len(), q_reasons.value(i).len(), "one reason per failed rule");
            quarantined.insert(q_rows.value(i), ids);
        }
        let d = out.duplicates.concat().unwrap();
        let d_rows = d.column_by_name("_row").unwrap().as_primitive::<Int64Type>();
        let d_kept = d.column_by_name("_kept_row").unwrap().as_primitive::<Int64Type>();
        let d_kind = d.column_by_name("_duplicate").unwrap().as_string::<i32>();
        let dups: HashMap<i64, (i64, &str)> =
            (0..d.num_rows()).map(|i| (d_rows.value(i), (d_kept.value(i), d_kind.value(i)))).collect();
        let flagged = |rule: &str| -> HashSet<i64> {
            let r = report.rules.iter().find(|r| r.rule_id == rule).unwrap_or_else(|| panic!("rule {rule}"));
            r.failing_keys.iter().map(|k| k["row ".len()..].split(':').next().unwrap().parse().unwrap()).collect()
        };

        let mut defect_rows = HashSet::new();
        for i in (0..manifest.num_rows()).filter(|i| m_table.value(*i) == name) {
            let row = m_row.value(i);
            defect_rows.insert(row);
            let defect = m_kind.value(i);
            let column = if m_col.is_null(i) { "" } else { m_col.value(i) };
            match defect {
                "exact_duplicate" | "key_duplicate" => {
                    let (kept, how) =
                        dups.get(&row).unwrap_or_else(|| panic!("{name} row {row}: {defect} not dropped"));
                    assert_eq!(*kept, m_orig.value(i), "{name} row {row}: kept row");
                    assert_eq!(*how, if defect == "exact_duplicate" { "exact" } else { "key" });
                }
                "late_arriving" => {
                    assert!(flagged(&expected_rule(name, column, defect)).contains(&row), "{name} row {row} late");
                    assert!(!quarantined.contains_key(&row), "a warning keeps the row");
                }
                _ => {
                    let rule = expected_rule(name, column, defect);
                    let ids =
                        quarantined.get(&row).unwrap_or_else(|| panic!("{name} row {row}: {defect} not quarantined"));
                    assert_eq!(ids, &vec![rule.clone()], "{name} row {row}: {defect} caught by {rule} only");
                }
            }
            *checked.entry(defect.to_string()).or_default() += 1;
        }
        // No clean row is quarantined, dropped or flagged.
        for row in quarantined.keys().chain(dups.keys()) {
            assert!(defect_rows.contains(row), "{name}: clean row {row} was quarantined or dropped");
        }
        for r in report.rules.iter().filter(|r| r.severity == "warning") {
            assert_eq!(flagged(&r.rule_id).difference(&defect_rows).count(), 0, "{}: flags clean rows", r.rule_id);
        }
    }
    for kind in [
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
        assert!(checked.get(kind).copied().unwrap_or(0) >= 2, "{kind} checked");
    }
}

#[test]
fn dirty_run_reports_types_and_registers_in_the_engine() {
    let (_, run) = dirty_run();
    let usage = run.table("usage").unwrap();
    assert_eq!(usage.clean.schema().field_with_name("date").unwrap().data_type(), &DataType::Date32);
    assert_eq!(usage.clean.schema().field_with_name("active_users").unwrap().data_type(), &DataType::Int32);
    let fresh = run.report.table("usage").unwrap().rules.iter().find(|r| r.rule_id == "usage.fresh").unwrap();
    assert!(fresh.success, "{fresh:?}");
    let engine = Engine::new().unwrap();
    run.register(&engine).unwrap();
    let t = engine
        .sql("SELECT COUNT(*) AS n FROM usage_quarantine WHERE array_has(_rule_ids, 'usage.account_exists')")
        .unwrap();
    let n = t.concat().unwrap().column(0).as_primitive::<Int64Type>().value(0);
    let expected =
        run.report.table("usage").unwrap().rules.iter().find(|r| r.rule_id == "usage.account_exists").unwrap();
    assert_eq!(n as u64, expected.failed);
    let scores = engine.sql("SELECT \"table\", overall FROM validation_scores ORDER BY \"table\"").unwrap();
    assert_eq!(scores.num_rows(), 5);
    assert_eq!(engine.sql("SELECT * FROM validation_lineage").unwrap().num_rows(), 5);
    assert!(run.report.scorecard().contains("usage"));
}

/// A small table whose scores are computed by hand below.
fn small() -> Table {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, true),
        Field::new("x", DataType::Float64, true),
        Field::new("ref", DataType::Utf8, true),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![
            Some("a"),
            Some("b"),
            Some("c"),
            Some("c"),
            Some("d"),
            None,
            Some("f"),
            Some("b"),
        ])),
        Arc::new(Float64Array::from(vec![
            Some(1.0),
            Some(-1.0),
            Some(2.0),
            Some(2.0),
            None,
            Some(3.0),
            Some(50.0),
            Some(-1.0),
        ])),
        Arc::new(StringArray::from(vec![
            Some("k1"),
            Some("k1"),
            Some("zz"),
            Some("zz"),
            Some("k2"),
            Some("k2"),
            None,
            Some("k1"),
        ])),
    ];
    Table::from_batch(RecordBatch::try_new(schema, cols).unwrap())
}

fn refs() -> Table {
    let schema = Arc::new(Schema::new(vec![Field::new("ref", DataType::Utf8, false)]));
    Table::from_batch(
        RecordBatch::try_new(schema, vec![Arc::new(StringArray::from(vec!["k1", "k2"])) as ArrayRef]).unwrap(),
    )
}

#[test]
fn quality_scores_follow_their_formulas() {
    // Rows: 0 a 1 k1 | 1 b -1 k1 | 2 c 2 zz | 3 c 2 zz (exact copy of 2) | 4 d null k2 | 5 null 3 k2 | 6 f 50 null
    //       | 7 b -1 k1 (exact copy of 1).
    let rules = RuleSet::new("s").with_table(
        TableRules::new("t")
            .with_key(&["id"])
            .with_rule(Rule::new("id_nn", Check::NotNull { column: "id".into() }))
            .with_rule(Rule::new("x_nn", Check::NotNull { column: "x".into() }).with_severity(Severity::Warning))
            .with_rule(Rule::new(
                "x_range",
                Check::Range { column: "x".into(), min: Some(0.0.into()), max: Some(10.0.into()), exclusive: false },
            ))
            .with_rule(
                Rule::new("fk", Check::ForeignKey { column: "ref".into(), ref_table: "r".into(), ref_column: None })
                    .with_mostly(0.5),
            ),
    );
    let run = Validator::new(rules).unwrap().with_reference("r", refs()).validate(&[("t", &small())]).unwrap();
    let rep = run.report.table("t").unwrap();
    // Dedup: rows 3 and 7 are exact copies → n_in = 8, n = 6 rows evaluated (0,1,2,4,5,6).
    assert_eq!(rep.rows_duplicates, 2);
    // Completeness over {id, x}: nulls id@5, x@4 → 10 of 12 present.
    assert!((rep.scores.completeness - 10.0 / 12.0).abs() < 1e-15);
    // Validity: x_range fails rows 1 (-1) and 6 (50) → 1 - 2/6.
    assert!((rep.scores.validity - (1.0 - 2.0 / 6.0)).abs() < 1e-15);
    // Uniqueness: 2 dropped copies of 8 input rows.
    assert!((rep.scores.uniqueness - (1.0 - 2.0 / 8.0)).abs() < 1e-15);
    // Consistency: fk fails row 2 (zz) → 1 - 1/6.
    assert!((rep.scores.consistency - (1.0 - 1.0 / 6.0)).abs() < 1e-15);
    assert_eq!(rep.scores.freshness, None);
    let overall = (10.0 / 12.0 + (1.0 - 2.0 / 6.0) + 0.75 + (1.0 - 1.0 / 6.0)) / 4.0;
    assert!((rep.scores.overall - overall).abs() < 1e-15);
    // Quarantine: row 1 (x_range), 2 (fk), 5 (id_nn), 6 (x_range); row 4 only warned.
    assert_eq!(rows_of(&run.table("t").unwrap().quarantine, "_row"), vec![1, 2, 5, 6]);
    assert_eq!(rep.rows_warned, 1);
    let fk = rep.rules.iter().find(|r| r.rule_id == "fk").unwrap();
    assert_eq!((fk.failed, fk.evaluated, fk.success), (1, 6, true), "mostly 0.5 passes");
    let range = rep.rules.iter().find(|r| r.rule_id == "x_range").unwrap();
    assert!(!range.success);
    assert_eq!(range.failing_keys, vec!["row 1: id=\"b\"", "row 6: id=\"f\""]);
}

#[test]
fn a_row_failing_three_rules_lists_all_three() {
    let rules = RuleSet::new("s").with_table(
        TableRules::new("t")
            .with_duplicates(DuplicatePolicy::KeepAll)
            .with_rule(Rule::new(
                "x_pos",
                Check::Range { column: "x".into(), min: Some(0.0.into()), max: None, exclusive: true },
            ))
            .with_rule(Rule::new("x_small", Check::Sql { expression: "x > -0.5".into() }))
            .with_rule(Rule::new("id_len", Check::Length { column: "id".into(), min: Some(2), max: None }))
            .with_rule(Rule::new(
                "id_fmt",
                Check::Format {
                    column: "id".into(),
                    format: accountscope::validate::TextFormat::Regex,
                    pattern: Some("^[a-z]+$".into()),
                },
            )),
    );
    let run = Validator::new(rules).unwrap().validate(&[("t", &small())]).unwrap();
    let q = run.table("t").unwrap().quarantine.concat().unwrap();
    let rows = q.column_by_name("_row").unwrap().as_primitive::<Int64Type>();
    let i = (0..q.num_rows()).find(|i| rows.value(*i) == 1).unwrap();
    let ids = q.column_by_name("_rule_ids").unwrap().as_list::<i32>().value(i);
    let ids: Vec<&str> = ids.as_string::<i32>().iter().flatten().collect();
    assert_eq!(ids, ["x_pos", "x_small", "id_len"]);
    let reasons = q.column_by_name("_reasons").unwrap().as_list::<i32>().value(i);
    assert_eq!(reasons.as_string::<i32>().value(0), "x = -1.0 is outside (0.0, +inf)");
    assert_eq!(reasons.as_string::<i32>().value(2), "id = \"b\" has a length outside 2..=inf");
}

fn keyed(policy: DuplicatePolicy) -> Validation {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, true),
        Field::new("v", DataType::Utf8, true),
        Field::new("ts", DataType::Int64, true),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![Some("a"), Some("a"), Some("b"), Some("a"), Some("c"), Some("b")])),
        Arc::new(StringArray::from(vec![None, Some("x"), Some("y"), Some("z"), Some("w"), Some("y")])),
        Arc::new(Int64Array::from(vec![Some(1), Some(5), Some(2), Some(3), Some(1), Some(2)])),
    ];
    let t = Table::from_batch(RecordBatch::try_new(schema, cols).unwrap());
    let rules = RuleSet::new("k").with_table(TableRules::new("t").with_key(&["id"]).with_duplicates(policy));
    Validator::new(rules).unwrap().validate(&[("t", &t)]).unwrap()
}

#[test]
fn duplicate_policies_account_for_every_copy() {
    // Row 5 is an exact copy of row 2 under every policy but keep_all.
    let first = keyed(DuplicatePolicy::KeepFirst);
    assert_eq!(rows_of(&first.table("t").unwrap().duplicates, "_row"), vec![1, 3, 5]);
    assert_eq!(rows_of(&first.table("t").unwrap().duplicates, "_kept_row"), vec![0, 0, 2]);

    let latest = keyed(DuplicatePolicy::KeepLatest { by: "ts".into() });
    assert_eq!(rows_of(&latest.table("t").unwrap().duplicates, "_row"), vec![0, 3, 5]);
    assert_eq!(rows_of(&latest.table("t").unwrap().duplicates, "_kept_row"), vec![1, 1, 2]);

    let reject = keyed(DuplicatePolicy::RejectAll);
    let out = reject.table("t").unwrap();
    assert_eq!(rows_of(&out.quarantine, "_row"), vec![0, 1, 3]);
    assert_eq!(rows_of(&out.duplicates, "_row"), vec![5]);
    assert_eq!(out.clean.num_rows(), 2);

    let merge = keyed(DuplicatePolicy::Merge);
    let out = merge.table("t").unwrap();
    let clean = out.clean.concat().unwrap();
    assert_eq!(clean.column(1).as_string::<i32>().value(0), "x", "row 0's null filled from row 1");
    assert_eq!(rows_of(&out.duplicates, "_row"), vec![1, 3, 5]);

    let all = keyed(DuplicatePolicy::KeepAll);
    assert_eq!(all.table("t").unwrap().clean.num_rows(), 6);
    for v in [&first, &latest, &reject, &merge, &all] {
        let o = v.table("t").unwrap();
        assert_eq!(o.clean.num_rows() + o.quarantine.num_rows() + o.duplicates.num_rows(), 6);
    }
}

#[test]
fn streaming_gives_the_same_outputs_as_in_memory() {
    let (dirty, run) = dirty_run();
    let validator = Validator::new(dirty_rules().unwrap())
        .unwrap()
        .with_options(ValidateOptions {
            as_of: Some(Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap()),
            ..Default::default()
        })
        .with_reference("accounts", dirty.get(TableKind::Accounts).unwrap().clone());
    let usage = dirty.get(TableKind::Usage).unwrap().concat().unwrap();
    let batches: Vec<RecordBatch> =
        (0..usage.num_rows()).step_by(1000).map(|s| usage.slice(s, 1000.min(usage.num_rows() - s))).collect();
    let mut quarantine = Vec::new();
    let mut clean = 0;
    let mut dropped = Vec::new();
    let reader = arrow::record_batch::RecordBatchIterator::new(batches.into_iter().map(Ok), usage.schema());
    let (report, lineage) = validator
        .validate_reader("usage", reader, |out| {
            clean += out.clean.num_rows();
            quarantine.extend(out.quarantine.column(0).as_primitive::<Int64Type>().values().iter().copied());
            dropped.extend(out.duplicates.column(0).as_primitive::<Int64Type>().values().iter().copied());
            Ok(())
        })
        .unwrap();
    let mem = run.table("usage").unwrap();
    assert_eq!(quarantine, rows_of(&mem.quarantine, "_row"));
    assert_eq!(dropped, rows_of(&mem.duplicates, "_row"));
    assert_eq!(clean, mem.clean.num_rows());
    assert_eq!(report.scores, run.report.table("usage").unwrap().scores);
    let mem_lineage = run.lineage.iter().find(|l| l.table == "usage").unwrap();
    assert_eq!(lineage.content_hash, mem_lineage.content_hash, "the fingerprint ignores batching");
    assert_eq!(lineage.ruleset_hash, mem_lineage.ruleset_hash);

    let reject = RuleSet::new("x").with_table(TableRules::new("usage").with_duplicates(DuplicatePolicy::RejectAll));
    let err = Validator::new(reject).unwrap().stream("usage", &usage.schema()).unwrap_err();
    assert_eq!(err.category(), ErrorCategory::Unsupported);
}

/// 200,000 rows over several chunks: ids repeated far apart (across chunks), some nulls, some negative
/// values; as given in `batch` rows per batch.
fn chunked(batch: usize) -> (Table, Vec<Option<String>>, Vec<i64>) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let n = 200_000;
    let ids: Vec<Option<String>> = (0..n)
        .map(|i| match rng.random::<f64>() {
            x if x < 0.002 => None,
            x if x < 0.012 => Some(format!("id{}", rng.random_range(0..n))),
            _ => Some(format!("id{i}")),
        })
        .collect();
    let mut ids = ids;
    let mut v: Vec<i64> =
        (0..n).map(|_| if rng.random::<f64>() < 0.01 { -1 } else { rng.random_range(0..100) }).collect();
    // Exact copies of earlier rows, often in another chunk.
    for i in 1..n {
        if rng.random::<f64>() < 0.003 {
            let j = rng.random_range(0..i);
            ids[i] = ids[j].clone();
            v[i] = v[j];
        }
    }
    let schema =
        Arc::new(Schema::new(vec![Field::new("id", DataType::Utf8, true), Field::new("v", DataType::Int64, false)]));
    let batches = (0..n)
        .step_by(batch)
        .map(|s| {
            let e = (s + batch).min(n);
            let cols: Vec<ArrayRef> =
                vec![Arc::new(StringArray::from(ids[s..e].to_vec())), Arc::new(Int64Array::from(v[s..e].to_vec()))];
            RecordBatch::try_new(schema.clone(), cols).unwrap()
        })
        .collect();
    (Table::try_new(schema, batches).unwrap(), ids, v)
}

fn chunked_rules(policy: DuplicatePolicy) -> RuleSet {
    RuleSet::new("c").with_table(
        TableRules::new("t")
            .with_key(&["id"])
            .with_duplicates(policy)
            .with_rule(Rule::new(
                "id_unique",
                Check::Unique { columns: vec!["id".into()], report: ReportDuplicates::All },
            ))
            .with_rule(Rule::new(
                "v_range",
                Check::Range { column: "v".into(), min: Some(0.0.into()), max: None, exclusive: false },
            )),
    )
}

/// The table is checked in chunks (its own batches, or 65,536-row slices of one batch) in parallel; the
/// outputs must equal a brute-force reading of the rules whatever the batching, with `unique` seeing
/// copies in other chunks and the duplicate policy resolving copies across chunks.
#[test]
fn chunked_validation_matches_brute_force_whatever_the_batching() {
    let mut keep_all = Vec::new();
    for batch in [200_000, 30_000, 65_536] {
        let (t, ids, v) = chunked(batch);
        let n = ids.len();
        let mut rows_of_id: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, id) in ids.iter().enumerate() {
            if let Some(id) = id.as_deref() {
                rows_of_id.entry(id).or_default().push(i);
            }
        }
        let repeated = |i: usize| ids[i].as_deref().is_some_and(|id| rows_of_id[id].len() > 1);

        let run = Validator::new(chunked_rules(DuplicatePolicy::KeepAll)).unwrap().validate(&[("t", &t)]).unwrap();
        let out = run.table("t").unwrap();
        let want: Vec<i64> = (0..n).filter(|&i| repeated(i) || v[i] < 0).map(|i| i as i64).collect();
        assert_eq!(rows_of(&out.quarantine, "_row"), want, "batches of {batch}");
        assert_eq!(out.clean.num_rows() + want.len(), n);
        let q = out.quarantine.concat().unwrap();
        let rule_ids = q.column(1).as_list::<i32>();
        let reasons = q.column(2).as_list::<i32>();
        for (k, &row) in want.iter().enumerate() {
            let i = row as usize;
            let ids_of_row = rule_ids.value(k);
            let got: Vec<&str> = ids_of_row.as_string::<i32>().iter().flatten().collect();
            let mut expected = Vec::new();
            if repeated(i) {
                expected.push("id_unique");
                let rows: Vec<String> = rows_of_id[ids[i].as_deref().unwrap()].iter().map(|j| j.to_string()).collect();
                let reason = reasons.value(k);
                let text = reason.as_string::<i32>().value(0).to_string();
                assert!(text.ends_with(&format!("(rows {})", rows.join(", "))), "{text}");
            }
            if v[i] < 0 {
                expected.push("v_range");
            }
            assert_eq!(got, expected, "row {i}");
        }
        let report = run.report.table("t").unwrap();
        keep_all.push((rows_of(&out.quarantine, "_row"), report.rules.clone(), run.lineage[0].content_hash.clone()));

        // Brute force: per id, its distinct rows in order; a row equal to an earlier distinct row of its id is
        // an exact copy of that row.
        let mut distinct: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut exact: HashMap<usize, usize> = HashMap::new();
        for i in 0..n {
            let Some(id) = ids[i].as_deref() else { continue };
            let rows = distinct.entry(id).or_default();
            match rows.iter().find(|&&j| v[j] == v[i]) {
                Some(&j) => {
                    exact.insert(i, j);
                }
                None => rows.push(i),
            }
        }
        let first_of = |i: usize| distinct[ids[i].as_deref().unwrap()][0];
        let kinds = |out: &accountscope::validate::TableOutput| -> Vec<(i64, i64, String)> {
            let d = out.duplicates.concat().unwrap();
            let kind = d.column(2).as_string::<i32>();
            rows_of(&out.duplicates, "_row")
                .into_iter()
                .zip(rows_of(&out.duplicates, "_kept_row"))
                .enumerate()
                .map(|(k, (r, kept))| (r, kept, kind.value(k).to_string()))
                .collect()
        };

        // keep_first: later copies of an id are dropped wherever they are; the survivors are checked.
        let run = Validator::new(chunked_rules(DuplicatePolicy::KeepFirst)).unwrap().validate(&[("t", &t)]).unwrap();
        let out = run.table("t").unwrap();
        let (mut dropped, mut quarantined) = (Vec::new(), Vec::new());
        for i in 0..n {
            if let Some(&j) = exact.get(&i) {
                dropped.push((i as i64, j as i64, "exact".to_string()));
            } else if ids[i].is_some() && first_of(i) != i {
                dropped.push((i as i64, first_of(i) as i64, "key".to_string()));
            } else if v[i] < 0 {
                quarantined.push(i as i64);
            }
        }
        assert_eq!(kinds(out), dropped, "keep_first, batches of {batch}");
        assert_eq!(rows_of(&out.quarantine, "_row"), quarantined);
        assert_eq!(out.clean.num_rows() + quarantined.len() + dropped.len(), n);

        // reject_all: exact copies dropped, every distinct row of a repeated id quarantined.
        let run = Validator::new(chunked_rules(DuplicatePolicy::RejectAll)).unwrap().validate(&[("t", &t)]).unwrap();
        let out = run.table("t").unwrap();
        let dropped: Vec<(i64, i64, String)> =
            (0..n).filter_map(|i| exact.get(&i).map(|&j| (i as i64, j as i64, "exact".to_string()))).collect();
        let rejected = |i: usize| ids[i].as_deref().is_some_and(|id| distinct[id].len() > 1);
        let quarantined: Vec<i64> =
            (0..n).filter(|i| !exact.contains_key(i) && (rejected(*i) || v[*i] < 0)).map(|i| i as i64).collect();
        assert_eq!(kinds(out), dropped, "reject_all, batches of {batch}");
        assert_eq!(rows_of(&out.quarantine, "_row"), quarantined);
        assert_eq!(out.clean.num_rows() + quarantined.len() + dropped.len(), n);
    }
    assert!(keep_all.windows(2).all(|w| w[0] == w[1]), "outputs, reports and fingerprints ignore batching");
}

fn config_error(rules: RuleSet) -> String {
    let err = Validator::new(rules).and_then(|v| v.validate(&[("t", &small())])).unwrap_err();
    assert_eq!(err.category(), ErrorCategory::Config, "{err}");
    err.to_string()
}

#[test]
fn bad_rules_are_typed_errors_before_any_row_is_read() {
    let one = |rule: Rule| RuleSet::new("bad").with_table(TableRules::new("t").with_rule(rule));
    let e = config_error(one(Rule::new("r1", Check::NotNull { column: "nope".into() })));
    assert!(e.contains("r1") && e.contains("nope") && e.contains("[\"id\", \"x\", \"ref\"]"), "{e}");
    let e = config_error(one(Rule::new(
        "r2",
        Check::Format {
            column: "id".into(),
            format: accountscope::validate::TextFormat::Regex,
            pattern: Some("(".into()),
        },
    )));
    assert!(e.contains("r2") && e.contains("regular expression"), "{e}");
    let e = config_error(one(Rule::new(
        "r3",
        Check::ForeignKey { column: "ref".into(), ref_table: "missing".into(), ref_column: None },
    )));
    assert!(e.contains("r3") && e.contains("missing"), "{e}");
    let e = config_error(one(Rule::new("r4", Check::Sql { expression: "x >>> 1 (".into() })));
    assert!(e.contains("r4") && e.contains("does not parse"), "{e}");
    let e = config_error(one(Rule::new("r5", Check::Sql { expression: "x + 1".into() })));
    assert!(e.contains("r5") && e.contains("not a boolean"), "{e}");
    let e =
        config_error(one(Rule::new("r6", Check::Compare { left: "id".into(), op: CompareOp::Lt, right: "x".into() })));
    assert!(e.contains("r6") && e.contains("cannot compare"), "{e}");
    let e = config_error(one(Rule::new("r7", Check::Unique { columns: vec![], report: ReportDuplicates::All })));
    assert!(e.contains("r7"), "{e}");

    let yaml = "id: f\ntables:\n  - table: t\n    rules:\n      - {id: typo_rule, kind: not_null, colum: x}\n";
    let e = RuleSet::from_str(yaml, "yaml").unwrap_err().to_string();
    assert!(e.contains("typo_rule") && e.contains("colum"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, "id = \"f\"\n[[tables]]\ntable = \"t\"\n[[tables.rules]]\nid = \"m\"\nkind = \"range\"\ncolumn = \"x\"\nmostly = 2.0\nmin = 0\n").unwrap();
    let e = RuleSet::from_path(&path).unwrap_err().to_string();
    assert!(e.contains("rules.toml") && e.contains("'m'") && e.contains("mostly"), "{e}");
    let e = RuleSet::from_str("id: f\ntables:\n  - {table: t, rules: [{kind: not_null, column: x}]}\n", "yaml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("no 'id'"), "{e}");
}

#[test]
fn rule_sets_read_the_same_from_json_yaml_and_toml() {
    let set = dirty_rules().unwrap();
    let json = set.to_json().unwrap();
    assert_eq!(RuleSet::from_str(&json, "json").unwrap(), set);
    let toml_text = toml::to_string(&set).unwrap();
    assert_eq!(RuleSet::from_str(&toml_text, "toml").unwrap(), set);
}

#[test]
fn profile_matches_hand_computed_statistics() {
    let p = profile(&small(), &Default::default()).unwrap().concat().unwrap();
    let x = 1; // row of column x
    let get = |name: &str| p.column_by_name(name).unwrap().clone();
    assert_eq!(get("null_count").as_primitive::<arrow::datatypes::UInt64Type>().value(x), 1);
    assert_eq!(get("distinct").as_primitive::<arrow::datatypes::UInt64Type>().value(x), 5);
    // x non-null: 1, -1, 2, 2, 3, 50, -1 → sorted -1 -1 1 2 2 3 50.
    let v = [-1.0, -1.0, 1.0, 2.0, 2.0, 3.0, 50.0];
    let mean = v.iter().sum::<f64>() / 7.0;
    let sd = (v.iter().map(|a| (a - mean) * (a - mean)).sum::<f64>() / 6.0).sqrt();
    let f = |name: &str| get(name).as_primitive::<arrow::datatypes::Float64Type>().value(x);
    assert!((f("mean") - mean).abs() < 1e-12);
    assert!((f("stddev") - sd).abs() < 1e-12);
    // numpy.quantile(v, [0.05, 0.25, 0.5, 0.75, 0.95]) = [-1.0, 0.0, 2.0, 2.5, 35.9] (numpy 2.x)
    for (q, want) in [("q0.05", -1.0), ("q0.25", 0.0), ("q0.5", 2.0), ("q0.75", 2.5), ("q0.95", 35.9)] {
        assert!((f(q) - want).abs() < 1e-12, "{q}: {} vs {want}", f(q));
    }
    assert_eq!(get("min").as_string::<i32>().value(x), "-1.0");
    // Top values of `ref`: k1 ×3, k2 ×2, zz ×2 (ties by first appearance).
    let top = get("top_values");
    let top = top.as_list::<i32>().value(2);
    let values = top.as_struct().column(0).as_string::<i32>().iter().flatten().collect::<Vec<_>>();
    assert_eq!(values, ["\"k1\"", "\"zz\"", "\"k2\""]);
    let hist = get("histogram");
    let hist = hist.as_list::<i32>().value(x);
    let counts = hist.as_struct().column(2).as_primitive::<arrow::datatypes::UInt64Type>();
    assert_eq!(counts.values().iter().sum::<u64>(), 7);
    assert_eq!(counts.value(0), 6);
    assert_eq!(counts.value(9), 1);
}

#[test]
fn lineage_records_export_as_arrow_and_json_lines() {
    let (_, run) = dirty_run();
    let lines = accountscope::validate::to_json_lines(&run.lineage).unwrap();
    assert_eq!(lines.lines().count(), 5);
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(first["ruleset_id"], "demo-raw");
    assert_eq!(first["content_hash"].as_str().unwrap().len(), 32);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lineage.jsonl");
    accountscope::validate::append_json_lines(&path, &run.lineage).unwrap();
    accountscope::validate::append_json_lines(&path, &run.lineage).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 10, "appends");
    let t = accountscope::validate::lineage_table(&run.lineage).unwrap();
    assert_eq!(t.num_rows(), 5);
    for l in &run.lineage {
        assert_eq!(l.rows_in, l.rows_clean + l.rows_quarantined + l.rows_deduplicated);
    }
}

/// A text value a numeric range cannot read fails the range (nulls still pass), and mixed integer and
/// float columns compare as numbers, not with the float truncated to the integer's type.
#[test]
fn values_that_do_not_cast_fail_their_rule() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("x", DataType::Utf8, true),
        Field::new("n", DataType::Int64, true),
        Field::new("f", DataType::Float64, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![Some("1"), Some("abc"), Some("20"), None, Some(" 5 ")])),
        Arc::new(Int64Array::from(vec![Some(2), Some(2), Some(3), Some(1), None])),
        Arc::new(Float64Array::from(vec![Some(2.5), Some(2.0), Some(2.9), None, Some(1.0)])),
    ];
    let table = Table::from_batch(RecordBatch::try_new(schema, columns).unwrap());
    let rules = RuleSet::new("s").with_table(
        TableRules::new("t")
            .with_duplicates(DuplicatePolicy::KeepAll)
            .with_rule(Rule::new(
                "x_range",
                Check::Range { column: "x".into(), min: Some(0.0.into()), max: Some(10.0.into()), exclusive: false },
            ))
            .with_rule(Rule::new("n_lt_f", Check::Compare { left: "n".into(), op: CompareOp::Lt, right: "f".into() })),
    );
    let run = Validator::new(rules).unwrap().validate(&[("t", &table)]).unwrap();
    let rep = run.report.table("t").unwrap();
    let failed = |id: &str| rep.rules.iter().find(|r| r.rule_id == id).unwrap().failing_keys.clone();
    assert_eq!(failed("x_range"), ["row 1", "row 2"], "'abc' and 20 fail; null and ' 5 ' pass");
    // 2 < 2.5 holds (it would not with 2.5 read as 2); 2 < 2.0 and 3 < 2.9 fail; nulls pass.
    assert_eq!(failed("n_lt_f"), ["row 1", "row 2"]);
}
