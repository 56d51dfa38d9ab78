//! Seasonal-trend decomposition by loess: STL (Cleveland, Cleveland, McRae & Terpenning 1990, "STL: A
//! Seasonal-Trend Decomposition Procedure Based on Loess", Journal of Official Statistics 6(1)) and MSTL
//! for several periods (Bandara, Hyndman & Bergmeir 2021).
//!
//! The algorithm follows the authors' Fortran `stl` from netlib step by step (inner loop: cycle-subseries
//! smoothing, low-pass filter of three moving averages and a loess, detrending; outer loop: bisquare
//! robustness weights from six times the median absolute residual), with the parameter names, defaults and
//! validation of statsmodels' `STL` and `MSTL`, so that results equal statsmodels' to rounding
//! (`scripts/stl_reference.py` makes the reference values the tests check, `scripts/compare_stl.py`
//! checks the CO₂ series). No Rust crate implements STL with robustness, jumps and degrees as the
//! reference does; the `stlrs` crate leaves out the statsmodels parameterisation we must match.
//!
//! Positions are 1-based inside the loess code, as in the Fortran, so rounding follows the reference.

use serde::{Deserialize, Serialize};

use super::loess::{loess_at, loess_smooth};
use crate::error::{Error, Result};

/// STL parameters; names and defaults as in statsmodels' `STL(...)` and `STL.fit(...)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StlParams {
    /// Length of the seasonal cycle in observations (≥ 2), e.g. 7 for daily data with a weekly cycle.
    pub period: usize,
    /// Span of the seasonal smoother in cycles (odd, ≥ 3). Default 7.
    pub seasonal: usize,
    /// Span of the trend smoother (odd, ≥ 3, > period). Default: the smallest odd integer ≥
    /// 1.5 · period / (1 − 1.5 / seasonal).
    pub trend: Option<usize>,
    /// Span of the low-pass filter (odd, ≥ 3, > period). Default: the smallest odd integer > period.
    pub low_pass: Option<usize>,
    /// Degree of the seasonal loess, 0 or 1. Default 1.
    pub seasonal_deg: u8,
    /// Degree of the trend loess, 0 or 1. Default 1.
    pub trend_deg: u8,
    /// Degree of the low-pass loess, 0 or 1. Default 1.
    pub low_pass_deg: u8,
    /// Fit the seasonal loess every `seasonal_jump` points and interpolate linearly between. Default 1.
    pub seasonal_jump: usize,
    /// As `seasonal_jump`, for the trend. Default 1.
    pub trend_jump: usize,
    /// As `seasonal_jump`, for the low-pass filter. Default 1.
    pub low_pass_jump: usize,
    /// Down-weight outliers with bisquare robustness weights. Default false.
    pub robust: bool,
    /// Passes of the inner loop. Default 2 when robust, else 5.
    pub inner_iter: Option<usize>,
    /// Robustness iterations. Default 15 when robust, else 0.
    pub outer_iter: Option<usize>,
    /// Ignore the three `*_jump` fields and use R's `stl` defaults: every smoother fits every
    /// ceil(span / 10)-th point and interpolates between (Cleveland et al. 1990, section 3.4). Ten times
    /// less work for long spans (a yearly period), at a difference from the full fit far below the noise
    /// of daily data. Default false (statsmodels' jumps of 1).
    pub auto_jumps: bool,
}

impl Default for StlParams {
    fn default() -> Self {
        Self {
            period: 7,
            seasonal: 7,
            trend: None,
            low_pass: None,
            seasonal_deg: 1,
            trend_deg: 1,
            low_pass_deg: 1,
            seasonal_jump: 1,
            trend_jump: 1,
            low_pass_jump: 1,
            robust: false,
            inner_iter: None,
            outer_iter: None,
            auto_jumps: false,
        }
    }
}

impl StlParams {
    /// The default parameters for a period, as `STL(y, period=period)`.
    pub fn with_period(period: usize) -> Self {
        Self { period, ..Self::default() }
    }

    /// The default trend span for this period and seasonal span.
    pub fn default_trend(&self) -> usize {
        let t = (1.5 * self.period as f64 / (1.0 - 1.5 / self.seasonal as f64)).ceil() as usize;
        t + usize::from(t.is_multiple_of(2))
    }

    /// The default low-pass span: the smallest odd integer above the period.
    pub fn default_low_pass(&self) -> usize {
        let l = self.period + 1;
        l + usize::from(l.is_multiple_of(2))
    }

