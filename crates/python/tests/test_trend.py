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
