//! The simulation of one account, day by day, from its start (or the window start) to the window end or
//! its churn. The mechanism and its constants are documented in `docs/demo.md`.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::DemoConfig;
use super::catalog::{self, INDUSTRIES, Industry, PLANS, REGIONS, SEGMENTS};
use super::records::{Account, Anomaly, Calendar, Cause, RevenueEvent, Survey, Ticket, Trend, Usage};
use super::signals::{DAY_MS, low_nps, recent_utilisation, severe_unresolved, usage_decline};

/// NPS contacts per account, by segment.
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

/// Adds whole months to an epoch day (end of month clamped, as billing systems do).
fn add_months(day: i32, months: u32) -> i32 {
    let d = chrono::NaiveDate::default() + chrono::TimeDelta::days(i64::from(day));
    crate::contracts::days_since_epoch(d.checked_add_months(chrono::Months::new(months)).unwrap_or(d))
}

/// What is fixed about an account before its first simulated day.
struct Profile {
    seg: usize,
    industry: Industry,
    region: &'static str,
    plan: &'static str,
    price: f64,
    min_seats: i32,
    seats0: i32,
    term: u32,
    start: i32,
    sim_start: i32,
    trend: Trend,
    slope: f64,
    decline_start: i32,
    champion_lost: Option<i32>,
    a0: f64,
    ramp_tau: f64,
    team0: f64,
    logins_per_user: f64,
    sessions_per_login: f64,
    breadth: f64,
    api_intensity: f64,
    nps_bias: f64,
}

impl Profile {
    fn draw(config: &DemoConfig, cal: &Calendar, rng: &mut ChaCha8Rng) -> Self {
        let mix = config.segment_mix;
        let seg = *pick(rng, &[(0usize, mix[0]), (1, mix[1]), (2, mix[2])]);
        let industry = *pick(rng, &INDUSTRIES.map(|i| (i, i.weight)));
        let region = *pick(rng, &REGIONS);
        let plan_index = match seg {
            0 => usize::from(rng.random::<f64>() < 0.45),
            1 => 1 + usize::from(rng.random::<f64>() < 0.5),
            _ => 2 + usize::from(rng.random::<f64>() < 0.7),
        };
        let (plan, list_price) = PLANS[plan_index];
        let (median_seats, lo, hi) = [(12.0, 3.0, 60.0), (90.0, 30.0, 400.0), (800.0, 250.0, 5000.0)][seg];
        let seats0 = (median_seats * (0.55 * normal(rng)).exp()).clamp(lo, hi).round() as i32;
        let discount = [1.0, 0.92, 0.8][seg] - 0.05 * rng.random::<f64>();
        let term: u32 = match seg {
            0 if rng.random::<f64>() < 0.5 => 1,
            2 => *pick(rng, &[(12, 0.6), (24, 0.25), (36, 0.15)]),
            _ => 12,
        };
        let span = cal.end - cal.start;
        let start = cal.start + rng.random_range(-1460..(span - 45).max(-1459));
        let sim_start = start.max(cal.start);
        let roll = rng.random::<f64>();
        let (trend, slope) = if roll < 0.30 {
            (Trend::Growing, rng.random_range(0.1..0.4))
        } else if roll < 0.75 {
            (Trend::Stable, 0.0)
        } else {
            (Trend::Declining, rng.random_range(0.4..1.4))
        };
        let decline_start = if trend == Trend::Declining { rng.random_range(sim_start..=cal.end) } else { i32::MAX };
        let years = f64::from(cal.end - sim_start + 1) / 365.0;
        let champion_lost =
            (rng.random::<f64>() < 1.0 - (-0.12 * years).exp()).then(|| rng.random_range(sim_start..=cal.end));
        let api_intensity = if seg == 0 && rng.random::<f64>() < 0.4 {
            0.0
        } else {
            [20.0, 40.0, 80.0][seg] * (0.8 * normal(rng)).exp()
        };
        Self {
            seg,
            industry,
            region,
            plan,
            price: list_price * discount,
            min_seats: lo as i32,
            seats0,
            term,
            start,
            sim_start,
            trend,
            slope,
            decline_start,
            champion_lost,
            a0: [0.55, 0.6, 0.5][seg] + 0.2 * (rng.random::<f64>() - 0.5),
            ramp_tau: [20.0, 35.0, 60.0][seg],
            team0: f64::from(seats0) * rng.random_range(0.6..0.95),
            logins_per_user: rng.random_range(1.2..2.0),
            sessions_per_login: rng.random_range(1.1..1.8),
            breadth: rng.random_range(0.3..0.9),
            api_intensity,
            nps_bias: 0.8 * normal(rng),
        }
    }