    /// Checks the parameters (statsmodels' rules) and fills in the defaults.
    pub fn resolve(&self) -> Result<Resolved> {
        let bad = |field: &str, message: String| Err(Error::config(format!("stl.{field}"), message));
        let odd_at_least_3 = |v: usize| v >= 3 && v % 2 == 1;
        if self.period < 2 {
            return bad("period", format!("must be an integer >= 2, got {}", self.period));
        }
        if !odd_at_least_3(self.seasonal) {
            return bad("seasonal", format!("must be an odd integer >= 3, got {}", self.seasonal));
        }
        let trend = self.trend.unwrap_or_else(|| self.default_trend());
        if !odd_at_least_3(trend) || trend <= self.period {
            return bad("trend", format!("must be an odd integer >= 3 and > period {}, got {trend}", self.period));
        }
        let low_pass = self.low_pass.unwrap_or_else(|| self.default_low_pass());
        if !odd_at_least_3(low_pass) || low_pass <= self.period {
            return bad(
                "low_pass",
                format!("must be an odd integer >= 3 and > period {}, got {low_pass}", self.period),
            );
        }
        for (field, deg) in
            [("seasonal_deg", self.seasonal_deg), ("trend_deg", self.trend_deg), ("low_pass_deg", self.low_pass_deg)]
        {
            if deg > 1 {
                return bad(field, format!("must be 0 or 1, got {deg}"));
            }
        }
        for (field, jump) in [
            ("seasonal_jump", self.seasonal_jump),
            ("trend_jump", self.trend_jump),
            ("low_pass_jump", self.low_pass_jump),
        ] {
            if jump == 0 {
                return bad(field, "must be a positive integer, got 0".into());
            }
        }
        let jump = |span: usize, given: usize| if self.auto_jumps { span.div_ceil(10) } else { given };
        let inner = self.inner_iter.unwrap_or(if self.robust { 2 } else { 5 });
        let outer = self.outer_iter.unwrap_or(if self.robust { 15 } else { 0 });
        if inner == 0 {
            return bad("inner_iter", "must be at least 1, got 0".into());
        }
        Ok(Resolved {
            period: self.period,
            seasonal: Smoother {
                len: self.seasonal,
                deg: self.seasonal_deg,
                jump: jump(self.seasonal, self.seasonal_jump),
            },
            trend: Smoother { len: trend, deg: self.trend_deg, jump: jump(trend, self.trend_jump) },
            low_pass: Smoother { len: low_pass, deg: self.low_pass_deg, jump: jump(low_pass, self.low_pass_jump) },
            inner_iter: inner,
            outer_iter: outer,
        })
    }
}

/// One loess smoother: span, degree and jump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Smoother {
    /// Span in points (odd).
    pub len: usize,
    /// Local polynomial degree, 0 or 1.
    pub deg: u8,
    /// Fit every `jump` points, interpolate between.
    pub jump: usize,
}

/// Checked STL parameters with every default filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    /// Period in observations.
    pub period: usize,
    /// Cycle-subseries smoother.
    pub seasonal: Smoother,
    /// Trend smoother.
    pub trend: Smoother,
    /// Low-pass smoother.
    pub low_pass: Smoother,
    /// Inner-loop passes.
    pub inner_iter: usize,
    /// Robustness iterations.
    pub outer_iter: usize,
}

/// The components of a decomposition: `observed = trend + seasonal + resid` at every point.
#[derive(Debug, Clone, PartialEq)]
pub struct Decomposition {
    /// Trend-cycle component.
    pub trend: Vec<f64>,
    /// Seasonal component (for MSTL, the sum over periods; see [`crate::trend::MstlDecomposition`]).
    pub seasonal: Vec<f64>,
    /// Remainder.
    pub resid: Vec<f64>,
    /// Robustness weights of the last pass (all 1 without robustness).
    pub weights: Vec<f64>,
}

impl Decomposition {
    /// Strength of the trend, max(0, 1 − Var(R) / Var(T + R)) (Wang, Smith & Hyndman 2006).
    pub fn trend_strength(&self) -> f64 {
        strength(&self.resid, &self.trend)
    }

    /// Strength of the seasonality, max(0, 1 − Var(R) / Var(S + R)) (Wang, Smith & Hyndman 2006).
    pub fn seasonal_strength(&self) -> f64 {
        strength(&self.resid, &self.seasonal)
    }
}

