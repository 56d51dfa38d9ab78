//! Training parameters of the GBDT engine, named and defaulted as LightGBM's (`docs/Parameters.rst`) so a
//! LightGBM user can carry a configuration over; Python keyword arguments deserialize into this struct.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The loss that boosting minimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Binary log-loss on labels 0/1; raw scores are log-odds.
    #[default]
    Binary,
    /// Squared error (L2) regression.
    Regression,
    /// Pinball loss at quantile `alpha` (prediction intervals); leaf values are refitted to the
    /// residual quantile as LightGBM does.
    Quantile,
    /// Poisson regression with a log link, for counts; labels ≥ 0.
    Poisson,
    /// Tweedie regression with a log link and `tweedie_variance_power` in (1, 2), for revenue with zeros.
    Tweedie,
}

/// A metric for early stopping and the progress callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// ROC AUC (higher is better).
    Auc,
    /// Average precision, the PR AUC (higher is better).
    AveragePrecision,
    /// Binary log-loss.
    BinaryLogloss,
    /// Brier score.
    Brier,
    /// Root mean squared error.
    Rmse,
    /// Mean absolute error.
    Mae,
    /// Pinball loss at the objective's `alpha`.
    Quantile,
    /// Mean Poisson deviance.
    Poisson,
    /// Mean Tweedie deviance at the objective's `tweedie_variance_power`.
    Tweedie,
}

impl Metric {
    /// Whether larger values are better.
    pub fn higher_is_better(self) -> bool {
        matches!(self, Self::Auc | Self::AveragePrecision)
    }

    /// The metric LightGBM uses by default for an objective.
    pub fn default_for(objective: Objective) -> Self {
        match objective {
            Objective::Binary => Self::BinaryLogloss,
            Objective::Regression => Self::Rmse,
            Objective::Quantile => Self::Quantile,
            Objective::Poisson => Self::Poisson,
            Objective::Tweedie => Self::Tweedie,
        }
    }

    /// The metric's snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auc => "auc",
            Self::AveragePrecision => "average_precision",
            Self::BinaryLogloss => "binary_logloss",
            Self::Brier => "brier",
            Self::Rmse => "rmse",
            Self::Mae => "mae",
            Self::Quantile => "quantile",
            Self::Poisson => "poisson",
            Self::Tweedie => "tweedie",
        }
    }
}

/// Parameters of [`super::train`]. Defaults are LightGBM's except where noted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GbdtParams {
    /// The loss to minimise.
    pub objective: Objective,
    /// Quantile of the `quantile` objective (0.9).
    pub alpha: f64,
    /// Variance power of the `tweedie` objective, in (1, 2) (1.5).
    pub tweedie_variance_power: f64,
    /// Safeguard of the Poisson hessian, `exp(f + poisson_max_delta_step)` (0.7).
    pub poisson_max_delta_step: f64,
    /// Boosting rounds (100).
    pub num_iterations: usize,
    /// Shrinkage of each tree (0.1).
    pub learning_rate: f64,
    /// Maximum leaves per tree, grown best-first (31).
    pub num_leaves: usize,
    /// Maximum depth; `None` for no limit.
    pub max_depth: Option<usize>,
    /// Minimum rows in a leaf (20).
    pub min_data_in_leaf: usize,
    /// Minimum hessian sum in a leaf (1e-3).
    pub min_sum_hessian_in_leaf: f64,
    /// L1 regularisation of leaf values (0).
    pub lambda_l1: f64,
    /// L2 regularisation of leaf values (0).
    pub lambda_l2: f64,
    /// Minimum gain to make a split (0).
    pub min_gain_to_split: f64,
    /// Maximum bins per feature including the missing-value bin, at most 256 (255).
    pub max_bin: usize,
    /// Rows sampled to find bin boundaries (200,000).
    pub bin_construct_sample_cnt: usize,
    /// Share of rows drawn (without replacement) for each bagging round (1.0 = no bagging).
    pub bagging_fraction: f64,
    /// Redraw the bag every `bagging_freq` rounds; 0 disables bagging.
    pub bagging_freq: usize,
    /// Share of features each tree may use (1.0).
    pub feature_fraction: f64,
    /// Weight of positive rows for the binary objective (1.0).
    pub scale_pos_weight: f64,
    /// Monotone constraints by feature name: 1 increasing, -1 decreasing (numeric features only).
    pub monotone_constraints: BTreeMap<String, i8>,
    /// Features to treat as categorical (integer codes ≥ 0) in numeric input; string and dictionary
    /// columns of Arrow input are categorical anyway.
    pub categorical_features: Vec<String>,
    /// Most categories on the left side of a many-vs-many split (32).
    pub max_cat_threshold: usize,
    /// Smoothing added to a category's hessian when categories are sorted by gradient ratio (10).
    pub cat_smooth: f64,
    /// Extra L2 regularisation of categorical splits (10).
    pub cat_l2: f64,
    /// Up to this many categories, splits are one-vs-rest (4).
    pub max_cat_to_onehot: usize,
    /// Minimum rows in each category group of a many-vs-many split (100).
    pub min_data_per_group: usize,
    /// Stop when the validation metric has not improved for this many rounds; needs a validation set.
    pub early_stopping_round: Option<usize>,
    /// Validation metric; `None` uses the objective's default ([`Metric::default_for`]).
    pub metric: Option<Metric>,
    /// Start from the label average (LightGBM's `boost_from_average`, true).
    pub boost_from_average: bool,
    /// Seed of every random choice (bagging, feature subsampling, bin sampling) (0).
    pub seed: u64,
    /// Worker threads; 0 uses rayon's global pool. Results do not depend on it.
    pub num_threads: usize,
}

