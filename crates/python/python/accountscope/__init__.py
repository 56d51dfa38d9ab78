"""accountscope: customer-success analytics on Apache Arrow.

Tables go in as any Arrow object (pyarrow, polars, pandas >= 2.2, duckdb results) and come out as
:class:`Table`, which pyarrow, pandas and polars read without copying. Keyword arguments are the Rust
library's configuration fields, with the same names and defaults.
"""

from __future__ import annotations

import datetime as _dt
import json as _json
import os as _os
from typing import Any

from . import exceptions
from ._native import Demo, Engine, Table, __version__, canonical_schema, table_names
from . import _native
from .gbdt import Booster, GBDTClassifier, GBDTRegressor
from . import anomaly, health, predict, report, trend, validate
from .trend import trend_tests
from .validate import Validation, Validator
from .exceptions import (
    AccountscopeError,
    CancelledError,
    ConfigError,
    InternalError,
    InvalidInputError,
    IoError,
    ModelError,
    NotFittedError,
    SchemaError,
    UnsupportedError,
)


def _config(kwargs: dict[str, Any]) -> str:
    def default(value: object) -> object:
        if isinstance(value, (_dt.date, _dt.datetime)):
            return value.isoformat()[:10]
        if isinstance(value, _os.PathLike):
            return _os.fspath(value)
        raise ConfigError(f"invalid configuration: cannot use {value!r} of type {type(value).__name__}")

    return _json.dumps(kwargs, default=default)


def generate_demo(accounts: int = 1000, seed: int = 42, **config: Any) -> Demo:
    """Generate the demo portfolio (see ``DemoConfig``: ``start``, ``end``, ``segment_mix``,
    ``anomalies_per_year``, ``churn_shift``). The same seed gives the same bytes."""
    return _native.generate_demo(_config({"accounts": accounts, "seed": seed, **config}))


def read(path: str | _os.PathLike[str], table: str | None = None, **options: Any) -> Table:
    """Read a CSV, Parquet, JSON lines or Arrow IPC file (``format``, ``delimiter``, ``has_header``,
    ``batch_size``, ``infer_rows``); with ``table`` it is conformed onto that canonical table."""
    return _native.read_file(_os.fspath(path), _config(options), table)


def write(path: str | _os.PathLike[str], data: Any, **options: Any) -> int:
    """Write any Arrow table-like object to a file (``format``, ``delimiter``, ``compression``);
    returns the number of rows written."""
    return _native.write_file(_os.fspath(path), data, _config(options))


def conform(table: str, data: Any, **mapping: Any) -> tuple[Table, list[dict[str, Any]]]:
    """Conform ``data`` onto a canonical table with a column mapping (``columns``, ``values``,
    ``date_formats``, ``timestamp_formats``, ``extra_columns``, ``cast_policy``, ``case_insensitive``).
    Returns the conformed table and the values set to null under ``cast_policy="null_and_report"``."""
    mapping.setdefault("case_insensitive", True)
    out, failures = _native.conform(table, data, _config(mapping))
    return out, _json.loads(failures)


__all__ = [
    "AccountscopeError",
    "Booster",
    "GBDTClassifier",
    "GBDTRegressor",
    "ConfigError",
    "Demo",
    "Engine",
    "CancelledError",
    "InternalError",
    "InvalidInputError",
    "IoError",
    "ModelError",
    "NotFittedError",
    "SchemaError",
    "Table",
    "UnsupportedError",
    "Validation",
    "Validator",
    "__version__",
    "canonical_schema",
    "conform",
    "exceptions",
    "generate_demo",
    "read",
    "report",
    "table_names",
    "health",
    "trend",
    "trend_tests",
    "validate",
    "write",
]
