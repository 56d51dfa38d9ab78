//! Validation speed: the 15 rules of workload B7 (`benches/data/b7_rules.yaml`) on 1,000,000 synthetic rows
//! × 10 columns, and the dirty demo's rule set on its five tables. The side-by-side ratio against pandera
//! comes from `scripts/compare_validate.sh` (B7, 10M rows); this bench tracks our own figures.
//! `cargo bench -p accountscope --bench validate`

use std::sync::Arc;

use accountscope::demo::{DirtyConfig, dirty, dirty_rules};
use accountscope::validate::{RuleSet, Validator};
use accountscope::{DemoConfig, Table, generate};
use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use criterion::{Criterion, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The B7 columns with ~0.3% defects per rule.
fn b7(rows: usize) -> Table {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut bad = |share: f64| rng.random::<f64>() < share;
    let mut ids = Vec::with_capacity(rows);
    let mut accounts = Vec::with_capacity(rows);
    let mut segments = Vec::with_capacity(rows);
    let mut regions = Vec::with_capacity(rows);
    let mut emails = Vec::with_capacity(rows);
    for i in 0..rows {
        ids.push((!bad(0.001)).then(|| format!("ID{:09}", if bad(0.001) { i / 2 } else { i })));
        accounts.push(Some(if bad(0.003) { format!("acc_{i}") } else { format!("ACC-{:06}", i % 1_000_000) }));
        segments.push(Some(["SMB", "MidMarket", "Enterprise", "Enterprize"][if bad(0.003) { 3 } else { i % 3 }]));
        regions
            .push((!bad(0.002)).then_some(["NA", "EMEA", "APAC", "LATAM", "Mars"][if bad(0.003) { 4 } else { i % 4 }]));
        emails.push(Some(if bad(0.003) { format!("user{i} at example.com") } else { format!("user{i}@example.com") }));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let seats: Vec<i64> =
        (0..rows).map(|_| if rng.random::<f64>() < 0.003 { 0 } else { rng.random_range(1..5000) }).collect();
    let active: Vec<i64> =
        seats.iter().map(|s| if rng.random::<f64>() < 0.003 { s + 3 } else { rng.random_range(0..=*s) }).collect();
    let arr: Vec<Option<f64>> =
        (0..rows).map(|_| (rng.random::<f64>() > 0.001).then(|| rng.random::<f64>() * 1e5 - 300.0)).collect();
    let day = 86_400_000i64;
    let start: Vec<i64> = (0..rows).map(|_| 1_401_580_800_000 + rng.random_range(0..3650) * day).collect();
    let end: Vec<i64> = start.iter().map(|s| s + rng.random_range(-3..1000) * day).collect();
    let ts = DataType::Timestamp(TimeUnit::Millisecond, None);
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, true),
        Field::new("account_id", DataType::Utf8, true),
        Field::new("segment", DataType::Utf8, true),
        Field::new("region", DataType::Utf8, true),
        Field::new("arr", DataType::Float64, true),
        Field::new("seats", DataType::Int64, true),
        Field::new("active_users", DataType::Int64, true),
        Field::new("email", DataType::Utf8, true),
        Field::new("start", ts.clone(), true),
        Field::new("end", ts, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(ids)),
        Arc::new(StringArray::from(accounts)),
        Arc::new(StringArray::from(segments)),
        Arc::new(StringArray::from(regions)),
        Arc::new(Float64Array::from(arr)),
        Arc::new(Int64Array::from(seats)),
        Arc::new(Int64Array::from(active)),
        Arc::new(StringArray::from(emails)),
        Arc::new(TimestampMillisecondArray::from(start)),
        Arc::new(TimestampMillisecondArray::from(end)),
    ];
    Table::from_batch(RecordBatch::try_new(schema, columns).expect("batch"))
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("validate");
    group.sample_size(10);
    let table = b7(1_000_000);
    let rules = RuleSet::from_str(include_str!("data/b7_rules.yaml"), "yaml").expect("rules");
    let validator = Validator::new(rules).expect("validator");
    group.bench_function("b7_15_rules_1m_rows", |b| b.iter(|| validator.validate(&[("b7", &table)]).expect("runs")));

    let demo = generate(&DemoConfig::new(200, 3)).expect("demo");
    let raw = dirty(&demo.portfolio, &DirtyConfig::default()).expect("dirty");
    let inputs: Vec<(&str, &Table)> = raw.tables.iter().map(|(k, t)| (k.name(), t)).collect();
    let validator = Validator::new(dirty_rules().expect("rules")).expect("validator");
    group.bench_function("dirty_demo_200_accounts", |b| b.iter(|| validator.validate(&inputs).expect("runs")));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
