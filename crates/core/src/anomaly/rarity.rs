//! How rare the last few values of a series are for their point in its season, one point at a time: the
//! frequency model behind the online detector's `rarity` option ([`super::online`]).
//!
//! The values are cut into [`BUCKETS`] equal buckets over the range of the warm-up, plus one below and
//! one above it, and each seasonal position, folded into at most [`SLOTS`] slots (the hours of a day of
//! 5-minute data, the weekdays of daily data), counts how often each bucket occurred there. The surprise
//! of a value is −ln of its bucket's frequency in its slot, smoothed as (count + ½) / (total + ½·k) over
//! the k buckets (the Krichevsky–Trofimov estimator). The score of a step is the mean surprise of the last
//! [`WINDOW`] steps, and its p-value the share of earlier steps whose mean was as high (a conformal
//! p-value, Vovk, Gammerman & Shafer 2005), read from a fixed histogram of bins [`BIN`] nats wide.
//!
//! This is the anomaly likelihood of HTM (Ahmad, Lavin, Purdy & Agha 2017, "Unsupervised real-time
//! anomaly detection for streaming data"): a short-window mean of a per-point surprise, judged against its
//! own history, so one cut-off means the same on every series. The surprise here comes from counts, not
//! from a sequence memory, and the judgement is a rank, not a normal fit. It catches what a forecast
//! residual misses: a daily pattern that fails to appear (a plateau that stays low), a level the series
//! only ever passed through, a burst of values each within a few scales of the forecast.
//!
//! Written here because no crate keeps such frequency tables with a conformal tail in fixed memory. The
//! state holds the warm-up points until their range is known, then `slots × (BUCKETS + 2)` counters, the
//! window and the histogram: a fixed size whatever the series' length.

use serde::{Deserialize, Serialize};

/// Equal-width buckets over the warm-up range (two more hold the values below and above it).
pub const BUCKETS: usize = 20;
/// Most slots a season is folded into.
pub const SLOTS: usize = 24;
/// Steps whose surprise is averaged.
pub const WINDOW: usize = 6;
/// Width of a bin of the mean-surprise histogram, in nats.
pub const BIN: f64 = 0.05;
/// Bins of the mean-surprise histogram (the last one open-ended, from 20 nats).
pub const TAIL_BINS: usize = 400;

const KINDS: usize = BUCKETS + 2;

/// How rare the window ending at a step was.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rare {
    /// Mean surprise of the last [`WINDOW`] steps, in nats.
    pub surprise: f64,
    /// (1 + earlier steps with a mean in the same bin or above) / (1 + earlier steps).
    pub p_value: f64,
    /// The middle of the most frequent bucket of the step's slot (its typical value; the range's edge for
    /// the buckets outside it).
    pub typical: f64,
}

/// The frequency state of one series. Plain data, so a snapshot is exact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rarity {
    /// Warm-up points (step, value) until the range is set.
    pending: Vec<(i64, f64)>,
    /// The warm-up range; +∞ and −∞ until set (not NaN, so states compare equal).
    low: f64,
    high: f64,
    /// Slots × [`KINDS`] counts, and the total per slot.
    counts: Vec<u32>,
    totals: Vec<u32>,
    /// The last surprises (a ring, `next` the oldest once full) and how many it holds.
    window: [f64; WINDOW],
    next: usize,
    filled: usize,
    /// Histogram of the mean surprise of the steps scored so far. The p-value counts the bins below the
    /// step's (usual steps sit in the first few dozen bins, a few cache lines read in order; a Fenwick
    /// tree's scattered reads were no faster with 50,000 series' tables out of cache).
    tail: Vec<u32>,
    scored: u64,
}

impl Rarity {
    /// A fresh state for a season of `period` steps.
    pub fn new(period: usize) -> Self {
        let slots = period.clamp(1, SLOTS);
        Self {
            pending: Vec::new(),
            low: f64::INFINITY,
            high: f64::NEG_INFINITY,
            counts: vec![0; slots * KINDS],
            totals: vec![0; slots],
            window: [0.0; WINDOW],
            next: 0,
            filled: 0,
            tail: vec![0; TAIL_BINS],
            scored: 0,
        }
    }

    fn slot(&self, t: i64, period: usize) -> usize {
        t.rem_euclid(period as i64) as usize * self.totals.len() / period
    }

    fn bucket(&self, x: f64) -> usize {
        if x < self.low {
            0
        } else if x > self.high {
            KINDS - 1
        } else {
            let width = self.width();
            1 + (((x - self.low) / width * BUCKETS as f64) as usize).min(BUCKETS - 1)
        }
    }

    /// The range's width; a constant warm-up counts as the smallest positive width at its magnitude.
    fn width(&self) -> f64 {
        (self.high - self.low).max(f64::EPSILON * self.high.abs().max(1.0))
    }

    fn count(&mut self, slot: usize, bucket: usize) {
        let cell = &mut self.counts[slot * KINDS + bucket];
        *cell = cell.saturating_add(1);
        self.totals[slot] = self.totals[slot].saturating_add(1);
    }

