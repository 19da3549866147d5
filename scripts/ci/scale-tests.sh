#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The scale test: list query plans on 50,000 generated articles, on SQLite and then on
# PostgreSQL (TEST_DATABASE_URL when set, else a private cluster).
# Usage: scripts/ci/scale-tests.sh
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

with_sqlite npm exec -- vitest run --config vitest.scale.config.ts
with_postgres npm exec -- vitest run --config vitest.scale.config.ts
