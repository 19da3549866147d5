#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Gate on the image's known vulnerabilities: exits 1 when trivy finds any HIGH or CRITICAL one
# that has a fix (unfixed ones cannot be acted on and would block every release). Further
# arguments go to trivy, e.g. a report for GitLab:
#   --format template --template @/contrib/gitlab.tpl --output gl-container-scanning-report.json
# Usage: scripts/ci/scan-image.sh <image-ref> [trivy arguments...]
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

[[ $# -ge 1 ]] || usage
image=$1
shift
command -v trivy >/dev/null || die "trivy is not installed"

# Severity, unfixed, waivers (.trivyignore.yaml, each with a reason and an expiry): trivy.yaml.
trivy image --config trivy.yaml "$@" "$image"
