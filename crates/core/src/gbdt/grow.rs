//! Leaf-wise (best-first) growth of one tree, as LightGBM's `SerialTreeLearner`: repeatedly split the leaf
//! whose best split gains most until `num_leaves` leaves exist or no split gains. Rows of each leaf are a
//! contiguous range of one index array that is partitioned in place; only the smaller child's histogram is
//! built from rows, the larger child's is the parent's minus the smaller's (the subtraction trick).

use super::binning::{BinMapper, BinnedData};
use super::split::{
    HistBin, LeafView, SplitCandidate, SplitParams, SplitRule, Sums, best_split, build_histogram, subtract_histogram,
};
use super::tree::{Node, Tree};

/// Everything a tree needs besides the gradients.
pub(crate) struct Grower<'a> {
    pub(crate) data: &'a BinnedData,
    pub(crate) split: SplitParams,
    pub(crate) num_leaves: usize,
    pub(crate) max_depth: Option<usize>,
    /// Monotone direction per feature (0 = none).
    pub(crate) monotone: &'a [i8],
}

/// A grown tree (leaf values not yet shrunk) and the rows in each leaf.
pub(crate) struct Grown {
    pub(crate) tree: Tree,
    /// Rows partitioned by leaf.
    pub(crate) rows: Vec<u32>,
    /// `(start, len)` of each leaf's rows in `rows`.
    pub(crate) leaf_ranges: Vec<(usize, usize)>,
}

struct Leaf {
    start: usize,
    len: usize,
    sums: Sums,
    depth: usize,
    bounds: (f64, f64),
    output: f64,
    hist: Vec<HistBin>,
    best: Option<SplitCandidate>,
    /// The node pointing at this leaf and whether as its left child.
    parent: Option<(usize, bool)>,
}

