#!/usr/bin/env bash
# README command 2: set everything up, then run the whole test suite (lint, types, tests).
# Extra arguments go to pytest, e.g. `deploy/test.sh -k catalog -x`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/setup.sh"
cd "$here/.."
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff"
ruff check .
ruff format --check .
echo "== mypy"
mypy .
echo "== pytest"; exec pytest "$@"