/// max(0, 1 − Var(r) / Var(c + r)); 0 when the denominator is 0.
pub(crate) fn strength(resid: &[f64], component: &[f64]) -> f64 {
    let var = |f: &dyn Fn(usize) -> f64| {
        let n = resid.len() as f64;
        let mean = (0..resid.len()).map(f).sum::<f64>() / n;
        (0..resid.len()).map(|i| (f(i) - mean).powi(2)).sum::<f64>() / n
    };
    let total = var(&|i| component[i] + resid[i]);
    if total <= 0.0 || resid.len() < 2 {
        return 0.0;
    }
    (1.0 - var(&|i| resid[i]) / total).max(0.0)
}

/// Decomposes `y` (equally spaced, finite, at least two full periods) with STL.
pub fn stl(y: &[f64], params: &StlParams) -> Result<Decomposition> {
    let p = params.resolve()?;
    check_series(y, p.period)?;
    Ok(Stl::new(y.len(), p).fit(y))
}

/// STL with fixed weights in the loess fits (0 leaves a point out, as an outlier or a filled gap), one
/// pass of the inner loop's `inner_iter` iterations: the robust fit when the outliers are already known,
/// at the cost of one plain fit instead of `outer_iter` of them.
pub(crate) fn stl_weighted(y: &[f64], params: &StlParams, weights: &[f64]) -> Result<Decomposition> {
    weighted_passes(y, params.resolve()?, Some(weights), None)
}

/// [`stl_weighted`] with every weight 1 when its first inner pass is already done (a one-pass [`stl`]
/// of the same `y` and `params`), `trend` being that pass's trend: the inner loop carries nothing but
/// the trend from one pass to the next, so the remaining passes from it give exactly the whole fit.
/// `None` when `params` make a single pass (nothing remains).
pub(crate) fn stl_after_first_pass(y: &[f64], params: &StlParams, trend: &[f64]) -> Result<Option<Decomposition>> {
    let p = params.resolve()?;
    if p.inner_iter < 2 || trend.len() != y.len() {
        return Ok(None);
    }
    let remaining = Resolved { inner_iter: p.inner_iter - 1, ..p };
    weighted_passes(y, remaining, None, Some(trend)).map(Some)
}

/// The inner loop's passes with fixed weights (all 1 when `None`), from `trend` when given (else 0).
fn weighted_passes(y: &[f64], p: Resolved, weights: Option<&[f64]>, trend: Option<&[f64]>) -> Result<Decomposition> {
    check_series(y, p.period)?;
    let mut fit = Stl::new(y.len(), p);
    if let Some(weights) = weights {
        fit.rw.copy_from_slice(weights);
    }
    if let Some(trend) = trend {
        fit.trend.copy_from_slice(trend);
    }
    fit.inner(y, true);
    let resid = (0..fit.n).map(|i| y[i] - fit.season[i] - fit.trend[i]).collect();
    Ok(Decomposition { trend: fit.trend, seasonal: fit.season, resid, weights: fit.rw })
}

fn check_series(y: &[f64], period: usize) -> Result<()> {
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(Error::invalid(format!("series, position {i}"), format!("value {} is not finite", y[i])));
    }
    if y.len() < 2 * period {
        return Err(Error::invalid(
            "series",
            format!("{} observations is fewer than two periods of {period}", y.len()),
        ));
    }
    Ok(())
}

/// One STL fit with its work arrays (the Fortran's `work(n + 2·np, 5)`).
#[derive(Debug, Clone)]
pub(crate) struct Stl {
    p: Resolved,
    n: usize,
    trend: Vec<f64>,
    season: Vec<f64>,
    rw: Vec<f64>,
    /// y − trend, then the low-pass output.
    detrended: Vec<f64>,
    /// Smoothed cycle-subseries, extended one period each side (n + 2·np).
    cycle: Vec<f64>,
    /// Moving-average and cycle-subseries scratch.
    scratch: [Vec<f64>; 2],
}

impl Stl {
    pub(crate) fn new(n: usize, p: Resolved) -> Self {
        let m = n + 2 * p.period;
        Self {
            p,
            n,
            trend: vec![0.0; n],
            season: vec![0.0; n],
            rw: vec![1.0; n],
            detrended: vec![0.0; m],
            cycle: vec![0.0; m],
            scratch: [vec![0.0; m], vec![0.0; m]],
        }
    }

