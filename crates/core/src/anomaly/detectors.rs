//! The point detectors: each reads a [`Prepared`] series (observed values, STL baseline, robust scale)
//! and returns a score per day and its findings (spikes and drops). The window detectors (shifts, dead
//! feeds) are in [`super::shifts`].
//!
//! - [`ResidualMad`]: the remainder in robust standard deviations, |z| ≥ threshold (the robust z-score of
//!   Iglewicz & Hoaglin 1993 on the STL remainder).
//! - [`Shesd`]: Seasonal Hybrid ESD (Hochenbaum, Vallis & Kejariwal 2017, Twitter's AnomalyDetection):
//!   Rosner's generalized ESD test with the median and MAD on the deseasonalised series minus a piecewise
//!   median (their "long-term" variant, so a trend does not hide anomalies). One deviation: the series
//!   tested is the baseline's standardised remainder ([`Prepared::z`]) rather than raw values, so the
//!   test sees counts on a variance-stabilised scale and a quiet day of a three-person team is not an
//!   outlier just because it is a zero.

use std::cell::RefCell;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use super::{Detection, Detector, Finding, Kind, Prepared, from_total_order_key, total_order_key};
use crate::error::{Error, Result};

/// `value` is a finite number above 0, or a config error naming `anomaly.<field>`.
pub(super) fn positive(field: &str, value: f64) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Error::config(format!("anomaly.{field}"), format!("must be a finite number > 0, got {value}")))
    }
}

/// `value` is at least `min`, or a config error naming `anomaly.<field>`.
pub(super) fn at_least(field: &str, value: usize, min: usize) -> Result<()> {
    if value >= min {
        Ok(())
    } else {
        Err(Error::config(format!("anomaly.{field}"), format!("must be at least {min}, got {value}")))
    }
}

/// Groups consecutive flagged positions with the same sign into findings; `value` gives the signed
/// strength, `flagged` the positions over the threshold.
fn runs(series: &Prepared, strength: &[f64], flagged: impl Fn(usize) -> bool, threshold: f64) -> Vec<Finding> {
    let mut findings: Vec<Finding> = Vec::new();
    for i in (0..series.len()).filter(|&i| flagged(i)) {
        let kind = if strength[i] > 0.0 { Kind::Spike } else { Kind::Drop };
        match findings.last_mut() {
            Some(f) if f.end + 1 == i && f.kind == kind => {
                f.end = i;
                if strength[i].abs() > f.score {
                    (f.peak, f.score, f.expected, f.observed) =
                        (i, strength[i].abs(), series.expected[i], series.observed[i]);
                }
            }
            _ => findings.push(Finding {
                start: i,
                end: i,
                peak: i,
                kind,
                score: strength[i].abs(),
                threshold,
                expected: series.expected[i],
                observed: series.observed[i],
            }),
        }
    }
    findings
}

/// Robust z-score of the STL remainder: a day is anomalous when |z| ≥ `threshold`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResidualMad {
    /// |z| at or above which a day is anomalous (robust standard deviations).
    pub threshold: f64,
}

impl Default for ResidualMad {
    fn default() -> Self {
        Self { threshold: 6.5 }
    }
}

impl ResidualMad {
    /// Checks the threshold.
    pub fn validate(&self) -> Result<()> {
        positive("residual.threshold", self.threshold)
    }
}

impl Detector for ResidualMad {
    fn name(&self) -> &'static str {
        "residual"
    }

    fn threshold(&self) -> f64 {
        self.threshold
    }

    fn detect(&self, s: &Prepared) -> Detection {
        let z: Vec<f64> = (0..s.len()).map(|i| s.z[i]).collect();
        let findings = runs(s, &z, |i| z[i].abs() >= self.threshold, self.threshold);
        Detection { scores: z.iter().map(|v| v.abs()).collect(), findings }
    }
}

/// Seasonal Hybrid ESD; see the module documentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Shesd {
    /// Significance level of each ESD step.
    pub alpha: f64,
    /// Most anomalies tested, as a share of the observed days (Twitter's `max_anoms`).
    pub max_anoms: f64,
    /// Length in days of the pieces whose median is removed (Twitter: two weeks).
    pub piece_days: usize,
}

impl Default for Shesd {
    fn default() -> Self {
        Self { alpha: 0.001, max_anoms: 0.02, piece_days: 14 }
    }
}

