//! Gradient histograms and the best split of a leaf.
//!
//! Follows LightGBM's histogram algorithm (Ke et al., "LightGBM", NeurIPS 2017; `feature_histogram.hpp`):
//! a leaf's histogram sums gradients, hessians and counts per bin; a numeric feature is split between two
//! neighbouring bins with missing values sent to whichever side gains more (the learned default
//! direction); gains and leaf values use L1/L2 regularisation; monotone constraints clamp leaf values to
//! bounds inherited from ancestors (LightGBM's "basic" method). Categorical features are split one-vs-rest
//! up to `max_cat_to_onehot` categories, otherwise by sorting categories by `G / (H + cat_smooth)` and
//! scanning prefixes from both ends (at most `max_cat_threshold` categories on the left side, extra
//! `cat_l2` regularisation). Missing, rare and unseen categories always go right.

use rayon::prelude::*;

use super::binning::{BLOCK, BinMapper, BinnedData};
use super::params::GbdtParams;

/// One histogram bin: sums of gradients and hessians, and the row count.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct HistBin {
    pub(crate) g: f64,
    pub(crate) h: f64,
    pub(crate) n: u32,
}

/// Sums over a set of rows.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Sums {
    pub(crate) g: f64,
    pub(crate) h: f64,
    pub(crate) n: u32,
}

impl Sums {
    fn add(self, b: HistBin) -> Self {
        Self { g: self.g + b.g, h: self.h + b.h, n: self.n + b.n }
    }
    fn sub(self, o: Self) -> Self {
        Self { g: self.g - o.g, h: self.h - o.h, n: self.n - o.n }
    }
}

/// Fills the histogram of `rows` for the `active` features (the bins of the others are zeroed). `gh` holds each row's gradient and hessian,
/// indexed like `rows` (in leaf order) when `rows` is given, or by row when the leaf holds every row in
/// order. One task per block of features reads each row's eight bins as one word and its gradient pair
/// once; each bin is summed in row order by one task, so the result does not depend on the thread count
/// (nor on the layout: it equals a feature-by-feature pass).
pub(crate) fn build_histogram(
    hist: &mut [HistBin],
    data: &BinnedData,
    active: &[bool],
    rows: Option<&[u32]>,
    gh: &[[f64; 2]],
) {
    // Per block with an active feature: the block's index and, per active feature, its position in the
    // block and its histogram.
    let mut tasks: Vec<(usize, Vec<Slot<'_>>)> = Vec::with_capacity(data.blocks.len());
    hist.fill(HistBin::default());
    let mut rest = hist;
    for (j, &is_active) in active.iter().enumerate() {
        let (head, tail) = rest.split_at_mut(data.offsets[j + 1] - data.offsets[j]);
        rest = tail;
        if !is_active {
            continue;
        }
        match tasks.last_mut() {
            Some((b, group)) if *b == j / BLOCK => group.push((j % BLOCK, head)),
            _ => tasks.push((j / BLOCK, vec![(j % BLOCK, head)])),
        }
    }
    tasks.into_par_iter().for_each(|(b, mut group)| {
        let block = data.blocks[b].as_slice();
        if let Ok(full) = <&mut [_; BLOCK]>::try_from(group.as_mut_slice()) {
            accumulate(block, rows, gh, &mut FullBlock(full));
        } else {
            accumulate(block, rows, gh, &mut SomeFeatures(&mut group));
        }
    });
}

/// An active feature's position in its block and its histogram.
type Slot<'h> = (usize, &'h mut [HistBin]);

/// Adds a row (its word of bins and its gradient pair) to the histograms of a block's active features.
trait AddRow {
    fn add(&mut self, word: u64, pair: [f64; 2]);
}

/// Every feature of the block is active: a fixed loop with constant shifts, unrolled.
struct FullBlock<'a, 'h>(&'a mut [Slot<'h>; BLOCK]);

