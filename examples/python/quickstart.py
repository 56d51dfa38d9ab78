"""Quickstart in Python, the whole pipeline on the demo portfolio: generate, query with SQL and hand
results to pandas / polars, read Parquet back, validate a dirty export, score health, find anomalies, train
churn and expansion models on what was known at a date, score today's accounts, and write the executive and
one CSM report in JSON, HTML, Excel and PDF.

    python examples/python/quickstart.py [accounts] [output folder]

(defaults: 2,000 accounts, ``out/python``). Needs the extension built into the environment
(``maturin develop -m crates/python/Cargo.toml``). Grows with the library: each module adds its step.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time

import accountscope as acs
from accountscope import anomaly, health, predict, report, validate

TODAY = dt.date(2026, 1, 1)


def main(accounts: int, out: str) -> None:
    t = time.perf_counter()
    demo = acs.generate_demo(accounts=accounts, seed=42)
    print(f"generated {accounts} accounts in {time.perf_counter() - t:.2f}s")

    engine = acs.Engine()
    engine.register_demo(demo, truth=True)
    for name in engine.tables():
        print(f"  {name:<20} {engine.table(name).num_rows:>10} rows")

    print("\nportfolio by segment:")
    print(engine.portfolio_summary().to_pandas().to_string(index=False))

    churn_causes = engine.sql(
        """SELECT t.churn_cause, COUNT(*) AS accounts, ROUND(AVG(a.seats_purchased), 1) AS mean_seats
           FROM truth_accounts t JOIN accounts a USING (account_id)
           WHERE t.churned GROUP BY t.churn_cause ORDER BY accounts DESC"""
    )
    print("\nchurn by hidden cause (ground truth):")
    print(churn_causes.to_polars())

    with tempfile.TemporaryDirectory() as tmp:
        paths = demo.write(tmp, "parquet")
        usage = acs.read(paths[1], table="usage")
        print(f"\nread back {usage.num_rows} usage rows from Parquet")

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
