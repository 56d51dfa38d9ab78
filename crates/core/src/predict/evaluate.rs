//! The evaluation report of a probabilistic classifier on held-out rows: ROC AUC, PR AUC (average
//! precision), log-loss and Brier score (from [`crate::metrics`], equal to scikit-learn's), precision,
//! recall and F1 at the operating threshold, a calibration curve (scikit-learn's `calibration_curve` with
//! uniform bins) and lift by decile; and the choice of the threshold for a target precision or recall.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::metrics;

/// What the operating threshold aims at, on held-out rows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdTarget {
    /// The lowest threshold whose precision reaches this (the most recall at that precision).
    Precision(f64),
    /// The highest threshold whose recall reaches this (the most precision at that recall).
    Recall(f64),
    /// The threshold with the highest F1.
    MaxF1,
    /// A fixed probability.
    Fixed(f64),
}

impl Default for ThresholdTarget {
    fn default() -> Self {
        Self::Precision(0.85)
    }
}

/// One bin of the calibration curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    /// Lower edge of the bin.
    pub lower: f64,
    /// Upper edge.
    pub upper: f64,
    /// Rows in the bin.
    pub rows: usize,
    /// Mean predicted probability.
    pub mean_predicted: f64,
    /// Observed share of positives.
    pub observed: f64,
}

/// One decile of rows by descending score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LiftBin {
    /// 1 is the highest-scored tenth.
    pub decile: usize,
    /// Rows in the decile.
    pub rows: usize,
    /// Positives in the decile.
    pub positives: usize,
    /// Positives' share in the decile over their share overall.
    pub lift: f64,
    /// Share of all positives found in deciles 1 ..= this one.
    pub cumulative_recall: f64,
}

/// The evaluation report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Rows evaluated.
    pub rows: usize,
    /// Positive rows.
    pub positives: usize,
    /// Area under the ROC curve.
    pub roc_auc: f64,
    /// Average precision.
    pub pr_auc: f64,
    /// Mean log-loss.
    pub log_loss: f64,
    /// Brier score.
    pub brier: f64,
    /// Operating threshold.
    pub threshold: f64,
    /// Precision at the threshold.
    pub precision: f64,
    /// Recall at the threshold.
    pub recall: f64,
    /// F1 at the threshold.
    pub f1: f64,
    /// Calibration curve, ten uniform bins (empty bins left out).
    pub calibration: Vec<CalibrationBin>,
    /// Lift by decile.
    pub lift: Vec<LiftBin>,
}

/// Column headings of [`Evaluation::metric_cells`].
pub const METRIC_HEADER: [&str; 10] =
    ["rows", "positives", "ROC AUC", "PR AUC", "log-loss", "Brier", "threshold", "precision", "recall", "F1"];

impl Evaluation {
    /// The headline metrics as display text, in [`METRIC_HEADER`]'s order.
    pub fn metric_cells(&self) -> Vec<String> {
        let f = |x: f64| format!("{x:.4}");
        vec![
            self.rows.to_string(),
            self.positives.to_string(),
            f(self.roc_auc),
            f(self.pr_auc),
            f(self.log_loss),
            f(self.brier),
            f(self.threshold),
            f(self.precision),
            f(self.recall),
            f(self.f1),
        ]
    }

    /// The metrics, the lift by decile and the calibration curve as HTML tables (for notebooks).
    pub fn html(&self) -> String {
        let lift: Vec<Vec<String>> = self
            .lift
            .iter()
            .map(|l| {
                vec![
                    l.decile.to_string(),
                    l.rows.to_string(),
                    l.positives.to_string(),
                    format!("{:.2}", l.lift),
                    format!("{:.1}%", 100.0 * l.cumulative_recall),
                ]
            })
            .collect();
        let calibration: Vec<Vec<String>> = self
            .calibration
            .iter()
            .map(|c| {
                vec![
                    format!("{:.1}–{:.1}", c.lower, c.upper),
                    c.rows.to_string(),
                    format!("{:.3}", c.mean_predicted),
                    format!("{:.3}", c.observed),
                ]
            })
            .collect();
        crate::html::table(Some("Evaluation"), &METRIC_HEADER, &[self.metric_cells()])
            + &crate::html::table(
                Some("Lift by decile"),
                &["decile", "rows", "positives", "lift", "cumulative recall"],
                &lift,
            )
            + &crate::html::table(Some("Calibration"), &["bin", "rows", "mean predicted", "observed"], &calibration)
    }
}

