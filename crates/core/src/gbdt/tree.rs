//! A fitted regression tree on raw feature values: the form that is predicted with, explained and saved.
//!
//! Layout follows LightGBM's `Tree` (`include/LightGBM/tree.h`): internal nodes in arrays, a child index
//! `>= 0` is an internal node and `< 0` is leaf `!index`; numeric nodes send `x <= threshold` left and
//! missing values to their default side; categorical nodes send the categories in their bitset left and
//! everything else (missing, unseen) right. Children always have larger indices than their parent, which
//! [`Tree::check`] verifies on load so a hostile file cannot make prediction loop.

use serde::{Deserialize, Serialize};

use super::data::FeatureInfo;
use crate::error::{Error, Result};

/// An internal node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Feature index.
    pub feature: u32,
    /// Numeric: values `<= threshold` go left (`+inf` separates present from missing values). Unused for
    /// categorical nodes. JSON writes infinities as the strings `"inf"` / `"-inf"`.
    #[serde(with = "threshold_serde")]
    pub threshold: f64,
    /// Side of missing values on numeric nodes.
    pub default_left: bool,
    /// Categorical nodes: index into [`Tree::cat_sets`]; `None` for numeric nodes.
    pub cat_set: Option<u32>,
    /// Left child (`< 0`: leaf `!left`).
    pub left: i32,
    /// Right child (`< 0`: leaf `!right`).
    pub right: i32,
    /// Loss reduction of the split (for gain importance).
    pub gain: f64,
    /// Training rows that reached the node (the cover used by TreeSHAP).
    pub count: f64,
}

/// A tree of [`Node`]s and leaves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// Internal nodes; node 0 is the root. Empty for a single-leaf tree.
    pub nodes: Vec<Node>,
    /// Leaf values (already multiplied by the learning rate).
    pub leaf_value: Vec<f64>,
    /// Training rows per leaf.
    pub leaf_count: Vec<f64>,
    /// Bitsets (32-bit words) of category codes that go left, one per categorical node.
    pub cat_sets: Vec<Vec<u32>>,
}

impl Tree {
    /// The leaf a row (feature values in model order) falls into. Allocates nothing.
    #[inline]
    pub fn leaf_index(&self, row: &[f64]) -> usize {
        if self.nodes.is_empty() {
            return 0;
        }
        let mut i = 0usize;
        loop {
            let node = &self.nodes[i];
            // Indexing by the decision (instead of branching on it) avoids a mispredicted jump per node.
            let next = [node.right, node.left][usize::from(self.goes_left(node, row[node.feature as usize]))];
            if next < 0 {
                return !next as usize;
            }
            i = next as usize;
        }
    }

    /// Whether value `v` goes to the node's left child.
    #[inline]
    pub fn goes_left(&self, node: &Node, v: f64) -> bool {
        match node.cat_set {
            Some(set) => {
                let words = &self.cat_sets[set as usize];
                if v.is_nan() || v < 0.0 {
                    return false;
                }
                let code = v as usize;
                words.get(code / 32).is_some_and(|w| w >> (code % 32) & 1 == 1)
            }
            None if v.is_nan() => node.default_left,
            None => v <= node.threshold,
        }
    }

    /// The tree's output for a row.
    #[inline]
    pub fn predict(&self, row: &[f64]) -> f64 {
        self.leaf_value[self.leaf_index(row)]
    }

    /// Number of leaves.
    pub fn num_leaves(&self) -> usize {
        self.leaf_value.len()
    }

    /// Longest root-to-leaf path (edges); 0 for a single leaf.
    pub fn depth(&self) -> usize {
        let mut node_depth = vec![0usize; self.nodes.len()];
        let mut max = 0;
        for (i, node) in self.nodes.iter().enumerate() {
            let d = node_depth[i] + 1;
            for child in [node.left, node.right] {
                if child >= 0 {
                    if let Some(slot) = node_depth.get_mut(child as usize) {
                        *slot = d;
                    }
                } else {
                    max = max.max(d);
                }
            }
        }
        max
    }

    /// Cover-weighted mean of the leaf values: the tree's expected output over the training rows.
    pub fn expected_value(&self) -> f64 {
        let total: f64 = self.leaf_count.iter().sum();
        self.leaf_value.iter().zip(&self.leaf_count).map(|(v, c)| v * c).sum::<f64>() / total
    }

