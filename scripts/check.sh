#!/usr/bin/env bash
# Every check in one command: lint, format, types, import layers, tests, over the product
# (index chat models), benchmarks/ and evals/ (tests/ is linted, not reformatted).
#   scripts/check.sh            all tests (real models included)
#   scripts/check.sh -m "not real and not browser"   pytest options pass through (fast run)
#   scripts/check.sh --lint-only   lint, format, types and import layers, no tests (CI runs
#                                  every test next, with the README's command)
# ruff, mypy and import-linter are the `dev` extra; after `scripts/install.sh --test` (the
# `test` extra) the first run installs them into .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/ruff ] || [ ! -x .venv/bin/mypy ] || [ ! -x .venv/bin/lint-imports ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test,dev]"
fi
.venv/bin/ruff check index chat models tests benchmarks evals
.venv/bin/ruff format --check index chat models benchmarks evals
.venv/bin/mypy  # the files listed in pyproject.toml: index chat models benchmarks evals
.venv/bin/lint-imports
if [ "${1:-}" = "--lint-only" ]; then
  exit 0
fi
.venv/bin/python -m pytest "$@"
