//! Probability calibration of a classifier's raw scores, fitted on held-out rows: Platt scaling (a
//! logistic curve on the raw score, Platt 1999, with his smoothed targets as scikit-learn's
//! `CalibratedClassifierCV(method="sigmoid")` uses) and isotonic regression (pool-adjacent-violators,
//! predictions interpolated linearly between the fitted points and clipped at the ends, as scikit-learn's
//! `IsotonicRegression(out_of_bounds="clip")`, except that each pooled block is shrunk by one pseudo-row
//! at the base rate: a block without positives would otherwise predict exactly 0, and one positive among
//! later rows scored there costs an unbounded log-loss). [`Calibration::Auto`] picks the one with the lower log-loss
//! on the later half of the held-out rows after fitting both on the earlier half.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which calibration to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Calibration {
    /// Fit both on the earlier half of the held-out rows, keep the one with the lower log-loss on the later
    /// half, refit it on all held-out rows.
    #[default]
    Auto,
    /// Platt scaling.
    Platt,
    /// Isotonic regression.
    Isotonic,
    /// The model's own probabilities.
    None,
}

/// A fitted map from raw score to probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Calibrator {
    /// `1 / (1 + exp(-(a * score + b)))`.
    Platt {
        /// Slope.
        a: f64,
        /// Intercept.
        b: f64,
    },
    /// Increasing points `(score, probability)`, interpolated linearly, clipped outside.
    Isotonic {
        /// Fitted scores, increasing.
        x: Vec<f64>,
        /// Fitted probabilities, non-decreasing.
        y: Vec<f64>,
    },
    /// The logistic link of the raw score.
    Identity,
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

impl Calibrator {
    /// Probability for a raw score.
    pub fn apply(&self, score: f64) -> f64 {
        match self {
            Self::Platt { a, b } => sigmoid(a * score + b),
            Self::Identity => sigmoid(score),
            Self::Isotonic { x, y } => {
                if x.is_empty() {
                    return f64::NAN;
                }
                let i = x.partition_point(|v| *v < score);
                if i == 0 {
                    y[0]
                } else if i == x.len() {
                    y[x.len() - 1]
                } else {
                    let (x0, x1, y0, y1) = (x[i - 1], x[i], y[i - 1], y[i]);
                    y0 + (y1 - y0) * (score - x0) / (x1 - x0)
                }
            }
        }
    }

    /// The method's name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Platt { .. } => "platt",
            Self::Isotonic { .. } => "isotonic",
            Self::Identity => "none",
        }
    }
}

/// Platt scaling: Newton's method with backtracking on the log-likelihood with targets
/// `(n+ + 1) / (n+ + 2)` and `1 / (n- + 2)` (Platt 1999; Lin, Lin and Weng 2007).
pub fn fit_platt(score: &[f64], y: &[f64]) -> Result<Calibrator> {
    check(score, y)?;
    let pos = y.iter().filter(|v| **v == 1.0).count() as f64;
    let neg = y.len() as f64 - pos;
    let (hi, lo) = ((pos + 1.0) / (pos + 2.0), 1.0 / (neg + 2.0));
    let t: Vec<f64> = y.iter().map(|v| if *v == 1.0 { hi } else { lo }).collect();
    let loss = |a: f64, b: f64| -> f64 {
        score
            .iter()
            .zip(&t)
            .map(|(s, t)| {
                let z = a * s + b;
                // -[t log σ(z) + (1-t) log(1-σ(z))] = log(1 + e^z) - t z, computed stably.
                let softplus = if z > 0.0 { z + (-z).exp().ln_1p() } else { z.exp().ln_1p() };
                softplus - t * z
            })
            .sum()
    };
    let (mut a, mut b) = (0.0, ((pos + 1.0) / (neg + 1.0)).ln());
    let mut f = loss(a, b);
    for _ in 0..100 {
        let (mut g1, mut g2, mut h11, mut h22, mut h21) = (0.0, 0.0, 1e-12, 1e-12, 0.0);
        for (s, t) in score.iter().zip(&t) {
            let p = sigmoid(a * s + b);
            let d = p - t;
            let w = p * (1.0 - p);
            g1 += s * d;
            g2 += d;
            h11 += s * s * w;
            h22 += w;
            h21 += s * w;
        }
        if g1.abs() < 1e-10 && g2.abs() < 1e-10 {
            break;
        }
        let det = h11 * h22 - h21 * h21;
        if det.abs() < 1e-300 {
            break;
        }
        let da = -(h22 * g1 - h21 * g2) / det;
        let db = -(-h21 * g1 + h11 * g2) / det;
        let mut step = 1.0;
        while step > 1e-10 {
            let (na, nb) = (a + step * da, b + step * db);
            let nf = loss(na, nb);
            if nf < f + 1e-4 * step * (g1 * da + g2 * db) {
                (a, b, f) = (na, nb, nf);
                break;
            }
            step /= 2.0;
        }
        if step <= 1e-10 {
            break;
        }
    }
    Ok(Calibrator::Platt { a, b })
}