    /// Log trend at `day`.
    fn g(&self, day: i32) -> f64 {
        match self.trend {
            Trend::Growing => self.slope * f64::from(day - self.start).max(0.0) / 365.0,
            Trend::Declining => -self.slope * f64::from(day - self.decline_start).max(0.0) / 365.0,
            Trend::Stable => 0.0,
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

    fn champion_lost_recently(&self, day: i32) -> bool {
        self.champion_lost.is_some_and(|c| c <= day && day - c <= 180)
    }

    /// Health in [0, 1]: the share of the account's healthy engagement it shows now.
    fn health(&self, day: i32) -> f64 {
        (self.ramp(day) * self.champion_factor(day) * self.g(day).min(0.0).exp()).clamp(0.0, 1.0)
    }

    /// Planted anomalies, at least three weeks after the first simulated day.
    fn plant_anomalies(&self, config: &DemoConfig, cal: &Calendar, rng: &mut ChaCha8Rng) -> Vec<Anomaly> {
        let years = f64::from(cal.end - self.sim_start + 1) / 365.0;
        let count = poisson(rng, config.anomalies_per_year * years);
        if cal.end - self.sim_start < 40 {
            return Vec::new();
        }
        (0..count)
            .map(|_| {
                let start = rng.random_range(self.sim_start + 21..cal.end - 7);
                let roll = rng.random::<f64>();
                if roll < 0.4 {
                    let (days, m) = (rng.random_range(0..2), rng.random_range(0.02..0.2));
                    Anomaly { kind: "outage", metric: "all", start, end: start + days, magnitude: Some(m) }
                } else if roll < 0.75 {
                    let metric = if self.api_intensity > 0.0 { "api_calls" } else { "sessions" };
                    let (days, m) = (rng.random_range(0..3), rng.random_range(4.0..10.0));
                    Anomaly { kind: "usage_spike", metric, start, end: start + days, magnitude: Some(m) }
                } else {
                    let days = rng.random_range(1..7);
                    Anomaly { kind: "data_gap", metric: "all", start, end: start + days, magnitude: None }
                }
            })
            .collect()
    }
}

/// The state of one account while it is simulated.
struct Sim<'a> {
    p: Profile,
    cal: &'a Calendar,
    churn_shift: f64,
    seats: i32,
    anomalies: Vec<Anomaly>,
    usage: Usage,
    latent_active: Vec<f64>,
    tickets: Vec<Ticket>,
    surveys: Vec<Survey>,
    revenue: Vec<RevenueEvent>,
    next_renewal: i32,
    decided_for: i32,
    next_midterm: i32,
    churn: Option<(i32, Cause)>,
    last_p: f64,
    ar: f64,
    /// Σ over days of the expected active share times (yearly factor − 1): the yearly effect as planted.
    yearly_planted: f64,
    /// Σ over days of what the yearly factor changes in the expected active share once capped at all seats.
    yearly_shown: f64,
}

/// Simulates one account over the configured window with its own random stream.
pub(crate) fn simulate(config: &DemoConfig, cal: &Calendar, rng: &mut ChaCha8Rng) -> Account {
    let p = Profile::draw(config, cal, rng);
    let anomalies = p.plant_anomalies(config, cal, rng);
    let mut next_renewal = p.start;
    while next_renewal <= p.sim_start {
        next_renewal = add_months(next_renewal, p.term);
    }
    let first = RevenueEvent {
        day: p.start,
        kind: "new",
        mrr_delta: f64::from(p.seats0) * p.price,
        seats_before: 0,
        seats_after: p.seats0,
    };
    let mut sim = Sim {
        seats: p.seats0,
        next_midterm: p.sim_start + 91,
        p,
        cal,
        churn_shift: config.churn_shift,
        anomalies,
        usage: Usage::default(),
        latent_active: Vec::with_capacity((cal.end - cal.start + 1) as usize),
        tickets: Vec::new(),
        surveys: Vec::new(),
        revenue: vec![first],
        next_renewal,
        decided_for: i32::MIN,
        churn: None,
        last_p: 0.0,
        ar: 0.0,
        yearly_planted: 0.0,
        yearly_shown: 0.0,
    };
    let campaigns: Vec<i32> = cal.campaigns().iter().copied().filter(|c| *c >= sim.p.sim_start).collect();
    for day in sim.p.sim_start..=cal.end {
        if sim.churn.is_some_and(|(c, _)| day >= c) {
            break;
        }
        sim.contract(day, rng);
        let (health, outage) = sim.usage_day(day, rng);
        sim.tickets_day(day, health, outage, rng);
        if campaigns.binary_search(&day).is_ok() {
            sim.nps_campaign(day, health, rng);
        }
    }
    sim.finish(rng)
}

impl Sim<'_> {
    /// Renewal decisions, renewals with expansion or contraction, and mid-term expansions.
    fn contract(&mut self, day: i32, rng: &mut ChaCha8Rng) {
        if self.churn.is_some() {
            return;
        }
        // The decision falls 30 days before each renewal (the notice period), from the signals up to then.
        if self.next_renewal - day <= 30 && self.decided_for != self.next_renewal {
            self.decided_for = self.next_renewal;
            let drivers = [
                (Cause::DecliningUsage, 2.5 * usage_decline(&self.latent_active)),
                (Cause::SevereTickets, 1.3 * flag(severe_unresolved(&self.tickets, day, 90) > 0)),
                (Cause::LowNps, 1.4 * flag(low_nps(&self.surveys, day))),
                (Cause::ChampionLoss, 1.6 * flag(self.p.champion_lost_recently(day))),
            ];
            let b0 = if self.p.term == 1 { -4.7 } else { [-2.2, -2.6, -3.0][self.p.seg] };
            let logit = b0 + self.churn_shift + drivers.iter().map(|(_, c)| c).sum::<f64>();
            self.last_p = 1.0 / (1.0 + (-logit).exp());
            if rng.random::<f64>() < self.last_p && self.next_renewal <= self.cal.end {
                let (cause, largest) =
                    drivers.iter().copied().fold((Cause::Other, 0.0), |best, d| if d.1 > best.1 { d } else { best });
                self.churn = Some((self.next_renewal, if largest > 0.0 { cause } else { Cause::Other }));
                return;
            }
        }
        if day == self.next_renewal {
            let util = recent_utilisation(&self.usage, self.seats, 30);
            if util > 0.9 && rng.random::<f64>() < 0.6 {
                let grown = (f64::from(self.seats) * rng.random_range(1.1..1.5)).round() as i32;
                self.change_seats(day, "expansion", grown);
            } else if util < 0.5 && rng.random::<f64>() < 0.5 {
                let shrunk = ((f64::from(self.seats) * util * 1.15).round() as i32).max(self.p.min_seats / 2);
                if shrunk < self.seats {
                    self.change_seats(day, "contraction", shrunk);
                }
            }
            self.revenue.push(RevenueEvent {
                day,
                kind: "renewal",
                mrr_delta: 0.0,
                seats_before: self.seats,
                seats_after: self.seats,
            });
            self.next_renewal = add_months(self.next_renewal, self.p.term);
        }
        if day == self.next_midterm {
            self.next_midterm += 91;
            if self.p.term > 1 && recent_utilisation(&self.usage, self.seats, 30) > 0.95 && rng.random::<f64>() < 0.35 {
                let grown = (f64::from(self.seats) * rng.random_range(1.1..1.3)).round() as i32;
                self.change_seats(day, "expansion", grown);
            }
        }
    }

