//! The Numenta Anomaly Benchmark's scoring (Lavin & Ahmad 2015, NAB v1.1 `sweeper.py`), and a reader for
//! a folder in NAB's layout, so our streaming detector is measured the way the published detectors are.
//!
//! Scoring, as NAB does it:
//! - The first `min(⌊0.15·n⌋, 750)` points of each file are probationary and not scored.
//! - A detection is a point whose anomaly score is at or above the threshold. Inside a labelled window
//!   of width w ending at index r, a detection at i scores `σ(−(r − i + 1)/w) · A_TP / σ(−1)` with the
//!   scaled sigmoid σ(y) = 2/(1 + e^{5y}) − 1 (σ(y) = −1 for y ≥ 3); only the best detection of a window
//!   counts, and a window with none scores −A_FN. A detection outside every window scores
//!   `σ(|i − r|/(w − 1)) · A_FP` against the preceding window (ending at r, width w), or −A_FP when
//!   there is none.
//! - Profiles (A_TP, A_FP, A_FN): standard (1, 0.11, 1), reward_low_FP_rate (1, 0.22, 1),
//!   reward_low_FN_rate (1, 0.11, 2).
//! - One threshold for the whole corpus per profile, the one with the best total raw score (NAB's
//!   optimiser sweeps every distinct anomaly score; so do we).
//! - Normalised score = 100 · (raw − null) / (perfect − null), where the null detector detects nothing
//!   (every window a miss) and the perfect one scores A_TP on every labelled window.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A cost profile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// NAB's name for it.
    pub name: &'static str,
    /// Weight of a true positive.
    pub tp: f64,
    /// Weight of a false positive.
    pub fp: f64,
    /// Weight of a missed window.
    pub fn_: f64,
}

/// NAB's three profiles.
pub const PROFILES: [Profile; 3] = [
    Profile { name: "standard", tp: 1.0, fp: 0.11, fn_: 1.0 },
    Profile { name: "reward_low_FP_rate", tp: 1.0, fp: 0.22, fn_: 1.0 },
    Profile { name: "reward_low_FN_rate", tp: 1.0, fp: 0.11, fn_: 2.0 },
];

/// One scored series: anomaly scores per point and its labelled windows.
#[derive(Debug, Clone, PartialEq)]
pub struct NabSeries {
    /// Name (NAB's relative path, e.g. `realKnownCause/nyc_taxi.csv`).
    pub name: String,
    /// Anomaly score per point (higher is more anomalous).
    pub scores: Vec<f64>,
    /// Labelled windows as inclusive index ranges, in time order.
    pub windows: Vec<(usize, usize)>,
}

impl NabSeries {
    /// NAB's category: the folder part of the name.
    pub fn category(&self) -> &str {
        self.name.split('/').next().unwrap_or("")
    }
}

/// The result of scoring a corpus with one profile.
#[derive(Debug, Clone, PartialEq)]
pub struct NabScore {
    /// The profile.
    pub profile: Profile,
    /// The threshold chosen for the whole corpus.
    pub threshold: f64,
    /// Raw score per series at that threshold, in input order.
    pub raw: Vec<f64>,
    /// Normalised score of the whole corpus.
    pub normalized: f64,
}

/// The scaled sigmoid of NAB.
pub fn scaled_sigmoid(y: f64) -> f64 {
    if y >= 3.0 { -1.0 } else { 2.0 / (1.0 + (5.0 * y).exp()) - 1.0 }
}

/// A scorable point: its anomaly score, its weighted score if detected, and its window (series, index).
struct Point {
    series: usize,
    score: f64,
    weighted: f64,
    window: Option<(usize, usize)>,
}

