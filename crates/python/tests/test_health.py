"""Health scorecards from Python: the default scorecards on the demo, explanations that add up."""

from __future__ import annotations

import pytest

import accountscope as acs


def test_history_band_changes_and_explain() -> None:
    demo = acs.generate_demo(accounts=40, seed=6)
    engine = acs.Engine()
    engine.register_demo(demo)
    out = acs.health.history(engine, "2025-01-01", "2025-03-31", step_days=7)
    h = out.history.to_pandas()
    assert h["score"].between(0, 100).all()
    assert set(h["band"].dropna()) <= {"red", "yellow", "green"}
    assert {"group_adoption", "seat_utilisation", "seat_utilisation_score"} <= set(h.columns)
    account = h["account_id"].iloc[0]
    row = h[(h.account_id == account)].iloc[-1]
    e = acs.health.explain(engine, account, row["date"], compare_to="2025-01-01").to_pandas()
    assert abs(e["contribution"].sum() - row["score"]) < 1e-9
    assert "change" in e.columns
    assert "seat_utilisation" in acs.health.default_scorecards()


def test_bad_config_is_a_config_error() -> None:
    engine = acs.Engine()
    with pytest.raises(acs.ConfigError, match="default scorecard"):
        acs.health.history(engine, "2025-01-01", "2025-01-31", config={"scorecards": []})


def test_scorer_trend_and_segment_queries() -> None:
    demo = acs.generate_demo(accounts=30, seed=2)
    engine = acs.Engine()
    engine.register_demo(demo)
    s = acs.health.scorer(engine)
    h, _ = s.history("2025-06-01", "2025-06-30")
    account = h.to_pandas()["account_id"].iloc[0]
    one = s.account_trend(account, "2025-06-01", "2025-06-30").to_pandas()
    mine = h.to_pandas()
    assert list(one["score"]) == list(mine[mine.account_id == account]["score"])
    assert len(engine.segment_usage("SMB", "2025-01-01", "2025-03-31", frequency="month").to_pandas()) == 3
    agg = engine.segment_aggregates("2025-01-01", "2025-12-31").to_pandas()
    assert agg["accounts"].sum() == 30
    with pytest.raises(acs.ConfigError, match="frequency"):
        engine.segment_usage("SMB", "2025-01-01", "2025-03-31", frequency="fortnight")