    pub(crate) fn fit(mut self, y: &[f64]) -> Decomposition {
        let mut use_rw = false;
        let mut k = 0;
        loop {
            self.inner(y, use_rw);
            k += 1;
            if k > self.p.outer_iter {
                break;
            }
            let fit: Vec<f64> = self.trend.iter().zip(&self.season).map(|(t, s)| t + s).collect();
            robustness_weights(y, &fit, &mut self.rw);
            use_rw = true;
        }
        if self.p.outer_iter == 0 {
            self.rw.fill(1.0);
        }
        let resid = (0..self.n).map(|i| y[i] - self.season[i] - self.trend[i]).collect();
        Decomposition { trend: self.trend, seasonal: self.season, resid, weights: self.rw }
    }

    /// The inner loop (Fortran `stlstp`).
    fn inner(&mut self, y: &[f64], use_rw: bool) {
        let (n, np) = (self.n, self.p.period);
        let Self { p, trend, season, rw, detrended, cycle, scratch, .. } = self;
        let rw = use_rw.then_some(&rw[..]);
        for _ in 0..p.inner_iter {
            for i in 0..n {
                detrended[i] = y[i] - trend[i];
            }
            cycle_subseries(&detrended[..n], np, p.seasonal, rw, cycle, scratch);
            // Low-pass filter of the smoothed cycle-subseries: moving averages of np, np and 3, then loess.
            let [a, b] = scratch;
            moving_average(&cycle[..n + 2 * np], np, a);
            moving_average(&a[..n + np + 1], np, b);
            moving_average(&b[..n + 2], 3, a);
            loess_smooth(&a[..n], p.low_pass, None, &mut detrended[..n]);
            for i in 0..n {
                season[i] = cycle[np + i] - detrended[i];
                a[i] = y[i] - season[i];
            }
            loess_smooth(&a[..n], p.trend, rw, trend);
        }
    }
}

/// Smooths each cycle-subseries of `x` with loess and extends it one cycle at each end, into `cycle`
/// (length n + 2·np; Fortran `stlss`).
fn cycle_subseries(
    x: &[f64],
    np: usize,
    s: Smoother,
    rw: Option<&[f64]>,
    cycle: &mut [f64],
    scratch: &mut [Vec<f64>; 2],
) {
    let n = x.len();
    let [sub, sub_rw] = scratch;
    let mut smoothed = vec![0.0; n / np + 3];
    // Without robustness weights the smoothing of a cycle-subseries is linear in it and the same for every
    // subseries of the same length: with few cycles (a yearly period over a few years: hundreds of
    // subseries of 2 to 5 points) it is applied as a (k + 2) × k matrix, built by smoothing unit vectors.
    let mut operators: Vec<(usize, Vec<f64>)> = Vec::new();
    for j in 0..np {
        let k = (n - (j + 1)) / np + 1;
        for i in 0..k {
            sub[i] = x[i * np + j];
        }
        if rw.is_none() && k <= SMALL_SUBSERIES {
            let op = match operators.iter().position(|(len, _)| *len == k) {
                Some(i) => &operators[i].1,
                None => {
                    operators.push((k, subseries_operator(k, s)));
                    &operators[operators.len() - 1].1
                }
            };
            for (m, row) in op.chunks_exact(k).enumerate() {
                cycle[m * np + j] = row.iter().zip(&sub[..k]).map(|(a, b)| a * b).sum();
            }
            continue;
        }
        if let Some(rw) = rw {
            for i in 0..k {
                sub_rw[i] = rw[i * np + j];
            }
        }
        let sub_rw = rw.map(|_| &sub_rw[..k]);
        smooth_subseries(&sub[..k], s, sub_rw, &mut smoothed);
        for (m, v) in smoothed[..k + 2].iter().enumerate() {
            cycle[m * np + j] = *v;
        }
    }
}

/// Subseries up to this length are smoothed through a precomputed matrix when that is exact.
const SMALL_SUBSERIES: usize = 12;

/// Loess of one cycle-subseries into `smoothed[1..=k]`, extended by one cycle at each end into
/// `smoothed[0]` and `smoothed[k + 1]`.
fn smooth_subseries(sub: &[f64], s: Smoother, rw: Option<&[f64]>, smoothed: &mut [f64]) {
    let k = sub.len();
    loess_smooth(sub, s, rw, &mut smoothed[1..=k]);
    let nright = s.len.min(k);
    smoothed[0] = loess_at(sub, s.len, s.deg, 0.0, 1, nright, rw).unwrap_or(smoothed[1]);
    let nleft = (k + 1).saturating_sub(s.len).max(1);
    smoothed[k + 1] = loess_at(sub, s.len, s.deg, (k + 1) as f64, nleft, k, rw).unwrap_or(smoothed[k]);
}

