//! Feature binning: each feature's values become at most `max_bin` one-byte bins, the last of which is
//! the missing-value bin.
//!
//! Numeric features follow LightGBM's scheme (`src/io/bin.cpp`): bin boundaries come from a seeded sample
//! of rows (`bin_construct_sample_cnt`); with few distinct values each value gets its own bin, otherwise
//! boundaries fall at equal-count quantiles of the distinct values; a boundary sits halfway between two
//! neighbouring distinct values, and a value `x` belongs to the first bin with `x <= upper`. Categorical
//! features get one bin per category, most frequent first; categories beyond `max_bin - 1` share the
//! missing bin, so they (like unseen categories and missing values) never go to a split's category set.

use std::collections::HashMap;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::data::Features;

/// Maps one feature's values to bins.
#[derive(Debug, Clone)]
pub(crate) enum BinMapper {
    /// Value bins with inclusive upper bounds (the last is +∞); the missing bin follows them.
    Numeric { upper: Vec<f64> },
    /// Bin `b` holds category `codes[b]`; the missing bin (also rare and unseen categories) follows.
    Categorical { codes: Vec<u32>, lookup: HashMap<u32, u8> },
}

impl BinMapper {
    /// Number of bins including the missing bin.
    pub(crate) fn num_bins(&self) -> usize {
        self.missing_bin() + 1
    }

    /// Index of the missing-value bin.
    pub(crate) fn missing_bin(&self) -> usize {
        match self {
            Self::Numeric { upper } => upper.len(),
            Self::Categorical { codes, .. } => codes.len(),
        }
    }

    /// The bin of a value.
    pub(crate) fn bin(&self, v: f64) -> u8 {
        let missing = self.missing_bin() as u8;
        match self {
            _ if v.is_nan() => missing,
            Self::Numeric { upper } => upper.partition_point(|u| *u < v) as u8,
            Self::Categorical { lookup, .. } => lookup.get(&(v as u32)).copied().unwrap_or(missing),
        }
    }

    fn numeric(sample: &mut Vec<f64>, max_value_bins: usize) -> Self {
        sample.retain(|v| !v.is_nan());
        sample.sort_by(f64::total_cmp);
        let mut distinct: Vec<(f64, usize)> = Vec::new();
        for &v in sample.iter() {
            match distinct.last_mut() {
                Some((last, count)) if *last == v => *count += 1,
                _ => distinct.push((v, 1)),
            }
        }
        let mut upper = Vec::new();
        if distinct.len() <= max_value_bins {
            upper.extend(distinct.windows(2).map(|w| midpoint(w[0].0, w[1].0)));
        } else {
            let total = sample.len() as f64;
            let mut seen = 0usize;
            for w in distinct.windows(2) {
                seen += w[0].1;
                let target = (upper.len() + 1) as f64 * total / max_value_bins as f64;
                if seen as f64 >= target && upper.len() + 1 < max_value_bins {
                    upper.push(midpoint(w[0].0, w[1].0));
                }
            }
        }
        upper.push(f64::INFINITY);
        Self::Numeric { upper }
    }

    fn categorical(column: &[f64], max_value_bins: usize) -> Self {
        let mut counts: HashMap<u32, usize> = HashMap::new();
        for &v in column.iter().filter(|v| !v.is_nan()) {
            *counts.entry(v as u32).or_default() += 1;
        }
        let mut by_count: Vec<(u32, usize)> = counts.into_iter().collect();
        by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        by_count.truncate(max_value_bins);
        let codes: Vec<u32> = by_count.into_iter().map(|(c, _)| c).collect();
        let lookup = codes.iter().enumerate().map(|(b, c)| (*c, b as u8)).collect();
        Self::Categorical { codes, lookup }
    }
}

/// Halfway between two neighbouring distinct values, as a value strictly above `a`.
fn midpoint(a: f64, b: f64) -> f64 {
    let m = a + (b - a) / 2.0;
    if m > a && m.is_finite() { m } else { b }
}

/// Features per block of [`BinnedData`]: a row's bins of one block are 8 bytes, read as one word.
pub(crate) const BLOCK: usize = 8;

/// Rows binned per parallel task when the blocks are filled.
const FILL_ROWS: usize = 1 << 16;

