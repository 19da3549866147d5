#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds the Dockerfile with its OCI build arguments and, unless PUSH=false, pushes every tag
# and records the digest the registry answered in image.env (IMAGE_ENV), as dotenv lines:
#   IMAGE_NAME=<name>  IMAGE_DIGEST=sha256:...  IMAGE_REF=<name>@sha256:...
# which a GitLab job hands on as a dotenv report (a GitHub step could append the file to
# $GITHUB_OUTPUT; the release workflow uses docker/build-push-action's digest output instead).
# The digest, never a tag, is what gets scanned, signed and promoted.
# The builder is docker buildx (GitHub runners, laptops) or buildah (rootless, in a GitLab
# job); BUILD_CACHE=<repository> adds a registry layer cache to either.
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

# A v1.2.3 tag is version 1.2.3; otherwise package.json's, read with sed (the buildah image
# has no Node.js, and no git either, hence the pipelines' variables first below).
release_tag=${CI_COMMIT_TAG:-}
[[ "${GITHUB_REF_TYPE:-}" == tag ]] && release_tag=${GITHUB_REF_NAME:-}
if [[ -n "${APP_VERSION:-}" ]]; then
  version=$APP_VERSION
elif [[ "$release_tag" =~ ^v[0-9] ]]; then
  version=${release_tag#v}
else
  version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json)
fi
source_url=${SOURCE_URL:-${CI_PROJECT_URL:-${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:-unknown}}}
# The commit's own time, not the clock's: rebuilding one commit gives the same labels.
created=${CREATED:-${CI_COMMIT_TIMESTAMP:-$(TZ=UTC0 git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)}}
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
    output=(--load)
    [[ "$push" == true ]] && output=(--push)
    docker buildx build "${build_args[@]}" "${tag_args[@]}" "${cache[@]}" "${output[@]}" --metadata-file "$metadata" .
    digest=$(grep -o '"containerimage.digest": *"sha256:[0-9a-f]*"' "$metadata" | grep -o 'sha256:[0-9a-f]*' || true)
    ;;
  buildah)
    cache=()
    [[ -n "${BUILD_CACHE:-}" ]] && cache=(--layers --cache-from "$BUILD_CACHE" --cache-to "$BUILD_CACHE")
    buildah build "${build_args[@]}" "${tag_args[@]}" "${cache[@]}" .
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
log "pushed $name@$digest (${tags[*]})"
cat "$image_env"
