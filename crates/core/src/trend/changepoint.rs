//! Change points by PELT (Killick, Fearnhead & Eckley 2012, "Optimal detection of changepoints with a
//! linear computational cost", JASA 107(500)): the segmentation minimising the sum of segment costs plus a
//! penalty per change, found exactly, with candidates pruned when they can no longer be optimal.
//!
//! Costs are twice the negative Gaussian log-likelihood of a segment (constants dropped), as in the R
//! package `changepoint`: `mean` (change in mean, variance σ² common and estimated robustly from the first
//! differences, σ = 1.4826 · MAD(Δx) / √2, so steps do not inflate it) and `mean_var` (change in mean and
//! variance). The default penalty is BIC, (parameters per segment + 1) · ln n. Checked against an
//! exhaustive search over every segmentation of short series (unit tests). No maintained Rust crate
//! implements PELT with these costs and a minimum segment length; it is a few dozen lines.

use serde::{Deserialize, Serialize};

use super::significance::median;
use crate::error::{Error, Result};

/// The cost of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cost {
    /// Change in mean with a common variance.
    #[default]
    Mean,
    /// Change in mean and variance.
    MeanVar,
}

/// PELT parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PeltParams {
    /// Segment cost.
    pub cost: Cost,
    /// Penalty per change point; default BIC: 2 ln n for `mean`, 3 ln n for `mean_var`.
    pub penalty: Option<f64>,
    /// Shortest segment, in observations (at least 1 for `mean`, 2 for `mean_var`).
    pub min_size: usize,
    /// For `mean`: scale by the long-run variance σ²(1 + ρ) / (1 − ρ) instead of σ², with the lag-1
    /// autocorrelation ρ read from the first differences (their lag-1 autocorrelation is −(1 − ρ) / 2
    /// for an AR(1) series). Usage wanders from week to week; without this, every wander is a change
    /// (Lavielle & Moulines 2000; Romano et al. 2022, "Detecting abrupt changes in the presence of local
    /// fluctuations and autocorrelated noise"). Default true.
    pub long_run_variance: bool,
}

impl Default for PeltParams {
    fn default() -> Self {
        Self { cost: Cost::Mean, penalty: None, min_size: 2, long_run_variance: true }
    }
}

/// A segment between change points: `start..end` (end exclusive) with its level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Segment {
    /// First index of the segment.
    pub start: usize,
    /// One past the last index.
    pub end: usize,
    /// Mean of the segment.
    pub mean: f64,
    /// Standard deviation of the segment (population, as the cost uses it).
    pub sd: f64,
}

/// Prefix sums for O(1) segment costs.
struct Costs {
    s1: Vec<f64>,
    s2: Vec<f64>,
    cost: Cost,
    /// 1 / σ² for `mean`.
    inv_var: f64,
    /// Smallest variance a `mean_var` segment may have (a constant stretch would cost −∞).
    var_floor: f64,
}

impl Costs {
    fn new(x: &[f64], cost: Cost, long_run: bool) -> Self {
        let mut s1 = Vec::with_capacity(x.len() + 1);
        let mut s2 = Vec::with_capacity(x.len() + 1);
        let (mut a, mut b) = (0.0, 0.0);
        s1.push(0.0);
        s2.push(0.0);
        for v in x {
            a += v;
            b += v * v;
            s1.push(a);
            s2.push(b);
        }
        let n = x.len() as f64;
        let total_var = ((b - a * a / n) / n).max(0.0);
        let sigma = robust_sigma(x);
        let mut var = if sigma > 0.0 { sigma * sigma } else { total_var };
        if long_run && sigma > 0.0 {
            let rho = (1.0 + 2.0 * difference_autocorrelation(x)).clamp(0.0, 0.95);
            var *= (1.0 + rho) / ((1.0 - rho) * (1.0 - rho));
        }
        Self {
            s1,
            s2,
            cost,
            inv_var: if var > 0.0 { 1.0 / var } else { 0.0 },
            var_floor: (total_var * 1e-8).max(1e-300),
        }
    }

