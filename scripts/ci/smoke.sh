#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# After a promotion: waits until the deployment at <url> is ready and runs the expected
# commit (Argo CD syncs, then pods roll; SMOKE_TIMEOUT seconds, 600 by default), then runs
# the smoke test (scripts/smoke.ts) against it once. Exits 1 when either fails.
# Usage: scripts/ci/smoke.sh <url> [expected git sha]
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

[[ $# -ge 1 && $# -le 2 ]] || usage
url=$1
sha=${2:-}

node24 scripts/ci/wait-for-version.ts "$url" "$sha" "${SMOKE_TIMEOUT:-600}"
if [[ -n "$sha" ]]; then
  npm run --silent smoke -- "$url" --expect-sha "$sha"
else
  npm run --silent smoke -- "$url"
fi
