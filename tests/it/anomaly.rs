//! Anomaly detection against the demo generator's planted anomalies; streaming against the batch pass;
//! snapshot and restore; the order policy; NAB reading.

use std::sync::OnceLock;

use accountscope::anomaly::evaluate::event_score;
use accountscope::anomaly::nab::{NabSeries, PROFILES, read_corpus, score};
use accountscope::anomaly::{AnomalyConfig, AnomalyResult, StreamConfig, StreamDetector, detect};
use accountscope::{Table, TableKind};
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::{SortColumn, lexsort_to_indices, take_record_batch};
use arrow::datatypes::Date32Type;

use crate::common::large_demo;

/// The batch pass over the first 300 accounts of the large demo (cheap enough for a debug build).
fn usage() -> &'static Table {
    static USAGE: OnceLock<Table> = OnceLock::new();
    USAGE.get_or_init(|| {
        let usage = large_demo().portfolio.get(TableKind::Usage).concat().unwrap();
        let ids = usage.column_by_name("account_id").unwrap().as_string::<i32>();
        let keep = (0..usage.num_rows()).take_while(|&r| ids.value(r) < "ACC-000301").count();
        Table::from_batch(usage.slice(0, keep))
    })
}

fn batch_result() -> &'static AnomalyResult {
    static RESULT: OnceLock<AnomalyResult> = OnceLock::new();
    RESULT.get_or_init(|| detect(usage(), &AnomalyConfig::default()).unwrap())
}

fn truth() -> Table {
    let t = large_demo().truth.anomalies.concat().unwrap();
    let ids = t.column_by_name("account_id").unwrap().as_string::<i32>();
    let keep: Vec<bool> = (0..t.num_rows()).map(|r| ids.value(r) < "ACC-000301").collect();
    Table::from_batch(arrow::compute::filter_record_batch(&t, &keep.into()).unwrap())
}

#[test]
fn planted_anomalies_are_found() {
    let result = batch_result();
    let point_kinds = ["spike", "drop", "missing", "flatline"];
    let s = event_score(&result.incidents, &truth(), "account_id", 1, &point_kinds).unwrap();
    eprintln!(
        "precision {:.3} recall {:.3} ({} labels, {} incidents)",
        s.precision(),
        s.recall(),
        s.labels,
        s.detected
    );
    // Recall is below the issue's goal of 0.9 (docs/anomalies.md says why; precision reaches it on the
    // whole demo): these bounds guard what we reach on this tenth of it (0.895 / 0.770).
    assert!(s.recall() >= 0.75, "recall {}", s.recall());
    assert!(s.precision() >= 0.88, "precision {}", s.precision());
    // Every planted data gap is found: a dead feed is never missed.
    let gaps = Table::from_batch({
        let t = truth().concat().unwrap();
        let kind = t.column_by_name("kind").unwrap().as_string::<i32>();
        let keep: Vec<bool> = (0..t.num_rows()).map(|r| kind.value(r) == "data_gap").collect();
        arrow::compute::filter_record_batch(&t, &keep.into()).unwrap()
    });
    let g = event_score(&result.incidents, &gaps, "account_id", 0, &[]).unwrap();
    assert_eq!(g.found, g.labels);
}

#[test]
fn every_series_is_accounted_for() {
    let result = batch_result();
    let accounts = {
        let u = usage().concat().unwrap();
        let ids = u.column_by_name("account_id").unwrap().as_string::<i32>();
        let mut v: Vec<&str> = (0..u.num_rows()).map(|r| ids.value(r)).collect();
        v.dedup();
        v.len()
    };
    assert_eq!(result.series.num_rows(), accounts * 5);
    let s = result.series.concat().unwrap();
    let status = s.column_by_name("status").unwrap().as_string::<i32>();
    let events: i64 =
        s.column_by_name("events").unwrap().as_primitive::<arrow::datatypes::Int64Type>().iter().flatten().sum();
    assert_eq!(events as usize, result.events.num_rows());
    // Constant series (accounts without the API have api_calls 0 every day) say so, not "ok".
    assert!((0..s.num_rows()).any(|r| status.value(r) == "constant"));
    let inc = result.incidents.concat().unwrap();
    let explanation = inc.column_by_name("explanation").unwrap().as_string::<i32>();
    assert!((0..inc.num_rows()).all(|r| !explanation.value(r).is_empty()));
}

