"""Reports (``accountscope::report`` and ``accountscope::privacy``): the executive, CSM and data-quality
templates or a custom spec, built from the tables registered on an :class:`~accountscope.Engine`, masked for
the reader's role, and rendered as JSON, HTML, Excel or PDF; GDPR erasure; schedules.

The templates read tables by name: ``accounts``, ``usage``, ``tickets``, ``surveys``, ``revenue``,
``health`` (a health history), ``churn_risk`` (``ChurnModel.predict``), ``expansion_forecast``
(``ExpansionModel.predict``), ``anomaly_incidents``, ``validation_scores`` / ``validation_rules``,
``profile`` and ``feature_drift``. A section whose table is missing says so instead of failing.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import secrets
from typing import Any, Iterable, Mapping, Sequence

from . import _native
from ._native import Engine, Report
from .exceptions import ConfigError

__all__ = ["Report", "build", "due", "erase_account", "json_schema", "run_due", "spec", "templates"]

# Hash tokens are keyed; without a key of the caller's, tokens are stable only within this process.
_SESSION_KEY = secrets.token_bytes(32)


def _key(key: bytes | str | None) -> bytes:
    if key is None:
        return _SESSION_KEY
    return key.encode() if isinstance(key, str) else bytes(key)


def templates() -> list[str]:
    """Names of the shipped templates: ``executive``, ``csm`` and ``data_quality``."""
    return list(_native.report_templates())


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the JSON renderer's documents."""
    return json.loads(_native.report_json_schema())


def spec(source: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
    """A report spec, checked: a template name, a spec file (``.json``, ``.yaml``, ``.toml``) or a dict.
    A bad spec raises :class:`~accountscope.ConfigError` naming the widget and field."""
    if isinstance(source, Mapping):
        return json.loads(_native.report_spec(json.dumps(source), "json"))
    text = os.fspath(source)
    if text in templates():
        return json.loads(_native.report_template(text))
    ext = os.path.splitext(text)[1].lstrip(".").lower()
    if not ext and not os.path.exists(text):
        raise ConfigError(
            f"invalid configuration: field 'source': '{text}' is neither a template "
            f"({', '.join(templates())}) nor a spec file"
        )
    with open(text, encoding="utf-8") as f:
        return json.loads(_native.report_spec(f.read(), ext))


def _iso(value: _dt.date | str | None) -> str | None:
    return value.isoformat()[:10] if isinstance(value, (_dt.date, _dt.datetime)) else value


def build(
    engine: Engine,
    source: str | os.PathLike[str] | Mapping[str, Any] = "executive",
    *,
    role: str | None = None,
    as_of: _dt.date | str | None = None,
    segments: Sequence[str] = (),
    owners: Sequence[str] = (),
    date_from: _dt.date | str | None = None,
    date_to: _dt.date | str | None = None,
    account_id: str | None = None,
    top_n: int | None = None,
    key: bytes | str | None = None,
    policy: Mapping[str, Any] | None = None,
    generated_at: _dt.datetime | None = None,
) -> Report:
    """Build a report from a template name, spec file or dict. ``role`` picks the privacy policy (default:
    the spec's); ``policy`` is a ``PrivacyPolicy`` dict (default: csm and admin see PII, analyst sees keyed
    hash tokens, executive sees masked values, any other role none); ``key`` keys the hash tokens."""
    filters = {
        "segments": list(segments),
        "owners": list(owners),
        "from": _iso(date_from),
        "to": _iso(date_to),
        "account_id": account_id,
    }
    return _native.build_report(
        engine,
        json.dumps(spec(source)),
        json.dumps(filters),
        _key(key),
        role=role,
        as_of=as_of,
        top_n=top_n,
        policy_json=None if policy is None else json.dumps(policy),
        generated_at=None if generated_at is None else generated_at.astimezone(_dt.timezone.utc).isoformat(),
    )


def erase_account(
    engine: Engine,
    account_id: str,
    *,
    actor: str | None = None,
    audit_path: str | os.PathLike[str] | None = None,
    key: bytes | str | None = None,
) -> dict[str, Any]:
    """GDPR erasure: remove the account from every registered table with an ``account_id`` column;
    returns the receipt (rows removed per table). With ``audit_path`` the erasure is appended to the audit
    log, the account named only by its keyed hash token."""
    path = None if audit_path is None else os.fspath(audit_path)
    return json.loads(_native.erase_account(engine, account_id, _key(key), actor=actor, audit_path=path))


def _schedules(schedules: Iterable[Mapping[str, Any]]) -> str:
    return json.dumps([{**s, "output_dir": os.fspath(s["output_dir"])} if "output_dir" in s else dict(s) for s in schedules])


def _utc(t: _dt.datetime) -> str:
    return (t if t.tzinfo else t.replace(tzinfo=_dt.timezone.utc)).astimezone(_dt.timezone.utc).isoformat()


def due(schedules: Iterable[Mapping[str, Any]], after: _dt.datetime, until: _dt.datetime) -> list[tuple[str, _dt.datetime]]:
    """Which schedules (dicts: ``name``, ``cron``, ``template``, ``role``, ``formats``, ``output_dir``,
    ``filters``) fell due in ``(after, until]``, with the latest due time of each."""
    return [(n, _dt.datetime.fromisoformat(t)) for n, t in _native.due_reports(_schedules(schedules), _utc(after), _utc(until))]


def run_due(
    engine: Engine,
    schedules: Iterable[Mapping[str, Any]],
    after: _dt.datetime,
    until: _dt.datetime,
    *,
    actor: str,
    audit_path: str | os.PathLike[str],
    key: bytes | str | None = None,
    policy: Mapping[str, Any] | None = None,
) -> list[tuple[str, _dt.datetime, list[str]]]:
    """Build and write every schedule due in ``(after, until]``, appending each to the audit log."""
    ran = _native.run_due_reports(
        engine,
        _schedules(schedules),
        _utc(after),
        _utc(until),
        _key(key),
        actor,
        os.fspath(audit_path),
        policy_json=None if policy is None else json.dumps(policy),
    )
    return [(n, _dt.datetime.fromisoformat(t), [os.fspath(p) for p in paths]) for n, t, paths in ran]
