//! The GBDT engine: learning, TreeSHAP against brute-force Shapley values, monotone constraints, missing
//! and unseen categories, determinism across thread counts, schema checks, early stopping, objectives,
//! persistence with a corpus of corrupted files, and linfa's traits.

use std::ops::ControlFlow;
use std::sync::Arc;

use accountscope::gbdt::{
    Booster, Dataset, Features, GbdtParams, Importance, Objective, StopReason, Training, Tree, train,
};
use accountscope::{ErrorCategory, metrics};
use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Five features in [0, 1) (feature 2 is 10% missing, and missing raises the odds); a nonlinear logit.
fn synthetic(n: usize, seed: u64) -> (Array2<f64>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Array2::zeros((n, 5));
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        for j in 0..5 {
            x[[i, j]] = rng.random::<f64>();
        }
        if rng.random::<f64>() < 0.1 {
            x[[i, 2]] = f64::NAN;
        }
        let missing = if x[[i, 2]].is_nan() { 1.5 } else { 0.0 };
        let logit = 4.0 * (x[[i, 0]] - 0.5)
            + if x[[i, 1]] > 0.3 { 1.5 } else { -1.5 }
            + 2.0 * (6.0 * x[[i, 3]]).sin()
            + missing;
        let p = 1.0 / (1.0 + (-logit).exp());
        y.push(f64::from(u8::from(rng.random::<f64>() < p)));
    }
    (x, y)
}

fn dataset(x: &Array2<f64>, y: &[f64]) -> Dataset {
    Dataset::new(Features::from_array(x.view(), None, &[]).unwrap(), y.to_vec(), None).unwrap()
}

#[test]
fn learns_a_nonlinear_boundary_with_missing_values() {
    let (x, y) = synthetic(6000, 1);
    let (xt, yt) = synthetic(3000, 2);
    let model = train(&GbdtParams { num_iterations: 60, ..GbdtParams::default() }, &dataset(&x, &y)).unwrap();
    let p = model.predict_array(xt.view(), false).unwrap();
    let auc = metrics::roc_auc(&yt, &p, None).unwrap();
    // The Bayes-optimal AUC of this generator is about 0.86 (its labels are noisy by construction).
    assert!(auc > 0.82, "holdout AUC {auc}");
    let gain = model.feature_importance(Importance::Gain);
    assert!(gain[4] < gain[0] && gain[4] < gain[3], "the noise feature 4 should matter least: {gain:?}");
    assert_eq!(model.training_info().stopped, StopReason::Completed);
}

/// Cover-weighted conditional expectation of the ensemble given the features in `known` (the value
/// function TreeSHAP's path-dependent algorithm explains).
fn conditional_expectation(model: &Booster, row: &[f64], known: &[bool]) -> f64 {
    fn walk(tree: &Tree, node: i32, row: &[f64], known: &[bool]) -> f64 {
        if node < 0 {
            return tree.leaf_value[!node as usize];
        }
        let n = &tree.nodes[node as usize];
        if known[n.feature as usize] {
            let next = if tree.goes_left(n, row[n.feature as usize]) { n.left } else { n.right };
            return walk(tree, next, row, known);
        }
        let cover = |c: i32| if c < 0 { tree.leaf_count[!c as usize] } else { tree.nodes[c as usize].count };
        (cover(n.left) * walk(tree, n.left, row, known) + cover(n.right) * walk(tree, n.right, row, known)) / n.count
    }
    model.init_score()
        + model
            .trees()
            .iter()
            .map(|t| if t.nodes.is_empty() { t.leaf_value[0] } else { walk(t, 0, row, known) })
            .sum::<f64>()
}

fn brute_force_shapley(model: &Booster, row: &[f64]) -> Vec<f64> {
    let m = row.len();
    let factorial = |k: usize| (1..=k).map(|v| v as f64).product::<f64>();
    let mut phi = vec![0.0; m];
    for i in 0..m {
        for mask in 0..(1u32 << m) {
            if mask & (1 << i) != 0 {
                continue;
            }
            let known: Vec<bool> = (0..m).map(|j| mask & (1 << j) != 0).collect();
            let mut with = known.clone();
            with[i] = true;
            let s = mask.count_ones() as usize;
            let weight = factorial(s) * factorial(m - s - 1) / factorial(m);
            phi[i] +=
                weight * (conditional_expectation(model, row, &with) - conditional_expectation(model, row, &known));
        }
    }
    phi
}

