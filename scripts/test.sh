#!/usr/bin/env bash
# Runs Dalil's test suite on a fresh machine: venv, package + test extras, Chromium for the
# browser checks (Debian package; root or sudo), then pytest. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -e '.[test]'

if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

.venv/bin/ruff check agent tests
.venv/bin/mypy agent  # settings in pyproject.toml [tool.mypy]
# two workers (pytest-xdist): every test has its own tmp_path, HOME, runtime folder and free ports, and each
# worker seeds its own store; extra arguments are passed on (`-m "not slow"`, `-n 0` for one process)
exec .venv/bin/python -m pytest -q -n 2 --dist worksteal "$@"
