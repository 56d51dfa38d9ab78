//! Trend significance tests on one series: Mann-Kendall with tie correction and Sen's slope
//! (Mann 1945, Kendall 1975, Sen 1968, as written in Gilbert 1987, "Statistical Methods for Environmental
//! Pollution Monitoring", ch. 16), and the ordinary-least-squares slope with its Student-t interval.
//! Results are checked against pymannkendall's `original_test` and scipy's `linregress`
//! (`tests/reference/trend_tests.py`). Both are O(n²) in pairs, fine for daily series of a few years;
//! no Rust crate offers them with tie correction and Sen intervals, hence our own code.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use crate::error::{Error, Result};

/// Direction of a trend at the chosen significance level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Significant upward trend.
    Increasing,
    /// Significant downward trend.
    Decreasing,
    /// No significant trend.
    NoTrend,
}

impl Direction {
    /// Snake-case name, as in result tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::Increasing => "increasing",
            Self::Decreasing => "decreasing",
            Self::NoTrend => "no_trend",
        }
    }
}

/// The Mann-Kendall test of a series (observations in time order).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MannKendall {
    /// Number of observations.
    pub n: usize,
    /// The statistic S = Σ_{i<j} sign(x_j − x_i).
    pub s: f64,
    /// Variance of S under no trend, corrected for ties.
    pub var_s: f64,
    /// Normal score with continuity correction (0 when S = 0 or the variance is 0).
    pub z: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Kendall's tau = S / (n (n − 1) / 2).
    pub tau: f64,
    /// Direction at the level `alpha` the test was run with.
    pub direction: Direction,
}

/// Sen's slope: the median of the pairwise slopes, with Gilbert's confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SenSlope {
    /// Median pairwise slope (value units per time unit).
    pub slope: f64,
    /// median(x) − slope · median(t).
    pub intercept: f64,
    /// Lower confidence limit of the slope.
    pub lower: f64,
    /// Upper confidence limit of the slope.
    pub upper: f64,
}

/// The ordinary-least-squares slope of x on t.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OlsSlope {
    /// Slope.
    pub slope: f64,
    /// Intercept.
    pub intercept: f64,
    /// Standard error of the slope.
    pub stderr: f64,
    /// Two-sided p-value of slope = 0 (Student t with n − 2 degrees of freedom).
    pub p_value: f64,
    /// Lower limit of the (1 − alpha) confidence interval.
    pub lower: f64,
    /// Upper limit of the (1 − alpha) confidence interval.
    pub upper: f64,
}

fn check(x: &[f64], alpha: f64, min: usize) -> Result<()> {
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(Error::config("alpha", format!("must be in (0, 1), got {alpha}")));
    }
    if x.len() < min {
        return Err(Error::invalid("series", format!("needs at least {min} observations, got {}", x.len())));
    }
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(Error::invalid(format!("series, position {i}"), format!("value {} is not finite", x[i])));
    }
    Ok(())
}

fn standard_normal() -> Result<Normal> {
    Normal::new(0.0, 1.0).map_err(|e| Error::Internal(format!("normal distribution: {e}")))
}

/// Variance of S under the null hypothesis, with the tie correction.
fn variance_s(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mut sorted = x.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut ties = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[i] {
            j += 1;
        }
        let t = (j - i + 1) as f64;
        ties += t * (t - 1.0) * (2.0 * t + 5.0);
        i = j + 1;
    }
    (n * (n - 1.0) * (2.0 * n + 5.0) - ties) / 18.0
}

/// Mann-Kendall test of `x` (in time order) at level `alpha`. Needs 3 finite observations.
pub fn mann_kendall(x: &[f64], alpha: f64) -> Result<MannKendall> {
    check(x, alpha, 3)?;
    let n = x.len();
    let mut s = 0i64;
    for i in 0..n {
        for j in i + 1..n {
            s += match x[j].partial_cmp(&x[i]) {
                Some(std::cmp::Ordering::Greater) => 1,
                Some(std::cmp::Ordering::Less) => -1,
                _ => 0,
            };
        }
    }
    let s = s as f64;
    let var_s = variance_s(x);
    let z = if var_s <= 0.0 || s == 0.0 { 0.0 } else { (s - s.signum()) / var_s.sqrt() };
    let p_value = 2.0 * (1.0 - standard_normal()?.cdf(z.abs()));
    let direction = if p_value > alpha || z == 0.0 {
        Direction::NoTrend
    } else if z > 0.0 {
        Direction::Increasing
    } else {
        Direction::Decreasing
    };
    Ok(MannKendall { n, s, var_s, z, p_value, tau: s / (n as f64 * (n as f64 - 1.0) / 2.0), direction })
}

/// The k-th smallest value (0-based), by selection: O(n) where a sort is O(n log n) (Sen's slope has
/// n(n − 1)/2 slopes).
fn kth(values: &mut [f64], k: usize) -> f64 {
    *values.select_nth_unstable_by(k, f64::total_cmp).1
}

/// The median, leaving `values` partitioned around index n / 2 (smaller before, larger after).
pub(crate) fn median(values: &mut [f64]) -> f64 {
    let n = values.len();
    let upper = kth(values, n / 2);
    if n % 2 == 1 {
        upper
    } else {
        // After the selection, the values before n / 2 are the smaller half: the lower middle is their maximum.
        let lower = values[..n / 2].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lower + upper) / 2.0
    }
}