#[test]
fn tree_shap_equals_brute_force_shapley_values() {
    let (x, y) = synthetic(800, 3);
    // Repeated splits on one feature within a path exercise TreeSHAP's unwinding.
    let params = GbdtParams { num_iterations: 4, num_leaves: 12, min_data_in_leaf: 10, ..GbdtParams::default() };
    let model = train(&params, &dataset(&x, &y)).unwrap();
    let rows = x.slice(ndarray::s![0..25, ..]).to_owned();
    let features = Features::array_with_schema(rows.view(), model.features()).unwrap();
    let shap = model.shap_values(&features).unwrap();
    let raw = model.predict(&features, true).unwrap();
    for r in 0..rows.nrows() {
        let row: Vec<f64> = rows.row(r).to_vec();
        let expected = brute_force_shapley(&model, &row);
        for j in 0..5 {
            assert!(
                (shap[[r, j]] - expected[j]).abs() < 1e-9,
                "row {r} feature {j}: {} vs {}",
                shap[[r, j]],
                expected[j]
            );
        }
        let total: f64 = shap.row(r).sum();
        assert!((total - raw[r]).abs() < 1e-9, "row {r}: contributions sum to {total}, raw score {}", raw[r]);
        let empty = conditional_expectation(&model, &row, &[false; 5]);
        assert!((shap[[r, 5]] - empty).abs() < 1e-9, "expected value");
    }
}

#[test]
fn monotone_constraints_hold_on_a_grid() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let n = 3000;
    let x = Array2::from_shape_fn((n, 2), |_| rng.random::<f64>());
    // The signal in x0 goes up and down; the constraint forces an increasing fit.
    let y: Vec<f64> =
        (0..n).map(|i| x[[i, 0]] + 0.3 * (12.0 * x[[i, 0]]).sin() + x[[i, 1]] + 0.1 * rng.random::<f64>()).collect();
    let mut params = GbdtParams { objective: Objective::Regression, num_iterations: 80, ..GbdtParams::default() };
    params.monotone_constraints.insert("f0".into(), 1);
    params.monotone_constraints.insert("f1".into(), -1);
    let model = train(&params, &dataset(&x, &y)).unwrap();
    for other in [0.05, 0.3, 0.55, 0.8, 0.95] {
        let mut previous = f64::NEG_INFINITY;
        for k in 0..=200 {
            let p = model.predict_row(&[f64::from(k) / 200.0, other]).unwrap();
            assert!(p >= previous - 1e-12, "not increasing in f0 at {k}");
            previous = p;
        }
        let mut previous = f64::INFINITY;
        for k in 0..=200 {
            let p = model.predict_row(&[other, f64::from(k) / 200.0]).unwrap();
            assert!(p <= previous + 1e-12, "not decreasing in f1 at {k}");
            previous = p;
        }
    }
}

fn categorical_batch(n: usize, seed: u64, with_label: bool) -> RecordBatch {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let plans = ["basic", "pro", "enterprise", "trial", "legacy", "edu"];
    let plan: Vec<Option<&str>> =
        (0..n).map(|_| if rng.random::<f64>() < 0.05 { None } else { Some(plans[rng.random_range(0..6)]) }).collect();
    let seats: Vec<i64> = (0..n).map(|_| rng.random_range(1..200)).collect();
    let mut columns: Vec<(&str, ArrayRef)> =
        vec![("plan", Arc::new(StringArray::from(plan.clone()))), ("seats", Arc::new(Int64Array::from(seats.clone())))];
    if with_label {
        let label: Vec<f64> = (0..n)
            .map(|i| {
                let base = match plan[i] {
                    Some("trial") | Some("legacy") => 0.8,
                    Some("enterprise") => 0.1,
                    None => 0.6,
                    _ => 0.35,
                };
                let p: f64 = base + if seats[i] < 20 { 0.1 } else { 0.0 };
                f64::from(u8::from(rng.random::<f64>() < p.min(0.95)))
            })
            .collect();
        columns.push(("churned", Arc::new(Float64Array::from(label))));
    }
    RecordBatch::try_from_iter(columns).unwrap()
}