/// Isotonic regression of `y` on `score` by pool-adjacent-violators (ties in `score` pooled first), each
/// block's mean shrunk by one pseudo-row at the base rate.
pub fn fit_isotonic(score: &[f64], y: &[f64]) -> Result<Calibrator> {
    check(score, y)?;
    let mut order: Vec<usize> = (0..score.len()).collect();
    order.sort_by(|&i, &j| score[i].total_cmp(&score[j]));
    // Blocks of (sum of scores, sum of labels, count), ties merged first.
    let mut blocks: Vec<(f64, f64, f64)> = Vec::new();
    let mut last_x = f64::NAN;
    for &i in &order {
        if score[i] == last_x {
            if let Some(b) = blocks.last_mut() {
                b.0 += score[i];
                b.1 += y[i];
                b.2 += 1.0;
            }
        } else {
            blocks.push((score[i], y[i], 1.0));
            last_x = score[i];
        }
    }
    let xs: Vec<f64> = blocks.iter().map(|b| b.0 / b.2).collect();
    // PAV over the tie-pooled points: each pooled block keeps its range of points.
    let mut pooled: Vec<(f64, f64, usize)> = Vec::new(); // (label sum, weight, points)
    for b in &blocks {
        pooled.push((b.1, b.2, 1));
        while pooled.len() >= 2 {
            let n = pooled.len();
            let (s1, w1, k1) = pooled[n - 2];
            let (s2, w2, k2) = pooled[n - 1];
            if s1 / w1 <= s2 / w2 {
                break;
            }
            pooled.truncate(n - 2);
            pooled.push((s1 + s2, w1 + w2, k1 + k2));
        }
    }
    let rate = y.iter().sum::<f64>() / y.len() as f64;
    let mut ys: Vec<f64> =
        pooled.iter().flat_map(|(s, w, k)| std::iter::repeat_n((s + rate) / (w + 1.0), *k)).collect();
    // Shrinking can reorder neighbouring blocks of different sizes; keep the map non-decreasing.
    for i in 1..ys.len() {
        ys[i] = ys[i].max(ys[i - 1]);
    }
    Ok(Calibrator::Isotonic { x: xs, y: ys })
}

fn check(score: &[f64], y: &[f64]) -> Result<()> {
    if score.len() != y.len() || score.is_empty() {
        return Err(Error::invalid("calibration", format!("{} scores for {} labels", score.len(), y.len())));
    }
    if let Some(i) = score.iter().position(|s| !s.is_finite()) {
        return Err(Error::invalid(format!("calibration, row {i}"), "score is not finite"));
    }
    if let Some(i) = y.iter().position(|v| *v != 0.0 && *v != 1.0) {
        return Err(Error::invalid(format!("calibration, row {i}"), format!("expected a label 0 or 1, got {}", y[i])));
    }
    Ok(())
}