/// Evaluates probabilities `prob` of labels `y` (0/1) at `threshold`.
pub fn evaluate(y: &[f64], prob: &[f64], threshold: f64) -> Result<Evaluation> {
    let at = metrics::threshold_scores(y, prob, threshold, None)?;
    let positives = y.iter().filter(|v| **v == 1.0).count();
    Ok(Evaluation {
        rows: y.len(),
        positives,
        roc_auc: metrics::roc_auc(y, prob, None)?,
        pr_auc: metrics::average_precision(y, prob, None)?,
        log_loss: metrics::log_loss(y, prob, None)?,
        brier: metrics::brier(y, prob, None)?,
        threshold,
        precision: at.precision,
        recall: at.recall,
        f1: at.f1,
        calibration: calibration_curve(y, prob, 10),
        lift: lift(y, prob, positives),
    })
}

/// scikit-learn's `calibration_curve(strategy="uniform")`: bin `i` holds probabilities in
/// `[i/n, (i+1)/n)`, the last bin including 1.
pub fn calibration_curve(y: &[f64], prob: &[f64], bins: usize) -> Vec<CalibrationBin> {
    let bins = bins.max(1);
    let mut acc = vec![(0usize, 0.0, 0.0); bins];
    for (v, p) in y.iter().zip(prob) {
        let b = ((p * bins as f64) as usize).min(bins - 1);
        acc[b].0 += 1;
        acc[b].1 += p;
        acc[b].2 += v;
    }
    acc.iter()
        .enumerate()
        .filter(|(_, a)| a.0 > 0)
        .map(|(i, (n, sp, sy))| CalibrationBin {
            lower: i as f64 / bins as f64,
            upper: (i + 1) as f64 / bins as f64,
            rows: *n,
            mean_predicted: sp / *n as f64,
            observed: sy / *n as f64,
        })
        .collect()
}

fn lift(y: &[f64], prob: &[f64], positives: usize) -> Vec<LiftBin> {
    let n = y.len();
    let mut order: Vec<usize> = (0..n).collect();
    // Descending score; ties by row for a stable split.
    order.sort_by(|&a, &b| prob[b].total_cmp(&prob[a]).then(a.cmp(&b)));
    let base = positives as f64 / n.max(1) as f64;
    let mut found = 0;
    (0..10)
        .map(|d| {
            let (lo, hi) = (d * n / 10, (d + 1) * n / 10);
            let p = order[lo..hi].iter().filter(|&&i| y[i] == 1.0).count();
            found += p;
            let rows = hi - lo;
            let rate = if rows > 0 { p as f64 / rows as f64 } else { 0.0 };
            LiftBin {
                decile: d + 1,
                rows,
                positives: p,
                lift: if base > 0.0 { rate / base } else { 0.0 },
                cumulative_recall: if positives > 0 { found as f64 / positives as f64 } else { 0.0 },
            }
        })
        .collect()
}

