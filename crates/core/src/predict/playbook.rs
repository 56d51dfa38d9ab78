//! Action recommendations: a configurable playbook catalogue mapping drivers (and optionally specific
//! features) to actions, ranked by how strongly each driver pushes the account's risk up in its TreeSHAP
//! reasons. The default catalogue follows common customer-success plays (enablement for adoption, ticket
//! escalation for support, detractor follow-up for sentiment, an early renewal conversation).

use serde::{Deserialize, Serialize};

use super::classifier::Reason;
use crate::error::{Error, Result};
use crate::features::{Driver, feature_index};

/// One play: when the driver (and, if listed, one of the features) is among an account's reasons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Play {
    /// The driver it answers.
    pub driver: Driver,
    /// Narrows the play to these features of the driver; empty for any.
    #[serde(default)]
    pub features: Vec<String>,
    /// What the customer-success manager should do.
    pub action: String,
}

/// The catalogue. Deserializes from JSON / YAML (`plays: [{driver, features, action}]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    /// Plays, the more specific (with features) first within a driver.
    pub plays: Vec<Play>,
    /// Actions recommended per account (2).
    #[serde(default = "default_actions")]
    pub actions: usize,
}

fn default_actions() -> usize {
    2
}

fn play(driver: Driver, features: &[&str], action: &str) -> Play {
    Play { driver, features: features.iter().map(|f| f.to_string()).collect(), action: action.into() }
}

impl Default for Playbook {
    fn default() -> Self {
        use Driver::*;
        Self {
            plays: vec![
                play(
                    Adoption,
                    &["seat_utilisation_30", "active_share_30"],
                    "Review seat assignment with the admin and re-onboard unused seats",
                ),
                play(Adoption, &[], "Run an enablement session on the features the team stopped using"),
                play(
                    Engagement,
                    &["days_since_active"],
                    "Reach the champion this week: nobody has used the product lately",
                ),
                play(Engagement, &[], "Hold a usage review with the champion and re-onboard inactive teams"),
                play(Support, &[], "Escalate the open severe tickets and agree a fix date with the customer"),
                play(Sentiment, &[], "Call the detractors from the latest survey and close the loop on their feedback"),
                play(Health, &[], "Open a success plan reviewing the health drivers with the customer"),
                play(Commercial, &["days_to_renewal"], "Start the renewal conversation now with the executive sponsor"),
                play(Commercial, &[], "Review the commercial terms and value delivered with the sponsor"),
                play(
                    Anomalies,
                    &[],
                    "Check the detected usage drop with the customer (outage, integration or team change)",
                ),
            ],
            actions: default_actions(),
        }
    }
}

impl Playbook {
    /// Parses a JSON or YAML catalogue and checks it.
    pub fn parse(text: &str) -> Result<Self> {
        let playbook: Self = serde_norway::from_str(text).map_err(|e| Error::config("playbook", e.to_string()))?;
        playbook.validate()?;
        Ok(playbook)
    }

    /// Checks that every play has an action and names known features of its driver.
    pub fn validate(&self) -> Result<()> {
        for (i, p) in self.plays.iter().enumerate() {
            if p.action.trim().is_empty() {
                return Err(Error::config(format!("playbook.plays[{i}].action"), "empty action"));
            }
            for f in &p.features {
                match feature_index(f) {
                    None => {
                        return Err(Error::config(
                            format!("playbook.plays[{i}].features"),
                            format!("unknown feature '{f}'"),
                        ));
                    }
                    Some(k) if crate::features::FEATURES[k].driver != p.driver => {
                        return Err(Error::config(
                            format!("playbook.plays[{i}].features"),
                            format!(
                                "'{f}' belongs to driver {}, not {}",
                                crate::features::FEATURES[k].driver.name(),
                                p.driver.name()
                            ),
                        ));
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(())
    }

    /// Actions for an account with `reasons` (positive contributions, largest first): drivers ranked by
    /// their summed contribution, each answered by its first play that fits the driver's strongest feature.
    pub fn recommend(&self, reasons: &[Reason]) -> Vec<String> {
        let mut drivers: Vec<(Driver, f64, &str)> = Vec::new();
        for r in reasons.iter().filter(|r| r.contribution > 0.0) {
            let Some(d) = r.driver else { continue };
            match drivers.iter_mut().find(|x| x.0 == d) {
                Some(x) => x.1 += r.contribution,
                None => drivers.push((d, r.contribution, &r.feature)),
            }
        }
        drivers.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut out: Vec<String> = Vec::new();
        for (driver, _, feature) in drivers {
            let chosen = self
                .plays
                .iter()
                .filter(|p| p.driver == driver)
                .find(|p| p.features.is_empty() || p.features.iter().any(|f| f == feature));
            if let Some(p) = chosen.filter(|p| !out.contains(&p.action)) {
                out.push(p.action.clone());
            }
            if out.len() >= self.actions {
                break;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(feature: &str, driver: Driver, contribution: f64) -> Reason {
        Reason {
            feature: feature.into(),
            value: String::new(),
            contribution,
            driver: Some(driver),
            text: String::new(),
        }
    }

    #[test]
    fn the_strongest_driver_comes_first() {
        let book = Playbook::default();
        let reasons = [
            reason("severe_unresolved_90", Driver::Support, 0.9),
            reason("logins_mean_30", Driver::Engagement, 0.6),
            reason("days_since_active", Driver::Engagement, 0.5),
        ];
        let actions = book.recommend(&reasons);
        assert_eq!(actions.len(), 2);
        assert!(actions[0].contains("usage review"), "engagement sums to 1.1: {actions:?}");
        assert!(actions[1].contains("severe tickets"));
    }

    #[test]
    fn a_bad_catalogue_is_named() {
        let err = Playbook::parse("plays: [{driver: support, features: [nps_last], action: call}]").unwrap_err();
        assert!(err.to_string().contains("plays[0].features"), "{err}");
        assert!(Playbook::parse("plays: [{driver: support, action: escalate}]").is_ok());
    }
}
