//! Conformance of inputs onto the canonical schemas: every failure is a typed error naming the column
//! and the rows.

use std::sync::Arc;

use accountscope::contracts::{CastPolicy, ColumnMapping, Conformer, ExtraColumns, TableKind, conform, pii_columns};
use accountscope::{Error, ErrorCategory};
use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Date32Type, Field, Int32Type, Schema, TimeUnit, TimestampMillisecondType};
use arrow::record_batch::RecordBatch;

fn text(values: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = columns.iter().map(|(n, a)| Field::new(*n, a.data_type().clone(), true)).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns.into_iter().map(|(_, a)| a).collect()).unwrap()
}

fn usage_text(dates: &[Option<&str>], active: &[Option<&str>]) -> RecordBatch {
    let ids: Vec<Option<&str>> = vec![Some("A1"); dates.len()];
    batch(vec![("account_id", text(&ids)), ("date", text(dates)), ("active_users", text(active))])
}

#[test]
fn canonical_schemas_mark_required_and_pii_columns() {
    let accounts = TableKind::Accounts.schema();
    assert_eq!(accounts.metadata()["accountscope.table"], "accounts");
    assert_eq!(pii_columns(&accounts), vec!["csm_owner", "contact_email"]);
    let f = accounts.field_with_name("account_id").unwrap();
    assert_eq!(f.metadata()["accountscope.required"], "true");
    assert_eq!(TableKind::Usage.schema().field_with_name("date").unwrap().data_type(), &DataType::Date32);
    assert_eq!(
        TableKind::Tickets.schema().field_with_name("opened_at").unwrap().data_type(),
        &DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
    );
    for kind in TableKind::ALL {
        assert_eq!(TableKind::from_name(kind.name()).unwrap(), kind);
        for c in kind.columns() {
            assert!(!c.description.is_empty(), "{}.{} has no description", kind.name(), c.name);
        }
    }
    assert_eq!(TableKind::from_name("nope").unwrap_err().category(), ErrorCategory::Config);
}

#[test]
fn missing_required_column_names_it_and_the_columns_present() {
    let input = batch(vec![("account_id", text(&[Some("A1")])), ("active_users", text(&[Some("3")]))]);
    let err = conform(TableKind::Usage, &input, &ColumnMapping::new()).unwrap_err();
    match &err {
        Error::MissingColumns { table, missing, present } => {
            assert_eq!(table, "usage");
            assert_eq!(missing, &vec!["date".to_string()]);
            assert_eq!(present, &vec!["account_id".to_string(), "active_users".to_string()]);
        }
        other => panic!("expected MissingColumns, got {other:?}"),
    }
    assert_eq!(err.category(), ErrorCategory::Schema);
    assert!(err.to_string().contains("date"));
}

#[test]
fn missing_mapped_column_names_the_source_name() {
    let input = batch(vec![("Account ID", text(&[Some("A1")])), ("Day", text(&[Some("2024-01-01")]))]);
    let mapping = ColumnMapping::new()
        .with_column("account_id", "Account ID")
        .with_column("date", "Day")
        .with_column("active_users", "DAU");
    let err = conform(TableKind::Usage, &input, &mapping).unwrap_err();
    assert!(err.to_string().contains("active_users (mapped from 'DAU')"), "{err}");
}

#[test]
fn unparseable_dates_are_listed_with_their_rows() {
    let input = usage_text(
        &[Some("2024-01-01"), Some("2024-13-01"), Some("01/15/2024"), Some("yesterday"), None],
        &[Some("1"), Some("2"), Some("3"), Some("4"), Some("5")],
    );
    let err = conform(TableKind::Usage, &input, &ColumnMapping::new()).unwrap_err();
    match &err {
        Error::Cast { table, column, count, examples, expected } => {
            assert_eq!((table.as_str(), column.as_str(), *count), ("usage", "date", 2));
            assert_eq!(examples.iter().map(|b| b.row).collect::<Vec<_>>(), vec![1, 3]);
            assert_eq!(examples[1].value, "yesterday");
            assert!(expected.contains("date"));
        }
        other => panic!("expected Cast, got {other:?}"),
    }
    assert!(err.to_string().contains("row 3 = \"yesterday\""), "{err}");
}

