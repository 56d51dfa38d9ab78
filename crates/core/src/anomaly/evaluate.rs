//! Event-level precision and recall of detected incidents against labelled anomaly windows.
//!
//! A detected incident and a label match when they have the same id and their days overlap once the
//! label is widened by `tolerance_days` on each side. Precision is the share of detected incidents (of the
//! kinds evaluated) that match a label; recall is the share of labels matched by an incident of any
//! kind. This is the event-level counting of Lavin & Ahmad (2015) without NAB's time weighting (see
//! [`super::nab`] for that).

use std::collections::HashMap;

use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type};

use crate::error::{Error, Result};
use crate::table::Table;

/// Event-level agreement of detections with labels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventScore {
    /// Detected incidents evaluated.
    pub detected: usize,
    /// Of those, how many match a label.
    pub true_positives: usize,
    /// Labels.
    pub labels: usize,
    /// Labels matched by at least one incident.
    pub found: usize,
}

impl EventScore {
    /// true_positives / detected (1 when nothing was detected).
    pub fn precision(&self) -> f64 {
        if self.detected == 0 { 1.0 } else { self.true_positives as f64 / self.detected as f64 }
    }

    /// found / labels (1 when there are no labels).
    pub fn recall(&self) -> f64 {
        if self.labels == 0 { 1.0 } else { self.found as f64 / self.labels as f64 }
    }
}

/// One labelled or detected window: id, first day, last day, kind.
type Window = (String, i32, i32, Option<String>);

/// (id, start day, end day, kind) rows of a table with an id column, `start` / `end` dates and,
/// when present, a text `kind` column.
fn windows(table: &Table, id: &str, what: &str) -> Result<Vec<Window>> {
    let batch = table.concat()?;
    let column = |name: &str| crate::table::column(&batch, name, what);
    let ids = cast(column(id)?, &DataType::Utf8)?;
    let ids = ids.as_string::<i32>();
    // `start` / `end`, or `start_date` / `end_date` where only those are present.
    let date = |a: &str, b: &str| -> Result<arrow::array::ArrayRef> {
        let name = if batch.column_by_name(a).is_none() && batch.column_by_name(b).is_some() { b } else { a };
        crate::table::cast_strict(column(name)?, &DataType::Date32, what, name, "a date")
    };
    let (start, end) = (date("start", "start_date")?, date("end", "end_date")?);
    let (start, end) = (start.as_primitive::<Date32Type>(), end.as_primitive::<Date32Type>());
    let kind = batch.column_by_name("kind").map(|k| cast(k, &DataType::Utf8)).transpose()?;
    let kind = kind.as_ref().map(|k| k.as_string::<i32>());
    (0..batch.num_rows())
        .map(|r| {
            if ids.is_null(r) || start.is_null(r) || end.is_null(r) {
                return Err(Error::invalid(format!("{what}, row {r}"), "id, start and end must not be null"));
            }
            let k = kind.filter(|k| k.is_valid(r)).map(|k| k.value(r).to_string());
            Ok((ids.value(r).to_string(), start.value(r), end.value(r), k))
        })
        .collect()
}

/// Scores `detected` (e.g. [`super::AnomalyResult::incidents`]) against `labels` (e.g. the demo's
/// `truth_anomalies`); both need the id column `id` and date columns `start` and `end` (or
/// `start_date` and `end_date`). Only detections whose `kind` is
/// in `kinds` count towards precision (all when `kinds` is empty).
pub fn event_score(
    detected: &Table,
    labels: &Table,
    id: &str,
    tolerance_days: i32,
    kinds: &[&str],
) -> Result<EventScore> {
    let detected = windows(detected, id, "detected incidents")?;
    let labels = windows(labels, id, "labels")?;
    let mut by_id: HashMap<&str, Vec<(i32, i32)>> = HashMap::new();
    for (id, s, e, _) in &labels {
        by_id.entry(id).or_default().push((s - tolerance_days, e + tolerance_days));
    }
    let overlaps = |a: (i32, i32), b: (i32, i32)| a.0 <= b.1 && b.0 <= a.1;
    let evaluated: Vec<_> =
        detected.iter().filter(|d| kinds.is_empty() || d.3.as_deref().is_some_and(|k| kinds.contains(&k))).collect();
    let true_positives = evaluated
        .iter()
        .filter(|d| by_id.get(d.0.as_str()).is_some_and(|ls| ls.iter().any(|l| overlaps(*l, (d.1, d.2)))))
        .count();
    let mut detected_by_id: HashMap<&str, Vec<(i32, i32)>> = HashMap::new();
    for (id, s, e, _) in &detected {
        detected_by_id.entry(id).or_default().push((*s, *e));
    }
    let found = labels
        .iter()
        .filter(|(id, s, e, _)| {
            detected_by_id
                .get(id.as_str())
                .is_some_and(|ds| ds.iter().any(|d| overlaps(*d, (s - tolerance_days, e + tolerance_days))))
        })
        .count();
    Ok(EventScore { detected: evaluated.len(), true_positives, labels: labels.len(), found })
}