    /// Takes the point (`t`, `x`). While `warm` is false the point is only kept; the first warm point sets
    /// the range from the kept ones and counts them. Returns the window's rarity once [`WINDOW`] warm
    /// points have been seen.
    pub fn update(&mut self, t: i64, x: f64, period: usize, warm: bool) -> Option<Rare> {
        if !warm {
            self.pending.push((t, x));
            return None;
        }
        if self.low > self.high {
            // The range of the warm-up (of this point when there was none).
            let pending = std::mem::take(&mut self.pending);
            let first = pending.first().map_or(x, |(_, v)| *v);
            (self.low, self.high) = pending.iter().fold((first, first), |(l, h), (_, v)| (l.min(*v), h.max(*v)));
            for (u, v) in pending {
                self.count(self.slot(u, period), self.bucket(v));
            }
        }
        let (slot, bucket) = (self.slot(t, period), self.bucket(x));
        let seen = f64::from(self.counts[slot * KINDS + bucket]);
        let surprise = -((seen + 0.5) / (f64::from(self.totals[slot]) + 0.5 * KINDS as f64)).ln();
        self.count(slot, bucket);
        self.window[self.next] = surprise;
        self.next = (self.next + 1) % WINDOW;
        self.filled = (self.filled + 1).min(WINDOW);
        if self.filled < WINDOW {
            return None;
        }
        // Oldest first, so the sum is the same whatever the ring's position.
        let sum = (0..WINDOW).map(|i| self.window[(self.next + i) % WINDOW]).sum::<f64>();
        let mean = sum / WINDOW as f64;
        let bin = ((mean / BIN) as usize).min(TAIL_BINS - 1);
        let below = self.tail[..bin].iter().map(|c| u64::from(*c)).sum::<u64>();
        let p_value = (1 + self.scored - below) as f64 / (1 + self.scored) as f64;
        self.tail[bin] = self.tail[bin].saturating_add(1);
        self.scored += 1;
        Some(Rare { surprise: mean, p_value, typical: self.typical(slot) })
    }

    /// The middle of the slot's most frequent bucket (the first of equals).
    fn typical(&self, slot: usize) -> f64 {
        let row = &self.counts[slot * KINDS..(slot + 1) * KINDS];
        let mode = row.iter().enumerate().fold(0, |best, (i, c)| if *c > row[best] { i } else { best });
        match mode {
            0 => self.low,
            m if m == KINDS - 1 => self.high,
            m => self.low + (m as f64 - 0.5) * self.width() / BUCKETS as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force from the definition: buckets of the warm-up range, counts per slot of everything
    /// before, the mean of the last `WINDOW` surprises and its rank among the earlier means (binned).
    fn brute_force(values: &[f64], period: usize, warmup: usize) -> Vec<Option<(f64, f64)>> {
        let slots = period.min(SLOTS);
        let (low, high) =
            values[..warmup].iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(*v), h.max(*v)));
        let bucket = |x: f64| {
            if x < low {
                0
            } else if x > high {
                BUCKETS + 1
            } else {
                1 + (((x - low) / (high - low) * BUCKETS as f64) as usize).min(BUCKETS - 1)
            }
        };
        let slot = |t: usize| (t % period) * slots / period;
        let mut surprises = Vec::new();
        let mut means: Vec<f64> = Vec::new();
        let mut out = vec![None; warmup];
        for t in warmup..values.len() {
            let same = (0..t).filter(|u| slot(*u) == slot(t) && bucket(values[*u]) == bucket(values[t])).count();
            let total = (0..t).filter(|u| slot(*u) == slot(t)).count();
            surprises.push(-((same as f64 + 0.5) / (total as f64 + 0.5 * (BUCKETS + 2) as f64)).ln());
            if surprises.len() < WINDOW {
                out.push(None);
                continue;
            }
            let mean = surprises[surprises.len() - WINDOW..].iter().sum::<f64>() / WINDOW as f64;
            let bin = |m: f64| ((m / BIN) as usize).min(TAIL_BINS - 1);
            let above = means.iter().filter(|m| bin(**m) >= bin(mean)).count();
            out.push(Some((mean, (1 + above) as f64 / (1 + means.len()) as f64)));
            means.push(mean);
        }
        out
    }

    #[test]
    fn scores_match_the_definition_and_a_missing_plateau_is_rare() {
        // A daily square wave of 24 steps (high from step 8 to 19), small noise; on day 12 the plateau
        // stays low, inside the range the series always passes through.
        let values = crate::anomaly::square_wave(24, 16, 12, 3);
        let (period, warmup) = (24, 24 * 3);
        let mut state = Rarity::new(period);
        let got: Vec<Option<Rare>> =
            values.iter().enumerate().map(|(t, x)| state.update(t as i64, *x, period, t >= warmup)).collect();
        let want = brute_force(&values, period, warmup);
        for (t, (g, w)) in got.iter().zip(&want).enumerate() {
            match (g, w) {
                (None, None) => {}
                (Some(g), Some((mean, p))) => {
                    assert!((g.surprise - mean).abs() < 1e-12, "step {t}: {} vs {mean}", g.surprise);
                    assert_eq!(g.p_value, *p, "step {t}");
                }
                _ => panic!("step {t}: {g:?} vs {w:?}"),
            }
        }
        // The missing plateau is the rarest window of the series, found within its first hours.
        let best = (0..values.len())
            .filter(|t| got[*t].is_some())
            .min_by(|a, b| got[*a].unwrap().p_value.total_cmp(&got[*b].unwrap().p_value).then(a.cmp(b)));
        let best = best.unwrap();
        assert!((12 * 24 + 8..12 * 24 + 20).contains(&best), "{best}: {:?}", got[best]);
        assert!(got[best].unwrap().p_value < 0.01);
        // Its typical value is the plateau's bucket, not the low it shows.
        assert!(got[12 * 24 + 12].unwrap().typical > 60.0, "{:?}", got[12 * 24 + 12]);
        assert_eq!(state.counts.len(), 24 * KINDS, "the state does not grow");
        assert!(state.pending.is_empty());
    }
}