#[test]
fn wrong_type_values_fail_with_rows_and_whole_numbers_are_required() {
    let input = usage_text(
        &[Some("2024-01-01"), Some("2024-01-02"), Some("2024-01-03")],
        &[Some(" 7 "), Some("seven"), Some("")],
    );
    let err = conform(TableKind::Usage, &input, &ColumnMapping::new()).unwrap_err();
    let Error::Cast { column, examples, .. } = &err else { panic!("{err:?}") };
    assert_eq!(column, "active_users");
    assert_eq!(examples.len(), 1);
    assert_eq!((examples[0].row, examples[0].value.as_str()), (1, "seven"));

    let floats: ArrayRef = Arc::new(Float64Array::from(vec![Some(3.0), Some(2.5), None]));
    let ids: ArrayRef = text(&[Some("A"), Some("B"), Some("C")]);
    let dates = text(&[Some("2024-01-01"); 3]);
    let input = batch(vec![("account_id", ids), ("date", dates), ("active_users", floats)]);
    let err = conform(TableKind::Usage, &input, &ColumnMapping::new()).unwrap_err();
    let Error::Cast { examples, .. } = &err else { panic!("{err:?}") };
    assert_eq!((examples[0].row, examples[0].value.as_str()), (1, "2.5"));
}

#[test]
fn values_that_cannot_cast_become_null_and_reported_under_null_and_report() {
    let input = usage_text(&[Some("2024-01-01"), Some("bad"), Some("2024-01-03")], &[Some("1"), Some("2"), Some("x")]);
    let mut conformer =
        Conformer::new(TableKind::Usage, ColumnMapping::new().with_cast_policy(CastPolicy::NullAndReport)).unwrap();
    let first = conformer.conform_batch(&input).unwrap();
    let second = conformer.conform_batch(&input).unwrap();
    let rows: Vec<(String, usize)> =
        first.failures.iter().chain(&second.failures).map(|f| (f.column.clone(), f.row)).collect();
    // Row numbers continue across the batches of a stream.
    assert_eq!(
        rows,
        vec![("date".into(), 1), ("active_users".into(), 2), ("date".into(), 4), ("active_users".into(), 5)]
    );
    let dates = first.batch.column_by_name("date").unwrap().as_primitive::<Date32Type>();
    assert_eq!((dates.null_count(), dates.value(0)), (1, 19723));
    assert_eq!(conformer.rows_seen(), 6);
}

#[test]
fn extra_columns_are_kept_dropped_or_rejected_as_configured() {
    let input = batch(vec![
        ("account_id", text(&[Some("A1")])),
        ("date", text(&[Some("2024-02-29")])),
        ("active_users", text(&[Some("4")])),
        ("region_code", text(&[Some("EU")])),
    ]);
    let kept = conform(TableKind::Usage, &input, &ColumnMapping::new()).unwrap();
    assert_eq!(kept.num_columns(), TableKind::Usage.columns().len() + 1);
    assert_eq!(kept.schema().field(kept.num_columns() - 1).name(), "region_code");
    // Absent optional canonical columns are present, all null.
    assert_eq!(kept.column_by_name("api_calls").unwrap().null_count(), 1);

    let dropped =
        conform(TableKind::Usage, &input, &ColumnMapping::new().with_extra_columns(ExtraColumns::Drop)).unwrap();
    assert_eq!(dropped.schema().fields().len(), TableKind::Usage.columns().len());
    assert!(dropped.column_by_name("region_code").is_none());

    let err =
        conform(TableKind::Usage, &input, &ColumnMapping::new().with_extra_columns(ExtraColumns::Reject)).unwrap_err();
    assert!(matches!(err, Error::Schema { .. }), "{err:?}");
    assert!(err.to_string().contains("region_code"));
}

