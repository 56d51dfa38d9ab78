//! Champion / challenger: are two models' ROC AUCs on the same held-out rows different? DeLong, DeLong
//! and Clarke-Pearson (1988), "Comparing the areas under two or more correlated ROC curves", with the
//! midrank computation of Sun and Xu (2014, IEEE Signal Processing Letters 21(11)): each model's AUC is a
//! mean of placement values, whose covariance across the two models gives the variance of the difference;
//! the z statistic's two-sided p-value comes from the normal distribution (statrs). The tests check the
//! fast midrank form against the O(n·m) definition.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::error::{Error, Result};
use crate::trend::correlation::ranks;

/// The outcome of [`delong_test`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// AUC of the champion's scores.
    pub champion_auc: f64,
    /// AUC of the challenger's scores.
    pub challenger_auc: f64,
    /// Challenger minus champion.
    pub difference: f64,
    /// Standard error of the difference.
    pub std_error: f64,
    /// Difference over its standard error.
    pub z: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// The significance level used.
    pub alpha: f64,
    /// The challenger's AUC is higher and the difference significant at `alpha`.
    pub challenger_better: bool,
}

/// AUC and the placement values of positives (V10) and negatives (V01) of one score vector.
pub(crate) fn placements(pos: &[f64], neg: &[f64]) -> (f64, Vec<f64>, Vec<f64>) {
    let (m, n) = (pos.len() as f64, neg.len() as f64);
    let all: Vec<f64> = pos.iter().chain(neg).copied().collect();
    let (tz, tx, ty) = (ranks(&all), ranks(pos), ranks(neg));
    let auc = tz[..pos.len()].iter().sum::<f64>() / (m * n) - (m + 1.0) / (2.0 * n);
    let v10: Vec<f64> = (0..pos.len()).map(|i| (tz[i] - tx[i]) / n).collect();
    let v01: Vec<f64> = (0..neg.len()).map(|j| 1.0 - (tz[pos.len() + j] - ty[j]) / m).collect();
    (auc, v10, v01)
}

fn covariance(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum::<f64>() / (n - 1.0)
}

/// DeLong's test of `challenger` against `champion` scores on the same rows with labels `y` (0/1).
pub fn delong_test(y: &[f64], champion: &[f64], challenger: &[f64], alpha: f64) -> Result<Comparison> {
    if y.len() != champion.len() || y.len() != challenger.len() {
        return Err(Error::invalid(
            "delong_test",
            format!("{} labels, {} champion and {} challenger scores", y.len(), champion.len(), challenger.len()),
        ));
    }
    if let Some(i) = y.iter().position(|v| *v != 0.0 && *v != 1.0) {
        return Err(Error::invalid(format!("delong_test, row {i}"), format!("expected a label 0 or 1, got {}", y[i])));
    }
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(Error::config("delong_test.alpha", format!("expected (0, 1), got {alpha}")));
    }
    let split = |s: &[f64]| -> (Vec<f64>, Vec<f64>) {
        let pos = (0..y.len()).filter(|&i| y[i] == 1.0).map(|i| s[i]).collect();
        let neg = (0..y.len()).filter(|&i| y[i] == 0.0).map(|i| s[i]).collect();
        (pos, neg)
    };
    let (p1, n1) = split(champion);
    let (p2, n2) = split(challenger);
    if p1.len() < 2 || n1.len() < 2 {
        return Err(Error::invalid("delong_test", "needs at least two positive and two negative rows"));
    }
    let (auc1, v10a, v01a) = placements(&p1, &n1);
    let (auc2, v10b, v01b) = placements(&p2, &n2);
    let (m, n) = (p1.len() as f64, n1.len() as f64);
    // Var(A2 - A1) = (S10_11 + S10_22 - 2 S10_12) / m + (S01_11 + S01_22 - 2 S01_12) / n.
    let var = (covariance(&v10a, &v10a) + covariance(&v10b, &v10b) - 2.0 * covariance(&v10a, &v10b)) / m
        + (covariance(&v01a, &v01a) + covariance(&v01b, &v01b) - 2.0 * covariance(&v01a, &v01b)) / n;
    let difference = auc2 - auc1;
    let std_error = var.max(0.0).sqrt();
    let z = if std_error > 0.0 { difference / std_error } else { 0.0 };
    let normal = Normal::standard();
    let p_value = if std_error > 0.0 { 2.0 * normal.sf(z.abs()) } else { 1.0 };
    Ok(Comparison {
        champion_auc: auc1,
        challenger_auc: auc2,
        difference,
        std_error,
        z,
        p_value,
        alpha,
        challenger_better: difference > 0.0 && p_value < alpha,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 1988 definition: ψ(x, y) = 1 if x > y, 1/2 if equal; V10(x_i) = mean_j ψ(x_i, y_j),
    /// V01(y_j) = mean_i ψ(x_i, y_j).
    fn brute(pos: &[f64], neg: &[f64]) -> (f64, Vec<f64>, Vec<f64>) {
        let psi = |x: f64, y: f64| {
            if x > y {
                1.0
            } else if x == y {
                0.5
            } else {
                0.0
            }
        };
        let v10: Vec<f64> =
            pos.iter().map(|x| neg.iter().map(|y| psi(*x, *y)).sum::<f64>() / neg.len() as f64).collect();
        let v01: Vec<f64> =
            neg.iter().map(|y| pos.iter().map(|x| psi(*x, *y)).sum::<f64>() / pos.len() as f64).collect();
        (v10.iter().sum::<f64>() / pos.len() as f64, v10, v01)
    }

    #[test]
    fn midrank_placements_equal_the_definition() {
        let pos = [0.9, 0.8, 0.8, 0.4, 0.7, 0.55];
        let neg = [0.1, 0.8, 0.3, 0.55, 0.2, 0.4, 0.05];
        let (auc, v10, v01) = placements(&pos, &neg);
        let (b_auc, b10, b01) = brute(&pos, &neg);
        assert!((auc - b_auc).abs() < 1e-12, "{auc} vs {b_auc}");
        assert!(v10.iter().zip(&b10).all(|(a, b)| (a - b).abs() < 1e-12));
        assert!(v01.iter().zip(&b01).all(|(a, b)| (a - b).abs() < 1e-12));
    }

    #[test]
    fn a_clearly_better_challenger_wins_and_a_copy_does_not() {
        let n = 400;
        let y: Vec<f64> = (0..n).map(|i| f64::from(u8::from(i % 3 == 0))).collect();
        let noise = |i: usize, k: u64| ((i as u64 * 2_654_435_761 + k * 97) % 1000) as f64 / 1000.0;
        let weak: Vec<f64> = (0..n).map(|i| 0.3 * y[i] + noise(i, 1)).collect();
        let strong: Vec<f64> = (0..n).map(|i| 1.5 * y[i] + noise(i, 2)).collect();
        let better = delong_test(&y, &weak, &strong, 0.05).unwrap();
        assert!(better.challenger_better && better.p_value < 1e-6, "{better:?}");
        let same = delong_test(&y, &weak, &weak, 0.05).unwrap();
        assert!(!same.challenger_better && same.p_value == 1.0);
    }
}