impl Shesd {
    /// Checks the fields.
    pub fn validate(&self) -> Result<()> {
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(Error::config("anomaly.shesd.alpha", format!("must be in (0, 1), got {}", self.alpha)));
        }
        if !(self.max_anoms > 0.0 && self.max_anoms <= 0.49) {
            return Err(Error::config(
                "anomaly.shesd.max_anoms",
                format!("must be in (0, 0.49], got {}", self.max_anoms),
            ));
        }
        at_least("shesd.piece_days", self.piece_days, 7)
    }
}

thread_local! {
    /// ESD critical values by (observations, step, alpha bits): the t quantile is the costly part.
    static LAMBDA: RefCell<HashMap<(usize, usize, u64), f64>> = RefCell::new(HashMap::new());
}

/// Rosner's critical value λ_i for step `i` (1-based) of n observations.
pub(crate) fn esd_lambda(n: usize, i: usize, alpha: f64) -> f64 {
    LAMBDA.with(|cache| {
        *cache.borrow_mut().entry((n, i, alpha.to_bits())).or_insert_with(|| {
            let (nf, fi) = (n as f64, i as f64);
            let df = nf - fi - 1.0;
            if df < 1.0 {
                return f64::INFINITY;
            }
            let p = 1.0 - alpha / (2.0 * (nf - fi + 1.0));
            let t = StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |d| d.inverse_cdf(p));
            (nf - fi) * t / ((df + t * t) * (nf - fi + 1.0)).sqrt()
        })
    })
}

impl Detector for Shesd {
    fn name(&self) -> &'static str {
        "shesd"
    }

    fn threshold(&self) -> f64 {
        1.0
    }

    /// Scores are the first step's |x − median| / MAD divided by the first critical value λ₁; findings
    /// carry each flagged day's own test statistic and critical value.
    fn detect(&self, s: &Prepared) -> Detection {
        let n = s.len();
        let mut x = vec![f64::NAN; n];
        let mut piece_z = Vec::with_capacity(self.piece_days);
        for piece in (0..n).step_by(self.piece_days) {
            let end = (piece + self.piece_days).min(n);
            piece_z.clear();
            piece_z.extend((piece..end).filter(|&i| !s.observed[i].is_nan()).map(|i| s.z[i]));
            if piece_z.is_empty() {
                continue;
            }
            let median = crate::trend::significance::median(&mut piece_z);
            for i in (piece..end).filter(|&i| !s.observed[i].is_nan()) {
                x[i] = s.z[i] - median;
            }
        }
        // Sorted once: each step removes the most extreme remaining value, which is at one end. Sorted as
        // one integer per day: the value's total-order key (sign bit flipped to order as unsigned) above
        // the day, so the order is total_cmp's, ties by day.
        let mut keys: Vec<u128> = Vec::with_capacity(n);
        keys.extend(
            (0..n)
                .filter(|&i| !x[i].is_nan())
                .map(|i| u128::from(total_order_key(x[i]) as u64 ^ (1 << 63)) << 64 | i as u128),
        );
        keys.sort_unstable();
        let sorted: Vec<(f64, usize)> = keys
            .iter()
            .map(|k| (from_total_order_key(((k >> 64) as u64 ^ (1 << 63)) as i64), *k as u64 as usize))
            .collect();
        let values: Vec<f64> = sorted.iter().map(|v| v.0).collect();
        let m = values.len();
        let k = ((self.max_anoms * m as f64).floor() as usize).max(1);
        let mut scores = vec![0.0; n];
        let mut steps: Vec<(usize, f64, f64)> = Vec::with_capacity(k);
        let mut accepted = 0;
        let (mut lo, mut hi) = (0, m);
        for step in 1..=k.min(m.saturating_sub(2)) {
            let (median, mad) = sorted_median_mad(&values[lo..hi]);
            if mad <= 0.0 {
                break;
            }
            let lambda = esd_lambda(m, step, self.alpha);
            if step == 1 {
                sorted.iter().for_each(|&(v, i)| scores[i] = (v - median).abs() / mad / lambda);
            }
            let low = (median - values[lo]).abs();
            let high = (values[hi - 1] - median).abs();
            let pick = if high >= low { hi - 1 } else { lo };
            let r = (values[pick] - median).abs() / mad;
            steps.push((sorted[pick].1, (values[pick] - median) / mad, lambda));
            if r > lambda {
                accepted = step;
            }
            if pick == lo {
                lo += 1;
            } else {
                hi -= 1;
            }
        }
        let mut flagged: Vec<(usize, f64, f64)> = steps[..accepted].to_vec();
        flagged.sort_by_key(|f| f.0);
        let mut strength = vec![0.0; n];
        let mut threshold_at = vec![1.0; n];
        for &(i, r, lambda) in &flagged {
            strength[i] = r;
            threshold_at[i] = lambda;
        }
        let mut findings = runs(s, &strength, |i| strength[i] != 0.0, 1.0);
        for f in &mut findings {
            f.threshold = threshold_at[f.peak];
        }
        Detection { scores, findings }
    }
}

