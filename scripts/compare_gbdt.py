"""Side-by-side GBDT comparison: accountscope vs LightGBM (and XGBoost) on workloads B1-B4 of the benchmark
plan, in one run on the same files. Run through scripts/compare_gbdt.sh, which makes the venv and builds
the release runner (examples/gbdt_bench.rs).

B1  training: 1,000,000 x 50 synthetic (informative, redundant, noise; 10% missing in 5 columns), 80/20 split,
    binary, num_leaves 63, max_bin 255, lr 0.1, min_data_in_leaf 20, lambda_l2 0, 2 threads, 100 rounds.
B2  IBM Telco churn (../shared/data/churn), 200 rounds, lr 0.05, 31 leaves: native categoricals and one-hot.
B3  batch prediction of 200,000 rows; single-row prediction.
B4  TreeSHAP on 10,000 rows vs LightGBM pred_contrib.
"""

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import xgboost as xgb
from sklearn.metrics import average_precision_score, roc_auc_score

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "target" / "bench-data"
RUNNER = ROOT / "target" / "release" / "examples" / "gbdt_bench"
SHARED = ROOT.parent / "shared" / "data" / "churn"
THREADS = 2


def b1_data():
    """The fixed B1 generator, written once to Parquet so both sides read the same rows."""
    train_path, test_path = DATA / "b1_train.parquet", DATA / "b1_test.parquet"
    if train_path.exists() and test_path.exists():
        return train_path, test_path
    DATA.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20261128)
    n, informative, redundant = 1_000_000, 10, 10
    noise = 50 - informative - redundant
    inf = rng.standard_normal((n, informative))
    mix = rng.standard_normal((informative, redundant))
    red = inf @ mix / np.sqrt(informative) + 0.3 * rng.standard_normal((n, redundant))
    noi = rng.standard_normal((n, noise))
    logit = (
        1.2 * inf[:, 0] - 0.8 * inf[:, 1] + 0.9 * np.sin(2 * inf[:, 2]) + 0.7 * inf[:, 3] * inf[:, 4]
        + 0.6 * (inf[:, 5] > 0.5) - 0.5 * np.abs(inf[:, 6]) + 0.4 * inf[:, 7] ** 2 - 0.3 * inf[:, 8]
        + 0.3 * inf[:, 9] - 0.4
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.float64)
    x = np.hstack([inf, red, noi])
    for j in (0, 3, 12, 25, 41):
        x[rng.random(n) < 0.10, j] = np.nan
    cols = {f"x{j:02d}": x[:, j] for j in range(50)}
    cols["label"] = y
    table = pa.table(cols)
    cut = int(n * 0.8)
    pq.write_table(table.slice(0, cut), train_path)
    pq.write_table(table.slice(cut), test_path)
    return train_path, test_path


def telco_data():
    """Telco split into train/test Parquet twice: categoricals as strings (native) and one-hot."""
    raw = pd.read_csv(SHARED / "ibm_telco_customer_churn.csv")
    splits = pd.read_csv(SHARED / "ibm_telco_splits.csv")
    raw["TotalCharges"] = pd.to_numeric(raw["TotalCharges"].str.strip().replace("", np.nan))
    raw["label"] = (raw.pop("Churn") == "Yes").astype(np.float64)
    raw = raw.drop(columns=["customerID"])
    raw["SeniorCitizen"] = raw["SeniorCitizen"].astype(np.float64)
    text = [c for c in raw.columns if not pd.api.types.is_numeric_dtype(raw[c])]
    onehot = pd.get_dummies(raw, columns=text, dtype=np.float64)
    is_train = (splits.sort_values("row")["holdout"] == "train").to_numpy()
    out = {}
    for name, frame in (("native", raw), ("onehot", onehot)):
        for part, mask in (("train", is_train), ("test", ~is_train)):
            path = DATA / f"telco_{name}_{part}.parquet"
            pq.write_table(pa.Table.from_pandas(frame[mask].reset_index(drop=True), preserve_index=False), path)
            out[(name, part)] = path
    return out, text


