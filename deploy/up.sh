#!/usr/bin/env bash
# README command 1: set everything up, then run the platform on its embedded defaults.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/setup.sh"
cd "$here/.."
exec .venv/bin/tubestream up
