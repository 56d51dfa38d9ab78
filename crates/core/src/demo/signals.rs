//! The observable signals the hidden churn mechanism reads (`docs/demo.md`, "the hidden mechanism"),
//! computed from what the simulation has produced up to the decision day.

use super::records::{Survey, Ticket, Usage};

pub(crate) const DAY_MS: i64 = 86_400_000;

/// Relative drop of deseasonalised active users: last 30 days against days 91-120 before (or the first
/// 30 days when the history is shorter), scaled so that a 40 % drop or more is 1.
pub(crate) fn usage_decline(latent_active: &[f64]) -> f64 {
    let n = latent_active.len();
    if n < 60 {
        return 0.0;
    }
    let recent = &latent_active[n - 30..];
    let base = if n >= 120 { &latent_active[n - 120..n - 90] } else { &latent_active[..30] };
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    let (r, b) = (mean(recent), mean(base));
    if b <= 0.0 {
        return 0.0;
    }
    ((1.0 - r / b) / 0.4).clamp(0.0, 1.0)
}

/// High or urgent tickets opened in the last `window` days that stayed open more than 14 days by `day`.
pub(crate) fn severe_unresolved(tickets: &[Ticket], day: i32, window: i32) -> usize {
    let now = i64::from(day) * DAY_MS;
    tickets
        .iter()
        .rev()
        .take_while(|t| t.opened_ms >= now - i64::from(window) * DAY_MS)
        .filter(|t| t.priority == "urgent" || t.priority == "high")
        .filter(|t| t.closed_ms.map_or(now, |c| c.min(now)) - t.opened_ms > 14 * DAY_MS)
        .count()
}

/// Mean NPS of the last 180 days is 6 or below (detractor territory).
pub(crate) fn low_nps(surveys: &[Survey], day: i32) -> bool {
    let recent: Vec<i32> = surveys.iter().filter(|s| s.day <= day && day - s.day <= 180).map(|s| s.nps).collect();
    !recent.is_empty() && f64::from(recent.iter().sum::<i32>()) / recent.len() as f64 <= 6.0
}

/// Mean seats used over seats purchased in the last `days` recorded days.
pub(crate) fn recent_utilisation(usage: &Usage, seats: i32, days: usize) -> f64 {
    let n = usage.seats_used.len();
    if n == 0 || seats <= 0 {
        return 0.0;
    }
    let recent = &usage.seats_used[n.saturating_sub(days)..];
    recent.iter().map(|s| f64::from(*s)).sum::<f64>() / recent.len() as f64 / f64::from(seats)
}
