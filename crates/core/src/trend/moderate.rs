//! Empirical Bayes moderation of residual variances across many series (Smyth 2004, "Linear models and
//! empirical Bayes methods for assessing differential expression in microarray experiments", Statistical
//! Applications in Genetics and Molecular Biology 3(1), section 6; limma's `fitFDist` and `squeezeVar`).
//!
//! Each series' seasonality test divides by its own residual mean square s², which for the yearly layout
//! of three years has only 22 degrees of freedom: a Student t on 22 df needs |t| ≥ 4.44 where the same
//! evidence with a known variance needs 3.71. The series of one metric share most of their noise (the same
//! product, the same kind of wandering), so their s² values say what a typical s² is. The model: σ²_g of
//! series g is drawn from a scaled inverse χ² with `df` d₀ and scale s₀², and s²_g | σ²_g ~ σ²_g χ²_d / d.
//! Then the posterior variance s̃²_g = (d₀ s₀² + d s²_g) / (d₀ + d) replaces s²_g, and the test statistics
//! have d₀ + d degrees of freedom under the null (Smyth's theorem 2): exact, not a heuristic, when the
//! model holds, and d₀ is small (little borrowing) when the s² values vary more than sampling explains.
//!
//! d₀ and s₀² come from the moments of e_g = ln s²_g − ψ(d/2) + ln(d/2): E e = ln s₀² − ψ(d₀/2) + ln(d₀/2)
//! and Var e = ψ′(d/2) + ψ′(d₀/2), solved for d₀ with the inverse trigamma function. Written here because
//! no Rust crate has it (statrs has ψ, not ψ′); checked against scipy (`tests/reference/moderate.py`).

use statrs::function::gamma::digamma;

/// Fewest series from which a prior is estimated; with fewer each series keeps its own variance.
pub(crate) const MIN_SERIES: usize = 10;

/// A residual variance and its degrees of freedom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Variance {
    /// The variance.
    pub(crate) s2: f64,
    /// Its degrees of freedom (infinite when known).
    pub(crate) df: f64,
}

/// The prior of the series' variances: d₀ (`df`, 0 when nothing is borrowed) and s₀² (`s2`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct VariancePrior {
    /// Prior degrees of freedom d₀ (0: no moderation; infinite: every series gets s₀²).
    pub(crate) df: f64,
    /// Prior variance s₀².
    pub(crate) s2: f64,
}

impl VariancePrior {
    /// No moderation: every series keeps its own variance.
    pub(crate) const NONE: Self = Self { df: 0.0, s2: 0.0 };

    /// Smyth's moment estimate from the series' variances; [`Self::NONE`] with fewer than [`MIN_SERIES`]
    /// positive, finite variances with positive degrees of freedom.
    pub(crate) fn fit(variances: &[Variance]) -> Self {
        let used: Vec<&Variance> =
            variances.iter().filter(|v| v.s2 > 0.0 && v.s2.is_finite() && v.df > 0.0 && v.df.is_finite()).collect();
        if used.len() < MIN_SERIES {
            return Self::NONE;
        }
        let n = used.len() as f64;
        let e: Vec<f64> = used.iter().map(|v| v.s2.ln() - digamma(v.df / 2.0) + (v.df / 2.0).ln()).collect();
        let mean = e.iter().sum::<f64>() / n;
        let spread = e.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
            - used.iter().map(|v| trigamma(v.df / 2.0)).sum::<f64>() / n;
        if spread <= 0.0 {
            return Self { df: f64::INFINITY, s2: mean.exp() };
        }
        let df = 2.0 * inverse_trigamma(spread);
        Self { df, s2: (mean + digamma(df / 2.0) - (df / 2.0).ln()).exp() }
    }

    /// The posterior variance of a series with variance `own`, and its degrees of freedom.
    pub(crate) fn moderate(&self, own: Variance) -> Variance {
        if self.df == 0.0 {
            own
        } else if self.df.is_infinite() {
            Variance { s2: self.s2, df: f64::INFINITY }
        } else {
            Variance { s2: (self.df * self.s2 + own.df * own.s2) / (self.df + own.df), df: self.df + own.df }
        }
    }
}

