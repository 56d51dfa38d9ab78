//! Demo generation speed: 10,000 accounts × 3 years must generate in under 10 s in release mode.
//! `cargo bench -p accountscope --bench demo`

use accountscope::{DemoConfig, generate};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("demo");
    group.sample_size(10);
    for accounts in [1_000, 10_000] {
        group.bench_function(format!("generate_{accounts}_accounts_3_years"), |b| {
            b.iter(|| generate(&DemoConfig::new(accounts, 42)).expect("demo generates"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
