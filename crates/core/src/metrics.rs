//! Evaluation metrics shared by the library (GBDT early stopping, model evaluation, reports).
//!
//! Each function follows scikit-learn's definition of the metric of the same name (`sklearn.metrics`,
//! version 1.9) and is tested against its values to 1e-12 (`tests/reference/metrics.py` produced them):
//! ROC AUC is the trapezoid area under the ROC curve over distinct thresholds (ties count half), average
//! precision is `Σ (R_k − R_{k−1}) P_k` over distinct thresholds (no interpolation), log-loss clips
//! probabilities to `[ε, 1 − ε]` with ε the f64 machine epsilon. All take optional sample weights.
//! Written here because no maintained Rust crate covers this set with weights and scikit-learn's tie rules.

use crate::error::{Error, Result};

/// Checks lengths, finiteness, weights and (for classification) 0/1 labels; returns the weights.
fn prepare<'a>(
    metric: &str,
    y_true: &[f64],
    y_pred: &[f64],
    weight: Option<&'a [f64]>,
    binary: bool,
) -> Result<Option<&'a [f64]>> {
    let context = || format!("metric '{metric}'");
    if y_true.len() != y_pred.len() {
        return Err(Error::invalid(
            context(),
            format!("y_true has {} values but y_pred has {}", y_true.len(), y_pred.len()),
        ));
    }
    if y_true.is_empty() {
        return Err(Error::invalid(context(), "no values"));
    }
    if let Some(w) = weight {
        if w.len() != y_true.len() {
            return Err(Error::invalid(
                context(),
                format!("sample_weight has {} values but y_true has {}", w.len(), y_true.len()),
            ));
        }
        if let Some(i) = w.iter().position(|v| !v.is_finite() || *v < 0.0) {
            return Err(Error::invalid(
                format!("{}, sample_weight row {i}", context()),
                "expected a finite value >= 0",
            ));
        }
    }
    if let Some(i) = y_pred.iter().position(|v| !v.is_finite()) {
        return Err(Error::invalid(format!("{}, y_pred row {i}", context()), format!("not finite: {}", y_pred[i])));
    }
    let bad_label = |v: f64| if binary { v != 0.0 && v != 1.0 } else { !v.is_finite() };
    if let Some(i) = y_true.iter().position(|v| bad_label(*v)) {
        let expected = if binary { "a label 0 or 1" } else { "a finite value" };
        return Err(Error::invalid(
            format!("{}, y_true row {i}", context()),
            format!("expected {expected}, got {}", y_true[i]),
        ));
    }
    Ok(weight)
}

fn w_at(weight: Option<&[f64]>, i: usize) -> f64 {
    weight.map_or(1.0, |w| w[i])
}

/// Weighted mean of `f(i)` over all rows.
fn weighted_mean(n: usize, weight: Option<&[f64]>, f: impl Fn(usize) -> f64) -> Result<f64> {
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..n {
        let w = w_at(weight, i);
        num += w * f(i);
        den += w;
    }
    if den <= 0.0 {
        return Err(Error::invalid("sample_weight", "weights sum to zero"));
    }
    Ok(num / den)
}

/// Cumulative (false positives, true positives) at each distinct score, highest score first.
fn threshold_counts(y_true: &[f64], score: &[f64], weight: Option<&[f64]>) -> Vec<(f64, f64)> {
    let mut order: Vec<usize> = (0..y_true.len()).collect();
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));
    let mut out = Vec::new();
    let (mut fp, mut tp) = (0.0, 0.0);
    for (k, &i) in order.iter().enumerate() {
        let w = w_at(weight, i);
        if y_true[i] == 1.0 {
            tp += w;
        } else {
            fp += w;
        }
        let last_of_group = order.get(k + 1).is_none_or(|&j| score[j] != score[i]);
        if last_of_group {
            out.push((fp, tp));
        }
    }
    out
}

fn both_classes(metric: &str, fp: f64, tp: f64) -> Result<()> {
    if tp <= 0.0 || fp <= 0.0 {
        return Err(Error::invalid(
            format!("metric '{metric}'"),
            "y_true must contain both classes (0 and 1) with positive weight",
        ));
    }
    Ok(())
}

