#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The test suite with coverage on PostgreSQL: the server in TEST_DATABASE_URL (an admin URL;
# every test file creates its own database) or, without one, a private cluster.
# JUnit in test-results/junit-postgres.xml, coverage in coverage/postgres/.
# Usage: scripts/ci/postgres-tests.sh [vitest arguments...]
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

export CI=true
with_postgres npm test -- "$@"