#[test]
fn a_crm_export_maps_names_values_and_date_formats() {
    // A Salesforce-style export: other names, US dates, amounts as text, other segment labels.
    let mapping: ColumnMapping = serde_json::from_str(
        r#"{
            "columns": {"account_id": "Account ID", "name": "Account Name", "segment": "Customer Tier",
                        "industry": "Industry", "plan": "Product", "region": "Sales Region",
                        "start_date": "Created Date", "arr": "ARR (USD)", "seats_purchased": "Licenses"},
            "values": {"segment": {"Mid-Market": "MidMarket", "Small Business": "SMB"}},
            "date_formats": ["%m/%d/%Y"],
            "case_insensitive": true
        }"#,
    )
    .unwrap();
    let input = batch(vec![
        ("Account ID", text(&[Some("001A"), Some("001B")])),
        ("ACCOUNT NAME", text(&[Some("Acme"), Some("Beta")])),
        ("Customer Tier", text(&[Some("Mid-Market"), Some("Small Business")])),
        ("Industry", text(&[Some("Retail"), Some("Media")])),
        ("Product", text(&[Some("Growth"), Some("Starter")])),
        ("Sales Region", text(&[Some("NA"), Some("EMEA")])),
        ("Created Date", text(&[Some("03/31/2022"), Some("12/01/2023")])),
        ("ARR (USD)", text(&[Some("12000.50"), Some("900")])),
        ("Licenses", Arc::new(Int64Array::from(vec![40, 3])) as ArrayRef),
    ]);
    let out = conform(TableKind::Accounts, &input, &mapping).unwrap();
    assert_eq!(out.schema().fields().len(), TableKind::Accounts.columns().len());
    assert_eq!(out.column_by_name("segment").unwrap().as_string::<i32>().value(0), "MidMarket");
    assert_eq!(out.column_by_name("segment").unwrap().as_string::<i32>().value(1), "SMB");
    assert_eq!(out.column_by_name("start_date").unwrap().as_primitive::<Date32Type>().value(0), 19082);
    assert_eq!(out.column_by_name("arr").unwrap().as_primitive::<arrow::datatypes::Float64Type>().value(0), 12000.5);
    assert_eq!(out.column_by_name("seats_purchased").unwrap().as_primitive::<Int32Type>().value(1), 3);

    let bad: Result<ColumnMapping, _> = serde_json::from_str(r#"{"colums": {}}"#);
    assert!(bad.unwrap_err().to_string().contains("colums"));
    let err = ColumnMapping::new().with_column("acount_id", "x").validate(TableKind::Accounts).unwrap_err();
    assert_eq!(err.category(), ErrorCategory::Config);
    assert!(err.to_string().contains("acount_id"));
}

#[test]
fn timestamps_parse_rfc3339_offsets_and_naive_forms_as_utc() {
    let input = batch(vec![
        ("ticket_id", text(&[Some("T1"), Some("T2"), Some("T3")])),
        ("account_id", text(&[Some("A"), Some("A"), Some("A")])),
        ("opened_at", text(&[Some("2024-03-01T10:00:00+02:00"), Some("2024-03-01 08:00:00"), Some("2024-03-01")])),
        ("priority", text(&[Some("low"), Some("low"), Some("low")])),
    ]);
    let out = conform(TableKind::Tickets, &input, &ColumnMapping::new()).unwrap();
    let opened = out.column_by_name("opened_at").unwrap().as_primitive::<TimestampMillisecondType>();
    let eight = 1_709_280_000_000; // 2024-03-01T08:00:00Z
    assert_eq!(opened.values().to_vec(), vec![eight, eight, eight - 8 * 3_600_000]);
}

#[test]
fn data_model_doc_lists_every_column() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/data-model.md")).unwrap();
    for kind in TableKind::ALL {
        let section = doc.split(&format!("### `{}`", kind.name())).nth(1).expect("a section per table");
        let section = section.split("### ").next().unwrap();
        for c in kind.columns() {
            let arrow = match c.data_type {
                accountscope::contracts::ColumnType::Text => "Utf8",
                accountscope::contracts::ColumnType::Date => "Date32",
                accountscope::contracts::ColumnType::Timestamp => "Timestamp(ms, \"UTC\")",
                accountscope::contracts::ColumnType::Count => "Int32",
                accountscope::contracts::ColumnType::Float => "Float64",
                accountscope::contracts::ColumnType::Bool => "Boolean",
            };
            let row = format!("| `{}` | {} | {} |", c.name, arrow, if c.required { "yes" } else { "no" });
            assert!(section.contains(&row), "docs/data-model.md lacks {row} in {}", kind.name());
        }
    }
}
