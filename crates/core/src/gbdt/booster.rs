//! The fitted model: prediction (batch in parallel, single row without allocation), feature importance and
//! SHAP contributions, with the feature schema checked on every input.

use arrow::array::RecordBatch;
use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::data::{FeatureInfo, Features};
use super::forest::CachedForest;
use super::objective::Loss;
use super::params::{GbdtParams, Metric, Objective};
use super::shap::tree_shap;
use super::tree::Tree;
use crate::error::{Error, Result};

/// Rows per parallel prediction task.
const PREDICT_CHUNK: usize = 2048;
/// Rows passed through one tree at a time in batch prediction (their values stay in L1 meanwhile).
const TREE_BLOCK: usize = 64;

/// Deepest tree TreeSHAP accepts (its recursion follows the tree's depth).
const MAX_SHAP_DEPTH: usize = 2048;

/// Why training stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// All `num_iterations` rounds ran.
    Completed,
    /// The validation metric stopped improving; the model keeps the best round.
    EarlyStopping,
    /// No leaf could be split any more (further trees would be constant).
    NoSplit,
    /// The progress callback asked to stop.
    Callback,
}

/// How training went, stored with the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    /// Training rows.
    pub rows: usize,
    /// Rounds run (including those discarded by early stopping).
    pub rounds: usize,
    /// 0-based round kept by early stopping.
    pub best_iteration: Option<usize>,
    /// The validation metric and its value per round, when a validation set was given.
    pub metric: Option<Metric>,
    /// Validation metric per round.
    pub eval_history: Vec<f64>,
    /// Why training stopped.
    pub stopped: StopReason,
    /// accountscope version that trained the model.
    pub library_version: String,
}

/// Feature importance measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Importance {
    /// Total loss reduction of the feature's splits.
    Gain,
    /// Number of splits on the feature.
    Split,
}

/// A trained gradient-boosted tree ensemble.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Booster {
    pub(crate) features: Vec<FeatureInfo>,
    pub(crate) params: GbdtParams,
    pub(crate) init_score: f64,
    pub(crate) trees: Vec<Tree>,
    pub(crate) info: TrainingInfo,
    /// The trees laid out for prediction (derived, not saved).
    #[serde(skip)]
    pub(crate) forest: CachedForest,
}

impl Booster {
    /// The feature schema the model was trained on.
    pub fn features(&self) -> &[FeatureInfo] {
        &self.features
    }

    /// Training parameters.
    pub fn params(&self) -> &GbdtParams {
        &self.params
    }

    /// The objective.
    pub fn objective(&self) -> Objective {
        self.params.objective
    }

    /// The trees.
    pub fn trees(&self) -> &[Tree] {
        &self.trees
    }

    /// The raw score every prediction starts from.
    pub fn init_score(&self) -> f64 {
        self.init_score
    }

    /// How training went.
    pub fn training_info(&self) -> &TrainingInfo {
        &self.info
    }

    /// Raw score of one row given as feature values in model order (categorical values as codes). The fast
    /// path: no allocation.
    pub fn predict_row_raw(&self, row: &[f64]) -> Result<f64> {
        if row.len() != self.features.len() {
            return Err(Error::invalid("row", format!("{} values for {} features", row.len(), self.features.len())));
        }
        Ok(self.raw_row(row))
    }

    /// Prediction (probability for binary, mean for Poisson/Tweedie) of one row; no allocation.
    pub fn predict_row(&self, row: &[f64]) -> Result<f64> {
        Ok(Loss::transform(self.objective(), self.predict_row_raw(row)?))
    }

    #[inline]
    fn raw_row(&self, row: &[f64]) -> f64 {
        self.forest.get(&self.trees).score(row, self.init_score)
    }

