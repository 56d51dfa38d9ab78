//! Scores the streaming detector on the Numenta Anomaly Benchmark (NAB v1.1 scoring, `anomaly::nab`).
//! `cargo run --release --example nab -- --data ../shared/data/nab`
//!
//! One configuration for every file (no per-series tuning): the online detector of `anomaly::online`
//! on raw values (NAB's series are not counts), the seasonal period one day of steps when the file
//! covers at least three days (from its own timestamps) and none otherwise, learning through NAB's
//! probationary period, an event threshold of |z| ≥ 3, alarms refractory for one day of steps (an event
//! within a day of a stronger one is not reported), records on (`records`: a value beyond the file's
//! whole range so far) and rare windows on (`rarity`: the last six values where the file has rarely been
//! at that hour, reported at p ≤ 0.05, below any cut-off the optimiser picks). The anomaly score of a point
//! is the highest of the events it opens (0 where none does): for a spike, drop or rare window −ln of its
//! conformal p-value (`calibrate` for spikes and drops: how rare its |z| is among the file's earlier
//! points), for a record [`RECORD_WEIGHT`] × how far past the earlier range it went, in widths of that
//! range. So an anomaly is reported once, not on every point it lasts, and one cut-off, chosen by NAB's
//! optimiser per profile, means the same in every file, where a |z| does not.
//!
//! `--record-weight` replaces [`RECORD_WEIGHT`]; `--per-file` adds each file's windows, detections and
//! raw score under each profile; `--dump DIR` writes each file's anomaly scores to
//! `DIR/<category>__<file>` (one per line) for analysis elsewhere.

use accountscope::Result;
use accountscope::anomaly::Kind;
use accountscope::anomaly::nab::{NabSeries, PROFILES, normalize, read_corpus, score};
use accountscope::anomaly::online::{OnlineConfig, OnlineEvent};
use accountscope::anomaly::steps;

/// The score of a record per width of the earlier range it went past (`--record-weight` replaces it): a
/// record 0.5% of the range past the old extreme scores as a spike with p = e^−5. One constant for the
/// corpus, chosen on it from a plateau (docs/anomalies.md).
const RECORD_WEIGHT: f64 = 1000.0;

#[path = "support/cli.rs"]
mod cli;

fn main() {
    cli::main_with(run);
}

fn run() -> Result<()> {
    let root = cli::arg("--data").unwrap_or_else(|| "../shared/data/nab".into());
    let threshold: f64 = cli::number("--threshold", 3.0)?;
    let record_weight: f64 = cli::number("--record-weight", RECORD_WEIGHT)?;
    // Optional overrides of the one configuration used for every file (`--online '{"alpha": 0.2}'`).
    let base: OnlineConfig = match cli::arg("--online") {
        Some(json) => {
            serde_json::from_str(&json).map_err(|e| accountscope::Error::config("--online", e.to_string()))?
        }
        None => OnlineConfig {
            counts: false,
            min_relative_change: 0.0,
            threshold,
            calibrate: true,
            records: true,
            rarity: Some(0.05),
            ..OnlineConfig::default()
        },
    };
    let files = read_corpus(&root)?;
    let series = files
        .iter()
        .map(|f| -> Result<NabSeries> {
            let n = f.values.len();
            let mut intervals: Vec<i64> = f.timestamps.windows(2).map(|w| w[1] - w[0]).collect();
            intervals.sort_unstable();
            let step = intervals.get(intervals.len() / 2).copied().unwrap_or(86_400).max(1);
            let per_day = (86_400 / step).max(1) as usize;
            let days = (f.timestamps.last().unwrap_or(&0) - f.timestamps.first().unwrap_or(&0)) / 86_400;
            let config = OnlineConfig {
                period: if days >= 3 { per_day } else { 1 },
                warmup: ((0.15 * n as f64) as usize).min(750),
                refractory: per_day,
                ..base.clone()
            };
            // Each event scores at the step that opened it (NAB's files have no gaps).
            let mut scores = vec![0.0; n];
            for e in steps::events(&f.values, &config)? {
                let at = &mut scores[e.start as usize];
                *at = score_of(&e, record_weight).max(*at);
            }
            Ok(NabSeries { name: f.name.clone(), scores, windows: f.windows.clone() })
        })
        .collect::<Result<Vec<_>>>()?;
    if let Some(dir) = cli::arg("--dump") {
        dump(&dir, &series)?;
    }
    let mut categories: Vec<&str> = series.iter().map(NabSeries::category).collect();
    categories.dedup();
    println!("{} files, {} windows", series.len(), series.iter().map(|s| s.windows.len()).sum::<usize>());
    for profile in &PROFILES {
        let s = score(&series, profile);
        print!("{:<20} threshold {:>6.3}  total {:>6.1}", profile.name, s.threshold, s.normalized);
        for c in &categories {
            let pick: Vec<usize> = (0..series.len()).filter(|i| series[*i].category() == *c).collect();
            let sub: Vec<NabSeries> = pick.iter().map(|i| series[*i].clone()).collect();
            let raw: Vec<f64> = pick.iter().map(|i| s.raw[*i]).collect();
            if sub.iter().any(|x| !x.windows.is_empty()) {
                print!("  {c} {:.1}", normalize(&sub, &raw, profile));
            }
        }
        println!();
        if cli::flag("--per-file") {
            for (x, raw) in series.iter().zip(&s.raw) {
                let detections = x.scores.iter().filter(|v| **v >= s.threshold).count();
                println!(
                    "    {:<55} windows {}  detections {:>4}  raw {:>7.3}",
                    x.name,
                    x.windows.len(),
                    detections,
                    raw
                );
            }
        }
    }
    Ok(())
}

/// The anomaly score of an event: −ln p for a spike, drop or rare window, `record_weight` × strength for a
/// record.
fn score_of(e: &OnlineEvent, record_weight: f64) -> f64 {
    match (e.kind, e.p_value) {
        (Kind::Record, _) => record_weight * e.strength,
        (_, Some(p)) => -p.ln(),
        _ => 0.0,
    }
}

/// Writes each series' anomaly scores, one per line, to `dir/<category>__<file>`.
fn dump(dir: &str, series: &[NabSeries]) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| accountscope::Error::io(dir, e))?;
    for s in series {
        let path = std::path::Path::new(dir).join(s.name.replace('/', "__"));
        let text: String = s.scores.iter().map(|v| format!("{v}\n")).collect();
        std::fs::write(&path, text).map_err(|e| accountscope::Error::io(path.display(), e))?;
    }
    Ok(())
}
