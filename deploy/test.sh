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
# The browser test (tests/e2e): Debian's chromium, driven by playwright-core pinned in tests/e2e.
if [ ! -x /usr/bin/chromium ]; then
  echo "== installing chromium (Debian package) for the browser test"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
e2e="tests/e2e"
want="$(sha256sum "$e2e/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$e2e/node_modules/.tubestream-installed" 2>/dev/null)" != "$want" ]; then
  echo "== npm ci in $e2e (playwright-core)"
  (cd "$e2e" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" > "$e2e/node_modules/.tubestream-installed"
fi
echo "== ruff"
ruff check .
ruff format --check .
echo "== mypy"
mypy .
echo "== pytest"; exec pytest "$@"
