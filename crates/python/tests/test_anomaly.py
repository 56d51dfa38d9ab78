"""Anomaly detection from Python: the batch pass on the demo, the streaming detector's pickle, the
isolation forest against scikit-learn's, NAB scoring against a transcription of NAB's sweeper."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import accountscope as acs


@pytest.fixture(scope="module")
def demo() -> acs.Demo:
    return acs.generate_demo(accounts=60, seed=9)


def test_batch_pass_finds_planted_gaps_and_registers(demo: acs.Demo) -> None:
    usage = demo.table("usage").to_pyarrow()
    result = acs.anomaly.detect(usage)
    incidents = result.incidents.to_pandas()
    assert {"explanation", "severity", "metrics"} <= set(incidents.columns)
    truth = demo.table("truth_anomalies").to_pyarrow()
    gaps = truth.filter(pc.equal(truth["kind"], "data_gap"))
    score = acs.anomaly.event_score(result.incidents, gaps, tolerance_days=0)
    assert score.labels > 0 and score.found == score.labels
    series = result.series.to_pandas()
    assert len(series) == 5 * usage["account_id"].unique().__len__()
    engine = acs.Engine()
    engine.register_demo(demo)
    result.register(engine)
    top = engine.segment_anomalies("SMB", "2023-01-01", "2025-12-31").to_pandas()
    assert len(top) == engine.sql(
        "SELECT COUNT(*) AS n FROM anomaly_incidents i JOIN accounts a USING (account_id) WHERE a.segment = 'SMB'"
    ).to_pandas()["n"][0]
    with pytest.raises(acs.ConfigError, match="anomaly.comove_z"):
        acs.anomaly.detect(usage, comove_z=-1)


def test_stream_pickles_and_continues_exactly(demo: acs.Demo) -> None:
    usage = demo.table("usage").to_pyarrow().sort_by([("date", "ascending"), ("account_id", "ascending")])
    half = usage.num_rows // 2
    whole = acs.anomaly.StreamDetector()
    all_events = pa.concat_tables([whole.process(usage.slice(0, half)).to_pyarrow(), whole.process(usage.slice(half)).to_pyarrow()])
    first = acs.anomaly.StreamDetector()
    events = [first.process(usage.slice(0, half)).to_pyarrow()]
    restored = pickle.loads(pickle.dumps(first))
    events.append(restored.process(usage.slice(half)).to_pyarrow())
    assert pa.concat_tables(events).equals(all_events)
    assert restored.snapshot() == whole.snapshot()
    assert restored.stats["late"] == 0
    # Replaying old points: all late, no events.
    assert restored.process(usage.slice(0, 100)).to_pyarrow().num_rows == 0
    assert restored.stats["late"] > 0
    with pytest.raises(acs.InvalidInputError, match="checksum"):
        acs.anomaly.StreamDetector.from_snapshot(whole.snapshot()[:-1] + b"\x00")


def test_calibrated_stream_events_carry_p_values(demo: acs.Demo) -> None:
    usage = demo.table("usage").to_pyarrow().sort_by([("date", "ascending"), ("account_id", "ascending")])
    plain = acs.anomaly.StreamDetector().process(usage).to_pyarrow()
    calibrated = acs.anomaly.StreamDetector(online={"calibrate": True}).process(usage).to_pyarrow()
    # The same events; only the calibrated detector fills p_value, for spikes and drops.
    assert plain.drop_columns(["p_value"]).equals(calibrated.drop_columns(["p_value"]))
    assert plain["p_value"].null_count == plain.num_rows
    events = calibrated.to_pandas()
    points = events[events["kind"] != "missing"]
    assert len(points) > 0 and points["p_value"].between(0, 1, inclusive="right").all()
    assert events.loc[events["kind"] == "missing", "p_value"].isna().all()


def test_stream_records_and_rare_windows(demo: acs.Demo) -> None:
    usage = demo.table("usage").to_pyarrow().sort_by([("date", "ascending"), ("account_id", "ascending")])
    events = acs.anomaly.StreamDetector(online={"records": True, "rarity": 0.01}).process(usage).to_pandas()
    rare = events[events["kind"] == "rare"]
    assert len(rare) > 0 and (rare["p_value"] <= 0.01).all() and (rare["strength"] > 0).all()
    got = events[events["kind"] == "record"]
    # Brute force: without refractory alarms every value after the 28 warm-up points that lies above the
    # series' highest or below its lowest earlier value is a record.
    frame = usage.to_pandas()
    want = {}
    for metric in got["metric"].unique():
        for account, rows in frame.dropna(subset=[metric]).groupby("account_id"):
            v = rows[metric].to_numpy(dtype=float)
            dates = rows["date"].to_numpy()
            for i in range(28, len(v)):
                low, high = v[:i].min(), v[:i].max()
                if v[i] > high or v[i] < low:
                    extreme = high if v[i] > high else low
                    want[(account, metric, dates[i])] = (extreme, abs(v[i] - extreme) / (high - low))
    assert len(want) > 0
    keys = list(zip(got["account_id"], got["metric"], got["start"]))
    assert set(keys) == set(want)
    assert got["expected"].tolist() == [want[k][0] for k in keys]
    assert got["strength"].to_numpy() == pytest.approx([want[k][1] for k in keys], rel=1e-12)


def test_online_events_of_a_plain_series_equal_the_stream_s(demo: acs.Demo) -> None:
    usage = demo.table("usage").to_pandas()
    account = usage.groupby("account_id").size().idxmax()  # the longest series
    rows = usage[usage["account_id"] == account].sort_values("date")
    online = {"records": True, "rarity": 0.05, "refractory": 7}
    streamed = acs.anomaly.StreamDetector(online=online).process(pa.Table.from_pandas(rows)).to_pandas()
    streamed = streamed[streamed["metric"] == "active_users"].reset_index(drop=True)
    # The same metric as a plain series, one step a day from the first (NaN on days without a row).
    days = pd.date_range(rows["date"].min(), rows["date"].max(), freq="D")
    values = rows.set_index(pd.to_datetime(rows["date"]))["active_users"].astype(float).reindex(days)
    plain = acs.anomaly.online_events(values.to_numpy(), **online).to_pandas()
    assert len(plain) == len(streamed) > 0
    assert set(plain["kind"]) >= {"record", "rare"}
    first = pd.Timestamp(rows["date"].min())
    assert [first + pd.Timedelta(days=int(s)) for s in plain["start"]] == list(pd.to_datetime(streamed["start"]))
    for column in ["kind", "expected", "observed", "strength", "p_value"]:
        assert plain[column].equals(streamed[column]), column
    with pytest.raises(acs.ConfigError, match="anomaly.online.rarity"):
        acs.anomaly.online_events(values.to_numpy(), rarity=2.0)


def test_isolation_forest_agrees_with_scikit_learn() -> None:
    sklearn = pytest.importorskip("sklearn.ensemble")
    rng = np.random.default_rng(3)
    x = np.vstack([rng.normal(0, 1, size=(300, 3)), rng.normal(6, 0.5, size=(6, 3))])
    table = pa.table({"account_id": [f"A{i}" for i in range(len(x))], "f0": x[:, 0], "f1": x[:, 1], "f2": x[:, 2]})
    ours = acs.anomaly.peer_outliers(table, group_columns=[], robust_threshold=100.0).to_pandas()["isolation_score"].to_numpy()
    forest = sklearn.IsolationForest(n_estimators=300, max_samples=256, random_state=0).fit(x)
    theirs = -forest.score_samples(x)  # scikit-learn returns minus the paper's score
    rank = lambda v: np.argsort(np.argsort(v))
    spearman = np.corrcoef(rank(ours), rank(theirs))[0, 1]
    assert spearman > 0.9, spearman
    assert set(np.argsort(ours)[-6:]) == set(range(300, 306))
    # Same formula, same scale: the planted cluster scores alike in both.
    assert abs(ours[300:].mean() - theirs[300:].mean()) < 0.08


def _nab_sweep_reference(series: list[tuple[list[float], list[tuple[int, int]]]], weights: tuple[float, float, float]) -> float:
    """NAB v1.1's Sweeper (calcSweepScore + calcScoreByThreshold + optimiser) transcribed from its
    documented rules, on index windows; returns the best total raw score."""
    tp_w, fp_w, fn_w = weights

    def sig(y: float) -> float:
        return -1.0 if y >= 3.0 else 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0

    rows = []
    for s, (scores, windows) in enumerate(series):
        n = len(scores)
        probation = min(math.floor(0.15 * n), 0.15 * 5000)
        prev = None
        for i, score in enumerate(scores):
            win = next((w for w, (l, r) in enumerate(windows) if l <= i <= r), None)
            if win is not None:
                l, r = windows[win]
                weighted = sig(-(r - i + 1) / (r - l + 1)) * tp_w / sig(-1.0)
            elif prev is None:
                weighted = sig(3.0) * fp_w
            else:
                l, r = prev
                weighted = sig(abs(r - i) / (r - l + 1 - 1)) * fp_w
            if win is not None and i == windows[win][1]:
                prev = windows[win]
            if i >= probation:
                rows.append((score, weighted, None if win is None else (s, win)))
    rows.sort(key=lambda r: -r[0])
    parts = {"fp": 0.0}
    for r in rows:
        if r[2] is not None:
            parts[r[2]] = -fn_w
    best, threshold = sum(parts.values()), 1.1
    for score, weighted, win in rows:
        if score != threshold:
            best = max(best, sum(parts.values()))
            threshold = score
        if win is None:
            parts["fp"] += weighted
        else:
            parts[win] = max(parts[win], weighted)
    return max(best, sum(parts.values()))


def test_nab_scoring_matches_the_sweeper() -> None:
    rng = np.random.default_rng(11)
    series = []
    for k in range(4):
        n = 400 + 50 * k
        scores = np.round(rng.random(n) ** 8, 2).tolist()
        windows = [(120 + 30 * k, 160 + 30 * k), (300, 330)]
        series.append((f"cat/s{k}.csv", scores, windows))
    for profile, weights in [("standard", (1.0, 0.11, 1.0)), ("reward_low_FP_rate", (1.0, 0.22, 1.0)), ("reward_low_FN_rate", (1.0, 0.11, 2.0))]:
        threshold, raw, normalized = acs.anomaly.nab_score(series, profile)
        want = _nab_sweep_reference([(s, w) for _, s, w in series], weights)
        assert abs(sum(raw) - want) < 1e-9, (profile, sum(raw), want)
        null, perfect = -weights[2] * 8, weights[0] * 8
        assert abs(normalized - 100 * (want - null) / (perfect - null)) < 1e-9
