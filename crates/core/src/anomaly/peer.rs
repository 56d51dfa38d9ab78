//! Peer-group outliers: accounts whose recent behaviour is unlike their segment's.
//!
//! Two detectors over a feature table (one row per account, numeric features, a peer-group column):
//! - **Robust distance.** Per feature, (x − group median) / (1.4826 · group MAD); an account's score is
//!   the largest |z| over its features, and the feature that gives it is named (Iglewicz & Hoaglin 1993).
//! - **Isolation forest** (Liu, Ting & Zhou 2008): per group, `n_trees` trees grown on random subsamples
//!   of `sample_size` rows, each split a random feature at a uniform cut between its sample min and max,
//!   to depth ⌈log₂ ψ⌉; the score is 2^(−E[h(x)] / c(ψ)) with c(ψ) = 2H(ψ − 1) − 2(ψ − 1)/ψ and
//!   H(i) = ln i + γ, h including c(size) at an unsplit leaf. Scores near 1 are isolated early; ~0.5 or
//!   less is ordinary. Each tree has its own seed (seed, group, tree), so results are identical for any
//!   thread count. Missing feature values are imputed with the group median for the forest and ignored
//!   by the robust distance.
//!
//! [`recent_features`] builds the usual input from daily usage: per metric, the mean of the last
//! `window_days` up to `as_of` and its log change against the window before.
//!
//! Written here rather than taken from a crate: no maintained Rust crate offers an isolation forest over
//! Arrow columns with per-tree seeding, and the algorithm is a few dozen lines.

use std::collections::HashMap;

use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::median_mad;
use crate::error::{Error, Result};
use crate::table::Table;
use crate::trend::series::{Grouped, float_column, text_column, to_table};

/// Settings of the peer-group detectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PeerConfig {
    /// Columns that identify an account.
    pub id_columns: Vec<String>,
    /// Columns whose values make a peer group (none: one group).
    pub group_columns: Vec<String>,
    /// Feature columns; empty means every numeric column that is not an id or group column.
    pub feature_columns: Vec<String>,
    /// Trees per group.
    pub n_trees: usize,
    /// Rows per tree (ψ).
    pub sample_size: usize,
    /// Seed of the forest.
    pub seed: u64,
    /// Robust |z| at or above which an account is an outlier.
    pub robust_threshold: f64,
    /// Isolation score at or above which an account is an outlier.
    pub isolation_threshold: f64,
    /// Groups smaller than this are not scored (too few peers).
    pub min_group: usize,
}

impl Default for PeerConfig {
    fn default() -> Self {
        Self {
            id_columns: vec!["account_id".into()],
            group_columns: vec!["segment".into()],
            feature_columns: Vec::new(),
            n_trees: 100,
            sample_size: 256,
            seed: 42,
            robust_threshold: 5.0,
            isolation_threshold: 0.65,
            min_group: 10,
        }
    }
}

impl PeerConfig {
    /// Checks the fields.
    pub fn validate(&self) -> Result<()> {
        if self.n_trees == 0 || self.sample_size < 2 {
            return Err(Error::config("peer.n_trees / peer.sample_size", "need at least 1 tree of 2 rows"));
        }
        if !(self.isolation_threshold > 0.0 && self.isolation_threshold < 1.0) {
            return Err(Error::config(
                "peer.isolation_threshold",
                format!("must be in (0, 1), got {}", self.isolation_threshold),
            ));
        }
        if !(self.robust_threshold > 0.0 && self.robust_threshold.is_finite()) {
            return Err(Error::config("peer.robust_threshold", format!("must be > 0, got {}", self.robust_threshold)));
        }
        Ok(())
    }
}

/// c(n): the average path length of an unsuccessful search in a binary search tree of n points.
pub fn average_path(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        _ => {
            let n = n as f64;
            2.0 * ((n - 1.0).ln() + 0.577_215_664_901_532_9) - 2.0 * (n - 1.0) / n
        }
    }
}

enum Node {
    Leaf(usize),
    Split { feature: usize, cut: f64, left: Box<Node>, right: Box<Node> },
}

