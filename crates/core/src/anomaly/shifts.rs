//! The window detectors: a level or a noise that moved and stayed, and dead feeds. Like the point
//! detectors ([`super::detectors`]) each reads a [`Prepared`] series and returns scores and findings.
//!
//! - [`LevelShift`]: medians of two adjacent windows of the seasonally adjusted series; the difference is
//!   scored against the spread of the same difference over the whole series.
//! - [`VolatilityShift`]: mean absolute remainder (clipped) of two adjacent windows; their ratio.
//! - [`Flatline`]: a dead feed, as missing days inside the series or as a run of one repeated non-zero
//!   value longer than the series' own rate of repeats of that value makes plausible.

use serde::{Deserialize, Serialize};

use super::detectors::{at_least, positive};
use super::{Detection, Detector, Finding, Kind, Prepared, median_mad};
use crate::error::{Error, Result};

/// Running medians of `x` (finite values) over the `w` values before and from each position (NaN where a
/// window falls off the series), from one sorted window slid along the series. Where the outgoing value
/// sits and where the incoming one goes are counts of smaller values (comparisons without branches,
/// which SSE2 does two at a time on `f64`; on total-order integer keys it has no 64-bit compare), and one
/// short shift moves the values between; the data-dependent branches of a search and swaps were most of
/// the detector's time. Zeros count as +0.0, so the order of the window is `f64::total_cmp`'s.
fn window_medians(x: &[f64], w: usize) -> (Vec<f64>, Vec<f64>) {
    let n = x.len();
    let mut medians = vec![f64::NAN; n];
    if n >= w {
        // x + 0.0 turns −0.0 into +0.0 and leaves every other value as it is.
        let values: Vec<f64> = x.iter().map(|v| v + 0.0).collect();
        let mut window: Vec<f64> = values[..w].to_vec();
        window.sort_unstable_by(f64::total_cmp);
        let mid = |v: &[f64]| if w % 2 == 1 { v[w / 2] } else { (v[w / 2 - 1] + v[w / 2]) / 2.0 };
        medians[0] = mid(&window);
        let smaller = |window: &[f64], value: f64| window.iter().map(|v| usize::from(*v < value)).sum::<usize>();
        for start in 1..=n - w {
            let (old, new) = (values[start - 1], values[start + w - 1]);
            // `old` sits at i (the first of its equals); `new` belongs before the j values smaller than it.
            let (i, j) = (smaller(&window, old), smaller(&window, new));
            if j > i {
                window.copy_within(i + 1..j, i);
                window[j - 1] = new;
            } else {
                window.copy_within(j..i, j + 1);
                window[j] = new;
            }
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
        let mut valid: Vec<f64> = Vec::with_capacity(n);
        valid.extend(diff.iter().copied().filter(|d| !d.is_nan()));
        let (centre, spread) = median_mad(&mut valid);
        if spread.is_nan() || spread <= 0.0 {
            return Detection { scores, findings: Vec::new() };
        }
        scores
            .iter_mut()
            .zip(&diff)
            .for_each(|(s, d)| *s = if d.is_nan() { 0.0 } else { ((d - centre) / spread).abs() });
        let findings = peaks(&scores, self.threshold, w)
            .into_iter()
            .map(|i| Finding {
                start: i,
                end: i,
                peak: i,
                kind: Kind::LevelShift,
                score: scores[i],
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
        for (i, score) in scores.iter_mut().enumerate().take(n - w + 1).skip(w) {
            let (b, a) = (mean(i - w, i), mean(i, i + w));
            if !b.is_nan() && !a.is_nan() {
                let ratio = a.max(floor) / b.max(floor);
                *score = ratio.max(1.0 / ratio);
            }
        }
        let findings = peaks(&scores, self.threshold, w)
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

/// A dead feed: every run of missing days inside the series, and runs of one repeated non-zero value whose
/// chance, n · p^(L−1) with p the share of non-zero days followed by the same value, is below `alpha`.
///
/// Zero is left out: a run of zeros says nobody used the product, which is usage, not a stuck feed; the
/// count model judges it (a drop when it is unusual for the account, a level shift when it lasts), and
/// zero repeats of a quiet series would otherwise make a stuck non-zero counter look ordinary.
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
        let nonzero_pairs = || o.windows(2).filter(|w| !w[1].is_nan() && !w[0].is_nan() && w[0] != 0.0);
        let pairs = nonzero_pairs().count();
        let equal = nonzero_pairs().filter(|w| w[0] == w[1]).count();
        let p = (equal as f64 + 1.0) / (pairs as f64 + 2.0);
        let mut i = 0;
        while i < n {
            let start = i;
            while i + 1 < n && !o[i].is_nan() && o[i + 1] == o[i] {
                i += 1;
            }
            let len = i - start + 1;
            if len >= self.min_run && o[start] != 0.0 {
                let chance = n as f64 * repeat_rate(o, start, i, p).powi(len as i32 - 1);
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

/// The chance that the value of the run `o[start..=end]` repeats from one day to the next, judged from
/// the other days with that value (the run and the day it ends on left out): (repeats + 2·p) / (days
/// followed by a value + 2). A value the series never shows elsewhere gets the series' overall rate `p`;
/// a value it often sits at (all seats in use, a usage cap) gets its own, higher rate.
fn repeat_rate(o: &[f64], start: usize, end: usize, p: f64) -> f64 {
    let value = o[start];
    let (mut pairs, mut equal) = (0usize, 0usize);
    for (t, w) in o.windows(2).enumerate() {
        if (t < start || t > end) && w[0] == value && !w[1].is_nan() {
            pairs += 1;
            equal += usize::from(w[1] == value);
        }
    }
    (equal as f64 + 2.0 * p) / (pairs as f64 + 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anomaly::detectors::tests::{noisy, prepared};

    #[test]
    fn sliding_medians_equal_selection() {
        // Distinct values, and values with many ties (rounded to 20s, with a zero of each sign).
        let mut tied: Vec<f64> = noisy(60).iter().map(|v| (v / 20.0).round() * 20.0).collect();
        (tied[5], tied[6]) = (0.0, -0.0);
        for (x, w) in [(noisy(40), 3), (noisy(40), 4), (noisy(40), 7), (tied.clone(), 14), (tied, 5)] {
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
    fn window_detectors_find_their_patterns() {
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
        // A run of zeros is no activity, not a stuck feed (the count model judges it); the quiet days'
        // repeated zeros do not hide a stuck non-zero value either.
        let mut v = noisy(120);
        v.iter_mut().step_by(3).for_each(|x| *x = 0.0);
        v[20..40].iter_mut().for_each(|x| *x = 0.0);
        v[80..95].iter_mut().for_each(|x| *x = 42.0);
        let f = Flatline::default().detect(&prepared(&v)).findings;
        assert_eq!(f.iter().map(|f| (f.start, f.end, f.kind)).collect::<Vec<_>>(), [(80, 94, Kind::Flatline)]);
    }

    #[test]
    fn a_value_the_series_often_sits_at_is_not_a_stuck_feed() {
        // Four short stays at a cap of 95 (3 repeats in 4 days followed by a value each), then 8 days at it.
        let mut v = noisy(140);
        for start in [10, 30, 50, 70] {
            v[start..start + 4].iter_mut().for_each(|x| *x = 95.0);
        }
        let mut capped = v.clone();
        capped[100..108].iter_mut().for_each(|x| *x = 95.0);
        // Overall: 12 + 7 repeats in 139 pairs; at 95, leaving the run out: 12 in 16.
        let p = (19.0 + 1.0) / (139.0 + 2.0);
        assert!((repeat_rate(&capped, 100, 107, p) - (12.0 + 2.0 * p) / 18.0).abs() < 1e-15);
        assert!(Flatline::default().detect(&prepared(&capped)).findings.is_empty());
        // The same run at a value seen nowhere else is improbable at the overall rate.
        let mut stuck = v;
        stuck[100..108].iter_mut().for_each(|x| *x = 42.0);
        let f = Flatline::default().detect(&prepared(&stuck)).findings;
        assert_eq!(f.iter().map(|f| (f.start, f.end, f.kind)).collect::<Vec<_>>(), [(100, 107, Kind::Flatline)]);
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
