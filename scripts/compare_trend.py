"""B5 and B6 of the benchmark plan, accountscope against statsmodels on the same data in the same run.

B5: 1,000 synthetic daily series x 1,095 points (seeded numpy), STL with period 7 and statsmodels'
defaults: statsmodels' `STL(y, period=7).fit()` in a loop against the release runner `trend_bench --stl`
(one thread, and all threads); the first series' components must agree to 1e-6.

B6: the full trend pass over the demo portfolio (10,000 accounts x 3 years x 5 metrics by default):
`trend_bench --demo` times accountscope's `trend::analyze` (MSTL 7 + 365, stable-seasonality tests, weekly
Mann-Kendall / Sen / OLS, PELT) end to end. The peer is the pipeline the benchmark plan names, statsmodels
STL + Mann-Kendall (pymannkendall) + a robust z-score, looped in Python over series of the same portfolio;
it runs on `--peer-series` of them (it would take about an hour on all 50,000) and its per-series time is
scaled to the whole portfolio, which the output says.

Writes target/bench-results/trend.json. Run it through scripts/compare_trend.sh.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(ROOT, "target", "release", "examples", "trend_bench")


def b5_data(path, series, points, seed=5):
    rng = np.random.default_rng(seed)
    t = np.arange(points, dtype=float)
    ys = []
    for _ in range(series):
        level, slope, amp = rng.uniform(10, 100), rng.normal(0, 0.02), rng.uniform(1, 10)
        y = level + slope * t + amp * np.sin(2 * np.pi * t / 7 + rng.uniform(0, 7)) + rng.normal(0, amp / 3, points)
        ys.append(y)
    ids = np.repeat(np.arange(series, dtype=np.int64), points)
    pq.write_table(pa.table({"series": ids, "y": np.concatenate(ys)}), path)
    return ys


def run(args):
    out = subprocess.run([RUNNER, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--points", type=int, default=1095)
    ap.add_argument("--accounts", type=int, default=10000)
    ap.add_argument("--peer-series", type=int, default=300)
    args = ap.parse_args()
    from statsmodels.tsa.seasonal import STL
    import pymannkendall as mk
    import pandas as pd

    os.makedirs(os.path.join(ROOT, "target", "bench-data"), exist_ok=True)
    data = os.path.join(ROOT, "target", "bench-data", f"b5_{args.series}x{args.points}.parquet")
    ys = b5_data(data, args.series, args.points)

    start = time.perf_counter()
    first = None
    for y in ys:
        r = STL(y, period=7).fit()
        first = first if first is not None else r
    statsmodels_b5 = time.perf_counter() - start
    ours = run(["--stl", data, "--sample", "1", "--repeats", "7"])
    s = ours["sample"][0]
    diff = max(
        float(np.max(np.abs(np.asarray(s[k]) - np.asarray(getattr(first, k))))) for k in ("trend", "seasonal", "resid")
    )
    b5 = {
        "series": args.series,
        "points": args.points,
        "statsmodels_seconds": statsmodels_b5,
        "ours_seconds_one_thread": ours["seconds_one_thread"],
        "ours_seconds_all_threads": ours["seconds_all_threads"],
        "threads": ours["threads"],
        "ratio_one_thread": statsmodels_b5 / ours["seconds_one_thread"],
        "ratio_all_threads": statsmodels_b5 / ours["seconds_all_threads"],
        "max_abs_difference_first_series": diff,
    }
    print(json.dumps(b5, indent=1), flush=True)
    assert diff <= 1e-6, diff

    ours_b6 = run(["--demo", str(args.accounts), "--repeats", "3"])
    # The peer on a sample of the same portfolio's usage series (the Python generator of the portfolio is ours).
    sys.path.insert(0, os.path.join(ROOT, "crates", "python", "python"))
    try:
        import accountscope as acs

        usage = acs.generate_demo(accounts=min(args.accounts, 400), seed=42).table("usage").to_pandas()
    except ImportError:
        usage = None
    peer = None
    if usage is not None:
        metrics = ["active_users", "logins", "sessions", "feature_events", "api_calls"]
        groups = [g for _, g in usage.groupby("account_id")]
        done, start = 0, time.perf_counter()
        for g in groups:
            s = g.set_index(pd.to_datetime(g["date"]))[metrics].asfreq("D").interpolate()
            if len(s) < 14:
                continue
            for m in metrics:
                r = STL(s[m].to_numpy(float), period=7).fit()
                weekly = pd.Series(r.trend, index=s.index).resample("W").mean()
                mk.original_test(weekly.to_numpy())
                resid = r.resid
                med = np.median(resid)
                _ = np.abs(resid - med) / (1.4826 * np.median(np.abs(resid - med)) + 1e-12) > 3.5
                done += 1
            if done >= args.peer_series:
                break
        per_series = (time.perf_counter() - start) / done
        peer = {
            "series_timed": done,
            "seconds_per_series": per_series,
            "seconds_scaled_to_portfolio": per_series * ours_b6["series"],
        }
    b6 = {"ours": ours_b6, "peer_statsmodels_pymannkendall": peer}
    if peer:
        b6["ratio"] = peer["seconds_scaled_to_portfolio"] / ours_b6["seconds"]
    print(json.dumps(b6, indent=1), flush=True)
    os.makedirs(os.path.join(ROOT, "target", "bench-results"), exist_ok=True)
    with open(os.path.join(ROOT, "target", "bench-results", "trend.json"), "w") as f:
        json.dump({"b5": b5, "b6": b6}, f, indent=1)


if __name__ == "__main__":
    main()