/// Area under the ROC curve (scikit-learn `roc_auc_score`).
pub fn roc_auc(y_true: &[f64], score: &[f64], weight: Option<&[f64]>) -> Result<f64> {
    let weight = prepare("roc_auc", y_true, score, weight, true)?;
    let counts = threshold_counts(y_true, score, weight);
    let &(fp_total, tp_total) = counts.last().ok_or_else(|| Error::invalid("metric 'roc_auc'", "no values"))?;
    both_classes("roc_auc", fp_total, tp_total)?;
    let (mut area, mut fp_prev, mut tp_prev) = (0.0, 0.0, 0.0);
    for &(fp, tp) in &counts {
        area += (fp - fp_prev) * (tp + tp_prev) / 2.0;
        fp_prev = fp;
        tp_prev = tp;
    }
    Ok(area / (fp_total * tp_total))
}

/// Average precision, the PR AUC without interpolation (scikit-learn `average_precision_score`).
pub fn average_precision(y_true: &[f64], score: &[f64], weight: Option<&[f64]>) -> Result<f64> {
    let weight = prepare("average_precision", y_true, score, weight, true)?;
    let counts = threshold_counts(y_true, score, weight);
    let &(fp_total, tp_total) =
        counts.last().ok_or_else(|| Error::invalid("metric 'average_precision'", "no values"))?;
    both_classes("average_precision", fp_total, tp_total)?;
    let (mut ap, mut recall_prev) = (0.0, 0.0);
    for &(fp, tp) in &counts {
        let recall = tp / tp_total;
        let precision = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
        ap += (recall - recall_prev) * precision;
        recall_prev = recall;
    }
    Ok(ap)
}

/// Mean binary log-loss of probabilities (scikit-learn `log_loss`, probabilities clipped to machine epsilon).
pub fn log_loss(y_true: &[f64], prob: &[f64], weight: Option<&[f64]>) -> Result<f64> {
    let weight = prepare("log_loss", y_true, prob, weight, true)?;
    check_probabilities("log_loss", prob)?;
    let eps = f64::EPSILON;
    weighted_mean(y_true.len(), weight, |i| {
        let p = prob[i].clamp(eps, 1.0 - eps);
        -(y_true[i] * p.ln() + (1.0 - y_true[i]) * (1.0 - p).ln())
    })
}

/// Brier score: mean squared difference between probability and label (`brier_score_loss`).
pub fn brier(y_true: &[f64], prob: &[f64], weight: Option<&[f64]>) -> Result<f64> {
    let weight = prepare("brier", y_true, prob, weight, true)?;
    check_probabilities("brier", prob)?;
    weighted_mean(y_true.len(), weight, |i| (prob[i] - y_true[i]).powi(2))
}

fn check_probabilities(metric: &str, prob: &[f64]) -> Result<()> {
    match prob.iter().position(|p| !(0.0..=1.0).contains(p)) {
        Some(i) => Err(Error::invalid(
            format!("metric '{metric}', y_pred row {i}"),
            format!("expected a probability in [0, 1], got {}", prob[i]),
        )),
        None => Ok(()),
    }
}

/// Precision, recall and F1 of the rule `score >= threshold` (scikit-learn's, with `zero_division=0`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ThresholdScores {
    /// True positives / predicted positives (0 when nothing is predicted positive).
    pub precision: f64,
    /// True positives / actual positives (0 when there are no positives).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
}

/// Precision, recall and F1 when rows with `score >= threshold` are predicted positive.
pub fn threshold_scores(
    y_true: &[f64],
    score: &[f64],
    threshold: f64,
    weight: Option<&[f64]>,
) -> Result<ThresholdScores> {
    let weight = prepare("threshold_scores", y_true, score, weight, true)?;
    let (mut tp, mut fp, mut fneg) = (0.0, 0.0, 0.0);
    for i in 0..y_true.len() {
        let w = w_at(weight, i);
        match (score[i] >= threshold, y_true[i] == 1.0) {
            (true, true) => tp += w,
            (true, false) => fp += w,
            (false, true) => fneg += w,
            (false, false) => {}
        }
    }
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fneg);
    // scikit-learn computes F1 from the counts, 2TP / (2TP + FP + FN), not from the rounded ratios.
    let f1 = ratio(2.0 * tp, 2.0 * tp + fp + fneg);
    Ok(ThresholdScores { precision, recall, f1 })
}