    fn change_seats(&mut self, day: i32, kind: &'static str, seats: i32) {
        let mrr_delta = f64::from(seats - self.seats) * self.p.price;
        self.revenue.push(RevenueEvent { day, kind, mrr_delta, seats_before: self.seats, seats_after: seats });
        self.seats = seats;
    }

    /// One day of usage; returns the day's health and whether an outage is under way.
    fn usage_day(&mut self, day: i32, rng: &mut ChaCha8Rng) -> (f64, bool) {
        let p = &self.p;
        let g = p.g(day);
        self.ar = 0.9 * self.ar + 0.05 * normal(rng);
        let team = (p.team0 * (0.7 * g).exp()).round().clamp(1.0, f64::from(self.seats)) as i32;
        let mut engagement = (p.a0 * p.ramp(day) * p.champion_factor(day) * (0.6 * g + self.ar).exp()).clamp(0.0, 0.98);
        if let Some((churn_day, _)) = self.churn {
            let left = f64::from(churn_day - day);
            if left <= 30.0 {
                engagement *= 0.35 + 0.65 * left / 30.0;
            }
        }
        let n = f64::from(team);
        self.latent_active.push(engagement * n);

        let weekly = if self.cal.is_weekend(day) { p.industry.weekend_factor } else { 1.0 };
        let yearly = self.cal.yearly(p.industry.yearly, day);
        let seasonal = yearly * weekly;
        // How much of the yearly pattern reaches the data: a peak cannot lift usage above all seats.
        let base = (engagement * weekly).clamp(0.0, 1.0);
        self.yearly_planted += base * (yearly - 1.0);
        self.yearly_shown += (base * yearly).clamp(0.0, 1.0) - base;
        let (mut outage, mut spike, mut gap) = (1.0, None, false);
        for a in self.anomalies.iter().filter(|a| a.start <= day && day <= a.end) {
            match a.kind {
                "outage" => outage *= a.magnitude.unwrap_or(1.0),
                "usage_spike" => spike = Some((a.metric, a.magnitude.unwrap_or(1.0))),
                _ => gap = true,
            }
        }
        let pd = (engagement * seasonal * outage).clamp(0.0, 1.0);
        let active = (n * pd + (n * pd * (1.0 - pd)).sqrt() * normal(rng)).round().clamp(0.0, n);
        let logins = (active * p.logins_per_user * (0.1 * normal(rng)).exp()).round();
        let mut sessions = (logins * p.sessions_per_login * (0.1 * normal(rng)).exp()).round();
        let health = p.health(day);
        let features = if active > 0.0 {
            (20.0 * p.breadth * health.sqrt() * (1.0 - (-active / (3.0 + 0.05 * n)).exp())).round().clamp(1.0, 20.0)
        } else {
            0.0
        };
        let feature_events = (sessions * p.breadth * 3.0 * (0.15 * normal(rng)).exp()).round();
        let mut api =
            (p.api_intensity * (0.5 * active + 0.5 * engagement * n * outage) * (0.25 * normal(rng)).exp()).round();
        match spike {
            Some(("api_calls", m)) => api = (api * m).round(),
            Some((_, m)) => sessions = (sessions * m).round(),
            None => {}
        }
        if !gap {
            let u = &mut self.usage;
            u.day.push(day);
            u.active.push(active as i32);
            u.logins.push(logins as i32);
            u.sessions.push(sessions as i32);
            u.features.push(features as i32);
            u.feature_events.push(feature_events as i32);
            u.api_calls.push(api.min(f64::from(i32::MAX)) as i32);
            u.seats_used.push(team);
        }
        (health, outage < 1.0)
    }

