#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Promotes an image to an environment the GitOps way: writes the digest into
# deploy/kubernetes/overlays/<environment>/kustomization.yaml (images: shipshape) and commits
# it; Argo CD does the rest. Only a reference pinned by digest is accepted, so what runs is
# exactly what was built, scanned and signed. Running it twice changes nothing.
#
# With PROMOTE_PUSH=false it commits in the checkout and stops. Otherwise it commits on top of
# the newest PROMOTE_BRANCH (default $CI_DEFAULT_BRANCH, else main) from PROMOTE_REMOTE
# (default origin) in a scratch worktree, leaving the job's checkout alone, and pushes,
# retrying on a fresh tip when another push got there first. PROMOTE_REPO is the repository
# (default this one); PROMOTE_GIT_NAME and PROMOTE_GIT_EMAIL the committer.
# Usage: scripts/ci/promote.sh <environment> <image-name@sha256:digest>
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

[[ $# -eq 2 ]] || usage
environment=$1
ref=$2
[[ "$environment" =~ ^[a-z][a-z0-9-]*$ ]] || die "not an environment name: $environment"
is_digest_ref "$ref" || die "refusing $ref: promote an image pinned by digest (name@sha256:<64 hex>), never a tag"

repo=${PROMOTE_REPO:-$ROOT}
overlay=deploy/kubernetes/overlays/$environment/kustomization.yaml
branch=${PROMOTE_BRANCH:-${CI_DEFAULT_BRANCH:-main}}
remote=${PROMOTE_REMOTE:-origin}
attempts=5

identity=()
if [[ -n "${PROMOTE_GIT_EMAIL:-}" ]] || ! git -C "$repo" config user.email >/dev/null; then
  identity=(-c "user.name=${PROMOTE_GIT_NAME:-shipshape-release}" -c "user.email=${PROMOTE_GIT_EMAIL:-shipshape-release@users.noreply.invalid}")
fi

# Pins the overlay in checkout $1 and commits. Returns 1 when the digest is already there.
# Called from `||` lists, where bash ignores set -e: every step checks its own failure.
commit_promotion() {
  local checkout=$1
  [[ -f "$checkout/$overlay" ]] || die "no overlay for $environment: $overlay"
  node24 "$ROOT/scripts/ci/set-image.ts" "$checkout/$overlay" shipshape "$ref" >/dev/null || die "could not edit $overlay"
  if git -C "$checkout" diff --quiet -- "$overlay"; then
    log "$environment already runs ${ref#*@}"
    return 1
  fi
  git -C "$checkout" add -- "$overlay" || die "git add failed"
  # [skip ci]: the promotion commit must not start another release of itself.
  git -C "$checkout" "${identity[@]}" commit --quiet \
    -m "Promote shipshape to $environment: ${ref#*@} [skip ci]" \
    -m "Image: $ref" -m "Built from: $(git_sha)" || die "git commit failed"
  log "committed the promotion of $ref to $environment"
}

if [[ "${PROMOTE_PUSH:-true}" == false ]]; then
  commit_promotion "$repo" || true
  exit 0
fi

worktree=$(mktemp -d "${TMPDIR:-/tmp}/shipshape-promote.XXXXXX")
trap 'git -C "$repo" worktree remove --force "$worktree" >/dev/null 2>&1 || rm -rf "$worktree"' EXIT
git -C "$repo" worktree add --quiet --detach "$worktree" HEAD
depth=()
[[ "$(git -C "$repo" rev-parse --is-shallow-repository)" == true ]] && depth=(--depth=1)

for ((attempt = 1; attempt <= attempts; attempt++)); do
  git -C "$worktree" fetch --quiet "${depth[@]}" "$remote" "$branch"
  git -C "$worktree" reset --quiet --hard FETCH_HEAD
  commit_promotion "$worktree" || exit 0
  if git -C "$worktree" push --quiet "$remote" "HEAD:refs/heads/$branch"; then
    log "pushed the promotion to $branch: Argo CD deploys $environment from there"
    exit 0
  fi
  log "push to $branch rejected (attempt $attempt of $attempts); retrying on its new tip"
  sleep $((attempt * 2))
done
die "could not push the promotion to $branch"
