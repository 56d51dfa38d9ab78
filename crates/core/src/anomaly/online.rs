//! One series, one point at a time: the state machine behind [`super::stream`] and the NAB runner.
//!
//! The expected value is additive Holt-Winters in the log domain (Holt 1957, Winters 1960; error-
//! correction form as in Hyndman & Athanasopoulos, *Forecasting: Principles and Practice*, §8.3):
//! `level += α·e`, `season[t mod p] += γ·(1 − α)·e`, with the error `e` winsorised at `clip` scales so an
//! outlier moves the state no more than an ordinary day does (the robust filter of Gelper, Fried & Croux
//! 2010). The scale is an exponentially weighted mean absolute error per seasonal position (× √(π/2));
//! counts get the same check as the batch baseline ([`super::baseline`]): a drop against the negative
//! binomial's lower tail, a rise against the quasi-Poisson Pearson residual, with the dispersion an
//! exponentially weighted mean of the clipped squared Pearson residuals. Every update is
//! O(1) and the state is a fixed number of floats per seasonal position, whatever the series' length.
//!
//! Events open at the first unusual point (no delay) and close at the first ordinary one; a point more
//! than one step after the last is a gap, reported as a missing-data event when the later point arrives.
//! After `max_run` unusual points in a row the state is re-anchored on the new level (a level shift is
//! reported once, then learnt).
//!
//! Optionally, alarms are refractory (`refractory` steps, 0 = off): an event opened within that many
//! steps of a stronger or equal one is not reported — a burst of similar alarms is one alarm, a stronger
//! one still gets through. The state keeps the events of the last `refractory` steps as a monotone queue
//! (strengths decreasing), so the check is O(1) amortised and the memory at most `refractory` entries.
//!
//! Optionally (`calibrate`), each spike or drop also gets a conformal p-value (Vovk, Gammerman & Shafer
//! 2005, "Algorithmic Learning in a Random World"; for anomalies Laxhammar & Falkman 2010): the share of
//! the series' earlier points whose |z| was as large, from a fixed histogram of |z| in 5% bins (updated in
//! O(1), read in O(bins) at an event; the bin makes it conservative by at most 5% of |z|). A |z| of 8 is
//! routine for one series and unheard of for another; the p-value says which, so one threshold can serve
//! many series (the NAB runner).
//!
//! Optionally (`records`), a value beyond the series' whole range so far (above its highest or below its
//! lowest value, warm-up included) is a `Record` event, its strength the distance past the old extreme in
//! widths of the old range. A forecast residual misses what changes slowly (a temperature sliding to a
//! value never seen in months: the level follows it) and what the model learnt badly (the edges of a
//! square wave widen the scale of the whole day); "never this high or this low before" catches both, in
//! O(1) state. The spatial novelty of HTM (Ahmad et al. 2017, "Unsupervised real-time anomaly detection
//! for streaming data") rests on the same idea. Records are refractory on their own: a run of ever higher
//! values is one alarm unless a later record goes further past the range than an earlier one did.
//!
//! Optionally (`rarity`, a p-value), the last few values are judged by how often the series has been in
//! their range at their point of the season ([`super::rarity`]), and a window whose conformal p-value is
//! at or below the option is a `Rare` event (refractory on its own queue, by −ln p).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::Kind;
use super::baseline::{negative_binomial_size, negative_binomial_z};
use super::rarity::Rarity;
use crate::error::{Error, Result};

/// Settings of the online detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OnlineConfig {
    /// Seasonal period in steps (7 for daily data with a weekly cycle; 1 for none).
    pub period: usize,
    /// Level smoothing α.
    pub alpha: f64,
    /// Seasonal smoothing γ.
    pub gamma: f64,
    /// Scale and dispersion smoothing.
    pub beta: f64,
    /// Errors are winsorised at this many scales before they update the state.
    pub clip: f64,
    /// |z| at or above which a point is unusual.
    pub threshold: f64,
    /// Smallest relative change |x − expected| / max(|expected|, 1) for an unusual point.
    pub min_relative_change: f64,
    /// Points before the first event may open (the state is learning).
    pub warmup: usize,
    /// Unusual points in a row after which the state takes the new level.
    pub max_run: usize,
    /// Treat non-negative values as counts: log domain and the quasi-Poisson check.
    pub counts: bool,
    /// Steps after an event during which a new event is reported only if stronger (0: every event).
    pub refractory: usize,
    /// Keep the distribution of the series' |z| (a histogram of 5% bins from 1 up, [`TAIL_BINS`]
    /// counters) and give each spike or drop its conformal p-value against the earlier points.
    pub calibrate: bool,
    /// Report a value above the series' highest or below its lowest earlier value as a `Record` event
    /// (after warm-up; refractory like the other events, on its own queue).
    pub records: bool,
    /// Report the last few values as a `Rare` event when, for their point of the season, their
    /// frequency-based p-value ([`super::rarity`]) is at or below this (None: off). Keeps the warm-up
    /// points until their range is known, then a fixed table per series.
    pub rarity: Option<f64>,
}