    /// Support tickets of the day: more, and more severe, when health is low; a burst during outages.
    fn tickets_day(&mut self, day: i32, h: f64, outage: bool, rng: &mut ChaCha8Rng) {
        let seats_used = f64::from(self.usage.seats_used.last().copied().unwrap_or(self.seats));
        let lambda = [0.004, 0.004, 0.0035][self.p.seg] * seats_used.sqrt() * (0.6 + 1.2 * (1.0 - h));
        for _ in 0..poisson(rng, lambda) {
            let roll = rng.random::<f64>();
            let priority = if roll < 0.03 + 0.07 * (1.0 - h) {
                "urgent"
            } else if roll < 0.15 + 0.22 * (1.0 - h) {
                "high"
            } else if roll < 0.6 {
                "medium"
            } else {
                "low"
            };
            let category = *pick(rng, &catalog::TICKET_CATEGORIES);
            self.tickets.push(make_ticket(rng, day, priority, category, h, self.cal.end));
        }
        if outage {
            for _ in 0..poisson(rng, 0.5 + 0.05 * seats_used.sqrt()) {
                let priority = if rng.random::<f64>() < 0.5 { "urgent" } else { "high" };
                self.tickets.push(make_ticket(rng, day, priority, "outage", h, self.cal.end));
            }
        }
    }