    /// Cost of x[a..b].
    fn cost(&self, a: usize, b: usize) -> f64 {
        let m = (b - a) as f64;
        let sum = self.s1[b] - self.s1[a];
        let ss = ((self.s2[b] - self.s2[a]) - sum * sum / m).max(0.0);
        match self.cost {
            Cost::Mean => ss * self.inv_var,
            Cost::MeanVar => m * ((2.0 * std::f64::consts::PI * (ss / m).max(self.var_floor)).ln() + 1.0),
        }
    }
}

/// σ estimated from first differences: 1.4826 · MAD(Δx) / √2.
fn robust_sigma(x: &[f64]) -> f64 {
    if x.len() < 3 {
        return 0.0;
    }
    let mut d: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
    let med = median(&mut d);
    let mut dev: Vec<f64> = d.iter().map(|v| (v - med).abs()).collect();
    1.4826 * median(&mut dev) / std::f64::consts::SQRT_2
}

/// Lag-1 autocorrelation of the first differences of `x` (0 when undefined).
fn difference_autocorrelation(x: &[f64]) -> f64 {
    let d: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
    if d.len() < 3 {
        return 0.0;
    }
    let mean = d.iter().sum::<f64>() / d.len() as f64;
    let var: f64 = d.iter().map(|v| (v - mean).powi(2)).sum();
    if var <= 0.0 {
        return 0.0;
    }
    d.windows(2).map(|w| (w[0] - mean) * (w[1] - mean)).sum::<f64>() / var
}

impl PeltParams {
    /// Checks the fields that do not depend on the data.
    pub fn validate(&self) -> Result<()> {
        self.check(2).map(|_| ())
    }

    /// Checks the parameters and returns the penalty for a series of `n` points.
    fn check(&self, n: usize) -> Result<f64> {
        let min = if self.cost == Cost::MeanVar { 2 } else { 1 };
        if self.min_size < min {
            return Err(Error::config(
                "pelt.min_size",
                format!("must be at least {min} for this cost, got {}", self.min_size),
            ));
        }
        match self.penalty {
            Some(p) if !(p.is_finite() && p >= 0.0) => {
                Err(Error::config("pelt.penalty", format!("must be a finite number >= 0, got {p}")))
            }
            Some(p) => Ok(p),
            None => {
                let params = if self.cost == Cost::MeanVar { 3.0 } else { 2.0 };
                Ok(params * (n.max(2) as f64).ln())
            }
        }
    }
}

/// The optimal change points of `x` (indices where a new segment starts, ascending).
pub fn pelt(x: &[f64], params: &PeltParams) -> Result<Vec<usize>> {
    let n = x.len();
    let beta = params.check(n)?;
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(Error::invalid(format!("series, position {i}"), format!("value {} is not finite", x[i])));
    }
    let min = params.min_size;
    if n < 2 * min {
        return Ok(Vec::new());
    }
    let costs = Costs::new(x, params.cost, params.long_run_variance);
    let mut f = vec![f64::INFINITY; n + 1];
    let mut last = vec![0usize; n + 1];
    f[0] = -beta;
    let mut candidates: Vec<usize> = vec![0];
    for t in min..=n {
        let mut best = (f64::INFINITY, 0);
        for &tau in candidates.iter().filter(|&&tau| t - tau >= min) {
            let v = f[tau] + costs.cost(tau, t);
            if v < best.0 {
                best = (v, tau);
            }
        }
        f[t] = best.0 + beta;
        last[t] = best.1;
        // Prune candidates that cannot start the last segment of an optimal segmentation any more
        // (Killick et al. 2012, theorem 3.1, with K = 0 for likelihood costs). The bound at s holds for
        // segmentations ending at s + min_size or later, so with a minimum segment length the test uses
        // s = t + 1 − min_size: every later end is then covered.
        let s = t + 1 - min;
        if s >= min && f[s].is_finite() {
            let fs = f[s];
            candidates.retain(|&tau| tau + min > s || f[tau] + costs.cost(tau, s) <= fs);
        }
        if t + min <= n && f[t].is_finite() {
            candidates.push(t);
        }
    }
    let mut points = Vec::new();
    let mut t = n;
    while last[t] > 0 {
        points.push(last[t]);
        t = last[t];
    }
    points.reverse();
    Ok(points)
}

