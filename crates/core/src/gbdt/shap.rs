//! Exact path-dependent TreeSHAP: Algorithm 2 of Lundberg, Erion and Lee, "Consistent Individualized
//! Feature Attribution for Tree Ensembles" (2018), in the 0-indexed form with one path buffer per depth.
//! Covers are training row counts, as in LightGBM's `pred_contrib`. Tested against brute-force Shapley
//! values of the cover-weighted conditional expectation on small trees (`tests/it/gbdt.rs`).
//!
//! The arithmetic is the paper's with its divisions hoisted: the weight ratios of a leaf's depth are
//! computed once per leaf (not once per path element and step), and `extend` multiplies by `1 / (d + 1)`.

use super::tree::Tree;

#[derive(Debug, Clone, Copy, Default)]
struct PathElement {
    feature: i64,
    zero_fraction: f64,
    one_fraction: f64,
    weight: f64,
}

/// Reusable path buffers for trees up to a given depth.
pub(crate) struct Scratch {
    path: Vec<PathElement>,
    /// The leaf's weight ratios for `i < d` (see [`Ratios`]).
    up: Vec<f64>,
    down: Vec<f64>,
    shrink: Vec<f64>,
}

impl Scratch {
    /// Buffers for trees of depth up to `max_depth`.
    pub(crate) fn new(max_depth: usize) -> Self {
        let d = max_depth + 2;
        Self {
            path: vec![PathElement::default(); d * (d + 1) / 2],
            up: vec![0.0; d],
            down: vec![0.0; d],
            shrink: vec![0.0; d],
        }
    }
}

/// The ratios `unwound_sum` needs at one depth, computed once per leaf instead of once per path element
/// and step (they turn its divisions into multiplications).
struct Ratios<'a> {
    /// `(d + 1) / (i + 1)`.
    up: &'a [f64],
    /// `(d + 1) / (d − i)`.
    down: &'a [f64],
    /// `(d − i) / (d + 1)`.
    shrink: &'a [f64],
}

/// Adds one tree's SHAP contributions for `row` to `phi` (one slot per feature).
pub(crate) fn tree_shap(tree: &Tree, row: &[f64], phi: &mut [f64], scratch: &mut Scratch) {
    if tree.nodes.is_empty() {
        return;
    }
    let needed = {
        let d = tree.depth() + 2;
        d * (d + 1) / 2
    };
    if scratch.path.len() < needed {
        scratch.path.resize(needed, PathElement::default());
    }
    let levels = tree.depth() + 2;
    if scratch.up.len() < levels {
        for table in [&mut scratch.up, &mut scratch.down, &mut scratch.shrink] {
            table.resize(levels, 0.0);
        }
    }
    let tables = [&mut scratch.up[..], &mut scratch.down[..], &mut scratch.shrink[..]];
    recurse(tree, row, phi, 0, &mut scratch.path, tables, 0, 0, 1.0, 1.0, -1);
}

fn cover(tree: &Tree, child: i32) -> f64 {
    if child < 0 { tree.leaf_count[!child as usize] } else { tree.nodes[child as usize].count }
}

