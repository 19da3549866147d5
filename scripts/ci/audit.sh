#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Gate on known vulnerabilities in what the image ships: the production dependencies, at
# high or critical severity (development tools never reach the image).
# Usage: scripts/ci/audit.sh
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

npm audit --omit=dev --audit-level=high
