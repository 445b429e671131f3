#!/usr/bin/env bash
# Every check in one command: lint, format, types, import layers, tests.
#   scripts/check.sh            all tests (real models included)
#   scripts/check.sh -m "not real and not browser"   pytest options pass through (fast run)
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check index chat models tests benchmarks evals
.venv/bin/ruff format --check index chat models
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/python -m pytest "$@"