fn grow(rows: &mut [usize], x: &[Vec<f64>], depth: usize, limit: usize, rng: &mut ChaCha8Rng) -> Node {
    if depth >= limit || rows.len() <= 1 {
        return Node::Leaf(rows.len());
    }
    let features = x[0].len();
    // Features that still vary in this node; a node where none does is a leaf.
    let ranges: Vec<(usize, f64, f64)> = (0..features)
        .filter_map(|f| {
            let (lo, hi) =
                rows.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &r| (lo.min(x[r][f]), hi.max(x[r][f])));
            (hi > lo).then_some((f, lo, hi))
        })
        .collect();
    if ranges.is_empty() {
        return Node::Leaf(rows.len());
    }
    let (feature, lo, hi) = ranges[rng.random_range(0..ranges.len())];
    let cut = lo + rng.random::<f64>() * (hi - lo);
    let mut split = 0;
    for i in 0..rows.len() {
        if x[rows[i]][feature] < cut {
            rows.swap(i, split);
            split += 1;
        }
    }
    let (left, right) = rows.split_at_mut(split);
    Node::Split {
        feature,
        cut,
        left: Box::new(grow(left, x, depth + 1, limit, rng)),
        right: Box::new(grow(right, x, depth + 1, limit, rng)),
    }
}

fn path(node: &Node, x: &[f64], depth: f64) -> f64 {
    match node {
        Node::Leaf(size) => depth + average_path(*size),
        Node::Split { feature, cut, left, right } => {
            path(if x[*feature] < *cut { left } else { right }, x, depth + 1.0)
        }
    }
}

/// Isolation scores of the rows of `x` (rows × features, no NaN) with a forest grown on them.
pub fn isolation_scores(x: &[Vec<f64>], n_trees: usize, sample_size: usize, seed: u64) -> Vec<f64> {
    let n = x.len();
    if n < 2 {
        return vec![f64::NAN; n];
    }
    let psi = sample_size.min(n);
    let limit = (psi as f64).log2().ceil() as usize;
    let trees: Vec<Node> = (0..n_trees)
        .into_par_iter()
        .map(|t| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(t as u64));
            let mut sample: Vec<usize> = rand::seq::index::sample(&mut rng, n, psi).into_vec();
            grow(&mut sample, x, 0, limit, &mut rng)
        })
        .collect();
    let c = average_path(psi);
    x.par_iter()
        .map(|row| {
            let mean = trees.iter().map(|t| path(t, row, 0.0)).sum::<f64>() / n_trees as f64;
            2f64.powf(-mean / c)
        })
        .collect()
}

