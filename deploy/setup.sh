#!/usr/bin/env bash
# Set up a fresh clone: virtualenv, the package and its dev tools, FFmpeg, the web app's npm packages,
# Apache Kafka, Apache Cassandra.
# Idempotent and quick when nothing changed; sourced by up.sh and test.sh, or run alone.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
venv="$repo/.venv"

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }
need_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  echo "setup: need root to run: $*" >&2; return 1; fi; }

python=""
for candidate in python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    python="$candidate"; break
  fi
done
[ -n "$python" ] || { echo "setup: tubestream needs Python 3.11 or newer" >&2; exit 1; }

if [ ! -x "$venv/bin/python" ]; then
  say "creating the virtualenv in .venv"
  "$python" -m venv "$venv"
fi

# Reinstall only when the package definition changed.
stamp="$venv/.tubestream-installed"
want="$(cat setup.cfg pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing tubestream and its dev tools into .venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet -e '.[dev]'
  echo "$want" > "$stamp"
fi

if ! command -v ffmpeg >/dev/null || ! command -v ffprobe >/dev/null; then
  say "installing FFmpeg (Debian package)"
  need_root apt-get update -qq
  need_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null
fi

# The web app's players (hls.js, dash.js), pinned in query_api/web/package-lock.json; npm ci again only
# when the lock file changed. The query API serves them from /static/vendor/.
if ! command -v npm >/dev/null; then
  say "installing Node.js and npm (Debian packages)"
  need_root apt-get update -qq
  need_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
npm_ci() {  # npm_ci FOLDER: install its lock file's packages into FOLDER/node_modules unless done already
  local folder="$1" want stamp
  want="$(sha256sum "$folder/package-lock.json" | cut -d' ' -f1)"
  stamp="$folder/node_modules/.tubestream-installed"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "npm ci in ${folder#"$repo"/}"
    (cd "$folder" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$want" > "$stamp"
  fi
}
npm_ci "$repo/query_api/web"

for tool in java mvn; do
  command -v "$tool" >/dev/null || { echo "setup: '$tool' is missing: Kafka and Cassandra need a JDK 17+ and Maven" >&2; exit 1; }
done

"$venv/bin/tubestream" kafka fetch
"$venv/bin/tubestream" cassandra fetch  # the views' distributed store; the test suite runs one node
say "ready"
