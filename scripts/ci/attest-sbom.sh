#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Attests the image's SBOM to its digest (cosign, keyless: the pipeline's OIDC identity), after
# checking it describes the whole image: a CycloneDX document listing the operating system's
# packages (Debian's, from the base image) as well as the npm packages, not the lockfile alone.
# The SBOM comes from trivy or syft run on the pushed digest (sbom.sh with an image argument).
# Verify with: cosign verify-attestation --type cyclonedx --certificate-identity-regexp ... <ref>
# Usage: scripts/ci/attest-sbom.sh <image-name@sha256:digest> <sbom.cdx.json>
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

[[ $# -eq 2 ]] || usage
ref=$1
sbom=$2
is_digest_ref "$ref" || die "refusing $ref: attest to a digest (name@sha256:<64 hex>), never a tag"
[[ -s "$sbom" ]] || die "no SBOM at $sbom"
grep -Eq '"bomFormat": *"CycloneDX"' "$sbom" || die "$sbom is not a CycloneDX document"
# Package URLs as trivy and syft write them: pkg:deb/debian/..., pkg:npm/...
grep -Eq '"purl": *"pkg:(deb|rpm|apk)/' "$sbom" || die "$sbom lists no operating system package: generate it from the image, not the lockfile"
grep -Eq '"purl": *"pkg:npm/' "$sbom" || die "$sbom lists no npm package"

cosign attest --yes --type cyclonedx --predicate "$sbom" "$ref"
log "attested $sbom to $ref"
