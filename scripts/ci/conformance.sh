#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The official RealWorld Postman collection against a freshly started server, on SQLite and
# then on PostgreSQL (TEST_DATABASE_URL when set, else a private cluster).
# Usage: scripts/ci/conformance.sh
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

with_sqlite npm run test:conformance
with_postgres npm run test:conformance