#[test]
fn categorical_splits_and_the_unseen_category_policy() {
    let batch = categorical_batch(5000, 5, true);
    let data = Dataset::from_batch(&batch, "churned", None, &[]).unwrap();
    let params = GbdtParams { num_iterations: 40, min_data_per_group: 20, cat_smooth: 5.0, ..GbdtParams::default() };
    let model = train(&params, &data).unwrap();
    let probe = |plan: Option<&str>| {
        let b = RecordBatch::try_from_iter([
            ("seats", Arc::new(Int64Array::from(vec![100])) as ArrayRef),
            ("plan", Arc::new(StringArray::from(vec![plan])) as ArrayRef),
        ])
        .unwrap();
        model.predict_batch(&b, false).unwrap()[0]
    };
    assert!(probe(Some("trial")) > 0.65 && probe(Some("enterprise")) < 0.2, "categories learnt");
    // Unseen categories take the same path as missing values (always the right side of a categorical split).
    assert_eq!(probe(Some("never-seen")).to_bits(), probe(None).to_bits());

    // The single-row path encodes values by name exactly as the batch path encodes columns.
    let [plan, seats] = model.features() else { panic!("two features") };
    for (n, p) in [(100.0, Some("trial")), (3.0, Some("enterprise")), (40.0, Some("never-seen")), (7.0, None)] {
        let plan_value = p.map_or(accountscope::gbdt::Value::Missing, accountscope::gbdt::Value::Text);
        let row = [plan.encode(plan_value).unwrap(), seats.encode(accountscope::gbdt::Value::Number(n)).unwrap()];
        let b = RecordBatch::try_from_iter([
            ("seats", Arc::new(Float64Array::from(vec![n])) as ArrayRef),
            ("plan", Arc::new(StringArray::from(vec![p])) as ArrayRef),
        ])
        .unwrap();
        assert_eq!(model.predict_row(&row).unwrap().to_bits(), model.predict_batch(&b, false).unwrap()[0].to_bits());
    }
    // A large batch (walked tree by tree over blocks of rows) scores exactly as one row at a time, and both
    // reach the leaves a plain walk of each tree reaches.
    let probe = categorical_batch(1003, 9, false);
    let batch = model.predict_batch(&probe, true).unwrap();
    let encoded = accountscope::gbdt::Features::with_schema(&probe, model.features()).unwrap();
    for (r, p) in batch.iter().enumerate() {
        let row = [encoded.column(0)[r], encoded.column(1)[r]];
        assert_eq!(p.to_bits(), model.predict_row_raw(&row).unwrap().to_bits(), "row {r}");
        assert_eq!(p.to_bits(), plain_walk(&model, &row).to_bits(), "row {r}");
    }
    let err = plan.encode(accountscope::gbdt::Value::Number(1.0)).unwrap_err();
    assert!(err.to_string().contains("feature 'plan'"), "{err}");
}

#[test]
fn same_model_for_one_and_two_threads() {
    let (x, y) = synthetic(3000, 6);
    let data = dataset(&x, &y);
    let params = |threads| GbdtParams {
        num_iterations: 15,
        bagging_fraction: 0.7,
        bagging_freq: 1,
        feature_fraction: 0.6,
        seed: 42,
        num_threads: threads,
        ..GbdtParams::default()
    };
    let one = train(&params(1), &data).unwrap();
    let two = train(&params(2), &data).unwrap();
    assert_eq!(one.trees(), two.trees());
    assert_eq!(one.to_bytes().unwrap().len(), two.to_bytes().unwrap().len());
    let other_seed = train(&GbdtParams { seed: 7, ..params(2) }, &data).unwrap();
    assert_ne!(one.trees(), other_seed.trees(), "the seed drives bagging");
}

