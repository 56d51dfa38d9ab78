//! The batch detectors. Each reads a [`Prepared`] series (observed values, STL baseline, robust scale)
//! and returns a score per day and its findings.
//!
//! - [`ResidualMad`]: the remainder in robust standard deviations, |z| ≥ threshold (the robust z-score of
//!   Iglewicz & Hoaglin 1993 on the STL remainder).
//! - [`Shesd`]: Seasonal Hybrid ESD (Hochenbaum, Vallis & Kejariwal 2017, Twitter's AnomalyDetection):
//!   Rosner's generalized ESD test with the median and MAD on the deseasonalised series minus a piecewise
//!   median (their "long-term" variant, so a trend does not hide anomalies). One deviation: the series
//!   tested is the baseline's standardised remainder ([`Prepared::z`]) rather than raw values, so the
//!   test sees counts on a variance-stabilised scale and a quiet day of a three-person team is not an
//!   outlier just because it is a zero.
//! - [`LevelShift`]: medians of two adjacent windows of the seasonally adjusted series; the difference is
//!   scored against the spread of the same difference over the whole series.
//! - [`VolatilityShift`]: mean absolute remainder (clipped) of two adjacent windows; their ratio.
//! - [`Flatline`]: a dead feed, as missing days inside the series or as a run of one repeated value
//!   longer than the series' own rate of repeats makes plausible.

use std::cell::RefCell;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use super::{Detection, Detector, Finding, Kind, Prepared, median_mad};
use crate::error::{Error, Result};

fn positive(field: &str, value: f64) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Error::config(format!("anomaly.{field}"), format!("must be a finite number > 0, got {value}")))
    }
}

fn at_least(field: &str, value: usize, min: usize) -> Result<()> {
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
        Self { threshold: 6.0 }
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
        for piece in (0..n).step_by(self.piece_days) {
            let end = (piece + self.piece_days).min(n);
            let mut z: Vec<f64> = (piece..end).filter(|&i| !s.observed[i].is_nan()).map(|i| s.z[i]).collect();
            if z.is_empty() {
                continue;
            }
            let median = crate::trend::significance::median(&mut z);
            for i in (piece..end).filter(|&i| !s.observed[i].is_nan()) {
                x[i] = s.z[i] - median;
            }
        }
        // Sorted once: each step removes the most extreme remaining value, which is at one end.
        let mut sorted: Vec<(f64, usize)> = (0..n).filter(|&i| !x[i].is_nan()).map(|i| (x[i], i)).collect();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
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

/// Running medians of `x` over the `w` values before and from each position (NaN where a window falls
/// off the series), from one sorted window slid along the series (O(n·w) moves, no selection).
fn window_medians(x: &[f64], w: usize) -> (Vec<f64>, Vec<f64>) {
    let n = x.len();
    let mut medians = vec![f64::NAN; n];
    if n >= w {
        let mut window: Vec<f64> = x[..w].to_vec();
        window.sort_by(f64::total_cmp);
        let mid = |v: &[f64]| if w % 2 == 1 { v[w / 2] } else { (v[w / 2 - 1] + v[w / 2]) / 2.0 };
        medians[0] = mid(&window);
        for start in 1..=n - w {
            let out = window.partition_point(|v| v.total_cmp(&x[start - 1]).is_lt());
            window.remove(out);
            let at = window.partition_point(|v| v.total_cmp(&x[start + w - 1]).is_lt());
            window.insert(at, x[start + w - 1]);
            medians[start] = mid(&window);
        }
    }
    // before[i] = median(x[i-w..i]) = medians[i-w]; after[i] = median(x[i..i+w]) = medians[i].
    let before = (0..n).map(|i| if i >= w { medians[i - w] } else { f64::NAN }).collect();
    (before, medians)
}

/// Picks local maxima of |score| at or above `threshold`, strongest first, at least `w` apart.
fn peaks(score: &[f64], threshold: f64, w: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..score.len()).filter(|&i| score[i].abs() >= threshold).collect();
    order.sort_by(|&a, &b| score[b].abs().total_cmp(&score[a].abs()).then(a.cmp(&b)));
    let mut chosen: Vec<usize> = Vec::new();
    for i in order {
        if chosen.iter().all(|&c| c.abs_diff(i) >= w) {
            chosen.push(i);
        }
    }
    chosen.sort_unstable();
    chosen
}

/// A change of level that stays: median of the `window` days from a day minus the median of the
/// `window` days before it, in robust standard deviations of that same difference across the series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LevelShift {
    /// Days in each of the two windows.
    pub window: usize,
    /// Standardised difference at or above which a day starts a new level.
    pub threshold: f64,
}

impl Default for LevelShift {
    fn default() -> Self {
        Self { window: 14, threshold: 5.0 }
    }
}

impl LevelShift {
    /// Checks the fields.
    pub fn validate(&self) -> Result<()> {
        at_least("level_shift.window", self.window, 3)?;
        positive("level_shift.threshold", self.threshold)
    }
}