#[test]
fn bad_configuration_names_the_field() {
    let bad = AnomalyConfig { comove_z: -1.0, ..AnomalyConfig::default() };
    assert!(detect(usage(), &bad).unwrap_err().to_string().contains("anomaly.comove_z"));
    let bad = AnomalyConfig { value_columns: vec!["nope".into()], ..AnomalyConfig::default() };
    assert!(detect(usage(), &bad).unwrap_err().to_string().contains("nope"));
    let online = accountscope::anomaly::online::OnlineConfig { rarity: Some(0.0), ..Default::default() };
    let bad = StreamConfig { online, ..StreamConfig::default() };
    assert!(StreamDetector::new(bad).unwrap_err().to_string().contains("anomaly.online.rarity"));
}

/// The usage rows in day order (then account), as a stream would deliver them.
fn by_day() -> RecordBatch {
    let u = usage().concat().unwrap();
    let columns = ["date", "account_id"]
        .map(|c| SortColumn { values: u.column_by_name(c).unwrap().clone(), options: None })
        .to_vec();
    take_record_batch(&u, &lexsort_to_indices(&columns, None).unwrap()).unwrap()
}

fn run(detector: &mut StreamDetector, batch: &RecordBatch, chunk: usize) -> Vec<RecordBatch> {
    (0..batch.num_rows())
        .step_by(chunk)
        .map(|start| {
            detector.process(&batch.slice(start, chunk.min(batch.num_rows() - start))).unwrap().concat().unwrap()
        })
        .collect()
}

/// (account, first day, last day) of the rows of a table with `start` / `end` (or `start_date` /
/// `end_date`) columns.
fn spans(t: &RecordBatch) -> Vec<(String, i32, i32)> {
    let col = |a: &str, b: &str| {
        t.column_by_name(a).or_else(|| t.column_by_name(b)).unwrap().as_primitive::<Date32Type>().clone()
    };
    let (start, end) = (col("start", "start_date"), col("end", "end_date"));
    let ids = t.column_by_name("account_id").unwrap().as_string::<i32>();
    (0..t.num_rows()).map(|r| (ids.value(r).to_string(), start.value(r), end.value(r))).collect()
}

#[test]
fn streaming_finds_the_planted_anomalies_the_batch_finds() {
    let ordered = by_day();
    let mut detector = StreamDetector::new(StreamConfig::default()).unwrap();
    let stream: Vec<RecordBatch> = run(&mut detector, &ordered, 5_000);
    let stream = spans(&arrow::compute::concat_batches(&stream[0].schema(), &stream).unwrap());
    let batch = spans(&batch_result().incidents.concat().unwrap());
    let labels = spans(&truth().concat().unwrap());
    let overlaps = |found: &[(String, i32, i32)], l: &(String, i32, i32)| {
        found.iter().any(|f| f.0 == l.0 && f.1 <= l.2 + 1 && l.1 - 1 <= f.2)
    };
    let by_batch: Vec<_> = labels.iter().filter(|l| overlaps(&batch, l)).collect();
    let by_both = by_batch.iter().filter(|l| overlaps(&stream, l)).count();
    let by_stream = labels.iter().filter(|l| overlaps(&stream, l)).count();
    eprintln!(
        "labels {}: batch finds {}, stream finds {by_stream}, of the batch's {by_both} also by the stream",
        labels.len(),
        by_batch.len()
    );
    assert!(by_both as f64 >= 0.8 * by_batch.len() as f64, "{by_both} of {}", by_batch.len());
    let stats = detector.stats();
    assert_eq!(stats.late, 0);
    assert_eq!(stats.points + stats.nulls, 5 * ordered.num_rows() as u64);
}

