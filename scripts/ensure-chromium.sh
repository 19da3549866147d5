#!/usr/bin/env bash
# Makes sure Debian's chromium is installed for the browser tests (never downloads a browser
# of its own); prints the executable's path.
set -euo pipefail

if ! command -v chromium >/dev/null 2>&1; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "ensure-chromium: chromium is missing; install it with: sudo apt-get install chromium" >&2
    exit 1
  fi
  echo "ensure-chromium: installing Debian's chromium" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
fi
command -v chromium