fn points(series: &[NabSeries], profile: &Profile) -> Vec<Point> {
    let max_tp = scaled_sigmoid(-1.0);
    let mut out = Vec::new();
    for (s, x) in series.iter().enumerate() {
        let probation = probation(x.scores.len());
        let mut previous: Option<(usize, usize)> = None;
        for (i, &score) in x.scores.iter().enumerate() {
            let inside = x.windows.iter().position(|&(l, r)| l <= i && i <= r);
            let weighted = match inside {
                Some(w) => {
                    let (l, r) = x.windows[w];
                    let width = (r - l + 1) as f64;
                    scaled_sigmoid(-((r - i + 1) as f64) / width) * profile.tp / max_tp
                }
                None => match previous {
                    None => -profile.fp,
                    Some((l, r)) => {
                        let width = (r - l + 1) as f64;
                        scaled_sigmoid((i - r) as f64 / (width - 1.0).max(1.0)) * profile.fp
                    }
                },
            };
            if let Some(w) = inside
                && i == x.windows[w].1
            {
                previous = Some(x.windows[w]);
            }
            if i >= probation {
                out.push(Point { series: s, score, weighted, window: inside.map(|w| (s, w)) });
            }
        }
    }
    out
}

/// Raw score per series when every point with score ≥ `threshold` is a detection.
fn raw_scores(n_series: usize, points: &[Point], threshold: f64, profile: &Profile) -> Vec<f64> {
    let mut best: HashMap<(usize, usize), f64> = HashMap::new();
    let mut raw = vec![0.0; n_series];
    for p in points {
        let detected = p.score >= threshold;
        match p.window {
            Some(w) => {
                let b = best.entry(w).or_insert(-profile.fn_);
                if detected {
                    *b = b.max(p.weighted);
                }
            }
            None if detected => raw[p.series] += p.weighted,
            None => {}
        }
    }
    for ((s, _), v) in best {
        raw[s] += v;
    }
    raw
}

fn probation(n: usize) -> usize {
    ((0.15 * n as f64).floor()).min(750.0) as usize
}

/// Scores a corpus with one profile, choosing the corpus-wide threshold with the best total raw score.
pub fn score(series: &[NabSeries], profile: &Profile) -> NabScore {
    let points = points(series, profile);
    // Sweep: detections are the points with the highest scores; each distinct score is a threshold.
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|a, b| points[*b].score.total_cmp(&points[*a].score));
    let mut best: HashMap<(usize, usize), f64> = HashMap::new();
    for p in &points {
        if let Some(w) = p.window {
            best.insert(w, -profile.fn_);
        }
    }
    let mut total: f64 = best.values().sum();
    let (mut best_total, mut best_threshold) = (total, f64::INFINITY);
    let mut k = 0;
    while k < order.len() {
        let threshold = points[order[k]].score;
        while k < order.len() && points[order[k]].score == threshold {
            let p = &points[order[k]];
            match p.window {
                Some(w) => {
                    let b = best.get_mut(&w).expect("every window point has an entry");
                    if p.weighted > *b {
                        total += p.weighted - *b;
                        *b = p.weighted;
                    }
                }
                None => total += p.weighted,
            }
            k += 1;
        }
        if total > best_total {
            (best_total, best_threshold) = (total, threshold);
        }
    }
    let raw = raw_scores(series.len(), &points, best_threshold, profile);
    let normalized = normalize(series, &raw, profile);
    NabScore { profile: *profile, threshold: best_threshold, raw, normalized }
}

/// 100 · (Σ raw − null) / (perfect − null) over `series` (see the module documentation).
pub fn normalize(series: &[NabSeries], raw: &[f64], profile: &Profile) -> f64 {
    let null: f64 = -profile.fn_ * series.iter().map(scorable_windows).sum::<usize>() as f64;
    let perfect = profile.tp * series.iter().map(|x| x.windows.len()).sum::<usize>() as f64;
    if perfect == null {
        return 100.0;
    }
    100.0 * (raw.iter().sum::<f64>() - null) / (perfect - null)
}

/// Windows with at least one point after the probationary period.
fn scorable_windows(x: &NabSeries) -> usize {
    let p = probation(x.scores.len());
    x.windows.iter().filter(|w| w.1 >= p).count()
}

/// One NAB data file with its labels.
#[derive(Debug, Clone, PartialEq)]
pub struct NabFile {
    /// Relative path, e.g. `realKnownCause/nyc_taxi.csv`.
    pub name: String,
    /// Timestamps in seconds since the epoch.
    pub timestamps: Vec<i64>,
    /// Values.
    pub values: Vec<f64>,
    /// Labelled windows as inclusive index ranges.
    pub windows: Vec<(usize, usize)>,
}

