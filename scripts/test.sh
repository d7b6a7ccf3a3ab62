#!/usr/bin/env bash
# Set everything up and run the whole check: lint (ruff), types (mypy) and the test suite (pytest).
# Works on a fresh machine with Python 3.11+ and pip; as root it also installs the Debian packages
# the browser tests need. CI (.ci/run) calls exactly this script.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'

if [ -f scripts/system-deps.sh ]; then
  bash scripts/system-deps.sh
fi

echo "== ruff"
python3 -m ruff check capplan tests
python3 -m ruff format --check capplan tests
echo "== mypy"
python3 -m mypy
echo "== wheel (non-editable install outside the checkout)"
bash scripts/check-wheel.sh
echo "== pytest"
python3 -m pytest -n 2 -q "$@"
