//! A portfolio summary of a health history (what a CS lead reads first, and what a notebook shows for
//! `health.history(...)`): accounts per band and the mean score on the first and last scored day, and the
//! band changes between them by direction.

use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type};
use chrono::NaiveDate;
use serde::Serialize;

use super::HealthHistory;
use crate::error::{Error, Result};
use crate::table::{column, numeric_column};

/// The bands from worst to best.
const BANDS: [&str; 3] = ["red", "yellow", "green"];

/// Accounts per band and mean score on one day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DaySummary {
    /// The day.
    pub date: NaiveDate,
    /// Accounts with a score that day.
    pub scored: usize,
    /// Accounts in `red`, `yellow`, `green`.
    pub bands: [usize; 3],
    /// Mean score of the scored accounts (NaN when none).
    pub mean_score: f64,
}

/// See the module documentation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthSummary {
    /// The first scored day.
    pub first: DaySummary,
    /// The last scored day.
    pub last: DaySummary,
    /// Band changes to a worse band.
    pub downgrades: usize,
    /// Band changes to a better band.
    pub upgrades: usize,
}

fn strings(array: &dyn Array) -> Result<arrow::array::StringArray> {
    Ok(cast(array, &DataType::Utf8)?.as_string::<i32>().clone())
}

fn rank(band: &str) -> Option<usize> {
    BANDS.iter().position(|b| *b == band)
}

impl HealthHistory {
    /// Summarises the history; an empty history is an error naming the table.
    pub fn summary(&self) -> Result<HealthSummary> {
        let history = self.history.concat()?;
        let dates = column(&history, "date", "health history")?;
        let dates = crate::table::cast_strict(dates, &DataType::Date32, "health history", "date", "a date")?;
        let dates = dates.as_primitive::<Date32Type>().clone();
        let scores = numeric_column(&history, "score", "health history")?;
        let bands = strings(column(&history, "band", "health history")?)?;
        let (Some(first), Some(last)) = (arrow::compute::min(&dates), arrow::compute::max(&dates)) else {
            return Err(Error::invalid("health history", "no scored days to summarise"));
        };
        let day = |d: i32| -> Result<DaySummary> {
            let (mut scored, mut counts, mut sum) = (0, [0; 3], 0.0);
            for i in (0..history.num_rows()).filter(|&i| dates.value(i) == d && scores.is_valid(i)) {
                scored += 1;
                sum += scores.value(i);
                if let Some(r) = bands.is_valid(i).then(|| rank(bands.value(i))).flatten() {
                    counts[r] += 1;
                }
            }
            let date = Date32Type::to_naive_date_opt(d)
                .ok_or_else(|| Error::invalid("health history, column 'date'", format!("day {d} is out of range")))?;
            Ok(DaySummary {
                date,
                scored,
                bands: counts,
                mean_score: if scored > 0 { sum / scored as f64 } else { f64::NAN },
            })
        };
        let changes = self.band_changes.concat()?;
        let from = strings(column(&changes, "from_band", "health band changes")?)?;
        let to = strings(column(&changes, "to_band", "health band changes")?)?;
        let (mut downgrades, mut upgrades) = (0, 0);
        for i in 0..changes.num_rows() {
            match (rank(from.value(i)), rank(to.value(i))) {
                (Some(a), Some(b)) if b < a => downgrades += 1,
                (Some(a), Some(b)) if b > a => upgrades += 1,
                _ => {}
            }
        }
        Ok(HealthSummary { first: day(first)?, last: day(last)?, downgrades, upgrades })
    }
}

impl HealthSummary {
    /// The summary as an HTML table (for notebooks).
    pub fn html(&self) -> String {
        let row = |d: &DaySummary| {
            let share = |n: usize| format!("{n} ({:.1}%)", 100.0 * n as f64 / d.scored.max(1) as f64);
            vec![
                d.date.to_string(),
                d.scored.to_string(),
                format!("{:.1}", d.mean_score),
                share(d.bands[0]),
                share(d.bands[1]),
                share(d.bands[2]),
            ]
        };
        let caption = format!(
            "Health summary: {} downgrades and {} upgrades of band between the first and last day",
            self.downgrades, self.upgrades
        );
        crate::html::table(
            Some(&caption),
            &["day", "accounts scored", "mean score", "red", "yellow", "green"],
            &[row(&self.first), row(&self.last)],
        )
    }
}