/// Root mean squared error (`root_mean_squared_error`).
pub fn rmse(y_true: &[f64], y_pred: &[f64], weight: Option<&[f64]>) -> Result<f64> {
    let weight = prepare("rmse", y_true, y_pred, weight, false)?;
    Ok(weighted_mean(y_true.len(), weight, |i| (y_true[i] - y_pred[i]).powi(2))?.sqrt())
}

/// Mean absolute error (`mean_absolute_error`).
pub fn mae(y_true: &[f64], y_pred: &[f64], weight: Option<&[f64]>) -> Result<f64> {
    let weight = prepare("mae", y_true, y_pred, weight, false)?;
    weighted_mean(y_true.len(), weight, |i| (y_true[i] - y_pred[i]).abs())
}

/// Mean pinball (quantile) loss at quantile `alpha` (`mean_pinball_loss`).
pub fn quantile_loss(y_true: &[f64], y_pred: &[f64], alpha: f64, weight: Option<&[f64]>) -> Result<f64> {
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(Error::config("alpha", format!("expected a quantile in (0, 1), got {alpha}")));
    }
    let weight = prepare("quantile_loss", y_true, y_pred, weight, false)?;
    weighted_mean(y_true.len(), weight, |i| {
        let d = y_true[i] - y_pred[i];
        if d >= 0.0 { alpha * d } else { (alpha - 1.0) * d }
    })
}

/// Mean Tweedie deviance with variance power `power` (`mean_tweedie_deviance`); power 1 is the Poisson
/// deviance (`mean_poisson_deviance`). Supported powers: 0, 1, and (1, 2]; predictions must be > 0.
pub fn tweedie_deviance(y_true: &[f64], y_pred: &[f64], power: f64, weight: Option<&[f64]>) -> Result<f64> {
    let weight = prepare("tweedie_deviance", y_true, y_pred, weight, false)?;
    if !(power == 0.0 || (1.0..=2.0).contains(&power)) {
        return Err(Error::config("tweedie_variance_power", format!("expected 0 or a value in [1, 2], got {power}")));
    }
    if power > 0.0 {
        if let Some(i) = y_pred.iter().position(|p| *p <= 0.0) {
            return Err(Error::invalid(format!("metric 'tweedie_deviance', y_pred row {i}"), "expected a value > 0"));
        }
        let (bad, expected) = if power == 2.0 {
            (y_true.iter().position(|y| *y <= 0.0), "expected a value > 0 (variance power 2)")
        } else {
            (y_true.iter().position(|y| *y < 0.0), "expected a value >= 0")
        };
        if let Some(i) = bad {
            return Err(Error::invalid(format!("metric 'tweedie_deviance', y_true row {i}"), expected));
        }
    }
    weighted_mean(y_true.len(), weight, |i| {
        let (y, mu) = (y_true[i], y_pred[i]);
        if power == 0.0 {
            (y - mu).powi(2)
        } else if power == 1.0 {
            let ylogy = if y > 0.0 { y * (y / mu).ln() } else { 0.0 };
            2.0 * (ylogy - y + mu)
        } else if power == 2.0 {
            2.0 * ((mu / y).ln() + y / mu - 1.0)
        } else {
            let p = power;
            2.0 * (y.max(0.0).powf(2.0 - p) / ((1.0 - p) * (2.0 - p)) - y * mu.powf(1.0 - p) / (1.0 - p)
                + mu.powf(2.0 - p) / (2.0 - p))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_ties_half() {
        // One positive tied with one negative: the pair counts 1/2.
        let auc = roc_auc(&[0.0, 1.0, 0.0, 1.0], &[0.1, 0.5, 0.5, 0.9], None).unwrap();
        assert!((auc - 0.875).abs() < 1e-15);
    }

    #[test]
    fn one_class_is_an_error() {
        let e = roc_auc(&[1.0, 1.0], &[0.2, 0.3], None).unwrap_err();
        assert!(e.to_string().contains("both classes"), "{e}");
        let e = log_loss(&[1.0, 2.0], &[0.2, 0.3], None).unwrap_err();
        assert!(e.to_string().contains("y_true row 1"), "{e}");
    }
}
