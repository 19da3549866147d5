#!/usr/bin/env bash
# Builds the Shipshape image with buildah, on this machine's local stand-in for the public
# node:24-bookworm-slim base (../shared/tools/node-base-image.sh), as the container test needs.
# Elsewhere, `docker build .` builds the same Dockerfile on the public base.
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

started=$SECONDS
buildah bud --isolation chroot --layers --quiet \
  --build-arg NODE_IMAGE="$base" \
  --build-arg GIT_SHA="$git_sha" \
  --build-arg APP_VERSION="$version" \
  --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --build-arg SOURCE_URL="$source_url" \
  -t "$image" . >&2
echo "build-image: built $image on $base in $((SECONDS - started)) s" >&2
echo "$image"