impl AddRow for FullBlock<'_, '_> {
    #[inline(always)]
    fn add(&mut self, word: u64, pair: [f64; 2]) {
        for (k, (_, bins)) in self.0.iter_mut().enumerate() {
            add_to(bins, (word >> (8 * k)) as u8, pair);
        }
    }
}

/// Some features of the block, each with its position in the word.
struct SomeFeatures<'a, 'h>(&'a mut [Slot<'h>]);

impl AddRow for SomeFeatures<'_, '_> {
    #[inline(always)]
    fn add(&mut self, word: u64, pair: [f64; 2]) {
        for (k, bins) in self.0.iter_mut() {
            add_to(bins, (word >> (8 * *k)) as u8, pair);
        }
    }
}

/// Adds each row of the leaf to `adder`, in row order.
#[inline(always)]
fn accumulate(block: &[u8], rows: Option<&[u32]>, gh: &[[f64; 2]], adder: &mut impl AddRow) {
    match rows {
        Some(rows) => {
            for (i, (&r, &pair)) in rows.iter().zip(gh).enumerate() {
                if let Some(&ahead) = rows.get(i + PREFETCH_DISTANCE) {
                    prefetch(block, ahead as usize * BLOCK);
                }
                adder.add(row_word(block, r as usize), pair);
            }
        }
        None => {
            for (r, &pair) in gh.iter().enumerate() {
                adder.add(row_word(block, r), pair);
            }
        }
    }
}

/// Adds one row's gradient pair to its bin.
#[inline(always)]
fn add_to(bins: &mut [HistBin], bin: u8, [g, h]: [f64; 2]) {
    let b = &mut bins[bin as usize];
    b.g += g;
    b.h += h;
    b.n += 1;
}

/// The eight bins of `row` in a block, as one little-endian word.
#[inline(always)]
fn row_word(block: &[u8], row: usize) -> u64 {
    let mut word = [0u8; BLOCK];
    word.copy_from_slice(&block[row * BLOCK..(row + 1) * BLOCK]);
    u64::from_le_bytes(word)
}

/// How many rows ahead the bins of a leaf's row are prefetched. A leaf's rows are scattered over the data,
/// so without it every load waits for memory (LightGBM's `DenseBin` prefetches the same way).
pub(crate) const PREFETCH_DISTANCE: usize = 32;

/// Hints the CPU to load `data[index]` into cache; a no-op off x86-64 and for out-of-range indices.
#[inline(always)]
pub(crate) fn prefetch(data: &[u8], index: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(byte) = data.get(index) {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch is only a hint: it never faults and never changes memory, and the pointer
        // comes from a valid reference anyway.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(byte).cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (data, index);
}

/// `parent -= child`: the histogram of the sibling (the subtraction trick).
pub(crate) fn subtract_histogram(parent: &mut [HistBin], child: &[HistBin]) {
    for (p, c) in parent.iter_mut().zip(child) {
        p.g -= c.g;
        p.h -= c.h;
        p.n -= c.n;
    }
}

/// Which rows of a split go left.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SplitRule {
    /// Bins `<= bin` go left; missing values go left when `default_left`.
    Numeric { bin: u8, default_left: bool },
    /// Bins in the set (a 256-bit set of category bins) go left; everything else goes right.
    Categorical { left: [u64; 4] },
}

impl SplitRule {
    /// Whether a row in bin `b` (with `missing` the feature's missing bin) goes left.
    #[inline]
    pub(crate) fn goes_left(&self, b: u8, missing: u8) -> bool {
        match self {
            Self::Numeric { bin, default_left } => {
                if b == missing {
                    *default_left
                } else {
                    b <= *bin
                }
            }
            Self::Categorical { left } => left[(b >> 6) as usize] >> (b & 63) & 1 == 1,
        }
    }
}

/// The best split found for a leaf.
#[derive(Debug, Clone)]
pub(crate) struct SplitCandidate {
    pub(crate) feature: usize,
    pub(crate) gain: f64,
    pub(crate) rule: SplitRule,
    pub(crate) left: Sums,
    pub(crate) right: Sums,
    pub(crate) left_output: f64,
    pub(crate) right_output: f64,
}