/// Counters of the |z| histogram of a calibrated series: |z| < 1, then bins 5% wide up to 1.05^188 ≈
/// 9,600, the last one open-ended.
pub const TAIL_BINS: usize = 190;

impl Default for OnlineConfig {
    fn default() -> Self {
        Self {
            period: 7,
            alpha: 0.1,
            gamma: 0.1,
            beta: 0.15,
            clip: 3.0,
            threshold: 3.5,
            min_relative_change: 0.5,
            warmup: 28,
            max_run: 7,
            counts: true,
            refractory: 0,
            calibrate: false,
            records: false,
            rarity: None,
        }
    }
}

impl OnlineConfig {
    /// Checks the fields.
    pub fn validate(&self) -> Result<()> {
        let unit = |field: &str, v: f64| {
            if v > 0.0 && v < 1.0 {
                Ok(())
            } else {
                Err(Error::config(format!("anomaly.online.{field}"), format!("must be in (0, 1), got {v}")))
            }
        };
        if self.period == 0 {
            return Err(Error::config("anomaly.online.period", "must be at least 1, got 0"));
        }
        unit("alpha", self.alpha)?;
        unit("gamma", self.gamma)?;
        unit("beta", self.beta)?;
        for (field, v) in [("clip", self.clip), ("threshold", self.threshold)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::config(format!("anomaly.online.{field}"), format!("must be > 0, got {v}")));
            }
        }
        if !(self.min_relative_change >= 0.0 && self.min_relative_change.is_finite()) {
            return Err(Error::config(
                "anomaly.online.min_relative_change",
                format!("must be a finite number >= 0, got {}", self.min_relative_change),
            ));
        }
        if let Some(p) = self.rarity
            && !(p > 0.0 && p <= 1.0)
        {
            return Err(Error::config("anomaly.online.rarity", format!("must be a p-value in (0, 1], got {p}")));
        }
        if self.max_run == 0 {
            return Err(Error::config("anomaly.online.max_run", "must be at least 1, got 0"));
        }
        Ok(())
    }
}

/// An event as the online detector reports it, at the step it opens (or, for missing data, when the
/// first point after the gap arrives).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnlineEvent {
    /// Spike, drop or missing.
    pub kind: Kind,
    /// First step of the event.
    pub start: i64,
    /// Last step known when reported (the opening step; the last missing step for a gap).
    pub end: i64,
    /// Expected value at `start` (original scale).
    pub expected: f64,
    /// Observed value at `start`; NaN for missing data.
    pub observed: f64,
    /// |z| / threshold at `start`; missing steps for a gap; for a record, how far past the earlier
    /// extreme (`expected`) the value went, in widths of the earlier range; for a rare window, its mean
    /// surprise in nats (`expected` is then the typical value of the point's slot).
    pub strength: f64,
    /// For a rare window, its p-value ([`super::rarity::Rare`]); with `calibrate`, for a spike or drop:
    /// (1 + earlier points with |z| in the event's histogram bin or above) / (1 + earlier points) — a
    /// conformal p-value (Vovk, Gammerman & Shafer 2005; Laxhammar & Falkman 2010), conservative by up to
    /// one 5% bin. Comparable across series, where |z| is not.
    pub p_value: Option<f64>,
}

/// What one point did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step {
    /// Before this step, or earlier than the last step: ignored (counted by the caller).
    Late,
    /// Accepted; the z-score (0 during warm-up) and whether the point is unusual.
    Scored {
        /// Standardised error of the point.
        z: f64,
        /// Whether the point passed the threshold and the relative-change floor.
        unusual: bool,
    },
}

