//! `unique` rules, the one row-level check whose outcome for a row depends on other rows.
//!
//! Over a whole table (in memory) rows with equal keys are found by sorting 64-bit row hashes, partitioned
//! by their top bits so that each partition sorts in cache (hashing, partitioning and sorting all run in
//! parallel; far faster than a hash map of 10M encoded keys), and confirming equality value by value
//! within each run of equal hashes, so a hash collision never makes two different keys equal. Over a stream, each key is remembered in Arrow's row
//! format with the first row that had it, so memory grows with distinct keys, never with rows.

use std::collections::HashMap;

use arrow::array::{Array, ArrayRef, DynComparator, make_comparator};
use arrow::buffer::NullBuffer;
use arrow::compute::SortOptions;
use arrow::row::{RowConverter, SortField};
use datafusion::common::hash_utils::{RandomState, create_hashes};
use rayon::prelude::*;

use super::chunk::Chunk;
use super::config::ReportDuplicates;
use super::evaluate::RowFailures;
use crate::error::Result;

/// A row of one of a table's chunks: (chunk, row in the chunk).
pub(crate) type At = (usize, usize);

/// State of a `unique` rule across the batches of a stream.
#[derive(Debug, Default)]
pub(crate) struct UniqueState {
    /// Encoded key → first row (global).
    seen: HashMap<Box<[u8]>, u64>,
}

/// The failures of a `unique` rule over `cols` in every chunk of a whole table, one per chunk.
pub(crate) fn in_table(chunks: &[Chunk], cols: &[usize], report: ReportDuplicates) -> Result<Vec<RowFailures>> {
    let keys: Vec<Vec<ArrayRef>> =
        chunks.iter().map(|c| cols.iter().map(|&k| c.typed.column(k).clone()).collect()).collect();
    let mut notes: Vec<HashMap<usize, String>> = vec![HashMap::new(); chunks.len()];
    let global = |(c, r): At| chunks[c].origin.global(r);
    for members in equal_key_groups(&keys)? {
        match report {
            ReportDuplicates::ExcludeFirst => {
                let first = global(members[0]);
                for &(c, r) in &members[1..] {
                    notes[c].insert(r, format!("repeats the key of row {first}"));
                }
            }
            ReportDuplicates::All => {
                let all: Vec<String> = members.iter().map(|m| global(*m).to_string()).collect();
                let note = format!("the key occurs {} times (rows {})", members.len(), all.join(", "));
                for &(c, r) in &members {
                    notes[c].insert(r, note.clone());
                }
            }
        }
    }
    Ok(chunks.iter().zip(notes).map(|(c, n)| RowFailures::from_rows(c.typed.num_rows(), n)).collect())
}

/// The failures of a `unique` rule (`exclude_first`) in the next chunks of a stream, checked against every
/// key seen so far.
pub(crate) fn in_stream(chunks: &[Chunk], cols: &[usize], state: &mut UniqueState) -> Result<Vec<RowFailures>> {
    let mut out = Vec::with_capacity(chunks.len());
    for chunk in chunks {
        let arrays: Vec<ArrayRef> = cols.iter().map(|&k| chunk.typed.column(k).clone()).collect();
        let n = chunk.typed.num_rows();
        let converter = RowConverter::new(arrays.iter().map(|a| SortField::new(a.data_type().clone())).collect())?;
        let rows = converter.convert_columns(&arrays)?;
        let nulls = key_nulls(&arrays);
        let mut notes = HashMap::new();
        for i in (0..n).filter(|i| nulls.as_ref().is_none_or(|b| b.is_valid(*i))) {
            let key = rows.row(i).data();
            match state.seen.get(key) {
                Some(first) => {
                    notes.insert(i, format!("repeats the key of row {first}"));
                }
                None => {
                    state.seen.insert(key.into(), chunk.origin.global(i));
                }
            }
        }
        out.push(RowFailures::from_rows(n, notes));
    }
    Ok(out)
}

/// Rows where any key column is null.
fn key_nulls(keys: &[ArrayRef]) -> Option<NullBuffer> {
    keys.iter().fold(None, |acc, a| NullBuffer::union(acc.as_ref(), a.logical_nulls().as_ref()))
}

/// Bits of a row hash that choose its partition in [`equal_key_groups`]: 1,024 partitions keep each one's
/// sort in cache up to tens of millions of rows.
const PARTITION_BITS: u32 = 10;

/// One chunk's (hash, row) pairs ordered by partition, and where each partition starts.
type Buckets = (Vec<(u64, u32)>, Vec<usize>);

