#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# After a promotion: waits until the deployment at <url> is ready and runs the expected
# commit (Argo CD syncs, then pods roll; SMOKE_TIMEOUT seconds, 600 by default), then runs
# the smoke test (scripts/smoke.ts) against it once. Exits 1 when either fails.
# SMOKE_READ_ONLY=true runs the read-only smoke: it writes no user or article (for a check by hand
# against production; the pipelines run this for staging, and Argo CD's PostSync hook smoke-tests
# production, deploy/kubernetes/components/smoke-test).
# Usage: scripts/ci/smoke.sh <url> [expected git sha]
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

[[ $# -ge 1 && $# -le 2 ]] || usage
url=$1
sha=${2:-}

node24 scripts/ci/wait-for-version.ts "$url" "$sha" "${SMOKE_TIMEOUT:-600}"
args=("$url")
if [[ -n "$sha" ]]; then
  args+=(--expect-sha "$sha")
fi
if [[ "${SMOKE_READ_ONLY:-false}" == true ]]; then
  args+=(--read-only)
fi
npm run --silent smoke -- "${args[@]}"
