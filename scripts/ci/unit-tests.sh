#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The test suite with coverage on SQLite, as CI reports it: JUnit in
# test-results/junit-sqlite.xml, coverage (Cobertura, lcov, summary) in coverage/.
# Usage: scripts/ci/unit-tests.sh [vitest arguments...]
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

# CI=true switches the vitest configs to the JUnit reporter.
export CI=true
with_sqlite npm test -- "$@"
