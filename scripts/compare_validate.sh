#!/usr/bin/env bash
# Validation comparison against pandera (B7 of ../shared/BENCHMARKS.md), one run, same Parquet file.
# Makes its own venv, builds the release runner, writes target/bench-results/validate.json. Not part of CI
# (a cold release build takes ~17 minutes here). Arguments go to compare_validate.py (e.g. --rows 1000000).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-bench
.venv-bench/bin/pip install --quiet --upgrade pip
.venv-bench/bin/pip install --quiet pandera pandas numpy pyarrow
cargo build --release --example validate_bench
.venv-bench/bin/python scripts/compare_validate.py "$@"
