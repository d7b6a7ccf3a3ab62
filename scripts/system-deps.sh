#!/usr/bin/env bash
# Debian packages the browser tests need: headless Chromium and its driver.
# Installs them only when running as root and a binary is missing; otherwise does nothing
# (the browser tests then skip, saying why). scripts/test.sh calls this script.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  exit 0
fi
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: apt-get not found; install chromium and chromium-driver yourself" >&2
  exit 0
fi
echo "== installing chromium and chromium-driver (browser tests)"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y chromium chromium-driver