    /// Structural checks of a loaded tree: indices in range, children after parents, every leaf reached
    /// once, categorical sets only on categorical features, finite values, positive covers that add up.
    pub(crate) fn check(&self, features: &[FeatureInfo], at: &str) -> Result<()> {
        let bad = |message: String| Err(Error::Model(format!("invalid model file: {at}: {message}")));
        let leaves = self.leaf_value.len();
        if leaves != self.nodes.len() + 1 || self.leaf_count.len() != leaves {
            return bad(format!(
                "{} nodes, {} leaf values, {} leaf counts",
                self.nodes.len(),
                leaves,
                self.leaf_count.len()
            ));
        }
        if let Some(v) = self.leaf_value.iter().chain(&self.leaf_count).find(|v| !v.is_finite()) {
            return bad(format!("non-finite leaf value or count {v}"));
        }
        if self.leaf_count.iter().any(|c| *c <= 0.0) {
            return bad("a leaf with no training rows".into());
        }
        let mut leaf_seen = vec![false; leaves];
        let mut node_seen = vec![false; self.nodes.len()];
        if !self.nodes.is_empty() {
            node_seen[0] = true;
        }
        for (i, node) in self.nodes.iter().enumerate() {
            let feature = features.get(node.feature as usize);
            let Some(feature) = feature else {
                return bad(format!("node {i} splits on feature {} of {}", node.feature, features.len()));
            };
            match node.cat_set {
                Some(s) if !feature.kind.is_categorical() || s as usize >= self.cat_sets.len() => {
                    return bad(format!("node {i}: bad categorical set {s} on feature '{}'", feature.name));
                }
                None if feature.kind.is_categorical() || node.threshold.is_nan() => {
                    return bad(format!("node {i}: numeric split on feature '{}'", feature.name));
                }
                _ => {}
            }
            if !node.gain.is_finite() || !node.count.is_finite() {
                return bad(format!("node {i}: non-finite gain or count"));
            }
            let mut children_count = 0.0;
            for child in [node.left, node.right] {
                if child < 0 {
                    let leaf = !child as usize;
                    if leaf >= leaves || std::mem::replace(&mut leaf_seen[leaf], true) {
                        return bad(format!("node {i}: leaf {leaf} missing or reached twice"));
                    }
                    children_count += self.leaf_count[leaf];
                } else {
                    let c = child as usize;
                    if c <= i || c >= self.nodes.len() || std::mem::replace(&mut node_seen[c], true) {
                        return bad(format!("node {i}: child node {c} out of order, missing or reached twice"));
                    }
                    children_count += self.nodes[c].count;
                }
            }
            if (children_count - node.count).abs() > 1e-6 * node.count.max(1.0) {
                return bad(format!("node {i}: cover {} but children hold {children_count}", node.count));
            }
        }
        if self.cat_sets.iter().any(|s| s.len() > (super::data::MAX_CATEGORY_CODE as usize) / 32 + 1) {
            return bad("categorical set too large".into());
        }
        if !self.nodes.is_empty() && (leaf_seen.iter().any(|s| !s) || node_seen.iter().any(|s| !s)) {
            return bad("a node or leaf is not reachable".into());
        }
        Ok(())
    }
}

/// JSON has no infinities: human-readable formats get `"inf"` / `"-inf"` strings, binary ones the float.
mod threshold_serde {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub(super) fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if !s.is_human_readable() || v.is_finite() {
            s.serialize_f64(*v)
        } else if *v > 0.0 {
            s.serialize_str("inf")
        } else if *v < 0.0 {
            s.serialize_str("-inf")
        } else {
            s.serialize_str("nan")
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Number(f64),
        Text(String),
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        if !d.is_human_readable() {
            return f64::deserialize(d);
        }
        match Repr::deserialize(d)? {
            Repr::Number(v) => Ok(v),
            Repr::Text(t) if t == "inf" => Ok(f64::INFINITY),
            Repr::Text(t) if t == "-inf" => Ok(f64::NEG_INFINITY),
            Repr::Text(t) => {
                Err(D::Error::custom(format!("threshold: expected a number, \"inf\" or \"-inf\", got {t:?}")))
            }
        }
    }
}
