#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Promotes a whole environment the GitOps way: pins its Argo CD Application
# (deploy/argocd/application-<environment>.yaml) to the commit the image was built from
# (targetRevision) and to the image's digest (kustomize.images), and commits that; Argo CD does
# the rest. The environment then renders its overlay and the base as they were at that commit,
# so production gets the manifests staging ran, not whatever main holds by then. Only a
# reference pinned by digest and a full commit id are accepted. Running it twice changes nothing.
# PROMOTE_REVISION is the commit to pin (default: the pipeline's commit, see git_sha in lib.sh).
# Production only takes a pin staging has had (now or earlier in the history of its Application):
# that commit and that digest together, so what reaches production is what staging ran.
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
pin_file=deploy/argocd/application-$environment.yaml
revision=${PROMOTE_REVISION:-$(git_sha)}
branch=${PROMOTE_BRANCH:-${CI_DEFAULT_BRANCH:-main}}
remote=${PROMOTE_REMOTE:-origin}
attempts=5
upstream=
[[ "$environment" == production ]] && upstream=staging

identity=()
if [[ -n "${PROMOTE_GIT_EMAIL:-}" ]] || ! git -C "$repo" config user.email >/dev/null; then
  identity=(-c "user.name=${PROMOTE_GIT_NAME:-shipshape-release}" -c "user.email=${PROMOTE_GIT_EMAIL:-shipshape-release@users.noreply.invalid}")
fi

# True when the upstream environment's Application in checkout $1 names this commit and this image
# together, at HEAD or in any earlier version.
ran_upstream() {
  local checkout=$1 file=deploy/argocd/application-$upstream.yaml commit version
  while read -r commit; do
    version=$(git -C "$checkout" show "$commit:$file" 2>/dev/null) || continue
    grep -qF "targetRevision: \"$revision\"" <<<"$version" && grep -qF -- "- shipshape=$ref" <<<"$version" && return 0
  done < <(git -C "$checkout" log --format=%H -G "$revision" HEAD -- "$file")
  return 1
}

# Pins the Application in checkout $1 and commits. Returns 1 when the pin is already there.
# Called from `||` lists, where bash ignores set -e: every step checks its own failure.
commit_promotion() {
  local checkout=$1
  [[ -f "$checkout/$pin_file" ]] || die "no Argo CD Application for $environment: $pin_file"
  git -C "$checkout" cat-file -e "$revision^{commit}" 2>/dev/null || die "refusing to pin $environment to $revision: not a commit of this repository"
  if [[ -n "$upstream" ]] && ! ran_upstream "$checkout"; then
    die "refusing to pin $environment to ${ref#*@} at $revision: $upstream never ran that pair (promote it to $upstream first)"
  fi
  node24 "$ROOT/scripts/ci/pin-environment.ts" "$checkout/$pin_file" "$revision" shipshape "$ref" >/dev/null || die "could not edit $pin_file"
  if git -C "$checkout" diff --quiet -- "$pin_file"; then
    log "$environment already runs ${ref#*@} at $revision"
    return 1
  fi
  git -C "$checkout" add -- "$pin_file" || die "git add failed"
  # [skip ci]: the promotion commit must not start another release of itself.
  git -C "$checkout" "${identity[@]}" commit --quiet \
    -m "Promote shipshape to $environment: ${ref#*@} [skip ci]" \
    -m "Image: $ref" -m "Manifests: $revision" || die "git commit failed"
  log "committed the promotion of $ref at $revision to $environment"
}

if [[ "${PROMOTE_PUSH:-true}" == false ]]; then
  commit_promotion "$repo" || true
  exit 0
fi

worktree=$(mktemp -d "${TMPDIR:-/tmp}/shipshape-promote.XXXXXX")
trap 'git -C "$repo" worktree remove --force "$worktree" >/dev/null 2>&1 || rm -rf "$worktree"' EXIT
git -C "$repo" worktree add --quiet --detach "$worktree" HEAD
depth=()
if [[ "$(git -C "$repo" rev-parse --is-shallow-repository)" == true ]]; then
  # The upstream check reads the history of its Application: fetch it all, once.
  if [[ -n "$upstream" ]]; then
    git -C "$worktree" fetch --quiet --unshallow "$remote" "$branch"
  else
    depth=(--depth=1)
  fi
fi

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
