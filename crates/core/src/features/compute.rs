//! The features of one account at one snapshot, from its history strictly before the snapshot day, and
//! its labels from what happened after. Windows are trailing day counts ending the day before the
//! snapshot; usage windows are answered from prefix sums, so each snapshot costs a few binary searches.

use super::defs::FEATURES;
use super::load::{DAY_MS, EventKind, History, USAGE_COLUMNS};

const ACTIVE: usize = 0;
const LOGINS: usize = 1;
const SESSIONS: usize = 2;
const FEATURES_USED: usize = 3;
const API: usize = 4;
const SEATS_USED: usize = 5;

/// Prefix sums of one account's usage: per column the sum and number of non-null values, and for active
/// users the sums a least-squares slope needs.
pub(crate) struct UsagePrefix<'a> {
    days: Vec<i32>,
    usage: &'a [super::load::UsageDay],
    sum: Vec<[f64; 6]>,
    count: Vec<[u32; 6]>,
    /// Σx, Σx², Σxy of active users, x in days since the first usage day.
    reg: Vec<[f64; 3]>,
}

/// Sums over a window.
#[derive(Debug, Clone, Copy, Default)]
struct Window {
    rows: usize,
    sum: [f64; 6],
    count: [u32; 6],
    reg: [f64; 3],
}

impl Window {
    fn mean(&self, k: usize) -> f64 {
        if self.count[k] == 0 { f64::NAN } else { self.sum[k] / f64::from(self.count[k]) }
    }
}

impl<'a> UsagePrefix<'a> {
    pub(crate) fn new(usage: &'a [super::load::UsageDay]) -> Self {
        let origin = usage.first().map_or(0, |u| u.day);
        let n = usage.len();
        let (mut sum, mut count, mut reg) = (vec![[0.0; 6]; n + 1], vec![[0u32; 6]; n + 1], vec![[0.0; 3]; n + 1]);
        for (i, u) in usage.iter().enumerate() {
            let (mut s, mut c, mut r) = (sum[i], count[i], reg[i]);
            for k in 0..USAGE_COLUMNS.len() {
                if !u.v[k].is_nan() {
                    s[k] += f64::from(u.v[k]);
                    c[k] += 1;
                }
            }
            if !u.v[ACTIVE].is_nan() {
                let x = f64::from(u.day - origin);
                r[0] += x;
                r[1] += x * x;
                r[2] += x * f64::from(u.v[ACTIVE]);
            }
            (sum[i + 1], count[i + 1], reg[i + 1]) = (s, c, r);
        }
        Self { days: usage.iter().map(|u| u.day).collect(), usage, sum, count, reg }
    }

    /// Sums over the days `from..to` (end exclusive).
    fn window(&self, from: i32, to: i32) -> Window {
        let lo = self.days.partition_point(|d| *d < from);
        let hi = self.days.partition_point(|d| *d < to).max(lo);
        Window {
            rows: hi - lo,
            sum: std::array::from_fn(|k| self.sum[hi][k] - self.sum[lo][k]),
            count: std::array::from_fn(|k| self.count[hi][k] - self.count[lo][k]),
            reg: std::array::from_fn(|k| self.reg[hi][k] - self.reg[lo][k]),
        }
    }

    /// The last day before `to` with an active user.
    fn last_active_before(&self, to: i32) -> Option<i32> {
        let hi = self.days.partition_point(|d| *d < to);
        self.usage[..hi].iter().rev().find(|u| u.v[ACTIVE] > 0.0).map(|u| u.day)
    }
}

/// `a / b - 1`, NaN when `b` is not positive or either is unknown.
fn change(a: f64, b: f64) -> f64 {
    if b > 0.0 && a.is_finite() { a / b - 1.0 } else { f64::NAN }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 && a.is_finite() { a / b } else { f64::NAN }
}

/// Least-squares slope of active users per day over a window, as a share of its mean per 30 days.
fn relative_slope(w: &Window) -> f64 {
    let n = f64::from(w.count[ACTIVE]);
    if n < 3.0 {
        return f64::NAN;
    }
    let (sx, sxx, sxy, sy) = (w.reg[0], w.reg[1], w.reg[2], w.sum[ACTIVE]);
    let var = sxx - sx * sx / n;
    let mean = sy / n;
    if var <= 0.0 || mean <= 0.0 {
        return f64::NAN;
    }
    (sxy - sx * sy / n) / var * 30.0 / mean
}

