//! Duplicate resolution before the rules run: exact copies of a row and rows that share a key, under the
//! table's [`DuplicatePolicy`].
//!
//! Rows are grouped by their key, compared exactly whatever its types: over a whole table with the
//! partitioned hash sort of `unique` rules (values confirmed), over a stream in Arrow's row format against
//! every key seen so far. A row whose key has a null is never a key duplicate. Within a key, a row is an exact copy when every raw
//! input value equals an earlier row of the key (compared value by value within a batch; across the batches
//! of a stream by a 64-bit hash of the raw row). Copies are dropped and listed with the row they copy;
//! `reject_all` quarantines every row of a repeated key instead; `merge` fills the kept row's nulls from the
//! later rows. Only `keep_first` and `keep_all` decide a row without seeing later rows, so only they stream.

use std::collections::HashMap;

use arrow::array::{ArrayRef, DynComparator, RecordBatch, make_comparator};
use arrow::compute::SortOptions;
use arrow::row::{RowConverter, SortField};
use datafusion::common::HashMap as FastMap;
use datafusion::common::hash_utils::{RandomState, create_hashes};

use super::chunk::CHUNK_ROWS;
use super::compile::TablePlan;
use super::config::DuplicatePolicy;
use crate::error::Result;

/// A dropped copy.
#[derive(Debug, Clone)]
pub(crate) struct Dropped {
    /// Local row in the batch.
    pub(crate) row: usize,
    /// Global row it copies or was merged into.
    pub(crate) kept: u64,
    /// `exact`, `key` or `merged`.
    pub(crate) kind: &'static str,
}

/// The outcome for one batch.
#[derive(Debug, Default)]
pub(crate) struct Resolution {
    /// Local rows that stay, in order.
    pub(crate) keep: Vec<u32>,
    /// Per column, the local source row of each kept row (only under `merge` when a null was filled).
    pub(crate) merged_sources: Option<Vec<Vec<u32>>>,
    /// Dropped copies.
    pub(crate) dropped: Vec<Dropped>,
    /// Kept rows (local) that `reject_all` quarantines, with the reason.
    pub(crate) rejected: HashMap<usize, String>,
}

/// Keys seen so far in a stream: encoded key → (first global row, hashes of the distinct raw rows).
#[derive(Debug, Default)]
pub(crate) struct DedupState {
    seen: HashMap<Box<[u8]>, (u64, Vec<u64>)>,
}

/// Whether two rows of `batch` are equal in every column (two nulls are equal).
fn rows_equal(batch: &RecordBatch) -> Result<impl Fn(usize, usize) -> bool> {
    let comparators: Vec<DynComparator> = batch
        .columns()
        .iter()
        .map(|c| make_comparator(c.as_ref(), c.as_ref(), SortOptions::default()))
        .collect::<std::result::Result<_, _>>()?;
    Ok(move |a, b| comparators.iter().all(|cmp| cmp(a, b).is_eq()))
}

/// One key's rows in a batch: its distinct rows (exact copies removed) in order, and the key's first row in
/// earlier batches of a stream.
struct KeyGroup {
    members: Vec<usize>,
    earlier: Option<u64>,
}

