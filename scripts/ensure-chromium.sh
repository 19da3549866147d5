#!/usr/bin/env bash
# Makes sure Debian's chromium is installed for the browser tests (never downloads a browser
# of its own); prints the executable's path.
set -euo pipefail
bash "$(dirname "$0")/ensure-packages.sh" chromium=chromium
command -v chromium
