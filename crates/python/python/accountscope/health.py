"""Health scorecards (``accountscope::health``): daily or weekly scores for every account, band changes and
explanations, over the tables registered in an :class:`~accountscope.Engine`.

A configuration is a dict with the Rust ``HealthConfig`` fields, YAML / JSON text, or a path to such a file;
without one, the default scorecards for the canonical tables are used (:func:`default_scorecards`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from typing import Any, Mapping

from . import _native
from ._progress import Progress, reporter
from ._native import Engine, HealthScorer, Table


def _text(config: Any) -> str | None:
    if config is None:
        return None
    if isinstance(config, Mapping):
        return json.dumps(config)
    if isinstance(config, os.PathLike) or (isinstance(config, str) and os.path.exists(config)):
        with open(os.fspath(config), encoding="utf-8") as f:
            return f.read()
    if isinstance(config, str):
        return config
    raise TypeError(f"config must be a dict, YAML/JSON text or a path, not {type(config).__name__}")


def _date(value: dt.date | str) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class HealthHistory:
    """The two tables of :func:`history`; in Jupyter, the portfolio summary (:meth:`summary`)."""

    history: Table
    band_changes: Table

    def summary(self) -> dict[str, Any]:
        """Accounts per band (``bands``: red, yellow, green) and mean score on the ``first`` and ``last``
        scored day, and the band changes between them by direction (``downgrades``, ``upgrades``)."""
        return json.loads(_native.health_summary(self.history, self.band_changes)[0])

    def _repr_html_(self) -> str:
        return _native.health_summary(self.history, self.band_changes)[1]


def history(
    engine: Engine,
    start: dt.date | str,
    end: dt.date | str,
    step_days: int = 1,
    config: Any = None,
    progress: Progress = True,
) -> HealthHistory:
    """Score every account of ``engine``'s ``accounts`` table on every ``step_days``-th day from ``start``
    to ``end``: score, band, group and measure scores per row; band changes with their drivers.

    ``progress``: a bar over the accounts for runs longer than half a second (``False``: none; a callable
    receives ``(task, done, total)``). Ctrl-C stops it with ``KeyboardInterrupt``."""
    with reporter(progress) as report:
        tables = _native.health_history(engine, _date(start), _date(end), step_days, _text(config), report)
    return HealthHistory(*tables)


def explain(
    engine: Engine,
    account_id: str,
    date: dt.date | str,
    compare_to: dt.date | str | None = None,
    config: Any = None,
) -> Table:
    """Per-measure contributions to one account's score on ``date`` (they add up to the score), and their
    change since ``compare_to``."""
    before = None if compare_to is None else _date(compare_to)
    return _native.health_explain(engine, account_id, _date(date), before, _text(config))


def scorer(engine: Engine, config: Any = None) -> HealthScorer:
    """Prepare the scorecards over ``engine`` once (``history``, ``account_trend``, ``explain`` then run
    without reading the tables again: one account's year of daily scores in well under a millisecond)."""
    return HealthScorer(engine, _text(config))


def default_scorecards() -> str:
    """The default scorecards for the canonical tables, as YAML."""
    return _native.default_scorecards_yaml()


__all__ = ["HealthHistory", "HealthScorer", "default_scorecards", "explain", "history", "scorer"]
