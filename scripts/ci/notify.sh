#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Posts a pipeline event to the team's chat webhook: a failed pipeline, or a deployment to an
# environment, or a promotion waiting for a manual Argo CD sync. The webhook URL is a secret (CHAT_WEBHOOK_URL, a GitHub secret or a masked
# GitLab variable): it never appears in the payload, the log or the process list. Without it
# (a fork, a local run) the script says so and posts nothing. The payload, built with jq, is
# the Slack-compatible incoming-webhook format (text plus an attachment with fields), which
# Slack, Mattermost, Rocket.Chat and Discord's /slack endpoint accept.
# With NOTIFY_DRY_RUN=true it prints the payload instead of posting it.
# "deployed" says the environment runs the commit (the pipeline saw it there); "promoted" says
# only that the pin is committed: production syncs when a person presses Sync, and Argo CD's own
# on-sync-succeeded / on-sync-failed notifications report the deployment, so the chat must not
# claim it early.
# Usage: scripts/ci/notify.sh <failed|deployed|promoted> [environment]
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

[[ $# -ge 1 && $# -le 2 ]] || usage
event=$1
environment=${2:-}
case "$event" in
  failed) [[ -z "$environment" ]] || usage ;;
  deployed | promoted) [[ "$environment" =~ ^[a-z][a-z0-9-]*$ ]] || usage ;;
  *) usage ;;
esac

# What ran, in either CI system's variables (GitHub first, then GitLab, then the checkout).
repository=${GITHUB_REPOSITORY:-${CI_PROJECT_PATH:-$(basename "$ROOT")}}
ref=${GITHUB_REF_NAME:-${CI_COMMIT_REF_NAME:-$(git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)}}
commit=$(git_sha)
actor=${GITHUB_ACTOR:-${GITLAB_USER_LOGIN:-${USER:-unknown}}}
if [[ -n "${GITHUB_RUN_ID:-}" ]]; then
  pipeline_url="${GITHUB_SERVER_URL:-https://github.com}/$repository/actions/runs/$GITHUB_RUN_ID"
  pipeline_name=${GITHUB_WORKFLOW:-workflow}
else
  pipeline_url=${CI_PIPELINE_URL:-}
  pipeline_name=${CI_PIPELINE_NAME:-pipeline}
fi

payload=$(jq -n \
  --arg event "$event" \
  --arg environment "$environment" \
  --arg repository "$repository" \
  --arg ref "$ref" \
  --arg commit "$commit" \
  --arg actor "$actor" \
  --arg pipeline_url "$pipeline_url" \
  --arg pipeline_name "$pipeline_name" \
  '{
    text: (if $event == "failed"
      then ":x: \($repository): \($pipeline_name) failed on \($ref) at \($commit[0:12])"
      elif $event == "promoted"
      then ":hourglass: \($repository): \($commit[0:12]) promoted to \($environment), waiting for an Argo CD sync"
      else ":rocket: \($repository): \($commit[0:12]) deployed to \($environment)" end),
    attachments: [{
      color: (if $event == "failed" then "#d73a49" elif $event == "promoted" then "#dbab09" else "#2ea44f" end),
      fields: ([
        {title: "Repository", value: $repository, short: true},
        {title: "Ref", value: $ref, short: true},
        {title: "Commit", value: $commit, short: true},
        {title: "By", value: $actor, short: true}
      ]
      + (if $environment != "" then [{title: "Environment", value: $environment, short: true}] else [] end)
      + (if $pipeline_url != "" then [{title: "Pipeline", value: $pipeline_url, short: false}] else [] end))
    }]
  }')

if [[ "${NOTIFY_DRY_RUN:-false}" == true ]]; then
  echo "$payload"
  exit 0
fi

if [[ -z "${CHAT_WEBHOOK_URL:-}" ]]; then
  log "CHAT_WEBHOOK_URL is not set: no chat notification (configure it as a secret to get one)"
  exit 0
fi
[[ "$CHAT_WEBHOOK_URL" =~ ^https?:// ]] || die "CHAT_WEBHOOK_URL is not an http(s) URL"

# The URL goes to curl through a config on a file descriptor, never on its command line, and
# curl's errors name the status, not the URL.
if ! curl --silent --show-error --fail --max-time 15 --retry 3 --retry-all-errors \
  --header 'Content-Type: application/json' --data-binary @- \
  --config <(printf 'url = "%s"\n' "$CHAT_WEBHOOK_URL") --output /dev/null <<<"$payload"; then
  die "the chat webhook refused the $event notification"
fi
log "posted the $event notification${environment:+ for $environment}"
