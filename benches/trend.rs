//! Trend speed: STL of one daily series of three years (workload B5's unit), MSTL with weekly and yearly
//! periods, and the full trend pass on a 200-account demo portfolio (one metric). The side-by-side ratios
//! against statsmodels come from `scripts/compare_trend.sh`; this bench tracks our own figures.
//! `cargo bench -p accountscope --bench trend`

use accountscope::trend::{AnalyzeConfig, MstlParams, SeasonalityConfig, StlParams, analyze, mstl, stl};
use accountscope::{DemoConfig, TableKind, generate};
use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

fn series(n: usize) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let noise = Normal::new(0.0, 1.0).expect("valid normal");
    (0..n)
        .map(|t| {
            let t = t as f64;
            50.0 + 0.01 * t
                + 5.0 * (std::f64::consts::TAU * t / 7.0).sin()
                + 8.0 * (std::f64::consts::TAU * t / 365.25).cos()
                + noise.sample(&mut rng)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let y = series(1095);
    c.bench_function("stl_1095_period_7", |b| b.iter(|| stl(&y, &StlParams::with_period(7))));
    c.bench_function("stl_1095_period_7_robust", |b| {
        b.iter(|| stl(&y, &StlParams { robust: true, ..StlParams::with_period(7) }))
    });
    let fast = StlParams { auto_jumps: true, ..StlParams::default() };
    c.bench_function("mstl_1095_periods_7_365_auto_jumps", |b| {
        b.iter(|| mstl(&y, &MstlParams { periods: vec![7, 365], stl: fast.clone(), ..MstlParams::default() }))
    });
    let demo = generate(&DemoConfig::new(200, 42)).expect("demo");
    let usage = demo.portfolio.get(TableKind::Usage);
    let config = AnalyzeConfig {
        seasonality: SeasonalityConfig { value_columns: vec!["active_users".into()], ..SeasonalityConfig::default() },
        ..AnalyzeConfig::default()
    };
    let mut group = c.benchmark_group("analyze");
    group.sample_size(10);
    group.bench_function("demo_200_accounts_1_metric", |b| b.iter(|| analyze(usage, &config)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
