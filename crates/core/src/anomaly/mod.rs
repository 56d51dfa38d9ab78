//! Anomaly detection: what in an account's usage needs a person's attention today.
//!
//! - Batch detectors over whole series ([`detectors`]), all behind one [`Detector`] trait and fed the same
//!   seasonal baseline ([`baseline`]: STL in the log domain, refitted without its own outliers): a residual
//!   detector (robust MAD z-score of the STL remainder), Seasonal Hybrid ESD (Hochenbaum, Vallis & Kejariwal
//!   2017), level- and volatility-shift detectors (two adjacent windows) and a dead-feed detector (missing
//!   days and improbably long runs of one value).
//! - [`detect`] runs them over a long table (one series per account and metric), combines the detectors'
//!   findings per metric ([`ensemble`]) and groups the metrics of one account that moved together into
//!   incidents with a readable explanation.
//! - [`stream`]: the same questions asked one point at a time ([`online`]; optionally with records and
//!   [`rarity`], values rare for their point of the season), with bounded state per series and a
//!   snapshot that restores exactly; [`steps`] runs it over one plain series of any frequency.
//! - [`peer`]: accounts unlike their segment peers (isolation forest, robust distance).
//! - [`nab`]: the Numenta Anomaly Benchmark's scoring, to measure the streaming detector honestly.

pub mod baseline;
pub mod detect;
pub mod detectors;
pub mod ensemble;
pub mod evaluate;
pub mod nab;
pub mod online;
pub mod peer;
pub mod rarity;
pub mod shifts;
pub mod steps;
pub mod stream;

pub use baseline::{BaselineConfig, Prepared};
pub use detect::{AnomalyConfig, AnomalyResult, detect, detect_observed};
pub use detectors::{ResidualMad, Shesd};
pub use online::{OnlineConfig, OnlineState};
pub use peer::{PeerConfig, RecentConfig, peer_outliers, recent_features};
pub use shifts::{Flatline, LevelShift, VolatilityShift};
pub use stream::{StreamConfig, StreamDetector, StreamStats};

use serde::{Deserialize, Serialize};

/// The usage metrics every anomaly configuration reads by default.
pub(crate) fn usage_metrics() -> Vec<String> {
    ["active_users", "logins", "sessions", "feature_events", "api_calls"].map(String::from).to_vec()
}

/// What kind of unusual behaviour a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Values far above the expected (seasonal) level for a few points.
    Spike,
    /// Values far below the expected level for a few points (an outage, a failed sync).
    Drop,
    /// Days with no data inside the series (a dead feed).
    Missing,
    /// The same value repeated for improbably long (a stuck feed).
    Flatline,
    /// The level moved and stayed.
    LevelShift,
    /// The noise around the level grew or shrank and stayed.
    VolatilityShift,
    /// A value beyond every earlier value of the series, above its highest or below its lowest (the
    /// online detector with `records`; direction from the sign of the change).
    Record,
    /// The last few values sit where the series has rarely been at this point of its season (the online
    /// detector with `rarity`).
    Rare,
}

impl Kind {
    /// The snake_case name used in tables.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Spike => "spike",
            Kind::Drop => "drop",
            Kind::Missing => "missing",
            Kind::Flatline => "flatline",
            Kind::LevelShift => "level_shift",
            Kind::VolatilityShift => "volatility_shift",
            Kind::Record => "record",
            Kind::Rare => "rare",
        }
    }

    /// "up", "down" or "none".
    pub fn direction(self, change: f64) -> &'static str {
        match self {
            Kind::Spike => "up",
            Kind::Drop => "down",
            Kind::Missing | Kind::Flatline => "none",
            Kind::LevelShift | Kind::VolatilityShift | Kind::Record | Kind::Rare if change > 0.0 => "up",
            Kind::LevelShift | Kind::VolatilityShift | Kind::Record | Kind::Rare if change < 0.0 => "down",
            _ => "none",
        }
    }
}

/// One unusual stretch of one series found by one detector. Positions index the prepared series
/// ([`Prepared`]); `score` is in the detector's own unit and `score / threshold ≥ 1` for every finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// First position (inclusive).
    pub start: usize,
    /// Last position (inclusive).
    pub end: usize,
    /// The position where the finding is strongest.
    pub peak: usize,
    /// What kind of anomaly.
    pub kind: Kind,
    /// Strength at the peak, in the detector's unit (see each detector).
    pub score: f64,
    /// The detector's threshold for `score`.
    pub threshold: f64,
    /// The expected value at the peak on the original scale (the level before, for a shift).
    pub expected: f64,
    /// The observed value at the peak (the level after, for a shift); NaN for missing data.
    pub observed: f64,
}

impl Finding {
    /// `score / threshold`: 1 at the detection threshold; what [`Severity`] is graded on.
    pub fn strength(&self) -> f64 {
        self.score / self.threshold
    }
}

/// What one detector says about one series: a score per position (in its own unit, 0 where it has no
/// opinion) and the findings.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Detection {
    /// One score per position of the prepared series.
    pub scores: Vec<f64>,
    /// The findings, in time order.
    pub findings: Vec<Finding>,
}

/// A batch detector: reads a prepared series, says where it is unusual.
pub trait Detector: Send + Sync {
    /// The name used in the `detectors` column of the results.
    fn name(&self) -> &'static str;
    /// The score at or above which a position is anomalous.
    fn threshold(&self) -> f64;
    /// Scores the series and lists its findings.
    fn detect(&self, series: &Prepared) -> Detection;
}

