"""Anomaly detection (``accountscope::anomaly``): the batch pass over daily usage, a streaming detector
with exact snapshots, peer-group outliers and the Numenta Anomaly Benchmark's scoring.

Tables go in as any Arrow object and come out as :class:`~accountscope.Table`; ``online_events`` takes one
plain series (numpy or any sequence of floats) of any frequency. Keyword arguments are the Rust
configuration fields, with the same names and defaults (``AnomalyConfig``, ``StreamConfig``,
``OnlineConfig``, ``PeerConfig``, ``RecentConfig``).
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from . import _native
from ._progress import Progress, reporter
from ._native import Engine, Table


def _json(config: dict[str, Any]) -> str:
    return json.dumps(config, default=lambda v: v.isoformat()[:10] if isinstance(v, (_dt.date, _dt.datetime)) else v)


@dataclass(frozen=True)
class AnomalyResult:
    """The tables of :func:`detect`: one row per event (per metric), per incident (an account's events
    that overlap, with an ``explanation``), per series (``status``, ``reason``), and with
    ``point_scores=True`` one row per day and metric."""

    events: Table
    incidents: Table
    series: Table
    scores: Table | None = None

    def register(self, engine: Engine) -> None:
        """Registers the tables as ``anomaly_events``, ``anomaly_incidents`` and ``anomaly_series`` so
        ``engine.segment_anomalies(...)`` and SQL can read them."""
        engine.register_anomalies(self.events, self.incidents, self.series)


def detect(data: Any, progress: Progress = True, **config: Any) -> AnomalyResult:
    """The batch pass over a long usage table (``id_columns``, ``time_column``, ``value_columns``,
    ``baseline``, ``detectors``, ``ensemble``, ``comove_z``, ``point_scores``).

    ``progress``: a bar over the accounts for runs longer than half a second (``False``: none; a callable
    receives ``(task, done, total)``). Ctrl-C stops it with ``KeyboardInterrupt``."""
    with reporter(progress) as report:
        events, incidents, series, scores = _native.detect_anomalies(data, _json(config), report)
    return AnomalyResult(events, incidents, series, scores)


@dataclass(frozen=True)
class EventScore:
    """Event-level agreement of detections with labels."""

    detected: int
    true_positives: int
    labels: int
    found: int

    @property
    def precision(self) -> float:
        return 1.0 if self.detected == 0 else self.true_positives / self.detected

    @property
    def recall(self) -> float:
        return 1.0 if self.labels == 0 else self.found / self.labels


def event_score(
    detected: Any, labels: Any, id: str = "account_id", tolerance_days: int = 1, kinds: Sequence[str] = ()
) -> EventScore:
    """Precision and recall of ``detected`` windows against ``labels`` (both with ``start``/``end`` or
    ``start_date``/``end_date``); only detections of ``kinds`` count towards precision (all if empty)."""
    return EventScore(*_native.anomaly_event_score(detected, labels, id, tolerance_days, list(kinds)))


class StreamDetector:
    """Points in (a table at a time, any accounts mixed), events out as they happen. ``snapshot()``
    returns the whole state as bytes and :meth:`from_snapshot` continues exactly where it left off; the
    detector pickles the same way."""

    def __init__(self, **config: Any) -> None:
        self._inner = _native.StreamDetector(_json(config))

    @classmethod
    def _wrap(cls, inner: _native.StreamDetector) -> StreamDetector:
        detector = cls.__new__(cls)
        detector._inner = inner
        return detector

    def process(self, data: Any) -> Table:
        """Takes new points; returns the events they cause (``detected`` is the day that revealed each)."""
        return self._inner.process(data)

    def silent(self, as_of: _dt.date, min_days: int = 2) -> Table:
        """Series with no point for more than ``min_days`` before ``as_of`` (a feed that stopped)."""
        return self._inner.silent(as_of, min_days)

    @property
    def stats(self) -> dict[str, int]:
        """Points accepted, late (dropped: at or before their series' last day), nulls, events."""
        return dict(zip(("points", "late", "nulls", "events"), self._inner.stats()))

    @property
    def num_series(self) -> int:
        return self._inner.num_series()

    def snapshot(self) -> bytes:
        return self._inner.snapshot()

    @classmethod
    def from_snapshot(cls, data: bytes) -> StreamDetector:
        return cls._wrap(_native.StreamDetector.from_snapshot(data))

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        return (StreamDetector.from_snapshot, (self.snapshot(),))


def online_events(values: Any, **config: Any) -> Table:
    """The online detector over one series of equally spaced steps of any frequency (step i is
    ``values[i]``; NaN: no value, so a run of them is a gap). ``config`` takes the ``OnlineConfig`` fields
    (``period``, ``warmup``, ``counts``, ``threshold``, ``refractory``, ``calibrate``, ``records``,
    ``rarity``, ...). Returns its events in the order reported: ``kind``, ``start``, ``end`` (steps),
    ``expected``, ``observed``, ``strength``, ``p_value``."""
    series = np.ascontiguousarray(np.asarray(values, dtype=np.float64).reshape(-1))
    return _native.online_events(series, _json(config))


def recent_features(usage: Any, attributes: Any | None = None, **config: Any) -> Table:
    """Per account and metric: the mean over the last ``window_days`` up to ``as_of`` and its log change
    against the window before, joined with ``attributes`` (e.g. the accounts table)."""
    return _native.recent_features(usage, attributes, _json(config))


def peer_outliers(features: Any, **config: Any) -> Table:
    """Accounts unlike their peer group (``group_columns``): isolation forest and robust distance."""
    return _native.peer_outliers(features, _json(config))


def nab_score(
    series: Sequence[tuple[str, Sequence[float], Sequence[tuple[int, int]]]], profile: str = "standard"
) -> tuple[float, list[float], float]:
    """NAB v1.1 scoring of (name, anomaly scores, labelled index windows) series with one profile:
    (corpus threshold, raw score per series, normalised score)."""
    return _native.nab_score([(n, list(s), list(w)) for n, s, w in series], profile)
