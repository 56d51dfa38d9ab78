//! The named, versioned feature definitions: what each column of a feature table means, which driver of
//! account health it belongs to, and how a value is said in words (the reason codes of the predictions).
//!
//! A model stores [`FEATURE_SET_VERSION`] with its feature schema; scoring with features of another
//! version is an error, so training and scoring cannot drift apart. Any change to a definition (a window,
//! a formula, a name) bumps the version.

use serde::{Deserialize, Serialize};

/// Name and version of the feature definitions below.
pub const FEATURE_SET_VERSION: &str = "accountscope.features/1";

/// The area of customer health a feature speaks for; the playbook maps drivers to actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Driver {
    /// Who the customer is (segment, industry, plan, region).
    Profile,
    /// Contract and revenue: renewal timing, MRR, seats, expansions.
    Commercial,
    /// How much of the product the customer uses.
    Adoption,
    /// How intensely active users use it.
    Engagement,
    /// Support tickets and their resolution.
    Support,
    /// Survey answers (NPS, CSAT).
    Sentiment,
    /// The health score and its movement.
    Health,
    /// Detected usage anomalies.
    Anomalies,
}

impl Driver {
    /// Snake-case name, as in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Profile => "profile",
            Self::Commercial => "commercial",
            Self::Adoption => "adoption",
            Self::Engagement => "engagement",
            Self::Support => "support",
            Self::Sentiment => "sentiment",
            Self::Health => "health",
            Self::Anomalies => "anomalies",
        }
    }
}

/// How a feature's value is written in a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Text category.
    Category,
    /// A relative change: -0.42 is "down 42%".
    Change,
    /// A share: 0.35 is "35%".
    Share,
    /// A count of things.
    Count,
    /// A number of days.
    Days,
    /// An amount of money per month.
    Money,
    /// Any other number.
    Number,
}

/// One feature column.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FeatureDef {
    /// Column name.
    pub name: &'static str,
    /// Driver it belongs to.
    pub driver: Driver,
    /// How its value is written.
    pub unit: Unit,
    /// What it measures, from which data, over which window (all windows end the day before the snapshot).
    pub description: &'static str,
    /// A reason sentence, `{v}` standing for the written value.
    pub reason: &'static str,
}

const fn def(
    name: &'static str,
    driver: Driver,
    unit: Unit,
    description: &'static str,
    reason: &'static str,
) -> FeatureDef {
    FeatureDef { name, driver, unit, description, reason }
}

use Driver::{Adoption, Anomalies, Commercial, Engagement, Health, Profile, Sentiment, Support};
use Unit::{Category, Change, Count, Days, Money, Number, Share};