/// How urgent an event is, graded on its strength (score / threshold) or, for missing and flat data, on
/// how many days the feed was dead: low (< 1.5 or 1 day), medium (< 2.5 or ≤ 3 days), high (< 4 or ≤ 6
/// days), critical otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth a look.
    Low,
    /// Worth a look today.
    Medium,
    /// Act today.
    High,
    /// Act now.
    Critical,
}

impl Severity {
    /// The grade of a finding.
    pub fn of(kind: Kind, strength: f64, days: usize) -> Self {
        match kind {
            Kind::Missing | Kind::Flatline => match days {
                0..=1 => Severity::Low,
                2..=3 => Severity::Medium,
                4..=6 => Severity::High,
                _ => Severity::Critical,
            },
            _ if strength < 1.5 => Severity::Low,
            _ if strength < 2.5 => Severity::Medium,
            _ if strength < 4.0 => Severity::High,
            _ => Severity::Critical,
        }
    }

    /// The snake_case name used in tables.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// The median and the normal-consistent MAD (1.4826 · median |x − median|) of `values` (reordered).
/// Falls back to the mean absolute deviation · √(π/2) when more than half the values are equal; 0 only
/// when all are.
pub(crate) fn median_mad(values: &mut [f64]) -> (f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let median = crate::trend::significance::median(values);
    values.iter_mut().for_each(|v| *v = (*v - median).abs());
    let mean_abs = values.iter().sum::<f64>() / values.len() as f64;
    let mad = 1.4826 * crate::trend::significance::median(values);
    if mad > 0.0 { (median, mad) } else { (median, mean_abs * (std::f64::consts::PI / 2.0).sqrt()) }
}

/// ln(1 + v): for the whole numbers below 4,096 (most usage counts) from a table of `f64::ln_1p`'s own
/// values, so every day of every series does not pay for the logarithm; the same result either way.
pub(crate) fn ln_1p(v: f64) -> f64 {
    static TABLE: std::sync::OnceLock<Vec<f64>> = std::sync::OnceLock::new();
    if (0.0..4096.0).contains(&v) && v.fract() == 0.0 {
        TABLE.get_or_init(|| (0..4096).map(|k| f64::from(k).ln_1p()).collect())[v as usize]
    } else {
        v.ln_1p()
    }
}

/// An integer whose order is `f64::total_cmp`'s order (the same bit flip `total_cmp` makes), for sorts
/// and comparisons on integers.
pub(crate) fn total_order_key(v: f64) -> i64 {
    let bits = v.to_bits() as i64;
    bits ^ ((((bits >> 63) as u64) >> 1) as i64)
}

/// The value of a [`total_order_key`] (the flip is its own inverse).
pub(crate) fn from_total_order_key(k: i64) -> f64 {
    f64::from_bits(total_order_key(f64::from_bits(k as u64)) as u64)
}

/// Test series: `days` days of `per_day` steps, a daily square wave (80 through the middle half of each
/// day, 20 otherwise) plus normal noise (sd 2), seeded; on `flat_day` the plateau never comes.
#[cfg(test)]
pub(crate) fn square_wave(per_day: usize, days: usize, flat_day: usize, seed: u64) -> Vec<f64> {
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let noise = Normal::new(0.0, 2.0).expect("valid normal");
    (0..per_day * days)
        .map(|t| {
            let high = (per_day / 3..per_day * 5 / 6).contains(&(t % per_day)) && t / per_day != flat_day;
            let level = if high { 80.0 } else { 20.0 };
            level + noise.sample(&mut rng)
        })
        .collect()
}

/// Test series: a weekly pattern (weekdays 100, weekends 30) times log-normal noise (sd 0.1), seeded.
#[cfg(test)]
pub(crate) fn weekly_series(n: usize, seed: u64) -> Vec<f64> {
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let noise = Normal::new(0.0, 0.1).expect("valid normal");
    (0..n).map(|i| if i % 7 >= 5 { 30.0 } else { 100.0 } * f64::exp(noise.sample(&mut rng))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mad_is_normal_consistent_and_falls_back() {
        let mut v = vec![1.0, 2.0, 3.0, 4.0, 100.0];
        let (m, s) = median_mad(&mut v);
        assert_eq!(m, 3.0);
        assert!((s - 1.4826).abs() < 1e-12);
        let mut v = vec![5.0, 5.0, 5.0, 9.0];
        let (m, s) = median_mad(&mut v);
        assert_eq!(m, 5.0);
        assert!((s - 1.0 * (std::f64::consts::PI / 2.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn ln_1p_from_the_table_is_ln_1p() {
        for v in [0.0, 1.0, 2.0, 17.0, 4095.0, 4096.0, 1e6, 0.5, 3.25, -0.5] {
            assert_eq!(ln_1p(v).to_bits(), v.ln_1p().to_bits(), "{v}");
        }
    }

    #[test]
    fn total_order_keys_order_as_total_cmp_and_invert() {
        let v = [f64::NEG_INFINITY, -3.5, -1e-300, -0.0, 0.0, 1e-300, 2.0, 7.25, f64::INFINITY, f64::NAN, -f64::NAN];
        for a in v {
            assert_eq!(from_total_order_key(total_order_key(a)).to_bits(), a.to_bits());
            for b in v {
                assert_eq!(total_order_key(a).cmp(&total_order_key(b)), a.total_cmp(&b), "{a} {b}");
            }
        }
    }

    #[test]
    fn severity_grades() {
        assert_eq!(Severity::of(Kind::Spike, 1.2, 1), Severity::Low);
        assert_eq!(Severity::of(Kind::Drop, 5.0, 1), Severity::Critical);
        assert_eq!(Severity::of(Kind::Missing, 0.0, 3), Severity::Medium);
    }
}
