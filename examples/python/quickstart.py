"""Quickstart in Python: generate the demo portfolio, query it with SQL, hand results to pandas/polars.

    python examples/python/quickstart.py [accounts]

Grows with the library: each analytics module adds its step here as it lands.
"""

from __future__ import annotations

import sys
import tempfile
import time

import accountscope as acs


def main(accounts: int = 2000) -> None:
    t = time.perf_counter()
    demo = acs.generate_demo(accounts=accounts, seed=42)
    print(f"generated {accounts} accounts in {time.perf_counter() - t:.2f}s")

    engine = acs.Engine()
    engine.register_demo(demo, truth=True)
    for name in engine.tables():
        print(f"  {name:<20} {engine.table(name).num_rows:>10} rows")

    print("\nportfolio by segment:")
    print(engine.portfolio_summary().to_pandas().to_string(index=False))

    churn = engine.sql(
        """SELECT t.churn_cause, COUNT(*) AS accounts, ROUND(AVG(a.seats_purchased), 1) AS mean_seats
           FROM truth_accounts t JOIN accounts a USING (account_id)
           WHERE t.churned GROUP BY t.churn_cause ORDER BY accounts DESC"""
    )
    print("\nchurn by hidden cause (ground truth):")
    print(churn.to_polars())

    with tempfile.TemporaryDirectory() as out:
        paths = demo.write(out, "parquet")
        usage = acs.read(paths[1], table="usage")
        print(f"\nread back {usage.num_rows} usage rows from Parquet")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
