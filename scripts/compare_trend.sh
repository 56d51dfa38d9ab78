#!/usr/bin/env bash
# Trend comparison against statsmodels (B5 and B6 of ../shared/BENCHMARKS.md), one run, same data.
# Makes its own venv, builds the release runner, writes target/bench-results/trend.json. Not part of CI
# (a cold release build takes ~17 minutes here). Arguments go to compare_trend.py (e.g. --series 200).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-bench
.venv-bench/bin/pip install --quiet --upgrade pip
.venv-bench/bin/pip install --quiet statsmodels pymannkendall pandas numpy pyarrow
cargo build --release --example trend_bench
.venv-bench/bin/python scripts/compare_trend.py "$@"
