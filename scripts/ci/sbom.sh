#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Software bills of materials in CycloneDX JSON: sbom.cdx.json, the production dependencies
# as the lockfile pins them (what `npm ci --omit=dev` puts in the image); and, given an image
# and where trivy is installed, sbom-image.cdx.json, everything in the image (OS packages too).
# Usage: scripts/ci/sbom.sh [image-ref]
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

output=${SBOM_DIR:-.}
mkdir -p "$output"
npm exec -- cyclonedx-npm --package-lock-only --omit dev --mc-type application \
  --output-reproducible --validate --output-format JSON --output-file "$output/sbom.cdx.json"
log "wrote $output/sbom.cdx.json"

if [[ $# -ge 1 ]]; then
  if command -v trivy >/dev/null; then
    trivy image --format cyclonedx --output "$output/sbom-image.cdx.json" "$1"
    log "wrote $output/sbom-image.cdx.json"
  else
    log "trivy is not installed: no image SBOM for $1"
  fi
fi
