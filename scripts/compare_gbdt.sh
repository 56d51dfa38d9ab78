#!/usr/bin/env bash
# GBDT comparison against LightGBM and XGBoost (B1-B4 of ../shared/BENCHMARKS.md), one run, same files.
# Makes its own venv, builds the release runner, writes target/bench-results/gbdt.json. Not part of CI
# (a cold release build takes ~17 minutes here).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-bench
.venv-bench/bin/pip install --quiet --upgrade pip
.venv-bench/bin/pip install --quiet lightgbm xgboost numpy pandas pyarrow scikit-learn
cargo build --release --example gbdt_bench
.venv-bench/bin/python scripts/compare_gbdt.py "$@"
