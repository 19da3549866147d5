#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The performance gate: the bench's gate subset on SQLite, each scenario's throughput as a ratio
# of bare node:http serving the same bytes in the same run, judged against bench/baseline.json;
# fails on a regression beyond the baseline's tolerance. Leaves its report in bench/report/.
# Usage: scripts/ci/bench-gate.sh
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

[[ $# -eq 0 ]] || usage
with_sqlite npm run bench -- --gate