def run_ours(train, test, params, predict_rows=200_000, shap_rows=10_000, save=None):
    args = [str(RUNNER), "--train", str(train), "--test", str(test), "--label", "label", "--params",
            json.dumps(params), "--predict-rows", str(predict_rows), "--shap-rows", str(shap_rows)]
    if save:
        args += ["--save", str(save)]
    done = subprocess.run(args, check=True, capture_output=True, text=True)
    out = json.loads(done.stdout)
    if save:
        out["single_row_median_us_python"] = python_single_row(save, test)
    return out


def python_single_row(model_path, test, calls=2000):
    """B3 from Python: the saved model's `Booster.predict_row` on the first test row, timed per call as
    LightGBM's one-row `predict` is. None when the extension is not installed in this venv (the shell
    script installs it with `maturin develop --release`)."""
    try:
        import accountscope
    except ImportError:
        return None
    booster = accountscope.Booster.load(str(model_path))
    first = pq.read_table(test).drop_columns(["label"]).slice(0, 1).to_pylist()[0]
    row = [float("nan") if v is None else float(v) for v in first.values()]
    times = []
    for _ in range(calls):
        t = time.perf_counter()
        booster.predict_row(row)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def xy(path, categorical=()):
    frame = pq.read_table(path).to_pandas()
    y = frame.pop("label").to_numpy()
    for c in categorical:
        frame[c] = frame[c].astype("category")
    return frame, y


def run_lightgbm(train, test, params, rounds, categorical=(), predict_rows=200_000, shap_rows=10_000):
    x, y = xy(train, categorical)
    xt, yt = xy(test, categorical)
    if categorical:
        xt = xt.astype({c: pd.CategoricalDtype(x[c].cat.categories) for c in categorical})
    else:
        x, xt = x.to_numpy(), xt.to_numpy()
    start = time.perf_counter()
    booster = lgb.train(params, lgb.Dataset(x, y, params={"max_bin": params.get("max_bin", 255)}), rounds)
    train_seconds = time.perf_counter() - start
    p = booster.predict(xt)
    batch = xt[:predict_rows]
    times = []
    for _ in range(3):
        t = time.perf_counter()
        booster.predict(batch)
        times.append(time.perf_counter() - t)
    one = xt[:1]
    single = []
    for _ in range(2000):
        t = time.perf_counter()
        booster.predict(one)
        single.append(time.perf_counter() - t)
    t = time.perf_counter()
    contrib = booster.predict(xt[:shap_rows], pred_contrib=True)
    shap_seconds = time.perf_counter() - t
    raw = booster.predict(xt[:shap_rows], raw_score=True)
    return {
        "train_seconds": train_seconds,
        "test_auc": roc_auc_score(yt, p),
        "test_average_precision": average_precision_score(yt, p),
        "batch_seconds": statistics.median(times),
        "single_row_median_us_python": statistics.median(single) * 1e6,
        "shap_seconds": shap_seconds,
        "shap_max_sum_error": float(np.max(np.abs(contrib.sum(axis=1) - raw))),
    }


def run_xgboost(train, test, rounds):
    x, y = xy(train)
    xt, yt = xy(test)
    params = {"objective": "binary:logistic", "tree_method": "hist", "max_leaves": 63, "grow_policy": "lossguide",
              "max_depth": 0, "max_bin": 255, "eta": 0.1, "min_child_weight": 1e-3, "reg_lambda": 0.0,
              "nthread": THREADS}
    start = time.perf_counter()
    booster = xgb.train(params, xgb.DMatrix(x.to_numpy(), y, nthread=THREADS), rounds)
    train_seconds = time.perf_counter() - start
    p = booster.predict(xgb.DMatrix(xt.to_numpy(), nthread=THREADS))
    return {"train_seconds": train_seconds, "test_auc": roc_auc_score(yt, p)}