/// The state of one series. Plain data, so a snapshot is exact. Two states are equal when their encodings
/// are (every float compared by its bits), so a state with a level or scale not yet known (NaN) equals its
/// restored copy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OnlineState {
    last: Option<i64>,
    seen: u64,
    level: f64,
    season: Vec<f64>,
    abs_error: Vec<f64>,
    dispersion: f64,
    counts: bool,
    run: u32,
    open: bool,
    /// Events opened in the last `refractory` steps: (step, strength), strengths decreasing.
    recent: VecDeque<(i64, f64)>,
    /// Lowest and highest value so far (+∞ and −∞ before the first point, so states compare equal).
    low: f64,
    high: f64,
    /// Records of the last `refractory` steps, as `recent`.
    recent_records: VecDeque<(i64, f64)>,
    /// With `rarity`: the frequency tables, and the rare windows of the last `refractory` steps by −ln p.
    rarity: Option<Rarity>,
    recent_rare: VecDeque<(i64, f64)>,
    /// With `calibrate`: the |z| histogram of the points scored so far ([`TAIL_BINS`] counters), else empty.
    tail: Vec<u32>,
}

impl PartialEq for OnlineState {
    fn eq(&self, other: &Self) -> bool {
        let bytes = |s: &Self| postcard::to_allocvec(s).ok();
        bytes(self).is_some_and(|a| Some(a) == bytes(other))
    }
}

impl OnlineState {
    /// A fresh state for `config`.
    pub fn new(config: &OnlineConfig) -> Self {
        Self {
            last: None,
            seen: 0,
            level: f64::NAN,
            season: vec![0.0; config.period],
            abs_error: vec![f64::NAN; config.period],
            dispersion: 1.0,
            counts: config.counts,
            run: 0,
            open: false,
            recent: VecDeque::new(),
            low: f64::INFINITY,
            high: f64::NEG_INFINITY,
            recent_records: VecDeque::new(),
            rarity: config.rarity.map(|_| Rarity::new(config.period)),
            recent_rare: VecDeque::new(),
            tail: if config.calibrate { vec![0; TAIL_BINS] } else { Vec::new() },
        }
    }

    /// The histogram bin of |z| (see [`TAIL_BINS`]).
    fn tail_bin(z: f64) -> usize {
        if z.abs() < 1.0 { 0 } else { (1.0 + z.abs().ln() / 1.05_f64.ln()).min((TAIL_BINS - 1) as f64) as usize }
    }

    /// The conformal p-value of |z| against the histogram; `None` when not calibrated.
    fn p_value(&self, z: f64) -> Option<f64> {
        if self.tail.is_empty() {
            return None;
        }
        let count = |bins: &[u32]| bins.iter().map(|c| u64::from(*c)).sum::<u64>();
        Some((1 + count(&self.tail[Self::tail_bin(z)..])) as f64 / (1 + count(&self.tail)) as f64)
    }

    /// The last step seen.
    pub fn last(&self) -> Option<i64> {
        self.last
    }

