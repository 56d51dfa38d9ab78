//! Drift monitoring against the training data: a reference profile per feature (decile edges with the
//! reference shares, the missing share, a deterministic sample of values), the population stability
//! index (PSI, Siddiqi 2006: Σ (a − e) ln(a / e) over the reference bins plus a missing bin, empty bins
//! floored at 1e-4) and the two-sample Kolmogorov-Smirnov test (statistic as scipy's `ks_2samp`, p-value
//! from the Kolmogorov limit distribution at `sqrt(nm/(n+m)) D`, as R's `ks.test` for large samples —
//! scipy's `method="asymp"` uses the finite-n `kstwo` instead, a few percent apart; statrs has no
//! Kolmogorov distribution, so its series is summed here), and a retrain policy over drift, performance
//! and age.

use arrow::array::{Array, RecordBatch};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::table::{column, numeric_column};

/// Reference values kept per feature for the KS test.
const SAMPLE: usize = 5_000;
/// Floor of a bin's share in PSI.
const FLOOR: f64 = 1e-4;

/// The training distribution of one numeric feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureProfile {
    /// Column name.
    pub name: String,
    /// Inner bin edges (the reference deciles, deduplicated): bin k holds values in (edge k-1, edge k].
    pub edges: Vec<f64>,
    /// Share of present reference values per bin (`edges.len() + 1` bins).
    pub shares: Vec<f64>,
    /// Share of missing values.
    pub missing: f64,
    /// Sorted sample of present reference values (every k-th of the sorted values).
    pub sample: Vec<f64>,
}

/// The reference profile of a model's numeric features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceProfile {
    /// One profile per numeric feature.
    pub features: Vec<FeatureProfile>,
}

/// Drift of one feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureDrift {
    /// Column name.
    pub name: String,
    /// Population stability index.
    pub psi: f64,
    /// KS statistic (largest CDF gap between reference sample and current values).
    pub ks_statistic: f64,
    /// Asymptotic KS p-value.
    pub ks_p_value: f64,
}

fn values(batch: &RecordBatch, name: &str) -> Result<(Vec<f64>, usize)> {
    let array = numeric_column(batch, name, "drift input")?;
    let mut present: Vec<f64> = array.iter().flatten().filter(|v| v.is_finite()).collect();
    present.sort_by(f64::total_cmp);
    Ok((present, array.len()))
}

fn bin_shares(sorted: &[f64], edges: &[f64]) -> Vec<f64> {
    let n = sorted.len().max(1) as f64;
    let mut counts = Vec::with_capacity(edges.len() + 1);
    let mut below = 0;
    for e in edges {
        let upto = sorted.partition_point(|v| v <= e);
        counts.push((upto - below) as f64 / n);
        below = upto;
    }
    counts.push((sorted.len() - below) as f64 / n);
    counts
}

impl ReferenceProfile {
    /// Profiles the numeric (non-text, non-boolean) `columns` of `batch`.
    pub fn new(batch: &RecordBatch, columns: &[String]) -> Result<Self> {
        let mut features = Vec::new();
        for name in columns {
            let array = column(batch, name, "drift reference")?;
            if !array.data_type().is_numeric() {
                continue;
            }
            let (sorted, rows) = values(batch, name)?;
            let mut edges: Vec<f64> = (1..10)
                .filter_map(|k| sorted.get(((k * sorted.len()) / 10).min(sorted.len().saturating_sub(1))).copied())
                .collect();
            edges.dedup();
            let step = sorted.len().div_ceil(SAMPLE).max(1);
            features.push(FeatureProfile {
                name: name.clone(),
                shares: bin_shares(&sorted, &edges),
                edges,
                missing: (rows - sorted.len()) as f64 / rows.max(1) as f64,
                sample: sorted.iter().step_by(step).copied().collect(),
            });
        }
        Ok(Self { features })
    }

    /// Drift of every profiled feature in `batch`.
    pub fn drift(&self, batch: &RecordBatch) -> Result<Vec<FeatureDrift>> {
        self.features
            .iter()
            .map(|f| {
                let (sorted, rows) = values(batch, &f.name)?;
                let missing = (rows - sorted.len()) as f64 / rows.max(1) as f64;
                let shares = bin_shares(&sorted, &f.edges);
                let present = 1.0 - missing;
                let expected = f.shares.iter().map(|s| s * (1.0 - f.missing)).chain([f.missing]);
                let actual = shares.iter().map(|s| s * present).chain([missing]);
                let psi = expected
                    .zip(actual)
                    .map(|(e, a)| {
                        let (e, a) = (e.max(FLOOR), a.max(FLOOR));
                        (a - e) * (a / e).ln()
                    })
                    .sum();
                let (ks_statistic, ks_p_value) = ks_two_sample(&f.sample, &sorted);
                Ok(FeatureDrift { name: f.name.clone(), psi, ks_statistic, ks_p_value })
            })
            .collect()
    }
}

/// Drift results as a table (`feature`, `psi`, `ks_statistic`, `ks_p_value`), e.g. to register as
/// `feature_drift` for the data-quality report.
pub fn drift_table(drift: &[FeatureDrift]) -> Result<crate::Table> {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Float64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    let schema = Arc::new(Schema::new(vec![
        Field::new("feature", DataType::Utf8, false),
        Field::new("psi", DataType::Float64, false),
        Field::new("ks_statistic", DataType::Float64, false),
        Field::new("ks_p_value", DataType::Float64, false),
    ]));
    let float = |f: fn(&FeatureDrift) -> f64| Arc::new(drift.iter().map(f).collect::<Float64Array>()) as ArrayRef;
    let columns = vec![
        Arc::new(drift.iter().map(|d| Some(d.name.as_str())).collect::<StringArray>()) as ArrayRef,
        float(|d| d.psi),
        float(|d| d.ks_statistic),
        float(|d| d.ks_p_value),
    ];
    Ok(crate::Table::from_batch(RecordBatch::try_new(schema, columns)?))
}

