"""The whole accountscope pipeline from Python on the demo portfolio: generate, query with SQL, validate a
dirty export, score health, find anomalies, train churn and expansion models on what was known at a date,
score today's accounts, and write the executive and one CSM report in JSON, HTML, Excel and PDF.

    python examples/python/quickstart.py [accounts] [output folder]

(defaults: 2,000 accounts, ``out/python``). Needs the extension built into the environment
(``maturin develop -m crates/python/Cargo.toml``); pandas is used for display only.
"""

from __future__ import annotations

import datetime as dt
import sys
import time

import accountscope as acs
from accountscope import anomaly, health, predict, report, validate

TODAY = dt.date(2026, 1, 1)


def main(accounts: int, out: str) -> None:
    t = time.perf_counter()
    demo = acs.generate_demo(accounts=accounts, seed=42)
    engine = acs.Engine()
    engine.register_demo(demo)
    print(f"generated and registered {accounts} accounts in {time.perf_counter() - t:.2f} s")
    print(engine.sql("SELECT segment, COUNT(*) AS accounts, ROUND(SUM(arr)) AS arr FROM accounts GROUP BY segment ORDER BY segment").to_pandas())

    tables, _manifest = demo.dirty()
    run = validate.validate(dict(tables), validate.dirty_rules())
    print("\n" + run.scorecard())

    scores = health.history(engine, "2025-01-06", "2025-12-31", step_days=7)
    engine.register("health", scores.history)
    latest = scores.history.to_pandas().query("date == date.max()")
    print("\nhealth bands today:\n", latest.groupby("band").size().to_string())

    found = anomaly.detect(demo.table("usage"))
    found.register(engine)
    print(f"\n{found.incidents.num_rows} anomaly incidents; the strongest:")
    print(found.incidents.to_pandas().sort_values("strength", ascending=False).head(5)[["account_id", "kind", "metric", "severity"]])

    features = predict.build_features(demo, predict.monthly(dt.date(2023, 4, 1), dt.date(2025, 6, 1)))
    known = predict.known_at(features, dt.date(2025, 7, 1))
    churn = predict.churn_model(known, horizons=[30, 90])
    expansion = predict.expansion_model(known, horizons=[90])
    current = predict.build_features(demo, [TODAY])
    risk = churn.predict(current)
    engine.register("churn_risk", risk)
    engine.register("expansion_forecast", expansion.predict(current))
    riskiest = risk.to_pandas().sort_values("churn_probability_90d", ascending=False).head(5)
    print("\nriskiest accounts:\n", riskiest[["account_id", "churn_probability_90d", "reason_1", "action_1"]].to_string(index=False))

    executive = report.build(engine, "executive", as_of=TODAY)
    paths = executive.write(out, "executive")
    account = riskiest["account_id"].iloc[0]
    paths += report.build(engine, "csm", as_of=TODAY, account_id=account, role="csm").write(out, f"account-{account}")
    print("\nreports:")
    for p in paths:
        print(" ", p)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000, sys.argv[2] if len(sys.argv) > 2 else "out/python")