    /// Predictions for every row of `features` (which must carry this model's schema); `raw` gives scores
    /// before the link function.
    pub fn predict(&self, features: &Features, raw: bool) -> Result<Vec<f64>> {
        self.check_schema(features)?;
        let mut out = vec![0.0; features.num_rows()];
        let objective = self.objective();
        let k = features.num_features();
        if k == 0 {
            out.fill(if raw { self.init_score } else { Loss::transform(objective, self.init_score) });
            return Ok(out);
        }
        let forest = self.forest.get(&self.trees);
        features.par_blocks(&mut out, PREDICT_CHUNK, |rows, scores| {
            for (rows, scores) in rows.chunks(TREE_BLOCK * k).zip(scores.chunks_mut(TREE_BLOCK)) {
                scores.fill(self.init_score);
                forest.add(rows, k, scores);
                if !raw {
                    scores.iter_mut().for_each(|s| *s = Loss::transform(objective, *s));
                }
            }
        });
        Ok(out)
    }

    /// Predictions for a record batch holding exactly the model's feature columns.
    pub fn predict_batch(&self, batch: &RecordBatch, raw: bool) -> Result<Vec<f64>> {
        self.predict(&Features::with_schema(batch, &self.features)?, raw)
    }

    /// Predictions for a matrix whose columns are the model's features in order.
    pub fn predict_array(&self, x: ArrayView2<'_, f64>, raw: bool) -> Result<Vec<f64>> {
        self.predict(&Features::array_with_schema(x, &self.features)?, raw)
    }

    /// Feature importance per feature (model order).
    pub fn feature_importance(&self, kind: Importance) -> Vec<f64> {
        let mut out = vec![0.0; self.features.len()];
        for node in self.trees.iter().flat_map(|t| &t.nodes) {
            out[node.feature as usize] += match kind {
                Importance::Gain => node.gain,
                Importance::Split => 1.0,
            };
        }
        out
    }

    /// The expected raw score over the training rows: `init_score` plus each tree's cover-weighted mean.
    pub fn expected_value(&self) -> f64 {
        self.init_score + self.trees.iter().map(Tree::expected_value).sum::<f64>()
    }

    /// Exact TreeSHAP contributions (Lundberg et al. 2018), one row per input row and one column per feature
    /// plus a last column holding [`Self::expected_value`]; each row sums to the raw score.
    pub fn shap_values(&self, features: &Features) -> Result<Array2<f64>> {
        self.check_schema(features)?;
        let k = self.features.len();
        let n = features.num_rows();
        let mut out = Array2::<f64>::zeros((n, k + 1));
        let expected = self.expected_value();
        let max_depth = self.trees.iter().map(Tree::depth).max().unwrap_or(0);
        if max_depth > MAX_SHAP_DEPTH {
            return Err(Error::Unsupported(format!(
                "TreeSHAP on trees deeper than {MAX_SHAP_DEPTH} levels (this model has {max_depth})"
            )));
        }
        let slice = out.as_slice_mut().ok_or_else(|| Error::Internal("fresh array is not contiguous".into()))?;
        slice.par_chunks_mut((k + 1) * 64).enumerate().for_each(|(c, chunk)| {
            let mut row = vec![0.0; k];
            let mut scratch = super::shap::Scratch::new(max_depth);
            for (r, phi) in chunk.chunks_mut(k + 1).enumerate() {
                features.row_into(c * 64 + r, &mut row);
                for t in &self.trees {
                    tree_shap(t, &row, phi, &mut scratch);
                }
                phi[k] = expected;
            }
        });
        Ok(out)
    }

    fn check_schema(&self, features: &Features) -> Result<()> {
        if features.info() != self.features.as_slice() {
            return Err(Error::Schema {
                context: "gbdt input".into(),
                message: "the features do not carry the model's schema; build them with Features::with_schema \
                          (or use predict_batch / predict_array)"
                    .into(),
            });
        }
        Ok(())
    }

    /// Keeps only the first `rounds` trees.
    pub(crate) fn truncate(&mut self, rounds: usize) {
        self.trees.truncate(rounds);
        self.forest = CachedForest::default();
    }
}
