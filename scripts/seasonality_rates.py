"""Planted-seasonality rates of `acs.trend.seasonality` on a demo portfolio, by planted pattern and, for
the Q4 peak, by account size and by what disturbed the account inside the window (docs/trends.md).

    .venv/bin/python scripts/seasonality_rates.py [ACCOUNTS] [SEED] [--own]

Needs the extension built into `.venv` (`maturin develop`) and pandas. `--own` tests each series on its
own residual variance instead of the moderated one.
"""

import sys

import numpy as np
import pandas as pd

import accountscope as acs


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    accounts = int(args[0]) if args else 10_000
    seed = int(args[1]) if len(args) > 1 else 42
    demo = acs.generate_demo(accounts=accounts, seed=seed)
    usage = demo.table("usage")
    found = acs.trend.seasonality(usage, moderate="--own" not in sys.argv).to_pandas()
    truth = demo.table("truth_accounts").to_pandas()
    users = usage.to_pandas().groupby("account_id").active_users.mean().rename("mean_users")
    s = found[found.status == "ok"].merge(truth, on="account_id").merge(users, on="account_id")
    s["detected"] = s.detected.astype(bool)
    yearly = s.period >= 360
    q4 = s.yearly_pattern == "q4_peak"
    s["planted"] = np.where(
        yearly,
        np.where(q4, np.where(s.yearly_realised >= 0.5, "q4_peak", "q4_peak_capped"), s.yearly_pattern),
        np.where(s.weekly_seasonality.astype(bool), "weekly", "no_weekly"),
    )
    print(f"{accounts} accounts, seed {seed}: share detected by planted pattern (series)")
    rates = s.groupby([np.where(yearly, "yearly", "weekly"), "planted"]).detected.agg(["size", "mean"])
    print(rates.round(4).to_string())

    peak = s[yearly & (s.planted == "q4_peak")].copy()
    peak["users"] = pd.cut(peak.mean_users, [0, 2, 4, 8, np.inf], labels=["<=2", "2-4", "4-8", ">8"])
    peak["disturbed"] = np.select(
        [peak.champion_lost_date.notna(), peak.decline_start.notna()], ["champion_loss", "decline"], "none"
    )
    print("\nQ4 peak found, by mean daily active users x disturbance (share, series):")
    table = peak.pivot_table(index="users", columns="disturbed", values="detected", aggfunc=["mean", "size"])
    print(table.round(2).to_string())
    above = peak.mean_users > 4
    print(
        f"\nQ4 peak: {peak.detected.mean():.3f} of {len(peak)}; undisturbed above 4 users "
        f"{peak[above & (peak.disturbed == 'none')].detected.mean():.3f}; "
        f"if every series above 4 users were found {(peak.detected | above).mean():.3f}"
    )


if __name__ == "__main__":
    main()