    /// A quarterly NPS campaign: respondents answer over the following two weeks.
    fn nps_campaign(&mut self, day: i32, h: f64, rng: &mut ChaCha8Rng) {
        let severe = severe_unresolved(&self.tickets, day, 60) > 0;
        let mu = 8.3 + self.p.nps_bias
            - 3.5 * (1.0 - h)
            - 2.0 * flag(self.p.champion_lost_recently(day))
            - 1.5 * flag(severe);
        for _ in 0..CONTACTS[self.p.seg] {
            if rng.random::<f64>() >= 0.45 {
                continue;
            }
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
            if answer_day <= self.cal.end && self.churn.is_none_or(|(c, _)| answer_day < c) {
                self.surveys.push(Survey { day: answer_day, nps, comment });
            }
        }
    }

    /// Closes the books: the churn event, anomalies clipped to the active days, names and contacts.
    fn finish(mut self, rng: &mut ChaCha8Rng) -> Account {
        self.surveys.sort_by_key(|s| s.day);
        let mrr: f64 = self.revenue.iter().map(|r| r.mrr_delta).sum();
        if let Some((churn_day, _)) = self.churn {
            self.revenue.push(RevenueEvent {
                day: churn_day,
                kind: "churn",
                mrr_delta: -mrr,
                seats_before: self.seats,
                seats_after: 0,
            });
            self.anomalies.retain(|a| a.start < churn_day);
        }
        let last_day = self.churn.map_or(self.cal.end, |(c, _)| c - 1);
        for a in &mut self.anomalies {
            a.end = a.end.min(last_day);
        }
        self.anomalies.sort_by_key(|a| a.start);

        let word = |rng: &mut ChaCha8Rng, list: &[&'static str]| list[rng.random_range(0..list.len())];
        let name = format!(
            "{} {} {}",
            word(rng, &catalog::NAME_FIRST),
            word(rng, &catalog::NAME_SECOND),
            word(rng, &catalog::NAME_SUFFIX)
        );
        let csm_i = self.p.seg * 7 + rng.random_range(0..7);
        let csm = format!("{} {}", catalog::PERSON_FIRST[csm_i % 20], catalog::PERSON_LAST[(csm_i * 7 + 3) % 20]);
        // The champion's address; after a champion loss, their successor's.
        let contacts = [0, 1].map(|_| (word(rng, &catalog::PERSON_FIRST), word(rng, &catalog::PERSON_LAST)));
        let (first, last) = contacts[usize::from(self.p.champion_lost.is_some())];
        let slug: String = name.split(' ').take(2).collect::<String>().to_ascii_lowercase();
        let email = format!("{}.{}@{slug}.example", first.to_ascii_lowercase(), last.to_ascii_lowercase());

        let p = self.p;
        Account {
            name,
            segment: SEGMENTS[p.seg],
            industry: p.industry,
            plan: p.plan,
            region: p.region,
            start: p.start,
            renewal: self.churn.map_or(self.next_renewal, |(c, _)| c),
            mrr: if self.churn.is_some() { 0.0 } else { mrr },
            seats: self.seats,
            csm,
            email,
            usage: self.usage,
            tickets: self.tickets,
            surveys: self.surveys,
            revenue: self.revenue,
            anomalies: self.anomalies,
            churn: self.churn,
            trend: p.trend,
            trend_slope: if p.trend == Trend::Declining { -p.slope } else { p.slope },
            decline_start: (p.trend == Trend::Declining).then_some(p.decline_start),
            champion_lost: p.champion_lost,
            last_churn_probability: self.last_p,
            yearly_realised: (self.yearly_planted.abs() > 1e-9).then(|| self.yearly_shown / self.yearly_planted),
        }
    }
}

fn flag(b: bool) -> f64 {
    f64::from(u8::from(b))
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
    let median_hours = match priority {
        "urgent" => 6.0,
        "high" => 24.0,
        "medium" => 72.0,
        _ => 120.0,
    };
    let severe = priority == "urgent" || priority == "high";
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