/// Scores every account against its peer group; see the module documentation. Output: id and group
/// columns, `peers` (group size), `isolation_score`, `robust_z` (largest |z|), `feature` (the feature
/// giving it), `value`, `peer_median`, `outlier`, `reason`.
pub fn peer_outliers(features: &Table, config: &PeerConfig) -> Result<Table> {
    config.validate()?;
    let batch = features.concat()?;
    let skip: Vec<&String> = config.id_columns.iter().chain(&config.group_columns).collect();
    let names: Vec<String> = if config.feature_columns.is_empty() {
        batch
            .schema()
            .fields()
            .iter()
            .filter(|f| f.data_type().is_numeric() && !skip.contains(&f.name()))
            .map(|f| f.name().clone())
            .collect()
    } else {
        config.feature_columns.clone()
    };
    if names.is_empty() {
        return Err(Error::invalid("peer features", "no numeric feature columns"));
    }
    let columns: Vec<Vec<f64>> = names
        .iter()
        .map(|name| {
            let values = crate::table::numeric_column(&batch, name, "peer features")?;
            Ok((0..values.len())
                .map(|r| if values.is_valid(r) && values.value(r).is_finite() { values.value(r) } else { f64::NAN })
                .collect())
        })
        .collect::<Result<_>>()?;
    let grouped = Grouped::by_ids(features, &config.group_columns)?;
    let n = batch.num_rows();
    let mut out: Vec<(usize, f64, f64, usize, f64, f64)> =
        vec![(0, f64::NAN, f64::NAN, usize::MAX, f64::NAN, f64::NAN); n];
    for (g, rows) in grouped.groups.iter().enumerate() {
        let rows: Vec<usize> = rows.iter().map(|r| *r as usize).collect();
        if rows.len() < config.min_group {
            rows.iter().for_each(|&r| out[r].0 = rows.len());
            continue;
        }
        let stats: Vec<(f64, f64)> = columns
            .iter()
            .map(|c| {
                let mut v: Vec<f64> = rows.iter().map(|&r| c[r]).filter(|v| !v.is_nan()).collect();
                median_mad(&mut v)
            })
            .collect();
        let x: Vec<Vec<f64>> = rows
            .iter()
            .map(|&r| {
                columns.iter().zip(&stats).map(|(c, (median, _))| if c[r].is_nan() { *median } else { c[r] }).collect()
            })
            .collect();
        let seed = config.seed.wrapping_add((g as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
        let iso = isolation_scores(&x, config.n_trees, config.sample_size, seed);
        for (k, &r) in rows.iter().enumerate() {
            let (mut best, mut feature) = (0.0, usize::MAX);
            for (f, (c, (median, mad))) in columns.iter().zip(&stats).enumerate() {
                if !c[r].is_nan() && *mad > 0.0 {
                    let z = (c[r] - median) / mad;
                    if z.abs() > f64::abs(best) {
                        (best, feature) = (z, f);
                    }
                }
            }
            let (value, median) =
                if feature == usize::MAX { (f64::NAN, f64::NAN) } else { (columns[feature][r], stats[feature].0) };
            out[r] = (rows.len(), iso[k], best, feature, value, median);
        }
    }
    let mut cols = Vec::new();
    for name in config.id_columns.iter().chain(&config.group_columns) {
        let array = crate::table::column(&batch, name, "peer features")?;
        cols.push((arrow::datatypes::Field::new(name, array.data_type().clone(), true), array.clone()));
    }
    cols.push(crate::trend::series::int_column("peers", out.iter().map(|o| o.0 as i64)));
    cols.push(float_column("isolation_score", out.iter().map(|o| Some(o.1).filter(|v| !v.is_nan()))));
    cols.push(float_column("robust_z", out.iter().map(|o| Some(o.2).filter(|v| !v.is_nan()))));
    cols.push(text_column("feature", out.iter().map(|o| names.get(o.3).map(String::as_str))));
    cols.push(float_column("value", out.iter().map(|o| Some(o.4).filter(|v| !v.is_nan()))));
    cols.push(float_column("peer_median", out.iter().map(|o| Some(o.5).filter(|v| !v.is_nan()))));
    let flags: Vec<Option<bool>> = out
        .iter()
        .map(|o| (!o.1.is_nan()).then(|| o.1 >= config.isolation_threshold || o.2.abs() >= config.robust_threshold))
        .collect();
    cols.push((
        arrow::datatypes::Field::new("outlier", DataType::Boolean, true),
        std::sync::Arc::new(arrow::array::BooleanArray::from(flags.clone())),
    ));
    let reasons: Vec<Option<String>> = out
        .iter()
        .zip(&flags)
        .map(|(o, flag)| match flag {
            None => Some(format!("not scored: {} peers is fewer than min_group {}", o.0, config.min_group)),
            Some(false) => None,
            Some(true) => Some(format!(
                "{} {:.3} against a peer median of {:.3} ({:+.1} robust sd); isolation score {:.2}",
                names.get(o.3).map_or("no feature", String::as_str),
                o.4,
                o.5,
                o.2,
                o.1
            )),
        })
        .collect();
    cols.push(text_column("reason", reasons.iter().map(|r| r.as_deref())));
    to_table(cols)
}

/// How [`recent_features`] summarises usage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecentConfig {
    /// Columns that identify an account.
    pub id_columns: Vec<String>,
    /// Day column.
    pub time_column: String,
    /// Metrics to summarise.
    pub value_columns: Vec<String>,
    /// Days in the recent window (and in the one before it).
    pub window_days: u32,
    /// Last day of the recent window.
    pub as_of: chrono::NaiveDate,
}

impl Default for RecentConfig {
    fn default() -> Self {
        Self {
            id_columns: vec!["account_id".into()],
            time_column: "date".into(),
            value_columns: super::usage_metrics(),
            window_days: 28,
            as_of: chrono::NaiveDate::default(),
        }
    }
}

/// Per account: for each metric `<metric>_recent` (mean over the window ending `as_of`) and
/// `<metric>_change` (ln((recent + 1) / (previous + 1)) against the window before), plus the columns of
/// `attributes` (e.g. the accounts table, for the segment), joined on the first id column. Accounts
/// with no usage in the recent window get nulls.
pub fn recent_features(usage: &Table, attributes: Option<&Table>, config: &RecentConfig) -> Result<Table> {
    if config.window_days == 0 {
        return Err(Error::config("recent.window_days", "must be at least 1, got 0"));
    }
    let grouped = Grouped::new(usage, &config.id_columns, &config.time_column)?;
    let end = f64::from(crate::contracts::days_since_epoch(config.as_of));
    let w = f64::from(config.window_days);
    let mut columns = grouped.key_columns(&(0..grouped.groups.len()).collect::<Vec<_>>())?;
    for metric in &config.value_columns {
        let values = grouped.values(metric)?;
        let (recent, change): (Vec<Option<f64>>, Vec<Option<f64>>) = (0..grouped.groups.len())
            .map(|g| {
                let p = grouped.points(g, &values);
                let mean = |from: f64, to: f64| {
                    let v: Vec<f64> =
                        p.t.iter().zip(&p.v).filter(|(t, _)| **t > from && **t <= to).map(|(_, v)| *v).collect();
                    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
                };
                let (now, before) = (mean(end - w, end), mean(end - 2.0 * w, end - w));
                (now, now.zip(before).map(|(a, b)| ((a + 1.0) / (b + 1.0)).ln()))
            })
            .unzip();
        columns.push(float_column(&format!("{metric}_recent"), recent));
        columns.push(float_column(&format!("{metric}_change"), change));
    }
    let table = to_table(columns)?;
    let Some(attributes) = attributes else { return Ok(table) };
    let key = &config.id_columns[0];
    let attrs = attributes.concat()?;
    let ids = cast(crate::table::column(&attrs, key, "attributes")?, &DataType::Utf8)?;
    let ids = ids.as_string::<i32>();
    let row_of: HashMap<&str, u32> =
        (0..ids.len()).filter(|r| ids.is_valid(*r)).map(|r| (ids.value(r), r as u32)).collect();
    let base = table.concat()?;
    let own = cast(base.column_by_name(key).expect("the id column was just written"), &DataType::Utf8)?;
    let own = own.as_string::<i32>();
    let take = arrow::array::UInt32Array::from_iter((0..own.len()).map(|r| row_of.get(own.value(r)).copied()));
    let mut cols: Vec<(arrow::datatypes::Field, arrow::array::ArrayRef)> =
        base.schema().fields().iter().map(|f| f.as_ref().clone()).zip(base.columns().iter().cloned()).collect();
    for (field, array) in attrs.schema().fields().iter().zip(attrs.columns()) {
        if field.name() != key && base.column_by_name(field.name()).is_none() {
            cols.push((field.as_ref().clone().with_nullable(true), arrow::compute::take(array, &take, None)?));
        }
    }
    to_table(cols)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_path_follows_the_paper() {
        // c(256) from Liu et al.'s formula; H(255) = ln 255 + γ.
        let want = 2.0 * (255f64.ln() + 0.5772156649015329) - 2.0 * 255.0 / 256.0;
        assert!((average_path(256) - want).abs() < 1e-12);
        assert_eq!(average_path(2), 1.0);
    }

    #[test]
    fn the_isolated_point_scores_highest_and_seeds_repeat() {
        let mut x: Vec<Vec<f64>> = (0..200).map(|i| vec![(i % 20) as f64, (i / 20) as f64]).collect();
        x.push(vec![60.0, 60.0]);
        let s = isolation_scores(&x, 100, 128, 7);
        let top = (0..s.len()).max_by(|a, b| s[*a].total_cmp(&s[*b])).unwrap();
        assert_eq!(top, 200);
        assert!(s[200] > 0.7 && s[50] < 0.6, "{} {}", s[200], s[50]);
        assert_eq!(s, isolation_scores(&x, 100, 128, 7));
    }
}
