//! Every format round-trips every demo table bit-identically; failures name the file.

use accountscope::io::{self, Format, ReadOptions, WriteOptions};
use accountscope::{ErrorCategory, Portfolio, TableKind};

use crate::common::small_demo;

#[test]
fn every_format_round_trips_every_demo_table() {
    let dir = tempfile::tempdir().unwrap();
    let portfolio = &small_demo().portfolio;
    for format in Format::ALL {
        for (kind, table) in portfolio.tables() {
            let path = dir.path().join(format!("{}.{}", kind.name(), format.extension()));
            let written = io::write(&path, table.reader(), &WriteOptions::default()).unwrap();
            assert_eq!(written, table.num_rows());
            // Text formats carry no types: read them with the canonical schema.
            let options = ReadOptions::default().with_schema(kind.schema());
            let (schema, batches) = io::read_all(&path, &options).unwrap();
            let back = arrow::compute::concat_batches(&schema, &batches).unwrap();
            let original = table.concat().unwrap();
            assert_eq!(back.num_rows(), original.num_rows(), "{format:?} {}", kind.name());
            for (i, field) in original.schema().fields().iter().enumerate() {
                assert_eq!(
                    schema.field(i).data_type(),
                    field.data_type(),
                    "{format:?} {}.{}",
                    kind.name(),
                    field.name()
                );
                assert_eq!(
                    back.column(i).to_data(),
                    original.column(i).to_data(),
                    "{format:?} {}.{}",
                    kind.name(),
                    field.name()
                );
            }
            if matches!(format, Format::Parquet | Format::IpcFile | Format::IpcStream) {
                assert_eq!(schema.fields(), original.schema().fields(), "{format:?} keeps field metadata");
            }
        }
    }
}

#[test]
fn a_portfolio_written_as_csv_reads_back_through_inference_and_conformance() {
    let dir = tempfile::tempdir().unwrap();
    let portfolio = &small_demo().portfolio;
    for format in [Format::Csv, Format::JsonLines, Format::Parquet] {
        let sub = dir.path().join(format.extension());
        portfolio.write_dir(&sub, format).unwrap();
        let back = Portfolio::read_dir(&sub, format).unwrap();
        for (kind, table) in portfolio.tables() {
            let (a, b) = (table.concat().unwrap(), back.get(kind).concat().unwrap());
            assert_eq!(a.schema().fields(), b.schema().fields(), "{format:?} {}", kind.name());
            assert_eq!(a.columns(), b.columns(), "{format:?} {}", kind.name());
        }
    }
}

#[test]
fn ipc_stream_bytes_round_trip_in_memory() {
    let table = &small_demo().portfolio.tickets;
    let bytes = io::to_ipc_stream(table.schema(), table.batches()).unwrap();
    let (schema, batches) = io::from_ipc_stream(&bytes).unwrap();
    assert_eq!(&schema, table.schema());
    assert_eq!(batches, table.batches());
    let err = io::from_ipc_stream(b"not arrow").unwrap_err();
    assert_eq!(err.category(), ErrorCategory::InvalidInput);
}

#[test]
fn read_failures_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere.parquet");
    let err = io::open(&missing, &ReadOptions::default()).err().unwrap();
    assert_eq!(err.category(), ErrorCategory::Io);
    assert!(err.to_string().contains("nowhere.parquet"), "{err}");

    let bad = dir.path().join("usage.csv");
    std::fs::write(&bad, "account_id,date,active_users\nA,2024-01-01,3\nB,2024-01-02,many\n").unwrap();
    let options = ReadOptions::default().with_schema(TableKind::Usage.schema());
    let err = io::read_all(&bad, &options).unwrap_err();
    assert!(err.to_string().contains("usage.csv"), "{err}");

    let err = io::open(dir.path().join("table.xyz"), &ReadOptions::default()).err().unwrap();
    assert_eq!(err.category(), ErrorCategory::Config);
}

#[test]
fn csv_schema_inference_and_tsv_delimiter() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.tsv");
    std::fs::write(&path, "account_id\tdate\tactive_users\nA\t2024-01-01\t3\nB\t2024-01-02\t5\n").unwrap();
    let (schema, batches) = io::read_all(&path, &ReadOptions::default()).unwrap();
    assert_eq!(schema.field(1).data_type(), &arrow::datatypes::DataType::Date32);
    assert_eq!(schema.field(2).data_type(), &arrow::datatypes::DataType::Int64);
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
}

#[test]
fn read_table_keeps_the_values_it_could_not_cast() {
    use accountscope::contracts::{CastPolicy, ColumnMapping};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.csv");
    std::fs::write(&path, "account_id,date,active_users\nA,2024-01-01,3\nB,2024-01-02,many\n").unwrap();
    let mapping = ColumnMapping::new().with_cast_policy(CastPolicy::NullAndReport);
    let read = accountscope::portfolio::read_table(&path, TableKind::Usage, &ReadOptions::default(), &mapping).unwrap();
    assert_eq!(read.table.num_rows(), 2);
    assert_eq!(read.failures.len(), 1);
    assert_eq!((read.failures[0].column.as_str(), read.failures[0].row), ("active_users", 1));
}
