//! MSTL: STL for several seasonal periods (Bandara, Hyndman & Bergmeir 2021, "MSTL: A Seasonal-Trend
//! Decomposition Algorithm for Time Series with Multiple Seasonal Patterns", algorithm 1), with the
//! parameters, defaults and period rules of statsmodels' `MSTL` (without its Box-Cox option), checked
//! against it in `tests/it/stl.rs`.

use serde::{Deserialize, Serialize};

use super::stl::{Decomposition, Stl, StlParams};
use crate::error::{Error, Result};

/// MSTL parameters; names and defaults as statsmodels' `MSTL(...)` (without the Box-Cox transform).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MstlParams {
    /// The seasonal periods, e.g. `[7, 365]`; sorted ascending before use.
    pub periods: Vec<usize>,
    /// Seasonal spans, one per period; default 7 + 4·i for the i-th period (1-based).
    pub windows: Option<Vec<usize>>,
    /// Refinement passes over all periods (1 when there is only one period). Default 2.
    pub iterate: usize,
    /// The other STL parameters (`period` and `seasonal` are ignored).
    pub stl: StlParams,
}

impl Default for MstlParams {
    fn default() -> Self {
        Self { periods: vec![7, 365], windows: None, iterate: 2, stl: StlParams::default() }
    }
}

/// An MSTL decomposition: one seasonal component per period kept.
#[derive(Debug, Clone, PartialEq)]
pub struct MstlDecomposition {
    /// The periods decomposed, ascending (periods of half the series length or more are dropped, as
    /// statsmodels does; see `dropped`).
    pub periods: Vec<usize>,
    /// Periods left out because the series is shorter than two of them.
    pub dropped: Vec<usize>,
    /// One seasonal component per period in `periods`.
    pub seasonals: Vec<Vec<f64>>,
    /// Trend, summed seasonal, remainder and weights.
    pub total: Decomposition,
}

/// Decomposes `y` with MSTL: STL per period in turn on the series without the other seasonal components,
/// `iterate` times (Bandara et al. 2021, algorithm 1; statsmodels' `MSTL.fit`).
pub fn mstl(y: &[f64], params: &MstlParams) -> Result<MstlDecomposition> {
    if params.periods.is_empty() {
        return Err(Error::config("mstl.periods", "name at least one period"));
    }
    let mut pairs: Vec<(usize, usize)> = match &params.windows {
        Some(w) if w.len() != params.periods.len() => {
            return Err(Error::config(
                "mstl.windows",
                format!("{} windows for {} periods", w.len(), params.periods.len()),
            ));
        }
        Some(w) => params.periods.iter().copied().zip(w.iter().copied()).collect(),
        None => {
            let mut periods = params.periods.clone();
            periods.sort_unstable();
            periods.into_iter().enumerate().map(|(i, p)| (p, 7 + 4 * (i + 1))).collect()
        }
    };
    pairs.sort_unstable();
    let n = y.len();
    let dropped: Vec<usize> = pairs.iter().filter(|(p, _)| *p as f64 >= n as f64 / 2.0).map(|(p, _)| *p).collect();
    pairs.retain(|(p, _)| (*p as f64) < n as f64 / 2.0);
    if pairs.is_empty() {
        return Err(Error::invalid("series", format!("{n} observations is fewer than two of any period {dropped:?}")));
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(Error::invalid(format!("series, position {i}"), format!("value {} is not finite", y[i])));
    }
    let fits: Vec<Stl> = pairs
        .iter()
        .map(|&(period, seasonal)| Ok(Stl::new(n, StlParams { period, seasonal, ..params.stl.clone() }.resolve()?)))
        .collect::<Result<_>>()?;
    let iterate = if pairs.len() == 1 { 1 } else { params.iterate.max(1) };
    let mut seasonals = vec![vec![0.0; n]; pairs.len()];
    let mut deseason = y.to_vec();
    let mut last = None;
    for _ in 0..iterate {
        for (fit, seasonal) in fits.iter().zip(seasonals.iter_mut()) {
            deseason.iter_mut().zip(seasonal.iter()).for_each(|(d, s)| *d += s);
            let d = fit.clone().fit(&deseason);
            seasonal.copy_from_slice(&d.seasonal);
            deseason.iter_mut().zip(seasonal.iter()).for_each(|(d, s)| *d -= s);
            last = Some(d);
        }
    }
    let last = last.ok_or_else(|| Error::Internal("mstl ran no pass".into()))?;
    let resid: Vec<f64> = deseason.iter().zip(&last.trend).map(|(d, t)| d - t).collect();
    let seasonal: Vec<f64> = (0..n).map(|i| seasonals.iter().map(|s| s[i]).sum()).collect();
    Ok(MstlDecomposition {
        periods: pairs.iter().map(|(p, _)| *p).collect(),
        dropped,
        seasonals,
        total: Decomposition { trend: last.trend, seasonal, resid, weights: last.weights },
    })
}