/// The (k + 2) × k matrix (row-major) of [`smooth_subseries`] without robustness weights.
fn subseries_operator(k: usize, s: Smoother) -> Vec<f64> {
    let mut op = vec![0.0; (k + 2) * k];
    let mut unit = vec![0.0; k];
    let mut column = vec![0.0; k + 2];
    for c in 0..k {
        unit.fill(0.0);
        unit[c] = 1.0;
        smooth_subseries(&unit, s, None, &mut column);
        for (m, v) in column.iter().enumerate() {
            op[m * k + c] = *v;
        }
    }
    op
}

/// Moving average of length `len` over `x` into `out[..x.len() − len + 1]` (Fortran `stlma`: a running
/// sum, as the reference computes it).
fn moving_average(x: &[f64], len: usize, out: &mut [f64]) {
    let flen = len as f64;
    let mut v: f64 = x[..len].iter().sum();
    out[0] = v / flen;
    for j in 1..=x.len() - len {
        v += x[len + j - 1] - x[j - 1];
        out[j] = v / flen;
    }
}

/// Bisquare robustness weights from the residuals y − fit: h = 6 · median |residual| (Fortran `stlrwt`;
/// all weights 1 when h is 0, as statsmodels does).
fn robustness_weights(y: &[f64], fit: &[f64], rw: &mut [f64]) {
    let n = y.len();
    let resid: Vec<f64> = y.iter().zip(fit).map(|(y, f)| (y - f).abs()).collect();
    let mut sorted = resid.clone();
    let (lo, hi) = (n - n / 2 - 1, n / 2);
    let hi_value = *sorted.select_nth_unstable_by(hi, f64::total_cmp).1;
    let lo_value = *sorted.select_nth_unstable_by(lo, f64::total_cmp).1;
    let cmad = 3.0 * (lo_value + hi_value);
    if cmad == 0.0 {
        rw.fill(1.0);
        return;
    }
    let (c9, c1) = (0.999 * cmad, 0.001 * cmad);
    for (w, r) in rw.iter_mut().zip(&resid) {
        *w = if *r <= c1 {
            1.0
        } else if *r <= c9 {
            let q = r / cmad;
            (1.0 - q * q).powi(2)
        } else {
            0.0
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuing_after_the_first_pass_is_the_whole_fit() {
        let y: Vec<f64> = crate::anomaly::weekly_series(200, 5).iter().map(|v| v.ln_1p()).collect();
        let params = StlParams { period: 7, auto_jumps: true, inner_iter: Some(2), ..StlParams::default() };
        let first = stl(&y, &StlParams { inner_iter: Some(1), ..params.clone() }).unwrap();
        let whole = stl_weighted(&y, &params, &vec![1.0; y.len()]).unwrap();
        let continued = stl_after_first_pass(&y, &params, &first.trend).unwrap().unwrap();
        assert_eq!(continued, whole);
        assert!(
            stl_after_first_pass(&y, &StlParams { inner_iter: Some(1), ..params }, &first.trend).unwrap().is_none()
        );
    }

    #[test]
    fn components_add_up_and_defaults_match_statsmodels() -> Result<()> {
        let p = StlParams::with_period(7).resolve()?;
        assert_eq!((p.trend.len, p.low_pass.len, p.inner_iter, p.outer_iter), (15, 9, 5, 0));
        let p52 = StlParams::with_period(52).resolve()?;
        assert_eq!((p52.trend.len, p52.low_pass.len), (101, 53));
        let y: Vec<f64> = (0..70).map(|i| (i as f64 * 0.9).sin() * 3.0 + i as f64 * 0.1).collect();
        let d = stl(&y, &StlParams { robust: true, ..StlParams::with_period(7) })?;
        for (i, v) in y.iter().enumerate() {
            assert!((d.trend[i] + d.seasonal[i] + d.resid[i] - v).abs() < 1e-12);
        }
        Ok(())
    }

    #[test]
    fn bad_parameters_name_the_field() {
        let e = StlParams { seasonal: 4, ..StlParams::default() }.resolve().err().map(|e| e.to_string());
        assert!(e.is_some_and(|m| m.contains("stl.seasonal")));
        let e = StlParams { trend: Some(5), ..StlParams::default() }.resolve().err().map(|e| e.to_string());
        assert!(e.is_some_and(|m| m.contains("stl.trend")));
        assert!(stl(&[1.0; 10], &StlParams::default()).is_err());
        assert!(
            stl(&[1.0, f64::NAN, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], &StlParams::default())
                .is_err()
        );
    }
}
