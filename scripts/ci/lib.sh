# shellcheck shell=bash
# Sourced by every scripts/ci/*.sh: moves to the repository root and provides the few helpers
# they share, so the GitHub and GitLab pipelines (and .ci/run) run the same steps the same way.
# Usage: source "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1

log() {
  echo "ci: $*" >&2
}

die() {
  log "$*"
  exit 1
}

usage() {
  # The usage comment of the calling script, i.e. its "# Usage:" line.
  sed -n 's/^# Usage: /usage: /p' "$0" >&2
  exit 64
}

# Node.js 24 for the TypeScript helpers: the project's own (the `node` devDependency) once
# `npm ci` has run, else whatever is on PATH (node:24 images, actions/setup-node). Never
# `npm exec node`, which would download a package called node when node_modules is missing.
node24() {
  local node=node
  [[ -x "$ROOT/node_modules/.bin/node" ]] && node="$ROOT/node_modules/.bin/node"
  "$node" "$@"
}

# Runs "$@" against PostgreSQL: the server in TEST_DATABASE_URL when one is given (a CI
# service container), else a private throw-away cluster (scripts/with-postgres.sh; with
# --durable first, one that fsyncs like production).
with_postgres() {
  local durable=()
  if [[ "${1:-}" == "--durable" ]]; then
    durable=(--durable)
    shift
  fi
  if [[ -n "${TEST_DATABASE_URL:-}" ]]; then
    "$@"
  else
    bash "$ROOT/scripts/with-postgres.sh" "${durable[@]}" "$@"
  fi
}

# Runs "$@" on the embedded SQLite database whatever the environment says.
with_sqlite() {
  env -u TEST_DATABASE_URL "$@"
}

# A deployable image reference: a name pinned by digest, never a tag.
is_digest_ref() {
  [[ "$1" =~ ^[^@[:space:]]+@sha256:[0-9a-f]{64}$ ]]
}

# The commit being built, as the pipelines name it.
git_sha() {
  echo "${GIT_SHA:-${GITHUB_SHA:-${CI_COMMIT_SHA:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}}}"
}