/// The key groups of a whole table: rows with equal keys found as `unique` rules find them (partitioned
/// hash sort, values confirmed), so only rows whose key repeats are looked at again; a row equal in every
/// raw value to an earlier distinct row of its key is dropped as an exact copy. Without key columns the key
/// is the whole raw row.
fn table_groups(
    raw: &RecordBatch,
    typed: &RecordBatch,
    key: &[usize],
    offset: u64,
    keep_mask: &mut [bool],
    dropped: &mut Vec<Dropped>,
) -> Result<Vec<KeyGroup>> {
    let key_arrays: Vec<ArrayRef> =
        if key.is_empty() { raw.columns().to_vec() } else { key.iter().map(|c| typed.column(*c).clone()).collect() };
    let same_raw = rows_equal(raw)?;
    // Slices of the key columns, so hashing and bucketing run in parallel.
    let n = raw.num_rows();
    let slices: Vec<Vec<ArrayRef>> = (0..n)
        .step_by(CHUNK_ROWS)
        .map(|s| key_arrays.iter().map(|a| a.slice(s, CHUNK_ROWS.min(n - s))).collect())
        .collect();
    let mut out = Vec::new();
    for group in super::unique::equal_key_groups(&slices)? {
        let mut members: Vec<usize> = Vec::new();
        for i in group.into_iter().map(|(c, r)| c * CHUNK_ROWS + r) {
            match members.iter().find(|&&m| same_raw(m, i)) {
                Some(&m) => {
                    keep_mask[i] = false;
                    dropped.push(Dropped { row: i, kept: offset + m as u64, kind: "exact" });
                }
                None => members.push(i),
            }
        }
        out.push(KeyGroup { members, earlier: None });
    }
    Ok(out)
}

/// The key groups of a stream's batch, every key of the batch (repeated or not) checked against and then
/// added to the keys of earlier batches; exact copies of earlier batches' rows are found by a 64-bit hash of
/// the raw row.
fn stream_groups(
    raw: &RecordBatch,
    typed: &RecordBatch,
    key: &[usize],
    offset: u64,
    state: &mut DedupState,
    keep_mask: &mut [bool],
    dropped: &mut Vec<Dropped>,
) -> Result<Vec<KeyGroup>> {
    let n = raw.num_rows();
    let mut hashes = vec![0u64; n];
    create_hashes(raw.columns(), &RandomState::with_seed(0x5eed_ac5c), &mut hashes)?;
    let key_arrays: Vec<ArrayRef> = key.iter().map(|c| typed.column(*c).clone()).collect();
    let encoded = if key_arrays.is_empty() {
        None
    } else {
        let converter = RowConverter::new(key_arrays.iter().map(|a| SortField::new(a.data_type().clone())).collect())?;
        Some(converter.convert_columns(&key_arrays)?)
    };
    let same_raw = rows_equal(raw)?;

    // Groups of this batch: key → distinct members (local rows) in order; exact copies dropped here.
    let hash_keys: Vec<[u8; 8]> =
        if encoded.is_none() { hashes.iter().map(|h| h.to_le_bytes()).collect() } else { Vec::new() };
    let mut groups: FastMap<&[u8], Vec<usize>> = FastMap::with_capacity(n);
    let mut order: Vec<&[u8]> = Vec::new();
    for i in 0..n {
        let k: &[u8] = match &encoded {
            Some(_) if key_arrays.iter().any(|a| a.is_null(i)) => continue,
            Some(rows) => rows.row(i).data(),
            None => &hash_keys[i],
        };
        let members = groups.entry(k).or_default();
        if members.is_empty() {
            order.push(k);
        }
        // An exact copy of an earlier distinct row of this key (this batch, or an earlier batch by hash)?
        let local_copy = members.iter().find(|&&m| hashes[m] == hashes[i] && same_raw(m, i)).copied();
        let earlier = state.seen.get(k);
        if let Some(m) = local_copy {
            keep_mask[i] = false;
            dropped.push(Dropped { row: i, kept: offset + m as u64, kind: "exact" });
        } else if let Some((first, _)) = earlier.filter(|(_, h)| h.contains(&hashes[i])) {
            keep_mask[i] = false;
            dropped.push(Dropped { row: i, kept: *first, kind: "exact" });
        } else {
            members.push(i);
        }
    }
    let mut out = Vec::with_capacity(order.len());
    for k in order {
        let members = groups.remove(k).unwrap_or_default();
        let earlier = state.seen.get(k).map(|(first, _)| *first);
        // Remember this batch's keys for the next batches.
        let entry = state.seen.entry(k.into()).or_insert_with(|| (offset + members[0] as u64, Vec::new()));
        entry.1.extend(members.iter().map(|m| hashes[*m]));
        out.push(KeyGroup { members, earlier });
    }
    Ok(out)
}

