//! The simulation of one account, day by day, from its start (or the window start) to the window end or
//! its churn. The mechanism is documented in `docs/demo.md`; the constants below are that document's.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::DemoConfig;
use super::catalog::{self, INDUSTRIES, Industry, PLANS, REGIONS, SEGMENTS, YearlyPattern};

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

    fn yearly(&self, p: YearlyPattern, day: i32) -> f64 {
        let i = (day - self.start) as usize;
        match p {
            YearlyPattern::None => self.yearly[0][i],
            YearlyPattern::SummerDip => self.yearly[1][i],
            YearlyPattern::Q4Peak => self.yearly[2][i],
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
    pub(crate) trend: &'static str,
    pub(crate) trend_slope: f64,
    pub(crate) decline_start: Option<i32>,
    pub(crate) champion_lost: Option<i32>,
    pub(crate) last_churn_probability: f64,
}

const DAY_MS: i64 = 86_400_000;
const CONTACTS: [u32; 3] = [2, 5, 10];

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [(T, f64)]) -> &'a T {
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    let mut u = rng.random::<f64>() * total;
    for (item, w) in items {
        if u < *w {
            return item;
        }
        u -= w;
    }
    &items[items.len() - 1].0
}

/// Poisson draw: Knuth's product method for small means, a rounded normal above 30.
fn poisson(rng: &mut ChaCha8Rng, lambda: f64) -> u32 {
    if lambda <= 0.0 {
        return 0;
    }
    if lambda > 30.0 {
        return (lambda + lambda.sqrt() * normal(rng)).round().max(0.0) as u32;
    }
    let limit = (-lambda).exp();
    let mut k = 0;
    let mut p = rng.random::<f64>();
    while p > limit {
        k += 1;
        p *= rng.random::<f64>();
    }
    k
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Adds whole months to an epoch day (end-of-month clamped, as billing systems do).
fn add_months(day: i32, months: u32) -> i32 {
    let d = chrono::NaiveDate::default() + chrono::TimeDelta::days(i64::from(day));
    let next = d.checked_add_months(chrono::Months::new(months)).unwrap_or(d);
    crate::contracts::days_since_epoch(next)
}

struct Latent {
    a0: f64,
    trend: &'static str,
    slope: f64,
    decline_start: i32,
    ramp_tau: f64,
    start: i32,
    champion_lost: Option<i32>,
}

impl Latent {
    /// Log trend of the account at `day`.
    fn g(&self, day: i32) -> f64 {
        match self.trend {
            "growing" => self.slope * f64::from(day - self.start).max(0.0) / 365.0,
            "declining" => -self.slope * f64::from(day - self.decline_start).max(0.0) / 365.0,
            _ => 0.0,
        }
    }

    fn ramp(&self, day: i32) -> f64 {
        1.0 - (-(f64::from(day - self.start) + 1.0) / self.ramp_tau).exp()
    }

    fn champion_factor(&self, day: i32) -> f64 {
        match self.champion_lost {
            Some(c) if day >= c => 0.6 * (-0.35 * f64::from(day - c) / 365.0).exp(),
            _ => 1.0,
        }
    }

    /// Health in [0, 1]: the share of the account's healthy engagement it shows now.
    fn health(&self, day: i32) -> f64 {
        (self.ramp(day) * self.champion_factor(day) * self.g(day).min(0.0).exp()).clamp(0.0, 1.0)
    }
}

/// Simulates one account over the configured window with its own random stream.
pub(crate) fn simulate(config: &DemoConfig, cal: &Calendar, rng: &mut ChaCha8Rng) -> Account {
    let seg = *pick(rng, &[(0usize, config.segment_mix[0]), (1, config.segment_mix[1]), (2, config.segment_mix[2])]);
    let industry = *pick(rng, &INDUSTRIES.map(|i| (i, i.weight)));
    let region = *pick(rng, &REGIONS);
    let plan_index = match seg {
        0 => usize::from(rng.random::<f64>() < 0.45),
        1 => 1 + usize::from(rng.random::<f64>() < 0.5),
        _ => 2 + usize::from(rng.random::<f64>() < 0.7),
    };
    let (plan, list_price) = PLANS[plan_index];
    let (median_seats, lo, hi) = [(12.0, 3.0, 60.0), (90.0, 30.0, 400.0), (800.0, 250.0, 5000.0)][seg];
    let mut seats = (median_seats * (0.55 * normal(rng)).exp()).clamp(lo, hi).round() as i32;
    let discount = [1.0, 0.92, 0.8][seg] - 0.05 * rng.random::<f64>();
    let price = list_price * discount;
    let term: u32 = match seg {
        0 if rng.random::<f64>() < 0.5 => 1,
        2 => *pick(rng, &[(12, 0.6), (24, 0.25), (36, 0.15)]),
        _ => 12,
    };
    let span = cal.end - cal.start;
    let start = cal.start + rng.random_range(-1460..(span - 45).max(-1459));
    let sim_start = start.max(cal.start);

    let trend_roll = rng.random::<f64>();
    let (trend, slope) = if trend_roll < 0.30 {
        ("growing", rng.random_range(0.1..0.4))
    } else if trend_roll < 0.75 {
        ("stable", 0.0)
    } else {
        ("declining", rng.random_range(0.4..1.4))
    };
    let decline_start = if trend == "declining" { rng.random_range(sim_start..=cal.end) } else { i32::MAX };
    let mut champion_lost = None;
    let years = f64::from(cal.end - sim_start + 1) / 365.0;
    if rng.random::<f64>() < 1.0 - (-0.12 * years).exp() {
        champion_lost = Some(rng.random_range(sim_start..=cal.end));
    }
    let latent = Latent {
        a0: [0.55, 0.6, 0.5][seg] + 0.2 * (rng.random::<f64>() - 0.5),
        trend,
        slope,
        decline_start,
        ramp_tau: [20.0, 35.0, 60.0][seg],
        start,
        champion_lost,
    };
    let u0 = rng.random_range(0.6..0.95);
    let team0 = f64::from(seats) * u0;
    let logins_per_user = rng.random_range(1.2..2.0);
    let sessions_per_login = rng.random_range(1.1..1.8);
    let breadth = rng.random_range(0.3..0.9);
    let api_intensity =
        if seg == 0 && rng.random::<f64>() < 0.4 { 0.0 } else { [20.0, 40.0, 80.0][seg] * (0.8 * normal(rng)).exp() };
    let nps_bias = 0.8 * normal(rng);

    // Planted anomalies, at least three weeks after the first simulated day.
    let mut anomalies = Vec::new();
    let planted = poisson(rng, config.anomalies_per_year * years);
    for _ in 0..planted {
        if cal.end - sim_start < 40 {
            break;
        }
        let a_start = rng.random_range(sim_start + 21..cal.end - 7);
        let roll = rng.random::<f64>();
        let a = if roll < 0.4 {
            Anomaly {
                kind: "outage",
                metric: "all",
                start: a_start,
                end: a_start + rng.random_range(0..2),
                magnitude: Some(rng.random_range(0.02..0.2)),
            }
        } else if roll < 0.75 {
            let metric = if api_intensity > 0.0 { "api_calls" } else { "sessions" };
            Anomaly {
                kind: "usage_spike",
                metric,
                start: a_start,
                end: a_start + rng.random_range(0..3),
                magnitude: Some(rng.random_range(4.0..10.0)),
            }
        } else {
            Anomaly {
                kind: "data_gap",
                metric: "all",
                start: a_start,
                end: a_start + rng.random_range(1..7),
                magnitude: None,
            }
        };
        anomalies.push(a);
    }

    let mut usage = Usage::default();
    let mut latent_active: Vec<f64> = Vec::with_capacity((cal.end - sim_start + 1) as usize);
    let mut tickets: Vec<Ticket> = Vec::new();
    let mut surveys: Vec<Survey> = Vec::new();
    let mut revenue = vec![RevenueEvent {
        day: start,
        kind: "new",
        mrr_delta: f64::from(seats) * price,
        seats_before: 0,
        seats_after: seats,
    }];
    let mut next_renewal = start;
    while next_renewal <= sim_start {
        next_renewal = add_months(next_renewal, term);
    }
    let mut next_midterm = sim_start + 91;
    let mut churn: Option<(i32, Cause)> = None;
    let mut last_p = 0.0;
    let mut ar = 0.0;
    let mut decided_for = i32::MIN;
    let mut campaign = cal.campaigns.iter().copied().filter(|c| *c >= sim_start).peekable();

    let mut day = sim_start;
    while day <= cal.end {
        if let Some((churn_day, _)) = churn {
            if day >= churn_day {
                break;
            }
        }
        // Renewal decision 30 days before each renewal (notice period), from the signals up to then.
        if churn.is_none() && next_renewal - day <= 30 && decided_for != next_renewal {
            decided_for = next_renewal;
            let drivers = [
                (Cause::DecliningUsage, 2.5 * usage_decline(&latent_active)),
                (Cause::SevereTickets, 1.3 * f64::from(u8::from(severe_unresolved(&tickets, day, 90) > 0))),
                (Cause::LowNps, 1.4 * f64::from(u8::from(low_nps(&surveys, day)))),
                (
                    Cause::ChampionLoss,
                    1.6 * f64::from(u8::from(champion_lost.is_some_and(|c| c <= day && day - c <= 180))),
                ),
            ];
            let b0 = if term == 1 { -4.7 } else { [-2.2, -2.6, -3.0][seg] };
            let logit = b0 + config.churn_shift + drivers.iter().map(|(_, c)| c).sum::<f64>();
            last_p = sigmoid(logit);
            if rng.random::<f64>() < last_p && next_renewal <= cal.end {
                let (cause, contribution) =
                    drivers.iter().copied().fold((Cause::Other, 0.0), |best, d| if d.1 > best.1 { d } else { best });
                churn = Some((next_renewal, if contribution > 0.0 { cause } else { Cause::Other }));
            }
        }
        if churn.is_none() && day == next_renewal {
            let util = recent_utilisation(&usage, seats, 30);
            let before = seats;
            if util > 0.9 && rng.random::<f64>() < 0.6 {
                seats = (f64::from(seats) * rng.random_range(1.1..1.5)).round() as i32;
                revenue.push(RevenueEvent {
                    day,
                    kind: "expansion",
                    mrr_delta: f64::from(seats - before) * price,
                    seats_before: before,
                    seats_after: seats,
                });
            } else if util < 0.5 && rng.random::<f64>() < 0.5 {
                seats = ((f64::from(before) * util * 1.15).round() as i32).max(lo as i32 / 2).min(before);
                if seats < before {
                    revenue.push(RevenueEvent {
                        day,
                        kind: "contraction",
                        mrr_delta: f64::from(seats - before) * price,
                        seats_before: before,
                        seats_after: seats,
                    });
                }
            }
            revenue.push(RevenueEvent {
                day,
                kind: "renewal",
                mrr_delta: 0.0,
                seats_before: seats,
                seats_after: seats,
            });
            next_renewal = add_months(next_renewal, term);
        }
        if churn.is_none() && day == next_midterm {
            next_midterm += 91;
            if term > 1 && recent_utilisation(&usage, seats, 30) > 0.95 && rng.random::<f64>() < 0.35 {
                let before = seats;
                seats = (f64::from(seats) * rng.random_range(1.1..1.3)).round() as i32;
                revenue.push(RevenueEvent {
                    day,
                    kind: "expansion",
                    mrr_delta: f64::from(seats - before) * price,
                    seats_before: before,
                    seats_after: seats,
                });
            }
        }

        // Engagement of the day.
        let g = latent.g(day);
        ar = 0.9 * ar + 0.05 * normal(rng);
        let team = (team0 * (0.7 * g).exp()).round().clamp(1.0, f64::from(seats)) as i32;
        let mut p =
            (latent.a0 * latent.ramp(day) * latent.champion_factor(day) * (0.6 * g + ar).exp()).clamp(0.0, 0.98);
        if let Some((churn_day, _)) = churn {
            let left = f64::from(churn_day - day);
            if left <= 30.0 {
                p *= 0.35 + 0.65 * left / 30.0;
            }
        }
        latent_active.push(p * f64::from(team));
        let weekend = cal.weekend[(day - cal.start) as usize];
        let seasonal = cal.yearly(industry.yearly, day) * if weekend { industry.weekend_factor } else { 1.0 };
        let mut factor_all = 1.0;
        let mut spike: Option<(&str, f64)> = None;
        let mut gap = false;
        for a in anomalies.iter().filter(|a| a.start <= day && day <= a.end) {
            match a.kind {
                "outage" => factor_all *= a.magnitude.unwrap_or(1.0),
                "usage_spike" => spike = Some((a.metric, a.magnitude.unwrap_or(1.0))),
                _ => gap = true,
            }
        }
        let pd = (p * seasonal * factor_all).clamp(0.0, 1.0);
        let n = f64::from(team);
        let active = (n * pd + (n * pd * (1.0 - pd)).sqrt() * normal(rng)).round().clamp(0.0, n);
        let logins = (active * logins_per_user * (0.1 * normal(rng)).exp()).round();
        let mut sessions = (logins * sessions_per_login * (0.1 * normal(rng)).exp()).round();
        let features = if active > 0.0 {
            (20.0 * breadth * latent.health(day).sqrt() * (1.0 - (-active / (3.0 + 0.05 * n)).exp()))
                .round()
                .clamp(1.0, 20.0)
        } else {
            0.0
        };
        let feature_events = (sessions * breadth * 3.0 * (0.15 * normal(rng)).exp()).round();
        let mut api = (api_intensity * (0.5 * active + 0.5 * p * n * factor_all) * (0.25 * normal(rng)).exp()).round();
        match spike {
            Some(("api_calls", m)) => api = (api * m).round(),
            Some((_, m)) => sessions = (sessions * m).round(),
            None => {}
        }
        if !gap {
            usage.day.push(day);
            usage.active.push(active as i32);
            usage.logins.push(logins as i32);
            usage.sessions.push(sessions as i32);
            usage.features.push(features as i32);
            usage.feature_events.push(feature_events as i32);
            usage.api_calls.push(api.min(f64::from(i32::MAX)) as i32);
            usage.seats_used.push(team);
        }

        // Support tickets respond to health and outages.
        let h = latent.health(day);
        let lambda = [0.004, 0.004, 0.0035][seg] * n.sqrt() * (0.6 + 1.2 * (1.0 - h));
        for _ in 0..poisson(rng, lambda) {
            let pr = rng.random::<f64>();
            let priority = if pr < 0.03 + 0.07 * (1.0 - h) {
                "urgent"
            } else if pr < 0.15 + 0.22 * (1.0 - h) {
                "high"
            } else if pr < 0.6 {
                "medium"
            } else {
                "low"
            };
            let category = *pick(rng, &catalog::TICKET_CATEGORIES);
            tickets.push(make_ticket(rng, day, priority, category, h, cal.end));
        }
        if factor_all < 1.0 {
            for _ in 0..poisson(rng, 0.5 + 0.05 * n.sqrt()) {
                let priority = if rng.random::<f64>() < 0.5 { "urgent" } else { "high" };
                tickets.push(make_ticket(rng, day, priority, "outage", h, cal.end));
            }
        }

        // Quarterly NPS campaign: respondents answer over the following two weeks.
        if campaign.peek() == Some(&day) {
            campaign.next();
            let severe = severe_unresolved(&tickets, day, 60) > 0;
            let champion_recent = champion_lost.is_some_and(|c| c <= day && day - c <= 180);
            let mu = 8.3 + nps_bias
                - 3.5 * (1.0 - h)
                - 2.0 * f64::from(u8::from(champion_recent))
                - 1.5 * f64::from(u8::from(severe));
            for _ in 0..CONTACTS[seg] {
                if rng.random::<f64>() < 0.45 {
                    let answer_day = day + rng.random_range(0..14);
                    let nps = (mu + 1.5 * normal(rng)).round().clamp(0.0, 10.0) as i32;
                    let comment = (rng.random::<f64>() < 0.3).then(|| {
                        let pool: &[&'static str] = match nps {
                            9..=10 => &catalog::COMMENTS_PROMOTER,
                            7..=8 => &catalog::COMMENTS_PASSIVE,
                            _ => &catalog::COMMENTS_DETRACTOR,
                        };
                        pool[rng.random_range(0..pool.len())]
                    });
                    if answer_day <= cal.end && churn.is_none_or(|(c, _)| answer_day < c) {
                        surveys.push(Survey { day: answer_day, nps, comment });
                    }
                }
            }
        }
        day += 1;
    }
    surveys.sort_by_key(|s| s.day);

    let mrr: f64 = revenue.iter().map(|r| r.mrr_delta).sum();
    if let Some((churn_day, _)) = churn {
        revenue.push(RevenueEvent {
            day: churn_day,
            kind: "churn",
            mrr_delta: -mrr,
            seats_before: seats,
            seats_after: 0,
        });
        anomalies.retain(|a| a.start < churn_day);
    }
    let last_day = churn.map_or(cal.end, |(c, _)| c - 1);
    for a in &mut anomalies {
        a.end = a.end.min(last_day);
    }
    anomalies.sort_by_key(|a| a.start);

    let name = format!(
        "{} {} {}",
        catalog::NAME_FIRST[rng.random_range(0..catalog::NAME_FIRST.len())],
        catalog::NAME_SECOND[rng.random_range(0..catalog::NAME_SECOND.len())],
        catalog::NAME_SUFFIX[rng.random_range(0..catalog::NAME_SUFFIX.len())]
    );
    let csm_i = seg * 7 + rng.random_range(0..7);
    let csm = format!("{} {}", catalog::PERSON_FIRST[csm_i % 20], catalog::PERSON_LAST[(csm_i * 7 + 3) % 20]);
    let mut contact = || {
        (
            catalog::PERSON_FIRST[rng.random_range(0..20)].to_ascii_lowercase(),
            catalog::PERSON_LAST[rng.random_range(0..20)].to_ascii_lowercase(),
        )
    };
    let first_contact = contact();
    let second_contact = contact();
    let (first, last) = if champion_lost.is_some() { second_contact } else { first_contact };
    let slug: String = name.split(' ').take(2).collect::<String>().to_ascii_lowercase();
    let email = format!("{first}.{last}@{slug}.example");

    Account {
        name,
        segment: SEGMENTS[seg],
        industry,
        plan,
        region,
        start,
        renewal: churn.map_or(next_renewal, |(c, _)| c),
        mrr: if churn.is_some() { 0.0 } else { mrr },
        seats,
        csm,
        email,
        usage,
        tickets,
        surveys,
        revenue,
        anomalies,
        churn,
        trend,
        trend_slope: if trend == "declining" { -slope } else { slope },
        decline_start: (trend == "declining").then_some(decline_start),
        champion_lost,
        last_churn_probability: last_p,
    }
}

fn make_ticket(
    rng: &mut ChaCha8Rng,
    day: i32,
    priority: &'static str,
    category: &'static str,
    h: f64,
    end: i32,
) -> Ticket {
    let opened_ms = i64::from(day) * DAY_MS + rng.random_range(7 * 3_600_000..19 * 3_600_000);
    let severe = priority == "urgent" || priority == "high";
    let median_hours = match priority {
        "urgent" => 6.0,
        "high" => 24.0,
        "medium" => 72.0,
        _ => 120.0,
    };
    let hours = if severe && rng.random::<f64>() < 0.03 + 0.25 * (1.0 - h) {
        rng.random_range(15.0..60.0) * 24.0
    } else {
        median_hours * (0.8 * normal(rng)).exp()
    };
    let closed = opened_ms + (hours * 3_600_000.0) as i64;
    let closed_ms = (closed < (i64::from(end) + 1) * DAY_MS).then_some(closed);
    let csat = closed_ms
        .filter(|_| rng.random::<f64>() < 0.4)
        .map(|_| (4.3 - 0.02 * hours / 24.0 - 1.2 * (1.0 - h) + 0.8 * normal(rng)).round().clamp(1.0, 5.0) as i32);
    Ticket { opened_ms, closed_ms, priority, category, csat }
}

/// Relative drop of deseasonalised active users: last 30 days against days 91-120 before, scaled so
/// that a 40 % drop (or more) is 1.
fn usage_decline(latent_active: &[f64]) -> f64 {
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

/// High or urgent tickets opened in the last `window` days that stayed open more than 14 days.
fn severe_unresolved(tickets: &[Ticket], day: i32, window: i32) -> usize {
    let now = i64::from(day) * DAY_MS;
    tickets
        .iter()
        .rev()
        .take_while(|t| t.opened_ms >= now - i64::from(window) * DAY_MS)
        .filter(|t| t.priority == "urgent" || t.priority == "high")
        .filter(|t| {
            let open_until = t.closed_ms.map_or(now, |c| c.min(now));
            open_until - t.opened_ms > 14 * DAY_MS
        })
        .count()
}

/// Mean NPS of the last 180 days is 6 or below (detractor territory).
fn low_nps(surveys: &[Survey], day: i32) -> bool {
    let recent: Vec<i32> = surveys.iter().filter(|s| s.day <= day && day - s.day <= 180).map(|s| s.nps).collect();
    !recent.is_empty() && f64::from(recent.iter().sum::<i32>()) / recent.len() as f64 <= 6.0
}

/// Mean seats used over seats purchased in the last `days` recorded days.
fn recent_utilisation(usage: &Usage, seats: i32, days: usize) -> f64 {
    let n = usage.seats_used.len();
    if n == 0 || seats <= 0 {
        return 0.0;
    }
    let recent = &usage.seats_used[n.saturating_sub(days)..];
    recent.iter().map(|s| f64::from(*s)).sum::<f64>() / recent.len() as f64 / f64::from(seats)
}
