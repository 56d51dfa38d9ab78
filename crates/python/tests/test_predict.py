"""Features and predictions from Python: the churn model on the demo (trained on what was known at a date,
evaluated after it), pickling, the evaluation report against scikit-learn, drift against scipy."""

from __future__ import annotations

import datetime as dt
import pickle

import numpy as np
import pytest

import accountscope as acs
from accountscope import predict


@pytest.fixture(scope="module")
def demo():
    return acs.generate_demo(accounts=400, seed=5)


@pytest.fixture(scope="module")
def features(demo):
    return predict.build_features(demo, predict.monthly(dt.date(2023, 4, 1), dt.date(2025, 12, 1)))


def test_features_have_versioned_schema_and_labels(features):
    table = features.to_pyarrow()
    assert table.schema.metadata[b"accountscope.feature_set"] == b"accountscope.features/1"
    for name in ("active_users_change_30", "days_to_renewal", "churn_90d", "expansion_mrr_365d"):
        assert name in table.column_names
    assert table.column("segment").type == "string"


def test_churn_model_trains_scores_and_pickles(features):
    cut = dt.date(2025, 1, 1)
    model = predict.churn_model(predict.known_at(features, cut), horizons=[30, 90])
    later = predict.snapshots_between(features, cut, dt.date(2026, 1, 1))
    report = {h["horizon"]: h["evaluation"] for h in model.evaluate(later)}
    assert report[30]["roc_auc"] > 0.85, report[30]["roc_auc"]
    risk = model.predict(later).to_pandas()
    assert (risk["churn_probability_30d"] <= risk["churn_probability_90d"]).all()
    assert risk.loc[risk["at_risk"], "reason_1"].notna().all()
    again = pickle.loads(pickle.dumps(model))
    assert again.to_json() == model.to_json()
    # One account from a dict gives the batch table's probabilities, bit for bit, at every horizon.
    rows = later.to_pyarrow().slice(0, 25).to_pylist()
    for row, (_, expected) in zip(rows, risk.head(25).iterrows()):
        for h in (30, 90):
            assert model.predict_one(row, horizon=h) == expected[f"churn_probability_{h}d"]
    with pytest.raises(acs.InvalidInputError, match="horizons"):
        model.predict_one(rows[0], horizon=7)
    with pytest.raises(acs.InvalidInputError, match="no value for feature 'segment'"):
        model.predict_one({k: v for k, v in rows[0].items() if k != "segment"})
    with pytest.raises(acs.SchemaError, match="feature 'segment'"):
        model.predict_one({**rows[0], "segment": 3.0})
    # A table of another feature-set version is refused.
    import pyarrow as pa

    table = later.to_pyarrow()
    other = table.replace_schema_metadata({b"accountscope.feature_set": b"accountscope.features/0"})
    with pytest.raises(acs.SchemaError, match="features/0"):
        model.predict(other)


def test_evaluation_matches_scikit_learn():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    calibration = pytest.importorskip("sklearn.calibration")
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 500).astype(float)
    p = np.clip(0.3 * y + 0.7 * rng.random(500), 0, 1)
    r = predict.evaluate(y, p, 0.5)
    assert r["roc_auc"] == pytest.approx(sklearn_metrics.roc_auc_score(y, p), abs=1e-12)
    assert r["pr_auc"] == pytest.approx(sklearn_metrics.average_precision_score(y, p), abs=1e-12)
    assert r["brier"] == pytest.approx(sklearn_metrics.brier_score_loss(y, p), abs=1e-12)
    prob_true, prob_pred = calibration.calibration_curve(y, p, n_bins=10)
    assert [b["observed"] for b in r["calibration"]] == pytest.approx(list(prob_true), abs=1e-12)
    assert [b["mean_predicted"] for b in r["calibration"]] == pytest.approx(list(prob_pred), abs=1e-12)


def test_drift_ks_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    import pyarrow as pa

    rng = np.random.default_rng(4)
    a, b = rng.normal(0, 1, 3000), rng.normal(0.1, 1.1, 2000)
    out = predict.drift(pa.table({"x": a}), pa.table({"x": b}), ["x"])[0]
    ref = stats.ks_2samp(a, b, method="asymp")
    assert out["ks_statistic"] == pytest.approx(ref.statistic, abs=1e-12)
    # The p-value is the Kolmogorov limit at sqrt(n m / (n + m)) D (R's ks.test for large samples); scipy's
    # "asymp" uses the finite-n distribution kstwo at round(n m / (n + m)) instead, a few % apart here.
    en = len(a) * len(b) / (len(a) + len(b))
    assert out["ks_p_value"] == pytest.approx(stats.kstwobign.sf(np.sqrt(en) * ref.statistic), rel=1e-9)
    assert out["ks_p_value"] == pytest.approx(ref.pvalue, rel=0.1)
    assert out["psi"] > 0.0


def test_delong_prefers_the_better_model():
    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 600).astype(float)
    weak, strong = 0.2 * y + rng.random(600), 1.0 * y + rng.random(600)
    r = predict.delong_test(y, weak, strong)
    assert r["challenger_better"] and r["p_value"] < 1e-6
