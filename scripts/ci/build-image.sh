#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds the Dockerfile with its OCI build arguments and, unless PUSH=false, pushes every tag
# and records the digest the registry answered in image.env (IMAGE_ENV), as dotenv lines:
#   IMAGE_NAME=<name>  IMAGE_DIGEST=sha256:...  IMAGE_REF=<name>@sha256:...
# which a GitLab job hands on as a dotenv report, and as image, digest and ref to
# $GITHUB_OUTPUT when GitHub sets it.
# The digest, never a tag, is what gets scanned, signed and promoted.
# The builder is docker buildx (GitHub runners, laptops) or buildah (rootless, in a GitLab
# job); BUILD_CACHE=<repository> adds a registry layer cache to either (with buildah, a cached
# layer keeps the dates of the build that wrote it: the pipelines build buildah images clean).
# Usage: scripts/ci/build-image.sh <docker|buildah> <image-name> <tag> [tag...]
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

[[ $# -ge 3 ]] || usage
builder=$1
name=$2
shift 2
tags=("$@")
push=${PUSH:-true}
image_env=${IMAGE_ENV:-image.env}

# package.json's version, read with sed (the buildah image has no Node.js, and no git either,
# hence the pipelines' variables first below). Release tags do not build (scripts/ci/retag.sh):
# the version a release reports is the one main's build baked in.
version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json)
source_url=${SOURCE_URL:-${CI_PROJECT_URL:-${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:-unknown}}}
# Reproducible: every date in the image is the commit's (SOURCE_DATE_EPOCH), never the clock's,
# so building one commit twice gives one digest.
if [[ -z "${SOURCE_DATE_EPOCH:-}" ]]; then
  if [[ -n "${CI_COMMIT_TIMESTAMP:-}" ]]; then
    SOURCE_DATE_EPOCH=$(date -u -d "$CI_COMMIT_TIMESTAMP" +%s)
  else
    SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null) || die "no commit time: set SOURCE_DATE_EPOCH"
  fi
fi
export SOURCE_DATE_EPOCH
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
build_args=(
  --build-arg "GIT_SHA=$(git_sha)"
  --build-arg "APP_VERSION=$version"
  --build-arg "CREATED=$created"
  --build-arg "SOURCE_URL=$source_url"
)
[[ -n "${NODE_IMAGE:-}" ]] && build_args+=(--build-arg "NODE_IMAGE=$NODE_IMAGE")
tag_args=()
for tag in "${tags[@]}"; do
  [[ "$tag" == latest ]] && die "refusing the tag latest: deployments name digests"
  tag_args+=(--tag "$name:$tag")
done

digest=""
case "$builder" in
  docker)
    metadata=$(mktemp)
    trap 'rm -f "$metadata"' EXIT
    cache=()
    [[ -n "${BUILD_CACHE:-}" ]] && cache=(--cache-from "type=registry,ref=$BUILD_CACHE" --cache-to "type=registry,ref=$BUILD_CACHE,mode=max")
    # rewrite-timestamp: the files of every layer get SOURCE_DATE_EPOCH's date (BuildKit takes the
    # image's own dates from the build argument). No provenance or SBOM attestation in the
    # index: they record the build's start and end; the attest and sbom jobs attest the digest.
    output=(--output "type=docker,rewrite-timestamp=true")
    [[ "$push" == true ]] && output=(--output "type=registry,rewrite-timestamp=true")
    docker buildx build "${build_args[@]}" --build-arg "SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH" --provenance=false --sbom=false \
      "${tag_args[@]}" "${cache[@]}" "${output[@]}" --metadata-file "$metadata" .
    digest=$(grep -o '"containerimage.digest": *"sha256:[0-9a-f]*"' "$metadata" | grep -o 'sha256:[0-9a-f]*' || true)
    ;;
  buildah)
    cache=()
    [[ -n "${BUILD_CACHE:-}" ]] && cache=(--layers --cache-from "$BUILD_CACHE" --cache-to "$BUILD_CACHE")
    # --timestamp: the image's dates and every file of our layers get SOURCE_DATE_EPOCH's.
    buildah build --timestamp "$SOURCE_DATE_EPOCH" "${build_args[@]}" "${tag_args[@]}" "${cache[@]}" .
    if [[ "$push" == true ]]; then
      digest_file=$(mktemp)
      trap 'rm -f "$digest_file"' EXIT
      for tag in "${tags[@]}"; do
        buildah push --digestfile "$digest_file" "$name:$tag" "docker://$name:$tag"
      done
      digest=$(cat "$digest_file")
    fi
    ;;
  *) usage ;;
esac

if [[ "$push" != true ]]; then
  log "built $name (${tags[*]}), not pushed"
  exit 0
fi
[[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || die "the push reported no digest for $name"
printf 'IMAGE_NAME=%s\nIMAGE_DIGEST=%s\nIMAGE_REF=%s@%s\n' "$name" "$digest" "$name" "$digest" >"$image_env"
if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
  printf 'image=%s\ndigest=%s\nref=%s@%s\n' "$name" "$digest" "$name" "$digest" >>"$GITHUB_OUTPUT"
fi
log "pushed $name@$digest (${tags[*]})"
cat "$image_env"