/// Months between two epoch days, counting whole calendar months.
fn months_between(a: i32, b: i32) -> i32 {
    use chrono::Datelike;
    let (a, b) = (epoch(a), epoch(b));
    (b.year() - a.year()) * 12 + b.month() as i32 - a.month() as i32
}

/// The calendar date of an epoch day, clamped to chrono's range (Date32 reaches further).
fn epoch(day: i32) -> chrono::NaiveDate {
    let origin = chrono::NaiveDate::default();
    origin.checked_add_signed(chrono::TimeDelta::days(i64::from(day))).unwrap_or(if day < 0 {
        chrono::NaiveDate::MIN
    } else {
        chrono::NaiveDate::MAX
    })
}

/// `day` plus whole months (end of month clamped); at the end of chrono's range, one day later so that
/// callers stepping forward always advance.
fn add_months(day: i32, months: i32) -> i32 {
    let d = epoch(day);
    match d.checked_add_months(chrono::Months::new(months.max(1) as u32)) {
        Some(moved) => crate::contracts::days_since_epoch(moved).max(day.saturating_add(1)),
        None => day.saturating_add(1).max(day),
    }
}

/// The contract term in months as the revenue events before `t` show it: the gap between the last two
/// renewals, else between the start and the only renewal when that is at most a year, else 12.
fn contract_term(h: &History, before: usize, start: i32) -> i32 {
    let renewals: Vec<i32> =
        h.revenue[..before].iter().filter(|r| r.kind == EventKind::Renewal).map(|r| r.day).collect();
    match renewals.as_slice() {
        [.., a, b] => months_between(*a, *b).max(1),
        [only] if months_between(start, *only) <= 12 => months_between(start, *only).max(1),
        _ => 12,
    }
}

