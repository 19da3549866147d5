#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# A release tag never builds: it names the digest main already built and staging already ran.
#   staged  <name@sha256:...>   after staging's smoke test passed: tags that digest
#                               <name>:staged-<commit>, the registry's record that this commit's
#                               image ran in staging (the commit is the pipeline's, see git_sha).
#   release <name> <vX.Y.Z>     on a release tag: finds <name>:staged-<commit> for the tagged
#                               commit (none: main never took it through staging, refuse),
#                               checks the image's OCI labels say that commit and version X.Y.Z
#                               (package.json's, baked in at main's build: the version /version
#                               reports), then tags the same digest X.Y.Z and X.Y and writes
#                               IMAGE_NAME, IMAGE_DIGEST, IMAGE_REF, APP_VERSION to image.env
#                               (IMAGE_ENV), and image, digest, ref to $GITHUB_OUTPUT when set.
# Tags are copied manifest for manifest (skopeo copy --preserve-digests): the digest staging
# ran is the digest production gets, and it is checked again after each copy.
# Registry credentials: skopeo's (skopeo login, or docker login's config).
# Usage: scripts/ci/retag.sh <staged <name@sha256:digest> | release <name> <vX.Y.Z>>
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

REVISION_LABEL=org.opencontainers.image.revision
VERSION_LABEL=org.opencontainers.image.version

# The digest of the manifest (or index) that <reference> names in the registry.
remote_digest() {
  local manifest
  manifest=$(mktemp)
  skopeo inspect --raw "docker://$1" >"$manifest" || { rm -f "$manifest"; return 1; }
  skopeo manifest-digest "$manifest"
  rm -f "$manifest"
}

label() {
  skopeo inspect --format "{{ index .Labels \"$2\" }}" "docker://$1"
}

# Points <name>:<tag> at <name>@<digest>, byte for byte, and proves it did.
tag_digest() {
  local name=$1 digest=$2 tag=$3
  skopeo copy --all --preserve-digests "docker://$name@$digest" "docker://$name:$tag"
  [[ "$(remote_digest "$name:$tag")" == "$digest" ]] || die "$name:$tag does not name $digest after the copy"
  log "tagged $name@$digest as $tag"
}

staged() {
  local ref=$1 commit
  is_digest_ref "$ref" || die "refusing $ref: name the image by digest (name@sha256:<64 hex>)"
  commit=$(git_sha)
  [[ "$(label "$ref" "$REVISION_LABEL")" == "$commit" ]] || die "$ref was not built from $commit"
  tag_digest "${ref%@*}" "${ref#*@}" "staged-$commit"
}

release() {
  local name=$1 tag=$2 version line prerelease commit digest ref baked
  [[ "$tag" =~ ^v([0-9]+)\.([0-9]+)\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || die "not a release tag: $tag (vX.Y.Z)"
  version=${tag#v}
  line=${BASH_REMATCH[1]}.${BASH_REMATCH[2]}
  prerelease=${BASH_REMATCH[3]}
  commit=$(git_sha)
  digest=$(remote_digest "$name:staged-$commit") \
    || die "no image of $commit went through staging ($name:staged-$commit is missing): tag a commit main took through staging"
  ref=$name@$digest
  [[ "$(label "$ref" "$REVISION_LABEL")" == "$commit" ]] || die "$ref was not built from $commit"
  baked=$(label "$ref" "$VERSION_LABEL")
  [[ "$baked" == "$version" ]] || die "$tag names $commit, whose image says version $baked: set package.json's version to $version on main first"
  tag_digest "$name" "$digest" "$version"
  # A prerelease (1.2.3-rc.1) does not move the 1.2 line.
  [[ -z "$prerelease" ]] && tag_digest "$name" "$digest" "$line"
  printf 'IMAGE_NAME=%s\nIMAGE_DIGEST=%s\nIMAGE_REF=%s\nAPP_VERSION=%s\n' "$name" "$digest" "$ref" "$version" >"${IMAGE_ENV:-image.env}"
  if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
    printf 'image=%s\ndigest=%s\nref=%s\n' "$name" "$digest" "$ref" >>"$GITHUB_OUTPUT"
  fi
  log "release $tag is $ref, the digest staging ran"
}

command -v skopeo >/dev/null || die "skopeo is not installed"
case "${1:-}" in
  staged) [[ $# -eq 2 ]] || usage; staged "$2" ;;
  release) [[ $# -eq 3 ]] || usage; release "$2" "$3" ;;
  *) usage ;;
esac
