"""The notebook experience: progress of long calls, Ctrl-C, HTML views, and the churn walkthrough notebook
run headless (nbclient) so it cannot rot."""

from __future__ import annotations

import os
import pathlib
import signal
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest

import accountscope as acs
from accountscope import _progress, health, predict

ROOT = pathlib.Path(__file__).resolve().parents[3]


def data(rows: int = 2000, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 8))
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.5, size=rows) > 0).astype(float)
    return x, y


def test_progress_callback_sees_the_rounds_and_its_error_stops_training() -> None:
    x, y = data()
    seen: list[tuple[str, int, int]] = []
    model = acs.GBDTClassifier(num_iterations=300, num_leaves=63).fit(
        x, y, progress=lambda *step: seen.append(step)
    )
    assert seen[-1] == ("gbdt", 300, 300), "the last step shown is the finished task"
    assert [d for _, d, _ in seen] == sorted(d for _, d, _ in seen)
    assert model.booster_.num_trees == 300

    def fail(task: str, done: int, total: int) -> None:
        raise RuntimeError(f"stop at {done}")

    again = acs.GBDTClassifier(num_iterations=100_000)
    with pytest.raises(RuntimeError, match="stop at"):
        again.fit(x, y, progress=fail)
    assert not hasattr(again, "booster_"), "a cancelled fit leaves no model"


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_ctrl_c_stops_training_with_keyboard_interrupt() -> None:
    x, y = data(20_000)
    seen: list[int] = []
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    model = acs.GBDTClassifier(num_iterations=100_000)
    try:
        with pytest.raises(KeyboardInterrupt):
            model.fit(x, y, progress=lambda task, done, total: seen.append(done))
    finally:
        timer.cancel()
    assert seen and seen[-1] < 100_000, "training stopped early"
    assert not hasattr(model, "booster_")


def test_model_fits_report_each_task(demo_features) -> None:
    tasks: list[str] = []
    predict.churn_model(
        demo_features,
        horizons=[90, 365],
        primary_horizon=365,
        classifier={"gbdt": {"num_iterations": 30, "min_data_in_leaf": 5}},
        progress=lambda task, done, total: tasks.append(task),
    )
    # Steps are sampled every 100 ms, so a short task may not be seen; the last one always is.
    assert set(tasks) <= {"churn 90d", "churn 365d"} and tasks[-1] == "churn 365d"


def test_text_and_tqdm_displays(monkeypatch, capsys) -> None:
    monkeypatch.setattr(_progress, "DELAY_SECONDS", 0.0)
    text = _progress._Text()
    text("gbdt", 5, 10)
    text("gbdt", 10, 10)
    text.close()
    err = capsys.readouterr().err
    assert "gbdt: 5/10 (50%)" in err and "gbdt: 10/10 (100%)" in err and err.endswith("\r")
    with _progress.reporter(True) as report:
        assert isinstance(report, _progress._Tqdm), "tqdm is installed in the test environment"
        report("churn 30d", 3, 10)
        report("churn 90d", 4, 10)
        assert report._bar.n == 4 and report._bar.total == 10 and report._bar.desc.startswith("churn 90d")
    assert "churn 90d" in capsys.readouterr().err
    with _progress.reporter(False) as report:
        assert report is None
    x, y = data(200)
    acs.GBDTClassifier(num_iterations=5).fit(x, y, progress=False)
    assert capsys.readouterr().err == ""


def test_health_summary_matches_the_raw_history() -> None:
    demo = acs.generate_demo(accounts=150, seed=3)
    engine = acs.Engine(threads=1)
    engine.register_demo(demo)
    steps: list[tuple[str, int, int]] = []
    out = health.history(engine, "2024-06-01", "2024-06-30", step_days=7, progress=lambda *s: steps.append(s))
    assert steps[-1] == ("health", 150, 150), "the last step shown is every account scored"
    found: list[tuple[str, int, int]] = []
    acs.anomaly.detect(demo.table("usage"), progress=lambda *s: found.append(s))
    assert found[-1] == ("anomalies", 150, 150)
    summary = out.summary()
    frame = out.history.to_pandas()
    frame["date"] = pd.to_datetime(frame["date"])
    for key, day in (("first", frame["date"].min()), ("last", frame["date"].max())):
        rows = frame[(frame["date"] == day) & frame["score"].notna()]
        assert summary[key]["date"] == day.date().isoformat()
        assert summary[key]["scored"] == len(rows)
        assert summary[key]["bands"] == [int((rows["band"] == b).sum()) for b in ("red", "yellow", "green")]
        assert summary[key]["mean_score"] == pytest.approx(rows["score"].mean(), rel=1e-12)
    changes = out.band_changes.to_pandas()
    order = {"red": 0, "yellow": 1, "green": 2}
    worse = sum(order[t] < order[f] for f, t in zip(changes["from_band"], changes["to_band"]))
    assert summary["downgrades"] == worse
    html = out._repr_html_()
    assert "<table>" in html and "Health summary" in html


def test_evaluations_render_as_tables() -> None:
    y = [0, 0, 1, 1, 0, 1, 0, 1]
    p = [0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.6, 0.7]
    evaluation = predict.evaluate(y, p, 0.5)
    assert isinstance(evaluation, dict) and evaluation["rows"] == 8
    html = evaluation._repr_html_()
    assert "ROC AUC" in html and "Lift by decile" in html and "Calibration" in html
    assert f"{evaluation['roc_auc']:.4f}" in html


@pytest.fixture(scope="module")
def demo_features() -> acs.Table:
    import datetime as dt

    demo = acs.generate_demo(accounts=300, seed=5)
    return predict.build_features(demo, predict.monthly(dt.date(2023, 4, 1), dt.date(2024, 12, 1)))


def test_churn_walkthrough_notebook_runs(tmp_path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    path = ROOT / "examples" / "python" / "churn_walkthrough.ipynb"
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    started = time.monotonic()
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("Churn model evaluation" in h for h in html), "the evaluation renders as a table"
    assert any("Health summary" in h for h in html)
    assert any("<iframe" in h and "&lt;svg" in h for h in html), "the report's charts display inline"
    print(f"notebook ran in {time.monotonic() - started:.1f} s", file=sys.stderr)