/// Groups of two or more rows (of those with no null key value) whose key columns are equal, across
/// chunks (`keys[chunk][column]`); each group in row order, groups ordered by their first row.
///
/// Each chunk hashes its keys and buckets the (hash, row) pairs by the hash's top bits; each partition then
/// gathers its pairs from every chunk and sorts them in cache (both steps in parallel). Runs of equal
/// hashes are confirmed value by value.
pub(crate) fn equal_key_groups(keys: &[Vec<ArrayRef>]) -> Result<Vec<Vec<At>>> {
    let parts = 1usize << PARTITION_BITS;
    let part = |h: u64| (h >> (64 - PARTITION_BITS)) as usize;
    let state = RandomState::with_seed(0x9e0_0b5);
    let bucketed: Vec<Buckets> = keys
        .par_iter()
        .map(|arrays| {
            let n = arrays.first().map_or(0, |a| a.len());
            let mut hashes = vec![0u64; n];
            create_hashes(arrays, &state, &mut hashes)?;
            let nulls = key_nulls(arrays);
            let valid = |i: usize| nulls.as_ref().is_none_or(|b| b.is_valid(i));
            let mut starts = vec![0usize; parts + 1];
            for (i, h) in hashes.iter().enumerate() {
                if valid(i) {
                    starts[part(*h) + 1] += 1;
                }
            }
            for p in 0..parts {
                starts[p + 1] += starts[p];
            }
            let mut next = starts.clone();
            let mut pairs = vec![(0u64, 0u32); starts[parts]];
            for (i, h) in hashes.iter().enumerate() {
                if valid(i) {
                    let slot = &mut next[part(*h)];
                    pairs[*slot] = (*h, i as u32);
                    *slot += 1;
                }
            }
            Ok((pairs, starts))
        })
        .collect::<Result<_>>()?;
    // Per partition: runs of two or more rows with equal hashes, in row order.
    let runs: Vec<Vec<Vec<At>>> = (0..parts)
        .into_par_iter()
        .map(|p| {
            let mut pairs: Vec<(u64, u32, u32)> = Vec::new();
            for (c, (chunk_pairs, starts)) in bucketed.iter().enumerate() {
                pairs.extend(chunk_pairs[starts[p]..starts[p + 1]].iter().map(|&(h, r)| (h, c as u32, r)));
            }
            pairs.sort_unstable();
            let mut runs = Vec::new();
            for run in pairs.chunk_by(|a, b| a.0 == b.0).filter(|r| r.len() > 1) {
                runs.push(run.iter().map(|&(_, c, r)| (c as usize, r as usize)).collect());
            }
            runs
        })
        .collect();
    drop(bucketed);
    // Comparators between two chunks' key columns, made when a run first needs them.
    let mut comparators: HashMap<(usize, usize), Vec<DynComparator>> = HashMap::new();
    let mut same = |(ca, ra): At, (cb, rb): At| -> Result<bool> {
        let cmp = match comparators.entry((ca, cb)) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(
                keys[ca]
                    .iter()
                    .zip(&keys[cb])
                    .map(|(a, b)| make_comparator(a.as_ref(), b.as_ref(), SortOptions::default()))
                    .collect::<std::result::Result<_, _>>()?,
            ),
        };
        Ok(cmp.iter().all(|f| f(ra, rb).is_eq()))
    };
    let mut groups = Vec::new();
    for run in runs.into_iter().flatten() {
        // Rows of one hash: split them by actual key equality.
        let mut split: Vec<Vec<At>> = Vec::new();
        for at in run {
            let mut found = None;
            for (g, members) in split.iter().enumerate() {
                if same(members[0], at)? {
                    found = Some(g);
                    break;
                }
            }
            match found {
                Some(g) => split[g].push(at),
                None => split.push(vec![at]),
            }
        }
        groups.extend(split.into_iter().filter(|g| g.len() > 1));
    }
    groups.sort_unstable_by_key(|g| g[0]);
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, StringArray};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn groups_equal_brute_force_on_compound_keys_with_nulls_across_chunks() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let n = 2_000;
        let a: Vec<Option<i64>> =
            (0..n).map(|_| (rng.random::<f64>() > 0.05).then(|| rng.random_range(0..30))).collect();
        let b: Vec<Option<String>> =
            (0..n).map(|_| (rng.random::<f64>() > 0.05).then(|| format!("k{}", rng.random_range(0..20)))).collect();
        let mut want: Vec<Vec<usize>> = Vec::new();
        for i in (0..n).filter(|i| a[*i].is_some() && b[*i].is_some()) {
            match want.iter_mut().find(|g| a[g[0]] == a[i] && b[g[0]] == b[i]) {
                Some(g) => g.push(i),
                None => want.push(vec![i]),
            }
        }
        want.retain(|g| g.len() > 1);
        // One chunk, then uneven chunks: the same groups by global row.
        for bounds in [vec![0, n], vec![0, 1, 700, 701, 1500, n]] {
            let keys: Vec<Vec<ArrayRef>> = bounds
                .windows(2)
                .map(|w| {
                    vec![
                        Arc::new(Int64Array::from(a[w[0]..w[1]].to_vec())) as ArrayRef,
                        Arc::new(StringArray::from(b[w[0]..w[1]].to_vec())) as ArrayRef,
                    ]
                })
                .collect();
            let got: Vec<Vec<usize>> = equal_key_groups(&keys)
                .expect("groups")
                .into_iter()
                .map(|g| g.into_iter().map(|(c, r)| bounds[c] + r).collect())
                .collect();
            assert_eq!(got, want, "chunks {bounds:?}");
        }
    }
}
