#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Software bills of materials in CycloneDX JSON. Without an argument: sbom.cdx.json, the
# production dependencies as the lockfile pins them (what `npm ci --omit=dev` puts in the image).
# Given a pushed image: sbom-image.cdx.json, everything in it (Debian's packages from the base
# image as well as node_modules), by trivy (trivy-sbom.yaml); that is the SBOM attest-sbom.sh
# attests to the digest.
# SBOM_DIR is where they go (default: here).
# Usage: scripts/ci/sbom.sh [image-ref]
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

output=${SBOM_DIR:-.}
mkdir -p "$output"
if [[ $# -eq 0 ]]; then
  npm exec -- cyclonedx-npm --package-lock-only --omit dev --mc-type application \
    --output-reproducible --validate --output-format JSON --output-file "$output/sbom.cdx.json"
  log "wrote $output/sbom.cdx.json"
else
  command -v trivy >/dev/null || die "trivy is not installed: no image SBOM for $1"
  # trivy-sbom.yaml, not the gate's trivy.yaml, which trivy would otherwise read from here.
  trivy image --config trivy-sbom.yaml --output "$output/sbom-image.cdx.json" "$1"
  log "wrote $output/sbom-image.cdx.json"
fi
