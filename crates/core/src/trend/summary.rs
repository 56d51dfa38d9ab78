//! Seasonality results summarised by attributes of the series (industry, segment, plan, ...): the share
//! of series where each period was found, its mean strength, the typical peak and trough, and a sentence
//! a customer-success lead can read ("Education: yearly strength 0.84, found in 100% of 54 series,
//! highest in Apr, lowest in Jul").

use std::collections::BTreeMap;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type};
use datafusion::common::HashMap;

use super::series::{float_column, int_column, text_column, to_table};
use crate::error::{Error, Result};
use crate::table::Table;

/// Summarises a [`super::seasonality()`] table by attributes of its series: `attributes` is a table keyed by the
/// first id column (e.g. `accounts`), `group_by` names its columns to group on (e.g. `["industry"]`).
///
/// One row per group, metric and period: `series` (examined, status `ok` or `constant`), `detected_share`,
/// `mean_strength` (over examined series), the most common `peak` and `trough` among series where it was
/// detected, and a readable `summary`. Series whose id is not in `attributes` form the group `(unknown)`.
pub fn seasonality_summary(per_series: &Table, attributes: &Table, group_by: &[String]) -> Result<Table> {
    let per_series = per_series.concat()?;
    let attributes = attributes.concat()?;
    let col = |batch: &RecordBatch, table: &str, name: &str| -> Result<ArrayRef> {
        Ok(arrow::compute::cast(crate::table::column(batch, name, table)?, &DataType::Utf8)?)
    };
    let key_name = per_series.schema().field(0).name().clone();
    let attribute_key = col(&attributes, "attributes", &key_name)?;
    let attribute_columns: Vec<ArrayRef> =
        group_by.iter().map(|g| col(&attributes, "attributes", g)).collect::<Result<_>>()?;
    let mut lookup: HashMap<&str, Vec<String>> = HashMap::default();
    let attribute_key = attribute_key.as_string::<i32>();
    for row in 0..attributes.num_rows() {
        if attribute_key.is_valid(row) {
            let values = attribute_columns.iter().map(|a| value_text(a, row)).collect();
            lookup.insert(attribute_key.value(row), values);
        }
    }
    let key = col(&per_series, "seasonality", &key_name)?;
    let key = key.as_string::<i32>();
    let [metric, status, peak, trough] =
        ["metric", "status", "peak", "trough"].map(|c| col(&per_series, "seasonality", c));
    let (metric, status, peak, trough) = (metric?, status?, peak?, trough?);
    let period = per_series.column_by_name("period").map(|a| a.as_primitive::<Int64Type>().clone());
    let strength = per_series.column_by_name("strength").map(|a| a.as_primitive::<Float64Type>().clone());
    let detected = per_series.column_by_name("detected").map(|a| a.as_boolean().clone());
    let (Some(period), Some(strength), Some(detected)) = (period, strength, detected) else {
        return Err(Error::Schema {
            context: "seasonality summary input".into(),
            message: "expected the output of trend::seasonality (period, strength, detected)".into(),
        });
    };
    type Acc = (usize, usize, f64, BTreeMap<String, usize>, BTreeMap<String, usize>);
    let mut groups: BTreeMap<(Vec<String>, String, i64), Acc> = BTreeMap::new();
    let unknown = vec!["(unknown)".to_string(); group_by.len()];
    for row in 0..per_series.num_rows() {
        let s = value_text(&status, row);
        if s != "ok" && s != "constant" {
            continue;
        }
        let attrs = key.is_valid(row).then(|| lookup.get(key.value(row))).flatten().unwrap_or(&unknown);
        let acc = groups.entry((attrs.clone(), value_text(&metric, row), period.value(row))).or_default();
        acc.0 += 1;
        acc.2 += strength.value(row);
        if detected.value(row) {
            acc.1 += 1;
            *acc.3.entry(value_text(&peak, row)).or_default() += 1;
            *acc.4.entry(value_text(&trough, row)).or_default() += 1;
        }
    }
    let mode = |m: &BTreeMap<String, usize>| m.iter().max_by_key(|(_, c)| **c).map(|(k, _)| k.clone());
    let mut columns: Vec<(Field, ArrayRef)> = group_by
        .iter()
        .enumerate()
        .map(|(i, g)| text_column(g, groups.keys().map(|k| Some(k.0[i].as_str()))))
        .collect();
    columns.push(text_column("metric", groups.keys().map(|k| Some(k.1.as_str()))));
    columns.push(int_column("period", groups.keys().map(|k| k.2)));
    columns.push(int_column("series", groups.values().map(|a| a.0 as i64)));
    columns.push(float_column("detected_share", groups.values().map(|a| Some(a.1 as f64 / a.0 as f64))));
    columns.push(float_column("mean_strength", groups.values().map(|a| Some(a.2 / a.0 as f64))));
    let peaks: Vec<Option<String>> = groups.values().map(|a| mode(&a.3)).collect();
    let troughs: Vec<Option<String>> = groups.values().map(|a| mode(&a.4)).collect();
    let peak_of: BTreeMap<&(Vec<String>, String, i64), String> =
        groups.keys().zip(&peaks).filter_map(|(k, p)| Some((k, p.clone()?))).collect();
    let summaries: Vec<String> = groups
        .iter()
        .zip(&troughs)
        .map(|((k, a), trough)| {
            let name = match k.2 {
                7 => "weekly".to_string(),
                p if p >= 360 => "yearly".to_string(),
                p => format!("{p}-day"),
            };
            let share = a.1 as f64 / a.0 as f64;
            let mut text = format!(
                "{}: {name} strength {:.2}, found in {:.0}% of {} series",
                k.0.join(" / "),
                a.2 / a.0 as f64,
                100.0 * share,
                a.0
            );
            if share >= 0.5 {
                let peak = peak_of.get(k).map(String::as_str).unwrap_or_default();
                let trough = trough.as_deref().unwrap_or_default();
                text.push_str(&match k.2 {
                    7 => format!(", lowest on {trough}"),
                    p if p >= 360 => format!(", highest in {peak}, lowest in {trough}"),
                    _ => format!(", highest at {peak}, lowest at {trough}"),
                });
            }
            text
        })
        .collect();
    columns.push(text_column("peak", peaks.iter().map(|p| p.as_deref())));
    columns.push(text_column("trough", troughs.iter().map(|p| p.as_deref())));
    columns.push(text_column("summary", summaries.iter().map(|s| Some(s.as_str()))));
    to_table(columns)
}

fn value_text(array: &ArrayRef, row: usize) -> String {
    if array.is_valid(row) { array.as_string::<i32>().value(row).to_string() } else { String::new() }
}
