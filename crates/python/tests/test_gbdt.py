"""The GBDT estimators: scikit-learn compatibility, Arrow and numpy inputs, SHAP, persistence and errors."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import accountscope as acs


def data(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, 4))
    x[rng.random(n) < 0.1, 2] = np.nan
    logit = 4 * (x[:, 0] - 0.5) + np.where(x[:, 1] > 0.3, 1.5, -1.5) + np.nan_to_num(x[:, 2], nan=1.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return x, y


def test_classifier_in_cross_val_score_and_pipeline() -> None:
    x, y = data()
    model = acs.GBDTClassifier(num_iterations=30, seed=1)
    scores = cross_val_score(model, x, y, cv=3, scoring="roc_auc")
    assert scores.mean() > 0.75
    pipe = Pipeline([("scale", StandardScaler()), ("gbdt", acs.GBDTClassifier(num_iterations=20))]).fit(x, y)
    assert pipe.predict_proba(x).shape == (len(x), 2)
    params = model.get_params()
    assert params["num_leaves"] == 31 and params["learning_rate"] == 0.1
    model.set_params(num_leaves=7)
    assert model.num_leaves == 7


def test_string_labels_and_early_stopping() -> None:
    x, y = data()
    labels = np.where(y == 1, "churned", "retained")
    model = acs.GBDTClassifier(num_iterations=400, learning_rate=0.3, early_stopping_round=5)
    model.fit(x[:2000], labels[:2000], eval_set=[(x[2000:], labels[2000:])])
    assert list(model.classes_) == ["churned", "retained"]
    assert model.best_iteration_ is not None and model.booster_.num_trees == model.best_iteration_ + 1
    assert set(model.predict(x[:10])) <= {"churned", "retained"}


def test_arrow_inputs_with_native_categoricals() -> None:
    rng = np.random.default_rng(2)
    n = 2000
    plan = rng.choice(["basic", "pro", "enterprise", "trial", "edu", "legacy"], n)
    seats = rng.integers(1, 100, n).astype(float)
    y = (rng.random(n) < np.where(np.isin(plan, ["trial", "legacy"]), 0.8, 0.2)).astype(int)
    table = pa.table({"plan": plan, "seats": seats})
    model = acs.GBDTClassifier(num_iterations=30, min_data_per_group=20).fit(table, y)
    assert list(model.feature_names_in_) == ["plan", "seats"]
    p_arrow = model.predict_proba(table)[:, 1]
    p_polars = model.predict_proba(pl.from_arrow(table))[:, 1]
    p_pandas = model.predict_proba(table.to_pandas())[:, 1]
    np.testing.assert_array_equal(p_arrow, p_polars)
    np.testing.assert_array_equal(p_arrow, p_pandas)
    assert roc_auc_score(y, p_arrow) > 0.7
    with pytest.raises(acs.SchemaError, match="seats"):
        model.predict(pa.table({"plan": plan}))


def test_shap_values_sum_to_the_raw_score() -> None:
    x, y = data(800)
    model = acs.GBDTClassifier(num_iterations=10).fit(x, y)
    shap = model.shap_values(x[:50])
    assert shap.shape == (50, 5)
    np.testing.assert_allclose(shap.sum(axis=1), model.decision_function(x[:50]), atol=1e-9)


def test_regressor_objectives() -> None:
    rng = np.random.default_rng(3)
    x = rng.random((2000, 2))
    y = 3 * x[:, 0] + rng.normal(0, 0.1, 2000)
    reg = acs.GBDTRegressor(num_iterations=50).fit(x, y)
    assert reg.score(x, y) > 0.9
    q = acs.GBDTRegressor(objective="quantile", alpha=0.9, num_iterations=50).fit(x, y)
    assert 0.85 < np.mean(y <= q.predict(x)) < 0.95


def test_pickle_save_load_are_bit_identical(tmp_path) -> None:
    x, y = data(1000)
    model = acs.GBDTClassifier(num_iterations=15).fit(x, y)
    expected = model.predict_proba(x)
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone.predict_proba(x), expected)
    for name in ("m.json", "m.bin"):
        model.save_model(str(tmp_path / name))
        loaded = acs.Booster.load(tmp_path / name)
        np.testing.assert_array_equal(loaded.predict(x), expected[:, 1])
    assert model.booster_.predict_row(list(x[0])) == pytest.approx(expected[0, 1], abs=0)


def test_errors_are_typed() -> None:
    x, y = data(300)
    with pytest.raises(acs.NotFittedError):
        acs.GBDTClassifier().predict(x)
    from sklearn.exceptions import NotFittedError as SkNotFitted

    with pytest.raises(SkNotFitted):
        acs.GBDTClassifier().predict_proba(x)
    with pytest.raises(acs.ConfigError, match="num_leaves"):
        acs.GBDTClassifier(num_leaves=1).fit(x, y)
    with pytest.raises(acs.InvalidInputError, match="two classes"):
        acs.GBDTClassifier().fit(x, np.arange(300) % 3)
    with pytest.raises(acs.InvalidInputError, match="row 7: expected a class label"):
        acs.GBDTClassifier().fit(x, np.where(np.arange(300) == 7, np.nan, y))
    with pytest.raises(acs.InvalidInputError, match="row 2: expected a class label"):
        acs.GBDTClassifier().fit(x, ["a", "b", None] + ["a"] * 297)
    model = acs.GBDTClassifier(num_iterations=3).fit(x, y)
    with pytest.raises(acs.SchemaError, match="4 features"):
        model.predict(x[:, :3])
    with pytest.raises(acs.ModelError, match="checksum|truncated|magic"):
        acs.Booster.from_bytes(model.booster_.to_bytes()[:-3])
