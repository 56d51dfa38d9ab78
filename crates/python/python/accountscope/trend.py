"""Trend analysis (``accountscope::trend``): trend tests, STL / MSTL decomposition, seasonality detection.

Per-series functions take any Arrow table (pyarrow, polars, pandas through pyarrow, duckdb results) in long
form (id columns, a date column, value columns) and return a :class:`~accountscope.Table` with one row per
series and metric, each with a ``status`` and a ``reason``. :func:`stl` and :func:`mstl` take one series
(anything numpy reads as float64) and return numpy arrays, with statsmodels' parameter names and defaults.
Keyword arguments are the Rust configuration fields, with the same names and defaults.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import numpy.typing as npt

from . import _native
from ._native import Table

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Decomposition:
    """Components of a decomposition: ``observed = trend + seasonal + resid``. For MSTL, ``seasonal`` has
    one column per period in ``periods`` (as statsmodels' ``MSTL``) and ``dropped`` lists the periods left
    out because the series is shorter than two of them."""

    observed: Array
    trend: Array
    seasonal: Array
    resid: Array
    weights: Array
    periods: tuple[int, ...]
    dropped: tuple[int, ...] = ()


def _vector(y: Any) -> Array:
    return np.ascontiguousarray(np.asarray(y, dtype=np.float64).reshape(-1))


def stl(y: Any, period: int, **params: Any) -> Decomposition:
    """STL decomposition of one equally spaced series (Cleveland et al. 1990), equal to statsmodels'
    ``STL(y, period, **params).fit()``: ``seasonal``, ``trend``, ``low_pass``, ``seasonal_deg``,
    ``trend_deg``, ``low_pass_deg``, ``seasonal_jump``, ``trend_jump``, ``low_pass_jump``, ``robust``,
    ``inner_iter``, ``outer_iter``; plus ``auto_jumps`` (R's jumps, ten times faster on long periods)."""
    observed = _vector(y)
    trend, seasonal, resid, weights = _native.stl(observed, json.dumps({"period": period, **params}))
    return Decomposition(observed, trend, seasonal, resid, weights, (period,))


def mstl(
    y: Any,
    periods: Sequence[int] = (7, 365),
    windows: Sequence[int] | None = None,
    iterate: int = 2,
    **stl_params: Any,
) -> Decomposition:
    """MSTL decomposition for several periods (Bandara et al. 2021), equal to statsmodels'
    ``MSTL(y, periods, windows, iterate=iterate, stl_kwargs=stl_params).fit()`` (without Box-Cox)."""
    observed = _vector(y)
    config = {"periods": list(periods), "windows": None if windows is None else list(windows), "iterate": iterate}
    kept, dropped, seasonal, (trend, _, resid, weights) = _native.mstl(
        observed, json.dumps({**config, "stl": stl_params})
    )
    return Decomposition(observed, trend, seasonal, resid, weights, tuple(kept), tuple(dropped))


def trend_tests(data: Any, **config: Any) -> Table:
    """Mann-Kendall test, Sen's slope and OLS slope of every series in ``data`` (``id_columns``,
    ``time_column``, ``value_columns``, ``alpha``, ``min_points``); one row per series and metric with a
    ``status`` and ``reason``."""
    return _native.trend_tests(data, json.dumps(config))


def seasonality(data: Any, **config: Any) -> Table:
    """Which candidate periods (``periods``, default weekly and yearly) each daily series has: strength,
    stable-seasonality F test, autocorrelation, spectral share, peak and trough (``id_columns``,
    ``time_column``, ``value_columns``, ``gap_fill``, ``transform``, ``min_strength``, ``alpha``,
    ``min_cycles``, ``stl``, ``moderate``: residual variances moderated across the series, default on)."""
    return _native.seasonality(data, json.dumps(config))


@dataclass(frozen=True)
class TrendAnalysis:
    """The three tables of :func:`analyze`."""

    seasonality: Table
    trends: Table
    change_points: Table


def analyze(data: Any, **config: Any) -> TrendAnalysis:
    """The full trend pass: one decomposition per series feeds the seasonality tests, Mann-Kendall / Sen /
    OLS on the seasonally adjusted weekly means and PELT change points (``seasonality`` (a dict of the
    :func:`seasonality` options, default: the five usage metrics), ``resolution_days``, ``alpha``,
    ``min_points``, ``pelt``)."""
    return TrendAnalysis(*_native.analyze(data, json.dumps(config)))


def resample(data: Any, **config: Any) -> Table:
    """Resample every series to ``frequency`` (``day``, ``week`` from Monday, ``month``, ``quarter``,
    ``year``) with ``aggregation`` (``sum``, ``mean``, ``last``, ``min``, ``max``) and ``fill`` for empty
    periods (``null``, ``zero``, ``previous``, ``linear``); ``changes=[1, 52]`` adds period-over-period
    differences and pandas-style ``pct_change`` columns, ``rolling=[4]`` adds rolling means."""
    return _native.resample(data, json.dumps(config))


def correlations(data: Any, **config: Any) -> Table:
    """Pearson and Spearman correlations of every pair of ``value_columns``, per series (``id_columns``)
    and pooled over all rows, with scipy's p-values (``methods``, ``per_series``, ``pooled``,
    ``min_points``)."""
    return _native.correlations(data, json.dumps(config))


@dataclass(frozen=True)
class LeadLag:
    """The two tables of :func:`lead_lag`."""

    by_lag: Table
    leaders: Table


def lead_lag(data: Any, **config: Any) -> LeadLag:
    """Cross-correlation of each of ``candidates`` with ``target`` at lags 0..``max_lag`` (steps of
    ``resolution_days``) on differenced averages, combined across series; ``leaders`` ranks the candidates
    by their strongest lag of one step or more."""
    return LeadLag(*_native.lead_lag(data, json.dumps(config)))


def churn_indicators(usage: Any, labels: Any, **config: Any) -> Table:
    """Rank usage metrics as leading indicators of churn: change before churn against calendar-matched
    retained accounts, ROC AUC and p-value per metric and lead (``value_columns``, ``leads_days``,
    ``window_days``, ``baseline_offset_days``, ``min_coverage``). ``labels`` is the churn_labels table."""
    return _native.churn_indicators(usage, labels, json.dumps(config))


def seasonality_summary(per_series: Any, attributes: Any, group_by: Sequence[str] = ("industry",)) -> Table:
    """Summarise :func:`seasonality` by attributes of the series, e.g. the accounts table's ``industry``
    or ``segment``: share detected, mean strength, typical peak and trough, and a readable sentence."""
    return _native.seasonality_summary(per_series, attributes, list(group_by))


__all__ = [
    "Decomposition",
    "LeadLag",
    "TrendAnalysis",
    "analyze",
    "churn_indicators",
    "correlations",
    "lead_lag",
    "mstl",
    "resample", "seasonality", "seasonality_summary", "stl", "trend_tests"]