/// Sen's slope of `x` over times `t` (pairs with equal times are skipped) with Gilbert's (1 − alpha)
/// interval. Needs 3 finite observations and two distinct times.
pub fn sen_slope(t: &[f64], x: &[f64], alpha: f64) -> Result<SenSlope> {
    check(x, alpha, 3)?;
    check(t, alpha, x.len())?;
    if t.len() != x.len() {
        return Err(Error::invalid("series", format!("{} times for {} values", t.len(), x.len())));
    }
    let mut slopes = Vec::with_capacity(x.len() * (x.len() - 1) / 2);
    for i in 0..x.len() {
        for j in i + 1..x.len() {
            if t[j] != t[i] {
                slopes.push((x[j] - x[i]) / (t[j] - t[i]));
            }
        }
    }
    if slopes.is_empty() {
        return Err(Error::invalid("series", "all observations share one time"));
    }
    let slope = median(&mut slopes);
    let intercept = median(&mut x.to_vec()) - slope * median(&mut t.to_vec());
    // Gilbert (1987), eq. 16.9: ranks M1 = (N − C)/2 and M2 + 1 = (N + C)/2 + 1 of the ordered slopes.
    let c = standard_normal()?.inverse_cdf(1.0 - alpha / 2.0) * variance_s(x).sqrt();
    let count = slopes.len() as f64;
    // The median's selection left the slopes partitioned around index n / 2: each bound is selected in
    // its half only.
    let mid = slopes.len() / 2;
    let mut rank = |r: f64| {
        let k = (r.round() as usize).clamp(1, slopes.len()) - 1;
        match k.cmp(&mid) {
            std::cmp::Ordering::Less => kth(&mut slopes[..mid], k),
            std::cmp::Ordering::Equal => slopes[mid],
            std::cmp::Ordering::Greater => kth(&mut slopes[mid + 1..], k - mid - 1),
        }
    };
    let lower = rank((count - c) / 2.0);
    let upper = rank((count + c) / 2.0 + 1.0);
    Ok(SenSlope { slope, intercept, lower, upper })
}

/// OLS slope of `x` on `t` with a (1 − alpha) Student-t interval. Needs 3 finite observations and two
/// distinct times.
pub fn ols_slope(t: &[f64], x: &[f64], alpha: f64) -> Result<OlsSlope> {
    check(x, alpha, 3)?;
    check(t, alpha, x.len())?;
    let n = x.len() as f64;
    let (mt, mx) = (t.iter().sum::<f64>() / n, x.iter().sum::<f64>() / n);
    let sxx: f64 = t.iter().map(|v| (v - mt).powi(2)).sum();
    if sxx == 0.0 {
        return Err(Error::invalid("series", "all observations share one time"));
    }
    let sxy: f64 = t.iter().zip(x).map(|(a, b)| (a - mt) * (b - mx)).sum();
    let slope = sxy / sxx;
    let intercept = mx - slope * mt;
    let sse: f64 = t.iter().zip(x).map(|(a, b)| (b - intercept - slope * a).powi(2)).sum();
    let stderr = (sse / (n - 2.0) / sxx).sqrt();
    let dist = StudentsT::new(0.0, 1.0, n - 2.0).map_err(|e| Error::Internal(format!("t distribution: {e}")))?;
    let p_value = if stderr == 0.0 {
        if slope == 0.0 { 1.0 } else { 0.0 }
    } else {
        2.0 * (1.0 - dist.cdf((slope / stderr).abs()))
    };
    let q = dist.inverse_cdf(1.0 - alpha / 2.0);
    Ok(OlsSlope { slope, intercept, stderr, p_value, lower: slope - q * stderr, upper: slope + q * stderr })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The selection-based median and interval equal the same ranks read off fully sorted slopes.
    #[test]
    fn sen_interval_equals_ranks_of_the_sorted_slopes() {
        let mut state = 11u64;
        for n in [5usize, 12, 40, 157] {
            let x: Vec<f64> = (0..n)
                .map(|i| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    i as f64 * 0.3 + ((state >> 33) % 7) as f64
                })
                .collect();
            let t: Vec<f64> = (0..n).map(|i| i as f64).collect();
            let sen = sen_slope(&t, &x, 0.05).unwrap_or_else(|e| panic!("{e}"));
            let mut slopes: Vec<f64> = (0..n)
                .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
                .map(|(i, j)| (x[j] - x[i]) / (t[j] - t[i]))
                .collect();
            slopes.sort_by(f64::total_cmp);
            let m = slopes.len();
            let median = if m % 2 == 1 { slopes[m / 2] } else { (slopes[m / 2 - 1] + slopes[m / 2]) / 2.0 };
            let c = Normal::new(0.0, 1.0).map(|d| d.inverse_cdf(0.975)).unwrap_or(f64::NAN) * variance_s(&x).sqrt();
            let rank = |r: f64| slopes[(r.round() as usize).clamp(1, m) - 1];
            assert_eq!(sen.slope, median, "n = {n}");
            assert_eq!(sen.lower, rank((m as f64 - c) / 2.0), "n = {n}");
            assert_eq!(sen.upper, rank((m as f64 + c) / 2.0 + 1.0), "n = {n}");
        }
    }
}
