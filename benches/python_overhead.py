"""Python overhead: the same calls on the same data through the Python binding and in Rust, in one run.

Batch calls: the churn model's risk table (probabilities, reasons, actions) over every snapshot of the demo
portfolio's feature table, and a GBDT booster's probabilities over a float64 matrix. Single row: one
account's churn probability from a dict (``ChurnModel.predict_one``) against the Rust
``ChurnModel::probability_row`` on the encoded row. The script trains and saves both models, writes the
data to Parquet, runs ``cargo run --release --example score_bench`` on the folder, times the same calls
from Python, and prints the ratios (Rust and Python are each timed twice, alternating; the better median
of each side is kept). Goals (issue 9): batch within 5% of Rust, one row from Python <= 20 us.

Build the extension in release first (a dev build measures unoptimised code):

    maturin develop --release -m crates/python/Cargo.toml
    python benches/python_overhead.py [--accounts 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import pathlib
import statistics
import subprocess
import tempfile
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import accountscope as acs
from accountscope import predict

ROOT = pathlib.Path(__file__).resolve().parents[1]


def median_time(runs: int, call) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def prepare(folder: pathlib.Path, accounts: int) -> None:
    demo = acs.generate_demo(accounts=accounts, seed=42)
    features = predict.build_features(demo, predict.monthly(dt.date(2023, 4, 1), dt.date(2025, 6, 1)))
    churn = predict.churn_model(predict.known_at(features, dt.date(2025, 7, 1)), horizons=[30, 90], progress=False)
    (folder / "churn.json").write_text(churn.to_json())
    pq.write_table(pa.table(features), folder / "features.parquet")

    rng = np.random.default_rng(7)
    x = rng.normal(size=(500_000, 20))
    y = (x[:, 0] - 0.7 * x[:, 3] + 0.4 * x[:, 5] * x[:, 6] + rng.normal(size=len(x)) > 0).astype(float)
    model = acs.GBDTClassifier(num_iterations=200, num_leaves=31).fit(x, y, progress=False)
    model.booster_.save(str(folder / "booster.bin"))
    pq.write_table(pa.table({f"f{j}": x[:, j] for j in range(x.shape[1])}), folder / "matrix.parquet")


def rust(folder: pathlib.Path, runs: int) -> dict[str, float]:
    command = ["cargo", "run", "--release", "--quiet", "--example", "score_bench", "--", "--dir", str(folder)]
    out = subprocess.run(command + ["--runs", str(runs)], cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def python(folder: pathlib.Path, runs: int) -> dict[str, float]:
    churn = predict.ChurnModel.from_json((folder / "churn.json").read_text())
    features = pq.read_table(folder / "features.parquet")
    booster = acs.Booster.load(str(folder / "booster.bin"))
    x = np.ascontiguousarray(pq.read_table(folder / "matrix.parquet").to_pandas().to_numpy(dtype=np.float64))
    row = features.slice(0, 1).to_pylist()[0]
    calls = 100_000
    start = time.perf_counter()
    for _ in range(calls):
        churn.predict_one(row)
    one_row = (time.perf_counter() - start) / calls
    return {
        "churn_predict_s": median_time(runs, lambda: churn.predict(features)),
        "booster_predict_s": median_time(runs, lambda: booster.predict(x, raw=False)),
        "predict_row_s": one_row,
        "rows": features.num_rows,
        "matrix_rows": x.shape[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = pathlib.Path(tmp)
        prepare(folder, args.accounts)
        rounds = [(rust(folder, args.runs), python(folder, args.runs)) for _ in range(2)]
    best = lambda side, key: min(r[side][key] for r in rounds)  # noqa: E731
    r, p = rounds[0]
    print(f"churn risk table: {r['rows']} rows; booster: {r['matrix_rows']} rows x 20 features, 200 trees")
    print(f"{'call':<28}{'Rust':>12}{'Python':>12}{'Python / Rust':>16}")
    for key, label in (("churn_predict_s", "churn.predict (batch)"), ("booster_predict_s", "booster.predict (batch)")):
        rs, ps = best(0, key), best(1, key)
        print(f"{label:<28}{rs * 1e3:>10.1f}ms{ps * 1e3:>10.1f}ms{ps / rs:>16.3f}")
    rs, ps = best(0, "predict_row_s"), best(1, "predict_row_s")
    print(f"{'churn one row':<28}{rs * 1e6:>10.2f}us{ps * 1e6:>10.2f}us{ps / rs:>16.2f}")


if __name__ == "__main__":
    main()