/// The default stream and one with every option: calibrated p-values (a histogram per series), records,
/// rarity (frequency tables) and refractory alarms (three queues per series).
fn stream_configs() -> [StreamConfig; 2] {
    let calibrated = StreamConfig {
        online: accountscope::anomaly::online::OnlineConfig {
            calibrate: true,
            records: true,
            rarity: Some(0.01),
            refractory: 7,
            ..accountscope::anomaly::online::OnlineConfig::default()
        },
        ..StreamConfig::default()
    };
    [StreamConfig::default(), calibrated]
}

#[test]
fn snapshot_and_restore_continue_exactly() {
    let ordered = by_day();
    let half = ordered.num_rows() / 2;
    for config in stream_configs() {
        let (records, rarity) = (config.online.records, config.online.rarity.is_some());
        let mut whole = StreamDetector::new(config.clone()).unwrap();
        let all = run(&mut whole, &ordered, 7_000);

        let mut first = StreamDetector::new(config).unwrap();
        let mut events = run(&mut first, &ordered.slice(0, half), 7_000);
        let bytes = first.snapshot().unwrap();
        let mut restored = StreamDetector::restore(&bytes).unwrap();
        assert_eq!(restored.snapshot().unwrap(), bytes, "restore then snapshot gives the same bytes");
        events.extend(run(&mut restored, &ordered.slice(half, ordered.num_rows() - half), 7_000));

        let concat = |v: &[RecordBatch]| arrow::compute::concat_batches(&v[0].schema(), v).unwrap();
        assert_eq!(concat(&all), concat(&events));
        let kinds = concat(&all).column_by_name("kind").unwrap().as_string::<i32>().clone();
        assert_eq!(kinds.iter().any(|k| k == Some("record")), records, "records are reported when asked for");
        assert_eq!(kinds.iter().any(|k| k == Some("rare")), rarity, "so are rare windows");
        assert_eq!(whole.snapshot().unwrap(), restored.snapshot().unwrap());

        // A damaged snapshot is an error, not a wrong detector.
        let mut damaged = bytes.clone();
        let middle = damaged.len() / 2;
        damaged[middle] ^= 1;
        assert!(StreamDetector::restore(&damaged).unwrap_err().to_string().contains("checksum"));
    }
    assert!(StreamDetector::restore(b"nonsense bytes").is_err());
}

#[test]
fn state_is_bounded_and_late_points_are_counted() {
    let ordered = by_day();
    let quarter = ordered.num_rows() / 4;
    for config in stream_configs() {
        let mut detector = StreamDetector::new(config).unwrap();
        run(&mut detector, &ordered.slice(0, 2 * quarter), 10_000);
        let (series, size) = (detector.num_series(), detector.snapshot().unwrap().len());
        run(&mut detector, &ordered.slice(2 * quarter, ordered.num_rows() - 2 * quarter), 10_000);
        // Twice the days, a few more accounts: the state grows with the series, not the points.
        let per_series = |n: usize, bytes: usize| bytes as f64 / n as f64;
        let now = per_series(detector.num_series(), detector.snapshot().unwrap().len());
        assert!(now <= 1.05 * per_series(series, size));

        // Replaying the first quarter: every point is late (at or before its series' last day), no events.
        let before = detector.stats();
        let replay = detector.process(&ordered.slice(0, quarter)).unwrap();
        assert_eq!(replay.num_rows(), 0);
        let after = detector.stats();
        assert_eq!(after.points, before.points);
        assert_eq!(after.late + after.nulls - before.late - before.nulls, 5 * quarter as u64);
    }
}

#[test]
fn nab_corpus_is_read_and_scored() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data/cat")).unwrap();
    std::fs::create_dir_all(dir.path().join("labels")).unwrap();
    let mut csv = String::from("timestamp,value\n");
    for i in 0..100 {
        csv.push_str(&format!(
            "2014-04-01 {:02}:{:02}:00,{}\n",
            i / 12,
            (i % 12) * 5,
            if i == 60 { 50.0 } else { 1.0 }
        ));
    }
    std::fs::write(dir.path().join("data/cat/a.csv"), csv).unwrap();
    std::fs::write(
        dir.path().join("labels/combined_windows.json"),
        r#"{"cat/a.csv": [["2014-04-01 04:50:00.000000", "2014-04-01 05:35:00.000000"]]}"#,
    )
    .unwrap();
    let files = read_corpus(dir.path()).unwrap();
    assert_eq!(files[0].windows, [(58, 67)]);
    let scores: Vec<f64> = files[0].values.iter().map(|v| if *v > 10.0 { 1.0 } else { 0.0 }).collect();
    let s =
        score(&[NabSeries { name: files[0].name.clone(), scores, windows: files[0].windows.clone() }], &PROFILES[0]);
    // Detected at index 60 of the window [58, 67]: σ(−8/10) / σ(−1).
    let want = 100.0
        * (accountscope::anomaly::nab::scaled_sigmoid(-0.8) / accountscope::anomaly::nab::scaled_sigmoid(-1.0) + 1.0)
        / 2.0;
    assert!((s.normalized - want).abs() < 1e-9, "{} vs {want}", s.normalized);
    assert!(read_corpus(dir.path().join("nowhere")).is_err());
}

