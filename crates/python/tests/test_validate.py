"""Validation from Python: the dirty demo through the shipped rules, any Arrow input, errors, streaming."""

from __future__ import annotations

import json

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import accountscope as acs
from accountscope import validate as v


@pytest.fixture(scope="module")
def dirty() -> tuple[list[tuple[str, acs.Table]], acs.Table]:
    return acs.generate_demo(accounts=30, seed=5).dirty()


def test_dirty_demo_every_row_accounted_for(dirty) -> None:
    tables, manifest = dirty
    run = v.validate(dict(tables), v.dirty_rules(), as_of="2026-01-02T00:00:00Z")
    assert run.tables() == [name for name, _ in tables]
    manifest_rows = pa.table(manifest).to_pandas()
    for name, table in tables:
        clean, quarantine, dups = run.clean(name), run.quarantine(name), run.duplicates(name)
        assert clean.num_rows + quarantine.num_rows + dups.num_rows == table.num_rows
        listed = set(manifest_rows[manifest_rows.table == name]["row"])
        q = pa.table(quarantine).to_pandas()
        assert set(q["_row"]) <= listed
        assert all(len(ids) == len(reasons) for ids, reasons in zip(q["_rule_ids"], q["_reasons"]))
    report = v.report(run)
    assert {t["table"] for t in report["tables"]} == {n for n, _ in tables}
    scores = pa.table(run.scores_table())
    assert scores.num_rows == 5 and 0.0 < min(scores.column("overall").to_pylist()) <= 1.0
    assert "usage" in run.scorecard() and "<table>" in run._repr_html_()
    lines = run.lineage_json_lines().splitlines()
    assert len(lines) == 5 and json.loads(lines[0])["ruleset_id"] == "demo-raw"

    engine = acs.Engine()
    run.register(engine)
    n = pa.table(engine.sql("SELECT COUNT(*) AS n FROM accounts_quarantine")).column("n")[0].as_py()
    assert n == run.quarantine("accounts").num_rows


RULES = {
    "id": "py",
    "tables": [
        {
            "table": "t",
            "key": ["id"],
            "rules": [
                {"id": "x_range", "kind": "range", "column": "x", "min": 0},
                {"id": "s_set", "kind": "in_set", "column": "s", "values": ["a", "b"]},
            ],
        }
    ],
}


@pytest.mark.parametrize("kind", ["pyarrow", "pandas", "polars"])
def test_any_arrow_input(kind: str) -> None:
    data = {"id": [1, 2, 2, 3], "x": [1.0, -1.0, -1.0, 2.0], "s": ["a", "b", "b", "z"]}
    table = {"pyarrow": pa.table(data), "pandas": pd.DataFrame(data), "polars": pl.DataFrame(data)}[kind]
    if kind == "pandas":
        table = pa.Table.from_pandas(table, preserve_index=False)
    run = v.validate({"t": table}, RULES)
    assert run.clean("t").num_rows == 1
    assert pa.table(run.quarantine("t")).column("_row").to_pylist() == [1, 3]
    assert pa.table(run.duplicates("t")).column("_kept_row").to_pylist() == [1]
    q = pa.table(run.quarantine("t"))
    assert q.column("_reasons").to_pylist()[1] == ['s = "z" is not one of ["a", "b"]']


def test_bad_rules_raise_config_errors() -> None:
    bad = {"id": "b", "tables": [{"table": "t", "rules": [{"id": "r", "kind": "not_null", "column": "nope"}]}]}
    with pytest.raises(acs.ConfigError, match="nope"):
        v.validate({"t": pa.table({"x": [1]})}, bad)
    with pytest.raises(acs.ConfigError, match="colum"):
        v.Validator("id: b\ntables:\n  - {table: t, rules: [{id: r, kind: not_null, colum: x}]}\n")


def test_streaming_and_profile() -> None:
    table = pa.table({"id": list(range(10)) + [3], "x": [float(i) - 2 for i in range(11)], "s": ["a"] * 11})
    validator = v.Validator(RULES)
    stream = validator.stream("t", table.slice(0, 0))
    outs = [stream.push(table.slice(i, 4)) for i in range(0, 11, 4)]
    report, lineage = (json.loads(x) for x in stream.finish())
    assert sum(o[0].num_rows + o[1].num_rows + o[2].num_rows for o in outs) == 11
    assert report["rows_in"] == 11 and lineage["rows_in"] == 11
    with pytest.raises(acs.InvalidInputError):
        stream.finish()
    prof = pa.table(v.profile(table)).to_pandas()
    assert list(prof["column"]) == ["id", "x", "s"]
    assert prof.loc[1, "q0.5"] == pytest.approx(3.0)