impl Grower<'_> {
    /// Grows a tree on `rows` (every row when `all_rows`), with per-row gradients `g` and hessians `h`, using
    /// the `active` features.
    pub(crate) fn grow(&self, mut rows: Vec<u32>, all_rows: bool, g: &[f64], h: &[f64], active: &[bool]) -> Grown {
        let total_bins = self.data.total_bins();
        let mut sums = Sums::default();
        for &r in &rows {
            sums = Sums { g: sums.g + g[r as usize], h: sums.h + h[r as usize], n: sums.n + 1 };
        }
        let mut hist = vec![HistBin::default(); total_bins];
        let (mut og, mut oh) = (Vec::with_capacity(rows.len()), Vec::with_capacity(rows.len()));
        if all_rows {
            build_histogram(&mut hist, self.data, active, None, g, h);
        } else {
            gather(&rows, g, h, &mut og, &mut oh);
            build_histogram(&mut hist, self.data, active, Some(&rows), &og, &oh);
        }
        let no_bounds = (f64::NEG_INFINITY, f64::INFINITY);
        let root_output = self.split.leaf_output(sums, self.split.l2, no_bounds);
        let mut leaves = vec![Leaf {
            start: 0,
            len: rows.len(),
            sums,
            depth: 0,
            bounds: no_bounds,
            output: root_output,
            hist,
            best: None,
            parent: None,
        }];
        self.find_best(&mut leaves[0], active);
        let mut nodes: Vec<Node> = Vec::new();
        let mut cat_sets: Vec<Vec<u32>> = Vec::new();
        let mut right_rows: Vec<u32> = Vec::new();

        while leaves.len() < self.num_leaves {
            let mut pick: Option<(usize, f64)> = None;
            for (i, leaf) in leaves.iter().enumerate() {
                if let Some(b) = &leaf.best
                    && pick.is_none_or(|(_, gain)| b.gain > gain)
                {
                    pick = Some((i, b.gain));
                }
            }
            let Some((l, _)) = pick else { break };
            let Some(split) = leaves[l].best.take() else { break };
            let new_leaf = leaves.len();
            let node_index = nodes.len();
            nodes.push(self.node(&split, &leaves[l], l, new_leaf, &mut cat_sets));
            if let Some((p, is_left)) = leaves[l].parent {
                if is_left {
                    nodes[p].left = node_index as i32;
                } else {
                    nodes[p].right = node_index as i32;
                }
            }

            let (start, len) = (leaves[l].start, leaves[l].len);
            let left_len = self.partition(&mut rows[start..start + len], &split, &mut right_rows);
            let (left_bounds, right_bounds) = child_bounds(leaves[l].bounds, &split, self.monotone[split.feature]);
            let depth = leaves[l].depth + 1;
            let mut parent_hist = std::mem::take(&mut leaves[l].hist);
            let left_smaller = left_len <= len - left_len;
            let (small_start, small_len) =
                if left_smaller { (start, left_len) } else { (start + left_len, len - left_len) };
            let mut small_hist = vec![HistBin::default(); total_bins];
            let small_rows = &rows[small_start..small_start + small_len];
            gather(small_rows, g, h, &mut og, &mut oh);
            build_histogram(&mut small_hist, self.data, active, Some(small_rows), &og, &oh);
            subtract_histogram(&mut parent_hist, &small_hist);
            let (left_hist, right_hist) =
                if left_smaller { (small_hist, parent_hist) } else { (parent_hist, small_hist) };

            leaves[l] = Leaf {
                start,
                len: left_len,
                sums: split.left,
                depth,
                bounds: left_bounds,
                output: split.left_output,
                hist: left_hist,
                best: None,
                parent: Some((node_index, true)),
            };
            leaves.push(Leaf {
                start: start + left_len,
                len: len - left_len,
                sums: split.right,
                depth,
                bounds: right_bounds,
                output: split.right_output,
                hist: right_hist,
                best: None,
                parent: Some((node_index, false)),
            });
            if leaves.len() < self.num_leaves {
                self.find_best(&mut leaves[l], active);
                self.find_best(&mut leaves[new_leaf], active);
            }
        }

        let tree = Tree {
            nodes,
            leaf_value: leaves.iter().map(|l| l.output).collect(),
            leaf_count: leaves.iter().map(|l| l.len as f64).collect(),
            cat_sets,
        };
        let leaf_ranges = leaves.iter().map(|l| (l.start, l.len)).collect();
        Grown { tree, rows, leaf_ranges }
    }

    /// Finds the leaf's best split if it may be split; frees its histogram otherwise.
    fn find_best(&self, leaf: &mut Leaf, active: &[bool]) {
        let deep_enough = self.max_depth.is_some_and(|d| leaf.depth >= d);
        let too_small = leaf.len < 2 * self.split.min_data as usize || leaf.sums.h < 2.0 * self.split.min_hess;
        leaf.best = if deep_enough || too_small {
            None
        } else {
            let view = LeafView { hist: &leaf.hist, sums: leaf.sums, bounds: leaf.bounds };
            best_split(view, self.data, active, self.monotone, &self.split)
        };
        if leaf.best.is_none() {
            leaf.hist = Vec::new();
        }
    }

    /// The node for a split of `leaf` (which keeps its index as the left child; the right child is `new_leaf`).
    fn node(
        &self,
        split: &SplitCandidate,
        leaf: &Leaf,
        index: usize,
        new_leaf: usize,
        cat_sets: &mut Vec<Vec<u32>>,
    ) -> Node {
        let mapper = &self.data.mappers[split.feature];
        let (threshold, default_left, cat_set) = match (&split.rule, mapper) {
            (SplitRule::Numeric { bin, default_left }, BinMapper::Numeric { upper }) => {
                (upper[*bin as usize], *default_left, None)
            }
            (SplitRule::Categorical { left }, BinMapper::Categorical { codes, .. }) => {
                let mut words: Vec<u32> = Vec::new();
                for (b, &code) in codes.iter().enumerate() {
                    if left[b >> 6] >> (b & 63) & 1 == 1 {
                        let code = code as usize;
                        if words.len() <= code / 32 {
                            words.resize(code / 32 + 1, 0);
                        }
                        words[code / 32] |= 1 << (code % 32);
                    }
                }
                cat_sets.push(words);
                (0.0, false, Some((cat_sets.len() - 1) as u32))
            }
            _ => unreachable!("split rule kind always matches the feature's mapper"),
        };
        Node {
            feature: split.feature as u32,
            threshold,
            default_left,
            cat_set,
            left: !(index as i32),
            right: !(new_leaf as i32),
            gain: split.gain,
            count: f64::from(leaf.sums.n),
        }
    }

    /// Stable in-place partition of a leaf's rows; returns how many went left.
    fn partition(&self, rows: &mut [u32], split: &SplitCandidate, right: &mut Vec<u32>) -> usize {
        let col = &self.data.columns[split.feature];
        let missing = self.data.mappers[split.feature].missing_bin() as u8;
        right.clear();
        let mut left = 0;
        for i in 0..rows.len() {
            let r = rows[i];
            if split.rule.goes_left(col[r as usize], missing) {
                rows[left] = r;
                left += 1;
            } else {
                right.push(r);
            }
        }
        rows[left..].copy_from_slice(right);
        left
    }
}

/// Copies the gradients of `rows` into leaf order.
fn gather(rows: &[u32], g: &[f64], h: &[f64], og: &mut Vec<f64>, oh: &mut Vec<f64>) {
    og.clear();
    oh.clear();
    og.extend(rows.iter().map(|&r| g[r as usize]));
    oh.extend(rows.iter().map(|&r| h[r as usize]));
}

/// Monotone bounds of the two children: a constrained split caps each side at the midpoint of the outputs.
fn child_bounds(bounds: (f64, f64), split: &SplitCandidate, monotone: i8) -> ((f64, f64), (f64, f64)) {
    let mid = (split.left_output + split.right_output) / 2.0;
    match monotone {
        1 => ((bounds.0, bounds.1.min(mid)), (bounds.0.max(mid), bounds.1)),
        -1 => ((bounds.0.max(mid), bounds.1), (bounds.0, bounds.1.min(mid))),
        _ => (bounds, bounds),
    }
}
