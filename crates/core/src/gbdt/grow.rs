//! Leaf-wise (best-first) growth of one tree, as LightGBM's `SerialTreeLearner`: repeatedly split the leaf
//! whose best split gains most until `num_leaves` leaves exist or no split gains. Rows of each leaf are a
//! contiguous range of an index array, carried with their gradient pairs and partitioned stably (in
//! parallel, into a second buffer); only the smaller child's histogram is built from rows, the larger
//! child's is the parent's minus the smaller's (the subtraction trick).

use std::ops::Range;

use rayon::prelude::*;

use super::binning::{BLOCK, BinMapper, BinnedData};
use super::split::{
    HistBin, LeafView, PREFETCH_DISTANCE, SplitCandidate, SplitParams, SplitRule, Sums, best_split, build_histogram,
    prefetch, subtract_histogram,
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
pub(crate) struct Grown<'w> {
    pub(crate) tree: Tree,
    /// Rows partitioned by leaf.
    pub(crate) rows: &'w [u32],
    /// `(start, len)` of each leaf's rows in `rows`.
    pub(crate) leaf_ranges: Vec<(usize, usize)>,
}

struct Leaf {
    /// Which buffer of [`LeafOrder`] holds the leaf's rows.
    buf: usize,
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
    pub(crate) fn grow<'w>(
        &self,
        work: &'w mut Workspace,
        rows: &[u32],
        all_rows: bool,
        g: &[f64],
        h: &[f64],
        active: &[bool],
    ) -> Grown<'w> {
        let total_bins = self.data.total_bins();
        let Workspace { order, hists: pool } = work;
        order.reset(rows, g, h);
        let mut sums = Sums::default();
        for &[gi, hi] in &order.gh[0] {
            sums = Sums { g: sums.g + gi, h: sums.h + hi, n: sums.n + 1 };
        }
        let mut hist = take_histogram(pool, total_bins);
        let (rows, gh) = (&order.rows[0], &order.gh[0]);
        build_histogram(&mut hist, self.data, active, (!all_rows).then_some(&rows[..]), gh);
        let no_bounds = (f64::NEG_INFINITY, f64::INFINITY);
        let root_output = self.split.leaf_output(sums, self.split.l2, no_bounds);
        let mut leaves = vec![Leaf {
            buf: 0,
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
        self.find_best(&mut leaves[0], active, pool);
        let mut nodes: Vec<Node> = Vec::new();
        let mut cat_sets: Vec<Vec<u32>> = Vec::new();

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

            let (start, len, buf) = (leaves[l].start, leaves[l].len, 1 - leaves[l].buf);
            let left_len = order.partition(self.data, &split, leaves[l].buf, start..start + len);
            let (left_bounds, right_bounds) = child_bounds(leaves[l].bounds, &split, self.monotone[split.feature]);
            let depth = leaves[l].depth + 1;
            let mut parent_hist = std::mem::take(&mut leaves[l].hist);
            let left_smaller = left_len <= len - left_len;
            let (small_start, small_len) =
                if left_smaller { (start, left_len) } else { (start + left_len, len - left_len) };
            let mut small_hist = take_histogram(pool, total_bins);
            let small = small_start..small_start + small_len;
            let (rows, gh) = (&order.rows[buf][small.clone()], &order.gh[buf][small]);
            build_histogram(&mut small_hist, self.data, active, Some(rows), gh);
            subtract_histogram(&mut parent_hist, &small_hist);
            let (left_hist, right_hist) =
                if left_smaller { (small_hist, parent_hist) } else { (parent_hist, small_hist) };

            leaves[l] = Leaf {
                buf,
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
                buf,
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
                self.find_best(&mut leaves[l], active, pool);
                self.find_best(&mut leaves[new_leaf], active, pool);
            }
        }

        let tree = Tree {
            nodes,
            leaf_value: leaves.iter().map(|l| l.output).collect(),
            leaf_count: leaves.iter().map(|l| l.len as f64).collect(),
            cat_sets,
        };
        let leaf_ranges = leaves.iter().map(|l| (l.start, l.len)).collect();
        let rows = order.finish(leaves.iter().map(|l| (l.buf, l.start..l.start + l.len)));
        pool.extend(leaves.into_iter().map(|l| l.hist).filter(|h| !h.is_empty()));
        Grown { tree, rows, leaf_ranges }
    }

    /// Finds the leaf's best split if it may be split; hands its histogram to `pool` otherwise.
    fn find_best(&self, leaf: &mut Leaf, active: &[bool], pool: &mut Vec<Vec<HistBin>>) {
        let deep_enough = self.max_depth.is_some_and(|d| leaf.depth >= d);
        let too_small = leaf.len < 2 * self.split.min_data as usize || leaf.sums.h < 2.0 * self.split.min_hess;
        leaf.best = if deep_enough || too_small {
            None
        } else {
            let view = LeafView { hist: &leaf.hist, sums: leaf.sums, bounds: leaf.bounds };
            best_split(view, self.data, active, self.monotone, &self.split)
        };
        if leaf.best.is_none() {
            pool.push(std::mem::take(&mut leaf.hist));
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
}

/// Rows per task of a partition. Fixed, so the order of rows (and with it every sum) does not depend on
/// the thread count.
const PARTITION_CHUNK: usize = 1 << 14;

/// Buffers reused from tree to tree: allocated afresh, every tree would map and zero tens of megabytes
/// of new pages (a tenth of the B1 training time went to page faults).
#[derive(Default)]
pub(crate) struct Workspace {
    order: LeafOrder,
    /// Histograms of leaves that will not split again, reused for the next smaller child.
    hists: Vec<Vec<HistBin>>,
}

/// A histogram of `total_bins` bins for [`build_histogram`] to fill (which zeroes it first), from the pool
/// when it has one.
fn take_histogram(pool: &mut Vec<Vec<HistBin>>, total_bins: usize) -> Vec<HistBin> {
    pool.pop().unwrap_or_else(|| vec![HistBin::default(); total_bins])
}

/// A tree's rows and their gradient pairs in leaf order, in two buffers. A split reads its leaf's range from
/// one buffer and writes the two children to the same range of the other, so nothing is copied back and a
/// leaf's gradient pairs are always one contiguous range (never gathered from scattered rows).
#[derive(Default)]
struct LeafOrder {
    rows: [Vec<u32>; 2],
    gh: [Vec<[f64; 2]>; 2],
    /// Scratch: whether each row of the leaf being split goes left.
    goes_left: Vec<bool>,
}

impl LeafOrder {
    /// Starts a tree on `rows` with per-row gradients `g` and hessians `h`.
    fn reset(&mut self, rows: &[u32], g: &[f64], h: &[f64]) {
        let n = rows.len();
        self.rows[0].clear();
        self.rows[0].extend_from_slice(rows);
        self.gh[0].clear();
        self.gh[0].extend(rows.iter().map(|&r| [g[r as usize], h[r as usize]]));
        self.rows[1].resize(n, 0);
        self.gh[1].resize(n, [0.0; 2]);
    }

    /// Stable partition of `range` of buffer `from` into the same range of the other buffer; returns how
    /// many rows went left. Chunks decide their rows' sides and count them, then copy them to their places,
    /// both in parallel.
    fn partition(&mut self, data: &BinnedData, split: &SplitCandidate, from: usize, range: Range<usize>) -> usize {
        let missing = data.mappers[split.feature].missing_bin() as u8;
        let [rows_a, rows_b] = &mut self.rows;
        let [gh_a, gh_b] = &mut self.gh;
        let ((src_rows, dst_rows), (src_gh, dst_gh)) =
            if from == 0 { ((rows_a, rows_b), (gh_a, gh_b)) } else { ((rows_b, rows_a), (gh_b, gh_a)) };
        let (src_rows, src_gh) = (&src_rows[range.clone()], &src_gh[range.clone()]);
        let block = data.blocks[split.feature / BLOCK].as_slice();
        self.goes_left.clear();
        self.goes_left.resize(range.len(), false);
        let counts: Vec<usize> = self
            .goes_left
            .par_chunks_mut(PARTITION_CHUNK)
            .zip(src_rows.par_chunks(PARTITION_CHUNK))
            .map(|(sides, rows)| {
                let mut left = 0;
                for (i, (side, &r)) in sides.iter_mut().zip(rows).enumerate() {
                    if let Some(&ahead) = rows.get(i + PREFETCH_DISTANCE) {
                        prefetch(block, ahead as usize * BLOCK + split.feature % BLOCK);
                    }
                    *side = split.rule.goes_left(block[r as usize * BLOCK + split.feature % BLOCK], missing);
                    left += usize::from(*side);
                }
                left
            })
            .collect();
        let total_left: usize = counts.iter().sum();
        let (mut left_rows, mut right_rows) = dst_rows[range.clone()].split_at_mut(total_left);
        let (mut left_gh, mut right_gh) = dst_gh[range].split_at_mut(total_left);
        let mut tasks = Vec::with_capacity(counts.len());
        for (c, &left) in counts.iter().enumerate() {
            let right = (src_rows.len() - c * PARTITION_CHUNK).min(PARTITION_CHUNK) - left;
            let (lr, rest) = std::mem::take(&mut left_rows).split_at_mut(left);
            left_rows = rest;
            let (rr, rest) = std::mem::take(&mut right_rows).split_at_mut(right);
            right_rows = rest;
            let (lg, rest) = std::mem::take(&mut left_gh).split_at_mut(left);
            left_gh = rest;
            let (rg, rest) = std::mem::take(&mut right_gh).split_at_mut(right);
            right_gh = rest;
            tasks.push((c * PARTITION_CHUNK, lr, rr, lg, rg));
        }
        let sides = &self.goes_left;
        tasks.into_par_iter().for_each(|(first, lr, rr, lg, rg)| {
            let (mut l, mut r) = (0, 0);
            let end = (first + PARTITION_CHUNK).min(src_rows.len());
            for i in first..end {
                if sides[i] {
                    lr[l] = src_rows[i];
                    lg[l] = src_gh[i];
                    l += 1;
                } else {
                    rr[r] = src_rows[i];
                    rg[r] = src_gh[i];
                    r += 1;
                }
            }
        });
        total_left
    }

    /// Ends the tree: the rows in leaf order in one buffer (leaves held by the second buffer are copied over).
    fn finish(&mut self, leaves: impl Iterator<Item = (usize, Range<usize>)>) -> &[u32] {
        let [rows, other] = &mut self.rows;
        for (buf, range) in leaves {
            if buf == 1 {
                rows[range.clone()].copy_from_slice(&other[range]);
            }
        }
        rows
    }
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

#[cfg(test)]
mod tests {
    use ndarray::Array2;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::gbdt::data::Features;

    /// 40,000 rows (three partition chunks) × 11 features (a full block of eight and a partial one of three),
    /// with missing values; returns the binned data and per-row gradients and hessians.
    fn fixture() -> (BinnedData, Vec<f64>, Vec<f64>) {
        let (n, k) = (40_000, 11);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let x = Array2::from_shape_fn((n, k), |(_, j)| {
            if rng.random::<f64>() < 0.05 { f64::NAN } else { (rng.random::<f64>() * (j as f64 + 2.0) * 20.0).floor() }
        });
        let features = Features::from_array(x.view(), None, &[]).unwrap();
        let data = BinnedData::build(&features, 255, 200_000, 1);
        let g = (0..n).map(|_| rng.random::<f64>() - 0.5).collect();
        let h = (0..n).map(|_| rng.random::<f64>()).collect();
        (data, g, h)
    }

    /// Bin of feature `j` at `row`, read the plain way.
    fn bin(data: &BinnedData, j: usize, row: usize) -> u8 {
        data.blocks[j / BLOCK][row * BLOCK + j % BLOCK]
    }

    #[test]
    fn block_histograms_equal_a_feature_by_feature_sum() {
        let (data, g, h) = fixture();
        let rows: Vec<u32> = (0..g.len() as u32).filter(|r| r % 3 != 1).collect();
        let gh: Vec<[f64; 2]> = rows.iter().map(|&r| [g[r as usize], h[r as usize]]).collect();
        for active in [vec![true; 11], (0..11).map(|j| j % 4 != 2).collect::<Vec<_>>()] {
            let mut hist = vec![HistBin { g: 9.0, h: 9.0, n: 9 }; data.total_bins()];
            build_histogram(&mut hist, &data, &active, Some(&rows), &gh);
            for (j, _) in active.iter().enumerate().filter(|(_, a)| **a) {
                let mut want = vec![HistBin::default(); data.offsets[j + 1] - data.offsets[j]];
                for &r in &rows {
                    let b = &mut want[bin(&data, j, r as usize) as usize];
                    b.g += g[r as usize];
                    b.h += h[r as usize];
                    b.n += 1;
                }
                let got = &hist[data.offsets[j]..data.offsets[j + 1]];
                for (w, o) in want.iter().zip(got) {
                    assert_eq!((w.g.to_bits(), w.h.to_bits(), w.n), (o.g.to_bits(), o.h.to_bits(), o.n), "feature {j}");
                }
            }
        }
    }

    #[test]
    fn parallel_partition_is_a_stable_partition() {
        let (data, g, h) = fixture();
        let all: Vec<u32> = (0..g.len() as u32).collect();
        for (feature, rule) in [
            (3, SplitRule::Numeric { bin: 20, default_left: true }),
            (9, SplitRule::Numeric { bin: 5, default_left: false }),
            (10, SplitRule::Categorical { left: [0xf0f0_f0f0, 0, 1, 0] }),
        ] {
            let split = SplitCandidate {
                feature,
                gain: 1.0,
                rule,
                left: Sums::default(),
                right: Sums::default(),
                left_output: 0.0,
                right_output: 0.0,
            };
            let mut order = LeafOrder::default();
            order.reset(&all, &g, &h);
            // A leaf in the middle of the buffer: rows 1,000 .. 39,000.
            let range = 1_000..39_000;
            let left = order.partition(&data, &split, 0, range.clone());
            let missing = data.mappers[feature].missing_bin() as u8;
            let goes = |r: u32| split.rule.goes_left(bin(&data, feature, r as usize), missing);
            let want: Vec<u32> = all[range.clone()]
                .iter()
                .copied()
                .filter(|&r| goes(r))
                .chain(all[range.clone()].iter().copied().filter(|&r| !goes(r)))
                .collect();
            assert_eq!(left, want.iter().filter(|&&r| goes(r)).count());
            assert_eq!(&order.rows[1][range.clone()], &want[..]);
            let pairs: Vec<[f64; 2]> = want.iter().map(|&r| [g[r as usize], h[r as usize]]).collect();
            assert_eq!(&order.gh[1][range.clone()], &pairs[..]);
            let leaves = [(1, range), (0, 0..1_000), (0, 39_000..40_000)];
            assert_eq!(order.finish(leaves.into_iter()), &want_with_ends(&all, &want)[..]);
        }
    }

    fn want_with_ends(all: &[u32], middle: &[u32]) -> Vec<u32> {
        all[..1_000].iter().chain(middle).chain(&all[39_000..]).copied().collect()
    }
}
