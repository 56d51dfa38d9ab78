//! Rows with equal keys, found by sorting 64-bit row hashes (cache-friendly, parallel) and confirming
//! equality value by value within each run of equal hashes, so a hash collision never makes two different
//! keys equal. Used by `unique` rules over whole tables; far faster than a hash map of 10M encoded keys.

use arrow::array::{ArrayRef, make_comparator};
use arrow::compute::SortOptions;
use datafusion::common::hash_utils::{RandomState, create_hashes};
use rayon::prelude::*;

use crate::error::Result;

/// Groups of two or more rows (of those with no null key value) whose key columns are equal; each group
/// in row order, groups ordered by their first row.
pub(crate) fn equal_key_groups(keys: &[ArrayRef], n: usize) -> Result<Vec<Vec<usize>>> {
    let mut hashes = vec![0u64; n];
    create_hashes(keys, &RandomState::with_seed(0x9e0_0b5), &mut hashes)?;
    let has_null = |i: usize| keys.iter().any(|a| a.is_null(i));
    let mut pairs: Vec<(u64, u32)> = (0..n).filter(|i| !has_null(*i)).map(|i| (hashes[i], i as u32)).collect();
    pairs.par_sort_unstable();
    let equal: Vec<_> = keys
        .iter()
        .map(|a| make_comparator(a.as_ref(), a.as_ref(), SortOptions::default()))
        .collect::<std::result::Result<_, _>>()?;
    let same = |a: usize, b: usize| equal.iter().all(|cmp| cmp(a, b).is_eq());
    let mut groups = Vec::new();
    let mut start = 0;
    while start < pairs.len() {
        let mut end = start + 1;
        while end < pairs.len() && pairs[end].0 == pairs[start].0 {
            end += 1;
        }
        if end - start > 1 {
            // Rows of one hash, in row order: split them by actual key equality.
            let mut run: Vec<Vec<usize>> = Vec::new();
            for &(_, row) in &pairs[start..end] {
                let row = row as usize;
                match run.iter_mut().find(|g| same(g[0], row)) {
                    Some(g) => g.push(row),
                    None => run.push(vec![row]),
                }
            }
            groups.extend(run.into_iter().filter(|g| g.len() > 1));
        }
        start = end;
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
    fn groups_equal_brute_force_on_compound_keys_with_nulls() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let n = 2_000;
        let a: Vec<Option<i64>> =
            (0..n).map(|_| (rng.random::<f64>() > 0.05).then(|| rng.random_range(0..30))).collect();
        let b: Vec<Option<String>> =
            (0..n).map(|_| (rng.random::<f64>() > 0.05).then(|| format!("k{}", rng.random_range(0..20)))).collect();
        let keys: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(a.clone())), Arc::new(StringArray::from(b.clone()))];
        let got = equal_key_groups(&keys, n).expect("groups");
        let mut want: Vec<Vec<usize>> = Vec::new();
        for i in (0..n).filter(|i| a[*i].is_some() && b[*i].is_some()) {
            match want.iter_mut().find(|g| a[g[0]] == a[i] && b[g[0]] == b[i]) {
                Some(g) => g.push(i),
                None => want.push(vec![i]),
            }
        }
        want.retain(|g| g.len() > 1);
        assert_eq!(got, want);
    }
}
