#!/usr/bin/env bash
# Build the wheel, install it into a fresh virtual environment outside the checkout, and run
# `capplan --help`, `capplan formats` and `capplan demo` from there: a
# non-editable install must carry the catalog, the demo workload, the report template and the
# dashboard assets. Dependencies come from the machine's site-packages (already installed by
# scripts/test.sh); the check is about what the wheel itself holds.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m pip wheel --quiet --disable-pip-version-check --no-deps -w "$work/dist" .
python3 -m venv --system-site-packages "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check --no-deps "$work"/dist/capplan-*.whl
cd "$work"
location="$("$work/venv/bin/python" -c 'import capplan; print(capplan.__file__)')"
case "$location" in
  "$work"/venv/*) echo "wheel installed at $location" ;;
  *) echo "capplan was imported from $location, not from the wheel" >&2; exit 1 ;;
esac
"$work/venv/bin/capplan" --help > /dev/null
"$work/venv/bin/capplan" formats > /dev/null
"$work/venv/bin/capplan" demo --out "$work/reports/demo.html" > "$work/demo.log"
test -s "$work/reports/demo.html"
tail -n 1 "$work/demo.log"
echo "wheel check passed"