/// Fits `method` on held-out `(score, y)` rows given in time order.
pub fn fit(method: Calibration, score: &[f64], y: &[f64]) -> Result<Calibrator> {
    match method {
        Calibration::Platt => fit_platt(score, y),
        Calibration::Isotonic => fit_isotonic(score, y),
        Calibration::None => Ok(Calibrator::Identity),
        Calibration::Auto => {
            let half = score.len() / 2;
            let (early_y, late_y) = (&y[..half], &y[half..]);
            let both = |v: &[f64]| v.contains(&1.0) && v.contains(&0.0);
            if half < 50 || !both(early_y) || !both(late_y) {
                return fit_platt(score, y);
            }
            let late_loss = |c: &Calibrator| -> Result<f64> {
                let p: Vec<f64> = score[half..].iter().map(|s| c.apply(*s)).collect();
                crate::metrics::log_loss(late_y, &p, None)
            };
            let platt = late_loss(&fit_platt(&score[..half], early_y)?)?;
            let isotonic = late_loss(&fit_isotonic(&score[..half], early_y)?)?;
            if isotonic < platt { fit_isotonic(score, y) } else { fit_platt(score, y) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platt_recovers_a_logistic_curve() {
        // Deterministic labels drawn from σ(2s - 1) by a low-discrepancy sequence.
        let n = 20_000;
        let score: Vec<f64> = (0..n).map(|i| -3.0 + 6.0 * (i as f64 + 0.5) / n as f64).collect();
        let y: Vec<f64> = (0..n)
            .map(|i| {
                let u = (i as f64 * 0.618_033_988_749_895).fract();
                f64::from(u8::from(u < sigmoid(2.0 * score[i] - 1.0)))
            })
            .collect();
        let Calibrator::Platt { a, b } = fit_platt(&score, &y).unwrap() else { panic!("not platt") };
        assert!((a - 2.0).abs() < 0.1 && (b + 1.0).abs() < 0.1, "a {a} b {b}");
    }

    #[test]
    fn isotonic_equals_hand_worked_pav() {
        let score = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let y = [1.0, 0.0, 0.0, 1.0, 0.0, 1.0];
        // By hand: 1 > 0 pools (1, 0) → 1/2; 1/2 > 0 pools (1, 0, 0) → 1/3; then 1 > 0 pools (1, 0) → 1/2;
        // 1/2 <= 1 stops: blocks (1 of 3), (1 of 2), (1 of 1). Shrunk by a pseudo-row at the rate r = 1/2:
        // 1.5/4, 1.5/3, 1.5/2.
        let Calibrator::Isotonic { x, y: fitted } = fit_isotonic(&score, &y).unwrap() else { panic!() };
        assert_eq!(x, score.to_vec());
        assert_eq!(fitted, vec![0.375, 0.375, 0.375, 0.5, 0.5, 0.75]);
        let c = Calibrator::Isotonic { x, y: fitted };
        assert_eq!(c.apply(0.0), 0.375);
        assert!((c.apply(5.5) - 0.625).abs() < 1e-12);
        assert_eq!(c.apply(9.0), 0.75);
    }

    #[test]
    fn ties_are_pooled() {
        let Calibrator::Isotonic { x, y } = fit_isotonic(&[1.0, 1.0, 2.0], &[1.0, 0.0, 1.0]).unwrap() else { panic!() };
        // Blocks (1 of 2) and (1 of 1) at rate 2/3: (1 + 2/3) / 3 and (1 + 2/3) / 2.
        assert_eq!(x, vec![1.0, 2.0]);
        assert!((y[0] - 5.0 / 9.0).abs() < 1e-12 && (y[1] - 5.0 / 6.0).abs() < 1e-12, "{y:?}");
    }
}