/// The features of `h` at snapshot day `t`, in [`FEATURES`] order with the categorical ones left out
/// (NaN is missing).
pub(crate) fn numeric_features(h: &History, usage: &UsagePrefix<'_>, t: i32, out: &mut Vec<f64>) {
    let start = out.len();
    let w7 = usage.window(t - 7, t);
    let w30 = usage.window(t - 30, t);
    let w60 = usage.window(t - 60, t - 30);
    let w90 = usage.window(t - 90, t);
    let w120 = usage.window(t - 120, t - 90);

    // Commercial.
    let rev_end = h.revenue.partition_point(|r| r.day < t);
    let revenue = &h.revenue[..rev_end];
    let mrr: f64 = revenue.iter().map(|r| r.mrr_delta).sum();
    let mrr_90: f64 = revenue.iter().filter(|r| r.day < t - 90).map(|r| r.mrr_delta).sum();
    let seats = revenue.iter().rev().find_map(|r| r.seats).map_or(f64::NAN, f64::from);
    let count_kind = |kind| revenue.iter().filter(|r| r.kind == kind && r.day >= t - 365).count() as f64;
    let term = contract_term(h, rev_end, h.start);
    let last_renewal = revenue.iter().rev().find(|r| r.kind == EventKind::Renewal).map_or(h.start, |r| r.day);
    let mut next = add_months(last_renewal, term);
    while next < t && next < i32::MAX {
        next = add_months(next, term);
    }
    out.extend([
        f64::from(t - h.start),
        f64::from(term),
        f64::from(next - t),
        mrr,
        change(mrr, mrr_90),
        seats,
        count_kind(EventKind::Expansion),
        count_kind(EventKind::Contraction),
    ]);

    // Adoption and engagement.
    let active30 = w30.mean(ACTIVE);
    out.extend([
        w7.mean(ACTIVE),
        active30,
        w90.mean(ACTIVE),
        change(active30, w60.mean(ACTIVE)),
        change(active30, w120.mean(ACTIVE)),
        relative_slope(&w90),
        ratio(w30.mean(SEATS_USED), seats),
        ratio(active30, seats),
        w30.mean(FEATURES_USED),
        usage.last_active_before(t).map_or(f64::NAN, |d| f64::from(t - d)),
        w30.rows as f64,
        w30.mean(LOGINS),
        ratio(w30.mean(SESSIONS), active30),
        w30.mean(API),
        change(w30.mean(API), w60.mean(API)),
    ]);

    // Support.
    let now = i64::from(t) * DAY_MS;
    let since = |days: i64| now - days * DAY_MS;
    let before = h.tickets.partition_point(|k| k.opened_ms < now);
    let tickets = &h.tickets[..before];
    let opened_within = |days: i64, min_priority: u8, exact: bool| {
        tickets
            .iter()
            .filter(|k| {
                k.opened_ms >= since(days)
                    && if exact { k.priority == min_priority } else { k.priority >= min_priority }
            })
            .count() as f64
    };
    let open: Vec<&super::load::Ticket> = tickets.iter().filter(|k| k.closed_ms.is_none_or(|c| c >= now)).collect();
    let oldest = open.iter().map(|k| (now - k.opened_ms) as f64 / DAY_MS as f64).fold(0.0, f64::max);
    let severe_unresolved = tickets
        .iter()
        .filter(|k| k.priority >= 2 && k.opened_ms >= since(90))
        .filter(|k| k.closed_ms.map_or(now, |c| c.min(now)) - k.opened_ms > 14 * DAY_MS)
        .count() as f64;
    let closed_in =
        |days: i64| tickets.iter().filter(move |k| k.closed_ms.is_some_and(|c| c < now && c >= since(days)));
    let resolution: Vec<f64> =
        closed_in(90).filter_map(|k| k.closed_ms.map(|c| (c - k.opened_ms) as f64 / DAY_MS as f64)).collect();
    let csat: Vec<f64> = closed_in(180).filter_map(|k| k.csat.map(f64::from)).collect();
    out.extend([
        opened_within(30, 0, false),
        opened_within(90, 0, false),
        opened_within(90, 3, true),
        opened_within(90, 2, true),
        open.len() as f64,
        oldest,
        severe_unresolved,
        mean(&resolution),
        mean(&csat),
    ]);

    // Sentiment.
    let answered = &h.surveys[..h.surveys.partition_point(|s| s.0 < t)];
    let recent: Vec<f64> = answered.iter().filter(|s| s.0 >= t - 180).map(|s| f64::from(s.1)).collect();
    out.extend([
        answered.last().map_or(f64::NAN, |s| f64::from(s.1)),
        mean(&recent),
        recent.len() as f64,
        answered.last().map_or(f64::NAN, |s| f64::from(t - s.0)),
    ]);

    // Health.
    let scored = &h.health[..h.health.partition_point(|s| s.0 < t)];
    let score_before = |day: i32| scored[..scored.partition_point(|s| s.0 < day)].last().map(|s| f64::from(s.1));
    let latest = scored.last().map(|s| f64::from(s.1));
    let min90 = scored.iter().filter(|s| s.0 >= t - 90).map(|s| f64::from(s.1)).reduce(f64::min);
    out.extend([
        latest.unwrap_or(f64::NAN),
        match (latest, score_before(t - 30)) {
            (Some(a), Some(b)) => a - b,
            _ => f64::NAN,
        },
        min90.unwrap_or(f64::NAN),
    ]);

    // Anomalies.
    let anomalies = &h.anomalies[..h.anomalies.partition_point(|a| a.0 < t)];
    let recent = anomalies.iter().filter(|a| a.0 >= t - 30);
    out.extend([recent.clone().count() as f64, recent.filter(|a| a.1).count() as f64]);

    debug_assert_eq!(out.len() - start, FEATURES.iter().filter(|f| f.unit != super::defs::Unit::Category).count());
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 }
}

/// The labels of `h` at `t` for one horizon, over the days `t .. t + horizon` (the snapshot is taken at the
/// start of day `t`): churned within it, expanded within it and the MRR added. `None` when the horizon
/// reaches past `observed_until` (censored).
pub(crate) fn labels(h: &History, t: i32, horizon: i32, observed_until: i32) -> Option<(bool, bool, f64)> {
    let end = t + horizon;
    if end - 1 > observed_until {
        return None;
    }
    let churned = h.churn.is_some_and(|c| c >= t && c < end);
    let within = h.expansions.iter().filter(|e| e.0 >= t && e.0 < end);
    Some((churned, within.clone().next().is_some(), within.map(|e| e.1).sum()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_steps_survive_extreme_dates() {
        // 2024-01-31 + 1 month is 2024-02-29 (end of month clamped).
        let jan31 = crate::contracts::days_since_epoch(chrono::NaiveDate::from_ymd_opt(2024, 1, 31).unwrap());
        assert_eq!(epoch(add_months(jan31, 1)), chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap());
        assert!(add_months(i32::MAX - 1, 12) > i32::MAX - 1);
        assert!(add_months(i32::MIN, 12) > i32::MIN);
        // Out of chrono's range the dates clamp instead of panicking.
        assert!(months_between(i32::MIN, i32::MAX) > 0);
    }
}