fn parse_time(text: &str, context: &str) -> Result<i64> {
    let text = text.trim();
    let parsed = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S"))
        .map_err(|e| Error::invalid(context.to_string(), format!("timestamp '{text}': {e}")))?;
    Ok(parsed.and_utc().timestamp())
}

/// Reads a folder in NAB's layout: `data/<category>/<file>.csv` (columns `timestamp,value`) and
/// `labels/combined_windows.json`. Files are returned sorted by name.
pub fn read_corpus(root: impl AsRef<Path>) -> Result<Vec<NabFile>> {
    let root = root.as_ref();
    let labels_path = root.join("labels").join("combined_windows.json");
    let text = std::fs::read_to_string(&labels_path).map_err(|e| Error::io(labels_path.display(), e))?;
    let labels: HashMap<String, Vec<(String, String)>> = serde_json::from_str(&text)
        .map_err(|e| Error::invalid(labels_path.display().to_string(), format!("not NAB windows JSON: {e}")))?;
    let mut names: Vec<&String> = labels.keys().collect();
    names.sort();
    let mut files = Vec::new();
    for name in names {
        let path = root.join("data").join(name);
        let context = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&context, e))?;
        let (mut timestamps, mut values) = (Vec::new(), Vec::new());
        for (line_no, line) in text.lines().enumerate().skip(1).filter(|(_, l)| !l.trim().is_empty()) {
            let (t, v) = line.split_once(',').ok_or_else(|| {
                Error::invalid(format!("{context}, line {}", line_no + 1), "expected 'timestamp,value'")
            })?;
            timestamps.push(parse_time(t, &format!("{context}, line {}", line_no + 1))?);
            values.push(v.trim().parse::<f64>().map_err(|e| {
                Error::invalid(format!("{context}, line {}", line_no + 1), format!("value '{}': {e}", v.trim()))
            })?);
        }
        let mut windows = Vec::new();
        for (start, end) in &labels[name] {
            let (start, end) = (parse_time(start, &context)?, parse_time(end, &context)?);
            let l = timestamps.partition_point(|t| *t < start);
            let r = timestamps.partition_point(|t| *t <= end);
            if l < r {
                windows.push((l, r - 1));
            }
        }
        files.push(NabFile { name: name.clone(), timestamps, values, windows });
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(scores: Vec<f64>, windows: Vec<(usize, usize)>) -> NabSeries {
        NabSeries { name: "cat/a.csv".into(), scores, windows }
    }

    #[test]
    fn sigmoid_matches_nab_docstring() {
        assert!((scaled_sigmoid(-1.0) - 0.98661).abs() < 1e-5);
        assert!((scaled_sigmoid(-0.5) - 0.84828).abs() < 1e-5);
        assert_eq!(scaled_sigmoid(0.0), 0.0);
        assert!((scaled_sigmoid(1.0) + 0.98661).abs() < 1e-5);
        assert_eq!(scaled_sigmoid(3.0), -1.0);
    }

    #[test]
    fn perfect_null_and_hand_computed_scores() {
        // 100 points, probation 15; one window [50, 59].
        let mut scores = vec![0.0; 100];
        let profile = PROFILES[0];
        // Nothing detected: the null score, normalised 0.
        let s = score(&[series(scores.clone(), vec![(50, 59)])], &profile);
        assert_eq!(s.normalized, 0.0);
        // A detection at the window's first point: A_TP exactly (the sigmoid is divided by σ(−1)).
        scores[50] = 1.0;
        let s = score(&[series(scores.clone(), vec![(50, 59)])], &profile);
        assert!((s.raw[0] - 1.0).abs() < 1e-12 && (s.normalized - 100.0).abs() < 1e-9);
        // Halfway in: σ(−5/10)/σ(−1). A false positive 5 points after the window: σ(5/9)·0.11.
        scores[50] = 0.0;
        scores[55] = 1.0;
        scores[64] = 1.0;
        let s = score(&[series(scores, vec![(50, 59)])], &profile);
        let want = scaled_sigmoid(-0.5) / scaled_sigmoid(-1.0) + scaled_sigmoid(5.0 / 9.0) * 0.11;
        assert!((s.raw[0] - want).abs() < 1e-12, "{} vs {want}", s.raw[0]);
        assert!((s.normalized - 100.0 * (want + 1.0) / 2.0).abs() < 1e-9);
    }
}
