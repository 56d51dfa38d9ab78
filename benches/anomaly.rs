//! Anomaly speed: the batch pass over a 200-account demo (five metrics) and the streaming detector over
//! the same usage in day order. The 10,000-account figures (batch seconds, streaming points per second)
//! come from `examples/anomaly_bench.rs` and are recorded in `docs/performance.md`; this bench tracks ours.
//! `cargo bench -p accountscope --bench anomaly`

use accountscope::anomaly::{AnomalyConfig, StreamConfig, StreamDetector, detect};
use accountscope::{DemoConfig, TableKind, generate};
use arrow::compute::{SortColumn, lexsort_to_indices, take_record_batch};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let demo = generate(&DemoConfig::new(200, 42)).expect("demo");
    let usage = demo.portfolio.get(TableKind::Usage);
    let mut group = c.benchmark_group("anomaly");
    group.sample_size(10);
    group.bench_function("batch_demo_200_accounts_5_metrics", |b| b.iter(|| detect(usage, &AnomalyConfig::default())));
    let u = usage.concat().expect("concat");
    let columns: Vec<SortColumn> = ["date", "account_id"]
        .iter()
        .map(|name| SortColumn { values: u.column_by_name(name).expect("column").clone(), options: None })
        .collect();
    let ordered = take_record_batch(&u, &lexsort_to_indices(&columns, None).expect("sort")).expect("take");
    group.bench_function("stream_demo_200_accounts_5_metrics", |b| {
        b.iter(|| {
            let mut detector = StreamDetector::new(StreamConfig::default()).expect("config");
            for start in (0..ordered.num_rows()).step_by(50_000) {
                detector.process(&ordered.slice(start, 50_000.min(ordered.num_rows() - start))).expect("process");
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