/// ψ′(x), the trigamma function, for x > 0: the recurrence ψ′(x) = ψ′(x + 1) + 1/x² up to x ≥ 10, then
/// the asymptotic series 1/x + 1/(2x²) + Σ B₂ₖ / x^(2k+1) (Abramowitz & Stegun 6.4.12), to 1e-13.
pub(crate) fn trigamma(mut x: f64) -> f64 {
    let mut sum = 0.0;
    while x < 10.0 {
        sum += 1.0 / (x * x);
        x += 1.0;
    }
    let y = 1.0 / (x * x);
    sum + 1.0 / x
        + y / 2.0
        + y / x * (1.0 / 6.0 - y * (1.0 / 30.0 - y * (1.0 / 42.0 - y * (1.0 / 30.0 - y * 5.0 / 66.0))))
}

/// The x > 0 with ψ′(x) = y, for y > 0, by bisection on ln x (ψ′ falls from +∞ to 0).
fn inverse_trigamma(y: f64) -> f64 {
    // ψ′(x) lies between 1/x and 1/x + 1/x², so the root is in [1/y, 1/y + 1] (widened for safety).
    let (mut lo, mut hi) = ((0.5 / y).ln(), (2.0 / y + 2.0).ln());
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if trigamma(mid.exp()) > y {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-15 {
            break;
        }
    }
    (0.5 * (lo + hi)).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigamma_matches_scipy() {
        // scipy.special.polygamma(1, x) (tests/reference/moderate.py).
        for (x, want) in TRIGAMMA {
            assert!((trigamma(x) - want).abs() < 1e-12 * want.max(1.0), "{x}: {} vs {want}", trigamma(x));
            assert!((inverse_trigamma(want) - x).abs() < 1e-9 * x.max(1.0), "{x}");
        }
    }

    const TRIGAMMA: [(f64, f64); 6] = [
        (0.1, 101.43329915079275),
        (0.5, 4.93480220054468),
        (1.0, 1.6449340668482266),
        (3.7, 0.31003785767003833),
        (11.0, 0.09516633568168575),
        (250.0, 0.004008010666632532),
    ];

    #[test]
    fn prior_matches_the_reference_fit() {
        // tests/reference/moderate.py: the same moments with scipy's digamma, polygamma and brentq.
        let variances: Vec<Variance> = REFERENCE_S2.iter().map(|&s2| Variance { s2, df: 22.0 }).collect();
        let prior = VariancePrior::fit(&variances);
        assert!((prior.df - REFERENCE_D0).abs() < 1e-8, "{prior:?}");
        assert!((prior.s2 - REFERENCE_S0).abs() < 1e-12, "{prior:?}");
        let post = prior.moderate(variances[0]);
        assert!(
            (post.s2 - (REFERENCE_D0 * REFERENCE_S0 + 22.0 * REFERENCE_S2[0]) / (REFERENCE_D0 + 22.0)).abs() < 1e-12
        );
        assert!((post.df - (REFERENCE_D0 + 22.0)).abs() < 1e-8);
        // Too few series, or variances that vary less than sampling explains.
        assert_eq!(VariancePrior::fit(&variances[..MIN_SERIES - 1]), VariancePrior::NONE);
        let same = vec![Variance { s2: 0.5, df: 22.0 }; 12];
        let prior = VariancePrior::fit(&same);
        assert!(prior.df.is_infinite() && prior.moderate(same[0]).df.is_infinite());
    }

    const REFERENCE_S2: [f64; 12] =
        [0.0061, 0.0072, 0.0049, 0.0110, 0.0068, 0.0081, 0.0055, 0.0093, 0.0070, 0.0240, 0.0064, 0.0077];
    const REFERENCE_D0: f64 = 27.140714077507226;
    const REFERENCE_S0: f64 = 0.007925269887884168;

    #[test]
    fn simulated_prior_is_recovered() {
        // σ² ~ s₀² d₀ / χ²_d₀ and s² ~ σ² χ²_d / d with d₀ = 12, s₀² = 0.007, d = 22 (20,000 series).
        use rand::SeedableRng;
        use rand_distr::{ChiSquared, Distribution};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (prior_chi, own_chi) = (ChiSquared::new(12.0).unwrap(), ChiSquared::new(22.0).unwrap());
        let variances: Vec<Variance> = (0..20_000)
            .map(|_| {
                let sigma2 = 0.007 * 12.0 / prior_chi.sample(&mut rng);
                Variance { s2: sigma2 * own_chi.sample(&mut rng) / 22.0, df: 22.0 }
            })
            .collect();
        let prior = VariancePrior::fit(&variances);
        assert!((prior.df - 12.0).abs() < 1.0, "{prior:?}");
        assert!((prior.s2 / 0.007 - 1.0).abs() < 0.03, "{prior:?}");
    }
}
