//! The records one simulated account produces, and the calendar every account shares.

use super::DemoConfig;
use super::catalog::{Industry, YearlyPattern};

/// Days from the window start: precomputed weekday and yearly factors shared by every account.
pub(crate) struct Calendar {
    /// Epoch day of the window's first day.
    pub(crate) start: i32,
    /// Epoch day of the window's last day.
    pub(crate) end: i32,
    weekend: Vec<bool>,
    yearly: [Vec<f64>; 3],
    /// Epoch days of the quarterly NPS campaigns in the window.
    campaigns: Vec<i32>,
}

impl Calendar {
    pub(crate) fn new(config: &DemoConfig) -> Self {
        use chrono::Datelike;
        let start = crate::contracts::days_since_epoch(config.start);
        let end = crate::contracts::days_since_epoch(config.end);
        let days: Vec<chrono::NaiveDate> = config.start.iter_days().take((end - start + 1) as usize).collect();
        let weekend = days.iter().map(|d| d.weekday().number_from_monday() >= 6).collect();
        let pattern = |p: YearlyPattern| days.iter().map(|d| p.factor(*d)).collect();
        let campaigns = days
            .iter()
            .filter(|d| d.day() == 15 && d.month() % 3 == 0)
            .map(|d| crate::contracts::days_since_epoch(*d))
            .collect();
        Self {
            start,
            end,
            weekend,
            yearly: [pattern(YearlyPattern::None), pattern(YearlyPattern::SummerDip), pattern(YearlyPattern::Q4Peak)],
            campaigns,
        }
    }

    /// Whether `day` (an epoch day inside the window) is a Saturday or Sunday.
    pub(crate) fn is_weekend(&self, day: i32) -> bool {
        self.weekend[(day - self.start) as usize]
    }

    /// Epoch days of the quarterly NPS campaigns (the 15th of March, June, September, December), sorted.
    pub(crate) fn campaigns(&self) -> &[i32] {
        &self.campaigns
    }

    /// The yearly-pattern multiplier on `day`.
    pub(crate) fn yearly(&self, p: YearlyPattern, day: i32) -> f64 {
        let i = (day - self.start) as usize;
        match p {
            YearlyPattern::None => self.yearly[0][i],
            YearlyPattern::SummerDip => self.yearly[1][i],
            YearlyPattern::Q4Peak => self.yearly[2][i],
        }
    }
}

/// The long-run direction of an account's usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trend {
    Growing,
    Stable,
    Declining,
}

impl Trend {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Growing => "growing",
            Self::Stable => "stable",
            Self::Declining => "declining",
        }
    }
}

/// Why an account churned (the hidden driver with the largest contribution).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    DecliningUsage,
    SevereTickets,
    LowNps,
    ChampionLoss,
    Other,
}

impl Cause {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::DecliningUsage => "declining_usage",
            Self::SevereTickets => "unresolved_severe_tickets",
            Self::LowNps => "low_nps",
            Self::ChampionLoss => "champion_loss",
            Self::Other => "other",
        }
    }

    /// The reason a CS team would have written down.
    pub(crate) fn recorded_reason(self) -> &'static str {
        match self {
            Self::DecliningUsage => "Low adoption",
            Self::SevereTickets => "Product quality / support",
            Self::LowNps => "Dissatisfied",
            Self::ChampionLoss => "Sponsor left",
            Self::Other => "Budget",
        }
    }
}

pub(crate) struct Ticket {
    pub(crate) opened_ms: i64,
    pub(crate) closed_ms: Option<i64>,
    pub(crate) priority: &'static str,
    pub(crate) category: &'static str,
    pub(crate) csat: Option<i32>,
}

pub(crate) struct Survey {
    pub(crate) day: i32,
    pub(crate) nps: i32,
    pub(crate) comment: Option<&'static str>,
}

pub(crate) struct RevenueEvent {
    pub(crate) day: i32,
    pub(crate) kind: &'static str,
    pub(crate) mrr_delta: f64,
    pub(crate) seats_before: i32,
    pub(crate) seats_after: i32,
}

pub(crate) struct Anomaly {
    pub(crate) kind: &'static str,
    pub(crate) metric: &'static str,
    pub(crate) start: i32,
    pub(crate) end: i32,
    pub(crate) magnitude: Option<f64>,
}

/// Daily usage columns of one account.
#[derive(Default)]
pub(crate) struct Usage {
    pub(crate) day: Vec<i32>,
    pub(crate) active: Vec<i32>,
    pub(crate) logins: Vec<i32>,
    pub(crate) sessions: Vec<i32>,
    pub(crate) features: Vec<i32>,
    pub(crate) feature_events: Vec<i32>,
    pub(crate) api_calls: Vec<i32>,
    pub(crate) seats_used: Vec<i32>,
}

/// Everything one account contributes to the portfolio and the ground truth.
pub(crate) struct Account {
    pub(crate) name: String,
    pub(crate) segment: &'static str,
    pub(crate) industry: Industry,
    pub(crate) plan: &'static str,
    pub(crate) region: &'static str,
    pub(crate) start: i32,
    pub(crate) renewal: i32,
    pub(crate) mrr: f64,
    pub(crate) seats: i32,
    pub(crate) csm: String,
    pub(crate) email: String,
    pub(crate) usage: Usage,
    pub(crate) tickets: Vec<Ticket>,
    pub(crate) surveys: Vec<Survey>,
    pub(crate) revenue: Vec<RevenueEvent>,
    pub(crate) anomalies: Vec<Anomaly>,
    pub(crate) churn: Option<(i32, Cause)>,
    pub(crate) trend: Trend,
    pub(crate) trend_slope: f64,
    pub(crate) decline_start: Option<i32>,
    pub(crate) champion_lost: Option<i32>,
    pub(crate) last_churn_probability: f64,
    /// The share of the planted yearly effect on expected active users left once usage is capped at all
    /// seats (1: all of it; near 0: an account at full seats cannot show its industry's peak); `None`
    /// without a yearly pattern.
    pub(crate) yearly_realised: Option<f64>,
}