/// Regularisation and constraints for split search.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SplitParams {
    pub(crate) l1: f64,
    pub(crate) l2: f64,
    pub(crate) min_data: u32,
    pub(crate) min_hess: f64,
    pub(crate) min_gain: f64,
    pub(crate) cat_l2: f64,
    pub(crate) cat_smooth: f64,
    pub(crate) max_cat_threshold: usize,
    pub(crate) max_cat_to_onehot: usize,
    pub(crate) min_data_per_group: u32,
}

impl SplitParams {
    pub(crate) fn new(p: &GbdtParams) -> Self {
        Self {
            l1: p.lambda_l1,
            l2: p.lambda_l2,
            min_data: p.min_data_in_leaf as u32,
            min_hess: p.min_sum_hessian_in_leaf,
            min_gain: p.min_gain_to_split,
            cat_l2: p.cat_l2,
            cat_smooth: p.cat_smooth,
            max_cat_threshold: p.max_cat_threshold,
            max_cat_to_onehot: p.max_cat_to_onehot,
            min_data_per_group: p.min_data_per_group as u32,
        }
    }

    fn threshold_l1(&self, g: f64) -> f64 {
        (g.abs() - self.l1).max(0.0).copysign(g)
    }

    /// The regularised optimal value of a leaf, clamped to the leaf's monotone bounds.
    pub(crate) fn leaf_output(&self, s: Sums, l2: f64, bounds: (f64, f64)) -> f64 {
        let w = -self.threshold_l1(s.g) / (s.h + l2);
        w.clamp(bounds.0, bounds.1)
    }

    /// The (negated, doubled) loss reduction of a leaf with value `w`; equals `T(G)^2 / (H + l2)` at the optimum.
    pub(crate) fn leaf_gain(&self, s: Sums, l2: f64, w: f64) -> f64 {
        -(2.0 * self.threshold_l1(s.g) * w + (s.h + l2) * w * w)
    }

    fn admissible(&self, s: Sums) -> bool {
        s.n >= self.min_data && s.h >= self.min_hess
    }
}

/// The leaf whose best split is sought.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LeafView<'a> {
    pub(crate) hist: &'a [HistBin],
    pub(crate) sums: Sums,
    /// Monotone bounds of the leaf's value.
    pub(crate) bounds: (f64, f64),
}

/// The best split over the active features, or `None` when no split gains more than `min_gain_to_split`.
/// Ties go to the lower feature index, so the result does not depend on the thread count.
pub(crate) fn best_split(
    leaf: LeafView<'_>,
    data: &BinnedData,
    active: &[bool],
    monotone: &[i8],
    sp: &SplitParams,
) -> Option<SplitCandidate> {
    let found: Vec<Option<SplitCandidate>> = (0..data.mappers.len())
        .into_par_iter()
        .map(|j| {
            if !active[j] {
                return None;
            }
            let hist = &leaf.hist[data.offsets[j]..data.offsets[j + 1]];
            match &data.mappers[j] {
                BinMapper::Numeric { .. } => numeric_split(j, hist, leaf, monotone[j], sp),
                BinMapper::Categorical { .. } => categorical_split(j, hist, leaf, sp),
            }
        })
        .collect();
    let mut best: Option<SplitCandidate> = None;
    for c in found.into_iter().flatten() {
        if best.as_ref().is_none_or(|b| c.gain > b.gain) {
            best = Some(c);
        }
    }
    best
}

/// Evaluates one left/right partition; returns (gain, left value, right value) when admissible.
fn evaluate(
    left: Sums,
    right: Sums,
    leaf: LeafView<'_>,
    l2: f64,
    monotone: i8,
    sp: &SplitParams,
) -> Option<(f64, f64, f64)> {
    if !sp.admissible(left) || !sp.admissible(right) {
        return None;
    }
    let lo = sp.leaf_output(left, l2, leaf.bounds);
    let ro = sp.leaf_output(right, l2, leaf.bounds);
    if (monotone > 0 && lo > ro) || (monotone < 0 && lo < ro) {
        return None;
    }
    let parent = sp.leaf_gain(leaf.sums, l2, sp.leaf_output(leaf.sums, l2, leaf.bounds));
    let gain = sp.leaf_gain(left, l2, lo) + sp.leaf_gain(right, l2, ro) - parent;
    (gain > sp.min_gain && gain.is_finite()).then_some((gain, lo, ro))
}