#[test]
fn predicting_on_a_different_schema_is_an_error() {
    let batch = categorical_batch(500, 8, true);
    let data = Dataset::from_batch(&batch, "churned", None, &[]).unwrap();
    let model = train(&GbdtParams { num_iterations: 3, ..GbdtParams::default() }, &data).unwrap();
    let features = batch.project(&[0, 1]).unwrap();
    assert!(model.predict_batch(&features, false).is_ok());
    let missing = batch.project(&[0]).unwrap();
    let e = model.predict_batch(&missing, false).unwrap_err();
    assert_eq!(e.category(), ErrorCategory::Schema);
    assert!(e.to_string().contains("seats"), "{e}");
    let e = model.predict_batch(&batch, false).unwrap_err();
    assert!(e.to_string().contains("churned"), "extra column named: {e}");
    let retyped = RecordBatch::try_from_iter([
        ("plan", batch.column(0).clone()),
        ("seats", Arc::new(StringArray::from(vec!["12"; 500])) as ArrayRef),
    ])
    .unwrap();
    let e = model.predict_batch(&retyped, false).unwrap_err();
    assert!(e.to_string().contains("'seats'") && e.to_string().contains("numeric"), "{e}");
    let e = model.predict_row(&[1.0]).unwrap_err();
    assert_eq!(e.category(), ErrorCategory::InvalidInput);
}

#[test]
fn early_stopping_keeps_the_best_round() {
    let (x, y) = synthetic(2000, 9);
    let (xv, yv) = synthetic(1000, 10);
    let train_set = dataset(&x, &y);
    let valid =
        Dataset::new(Features::array_with_schema(xv.view(), train_set.features.info()).unwrap(), yv, None).unwrap();
    // Deep trees with a large learning rate overfit quickly.
    let params = GbdtParams {
        num_iterations: 300,
        learning_rate: 0.5,
        num_leaves: 63,
        min_data_in_leaf: 2,
        early_stopping_round: Some(10),
        ..GbdtParams::default()
    };
    let mut seen = Vec::new();
    let model = Training::new(&params, &train_set)
        .with_validation(&valid)
        .with_progress(|p| {
            seen.push(p.iteration);
            ControlFlow::Continue(())
        })
        .run()
        .unwrap();
    let info = model.training_info();
    assert_eq!(info.stopped, StopReason::EarlyStopping);
    let best = info.best_iteration.unwrap();
    assert_eq!(model.trees().len(), best + 1);
    assert_eq!(info.rounds, best + 11);
    assert_eq!(seen.len(), info.rounds);
    let min = info.eval_history.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(info.eval_history[best], min);

    let stopped = Training::new(&GbdtParams { early_stopping_round: None, ..params }, &train_set)
        .with_progress(|p| if p.iteration == 4 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
        .run()
        .unwrap();
    assert_eq!((stopped.trees().len(), stopped.training_info().stopped), (5, StopReason::Callback));
}

#[test]
fn regression_objectives_fit_their_targets() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let n = 4000;
    let x = Array2::from_shape_fn((n, 2), |_| rng.random::<f64>());
    // Heteroscedastic noise: the 0.9 quantile moves away from the mean as x1 grows.
    let y: Vec<f64> = (0..n).map(|i| 3.0 * x[[i, 0]] + x[[i, 1]] * 4.0 * (rng.random::<f64>() - 0.5)).collect();
    let data = dataset(&x, &y);
    let q = train(
        &GbdtParams { objective: Objective::Quantile, alpha: 0.9, num_iterations: 60, ..GbdtParams::default() },
        &data,
    )
    .unwrap();
    let pred = q.predict_array(x.view(), false).unwrap();
    let covered = y.iter().zip(&pred).filter(|(t, p)| t <= p).count() as f64 / n as f64;
    assert!((0.86..=0.94).contains(&covered), "0.9 quantile covers {covered}");

    let counts: Vec<f64> = (0..n).map(|i| ((1.0 + 4.0 * x[[i, 0]]) * rng.random::<f64>() * 2.0).floor()).collect();
    let mean = counts.iter().sum::<f64>() / n as f64;
    for objective in [Objective::Poisson, Objective::Tweedie] {
        let data = dataset(&x, &counts);
        let model = train(&GbdtParams { objective, num_iterations: 50, ..GbdtParams::default() }, &data).unwrap();
        let pred = model.predict_array(x.view(), false).unwrap();
        assert!(pred.iter().all(|p| *p > 0.0));
        let ours = metrics::tweedie_deviance(&counts, &pred, 1.0, None).unwrap();
        let constant = metrics::tweedie_deviance(&counts, &vec![mean; n], 1.0, None).unwrap();
        assert!(ours < 0.9 * constant, "{objective:?}: deviance {ours} vs constant {constant}");
    }
}

