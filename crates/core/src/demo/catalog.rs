//! Fixed catalogues of the demo portfolio: segments, industries with their seasonality, plans and prices,
//! regions, and the word lists that make names. Changing a value here changes every generated portfolio.

use chrono::{Datelike, NaiveDate};

/// Customer segments with their share of accounts by default.
pub(crate) const SEGMENTS: [&str; 3] = ["SMB", "MidMarket", "Enterprise"];

/// How an industry's usage varies over the year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum YearlyPattern {
    /// No yearly pattern.
    None,
    /// Deep dip in July-August and over the Christmas break (schools).
    SummerDip,
    /// Build-up to a peak in November-December (retail season).
    Q4Peak,
}

impl YearlyPattern {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::SummerDip => "summer_dip",
            Self::Q4Peak => "q4_peak",
        }
    }

    /// The multiplier of usage on `date`.
    pub(crate) fn factor(self, date: NaiveDate) -> f64 {
        let doy = date.ordinal0() as f64;
        match self {
            Self::None => 1.0,
            // Centre 25 July (day 205), half-width ~ 28 days; Christmas break centred on 28 December.
            Self::SummerDip => 1.0 - 0.6 * bump(doy, 205.0, 28.0) - 0.4 * bump(doy, 361.0, 7.0),
            // Rises through October to a peak early December.
            Self::Q4Peak => 1.0 + 0.45 * bump(doy, 340.0, 30.0),
        }
    }
}

/// A smooth bump of height 1 at `centre` with the given half-width, wrapping around the year.
fn bump(doy: f64, centre: f64, width: f64) -> f64 {
    let mut d = (doy - centre).abs();
    d = d.min(365.0 - d);
    (-(d / width).powi(4)).exp()
}

/// An industry: its share of accounts, its weekly and yearly seasonality.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Industry {
    pub(crate) name: &'static str,
    pub(crate) weight: f64,
    /// Usage on Saturday and Sunday relative to a weekday; 1.0 means no weekly seasonality.
    pub(crate) weekend_factor: f64,
    pub(crate) yearly: YearlyPattern,
}

pub(crate) const INDUSTRIES: [Industry; 7] = [
    Industry { name: "Software", weight: 0.20, weekend_factor: 0.35, yearly: YearlyPattern::None },
    Industry { name: "Education", weight: 0.12, weekend_factor: 0.25, yearly: YearlyPattern::SummerDip },
    Industry { name: "Retail", weight: 0.14, weekend_factor: 0.45, yearly: YearlyPattern::Q4Peak },
    Industry { name: "Healthcare", weight: 0.12, weekend_factor: 0.4, yearly: YearlyPattern::None },
    Industry { name: "FinancialServices", weight: 0.14, weekend_factor: 0.2, yearly: YearlyPattern::None },
    Industry { name: "Manufacturing", weight: 0.14, weekend_factor: 0.3, yearly: YearlyPattern::None },
    // Newsrooms and streaming teams work every day: the control group without weekly seasonality.
    Industry { name: "Media", weight: 0.14, weekend_factor: 1.0, yearly: YearlyPattern::None },
];

/// Plans: name and list price per seat per month.
pub(crate) const PLANS: [(&str, f64); 4] =
    [("Starter", 12.0), ("Growth", 25.0), ("Business", 45.0), ("Enterprise", 70.0)];

pub(crate) const REGIONS: [(&str, f64); 4] = [("NA", 0.45), ("EMEA", 0.30), ("APAC", 0.17), ("LATAM", 0.08)];

pub(crate) const NAME_FIRST: [&str; 24] = [
    "Blue", "Granite", "North", "Bright", "Silver", "Cedar", "Harbor", "Summit", "Red", "Iron", "Golden", "Clear",
    "Swift", "Maple", "Ocean", "Prairie", "Quantum", "Lumen", "Atlas", "Pioneer", "Vertex", "Willow", "Crest", "Echo",
];
pub(crate) const NAME_SECOND: [&str; 20] = [
    "River", "Peak", "Field", "Stone", "Bridge", "Wave", "Forge", "Grove", "Point", "Path", "Light", "Works", "Cloud",
    "Signal", "Harvest", "Anchor", "Mill", "Beacon", "Vista", "Loop",
];
pub(crate) const NAME_SUFFIX: [&str; 8] =
    ["Labs", "Inc", "Group", "Systems", "Partners", "Co", "Analytics", "Holdings"];

pub(crate) const PERSON_FIRST: [&str; 20] = [
    "Ana", "Ben", "Chloe", "David", "Elif", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Liam", "Maya",
    "Nikhil", "Olga", "Pedro", "Quinn", "Rosa", "Sven", "Tara",
];
pub(crate) const PERSON_LAST: [&str; 20] = [
    "Okafor",
    "Schmidt",
    "Tanaka",
    "Silva",
    "Novak",
    "Haddad",
    "Kowalski",
    "Moreau",
    "Jensen",
    "Rossi",
    "Nguyen",
    "Brennan",
    "Costa",
    "Lindqvist",
    "Patel",
    "Ortiz",
    "Fischer",
    "Adeyemi",
    "Larsen",
    "Murphy",
];

pub(crate) const TICKET_CATEGORIES: [(&str, f64); 5] =
    [("bug", 0.30), ("how_to", 0.30), ("billing", 0.10), ("feature_request", 0.15), ("integration", 0.15)];

pub(crate) const COMMENTS_PROMOTER: [&str; 4] = [
    "Great product, the team relies on it every day.",
    "Support is fast and helpful.",
    "Reporting saves us hours each week.",
    "Easy to roll out to new teams.",
];
pub(crate) const COMMENTS_PASSIVE: [&str; 3] = [
    "Does the job, a few rough edges.",
    "Good, but pricing is high for what we use.",
    "Would like better integrations.",
];
pub(crate) const COMMENTS_DETRACTOR: [&str; 4] = [
    "Too many bugs lately and tickets stay open.",
    "Adoption has dropped since our sponsor left.",
    "Hard to use; the team went back to spreadsheets.",
    "Not worth the price for our usage.",
];
