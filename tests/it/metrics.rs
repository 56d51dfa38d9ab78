//! Metrics against scikit-learn 1.9 on vectors with ties and weights (`tests/reference/metrics.py`).

use accountscope::metrics;

/// Output of `tests/reference/metrics.py` (scikit-learn 1.9.1).
const REFERENCE: &[(&str, f64)] = &[
    ("roc_auc", 0.5227272727272727),
    ("roc_auc_w", 0.5263197586726999),
    ("average_precision", 0.3636161549942657),
    ("average_precision_w", 0.364052257918715),
    ("log_loss", 0.8963610318288007),
    ("log_loss_w", 0.9056420045362377),
    ("brier", 0.30998648295753517),
    ("brier_w", 0.3125398767584022),
    ("precision_at_05", 0.34782608695652173),
    ("recall_at_05", 0.48484848484848486),
    ("f1_at_05", 0.4050632911392405),
    ("f1_at_05_w", 0.4025157232704403),
    ("rmse", 2.1244333695961912),
    ("rmse_w", 2.118541936591269),
    ("mae", 1.9149868084546804),
    ("pinball_09", 0.953475524275421),
    ("pinball_02_w", 1.0344278003258625),
    ("poisson_deviance", 1.4965611065993647),
    ("tweedie_15_w", 1.8494536617690496),
];

#[test]
fn metrics_equal_scikit_learn() {
    let n = 97;
    let i: Vec<f64> = (0..n).map(f64::from).collect();
    let y: Vec<f64> = (0..n).map(|k| f64::from(u8::from((k * 7) % 3 == 0))).collect();
    let score: Vec<f64> = (0..n).map(|k| f64::from((k * 37) % 23) / 23.0).collect();
    let prob: Vec<f64> = score.iter().map(|s| 0.02 + 0.96 * s).collect();
    let w: Vec<f64> = (0..n).map(|k| 1.0 + f64::from(k % 5) / 2.0).collect();
    let reg_true: Vec<f64> = i.iter().map(|k| (k * 0.37).sin() * 10.0 + 0.5 * k).collect();
    let reg_pred: Vec<f64> = reg_true.iter().zip(&i).map(|(t, k)| t + (k * 1.3).cos() * 3.0).collect();
    let count_true: Vec<f64> = (0..n).map(|k| f64::from(k % 4)).collect();
    let count_pred: Vec<f64> = (0..n).map(|k| 0.5 + f64::from(k % 7) / 3.0).collect();
    let w = Some(w.as_slice());
    let at = |t| metrics::threshold_scores(&y, &prob, t, None).unwrap();
    let ours = |name: &str| -> f64 {
        match name {
            "roc_auc" => metrics::roc_auc(&y, &score, None),
            "roc_auc_w" => metrics::roc_auc(&y, &score, w),
            "average_precision" => metrics::average_precision(&y, &score, None),
            "average_precision_w" => metrics::average_precision(&y, &score, w),
            "log_loss" => metrics::log_loss(&y, &prob, None),
            "log_loss_w" => metrics::log_loss(&y, &prob, w),
            "brier" => metrics::brier(&y, &prob, None),
            "brier_w" => metrics::brier(&y, &prob, w),
            "precision_at_05" => Ok(at(0.5).precision),
            "recall_at_05" => Ok(at(0.5).recall),
            "f1_at_05" => Ok(at(0.5).f1),
            "f1_at_05_w" => metrics::threshold_scores(&y, &prob, 0.5, w).map(|s| s.f1),
            "rmse" => metrics::rmse(&reg_true, &reg_pred, None),
            "rmse_w" => metrics::rmse(&reg_true, &reg_pred, w),
            "mae" => metrics::mae(&reg_true, &reg_pred, None),
            "pinball_09" => metrics::quantile_loss(&reg_true, &reg_pred, 0.9, None),
            "pinball_02_w" => metrics::quantile_loss(&reg_true, &reg_pred, 0.2, w),
            "poisson_deviance" => metrics::tweedie_deviance(&count_true, &count_pred, 1.0, None),
            "tweedie_15_w" => metrics::tweedie_deviance(&count_true, &count_pred, 1.5, w),
            other => panic!("no metric {other}"),
        }
        .unwrap()
    };
    for &(name, expected) in REFERENCE {
        let got = ours(name);
        assert!((got - expected).abs() <= 1e-12, "{name}: ours {got}, scikit-learn {expected}");
    }
}

#[test]
fn metric_errors_name_the_row() {
    let e = metrics::rmse(&[1.0, 2.0], &[1.0, f64::NAN], None).unwrap_err();
    assert!(e.to_string().contains("y_pred row 1"), "{e}");
    let e = metrics::brier(&[1.0, 0.0], &[1.5, 0.2], None).unwrap_err();
    assert!(e.to_string().contains("probability"), "{e}");
    let e = metrics::mae(&[1.0], &[1.0, 2.0], None).unwrap_err();
    assert!(e.to_string().contains("has 1 values but y_pred has 2"), "{e}");
}