#[test]
fn invalid_configuration_names_the_field() {
    let (x, y) = synthetic(200, 12);
    let data = dataset(&x, &y);
    let e = train(&GbdtParams { num_leaves: 1, ..GbdtParams::default() }, &data).unwrap_err();
    assert!(e.to_string().contains("gbdt.num_leaves"), "{e}");
    let mut params = GbdtParams::default();
    params.monotone_constraints.insert("nope".into(), 1);
    let e = train(&params, &data).unwrap_err();
    assert!(e.to_string().contains("nope") && e.to_string().contains("f0"), "{e}");
    let e = train(&GbdtParams { early_stopping_round: Some(3), ..GbdtParams::default() }, &data).unwrap_err();
    assert_eq!(e.category(), ErrorCategory::Config);
    let e = Dataset::new(Features::from_array(x.view(), None, &[]).unwrap(), vec![2.0; 200], None)
        .and_then(|d| train(&GbdtParams::default(), &d))
        .unwrap_err();
    assert!(e.to_string().contains("row 0") && e.to_string().contains("0 or 1"), "{e}");
    let json = r#"{"num_leaves": 7, "learning_rte": 0.1}"#;
    let e = serde_json::from_str::<GbdtParams>(json).unwrap_err();
    assert!(e.to_string().contains("learning_rte"), "{e}");
}

/// The reference prediction: the initial score plus each tree's output from [`Tree::predict`], in order.
fn plain_walk(model: &Booster, row: &[f64]) -> f64 {
    model.trees().iter().fold(model.init_score(), |s, t| s + t.predict(row))
}

#[test]
fn batch_and_single_row_predictions_equal_a_plain_walk_of_every_tree() {
    // Missing values in training and in the probe rows exercise the learnt default directions.
    let (x, y) = synthetic(3000, 21);
    let params = GbdtParams { num_iterations: 60, num_leaves: 40, ..GbdtParams::default() };
    let model = train(&params, &dataset(&x, &y)).unwrap();
    let (mut probe, _) = synthetic(1021, 22);
    for (i, v) in probe.iter_mut().enumerate() {
        if i % 13 == 0 {
            *v = f64::NAN;
        }
    }
    let batch = model.predict_array(probe.view(), true).unwrap();
    for (r, row) in probe.rows().into_iter().enumerate() {
        let row = row.to_vec();
        let expected = plain_walk(&model, &row).to_bits();
        assert_eq!(batch[r].to_bits(), expected, "batch row {r}");
        assert_eq!(model.predict_row_raw(&row).unwrap().to_bits(), expected, "single row {r}");
    }
}

fn small_model() -> (Booster, Array2<f64>) {
    let (x, y) = synthetic(1500, 13);
    let params = GbdtParams { num_iterations: 20, bagging_fraction: 0.8, bagging_freq: 2, ..GbdtParams::default() };
    (train(&params, &dataset(&x, &y)).unwrap(), x)
}

#[test]
fn saved_models_predict_bit_identically() {
    let (model, x) = small_model();
    let expected: Vec<u64> = model.predict_array(x.view(), true).unwrap().iter().map(|v| v.to_bits()).collect();
    let dir = tempfile::tempdir().unwrap();
    for name in ["model.json", "model.bin"] {
        let path = dir.path().join(name);
        model.save(&path).unwrap();
        let loaded = Booster::load(&path).unwrap();
        assert!(loaded == model, "{name}: the loaded model differs");
        let got: Vec<u64> = loaded.predict_array(x.view(), true).unwrap().iter().map(|v| v.to_bits()).collect();
        assert_eq!(got, expected, "{name}");
    }
}