    /// Takes the point (`t`, `x`) and pushes the events it opens to `events`.
    pub fn update(&mut self, t: i64, x: f64, config: &OnlineConfig, events: &mut Vec<OnlineEvent>) -> Step {
        if self.last.is_some_and(|last| t <= last) || !x.is_finite() {
            return Step::Late;
        }
        if let Some(last) = self.last
            && t > last + 1
        {
            self.open = false;
            self.run = 0;
            {
                let k = (last + 1).rem_euclid(config.period as i64) as usize;
                events.push(OnlineEvent {
                    kind: Kind::Missing,
                    start: last + 1,
                    end: t - 1,
                    expected: self.original(self.level + self.season[k]),
                    observed: f64::NAN,
                    strength: (t - last - 1) as f64,
                    p_value: None,
                });
            }
        }
        self.last = Some(t);
        if self.counts && x < 0.0 {
            self.counts = false;
        }
        let y = if self.counts { super::ln_1p(x) } else { x };
        let k = t.rem_euclid(config.period as i64) as usize;
        self.seen += 1;
        let warm = self.seen as usize > config.warmup;
        if config.records {
            self.record(t, x, warm, config, events);
        }
        if let Some(alpha) = config.rarity {
            self.rare(t, x, warm, alpha, config, events);
        }
        if self.level.is_nan() {
            self.level = y;
            return Step::Scored { z: 0.0, unusual: false };
        }
        let forecast = self.level + self.season[k];
        let error = y - forecast;
        let expected = self.original(forecast);
        let known_scale = self.abs_error[k].is_finite();
        let scale = if known_scale { self.abs_error[k] * (std::f64::consts::PI / 2.0).sqrt() } else { f64::NAN };
        let mut z = if known_scale && scale > 0.0 { error / scale } else { 0.0 };
        if self.counts && z != 0.0 {
            let (mu, phi) = (expected.max(0.5), self.dispersion.max(1.0));
            let count = if x < mu {
                // As the batch baseline: a drop against the negative binomial of the quasi-Poisson variance
                // at the series' level (its seasonal position aside).
                let theta = negative_binomial_size(phi, self.original(self.level).max(0.5));
                negative_binomial_z(x, mu, theta)
            } else {
                (x - mu) / (phi * mu).sqrt()
            };
            if count.abs() < z.abs() {
                z = count.abs().copysign(z);
            }
        }
        let change = (x - expected) / expected.abs().max(1.0);
        let unusual = warm && z.abs() >= config.threshold && change.abs() >= config.min_relative_change;
        if unusual {
            self.run += 1;
            if !self.open {
                self.open = true;
                let strength = z.abs() / config.threshold;
                if not_refractory(&mut self.recent, t, strength, config.refractory) {
                    events.push(OnlineEvent {
                        kind: if z > 0.0 { Kind::Spike } else { Kind::Drop },
                        start: t,
                        end: t,
                        expected,
                        observed: x,
                        strength,
                        p_value: self.p_value(z),
                    });
                }
            }
        } else {
            self.open = false;
            self.run = 0;
        }
        if known_scale && scale > 0.0 && !self.tail.is_empty() {
            let bin = Self::tail_bin(z);
            self.tail[bin] = self.tail[bin].saturating_add(1);
        }
        if self.run as usize >= config.max_run {
            // The new level is here to stay: take it, keep the seasonal shape.
            self.level += error;
            self.run = 0;
            self.open = false;
            return Step::Scored { z, unusual };
        }
        let bound = if known_scale && scale > 0.0 { config.clip * scale } else { f64::INFINITY };
        let e = error.clamp(-bound, bound);
        // While the scale is unknown (first cycle), learn faster: plain running means.
        let rate = |r: f64| if warm { r } else { (1.0 / self.seen as f64).max(r) };
        self.level += rate(config.alpha) * e;
        self.season[k] += rate(config.gamma) * (1.0 - rate(config.alpha)) * e;
        self.abs_error[k] =
            if known_scale { self.abs_error[k] + rate(config.beta) * (e.abs() - self.abs_error[k]) } else { e.abs() };
        if self.counts {
            let mu = expected.max(0.5);
            // Winsorised like the error: at `clip` of its own scale, so a spike cannot mask the days after it.
            let pearson2 = ((x - mu).powi(2) / mu).min(config.clip.powi(2) * self.dispersion.max(1.0));
            self.dispersion += rate(config.beta) * (pearson2 - self.dispersion);
        }
        Step::Scored { z, unusual }
    }

    /// Reports `x` at `t` if it lies beyond the range of the earlier values (after warm-up), then widens
    /// the range to take it.
    fn record(&mut self, t: i64, x: f64, warm: bool, config: &OnlineConfig, events: &mut Vec<OnlineEvent>) {
        if self.low > self.high {
            (self.low, self.high) = (x, x);
            return;
        }
        let past = if x > self.high {
            Some(self.high)
        } else if x < self.low {
            Some(self.low)
        } else {
            None
        };
        if let Some(extreme) = past
            && warm
        {
            // A range of width zero (a constant series so far) counts as the smallest positive width at its
            // magnitude, so any change is a very strong record and the strength stays finite.
            let width = (self.high - self.low).max(f64::EPSILON * extreme.abs().max(1.0));
            let strength = (x - extreme).abs() / width;
            if not_refractory(&mut self.recent_records, t, strength, config.refractory) {
                events.push(OnlineEvent {
                    kind: Kind::Record,
                    start: t,
                    end: t,
                    expected: extreme,
                    observed: x,
                    strength,
                    p_value: None,
                });
            }
        }
        (self.low, self.high) = (self.low.min(x), self.high.max(x));
    }