impl Detector for LevelShift {
    fn name(&self) -> &'static str {
        "level_shift"
    }

    fn threshold(&self) -> f64 {
        self.threshold
    }

    /// Findings are one day long (the first day of the new level); `expected` is the level before and
    /// `observed` the level after, both seasonally adjusted on the original scale.
    fn detect(&self, s: &Prepared) -> Detection {
        let (n, w) = (s.len(), self.window);
        let mut scores = vec![0.0; n];
        if n < 3 * w {
            return Detection { scores, findings: Vec::new() };
        }
        let adjusted: Vec<f64> = (0..n).map(|i| s.y[i] - s.seasonal[i]).collect();
        let (before, after) = window_medians(&adjusted, w);
        let diff: Vec<f64> = (0..n).map(|i| after[i] - before[i]).collect();
        let mut valid: Vec<f64> = diff.iter().copied().filter(|d| !d.is_nan()).collect();
        let (centre, spread) = median_mad(&mut valid);
        if spread.is_nan() || spread <= 0.0 {
            return Detection { scores, findings: Vec::new() };
        }
        let z: Vec<f64> = diff.iter().map(|d| if d.is_nan() { 0.0 } else { (d - centre) / spread }).collect();
        scores.iter_mut().zip(&z).for_each(|(s, z)| *s = z.abs());
        let findings = peaks(&z, self.threshold, w)
            .into_iter()
            .map(|i| Finding {
                start: i,
                end: i,
                peak: i,
                kind: Kind::LevelShift,
                score: z[i].abs(),
                threshold: self.threshold,
                expected: s.original(before[i]),
                observed: s.original(after[i]),
            })
            .collect();
        Detection { scores, findings }
    }
}

/// A change of noise that stays: the mean absolute remainder (clipped at `clip` robust standard
/// deviations, so one spike does not count as volatility) of the `window` days from a day over the same
/// of the `window` days before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VolatilityShift {
    /// Days in each of the two windows.
    pub window: usize,
    /// Ratio (or its inverse) at or above which the noise changed.
    pub threshold: f64,
    /// Remainders are clipped at this many robust standard deviations.
    pub clip: f64,
}

impl Default for VolatilityShift {
    fn default() -> Self {
        Self { window: 28, threshold: 2.5, clip: 4.0 }
    }
}

impl VolatilityShift {
    /// Checks the fields.
    pub fn validate(&self) -> Result<()> {
        at_least("volatility_shift.window", self.window, 7)?;
        if !(self.threshold > 1.0 && self.threshold.is_finite()) {
            return Err(Error::config(
                "anomaly.volatility_shift.threshold",
                format!("must be > 1, got {}", self.threshold),
            ));
        }
        positive("volatility_shift.clip", self.clip)
    }
}

impl Detector for VolatilityShift {
    fn name(&self) -> &'static str {
        "volatility_shift"
    }

    fn threshold(&self) -> f64 {
        self.threshold
    }

    /// Scores are max(ratio, 1 / ratio); `expected` and `observed` are the robust standard deviations of
    /// the remainder before and after (transformed scale: relative noise under log1p).
    fn detect(&self, s: &Prepared) -> Detection {
        let (n, w) = (s.len(), self.window);
        let mut scores = vec![0.0; n];
        if n < 3 * w {
            return Detection { scores, findings: Vec::new() };
        }
        let mut sum = vec![0.0; n + 1];
        let mut count = vec![0usize; n + 1];
        for i in 0..n {
            let observed = !s.observed[i].is_nan();
            let r = if observed { (s.z[i].abs()).min(self.clip) } else { 0.0 };
            sum[i + 1] = sum[i] + r;
            count[i + 1] = count[i] + usize::from(observed);
        }
        let mean = |a: usize, b: usize| {
            let c = count[b] - count[a];
            if 2 * c < b - a { f64::NAN } else { (sum[b] - sum[a]) / c as f64 }
        };
        let floor = 0.05;
        let mut log_ratio = vec![0.0; n];
        for i in w..=n - w {
            let (b, a) = (mean(i - w, i), mean(i, i + w));
            if !b.is_nan() && !a.is_nan() {
                log_ratio[i] = (a.max(floor) / b.max(floor)).ln();
                scores[i] = log_ratio[i].abs().exp();
            }
        }
        let findings = peaks(&log_ratio, self.threshold.ln(), w)
            .into_iter()
            .map(|i| {
                let sd = |a: usize, b: usize| mean(a, b) * (std::f64::consts::PI / 2.0).sqrt() * s.scale;
                Finding {
                    start: i,
                    end: i,
                    peak: i,
                    kind: Kind::VolatilityShift,
                    score: scores[i],
                    threshold: self.threshold,
                    expected: sd(i - w, i),
                    observed: sd(i, i + w),
                }
            })
            .collect();
        Detection { scores, findings }
    }
}

/// A dead feed: every run of missing days inside the series, and runs of one repeated value whose
/// chance, n · p^(L−1) with p the series' share of consecutive equal values, is below `alpha`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Flatline {
    /// Shortest run of one value that can be reported.
    pub min_run: usize,
    /// Largest expected number of such runs in a healthy series of this length.
    pub alpha: f64,
}

impl Default for Flatline {
    fn default() -> Self {
        Self { min_run: 5, alpha: 0.01 }
    }
}