/// Population stability index of `current` against `reference` values, binned by the reference deciles.
pub fn psi(reference: &[f64], current: &[f64]) -> Result<f64> {
    let schema = |v: &[f64]| -> Result<RecordBatch> {
        let a: arrow::array::ArrayRef = std::sync::Arc::new(arrow::array::Float64Array::from(v.to_vec()));
        Ok(RecordBatch::try_from_iter([("x", a)])?)
    };
    let profile = ReferenceProfile::new(&schema(reference)?, &["x".into()])?;
    let drift = profile.drift(&schema(current)?)?;
    drift.first().map(|d| d.psi).ok_or_else(|| Error::Internal("psi of one column gave none".into()))
}

/// Two-sample KS statistic of sorted samples and its asymptotic p-value.
pub fn ks_two_sample(a: &[f64], b: &[f64]) -> (f64, f64) {
    if a.is_empty() || b.is_empty() {
        return (0.0, 1.0);
    }
    let (n, m) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / n - j as f64 / m).abs());
    }
    let en = (n * m / (n + m)).sqrt();
    (d, kolmogorov_sf(en * d))
}

/// Survival function of the Kolmogorov distribution, `2 Σ_{k≥1} (−1)^{k−1} exp(−2 k² x²)` (scipy's
/// `kstwobign.sf`); for small `x` the series converges slowly and the value is 1 to double precision.
pub fn kolmogorov_sf(x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    if x < 0.2 {
        return 1.0;
    }
    let mut sum = 0.0;
    for k in 1..=100 {
        let k = f64::from(k);
        let term = (-2.0 * k * k * x * x).exp();
        sum += if k as u64 % 2 == 1 { term } else { -term };
        if term < 1e-17 {
            break;
        }
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

/// When to retrain. Deserializes from JSON.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetrainPolicy {
    /// Retrain when any feature's PSI (or the predictions' PSI) exceeds this (0.25, "significant shift").
    pub max_psi: f64,
    /// Retrain when the ROC AUC on newly labelled rows falls this far below the training evaluation (0.05).
    pub max_auc_drop: f64,
    /// Retrain when the model is older than this many days (90).
    pub max_age_days: u32,
}

impl Default for RetrainPolicy {
    fn default() -> Self {
        Self { max_psi: 0.25, max_auc_drop: 0.05, max_age_days: 90 }
    }
}

/// The policy's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetrainDecision {
    /// Whether to retrain.
    pub retrain: bool,
    /// Every trigger that fired, readable.
    pub reasons: Vec<String>,
}

impl RetrainPolicy {
    /// Applies the policy to feature drift, the AUC at training and now (if labels are in), and the age.
    pub fn decide(&self, drift: &[FeatureDrift], auc: Option<(f64, f64)>, age_days: u32) -> RetrainDecision {
        let mut reasons: Vec<String> = drift
            .iter()
            .filter(|d| d.psi > self.max_psi)
            .map(|d| format!("{} drifted: PSI {:.3} > {}", d.name, d.psi, self.max_psi))
            .collect();
        if let Some((trained, now)) = auc.filter(|(t, n)| t - n > self.max_auc_drop) {
            reasons.push(format!("ROC AUC fell from {trained:.3} to {now:.3}"));
        }
        if age_days > self.max_age_days {
            reasons.push(format!("model is {age_days} days old (limit {})", self.max_age_days));
        }
        RetrainDecision { retrain: !reasons.is_empty(), reasons }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kolmogorov_tail_matches_scipy() {
        // scipy.stats.kstwobign.sf(x) for x = 0.25, 0.5, 1.0, 1.36, 2.0 (scipy 1.x).
        let cases = [
            (0.25, 0.999_999_973_176_189_9),
            (0.5, 0.963_945_243_664_875_1),
            (1.0, 0.269_999_671_677_354_56),
            (1.36, 0.049_485_876_755_377_876),
            (2.0, 0.000_670_925_255_779_695_3),
        ];
        for (x, want) in cases {
            assert!((kolmogorov_sf(x) - want).abs() < 1e-9, "{x}: {} vs {want}", kolmogorov_sf(x));
        }
    }

    #[test]
    fn psi_is_zero_for_the_same_data_and_large_for_a_shift() {
        let a: Vec<f64> = (0..1000).map(f64::from).collect();
        assert!(psi(&a, &a).unwrap().abs() < 1e-12);
        let shifted: Vec<f64> = a.iter().map(|v| v + 500.0).collect();
        assert!(psi(&a, &shifted).unwrap() > 1.0);
        let (d, p) = ks_two_sample(&a, &shifted);
        assert!((d - 0.5).abs() < 1e-12 && p < 1e-10);
    }

    #[test]
    fn the_policy_names_its_triggers() {
        let drift = [FeatureDrift { name: "mrr".into(), psi: 0.4, ks_statistic: 0.2, ks_p_value: 0.0 }];
        let d = RetrainPolicy::default().decide(&drift, Some((0.92, 0.85)), 30);
        assert!(d.retrain && d.reasons.len() == 2, "{d:?}");
        assert!(!RetrainPolicy::default().decide(&[], Some((0.92, 0.9)), 30).retrain);
    }
}