    /// Updates the frequency tables with `x` at `t` and reports the window ending there if its p-value is at
    /// or below `alpha`.
    fn rare(&mut self, t: i64, x: f64, warm: bool, alpha: f64, config: &OnlineConfig, events: &mut Vec<OnlineEvent>) {
        let Some(rarity) = self.rarity.as_mut() else { return };
        if let Some(rare) = rarity.update(t, x, config.period, warm)
            && rare.p_value <= alpha
            && not_refractory(&mut self.recent_rare, t, -rare.p_value.ln(), config.refractory)
        {
            events.push(OnlineEvent {
                kind: Kind::Rare,
                start: t,
                end: t,
                expected: rare.typical,
                observed: x,
                strength: rare.surprise,
                p_value: Some(rare.p_value),
            });
        }
    }

    fn original(&self, x: f64) -> f64 {
        if self.counts { x.exp_m1() } else { x }
    }
}

/// Whether an event of `strength` opening at `t` is reported under the refractory rule, given the events
/// of the last `refractory` steps in `recent` (strengths decreasing); records it there.
fn not_refractory(recent: &mut VecDeque<(i64, f64)>, t: i64, strength: f64, refractory: usize) -> bool {
    if refractory == 0 {
        return true;
    }
    while recent.front().is_some_and(|(s, _)| *s < t - refractory as i64) {
        recent.pop_front();
    }
    let report = recent.front().is_none_or(|(_, strongest)| strength > *strongest);
    while recent.back().is_some_and(|(_, s)| *s <= strength) {
        recent.pop_back();
    }
    recent.push_back((t, strength));
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spike_opens_one_event_and_a_gap_is_reported() {
        let config = OnlineConfig::default();
        let mut state = OnlineState::new(&config);
        let mut events = Vec::new();
        let v = crate::anomaly::weekly_series(120, 3);
        for (t, x) in v.iter().enumerate() {
            let t = t as i64;
            if (90..93).contains(&t) {
                continue;
            }
            let x = if t == 60 || t == 61 { x * 8.0 } else { *x };
            state.update(t, x, &config, &mut events);
        }
        let kinds: Vec<(Kind, i64, i64)> = events.iter().map(|e| (e.kind, e.start, e.end)).collect();
        assert_eq!(kinds, [(Kind::Spike, 60, 60), (Kind::Missing, 90, 92)], "{events:?}");
        assert_eq!(state.update(10, 1.0, &config, &mut events), Step::Late);
        // A state whose level or scales are not known yet (NaN) still equals its copy.
        let mut young = OnlineState::new(&config);
        young.update(0, 5.0, &config, &mut events);
        assert!(young.abs_error[0].is_nan() && young == young.clone() && young != state);
    }

    #[test]
    fn calibrated_events_carry_their_rank_among_earlier_points() {
        let config = OnlineConfig { calibrate: true, ..OnlineConfig::default() };
        let mut state = OnlineState::new(&config);
        let mut events = Vec::new();
        let v = crate::anomaly::weekly_series(400, 3);
        let mut z_before = Vec::new();
        for (t, x) in v.iter().enumerate() {
            let x = if t == 300 { x * 8.0 } else { *x };
            // A point enters the histogram once its weekday's scale is known.
            let scale = state.abs_error[t % config.period];
            if let Step::Scored { z, .. } = state.update(t as i64, x, &config, &mut events)
                && t < 300
                && scale.is_finite()
                && scale > 0.0
            {
                z_before.push(z.abs());
            }
        }
        let spike = events.iter().find(|e| e.start == 300).expect("the spike is found");
        // Brute force: earlier |z| in the spike's 5% bin or above, counted directly.
        let bin = OnlineState::tail_bin(spike.strength * config.threshold);
        let at_least = z_before.iter().filter(|z| OnlineState::tail_bin(**z) >= bin).count();
        let total = state.tail.iter().map(|c| u64::from(*c)).sum::<u64>() as usize;
        assert_eq!(total, z_before.len() + 100, "every point after the first week, the spike's own included");
        assert_eq!(spike.p_value, Some((1 + at_least) as f64 / (1 + z_before.len()) as f64));
        assert!(spike.p_value.unwrap() < 0.01, "{spike:?}");
        assert_eq!(state.tail.len(), TAIL_BINS, "the histogram does not grow");
        let plain = OnlineConfig::default();
        let mut events = Vec::new();
        let mut state = OnlineState::new(&plain);
        v.iter().enumerate().for_each(|(t, x)| {
            state.update(t as i64, if t == 300 { x * 8.0 } else { *x }, &plain, &mut events);
        });
        assert!(events.iter().all(|e| e.p_value.is_none()) && state.tail.is_empty());
    }

    #[test]
    fn records_catch_a_slow_slide_the_forecast_follows() {
        // A noisy level of 100 (sd 1), then from step 300 a slide of 0.2 a step down to 40: each step is
        // a fraction of the noise, so the level follows it and no residual stands out, but within a few
        // dozen steps the values are lower than any before.
        use rand::SeedableRng;
        use rand_distr::{Distribution, StandardNormal};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let values: Vec<f64> = (0..600)
            .map(|t| {
                let level = if t < 300 { 100.0 } else { (100.0 - 0.2 * (t - 300) as f64).max(40.0) };
                level + <StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut rng)
            })
            .collect();
        let run = |config: &OnlineConfig| {
            let mut state = OnlineState::new(config);
            let mut events = Vec::new();
            values.iter().enumerate().for_each(|(t, x)| {
                state.update(t as i64, *x, config, &mut events);
            });
            events
        };
        let plain = OnlineConfig { period: 1, counts: false, min_relative_change: 0.0, ..OnlineConfig::default() };
        assert!(run(&plain).iter().all(|e| e.start < 300 || e.start > 320), "the residual misses the slide");
        let config = OnlineConfig { records: true, refractory: 50, warmup: 250, ..plain.clone() };
        let records: Vec<OnlineEvent> = run(&config).into_iter().filter(|e| e.kind == Kind::Record).collect();
        // Brute force: the first value after warm-up beyond every earlier value, and what it went past.
        let beyond = |t: usize| {
            let (low, high) =
                values[..t].iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(*v), h.max(*v)));
            (values[t] < low || values[t] > high).then_some((low, high))
        };
        let first = (config.warmup..600).find(|t| beyond(*t).is_some()).expect("a record");
        let (low, high) = beyond(first).unwrap();
        let extreme = if values[first] < low { low } else { high };
        let r = &records[0];
        assert_eq!((r.start, r.expected, r.observed), (first as i64, extreme, values[first]), "{records:?}");
        assert_eq!(r.strength, (values[first] - extreme).abs() / (high - low));
        assert!(records.iter().any(|e| (300..340).contains(&e.start)), "the slide is caught early: {records:?}");
        // Refractory: of the new lows along the slide, only those going further past the range than every
        // record of the 50 steps before are reported.
        let slide: Vec<&OnlineEvent> = records.iter().filter(|e| e.start >= 300).collect();
        let lows = (300..600).filter(|t| beyond(*t).is_some()).count();
        assert!(slide.len() * 3 < lows && slide.iter().all(|e| e.observed < e.expected), "{lows} {slide:?}");
        let plain_records = run(&OnlineConfig { records: false, ..config });
        assert!(plain_records.iter().all(|e| e.kind != Kind::Record));
    }

    #[test]
    fn refractory_alarms_let_only_stronger_events_through() {
        let config = OnlineConfig { refractory: 7, ..OnlineConfig::default() };
        let run = |config: &OnlineConfig| {
            let mut state = OnlineState::new(config);
            let mut events = Vec::new();
            for (t, x) in crate::anomaly::weekly_series(200, 3).iter().enumerate() {
                // Weekday spikes: 99, a weaker one at 101 and a stronger one at 105 (both within a week
                // of 99), a weaker one at 115, more than a week after the last.
                let factor = match t {
                    99 => 8.0,
                    101 => 5.0,
                    105 => 30.0,
                    115 => 5.0,
                    _ => 1.0,
                };
                state.update(t as i64, x * factor, config, &mut events);
            }
            assert!(state.recent.len() <= config.refractory.max(1), "{:?}", state.recent);
            events.iter().map(|e| (e.start, e.strength)).collect::<Vec<_>>()
        };
        let all = run(&OnlineConfig::default());
        assert_eq!(all.iter().map(|e| e.0).collect::<Vec<_>>(), [99, 101, 105, 115], "{all:?}");
        assert!(all[1].1 < all[0].1 && all[2].1 > all[0].1, "{all:?}");
        let refractory = run(&config);
        assert_eq!(refractory.iter().map(|e| e.0).collect::<Vec<_>>(), [99, 105, 115], "{refractory:?}");
    }
}
