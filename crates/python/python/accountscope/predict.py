"""Predictions (``accountscope::features`` and ``accountscope::predict``): point-in-time features, churn
risk with reasons and actions, expansion probability and amount, the health trajectory with intervals, and
the model lifecycle (time-honest splits, evaluation report, DeLong test, drift).

Tables go in as any Arrow object and come out as :class:`~accountscope.Table`. Keyword arguments are the
Rust configuration fields, with the same names and defaults (``FeatureConfig``, ``ChurnConfig``,
``ExpansionConfig``, ``TrajectoryConfig``); reports come back as dicts of the Rust structs.
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any, Sequence

from . import _native
from ._progress import Progress, reporter
from ._native import ChurnModel, ExpansionModel, Table, TrajectoryModel

__all__ = [
    "ChurnModel",
    "Evaluation",
    "HorizonEvaluations",
    "ExpansionModel",
    "TrajectoryModel",
    "build_features",
    "churn_model",
    "delong_test",
    "drift",
    "evaluate",
    "expansion_model",
    "known_at",
    "monthly",
    "snapshots_between",
    "trajectory_model",
]


class Evaluation(dict):  # type: ignore[type-arg]
    """The evaluation report of one set of probabilities: a dict of the Rust ``Evaluation`` fields (``roc_auc``,
    ``pr_auc``, ``log_loss``, ``brier``, ``precision``, ``recall``, ``f1``, ``calibration``, ``lift``, ...)
    that shows its metrics, lift and calibration as tables in Jupyter."""

    def __init__(self, fields: dict[str, Any], html: str) -> None:
        super().__init__(fields)
        self._html = html

    def _repr_html_(self) -> str:
        return self._html


class HorizonEvaluations(list):  # type: ignore[type-arg]
    """A churn model's evaluation per horizon: a list of ``{"horizon": days, "evaluation": {...}}`` dicts
    that shows one row of metrics per horizon in Jupyter."""

    def __init__(self, evaluations_json: str, html: str) -> None:
        super().__init__(json.loads(evaluations_json))
        self._html = html

    def _repr_html_(self) -> str:
        return self._html


def _json(config: dict[str, Any]) -> str:
    return json.dumps(config, default=lambda v: v.isoformat()[:10] if isinstance(v, (_dt.date, _dt.datetime)) else v)


def monthly(start: _dt.date, end: _dt.date) -> list[_dt.date]:
    """The first day of every month from ``start`` to ``end`` (inclusive)."""
    day = start.replace(day=1)
    if day < start:
        day = (day.replace(day=28) + _dt.timedelta(days=4)).replace(day=1)
    out = []
    while day <= end:
        out.append(day)
        day = (day.replace(day=28) + _dt.timedelta(days=4)).replace(day=1)
    return out


def build_features(
    tables: Any,
    snapshots: Sequence[_dt.date],
    health: Any | None = None,
    anomalies: Any | None = None,
    **config: Any,
) -> Table:
    """Point-in-time features of every account at every snapshot, with labels per horizon.

    ``tables`` is a :class:`~accountscope.Demo` or a mapping with ``accounts``, ``usage``, ``tickets``,
    ``surveys``, ``revenue`` and optionally ``churn_labels`` and ``expansion_labels``. Config:
    ``horizons`` (30, 90, 365), ``observed_until``, ``labels``."""
    get = tables.table if hasattr(tables, "table") else tables.__getitem__
    optional = (lambda n: get(n)) if hasattr(tables, "table") else (lambda n: tables.get(n))
    table, _unmatched = _native.build_features(
        get("accounts"),
        get("usage"),
        get("tickets"),
        get("surveys"),
        get("revenue"),
        optional("churn_labels"),
        optional("expansion_labels"),
        health,
        anomalies,
        _json({"snapshots": list(snapshots), **config}),
    )
    return table


def known_at(features: Any, cutoff: _dt.date) -> Table:
    """The rows before ``cutoff`` with only the labels whose horizon had ended by then."""
    return _native.known_at(features, cutoff)


def snapshots_between(features: Any, start: _dt.date, end: _dt.date) -> Table:
    """The rows with snapshots in ``start .. end`` (end exclusive)."""
    return _native.snapshots_between(features, start, end)


def churn_model(features: Any, progress: Progress = True, **config: Any) -> ChurnModel:
    """Trains the churn model (``horizons``, ``primary_horizon``, ``classifier``, ``reasons``).

    ``progress``: a bar per horizon's model for fits longer than half a second (``False``: none; a callable
    receives ``(task, done, total)``). Ctrl-C stops training with ``KeyboardInterrupt``."""
    with reporter(progress) as report:
        return ChurnModel.fit(features, _json(config), report)


def expansion_model(features: Any, progress: Progress = True, **config: Any) -> ExpansionModel:
    """Trains the expansion model (``horizons``, ``classifier``, ``amount``); ``progress`` as for churn."""
    with reporter(progress) as report:
        return ExpansionModel.fit(features, _json(config), report)


def trajectory_model(features: Any, health: Any, progress: Progress = True, **config: Any) -> TrajectoryModel:
    """Trains the health trajectory (``horizons``, ``coverage``, ``gbdt``, ``holdout_share``, ``red_below``);
    ``progress`` as for churn."""
    with reporter(progress) as report:
        return TrajectoryModel.fit(features, health, _json(config), report)


def evaluate(y: Sequence[float], prob: Sequence[float], threshold: float = 0.5) -> Evaluation:
    """ROC AUC, PR AUC, log-loss, Brier, precision / recall / F1 at ``threshold``, calibration curve and
    lift by decile."""
    fields, html = _native.evaluate_probabilities(list(map(float, y)), list(map(float, prob)), threshold)
    return Evaluation(json.loads(fields), html)


def delong_test(
    y: Sequence[float], champion: Sequence[float], challenger: Sequence[float], alpha: float = 0.05
) -> dict[str, Any]:
    """DeLong's test of two models' ROC AUCs on the same rows."""
    as_list = lambda v: list(map(float, v))  # noqa: E731
    return json.loads(_native.delong_test(as_list(y), as_list(champion), as_list(challenger), alpha))


def drift(reference: Any, current: Any, columns: Sequence[str]) -> list[dict[str, Any]]:
    """PSI and two-sample KS (statistic, asymptotic p-value) of each numeric column against the reference."""
    return json.loads(_native.feature_drift(reference, current, list(columns)))
