#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# ESLint and the TypeScript compiler in strict mode; fails on the first that fails.
# Usage: scripts/ci/lint.sh
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

npm run lint
npm run typecheck