#[test]
fn segment_anomalies_come_from_the_engine() {
    let engine = accountscope::Engine::new().unwrap();
    engine.register_portfolio(&large_demo().portfolio).unwrap();
    engine.register_anomalies(batch_result()).unwrap();
    let from = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let to = chrono::NaiveDate::from_ymd_opt(2024, 12, 31).unwrap();
    let t = engine.segment_anomalies("Enterprise", from, to).unwrap().concat().unwrap();
    assert!(t.num_rows() > 0);
    let severity = t.column_by_name("severity").unwrap().as_string::<i32>();
    let rank = |s: &str| ["critical", "high", "medium", "low"].iter().position(|x| *x == s).unwrap();
    assert!((1..t.num_rows()).all(|r| rank(severity.value(r - 1)) <= rank(severity.value(r))));
    let count = engine
        .sql("SELECT COUNT(*) AS n FROM anomaly_incidents i JOIN accounts a USING (account_id) WHERE a.segment = 'Enterprise' AND i.start <= DATE '2024-12-31' AND i.\"end\" >= DATE '2024-01-01'")
        .unwrap()
        .concat()
        .unwrap();
    assert_eq!(count.column(0).as_primitive::<arrow::datatypes::Int64Type>().value(0) as usize, t.num_rows());
    // A quote in the segment is a literal, not SQL.
    assert_eq!(engine.segment_anomalies("O'Brien", from, to).unwrap().num_rows(), 0);
}

#[test]
fn peer_outliers_name_the_feature() {
    use accountscope::anomaly::{PeerConfig, RecentConfig, peer_outliers, recent_features};
    let demo = large_demo();
    let config =
        RecentConfig { as_of: chrono::NaiveDate::from_ymd_opt(2024, 6, 30).unwrap(), ..RecentConfig::default() };
    let features = recent_features(usage(), Some(demo.portfolio.get(TableKind::Accounts)), &config).unwrap();
    // Plant one account far from its peers: sessions fifty times the usual.
    let batch = features.concat().unwrap();
    let sessions = batch.column_by_name("sessions_recent").unwrap().as_primitive::<arrow::datatypes::Float64Type>();
    let planted: arrow::array::Float64Array = (0..sessions.len())
        .map(|r| {
            sessions.is_valid(r).then(|| if r == 5 { 50.0 * sessions.value(r) + 500.0 } else { sessions.value(r) })
        })
        .collect();
    let index = batch.schema().index_of("sessions_recent").unwrap();
    let mut columns = batch.columns().to_vec();
    columns[index] = std::sync::Arc::new(planted);
    let batch = RecordBatch::try_new(batch.schema(), columns).unwrap();
    let out = peer_outliers(&Table::from_batch(batch.clone()), &PeerConfig::default()).unwrap().concat().unwrap();
    let feature = out.column_by_name("feature").unwrap().as_string::<i32>();
    let outlier = out.column_by_name("outlier").unwrap().as_boolean();
    assert!(outlier.value(5), "{:?}", out.column_by_name("reason").unwrap().as_string::<i32>().value(5));
    assert_eq!(feature.value(5), "sessions_recent");
    // Same seed, same scores.
    let again = peer_outliers(&Table::from_batch(batch), &PeerConfig::default()).unwrap().concat().unwrap();
    assert_eq!(out, again);
}