#[allow(clippy::too_many_arguments)]
fn recurse(
    tree: &Tree,
    row: &[f64],
    phi: &mut [f64],
    node: i32,
    buffer: &mut [PathElement],
    tables: [&mut [f64]; 3],
    parent_start: usize,
    mut depth: usize,
    zero_fraction: f64,
    one_fraction: f64,
    feature: i64,
) {
    // This level's path starts after the parent's (which holds `depth` elements).
    let start = parent_start + depth;
    let (parent_part, own) = buffer.split_at_mut(start);
    own[..depth].copy_from_slice(&parent_part[parent_start..parent_start + depth]);
    let path = &mut own[..depth + 1];
    extend(path, depth, zero_fraction, one_fraction, feature);

    if node < 0 {
        let value = tree.leaf_value[!node as usize];
        let [up, down, shrink] = tables;
        let d = depth as f64;
        for i in 0..depth {
            up[i] = (d + 1.0) / (i as f64 + 1.0);
            down[i] = (d + 1.0) / (d - i as f64);
            shrink[i] = (d - i as f64) / (d + 1.0);
        }
        let ratios = Ratios { up: &up[..depth], down: &down[..depth], shrink: &shrink[..depth] };
        for i in 1..=depth {
            let w = unwound_sum(path, depth, i, &ratios);
            let el = path[i];
            phi[el.feature as usize] += w * (el.one_fraction - el.zero_fraction) * value;
        }
        return;
    }
    let n = &tree.nodes[node as usize];
    let left = tree.goes_left(n, row[n.feature as usize]);
    let (hot, cold) = if left { (n.left, n.right) } else { (n.right, n.left) };
    let hot_zero = cover(tree, hot) / n.count;
    let cold_zero = cover(tree, cold) / n.count;
    let (mut incoming_zero, mut incoming_one) = (1.0, 1.0);
    let split_feature = i64::from(n.feature);
    if let Some(k) = (1..=depth).find(|&k| path[k].feature == split_feature) {
        incoming_zero = path[k].zero_fraction;
        incoming_one = path[k].one_fraction;
        unwind(path, depth, k);
        depth -= 1;
    }
    // The children's paths start after this one (`depth + 1` elements from `start`).
    let [up, down, shrink] = tables;
    let next = depth + 1;
    let (hot_zero, cold_zero) = (hot_zero * incoming_zero, cold_zero * incoming_zero);
    recurse(tree, row, phi, hot, buffer, [up, down, shrink], start, next, hot_zero, incoming_one, split_feature);
    recurse(tree, row, phi, cold, buffer, [up, down, shrink], start, next, cold_zero, 0.0, split_feature);
}

fn extend(path: &mut [PathElement], depth: usize, zero_fraction: f64, one_fraction: f64, feature: i64) {
    path[depth] = PathElement { feature, zero_fraction, one_fraction, weight: if depth == 0 { 1.0 } else { 0.0 } };
    let d = depth as f64;
    let inverse = 1.0 / (d + 1.0);
    for i in (0..depth).rev() {
        path[i + 1].weight += one_fraction * path[i].weight * (i as f64 + 1.0) * inverse;
        path[i].weight = zero_fraction * path[i].weight * (d - i as f64) * inverse;
    }
}

fn unwind(path: &mut [PathElement], depth: usize, index: usize) {
    let one = path[index].one_fraction;
    let zero = path[index].zero_fraction;
    let d = depth as f64;
    let mut next_one = path[depth].weight;
    for i in (0..depth).rev() {
        if one != 0.0 {
            let tmp = path[i].weight;
            path[i].weight = next_one * (d + 1.0) / ((i as f64 + 1.0) * one);
            next_one = tmp - path[i].weight * zero * (d - i as f64) / (d + 1.0);
        } else {
            path[i].weight = path[i].weight * (d + 1.0) / (zero * (d - i as f64));
        }
    }
    for i in index..depth {
        path[i].feature = path[i + 1].feature;
        path[i].zero_fraction = path[i + 1].zero_fraction;
        path[i].one_fraction = path[i + 1].one_fraction;
    }
}

/// Sum of the path weights if element `index` were unwound. A one-fraction is 1 (the row's own path) or 0
/// (the other side), so multiplying by its inverse is exact where the paper divides by it.
fn unwound_sum(path: &[PathElement], depth: usize, index: usize, ratios: &Ratios<'_>) -> f64 {
    let one = path[index].one_fraction;
    let zero = path[index].zero_fraction;
    let mut total = 0.0;
    if one != 0.0 {
        let inverse_one = 1.0 / one;
        let mut next_one = path[depth].weight;
        for i in (0..depth).rev() {
            let tmp = next_one * ratios.up[i] * inverse_one;
            total += tmp;
            next_one = path[i].weight - tmp * zero * ratios.shrink[i];
        }
    } else if zero != 0.0 {
        for i in (0..depth).rev() {
            total += path[i].weight * ratios.down[i];
        }
        total /= zero;
    }
    total
}