fn numeric_split(
    feature: usize,
    hist: &[HistBin],
    leaf: LeafView<'_>,
    monotone: i8,
    sp: &SplitParams,
) -> Option<SplitCandidate> {
    let missing_bin = hist.len() - 1;
    let missing = Sums::default().add(hist[missing_bin]);
    let mut best: Option<SplitCandidate> = None;
    let mut consider = |bin: usize, left: Sums, default_left: bool| {
        let right = leaf.sums.sub(left);
        if let Some((gain, lo, ro)) = evaluate(left, right, leaf, sp.l2, monotone, sp)
            && best.as_ref().is_none_or(|b| gain > b.gain)
        {
            // Without missing values in training, unseen missing values follow the larger side.
            let default_left = if missing.n == 0 { left.n >= right.n } else { default_left };
            best = Some(SplitCandidate {
                feature,
                gain,
                rule: SplitRule::Numeric { bin: bin as u8, default_left },
                left,
                right,
                left_output: lo,
                right_output: ro,
            });
        }
    };
    let mut acc = Sums::default();
    for (bin, &b) in hist[..missing_bin].iter().enumerate() {
        acc = acc.add(b);
        if bin + 1 < missing_bin {
            consider(bin, acc, false);
        }
        if missing.n > 0 {
            // Missing values left; the last value bin then separates "present" from "missing".
            if bin + 1 < missing_bin {
                consider(bin, Sums { g: acc.g + missing.g, h: acc.h + missing.h, n: acc.n + missing.n }, true);
            } else {
                consider(bin, acc, false);
            }
        }
    }
    best
}

fn categorical_split(feature: usize, hist: &[HistBin], leaf: LeafView<'_>, sp: &SplitParams) -> Option<SplitCandidate> {
    let categories = hist.len() - 1;
    let mut best: Option<SplitCandidate> = None;
    let mut consider = |set: &[usize], left: Sums, l2: f64| {
        let right = leaf.sums.sub(left);
        if let Some((gain, lo, ro)) = evaluate(left, right, leaf, l2, 0, sp)
            && best.as_ref().is_none_or(|b| gain > b.gain)
        {
            let mut bits = [0u64; 4];
            for &b in set {
                bits[b >> 6] |= 1 << (b & 63);
            }
            best = Some(SplitCandidate {
                feature,
                gain,
                rule: SplitRule::Categorical { left: bits },
                left,
                right,
                left_output: lo,
                right_output: ro,
            });
        }
    };
    if categories <= sp.max_cat_to_onehot {
        for (b, &bin) in hist[..categories].iter().enumerate() {
            if bin.n > 0 {
                consider(&[b], Sums::default().add(bin), sp.l2);
            }
        }
        return best;
    }
    let mut used: Vec<usize> = (0..categories).filter(|&b| f64::from(hist[b].n) >= sp.cat_smooth.max(1.0)).collect();
    let ratio = |b: usize| hist[b].g / (hist[b].h + sp.cat_smooth);
    used.sort_by(|&a, &b| ratio(a).total_cmp(&ratio(b)).then(a.cmp(&b)));
    let max_left = sp.max_cat_threshold.min(used.len().div_ceil(2));
    let l2 = sp.l2 + sp.cat_l2;
    for order in [used.clone(), used.iter().rev().copied().collect::<Vec<_>>()] {
        let mut acc = Sums::default();
        for k in 0..max_left {
            acc = acc.add(hist[order[k]]);
            let right_n = leaf.sums.n - acc.n;
            if acc.n >= sp.min_data_per_group && right_n >= sp.min_data_per_group {
                consider(&order[..=k], acc, l2);
            }
        }
    }
    best
}
