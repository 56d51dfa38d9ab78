//! The trees laid out for prediction: every node and leaf of the ensemble in one array of 24-byte steps,
//! walked for several rows (batch) or several trees (one row) at a time.
//!
//! A walk down one tree is a chain of dependent loads ending in a branch on "is this a leaf?" whose outcome
//! changes from row to row, so one row at a time the processor mostly waits or recovers from a mispredicted
//! exit. Following Asadi, Lin and de Vries ("Runtime Optimizations for Tree-Based Machine Learning Models",
//! IEEE TKDE 2014: predication and interleaving of several instances), a leaf here is a step whose both
//! children are itself, so [`LANES`] walks advance together without a branch per walk and the loop ends
//! once all of them stand on leaves. The walks are independent chains the processor overlaps; the result
//! is the same leaf as [`Tree::leaf_index`] and the same sum in the same tree order, so predictions are
//! bit-identical to the tree-by-tree path (tested in `tests/it/gbdt.rs`).
//!
//! Written here because no crate walks our tree format (LightGBM's own predictor does the same job in C++).

use std::sync::OnceLock;

use super::tree::Tree;

/// Walks advanced together.
const LANES: usize = 8;

/// A step that is a leaf (`value` is the leaf's output; both children point to the step itself).
const LEAF: u32 = 1;
/// A numeric node sending missing values left.
const MISSING_LEFT: u32 = 2;
/// A categorical node (`value` is the index of its category set).
const CATEGORICAL: u32 = 4;

/// One node or leaf.
#[derive(Clone, Copy)]
struct Step {
    /// Numeric node: values `<= value` go left. Categorical node: index into `Forest::sets`. Leaf: the
    /// leaf's output.
    value: f64,
    /// Feature index (0 on leaves, which read it without effect).
    feature: u32,
    /// [`LEAF`], [`MISSING_LEFT`] or [`CATEGORICAL`].
    flags: u32,
    /// Absolute step index of the right (`[0]`) and left (`[1]`) child.
    next: [u32; 2],
}

/// The ensemble as steps.
#[derive(Clone)]
pub(crate) struct Forest {
    steps: Vec<Step>,
    /// Step index of each tree's root, in tree order.
    roots: Vec<u32>,
    /// Category bitsets of all trees, concatenated.
    words: Vec<u32>,
    /// (offset, length) of each categorical node's bitset in `words`.
    sets: Vec<(usize, usize)>,
}

impl Forest {
    /// Lays out `trees` (checked trees: children in range, as [`Tree::check`] guarantees for loaded files).
    pub(crate) fn new(trees: &[Tree]) -> Self {
        let mut forest = Self { steps: Vec::new(), roots: Vec::new(), words: Vec::new(), sets: Vec::new() };
        for tree in trees {
            let base = forest.steps.len() as u32;
            let leaves_at = base + tree.nodes.len() as u32;
            let at = |child: i32| if child < 0 { leaves_at + !child as u32 } else { base + child as u32 };
            for node in &tree.nodes {
                let (value, flags) = match node.cat_set {
                    Some(set) => {
                        let words = &tree.cat_sets[set as usize];
                        let index = forest.sets.len() as f64;
                        forest.sets.push((forest.words.len(), words.len()));
                        forest.words.extend_from_slice(words);
                        (index, CATEGORICAL)
                    }
                    None => (node.threshold, if node.default_left { MISSING_LEFT } else { 0 }),
                };
                forest.steps.push(Step { value, feature: node.feature, flags, next: [at(node.right), at(node.left)] });
            }
            for (j, &value) in tree.leaf_value.iter().enumerate() {
                let me = leaves_at + j as u32;
                forest.steps.push(Step { value, feature: 0, flags: LEAF, next: [me, me] });
            }
            forest.roots.push(base);
        }
        forest
    }

    /// 1 when value `v` goes to the step's left child, else 0 (predicated: no branch on numeric nodes).
    #[inline(always)]
    fn left(&self, step: &Step, v: f64) -> usize {
        if step.flags & CATEGORICAL != 0 {
            let (offset, len) = self.sets[step.value as usize];
            if v.is_nan() || v < 0.0 {
                return 0;
            }
            let code = v as usize;
            if code / 32 >= len {
                return 0;
            }
            return (self.words[offset + code / 32] >> (code % 32) & 1) as usize;
        }
        usize::from((v <= step.value) | (v.is_nan() & (step.flags & MISSING_LEFT != 0)))
    }

    /// Output of the tree rooted at `root` for one row.
    #[inline(always)]
    fn walk(&self, root: u32, row: &[f64]) -> f64 {
        let mut i = root as usize;
        loop {
            let step = &self.steps[i];
            if step.flags & LEAF != 0 {
                return step.value;
            }
            i = step.next[self.left(step, row[step.feature as usize])] as usize;
        }
    }

    /// Walks `LANES` (root, row) pairs together; returns the leaves' outputs.
    #[inline(always)]
    fn walk_lanes(&self, roots: [u32; LANES], row: impl Fn(usize, usize) -> f64) -> [f64; LANES] {
        let mut at = roots.map(|r| r as usize);
        loop {
            let mut all_leaves = LEAF;
            for (lane, i) in at.iter_mut().enumerate() {
                let step = &self.steps[*i];
                all_leaves &= step.flags;
                *i = step.next[self.left(step, row(lane, step.feature as usize))] as usize;
            }
            if all_leaves != 0 {
                return at.map(|i| self.steps[i].value);
            }
        }
    }

    /// Adds every tree's output, in tree order, to `scores` (one per row of the row-major `rows`, `k`
    /// values each). Tree by tree over the block, so each tree stays in cache while the rows pass.
    pub(crate) fn add(&self, rows: &[f64], k: usize, scores: &mut [f64]) {
        let full = scores.len() / LANES * LANES;
        for &root in &self.roots {
            let (lanes, rest) = scores.split_at_mut(full);
            for (g, lane_scores) in lanes.chunks_exact_mut(LANES).enumerate() {
                let block = &rows[g * LANES * k..(g + 1) * LANES * k];
                let out = self.walk_lanes([root; LANES], |lane, f| block[lane * k + f]);
                for (s, v) in lane_scores.iter_mut().zip(out) {
                    *s += v;
                }
            }
            for (r, s) in rest.iter_mut().enumerate() {
                let at = (full + r) * k;
                *s += self.walk(root, &rows[at..at + k]);
            }
        }
    }

    /// `init` plus every tree's output for one row, summed in tree order; allocates nothing.
    pub(crate) fn score(&self, row: &[f64], init: f64) -> f64 {
        let mut sum = init;
        let mut groups = self.roots.chunks_exact(LANES);
        for group in &mut groups {
            let mut roots = [0u32; LANES];
            roots.copy_from_slice(group);
            for v in self.walk_lanes(roots, |_, f| row[f]) {
                sum += v;
            }
        }
        for &root in groups.remainder() {
            sum += self.walk(root, row);
        }
        sum
    }
}

/// A booster's [`Forest`], laid out on first use. Derived from the trees, so it is never saved and two
/// caches always compare equal.
#[derive(Default, Clone)]
pub(crate) struct CachedForest(OnceLock<Forest>);

impl CachedForest {
    /// The forest of `trees` (the booster's own trees: the cache is reset whenever they change).
    pub(crate) fn get(&self, trees: &[Tree]) -> &Forest {
        self.0.get_or_init(|| Forest::new(trees))
    }
}

impl PartialEq for CachedForest {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for CachedForest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() { "CachedForest(laid out)" } else { "CachedForest(empty)" })
    }
}