/// Resolves duplicates in `raw` (the input as given) keyed by the plan's key columns of `typed`, under its
/// policy. With `persist`, the
/// batch's keys are remembered in `state` for the next batches of a stream.
pub(crate) fn resolve(
    raw: &RecordBatch,
    typed: &RecordBatch,
    plan: &TablePlan,
    offset: u64,
    state: &mut DedupState,
    persist: bool,
) -> Result<Resolution> {
    let (key, policy, latest_by) = (&plan.key, &plan.duplicates, plan.latest_by);
    let n = raw.num_rows();
    if matches!(policy, DuplicatePolicy::KeepAll) || n == 0 {
        return Ok(Resolution { keep: (0..n as u32).collect(), ..Default::default() });
    }
    let mut keep_mask = vec![true; n];
    let mut dropped = Vec::new();
    let groups = if persist {
        stream_groups(raw, typed, key, offset, state, &mut keep_mask, &mut dropped)?
    } else {
        table_groups(raw, typed, key, offset, &mut keep_mask, &mut dropped)?
    };

    let mut rejected = HashMap::new();
    let mut merged_sources: Option<Vec<Vec<u32>>> = None;
    let mut fills: Vec<(usize, usize, usize)> = Vec::new(); // (kept row, column, source row)
    for KeyGroup { members, earlier } in &groups {
        let (members, earlier) = (members.as_slice(), *earlier);
        match policy {
            DuplicatePolicy::KeepFirst => {
                let (first, rest) = match earlier {
                    Some(first) => (first, members),
                    None => (offset + members[0] as u64, &members[1..]),
                };
                for &m in rest {
                    keep_mask[m] = false;
                    dropped.push(Dropped { row: m, kept: first, kind: "key" });
                }
            }
            _ if members.len() < 2 => {}
            DuplicatePolicy::KeepLatest { .. } => {
                let by = typed.column(latest_by.unwrap_or(0));
                let cmp =
                    make_comparator(by.as_ref(), by.as_ref(), SortOptions { descending: false, nulls_first: true })?;
                let best = members.iter().copied().reduce(|a, b| if cmp(b, a).is_ge() { b } else { a }).unwrap_or(0);
                for &m in members.iter().filter(|&&m| m != best) {
                    keep_mask[m] = false;
                    dropped.push(Dropped { row: m, kept: offset + best as u64, kind: "key" });
                }
            }
            DuplicatePolicy::RejectAll => {
                let rows: Vec<String> = members.iter().map(|m| (offset + *m as u64).to_string()).collect();
                for &m in members {
                    rejected
                        .insert(m, format!("the key occurs in {} differing rows ({})", members.len(), rows.join(", ")));
                }
            }
            DuplicatePolicy::Merge => {
                let first = members[0];
                for c in 0..typed.num_columns() {
                    let col = typed.column(c);
                    if col.is_null(first)
                        && let Some(&src) = members[1..].iter().find(|&&m| col.is_valid(m))
                    {
                        fills.push((first, c, src));
                    }
                }
                for &m in &members[1..] {
                    keep_mask[m] = false;
                    dropped.push(Dropped { row: m, kept: offset + first as u64, kind: "merged" });
                }
            }
            DuplicatePolicy::KeepAll => {}
        }
    }
    let keep: Vec<u32> = (0..n as u32).filter(|i| keep_mask[*i as usize]).collect();
    if !fills.is_empty() {
        let position: HashMap<usize, usize> = keep.iter().enumerate().map(|(p, r)| (*r as usize, p)).collect();
        let mut sources = vec![keep.clone(); typed.num_columns()];
        for (kept, c, src) in fills {
            sources[c][position[&kept]] = src as u32;
        }
        merged_sources = Some(sources);
    }
    dropped.sort_by_key(|d| d.row);
    Ok(Resolution { keep, merged_sources, dropped, rejected })
}
