"""Validation and data quality (``accountscope::validate``): rule sets, quarantine, scorecard, profiling.

Rule sets are dicts (the same fields as the Rust ``RuleSet``), YAML / JSON / TOML text, or a path to such a
file. Tables are any Arrow object (pyarrow, polars, pandas through pyarrow, duckdb results).
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterable, Mapping

from . import _native
from ._native import Table, Validation


def _rules_text(rules: Any) -> tuple[str, str]:
    if isinstance(rules, Mapping):
        return json.dumps(rules), "json"
    if isinstance(rules, os.PathLike) or (isinstance(rules, str) and os.path.exists(rules)):
        path = os.fspath(rules)
        ext = os.path.splitext(path)[1].lstrip(".").lower()
        with open(path, encoding="utf-8") as f:
            return f.read(), ext
    if isinstance(rules, str):
        text = rules.lstrip()
        return rules, "json" if text.startswith("{") else "yaml"
    raise TypeError(f"rules must be a dict, YAML/JSON text or a path, not {type(rules).__name__}")


class Validator:
    """Validates tables against a rule set.

    ``options`` are ``ValidateOptions`` fields: ``as_of`` (ISO timestamp, for freshness),
    ``max_failing_keys``, ``weights``. ``references`` maps names to tables that foreign keys may reference.
    """

    def __init__(self, rules: Any, *, references: Mapping[str, Any] | None = None, **options: Any) -> None:
        text, fmt = _rules_text(rules)
        self._native = _native.Validator(text, fmt, json.dumps(options, default=str), dict(references or {}))

    @property
    def rules(self) -> dict[str, Any]:
        """The rule set as a dict."""
        result: dict[str, Any] = json.loads(self._native.rules_json())
        return result

    def validate(self, tables: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> Validation:
        """Validate tables held in memory; ``tables`` maps names to Arrow objects."""
        items = list(tables.items()) if isinstance(tables, Mapping) else list(tables)
        return self._native.validate(items)

    def stream(self, table: str, schema_of: Any) -> _native.StreamValidator:
        """A streaming validator: ``push(batch)`` returns (clean, quarantine, duplicates) per batch,
        ``finish()`` the report and lineage as JSON."""
        return self._native.stream(table, schema_of)


def validate(tables: Mapping[str, Any], rules: Any, **kwargs: Any) -> Validation:
    """Validate ``tables`` against ``rules``; see :class:`Validator` for the keyword arguments."""
    return Validator(rules, **kwargs).validate(tables)


def report(validation: Validation) -> dict[str, Any]:
    """The run's report as a dict (per-table counts, rule results and quality scores)."""
    result: dict[str, Any] = json.loads(validation.report_json())
    return result


def profile(data: Any, **options: Any) -> Table:
    """Per-column statistics (``top_k``, ``bins``, ``quantiles``): one row per column."""
    return _native.profile(data, json.dumps(options))


def dirty_rules() -> str:
    """The YAML rule set of the dirty demo export (``Demo.dirty()``)."""
    return _native.dirty_rules_yaml()


__all__ = ["Validation", "Validator", "dirty_rules", "profile", "report", "validate"]
