//! GBDT engine speed: training, batch and single-row prediction, TreeSHAP on a fixed synthetic set
//! (200,000 × 20, 10% missing in two columns). The side-by-side ratios against LightGBM come from
//! `scripts/compare_gbdt.sh` (B1–B4); this bench tracks our own figures between commits.
//! `cargo bench -p accountscope --bench gbdt`

use accountscope::gbdt::{Booster, Dataset, Features, GbdtParams, train};
use criterion::{Criterion, criterion_group, criterion_main};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn data(n: usize) -> (Array2<f64>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut x = Array2::from_shape_fn((n, 20), |_| rng.random::<f64>() * 2.0 - 1.0);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        for j in [3, 11] {
            if rng.random::<f64>() < 0.1 {
                x[[i, j]] = f64::NAN;
            }
        }
        let logit = 2.0 * x[[i, 0]] - x[[i, 1]] + (3.0 * x[[i, 2]]).sin() + x[[i, 4]] * x[[i, 5]];
        y.push(f64::from(u8::from(rng.random::<f64>() < 1.0 / (1.0 + (-logit).exp()))));
    }
    (x, y)
}

fn bench(c: &mut Criterion) {
    let (x, y) = data(200_000);
    let params = GbdtParams { num_iterations: 20, num_leaves: 63, num_threads: 2, ..GbdtParams::default() };
    let set = Dataset::new(Features::from_array(x.view(), None, &[]).expect("features"), y, None).expect("dataset");
    let mut group = c.benchmark_group("gbdt");
    group.sample_size(10);
    group.bench_function("train_200k_x_20_20_rounds_63_leaves", |b| b.iter(|| train(&params, &set).expect("trains")));
    let model: Booster = train(&params, &set).expect("trains");
    group.bench_function("predict_batch_200k", |b| b.iter(|| model.predict(&set.features, false).expect("predicts")));
    let rows = x.slice(ndarray::s![0..1000, ..]).to_owned();
    let shap_rows = Features::array_with_schema(rows.view(), model.features()).expect("features");
    group.bench_function("shap_1000_rows", |b| b.iter(|| model.shap_values(&shap_rows).expect("explains")));
    group.finish();
    let row: Vec<f64> = x.row(7).to_vec();
    c.bench_function("gbdt/predict_single_row", |b| {
        b.iter(|| model.predict_row(std::hint::black_box(&row)).expect("predicts"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