/// Binned training features: one byte per value, in blocks of [`BLOCK`] features stored row by row
/// (`blocks[j / BLOCK][row * BLOCK + j % BLOCK]`; a last, partial block pads with zeros).
///
/// Why blocks rather than one array per feature: a leaf's rows are scattered over the data, and the
/// histogram of a leaf reads every active feature of each of its rows. Column by column, each of those
/// reads is a cache miss of its own; in blocks, one cache line brings eight features of a row (LightGBM
/// groups features for the same reason, its "multi-value bins"). Memory: 8 bytes per row per block, the same
/// as one byte per value for multiples of eight features, up to eight times it for a single feature.
#[derive(Debug)]
pub(crate) struct BinnedData {
    pub(crate) mappers: Vec<BinMapper>,
    pub(crate) blocks: Vec<Vec<u8>>,
    /// Offset of each feature's first bin in a histogram holding all features.
    pub(crate) offsets: Vec<usize>,
}

impl BinnedData {
    /// Finds bin boundaries (on a seeded sample of rows, in parallel over features), then bins every value
    /// (in parallel over blocks of rows).
    pub(crate) fn build(features: &Features, max_bin: usize, sample_cnt: usize, seed: u64) -> Self {
        let rows = features.num_rows();
        let sample: Option<Vec<usize>> = (rows > sample_cnt).then(|| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6269_6e73);
            let mut idx = rand::seq::index::sample(&mut rng, rows, sample_cnt).into_vec();
            idx.sort_unstable();
            idx
        });
        let max_value_bins = max_bin - 1;
        let mappers: Vec<BinMapper> = (0..features.num_features())
            .into_par_iter()
            .map(|j| {
                let column = features.column(j);
                if features.info()[j].kind.is_categorical() {
                    BinMapper::categorical(column, max_value_bins)
                } else {
                    let mut values = match &sample {
                        Some(idx) => idx.iter().map(|&i| column[i]).collect(),
                        None => column.to_vec(),
                    };
                    BinMapper::numeric(&mut values, max_value_bins)
                }
            })
            .collect();
        let mut blocks = vec![vec![0u8; rows * BLOCK]; mappers.len().div_ceil(BLOCK)];
        for (b, block) in blocks.iter_mut().enumerate() {
            let first = b * BLOCK;
            let width = BLOCK.min(mappers.len() - first);
            block.par_chunks_mut(FILL_ROWS * BLOCK).enumerate().for_each(|(c, chunk)| {
                let start = c * FILL_ROWS;
                for k in 0..width {
                    let (mapper, column) = (&mappers[first + k], features.column(first + k));
                    for (bins, &v) in chunk.chunks_exact_mut(BLOCK).zip(&column[start..]) {
                        bins[k] = mapper.bin(v);
                    }
                }
            });
        }
        let mut offsets = Vec::with_capacity(mappers.len() + 1);
        let mut total = 0;
        for m in &mappers {
            offsets.push(total);
            total += m.num_bins();
        }
        offsets.push(total);
        Self { mappers, blocks, offsets }
    }

    /// Total bins over all features (the length of a histogram).
    pub(crate) fn total_bins(&self) -> usize {
        self.offsets.last().copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_distinct_values_get_one_bin_each() {
        let m = BinMapper::numeric(&mut vec![3.0, 1.0, 2.0, 2.0, f64::NAN], 10);
        let BinMapper::Numeric { upper } = &m else { unreachable!() };
        assert_eq!(upper, &[1.5, 2.5, f64::INFINITY]);
        assert_eq!([1.0, 1.5, 2.0, 3.0, 99.0, f64::NAN].map(|v| m.bin(v)), [0, 0, 1, 2, 2, 3]);
    }

    #[test]
    fn many_values_get_equal_count_bins() {
        let mut values: Vec<f64> = (0..1000).map(f64::from).collect();
        let m = BinMapper::numeric(&mut values, 4);
        let counts = (0..1000).fold([0usize; 5], |mut c, v| {
            c[m.bin(f64::from(v)) as usize] += 1;
            c
        });
        assert_eq!(counts, [250, 250, 250, 250, 0]);
    }

    #[test]
    fn rare_categories_share_the_missing_bin() {
        let m = BinMapper::categorical(&[5.0, 5.0, 7.0, 7.0, 7.0, 9.0], 2);
        assert_eq!([7.0, 5.0, 9.0, 11.0, f64::NAN].map(|v| m.bin(v)), [0, 1, 2, 2, 2]);
    }
}