impl Flatline {
    /// Checks the fields.
    pub fn validate(&self) -> Result<()> {
        at_least("flatline.min_run", self.min_run, 3)?;
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(Error::config("anomaly.flatline.alpha", format!("must be in (0, 1), got {}", self.alpha)));
        }
        Ok(())
    }
}

impl Detector for Flatline {
    fn name(&self) -> &'static str {
        "flatline"
    }

    fn threshold(&self) -> f64 {
        1.0
    }

    /// Missing runs score their length in days (threshold 1); flat runs score log10(alpha / chance) + 1,
    /// so a run exactly at the significance level scores 1.
    fn detect(&self, s: &Prepared) -> Detection {
        let n = s.len();
        let o = &s.observed;
        let mut scores = vec![0.0; n];
        let mut findings = Vec::new();
        let mut i = 0;
        while i < n {
            if o[i].is_nan() {
                let start = i;
                while i < n && o[i].is_nan() {
                    i += 1;
                }
                let days = (i - start) as f64;
                scores[start..i].fill(days);
                findings.push(Finding {
                    start,
                    end: i - 1,
                    peak: start,
                    kind: Kind::Missing,
                    score: days,
                    threshold: 1.0,
                    expected: s.expected[start],
                    observed: f64::NAN,
                });
            } else {
                i += 1;
            }
        }
        let pairs = o.windows(2).filter(|w| !w[0].is_nan() && !w[1].is_nan()).count();
        let equal = o.windows(2).filter(|w| w[0] == w[1]).count();
        let p = (equal as f64 + 1.0) / (pairs as f64 + 2.0);
        let mut i = 0;
        while i < n {
            let start = i;
            while i + 1 < n && !o[i].is_nan() && o[i + 1] == o[i] {
                i += 1;
            }
            let len = i - start + 1;
            if len >= self.min_run {
                let chance = n as f64 * p.powi(len as i32 - 1);
                if chance < self.alpha {
                    let score = (self.alpha / chance).log10() + 1.0;
                    scores[start..=i].fill(score);
                    findings.push(Finding {
                        start,
                        end: i,
                        peak: start,
                        kind: Kind::Flatline,
                        score,
                        threshold: 1.0,
                        expected: s.expected[start],
                        observed: o[start],
                    });
                }
            }
            i += 1;
        }
        findings.sort_by_key(|f| f.start);
        Detection { scores, findings }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anomaly::BaselineConfig;
    use crate::trend::series::Points;

    fn prepared(v: &[f64]) -> Prepared {
        let t: Vec<f64> = (0..v.len()).map(|i| i as f64).filter(|i| !v[*i as usize].is_nan()).collect();
        let vals: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
        Prepared::new(&Points { t, v: vals, notes: vec![] }, &BaselineConfig::default()).expect("prepares")
    }

    fn noisy(n: usize) -> Vec<f64> {
        crate::anomaly::weekly_series(n, 7)
    }

    #[test]
    fn sliding_medians_equal_selection() {
        let x = noisy(40);
        for w in [3, 4, 7] {
            let (before, after) = window_medians(&x, w);
            for i in 0..x.len() {
                let direct = |a: usize, b: usize| crate::trend::significance::median(&mut x[a..b].to_vec());
                let want_after = if i + w <= x.len() { direct(i, i + w) } else { f64::NAN };
                let want_before = if i >= w { direct(i - w, i) } else { f64::NAN };
                assert!(after[i] == want_after || (after[i].is_nan() && want_after.is_nan()), "w {w} i {i}");
                assert!(before[i] == want_before || (before[i].is_nan() && want_before.is_nan()), "w {w} i {i}");
            }
        }
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

        let mut v = noisy(140);
        v[70..].iter_mut().for_each(|x| *x *= 0.4);
        let f = LevelShift::default().detect(&prepared(&v)).findings;
        assert_eq!(f.len(), 1);
        assert!((f[0].start as i64 - 70).abs() <= 1, "{f:?}");
        assert!(f[0].observed < 0.6 * f[0].expected);

        let mut v = noisy(120);
        v[50..54].iter_mut().for_each(|x| *x = f64::NAN);
        v[80..95].iter_mut().for_each(|x| *x = 42.0);
        let f = Flatline::default().detect(&prepared(&v)).findings;
        assert_eq!(
            f.iter().map(|f| (f.start, f.end, f.kind)).collect::<Vec<_>>(),
            [(50, 53, Kind::Missing), (80, 94, Kind::Flatline)]
        );
    }

    #[test]
    fn volatility_shift_is_found() {
        let v: Vec<f64> = noisy(168)
            .iter()
            .enumerate()
            .map(|(i, x)| if i >= 84 { x * (4.0 * (x / if i % 7 >= 5 { 30.0 } else { 100.0 }).ln()).exp() } else { *x })
            .collect();
        let f = VolatilityShift::default().detect(&prepared(&v)).findings;
        assert_eq!(f.len(), 1, "{f:?}");
        assert!((f[0].start as i64 - 84).abs() <= 7, "{f:?}");
        assert!(f[0].observed > 2.5 * f[0].expected, "{f:?}");
    }
}