#[test]
fn corrupted_and_hostile_model_files_are_typed_errors() {
    let (model, _) = small_model();
    let bytes = model.to_bytes().unwrap();
    let model_error = |r: accountscope::Result<Booster>| r.map(|_| ()).unwrap_err().category() == ErrorCategory::Model;
    // Every truncation.
    for len in (0..bytes.len()).step_by(7) {
        assert!(model_error(Booster::from_bytes(&bytes[..len])), "truncated to {len}");
    }
    // Single flipped bits anywhere (header or payload).
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    for _ in 0..300 {
        let mut b = bytes.clone();
        let at = rng.random_range(0..b.len());
        b[at] ^= 1 << rng.random_range(0..8);
        assert!(model_error(Booster::from_bytes(&b)), "flip at {at}");
    }
    // A future version.
    let mut b = bytes.clone();
    b[8] = 99;
    let e = Booster::from_bytes(&b).unwrap_err();
    assert!(e.to_string().contains("version 99"), "{e}");
    // A payload that claims a huge sequence, with a valid checksum: no allocation of the claimed size.
    let mut payload = vec![0xff; 9];
    payload.push(0x01);
    let mut hostile = Vec::new();
    hostile.extend_from_slice(b"ACSGBDT\0");
    hostile.extend_from_slice(&1u32.to_le_bytes());
    hostile.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    hostile.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    hostile.extend_from_slice(&payload);
    assert!(model_error(Booster::from_bytes(&hostile)));

    // Well-formed JSON with a broken structure: a cycle, a feature out of range, a leaf reached twice.
    let json: serde_json::Value = serde_json::from_str(&model.to_json().unwrap()).unwrap();
    let edits: [(&str, serde_json::Value); 4] = [
        ("/model/trees/0/nodes/1/left", serde_json::json!(0)),
        ("/model/trees/0/nodes/0/feature", serde_json::json!(99)),
        ("/model/trees/0/nodes/1/right", serde_json::json!(-1)),
        ("/model/trees/0/leaf_value/0", serde_json::json!(null)),
    ];
    for (pointer, value) in edits {
        let mut doc = json.clone();
        *doc.pointer_mut(pointer).unwrap() = value;
        let e = Booster::from_json(&doc.to_string()).unwrap_err();
        assert_eq!(e.category(), ErrorCategory::Model, "{pointer}: {e}");
    }
    let mut doc = json.clone();
    *doc.pointer_mut("/model/params/num_leaves").unwrap() = serde_json::json!(0);
    assert!(Booster::from_json(&doc.to_string()).unwrap_err().to_string().contains("num_leaves"));
    assert!(model_error(Booster::from_json("{\"format\": \"accountscope-gbdt\", \"version\": 1}")));
}

#[test]
fn linfa_fit_and_predict() {
    use linfa::prelude::{Fit, Predict};
    let (x, y) = synthetic(1000, 15);
    let params = GbdtParams { num_iterations: 10, ..GbdtParams::default() };
    let ds = linfa::Dataset::new(x.clone(), ndarray::Array1::from(y.clone()));
    let model = params.fit(&ds).unwrap();
    let p: ndarray::Array1<f64> = Predict::predict(&model, &x);
    let direct = train(&params, &dataset(&x, &y)).unwrap().predict_array(x.view(), false).unwrap();
    assert_eq!(p.to_vec(), direct);
    // The interpretable baseline beside it: a linfa-trees decision tree on the same data.
    let labels = ndarray::Array1::from(y.iter().map(|v| *v as usize).collect::<Vec<_>>());
    let clean = x.mapv(|v| if v.is_nan() { -1.0 } else { v });
    let tree = linfa_trees::DecisionTree::params()
        .max_depth(Some(4))
        .fit(&linfa::Dataset::new(clean.clone(), labels))
        .unwrap();
    let tree_pred = tree.predict(&clean);
    assert_eq!(tree_pred.len(), 1000);
}