def main():
    repeats = int(os.environ.get("REPEATS", "3"))
    results = {"threads": THREADS, "lightgbm": lgb.__version__, "xgboost": xgb.__version__, "runs": []}
    train, test = b1_data()
    lgb_params = {"objective": "binary", "num_leaves": 63, "max_bin": 255, "learning_rate": 0.1,
                  "min_data_in_leaf": 20, "lambda_l2": 0.0, "num_threads": THREADS, "verbose": -1, "seed": 0}
    ours_params = {"objective": "binary", "num_iterations": 100, "num_leaves": 63, "max_bin": 255,
                   "learning_rate": 0.1, "min_data_in_leaf": 20, "lambda_l2": 0.0, "num_threads": THREADS}
    for r in range(repeats):
        run = {"workload": "B1-B4", "repeat": r}
        run["lightgbm"] = run_lightgbm(train, test, lgb_params, 100)
        run["accountscope"] = run_ours(train, test, ours_params, save=DATA / "b1_model.bin")
        run["xgboost"] = run_xgboost(train, test, 100)
        results["runs"].append(run)
        print(json.dumps(run), flush=True)

    if SHARED.exists():
        files, text = telco_data()
        b2_lgb = {"objective": "binary", "num_leaves": 31, "learning_rate": 0.05, "num_threads": THREADS,
                  "verbose": -1, "seed": 0}
        b2_ours = {"objective": "binary", "num_iterations": 200, "num_leaves": 31, "learning_rate": 0.05,
                   "num_threads": THREADS}
        for variant, categorical in (("onehot", ()), ("native", tuple(text))):
            tr, te = files[(variant, "train")], files[(variant, "test")]
            run = {"workload": f"B2-{variant}"}
            run["lightgbm"] = run_lightgbm(tr, te, b2_lgb, 200, categorical, predict_rows=1409, shap_rows=1409)
            run["accountscope"] = run_ours(tr, te, b2_ours, predict_rows=1409, shap_rows=1409)
            results["runs"].append(run)
            print(json.dumps(run), flush=True)

    out = ROOT / "target" / "bench-results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "gbdt.json").write_text(json.dumps(results, indent=2))
    summarize(results)


def summarize(results):
    b1 = [r for r in results["runs"] if r["workload"] == "B1-B4"]
    med = lambda side, key: statistics.median(r[side][key] for r in b1)
    print("\nB1-B4 medians over", len(b1), "runs (2 threads):")
    for key in ("train_seconds", "test_auc", "batch_seconds", "shap_seconds"):
        ours, theirs = med("accountscope", key), med("lightgbm", key)
        print(f"  {key:16s} accountscope {ours:.4f}  LightGBM {theirs:.4f}  ratio {ours / theirs:.3f}")
    print(f"  xgboost train_seconds {med('xgboost', 'train_seconds'):.3f} auc {med('xgboost', 'test_auc'):.4f}")
    print(f"  single row: accountscope median {med('accountscope', 'single_row_median_us'):.2f} us (Rust), "
          f"p99 {med('accountscope', 'single_row_p99_us'):.2f} us; "
          f"LightGBM {med('lightgbm', 'single_row_median_us_python'):.1f} us (Python predict of one row)")
    ours_python = [r["accountscope"].get("single_row_median_us_python") for r in b1]
    if all(v is not None for v in ours_python):
        print(f"  single row from Python: accountscope Booster.predict_row median {statistics.median(ours_python):.2f} us")
    else:
        print("  single row from Python: accountscope extension not installed in this venv (see compare_gbdt.sh)")
    for r in results["runs"]:
        if r["workload"].startswith("B2"):
            print(f"  {r['workload']}: AUC accountscope {r['accountscope']['test_auc']:.4f} "
                  f"LightGBM {r['lightgbm']['test_auc']:.4f}; PR AUC {r['accountscope']['test_average_precision']:.4f} "
                  f"vs {r['lightgbm']['test_average_precision']:.4f}")


if __name__ == "__main__":
    sys.exit(main())