/// Every feature, in column order.
pub const FEATURES: &[FeatureDef] = &[
    def("segment", Profile, Category, "accounts.segment", "segment {v}"),
    def("industry", Profile, Category, "accounts.industry", "industry {v}"),
    def("plan", Profile, Category, "accounts.plan", "plan {v}"),
    def("region", Profile, Category, "accounts.region", "region {v}"),
    def("tenure_days", Commercial, Days, "days since accounts.start_date", "customer for {v}"),
    def(
        "contract_term_months",
        Commercial,
        Number,
        "months between the last two renewals before the snapshot (12 when unknown)",
        "contract term {v} months",
    ),
    def(
        "days_to_renewal",
        Commercial,
        Days,
        "days to the next anniversary of start_date by the contract term",
        "renewal due in {v}",
    ),
    def("mrr", Commercial, Money, "sum of revenue.mrr_delta before the snapshot", "MRR {v}"),
    def("mrr_change_90", Commercial, Change, "MRR now against 90 days before", "MRR {v} over 90 days"),
    def("seats", Commercial, Count, "revenue.seats of the last event before the snapshot", "{v} seats"),
    def("expansions_365", Commercial, Count, "expansion events in the last 365 days", "{v} expansions in a year"),
    def("contractions_365", Commercial, Count, "contraction events in the last 365 days", "{v} contractions in a year"),
    def(
        "active_users_mean_7",
        Adoption,
        Number,
        "mean usage.active_users, last 7 days",
        "{v} active users a day (7 days)",
    ),
    def(
        "active_users_mean_30",
        Adoption,
        Number,
        "mean usage.active_users, last 30 days",
        "{v} active users a day (30 days)",
    ),
    def(
        "active_users_mean_90",
        Adoption,
        Number,
        "mean usage.active_users, last 90 days",
        "{v} active users a day (90 days)",
    ),
    def(
        "active_users_change_30",
        Adoption,
        Change,
        "mean active users of the last 30 days against the 30 before",
        "active users {v} over 30 days",
    ),
    def(
        "active_users_change_90",
        Adoption,
        Change,
        "mean active users of the last 30 days against days 91-120 before",
        "active users {v} against three months ago",
    ),
    def(
        "active_users_trend_90",
        Adoption,
        Change,
        "least-squares slope of active users over 90 days, as a share of the mean per 30 days",
        "active users trending {v} of their 90-day mean a month",
    ),
    def(
        "seat_utilisation_30",
        Adoption,
        Share,
        "mean usage.seats_used of the last 30 days over seats",
        "seat utilisation {v}",
    ),
    def(
        "active_share_30",
        Adoption,
        Share,
        "mean active users of the last 30 days over seats",
        "{v} of seats active daily",
    ),
    def("features_used_mean_30", Adoption, Number, "mean usage.features_used, last 30 days", "{v} features used a day"),
    def("days_since_active", Engagement, Days, "days since the last day with an active user", "no active user for {v}"),
    def(
        "usage_days_30",
        Engagement,
        Count,
        "days with usage records in the last 30",
        "usage reported on {v} of 30 days",
    ),
    def("logins_mean_30", Engagement, Number, "mean usage.logins, last 30 days", "{v} logins a day"),
    def(
        "sessions_per_active_30",
        Engagement,
        Number,
        "usage.sessions over active users, last 30 days",
        "{v} sessions per active user",
    ),
    def("api_calls_mean_30", Engagement, Number, "mean usage.api_calls, last 30 days", "{v} API calls a day"),
    def(
        "api_calls_change_30",
        Engagement,
        Change,
        "mean API calls of the last 30 days against the 30 before",
        "API calls {v} over 30 days",
    ),
    def("tickets_30", Support, Count, "tickets opened in the last 30 days", "{v} tickets in 30 days"),
    def("tickets_90", Support, Count, "tickets opened in the last 90 days", "{v} tickets in 90 days"),
    def(
        "urgent_tickets_90",
        Support,
        Count,
        "urgent tickets opened in the last 90 days",
        "{v} urgent tickets in 90 days",
    ),
    def(
        "high_tickets_90",
        Support,
        Count,
        "high-priority tickets opened in the last 90 days",
        "{v} high-priority tickets in 90 days",
    ),
    def("open_tickets", Support, Count, "tickets open at the snapshot", "{v} open tickets"),
    def(
        "oldest_open_ticket_days",
        Support,
        Days,
        "age of the oldest ticket open at the snapshot (0 when none)",
        "oldest open ticket waiting {v}",
    ),
    def(
        "severe_unresolved_90",
        Support,
        Count,
        "high or urgent tickets opened in the last 90 days that stayed open more than 14 days",
        "{v} severe tickets open more than 14 days",
    ),
    def(
        "resolution_days_90",
        Support,
        Days,
        "mean days to close of tickets closed in the last 90 days",
        "tickets take {v} to close",
    ),
    def(
        "csat_mean_180",
        Sentiment,
        Number,
        "mean tickets.csat of tickets closed in the last 180 days",
        "CSAT {v} of 5",
    ),
    def("nps_last", Sentiment, Number, "latest surveys.nps answer", "latest NPS {v}"),
    def("nps_mean_180", Sentiment, Number, "mean NPS of the last 180 days", "NPS averaging {v}"),
    def("nps_responses_180", Sentiment, Count, "NPS answers in the last 180 days", "{v} NPS answers in 180 days"),
    def("days_since_nps", Sentiment, Days, "days since the latest NPS answer", "no NPS answer for {v}"),
    def("health_score", Health, Number, "latest health score before the snapshot", "health score {v}"),
    def(
        "health_change_30",
        Health,
        Number,
        "health score change over the last 30 days, in points",
        "health score {v} points in 30 days",
    ),
    def("health_min_90", Health, Number, "lowest health score of the last 90 days", "health score fell to {v}"),
    def(
        "anomalies_30",
        Anomalies,
        Count,
        "anomaly events starting in the last 30 days",
        "{v} usage anomalies in 30 days",
    ),
    def(
        "anomaly_drops_30",
        Anomalies,
        Count,
        "anomaly events going down that started in the last 30 days",
        "{v} usage drops in 30 days",
    ),
];

/// Position of a feature by name.
pub fn feature_index(name: &str) -> Option<usize> {
    FEATURES.iter().position(|f| f.name == name)
}

impl FeatureDef {
    /// The value written for a reason: "down 42%", "35%", "3", "12 days", "$1,250".
    pub fn format_value(&self, value: f64) -> String {
        if value.is_nan() {
            return "unknown".into();
        }
        match self.unit {
            Unit::Category => format!("{value}"),
            Unit::Change => {
                let pct = (value * 100.0).abs().round();
                if pct == 0.0 {
                    "flat".into()
                } else if value < 0.0 {
                    format!("down {pct}%")
                } else {
                    format!("up {pct}%")
                }
            }
            Unit::Share => format!("{}%", (value * 100.0).round()),
            Unit::Count => format!("{}", value.round()),
            Unit::Days => {
                let d = value.round();
                if d == 1.0 { "1 day".into() } else { format!("{d} days") }
            }
            Unit::Money => format!("${:.0}", value),
            Unit::Number => {
                if value.abs() >= 100.0 {
                    format!("{:.0}", value)
                } else if value.abs() >= 10.0 {
                    format!("{:.1}", value)
                } else {
                    format!("{:.2}", value)
                }
            }
        }
    }

    /// The reason sentence for `value`.
    pub fn reason_text(&self, value: &str) -> String {
        self.reason.replace("{v}", value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_reasons_have_a_slot() {
        let mut names: Vec<&str> = FEATURES.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FEATURES.len());
        assert!(FEATURES.iter().all(|f| f.reason.contains("{v}")), "every reason writes the value");
    }

    #[test]
    fn values_are_written_for_people() {
        let change = &FEATURES[feature_index("active_users_change_30").unwrap()];
        assert_eq!(change.reason_text(&change.format_value(-0.4213)), "active users down 42% over 30 days");
        let share = &FEATURES[feature_index("seat_utilisation_30").unwrap()];
        assert_eq!(share.format_value(0.354), "35%");
        let days = &FEATURES[feature_index("days_since_active").unwrap()];
        assert_eq!(days.format_value(1.0), "1 day");
        assert_eq!(days.format_value(f64::NAN), "unknown");
    }
}