/// The threshold meeting `target` on `(y, prob)`; when no threshold reaches a precision target, the one
/// with the highest precision among those that flag at least 1% of the positives.
pub fn choose_threshold(y: &[f64], prob: &[f64], target: ThresholdTarget) -> Result<f64> {
    if let ThresholdTarget::Fixed(t) = target {
        return Ok(t);
    }
    if y.len() != prob.len() || y.is_empty() {
        return Err(Error::invalid("threshold", format!("{} labels for {} probabilities", y.len(), prob.len())));
    }
    let total = y.iter().filter(|v| **v == 1.0).count() as f64;
    if total == 0.0 {
        return Err(Error::invalid("threshold", "the held-out rows have no positives"));
    }
    let mut order: Vec<usize> = (0..y.len()).collect();
    order.sort_by(|&a, &b| prob[b].total_cmp(&prob[a]));
    // Walk thresholds from the highest score down; evaluate at the end of each run of equal scores.
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut candidates: Vec<(f64, f64, f64)> = Vec::new(); // (threshold, precision, recall)
    for (k, &i) in order.iter().enumerate() {
        if y[i] == 1.0 {
            tp += 1.0
        } else {
            fp += 1.0
        }
        let last_of_run = order.get(k + 1).is_none_or(|&j| prob[j] != prob[i]);
        if last_of_run {
            candidates.push((prob[i], tp / (tp + fp), tp / total));
        }
    }
    let chosen = match target {
        ThresholdTarget::Precision(p) => candidates
            .iter()
            .rev()
            .find(|c| c.1 >= p)
            .or_else(|| {
                candidates.iter().filter(|c| c.2 >= 0.01).max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.total_cmp(&a.0)))
            })
            .map(|c| c.0),
        ThresholdTarget::Recall(r) => candidates.iter().find(|c| c.2 >= r).map(|c| c.0),
        ThresholdTarget::MaxF1 => candidates
            .iter()
            .max_by(|a, b| {
                let f = |c: &(f64, f64, f64)| if c.1 + c.2 > 0.0 { 2.0 * c.1 * c.2 / (c.1 + c.2) } else { 0.0 };
                f(a).total_cmp(&f(b))
            })
            .map(|c| c.0),
        ThresholdTarget::Fixed(t) => Some(t),
    };
    chosen.ok_or_else(|| Error::invalid("threshold", format!("no threshold meets {target:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_meet_their_targets() {
        // Scores 0.1 .. 1.0; positives are the rows scored 0.5, 0.7, 0.8, 0.9 and 1.0.
        let prob: Vec<f64> = (1..=10).map(|i| f64::from(i) / 10.0).collect();
        let y = [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0];
        // Precision >= 0.8 is met down to 0.5 (5 of 6 flagged are positive): recall 1.
        assert_eq!(choose_threshold(&y, &prob, ThresholdTarget::Precision(0.8)).unwrap(), 0.5);
        // Recall >= 0.8 first at 0.7 (4 of 5).
        assert_eq!(choose_threshold(&y, &prob, ThresholdTarget::Recall(0.8)).unwrap(), 0.7);
        let e = evaluate(&y, &prob, 0.7).unwrap();
        assert_eq!((e.precision, e.recall), (1.0, 0.8));
        assert_eq!(e.lift[0].positives, 1);
        assert_eq!(e.lift.iter().map(|l| l.rows).sum::<usize>(), 10);
        assert_eq!(e.lift[9].cumulative_recall, 1.0);
    }

    #[test]
    fn calibration_curve_bins_like_scikit_learn() {
        // sklearn.calibration.calibration_curve([0,0,1,1], [0.1,0.4,0.35,0.8], n_bins=2) gives
        // prob_true [1/3, 1] and prob_pred [0.85/3, 0.8]: bins [0, .5) and [.5, 1].
        let bins = calibration_curve(&[0.0, 0.0, 1.0, 1.0], &[0.1, 0.4, 0.35, 0.8], 2);
        assert_eq!(bins.len(), 2);
        assert!((bins[0].observed - 1.0 / 3.0).abs() < 1e-12);
        assert!((bins[0].mean_predicted - 0.85 / 3.0).abs() < 1e-12);
        assert_eq!((bins[1].observed, bins[1].mean_predicted), (1.0, 0.8));
    }
}