/// [`median_mad`] of sorted values without reordering them, in O(log² n): the deviations from the
/// median are two sorted sequences (going left and going right from it), and the k-th smallest of two
/// sorted sequences is found by bisection.
fn sorted_median_mad(v: &[f64]) -> (f64, f64) {
    let m = v.len();
    if m == 0 {
        return (f64::NAN, f64::NAN);
    }
    let median = if m % 2 == 1 { v[m / 2] } else { (v[m / 2 - 1] + v[m / 2]) / 2.0 };
    let split = v.partition_point(|x| *x < median);
    let left = |i: usize| median - v[split - 1 - i];
    let right = |i: usize| v[split + i] - median;
    let (nl, nr) = (split, m - split);
    // The k-th smallest (0-based) of left(0..nl) and right(0..nr), both ascending: take i from the left
    // and k + 1 − i from the right, with i the smallest count for which left(i) is past the answer.
    let kth = |k: usize| {
        let (mut lo, mut hi) = ((k + 1).saturating_sub(nr), (k + 1).min(nl));
        while lo < hi {
            let i = (lo + hi) / 2;
            // i from the left, k + 1 − i from the right: too few from the left if left(i) < right(k − i).
            if left(i) < right(k - i) { lo = i + 1 } else { hi = i }
        }
        let i = lo;
        let a = if i > 0 { left(i - 1) } else { f64::NEG_INFINITY };
        let b = if k + 1 - i > 0 { right(k - i) } else { f64::NEG_INFINITY };
        a.max(b)
    };
    let mad = if m % 2 == 1 { kth(m / 2) } else { (kth(m / 2 - 1) + kth(m / 2)) / 2.0 };
    if mad > 0.0 {
        (median, 1.4826 * mad)
    } else {
        let mean_abs = v.iter().map(|x| (x - median).abs()).sum::<f64>() / m as f64;
        (median, mean_abs * (std::f64::consts::PI / 2.0).sqrt())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::anomaly::{BaselineConfig, median_mad};
    use crate::trend::series::Points;

    pub(crate) fn prepared(v: &[f64]) -> Prepared {
        let t: Vec<f64> = (0..v.len()).map(|i| i as f64).filter(|i| !v[*i as usize].is_nan()).collect();
        let vals: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
        Prepared::new(&Points { t, v: vals, notes: vec![] }, &BaselineConfig::default()).expect("prepares")
    }

    pub(crate) fn noisy(n: usize) -> Vec<f64> {
        crate::anomaly::weekly_series(n, 7)
    }

    #[test]
    fn sorted_median_mad_equals_selection() {
        for n in [1, 2, 3, 4, 5, 10, 11, 57, 200] {
            let mut v = noisy(n);
            v.iter_mut().enumerate().for_each(|(i, x)| *x = (*x * 7.0).round() + if i % 5 == 0 { 40.0 } else { 0.0 });
            let mut sorted = v.clone();
            sorted.sort_by(f64::total_cmp);
            let (a, b) = (sorted_median_mad(&sorted), median_mad(&mut v));
            assert!((a.0 - b.0).abs() < 1e-12 && (a.1 - b.1).abs() < 1e-12, "n {n}: {a:?} {b:?}");
        }
    }

    #[test]
    fn rosner_critical_values() {
        // Rosner (1983), table 1 / NIST handbook example: n = 54, alpha = 0.05: 3.159, 3.151, 3.143.
        for (i, want) in [(1, 3.159), (2, 3.151), (3, 3.143)] {
            assert!((esd_lambda(54, i, 0.05) - want).abs() < 1e-3, "step {i}: {}", esd_lambda(54, i, 0.05));
        }
    }

    #[test]
    fn each_detector_finds_its_pattern() {
        let mut v = noisy(140);
        v[60] = 900.0;
        v[61] = 700.0;
        v[90] = 1.0;
        let s = prepared(&v);
        let f = ResidualMad::default().detect(&s).findings;
        assert_eq!(
            f.iter().map(|f| (f.start, f.end, f.kind)).collect::<Vec<_>>(),
            [(60, 61, Kind::Spike), (90, 90, Kind::Drop)]
        );
        let f = Shesd { max_anoms: 0.05, ..Shesd::default() }.detect(&s).findings;
        assert!(f.iter().any(|f| f.start == 60 && f.kind == Kind::Spike));
        assert!(f.iter().any(|f| f.start == 90 && f.kind == Kind::Drop));
    }
}
