//! Loss functions: per-row gradients and hessians of the loss with respect to the raw score, the starting
//! score, and the link from raw score to prediction.
//!
//! Formulas follow LightGBM's objectives (`src/objective/*.hpp`): binary log-loss with a logistic link,
//! L2, quantile (constant hessian; leaves are refitted to the weighted residual quantile after each tree),
//! Poisson with a log link and the hessian safeguard `exp(f + max_delta_step)`, Tweedie with a log link.
//! The starting score is the weighted optimum of the loss for a constant (LightGBM's `boost_from_average`).

use rayon::prelude::*;

use super::params::{GbdtParams, Objective};
use crate::error::{Error, Result};

/// Rows per parallel task when computing gradients (elementwise, so the result does not depend on it).
const CHUNK: usize = 16_384;

/// A configured loss.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Loss {
    objective: Objective,
    alpha: f64,
    rho: f64,
    max_delta_step: f64,
    scale_pos_weight: f64,
}

impl Loss {
    pub(crate) fn new(p: &GbdtParams) -> Self {
        Self {
            objective: p.objective,
            alpha: p.alpha,
            rho: p.tweedie_variance_power,
            max_delta_step: p.poisson_max_delta_step,
            scale_pos_weight: p.scale_pos_weight,
        }
    }

    /// Checks labels for the objective: 0/1 for binary, ≥ 0 with a positive mean for Poisson and Tweedie.
    pub(crate) fn check_labels(&self, label: &[f64], what: &str) -> Result<()> {
        let bad = match self.objective {
            Objective::Binary => label.iter().position(|y| *y != 0.0 && *y != 1.0).map(|i| (i, "0 or 1")),
            Objective::Poisson | Objective::Tweedie => label.iter().position(|y| *y < 0.0).map(|i| (i, "a value >= 0")),
            Objective::Regression | Objective::Quantile => None,
        };
        if let Some((i, expected)) = bad {
            return Err(Error::invalid(
                format!("{what} label, row {i}"),
                format!("objective {:?} expects {expected}, got {}", self.objective, label[i]),
            ));
        }
        if matches!(self.objective, Objective::Poisson | Objective::Tweedie) && label.iter().all(|y| *y == 0.0) {
            return Err(Error::invalid(
                format!("{what} label"),
                "all labels are 0: a log-link model has nothing to fit",
            ));
        }
        Ok(())
    }

    /// The weight of a row: its sample weight, times `scale_pos_weight` for positives of the binary objective.
    #[inline]
    fn row_weight(&self, y: f64, w: f64) -> f64 {
        if self.objective == Objective::Binary && y == 1.0 { w * self.scale_pos_weight } else { w }
    }

    /// The best constant raw score for the weighted labels.
    pub(crate) fn init_score(&self, label: &[f64], weight: Option<&[f64]>) -> f64 {
        let w = |i: usize| self.row_weight(label[i], weight.map_or(1.0, |w| w[i]));
        let (mut sum_wy, mut sum_w) = (0.0, 0.0);
        for (i, y) in label.iter().enumerate() {
            sum_wy += w(i) * y;
            sum_w += w(i);
        }
        if sum_w <= 0.0 {
            return 0.0;
        }
        let mean = sum_wy / sum_w;
        match self.objective {
            Objective::Binary => {
                let p = mean.clamp(1e-15, 1.0 - 1e-15);
                (p / (1.0 - p)).ln()
            }
            Objective::Regression => mean,
            Objective::Quantile => {
                let idx: Vec<usize> = (0..label.len()).collect();
                weighted_quantile(&idx, |i| label[i], w, self.alpha)
            }
            Objective::Poisson | Objective::Tweedie => mean.max(1e-15).ln(),
        }
    }

    /// Fills weighted gradients and hessians for every row.
    pub(crate) fn gradients(&self, label: &[f64], weight: Option<&[f64]>, score: &[f64], g: &mut [f64], h: &mut [f64]) {
        g.par_chunks_mut(CHUNK).zip(h.par_chunks_mut(CHUNK)).enumerate().for_each(|(c, (gc, hc))| {
            let base = c * CHUNK;
            for k in 0..gc.len() {
                let i = base + k;
                let y = label[i];
                let w = self.row_weight(y, weight.map_or(1.0, |w| w[i]));
                let (gi, hi) = self.grad_hess(y, score[i]);
                gc[k] = gi * w;
                hc[k] = hi * w;
            }
        });
    }

    /// Unweighted gradient and hessian of one row's loss at raw score `f`.
    #[inline]
    pub(crate) fn grad_hess(&self, y: f64, f: f64) -> (f64, f64) {
        match self.objective {
            Objective::Binary => {
                let p = sigmoid(f);
                (p - y, (p * (1.0 - p)).max(1e-16))
            }
            Objective::Regression => (f - y, 1.0),
            Objective::Quantile => (if f >= y { 1.0 - self.alpha } else { -self.alpha }, 1.0),
            Objective::Poisson => (f.exp() - y, (f + self.max_delta_step).exp()),
            Objective::Tweedie => {
                let (a, b) = (((1.0 - self.rho) * f).exp(), ((2.0 - self.rho) * f).exp());
                (-y * a + b, -y * (1.0 - self.rho) * a + (2.0 - self.rho) * b)
            }
        }
    }

