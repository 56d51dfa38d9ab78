#!/usr/bin/env bash
# GBDT comparison against LightGBM and XGBoost (B1-B4 of ../shared/BENCHMARKS.md), one run, same files.
# Makes its own venv, builds the release runner, writes target/bench-results/gbdt.json. Not part of CI
# (a cold release build takes ~17 minutes here, the extension's as long again).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-bench
.venv-bench/bin/pip install --quiet --upgrade pip
.venv-bench/bin/pip install --quiet lightgbm xgboost numpy pandas pyarrow scikit-learn maturin
cargo build --release --example gbdt_bench
# The Python extension, in release, for B3's single row from Python.
VIRTUAL_ENV="$PWD/.venv-bench" PATH="$PWD/.venv-bench/bin:$PATH" \
  .venv-bench/bin/maturin develop --release --quiet -m crates/python/Cargo.toml
.venv-bench/bin/python scripts/compare_gbdt.py "$@"
