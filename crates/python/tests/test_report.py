"""Reports opened by real readers: the JSON against its JSON Schema (jsonschema), the workbook with openpyxl
(cell values equal the report's tables), the PDF with poppler's pdfinfo and pdftotext (the KPI values are
found as text), the HTML rendered to a screenshot by headless Chromium without console errors; no PII of
the demo in any byte of any format for masked roles; erasure; schedules.

The readers are installed by scripts/test.sh; a missing one skips its test locally and fails it in CI."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import zipfile

import pytest

import accountscope as acs
from accountscope import anomaly, health, predict, report

AS_OF = dt.date(2026, 1, 1)
IN_CI = bool(os.environ.get("CI"))


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if IN_CI:
            pytest.fail(f"{tool} is not installed (scripts/test.sh installs it)")
        pytest.skip(f"{tool} is not installed")
    return path


@pytest.fixture(scope="module")
def demo():
    return acs.generate_demo(accounts=300, seed=9)


@pytest.fixture(scope="module")
def engine(demo):
    engine = acs.Engine()
    engine.register_demo(demo)
    engine.register("health", health.history(engine, dt.date(2025, 1, 6), dt.date(2025, 12, 31), step_days=7).history)
    anomaly.detect(demo.table("usage")).register(engine)
    features = predict.build_features(demo, predict.monthly(dt.date(2023, 4, 1), dt.date(2025, 6, 1)))
    known = predict.known_at(features, dt.date(2025, 7, 1))
    churn = predict.churn_model(known, horizons=[30, 90])
    expansion = predict.expansion_model(known, horizons=[90])
    current = predict.build_features(demo, [AS_OF])
    engine.register("churn_risk", churn.predict(current))
    engine.register("expansion_forecast", expansion.predict(current))
    return engine


@pytest.fixture(scope="module")
def executive(engine):
    return report.build(engine, "executive", as_of=AS_OF, key=b"a test key of 32 bytes..........")


@pytest.fixture(scope="module")
def files(executive, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    paths = executive.write(out, "executive")
    return {os.path.splitext(str(p))[1].lstrip("."): str(p) for p in paths}


def kpis(document: dict) -> list[dict]:
    def walk(sections):
        for s in sections:
            for b in s["blocks"]:
                if b["type"] == "kpis":
                    yield from b["kpis"]
            yield from walk(s["sections"])

    return list(walk(document["sections"]))


def tables(document: dict) -> list[dict]:
    def walk(sections):
        for s in sections:
            yield from (b for b in s["blocks"] if b["type"] == "table")
            yield from walk(s["sections"])

    return list(walk(document["sections"]))


def test_json_validates_against_its_schema(files):
    jsonschema = pytest.importorskip("jsonschema")
    with open(files["json"], encoding="utf-8") as f:
        document = json.load(f)
    jsonschema.Draft202012Validator(report.json_schema()).validate(document)
    assert document["schema"] == "accountscope.report/1"
    assert document["role"] == "executive"
    assert len(kpis(document)) >= 8


def test_workbook_cells_equal_the_report_tables(files, executive):
    openpyxl = pytest.importorskip("openpyxl")
    document = json.loads(executive.to_json())
    book = openpyxl.load_workbook(files["xlsx"])
    assert book.sheetnames[0] == "Summary"
    checked = 0
    for table in tables(document):
        sheet = next(book[n] for n in book.sheetnames if n == table["title"][:31])
        header = [c.value for c in sheet[1]]
        assert header == [c["name"] for c in table["columns"]]
        assert sheet.freeze_panes == "A2"
        for r, row in enumerate(table["rows"], start=2):
            for c, expected in enumerate(row, start=1):
                got = sheet.cell(row=r, column=c).value
                if expected is None:
                    assert got is None
                elif isinstance(expected, bool):
                    assert got is expected
                elif isinstance(expected, (int, float)):
                    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)
                elif table["columns"][c - 1]["type"] == "Date32":
                    assert got.date().isoformat() == expected
                else:
                    assert got == expected
                checked += 1
    assert checked > 100
    summary = book["Summary"]
    assert summary._charts, "the summary holds native Excel charts"


def test_pdf_passes_pdfinfo_and_its_text_holds_the_kpis(files, executive):
    info = subprocess.run([need("pdfinfo"), files["pdf"]], capture_output=True, text=True, check=True).stdout
    assert "Pages:" in info and "Executive summary" in info
    text = subprocess.run([need("pdftotext"), "-layout", files["pdf"], "-"], capture_output=True, text=True, check=True).stdout
    for k in kpis(json.loads(executive.to_json())):
        assert k["display"] in text, k


def screenshot(chromium: str, html: str, shot, profile) -> list[str]:
    """Renders `html` to `shot`; returns the console messages Chromium logged."""
    result = subprocess.run(
        [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
            "--enable-logging=stderr", "--v=0", "--window-size=1280,4000", f"--screenshot={shot}",
            "file://" + os.path.abspath(html),
        ],
        capture_output=True, text=True, timeout=120,
    )
    assert shot.exists(), result.stderr[-2000:]
    return [line for line in result.stderr.splitlines() if "CONSOLE" in line]


def test_html_renders_in_headless_chromium_without_console_errors(files, tmp_path):
    chromium = need("chromium")
    shot = tmp_path / "executive.png"
    console = screenshot(chromium, files["html"], shot, tmp_path / "profile")
    assert shot.stat().st_size > 20_000
    assert not console, console
    # Positive control: a page that logs an error is caught, so the check above is not vacuous.
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><p>x</p><script>console.error("control")</script></body></html>')
    assert any("control" in line for line in screenshot(chromium, str(bad), tmp_path / "bad.png", tmp_path / "p2"))


def pii_strings(demo) -> set[str]:
    accounts = demo.table("accounts").to_pyarrow()
    surveys = demo.table("surveys").to_pyarrow()
    values = set(accounts.column("csm_owner").to_pylist()) | set(accounts.column("contact_email").to_pylist())
    values |= set(surveys.column("comment").to_pylist())
    return {v for v in values if v}


def all_bytes(path: str) -> bytes:
    if path.endswith(".xlsx"):
        with zipfile.ZipFile(path) as z:
            return b"".join(z.read(n) for n in z.namelist())
    with open(path, "rb") as f:
        return f.read()


@pytest.mark.parametrize("role", ["executive", "analyst", "auditor"])
def test_masked_roles_leak_no_pii_in_any_format(engine, demo, role, tmp_path):
    pii = pii_strings(demo)
    assert len(pii) > 300
    account = engine.sql("SELECT account_id FROM churn_risk ORDER BY churn_probability_90d DESC LIMIT 1").to_pyarrow().to_pylist()[0]["account_id"]
    for template in ("executive", "csm"):
        built = report.build(engine, template, role=role, as_of=AS_OF, account_id=account)
        for path in built.write(tmp_path, template):
            data = all_bytes(str(path)).decode("utf-8", errors="replace")
            leaked = [v for v in pii if v in data]
            assert not leaked, (role, template, str(path), leaked[:5])
    # Positive control: the CSM sees the contact's address, so the scan can find PII when it is there.
    own = report.build(engine, "csm", role="csm", as_of=AS_OF, account_id=account)
    own.write(tmp_path, "own", ["xlsx"])
    assert any(v in all_bytes(str(tmp_path / "own.xlsx")).decode("utf-8", "replace") for v in pii if "@" in v)


def test_bad_spec_names_the_widget_and_field(engine):
    bad = {"id": "c", "title": "C", "sections": [{"title": "S", "widgets": [{"id": "top", "kind": "table"}]}]}
    with pytest.raises(acs.ConfigError, match="widget 'top', field 'sql'"):
        report.build(engine, bad)
    with pytest.raises(acs.ConfigError, match=r"'executve' is neither a template \(executive, "):
        report.build(engine, "executve")
    custom = {
        "id": "by_segment", "title": "Accounts by segment", "role": "analyst",
        "sections": [{"title": "Segments", "widgets": [
            {"id": "counts", "kind": "chart", "chart": "bar", "x": "segment", "y": ["accounts"],
             "sql": "SELECT segment, COUNT(*) AS accounts FROM accounts WHERE account_id IN {scope} GROUP BY segment ORDER BY segment"}]}],
    }
    built = report.build(engine, custom, segments=["SMB"])
    chart = json.loads(built.to_json())["sections"][0]["blocks"][0]
    assert chart["x"]["values"] == ["SMB"]


def test_publish_audits_and_schedules_run(engine, tmp_path):
    audit = tmp_path / "audit.jsonl"
    schedules = [{"name": "weekly-exec", "cron": "0 7 * * MON", "template": "executive", "formats": ["json", "pdf"],
                  "output_dir": tmp_path / "scheduled"}]
    after, until = dt.datetime(2026, 11, 23, 6, tzinfo=dt.timezone.utc), dt.datetime(2026, 11, 23, 8, tzinfo=dt.timezone.utc)
    assert [n for n, _ in report.due(schedules, after, until)] == ["weekly-exec"]
    ran = report.run_due(engine, schedules, after, until, actor="scheduler", audit_path=audit)
    assert len(ran) == 1 and len(ran[0][2]) == 2
    entries = [json.loads(line) for line in audit.read_text().splitlines()]
    assert entries[0]["actor"] == "scheduler" and entries[0]["action"] == "report"
    import hashlib
    for name, digest in entries[0]["outputs"]:
        assert hashlib.sha256((tmp_path / "scheduled" / name).read_bytes()).hexdigest() == digest


def test_erasure_receipt(demo, tmp_path):
    engine = acs.Engine()
    engine.register_demo(demo)
    account = demo.table("accounts").to_pyarrow().column("account_id")[0].as_py()
    audit = tmp_path / "audit.jsonl"
    receipt = report.erase_account(engine, account, actor="dpo", audit_path=audit)
    entry = json.loads(audit.read_text())
    assert entry["action"] == "erasure" and entry["actor"] == "dpo" and account not in audit.read_text()
    removed = {t["table"]: t["rows_removed"] for t in receipt["tables"]}
    assert removed["accounts"] == 1 and removed["usage"] > 0
    assert engine.sql(f"SELECT COUNT(*) AS n FROM usage WHERE account_id = '{account}'").to_pyarrow().to_pylist()[0]["n"] == 0