impl Default for GbdtParams {
    fn default() -> Self {
        Self {
            objective: Objective::Binary,
            alpha: 0.9,
            tweedie_variance_power: 1.5,
            poisson_max_delta_step: 0.7,
            num_iterations: 100,
            learning_rate: 0.1,
            num_leaves: 31,
            max_depth: None,
            min_data_in_leaf: 20,
            min_sum_hessian_in_leaf: 1e-3,
            lambda_l1: 0.0,
            lambda_l2: 0.0,
            min_gain_to_split: 0.0,
            max_bin: 255,
            bin_construct_sample_cnt: 200_000,
            bagging_fraction: 1.0,
            bagging_freq: 0,
            feature_fraction: 1.0,
            scale_pos_weight: 1.0,
            monotone_constraints: BTreeMap::new(),
            categorical_features: Vec::new(),
            max_cat_threshold: 32,
            cat_smooth: 10.0,
            cat_l2: 10.0,
            max_cat_to_onehot: 4,
            min_data_per_group: 100,
            early_stopping_round: None,
            metric: None,
            boost_from_average: true,
            seed: 0,
            num_threads: 0,
        }
    }
}

impl GbdtParams {
    /// Checks every field; the error names the field and the accepted range.
    pub fn validate(&self) -> Result<()> {
        let field = |name: &str, ok: bool, expected: &str| {
            if ok { Ok(()) } else { Err(Error::config(format!("gbdt.{name}"), format!("expected {expected}"))) }
        };
        let frac = |v: f64| v > 0.0 && v <= 1.0;
        let nonneg = |v: f64| v.is_finite() && v >= 0.0;
        field("alpha", self.alpha > 0.0 && self.alpha < 1.0, "a value in (0, 1)")?;
        field(
            "tweedie_variance_power",
            self.tweedie_variance_power > 1.0 && self.tweedie_variance_power < 2.0,
            "a value in (1, 2)",
        )?;
        field("poisson_max_delta_step", nonneg(self.poisson_max_delta_step), "a finite value >= 0")?;
        field("num_iterations", self.num_iterations >= 1, "at least 1")?;
        field("learning_rate", self.learning_rate.is_finite() && self.learning_rate > 0.0, "a value > 0")?;
        field("num_leaves", (2..=131_072).contains(&self.num_leaves), "a value in [2, 131072]")?;
        field("max_depth", self.max_depth != Some(0), "None or at least 1")?;
        field("min_data_in_leaf", self.min_data_in_leaf >= 1, "at least 1")?;
        field("min_sum_hessian_in_leaf", nonneg(self.min_sum_hessian_in_leaf), "a finite value >= 0")?;
        field("lambda_l1", nonneg(self.lambda_l1), "a finite value >= 0")?;
        field("lambda_l2", nonneg(self.lambda_l2), "a finite value >= 0")?;
        field("min_gain_to_split", nonneg(self.min_gain_to_split), "a finite value >= 0")?;
        field("max_bin", (3..=256).contains(&self.max_bin), "a value in [3, 256] (bins are stored in one byte)")?;
        field("bin_construct_sample_cnt", self.bin_construct_sample_cnt >= 100, "at least 100")?;
        field("bagging_fraction", frac(self.bagging_fraction), "a value in (0, 1]")?;
        field("feature_fraction", frac(self.feature_fraction), "a value in (0, 1]")?;
        field("scale_pos_weight", self.scale_pos_weight.is_finite() && self.scale_pos_weight > 0.0, "a value > 0")?;
        for (name, direction) in &self.monotone_constraints {
            field(&format!("monotone_constraints.{name}"), matches!(direction, -1..=1), "-1, 0 or 1")?;
        }
        field("max_cat_threshold", self.max_cat_threshold >= 1, "at least 1")?;
        field("cat_smooth", nonneg(self.cat_smooth), "a finite value >= 0")?;
        field("cat_l2", nonneg(self.cat_l2), "a finite value >= 0")?;
        field("early_stopping_round", self.early_stopping_round != Some(0), "None or at least 1")?;
        if let Some(metric) = self.metric {
            let fits = match metric {
                Metric::Auc | Metric::AveragePrecision | Metric::BinaryLogloss | Metric::Brier => {
                    self.objective == Objective::Binary
                }
                Metric::Poisson | Metric::Tweedie => matches!(self.objective, Objective::Poisson | Objective::Tweedie),
                Metric::Rmse | Metric::Mae | Metric::Quantile => self.objective != Objective::Binary,
            };
            field("metric", fits, &format!("a metric that fits objective {:?}", self.objective))?;
        }
        Ok(())
    }

    /// The validation metric in use.
    pub fn effective_metric(&self) -> Metric {
        self.metric.unwrap_or_else(|| Metric::default_for(self.objective))
    }
}
