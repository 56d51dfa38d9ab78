"""Trend analysis from Python: STL / MSTL against the committed statsmodels references, seasonality tables."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import polars as pl
import pytest

import accountscope as acs
from accountscope.trend import mstl, seasonality, seasonality_summary, stl

REFERENCE = pathlib.Path(__file__).resolve().parents[3] / "tests" / "reference" / "stl.json"


def test_stl_and_mstl_equal_the_statsmodels_references() -> None:
    cases = json.loads(REFERENCE.read_text())["cases"]
    for case in cases:
        params = dict(case["params"])
        if case["kind"] == "stl":
            period = params.pop("period")
            d = stl(case["y"], period, **params)
            np.testing.assert_allclose(d.seasonal, case["seasonal"], atol=1e-9, err_msg=case["name"])
        else:
            d = mstl(case["y"], case["params"]["periods"], case["params"]["windows"] or None, **params["stl"])
            np.testing.assert_allclose(d.seasonal, np.asarray(case["seasonals"]).T, atol=1e-9, err_msg=case["name"])
        np.testing.assert_allclose(d.trend, case["trend"], atol=1e-9, err_msg=case["name"])
        np.testing.assert_allclose(d.resid, case["resid"], atol=1e-9, err_msg=case["name"])
        np.testing.assert_allclose(d.weights, case["weights"], atol=1e-9, err_msg=case["name"])


def test_stl_errors_name_the_field() -> None:
    with pytest.raises(acs.ConfigError, match="stl.seasonal"):
        stl(np.arange(30.0), 7, seasonal=4)
    with pytest.raises(acs.InvalidInputError, match="position 3"):
        stl([1.0, 2.0, 3.0, float("nan")] + [1.0] * 20, 7)


def test_seasonality_table_and_summary_from_polars() -> None:
    demo = acs.generate_demo(accounts=30, seed=5)
    usage = demo.table("usage").to_polars()
    found = seasonality(usage, periods=[7]).to_polars()
    assert set(found["status"].unique()) <= {"ok", "too_short", "constant", "invalid", "duplicate_times"}
    assert found.height == usage["account_id"].n_unique()
    summary = seasonality_summary(found, demo.table("accounts"), ["industry"]).to_polars()
    assert summary["summary"].str.contains("weekly strength").all()
    with pytest.raises(acs.ConfigError, match="seasonality.min_cycles"):
        seasonality(usage, min_cycles=1)


def _co2() -> np.ndarray:
    path = REFERENCE.parent / "co2_weekly.csv"
    values = np.genfromtxt(path, delimiter=",", skip_header=1, usecols=1, missing_values="", filling_values=np.nan)
    gaps = np.isnan(values)
    idx = np.arange(values.size)
    values[gaps] = np.interp(idx[gaps], idx[~gaps], values[~gaps])
    return values


@pytest.mark.parametrize("robust", [False, True])
def test_stl_equals_statsmodels_on_co2(robust: bool) -> None:
    """The done-means check of issue 4: CO2 weekly, period 52, gaps interpolated linearly, to 1e-6."""
    sm = pytest.importorskip("statsmodels.tsa.seasonal")
    y = _co2()
    assert y.size == 2284 and not np.isnan(y).any()
    theirs = sm.STL(y, period=52, robust=robust).fit()
    ours = stl(y, 52, robust=robust)
    for name in ("trend", "seasonal", "resid", "weights"):
        diff = np.max(np.abs(getattr(ours, name) - np.asarray(getattr(theirs, name))))
        assert diff <= 1e-6, f"{name}: max |ours - statsmodels| = {diff}"


def test_full_pass_returns_three_tables() -> None:
    usage = acs.generate_demo(accounts=12, seed=9).table("usage")
    out = acs.trend.analyze(usage, seasonality={"value_columns": ["active_users", "logins"], "periods": [7]})
    trends = out.trends.to_pandas()
    assert set(trends["metric"]) == {"active_users", "logins"}
    assert len(trends) == 2 * trends["account_id"].nunique()
    assert {"date", "before_mean", "after_mean", "change"} <= set(out.change_points.to_pandas().columns)
    assert (out.seasonality.to_pandas()["period"] == 7).all()
    with pytest.raises(acs.ConfigError, match="pelt.min_size"):
        acs.trend.analyze(usage, pelt={"min_size": 0})


def test_correlations_lead_lag_and_churn_indicators() -> None:
    demo = acs.generate_demo(accounts=60, seed=4)
    usage = demo.table("usage").to_pyarrow()
    corr = acs.trend.correlations(usage, per_series=False).to_pandas()
    assert set(corr["scope"]) == {"pooled"} and len(corr) == 20
    row = corr[(corr.method == "pearson") & (corr.metric_a == "active_users") & (corr.metric_b == "logins")]
    expected = usage.to_pandas()[["active_users", "logins"]].corr().iloc[0, 1]
    assert abs(float(row["r"].iloc[0]) - expected) < 1e-12
    ll = acs.trend.lead_lag(usage, max_lag=4)
    assert len(ll.leaders.to_pandas()) == 4 and len(ll.by_lag.to_pandas()) == 4 * 5
    ind = acs.trend.churn_indicators(usage, demo.table("churn_labels"), leads_days=[30]).to_pandas()
    assert list(ind["rank"]) == list(range(1, 6))
    with pytest.raises(acs.ConfigError, match="min_coverage"):
        acs.trend.churn_indicators(usage, demo.table("churn_labels"), min_coverage=0)


@pytest.mark.parametrize("frequency, rule", [("week", "W-MON"), ("month", "MS"), ("quarter", "QS")])
def test_resample_changes_and_rolling_equal_pandas(frequency: str, rule: str) -> None:
    import pandas as pd

    usage = acs.generate_demo(accounts=15, seed=8).table("usage").to_pandas()
    usage = usage.iloc[::3]  # gaps: some weeks lose rows, none may be empty
    ours = acs.trend.resample(
        usage, frequency=frequency, aggregation="mean", value_columns=["logins"], changes=[1], rolling=[3]
    ).to_pandas()
    for account, rows in usage.groupby("account_id"):
        s = rows.set_index(pd.to_datetime(rows["date"]))["logins"].astype(float)
        theirs = s.resample(rule, label="left", closed="left").mean()
        mine = ours[ours.account_id == account].set_index(pd.to_datetime(ours[ours.account_id == account].period_start))
        assert list(mine.index) == list(theirs.index), account
        np.testing.assert_allclose(mine["logins"], theirs, rtol=1e-12)
        # From a zero, pandas gives inf (or NaN for 0 -> 0); we give null, as documented.
        pct = theirs.pct_change(1, fill_method=None).replace([np.inf, -np.inf], np.nan)
        pct[theirs.shift(1) == 0] = np.nan
        np.testing.assert_allclose(mine["logins_pct_change_1"], pct, rtol=1e-12)
        np.testing.assert_allclose(mine["logins_rolling_mean_3"], theirs.rolling(3).mean(), rtol=1e-12)
