#!/usr/bin/env bash
# Runs every test of accountscope and installs what it needs (Python packages into .venv).
# Needs only Rust, Python >= 3.11 and a C compiler. Everything builds in the dev profile in one target dir.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
step() { printf '\n==> %s\n' "$*"; }

step "format"
cargo fmt --all --check

step "build every crate and target (tests, examples, benches) once"
cargo build --workspace --all-targets

step "Rust tests (unit, integration, doc tests including the README example)"
cargo test --workspace

step "report readers: headless Chromium and poppler (pdfinfo, pdftotext)"
if ! command -v chromium > /dev/null || ! command -v pdftotext > /dev/null; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q > /dev/null
  $SUDO apt-get install -y -q --no-install-recommends chromium poppler-utils > /dev/null
fi

step "Python environment (.venv)"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "maturin>=1.16,<2" "pytest>=8" "pyarrow>=14" "pandas>=2.2" "polars>=1.0" "mypy>=1.10" scikit-learn statsmodels \
  "jsonschema>=4.18" "openpyxl>=3.1" "nbclient>=0.10" "nbformat>=5.10" "ipykernel>=6.29" "tqdm>=4.66"

step "Python extension (dev profile, shared target dir)"
VIRTUAL_ENV="$PWD/.venv" PATH="$PWD/.venv/bin:$PATH" .venv/bin/maturin develop --quiet -m crates/python/Cargo.toml

step "Python tests"
.venv/bin/python -m pytest crates/python/tests -q
