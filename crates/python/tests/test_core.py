"""The Python binding: Arrow round trips without copies, the engine, the demo, I/O and errors."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import time

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import accountscope as acs


@pytest.fixture(scope="module")
def demo() -> acs.Demo:
    return acs.generate_demo(accounts=40, seed=3)


def test_round_trip_pyarrow_without_copy() -> None:
    values = pa.array(range(1000), type=pa.int64())
    table = pa.table({"x": values, "s": pa.array([str(i) for i in range(1000)])})
    ours = acs.Table.from_arrow(table)
    back = pa.table(ours)
    assert back.equals(table)
    assert back.schema == table.schema
    # Same buffer address: the data crossed both ways without a copy.
    assert back.column("x").chunk(0).buffers()[1].address == values.buffers()[1].address


def test_round_trip_pandas_and_polars(demo: acs.Demo) -> None:
    usage = demo.table("usage")
    df = usage.to_pandas()
    assert len(df) == usage.num_rows
    assert list(df.columns) == usage.column_names
    # pandas may hold text as large_string; with the schema given, types come back identical.
    schema = pa.table(usage).schema
    again = acs.Table.from_arrow(pa.Table.from_pandas(df, schema=schema, preserve_index=False))
    assert pa.table(again).equals(pa.table(usage))

    pl_df = usage.to_polars()
    assert pl_df.height == usage.num_rows
    assert pl_df.schema["active_users"] == pl.Int32
    assert pl_df.schema["date"] == pl.Date
    # polars exports text as string_view; conforming onto the canonical table restores every type.
    assert pa.table(acs.Table.from_arrow(pl_df)).schema.field("account_id").type == pa.string_view()
    conformed, failures = acs.conform("usage", pl_df)
    assert failures == []
    assert pa.table(conformed).equals(pa.table(usage))
    # pandas DataFrames export the PyCapsule interface themselves (pandas >= 2.2).
    engine = acs.Engine(threads=1)
    engine.register("usage_pd", pd.DataFrame({"a": [1, 2, 3]}))
    assert engine.sql("SELECT SUM(a) AS s FROM usage_pd").to_pyarrow().column("s")[0].as_py() == 6


def test_engine_sql_and_named_queries(demo: acs.Demo) -> None:
    engine = acs.Engine()
    engine.register_demo(demo, truth=True)
    assert "truth_anomalies" in engine.tables()
    n = engine.sql("SELECT COUNT(*) AS n FROM usage").to_pyarrow().column("n")[0].as_py()
    assert n == demo.table("usage").num_rows
    summary = engine.portfolio_summary().to_pandas()
    assert summary["accounts"].sum() == 40
    first = engine.sql("SELECT MIN(account_id) AS a FROM usage WHERE date = DATE '2024-06-03'").to_pyarrow()
    account = first.column("a")[0].as_py()
    rows = engine.account_usage(account, dt.date(2024, 6, 1), "2024-06-30").to_pandas()
    assert 0 < len(rows) <= 30 and set(rows["account_id"]) == {account}
    assert engine.deregister("truth_anomalies")
    assert "<table>" in engine.table("accounts")._repr_html_()


def test_demo_is_deterministic_and_has_truth() -> None:
    a = acs.generate_demo(accounts=25, seed=9)
    b = acs.generate_demo(accounts=25, seed=9, start=dt.date(2023, 1, 1))
    for name in a.table_names():
        assert pa.table(a.table(name)).equals(pa.table(b.table(name))), name
    tables, manifest = a.dirty(seed=1, rate=0.01)
    assert {name for name, _ in tables} == {"accounts", "usage", "tickets", "surveys", "revenue"}
    assert manifest.num_rows > 0


def test_files_round_trip_and_conform(tmp_path, demo: acs.Demo) -> None:
    paths = demo.write(tmp_path, "parquet")
    assert len(paths) == 7
    engine = acs.Engine(threads=1)
    engine.register_file("usage_file", paths[1])
    assert engine.table("usage_file").num_rows == demo.table("usage").num_rows
    with pytest.raises(acs.ConfigError, match="unknown field"):
        engine.register_file("x", paths[1], delimeter=";")
    for fmt in ["csv", "parquet", "jsonl", "arrow"]:
        path = tmp_path / f"tickets.{fmt}"
        assert acs.write(path, demo.table("tickets")) == demo.table("tickets").num_rows
        back = acs.read(path, table="tickets")
        assert pa.table(back).equals(pa.table(demo.table("tickets"))), fmt

    export = pa.table({"Account ID": ["a", "b"], "Day": ["03/01/2024", "03/02/2024"], "DAU": ["4", "x"]})
    out, failures = acs.conform(
        "usage",
        export,
        columns={"account_id": "Account ID", "date": "Day", "active_users": "DAU"},
        cast_policy="null_and_report",
    )
    assert out.num_rows == 2
    assert failures == [{"column": "active_users", "row": 1, "value": "x", "expected": "a whole number (Int32)"}]
    schema = pa.schema(acs.canonical_schema("accounts"))
    assert schema.field("contact_email").metadata[b"accountscope.pii"] == b"true"


def test_every_error_category_raised_by_real_bad_input(tmp_path) -> None:
    engine = acs.Engine(threads=1)
    with pytest.raises(acs.InvalidInputError, match="no_such_table"):
        engine.sql("SELECT * FROM no_such_table")
    with pytest.raises(acs.ConfigError, match="demo.accounts"):
        acs.generate_demo(accounts=0)
    with pytest.raises(acs.ConfigError, match="unknown field"):
        acs.generate_demo(acounts=10)
    with pytest.raises(acs.SchemaError, match="date") as info:
        acs.conform("usage", pa.table({"account_id": ["a"], "active_users": [1]}))
    assert isinstance(info.value, ValueError) and info.value.category == "SCHEMA"
    with pytest.raises(acs.SchemaError, match="row 0"):
        acs.conform("usage", pa.table({"account_id": ["a"], "date": ["not a date"], "active_users": [1]}))
    with pytest.raises(acs.IoError, match="missing.parquet") as io_info:
        acs.read(tmp_path / "missing.parquet")
    assert isinstance(io_info.value, OSError)
    with pytest.raises(acs.NotFittedError, match="fit"):
        acs.GBDTClassifier().predict([[1.0]])
    with pytest.raises(acs.ModelError):
        acs.Booster.from_bytes(b"not a model")
    rules = {"id": "r", "tables": [{"table": "t", "key": ["id"], "duplicates": "reject_all"}]}
    with pytest.raises(acs.UnsupportedError, match="validate in memory") as unsupported:
        acs.Validator(rules).stream("t", pa.table({"id": pa.array([], pa.int64())}))
    assert isinstance(unsupported.value, NotImplementedError)


def test_gil_is_released_during_heavy_calls() -> None:
    ticks = 0
    stop = threading.Event()

    def spin() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    t = threading.Thread(target=spin)
    t.start()
    before = ticks
    acs.generate_demo(accounts=400, seed=1)
    during = ticks - before
    stop.set()
    t.join()
    assert during > 5, f"the other thread made {during} steps during generation"


def test_stubs_match_the_native_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "accountscope._native", "--ignore-missing-stub"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_python_quickstart_runs(tmp_path) -> None:
    import pathlib

    script = pathlib.Path(__file__).resolve().parents[3] / "examples" / "python" / "quickstart.py"
    result = subprocess.run([sys.executable, str(script), "200", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "portfolio by segment" in result.stdout and "read back" in result.stdout
    written = sorted(p.name for p in tmp_path.iterdir())
    assert len(written) == 8 and {n.rsplit(".", 1)[1] for n in written} == {"json", "html", "xlsx", "pdf"}, written


def test_trend_tests_from_polars() -> None:
    df = pl.DataFrame(
        {
            "account_id": ["a"] * 12 + ["b"] * 3,
            "date": [dt.date(2024, 1, d) for d in range(1, 13)] + [dt.date(2024, 1, d) for d in range(1, 4)],
            "logins": [1.0, 2.3, 2.9, 4.1, 3.8, 5.2, 6.0, 6.1, 7.4, 8.0, 7.7, 9.1, 1.0, 2.0, 3.0],
        }
    )
    out = acs.trend_tests(df, value_columns=["logins"]).to_polars()
    assert out["status"].to_list() == ["ok", "too_short"]
    # pymannkendall.original_test on the same values: S = 62, p = 2.8778e-05, Sen slope 0.7 per day.
    assert out["mk_s"][0] == 62.0
    assert abs(out["mk_p"][0] - 2.877817991331355e-05) < 1e-12
    assert abs(out["sen_slope"][0] - 0.7) < 1e-12
    with pytest.raises(acs.ConfigError, match="trend.alpha"):
        acs.trend_tests(df, alpha=2.0)
