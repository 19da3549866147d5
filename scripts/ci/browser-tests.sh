#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The real-browser journeys (playwright-core, JavaScript off) on SQLite, or on PostgreSQL with
# the argument `postgres`. The browser is CHROMIUM_PATH when set (e.g. the Google Chrome of a
# GitHub runner, /usr/bin/google-chrome), else Debian's chromium, installed when missing.
# Screenshots land in test-results/screenshots/, JUnit in test-results/junit-browser-*.xml.
# Usage: scripts/ci/browser-tests.sh [sqlite|postgres]
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

database=${1:-sqlite}
export CI=true
if [[ -z "${CHROMIUM_PATH:-}" ]]; then
  CHROMIUM_PATH=$(bash scripts/ensure-chromium.sh)
  export CHROMIUM_PATH
fi
[[ -x "$CHROMIUM_PATH" ]] || die "no browser at $CHROMIUM_PATH"
log "browser: $CHROMIUM_PATH"

suite=(npm exec -- vitest run --config vitest.browser.config.ts)
case "$database" in
  sqlite) with_sqlite "${suite[@]}" ;;
  postgres) with_postgres "${suite[@]}" ;;
  *) usage ;;
esac
