//! The boosting loop: gradients, bagging and feature subsampling, one tree per round, score updates,
//! validation metric, early stopping and the progress callback.
//!
//! Every random choice draws from one ChaCha8 stream seeded with `seed`, and every parallel step is split
//! by feature or by row with a fixed order of sums, so a seed gives bit-identical models for any
//! `num_threads`.

use std::ops::ControlFlow;

use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;

use super::binning::BinnedData;
use super::booster::{Booster, StopReason, TrainingInfo};
use super::data::{Dataset, Features};
use super::grow::{Grower, Workspace};
use super::objective::Loss;
use super::params::{GbdtParams, Metric};
use super::split::SplitParams;
use super::tree::Tree;
use crate::error::{Error, Result};
use crate::metrics;
use crate::progress::{self, Observer, Step};

/// What the progress callback sees after each round.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// 0-based round just finished.
    pub iteration: usize,
    /// Rounds requested.
    pub num_iterations: usize,
    /// The validation metric after this round, when a validation set was given.
    pub metric: Option<(Metric, f64)>,
    /// The best round so far by the validation metric.
    pub best_iteration: Option<usize>,
}

type Callback<'a> = Box<dyn FnMut(&Progress) -> ControlFlow<()> + Send + 'a>;

/// A training run: `Training::new(&params, &train).with_validation(&valid).with_progress(f).run()`.
pub struct Training<'a> {
    params: &'a GbdtParams,
    train: &'a Dataset,
    valid: Option<&'a Dataset>,
    progress: Option<Callback<'a>>,
    observer: Option<(&'a dyn Observer, &'a str)>,
}

/// Trains a model on `train` with `params` (no validation set, no callback).
pub fn train(params: &GbdtParams, train: &Dataset) -> Result<Booster> {
    Training::new(params, train).run()
}

impl<'a> Training<'a> {
    /// A run on `train`.
    pub fn new(params: &'a GbdtParams, train: &'a Dataset) -> Self {
        Self { params, train, valid: None, progress: None, observer: None }
    }

    /// Evaluates the metric on `valid` after each round (needed for early stopping). Its features must
    /// carry the training schema (`Features::with_schema` / `Dataset::from_batch_with_schema`).
    pub fn with_validation(mut self, valid: &'a Dataset) -> Self {
        self.valid = Some(valid);
        self
    }

    /// Calls `f` after each round; returning `ControlFlow::Break(())` stops training.
    pub fn with_progress(mut self, f: impl FnMut(&Progress) -> ControlFlow<()> + Send + 'a) -> Self {
        self.progress = Some(Box::new(f));
        self
    }

    /// Reports each round to `observer` as `task`; when it stops, [`Training::run`] returns
    /// [`Error::Cancelled`] and no model (unlike [`Training::with_progress`], whose stop keeps the trees).
    pub fn with_observer(mut self, observer: &'a dyn Observer, task: &'a str) -> Self {
        self.observer = Some((observer, task));
        self
    }

    /// Trains the model.
    pub fn run(self) -> Result<Booster> {
        self.params.validate()?;
        if self.params.num_threads > 0 {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(self.params.num_threads)
                .build()
                .map_err(|e| Error::Internal(format!("thread pool: {e}")))?;
            pool.install(|| self.run_here())
        } else {
            self.run_here()
        }
    }

