#!/usr/bin/env bash
# README command 2: set everything up, then run the whole test suite (lint, types, tests).
# Extra arguments go to pytest, e.g. `deploy/test.sh -k catalog -x`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/setup.sh"
cd "$here/.."
export PATH="$PWD/.venv/bin:$PATH"
# The upload tests run against a real MinIO (S3), built from source once.
if [ ! -x "${TUBESTREAM_HOME:-.local}/minio/bin/minio" ]; then
  command -v go >/dev/null || { echo "test: 'go' is missing: MinIO (S3 for the tests) is built with it" >&2; exit 1; }
  echo "== building MinIO from source with go install (a few minutes, once)"
fi
tubestream minio build
# The search contract tests run against a real Elasticsearch: Maven Central's test distribution, once.
tubestream elasticsearch fetch
echo "== ruff"
ruff check .
ruff format --check .
echo "== mypy"
mypy .
echo "== pytest"; exec pytest "$@"