/// The segments that `points` cut `x` into.
pub fn segments(x: &[f64], points: &[usize]) -> Vec<Segment> {
    let bounds: Vec<usize> = std::iter::once(0).chain(points.iter().copied()).chain(std::iter::once(x.len())).collect();
    bounds
        .windows(2)
        .filter(|w| w[1] > w[0])
        .map(|w| {
            let s = &x[w[0]..w[1]];
            let mean = s.iter().sum::<f64>() / s.len() as f64;
            let sd = (s.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / s.len() as f64).sqrt();
            Segment { start: w[0], end: w[1], mean, sd }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every segmentation of x with segments of at least `min` points, by brute force.
    fn exhaustive(x: &[f64], params: &PeltParams) -> Vec<usize> {
        let n = x.len();
        let beta = params.check(n).unwrap_or(0.0);
        let costs = Costs::new(x, params.cost, params.long_run_variance);
        let mut best = (f64::INFINITY, Vec::new());
        for mask in 0u32..(1 << (n - 1)) {
            let points: Vec<usize> = (1..n).filter(|i| mask & (1 << (i - 1)) != 0).collect();
            let bounds: Vec<usize> = std::iter::once(0).chain(points.iter().copied()).chain([n]).collect();
            if bounds.windows(2).any(|w| w[1] - w[0] < params.min_size) {
                continue;
            }
            let total: f64 =
                bounds.windows(2).map(|w| costs.cost(w[0], w[1])).sum::<f64>() + beta * points.len() as f64;
            if total < best.0 - 1e-12 {
                best = (total, points);
            }
        }
        best.1
    }

    /// Uniform noise in [-0.5, 0.5) from a 64-bit LCG (Knuth's MMIX constants).
    fn lcg(seed: u64) -> impl FnMut() -> f64 {
        let mut state = seed;
        move || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        }
    }

    #[test]
    fn pelt_finds_the_exhaustive_optimum() {
        let mut noise = lcg(7);
        for case in 0..40 {
            let n = 8 + case % 7;
            let x: Vec<f64> = (0..n)
                .map(|i| {
                    let level = if i < n / 3 {
                        0.0
                    } else if i < 2 * n / 3 {
                        2.0 + case as f64 * 0.1
                    } else {
                        -1.0
                    };
                    let scale = if case % 2 == 0 || i < n / 2 { 1.0 } else { 3.0 };
                    level + scale * noise()
                })
                .collect();
            for cost in [Cost::Mean, Cost::MeanVar] {
                for (min_size, penalty) in [(2, None), (3, Some(1.0)), (2, Some(0.5)), (4, Some(3.0))] {
                    let params = PeltParams { cost, penalty, min_size, long_run_variance: case % 3 == 0 };
                    let ours = pelt(&x, &params).unwrap();
                    assert_eq!(ours, exhaustive(&x, &params), "case {case} {params:?} x = {x:?}");
                }
            }
        }
    }

    #[test]
    fn a_clear_step_is_found_where_it_is() {
        let mut noise = lcg(3);
        let x: Vec<f64> = (0..200).map(|i| if i < 120 { 10.0 } else { 4.0 } + noise()).collect();
        let points = pelt(&x, &PeltParams { min_size: 7, ..PeltParams::default() }).unwrap();
        assert_eq!(points, vec![120]);
        let s = segments(&x, &points);
        assert!((s[0].mean - 10.0).abs() < 0.2 && (s[1].mean - 4.0).abs() < 0.2, "{s:?}");
        assert!(pelt(&[1.0; 50], &PeltParams::default()).unwrap().is_empty());
        assert!(pelt(&[1.0, f64::NAN, 2.0, 3.0], &PeltParams::default()).is_err());
        assert!(pelt(&x, &PeltParams { cost: Cost::MeanVar, min_size: 1, ..PeltParams::default() }).is_err());
    }
}