    fn run_here(mut self) -> Result<Booster> {
        let p = self.params;
        let train = self.train;
        let n = train.num_rows();
        if n == 0 {
            return Err(Error::invalid("gbdt training data", "no rows"));
        }
        let loss = Loss::new(p);
        loss.check_labels(&train.label, "training")?;
        if let Some(v) = self.valid {
            if v.features.info() != train.features.info() {
                return Err(Error::Schema {
                    context: "gbdt validation data".into(),
                    message: "its features differ from the training features; build them with the training \
                              schema (Dataset::from_batch_with_schema)"
                        .into(),
                });
            }
            loss.check_labels(&v.label, "validation")?;
        } else if p.early_stopping_round.is_some() {
            return Err(Error::config("gbdt.early_stopping_round", "early stopping needs a validation set"));
        }
        let monotone = monotone_vector(p, &train.features)?;
        let data = BinnedData::build(&train.features, p.max_bin, p.bin_construct_sample_cnt, p.seed);
        let grower = Grower {
            data: &data,
            split: SplitParams::new(p),
            num_leaves: p.num_leaves,
            max_depth: p.max_depth,
            monotone: &monotone,
        };
        let weight = train.weight.as_deref();
        let init = if p.boost_from_average { loss.init_score(&train.label, weight) } else { 0.0 };
        let mut scores = vec![init; n];
        let mut valid_scores = self.valid.map(|v| vec![init; v.num_rows()]);
        let (mut g, mut h) = (vec![0.0; n], vec![0.0; n]);
        let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
        let mut bag: Vec<u32> = (0..n as u32).collect();
        let bagging = p.bagging_freq > 0 && p.bagging_fraction < 1.0;
        let mut work = Workspace::default();
        let num_features = train.features.num_features();
        let metric = p.effective_metric();

        let mut trees: Vec<Tree> = Vec::new();
        let mut history = Vec::new();
        let mut best: Option<(usize, f64)> = None;
        let mut stopped = StopReason::Completed;
        let mut rounds = 0;
        for iter in 0..p.num_iterations {
            loss.gradients(&train.label, weight, &scores, &mut g, &mut h);
            if bagging && iter % p.bagging_freq == 0 {
                let k = ((p.bagging_fraction * n as f64).round() as usize).clamp(1, n);
                let mut drawn = sample(&mut rng, n, k).into_vec();
                drawn.sort_unstable();
                bag = drawn.into_iter().map(|i| i as u32).collect();
            }
            let active = feature_subset(p.feature_fraction, num_features, &mut rng);
            let grown = grower.grow(&mut work, &bag, !bagging, &g, &h, &active);
            rounds += 1;
            if grown.tree.nodes.is_empty() {
                stopped = StopReason::NoSplit;
                break;
            }
            let mut tree = grown.tree;
            if loss.renews_leaves() {
                for (l, &(start, len)) in grown.leaf_ranges.iter().enumerate() {
                    let rows: Vec<usize> = grown.rows[start..start + len].iter().map(|&r| r as usize).collect();
                    tree.leaf_value[l] = loss.renewed_leaf(&rows, &train.label, weight, &scores);
                }
            }
            tree.leaf_value.iter_mut().for_each(|v| *v *= p.learning_rate);
            if bagging {
                add_tree(&tree, &train.features, &mut scores);
            } else {
                for (l, &(start, len)) in grown.leaf_ranges.iter().enumerate() {
                    for &r in &grown.rows[start..start + len] {
                        scores[r as usize] += tree.leaf_value[l];
                    }
                }
            }
            let mut value = None;
            if let (Some(v), Some(vs)) = (self.valid, valid_scores.as_mut()) {
                add_tree(&tree, &v.features, vs);
                let m = evaluate(metric, p, &v.label, v.weight.as_deref(), vs)?;
                history.push(m);
                let improved = best.is_none_or(|(_, b)| if metric.higher_is_better() { m > b } else { m < b });
                if improved {
                    best = Some((iter, m));
                }
                value = Some((metric, m));
            }
            trees.push(tree);
            if let Some(cb) = self.progress.as_mut() {
                let progress = Progress {
                    iteration: iter,
                    num_iterations: p.num_iterations,
                    metric: value,
                    best_iteration: best.map(|b| b.0),
                };
                if cb(&progress).is_break() {
                    stopped = StopReason::Callback;
                    break;
                }
            }
            if let Some((observer, task)) = self.observer {
                let total = p.num_iterations as u64;
                progress::report(observer, Step { task, done: iter as u64 + 1, total })?;
            }
            if let (Some(patience), Some((best_iter, _))) = (p.early_stopping_round, best)
                && iter - best_iter >= patience
            {
                stopped = StopReason::EarlyStopping;
                break;
            }
        }
        let best_iteration = if stopped == StopReason::EarlyStopping { best.map(|b| b.0) } else { None };
        let mut booster = Booster {
            features: train.features.info().to_vec(),
            params: p.clone(),
            init_score: init,
            trees,
            info: TrainingInfo {
                rows: n,
                rounds,
                best_iteration,
                metric: self.valid.map(|_| metric),
                eval_history: history,
                stopped,
                library_version: crate::VERSION.to_string(),
            },
            forest: Default::default(),
        };
        if let Some(b) = best_iteration {
            booster.truncate(b + 1);
        }
        Ok(booster)
    }
}

/// Monotone direction per feature from the by-name map; unknown names and categorical features are errors.
fn monotone_vector(p: &GbdtParams, features: &Features) -> Result<Vec<i8>> {
    let mut out = vec![0i8; features.num_features()];
    for (name, &direction) in &p.monotone_constraints {
        let Some(j) = features.info().iter().position(|f| &f.name == name) else {
            let names: Vec<&str> = features.info().iter().map(|f| f.name.as_str()).collect();
            return Err(Error::config(
                format!("gbdt.monotone_constraints.{name}"),
                format!("not a feature; features: {}", names.join(", ")),
            ));
        };
        if direction != 0 && features.info()[j].kind.is_categorical() {
            return Err(Error::config(
                format!("gbdt.monotone_constraints.{name}"),
                "monotone constraints apply to numeric features only",
            ));
        }
        out[j] = direction;
    }
    Ok(out)
}

/// The features a tree may use this round.
fn feature_subset(fraction: f64, num_features: usize, rng: &mut ChaCha8Rng) -> Vec<bool> {
    if fraction >= 1.0 {
        return vec![true; num_features];
    }
    let k = ((fraction * num_features as f64).round() as usize).clamp(1, num_features);
    let mut active = vec![false; num_features];
    for j in sample(rng, num_features, k) {
        active[j] = true;
    }
    active
}

/// `scores[i] += tree(row i)` for every row, in parallel.
fn add_tree(tree: &Tree, features: &Features, scores: &mut [f64]) {
    features.par_rows(scores, 4096, |row, s| *s += tree.predict(row));
}

/// The validation metric of raw scores.
fn evaluate(metric: Metric, p: &GbdtParams, label: &[f64], weight: Option<&[f64]>, raw: &[f64]) -> Result<f64> {
    // Ranking metrics use the raw scores; the others need predictions on the label's scale.
    let pred = || -> Vec<f64> { raw.iter().map(|&s| Loss::transform(p.objective, s)).collect() };
    match metric {
        Metric::Auc => metrics::roc_auc(label, raw, weight),
        Metric::AveragePrecision => metrics::average_precision(label, raw, weight),
        Metric::BinaryLogloss => metrics::log_loss(label, &pred(), weight),
        Metric::Brier => metrics::brier(label, &pred(), weight),
        Metric::Rmse => metrics::rmse(label, &pred(), weight),
        Metric::Mae => metrics::mae(label, &pred(), weight),
        Metric::Quantile => metrics::quantile_loss(label, &pred(), p.alpha, weight),
        Metric::Poisson => metrics::tweedie_deviance(label, &pred(), 1.0, weight),
        Metric::Tweedie => metrics::tweedie_deviance(label, &pred(), p.tweedie_variance_power, weight),
    }
}
