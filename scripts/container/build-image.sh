#!/usr/bin/env bash
# Builds the Shipshape image with buildah, on this machine's local stand-in for the public
# node:24-bookworm-slim base (../shared/tools/node-base-image.sh), as the container test needs.
# Elsewhere, `docker build .` builds the same Dockerfile on the public base.
# The build is reproducible: every date in it is the commit's (SOURCE_DATE_EPOCH, default the
# time of HEAD), and buildah's --timestamp gives every file of our layers and the image config
# that date, so one commit always gives one image digest (test/container/reproducible.test.ts).
# It builds from scratch every time: Debian's buildah 1.28 would reuse a cached layer (--layers)
# with the dates of the build that made it, so a cached build of a newer commit differs from a
# clean one. Without --layers, each stage is one layer, written and dated by this build.
# Usage: scripts/container/build-image.sh [image]   (default localhost/shipshape:test)
# Prints the image name on its last line.
set -euo pipefail
cd "$(dirname "$0")/../.."

image=${1:-${SHIPSHAPE_IMAGE:-localhost/shipshape:test}}

find_base_image_tool() {
  local candidate
  for candidate in "${NODE_BASE_IMAGE_TOOL:-}" ../shared/tools/node-base-image.sh /work/shared/tools/node-base-image.sh; do
    if [[ -n "$candidate" && -f "$candidate" ]]; then
      echo "$candidate"
      return 0
    fi
  done
  echo "build-image: node-base-image.sh not found; set NODE_BASE_IMAGE_TOOL to its path" >&2
  return 1
}

if [[ -n "${NODE_IMAGE:-}" ]]; then
  base=$NODE_IMAGE
else
  tool=$(find_base_image_tool)
  base=$(bash "$tool" | tail -n1)
fi

git_sha=$(git rev-parse HEAD 2>/dev/null || echo unknown)
version=$(node -p "require('./package.json').version")
source_url=$(git config --get remote.origin.url 2>/dev/null || echo unknown)
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)

metadata=(GIT_SHA="$git_sha" APP_VERSION="$version" CREATED="$created" SOURCE_URL="$source_url")
build_args=()
for pair in "${metadata[@]}"; do build_args+=(--build-arg "$pair"); done

# npm ci opens more files than buildah's default limit inside the build: allow what we may.
open_files=$(ulimit -Hn)
[[ "$open_files" == unlimited ]] && open_files=1048576

started=$SECONDS
# The metadata also goes in as --label/--env, applied when the image is committed, so no cached
# step can ever carry another commit's.
buildah bud --isolation chroot --quiet --timestamp "$epoch" --ulimit "nofile=$open_files:$open_files" \
  --build-arg NODE_IMAGE="$base" "${build_args[@]}" \
  --env GIT_SHA="$git_sha" --env APP_VERSION="$version" \
  --label org.opencontainers.image.revision="$git_sha" \
  --label org.opencontainers.image.version="$version" \
  --label org.opencontainers.image.created="$created" \
  --label org.opencontainers.image.source="$source_url" \
  -t "$image" . >&2
echo "build-image: built $image on $base in $((SECONDS - started)) s" >&2
echo "$image"