    /// One row's loss at raw score `f` (up to a constant in `y`), whose derivatives [`Self::grad_hess`] gives.
    #[cfg(test)]
    pub(crate) fn loss(&self, y: f64, f: f64) -> f64 {
        match self.objective {
            Objective::Binary => {
                // log(1 + e^f) - y f, computed without overflow.
                f.max(0.0) + (-f.abs()).exp().ln_1p() - y * f
            }
            Objective::Regression => 0.5 * (f - y).powi(2),
            Objective::Quantile => {
                let d = y - f;
                if d >= 0.0 { self.alpha * d } else { (self.alpha - 1.0) * d }
            }
            Objective::Poisson => f.exp() - y * f,
            Objective::Tweedie => {
                -y * ((1.0 - self.rho) * f).exp() / (1.0 - self.rho) + ((2.0 - self.rho) * f).exp() / (2.0 - self.rho)
            }
        }
    }

    /// Raw score → prediction (probability for binary, mean for log-link objectives).
    #[inline]
    pub(crate) fn transform(objective: Objective, raw: f64) -> f64 {
        match objective {
            Objective::Binary => sigmoid(raw),
            Objective::Regression | Objective::Quantile => raw,
            Objective::Poisson | Objective::Tweedie => raw.exp(),
        }
    }

    /// Whether leaf values are refitted to residual quantiles after each tree.
    pub(crate) fn renews_leaves(&self) -> bool {
        self.objective == Objective::Quantile
    }

    /// The refitted value of a leaf holding `rows`: the weighted `alpha`-quantile of the residuals.
    pub(crate) fn renewed_leaf(&self, rows: &[usize], label: &[f64], weight: Option<&[f64]>, score: &[f64]) -> f64 {
        weighted_quantile(rows, |i| label[i] - score[i], |i| weight.map_or(1.0, |w| w[i]), self.alpha)
    }
}

/// The logistic function.
#[inline]
pub(crate) fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Smallest value whose cumulative weight reaches `alpha` of the total (values sorted ascending).
fn weighted_quantile(rows: &[usize], value: impl Fn(usize) -> f64, weight: impl Fn(usize) -> f64, alpha: f64) -> f64 {
    let mut pairs: Vec<(f64, f64)> = rows.iter().map(|&i| (value(i), weight(i))).collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = pairs.iter().map(|p| p.1).sum();
    let target = alpha * total;
    let mut acc = 0.0;
    for &(v, w) in &pairs {
        acc += w;
        if acc >= target {
            return v;
        }
    }
    pairs.last().map_or(0.0, |p| p.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gradients and hessians equal central finite differences of the loss.
    #[test]
    fn derivatives_match_finite_differences() {
        let objectives =
            [Objective::Binary, Objective::Regression, Objective::Quantile, Objective::Poisson, Objective::Tweedie];
        for objective in objectives {
            let p = GbdtParams { objective, poisson_max_delta_step: 0.0, ..GbdtParams::default() };
            let loss = Loss::new(&p);
            for &(y, f) in &[(0.0_f64, -1.3_f64), (1.0, 0.4), (3.0, 0.7), (0.0, 1.9), (2.5, -0.2)] {
                let y = if objective == Objective::Binary { y.min(1.0) } else { y };
                let e = 1e-5;
                let d1 = (loss.loss(y, f + e) - loss.loss(y, f - e)) / (2.0 * e);
                let d2 = (loss.loss(y, f + e) - 2.0 * loss.loss(y, f) + loss.loss(y, f - e)) / (e * e);
                let (g, h) = loss.grad_hess(y, f);
                assert!((g - d1).abs() < 1e-6, "{objective:?} gradient at y={y} f={f}: {g} vs {d1}");
                if objective != Objective::Quantile {
                    assert!(
                        (h - d2).abs() < 1e-3 * (1.0 + d2.abs()),
                        "{objective:?} hessian at y={y} f={f}: {h} vs {d2}"
                    );
                }
            }
        }
    }

    #[test]
    fn init_score_is_the_constant_optimum() {
        let y = [0.0, 1.0, 1.0, 1.0];
        let binary = Loss::new(&GbdtParams::default());
        assert!((binary.init_score(&y, None) - 3f64.ln()).abs() < 1e-12);
        let q = Loss::new(&GbdtParams { objective: Objective::Quantile, alpha: 0.5, ..GbdtParams::default() });
        assert_eq!(q.init_score(&[5.0, 1.0, 3.0], None), 3.0);
    }
}
