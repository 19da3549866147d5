#!/usr/bin/env bash
# Terraform for one environment, as both pipelines run it (.github/workflows/infra.yml,
# .gitlab/ci/infra.gitlab-ci.yml):
#   validate - fmt check, init without the backend, validate (no cloud credentials needed)
#   plan     - init with the S3 state, plan to infra/envs/<env>/plan.tfplan, and write the plan
#              as text (plan.txt, for the review comment) and as counts (plan-report.json,
#              GitLab's terraform report)
#   apply    - apply exactly that saved plan (Terraform refuses it if the state moved since)
# Cloud credentials come from the pipeline's OIDC token, exchanged for AWS_ROLE_ARN by
# Terraform's AWS SDK (web identity): GitHub's token is requested here, GitLab's arrives in
# AWS_OIDC_TOKEN (id_tokens). No static key is ever used.
# Usage: scripts/infra/terraform.sh <validate|plan|apply> <staging|production>
set -euo pipefail
cd "$(dirname "$0")/../.."

usage() {
  echo "usage: scripts/infra/terraform.sh <validate|plan|apply> <staging|production>" >&2
  exit 2
}

[[ $# -eq 2 ]] || usage
action=$1
environment=$2
[[ $action =~ ^(validate|plan|apply)$ ]] || usage
directory=infra/envs/$environment
[[ $environment =~ ^[a-z]+$ && -d $directory ]] || { echo "terraform.sh: no environment $environment under infra/envs" >&2; exit 2; }

terraform=$(bash scripts/ensure-terraform.sh)
export TF_IN_AUTOMATION=true TF_INPUT=false

# The pipeline's OIDC token in a file, where the AWS SDK's web identity provider reads it.
web_identity() {
  : "${AWS_ROLE_ARN:?AWS_ROLE_ARN is not set (the role infra/bootstrap created for this environment)}"
  local token_file
  token_file=$(mktemp)
  if [[ -n ${AWS_OIDC_TOKEN:-} ]]; then
    printf '%s' "$AWS_OIDC_TOKEN" >"$token_file"
  elif [[ -n ${ACTIONS_ID_TOKEN_REQUEST_URL:-} && -n ${ACTIONS_ID_TOKEN_REQUEST_TOKEN:-} ]]; then
    curl --fail --silent --show-error -H "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" \
      "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=sts.amazonaws.com" | jq -r .value >"$token_file"
  else
    echo "terraform.sh: no OIDC token (GitLab: id_tokens AWS_OIDC_TOKEN; GitHub: permissions id-token: write)" >&2
    exit 1
  fi
  export AWS_WEB_IDENTITY_TOKEN_FILE=$token_file AWS_ROLE_SESSION_NAME=shipshape-terraform-$environment
}

init_with_state() {
  : "${TF_STATE_BUCKET:?TF_STATE_BUCKET is not set (the state bucket infra/bootstrap created)}"
  "$terraform" -chdir="$directory" init -backend-config="bucket=$TF_STATE_BUCKET"
}

case $action in
  validate)
    "$terraform" fmt -check -recursive infra
    "$terraform" -chdir="$directory" init -backend=false
    "$terraform" -chdir="$directory" validate
    ;;
  plan)
    web_identity
    init_with_state
    "$terraform" -chdir="$directory" plan -lock-timeout=5m -out=plan.tfplan
    "$terraform" -chdir="$directory" show -no-color plan.tfplan >"$directory/plan.txt"
    "$terraform" -chdir="$directory" show -json plan.tfplan |
      jq '[.resource_changes[]?.change.actions] | {create: map(select(index("create"))) | length, update: map(select(. == ["update"])) | length, delete: map(select(index("delete"))) | length}' \
        >"$directory/plan-report.json"
    ;;
  apply)
    [[ -f $directory/plan.tfplan ]] || { echo "terraform.sh: $directory/plan.tfplan missing: apply only what a plan job saved and a person approved" >&2; exit 1; }
    web_identity
    init_with_state
    "$terraform" -chdir="$directory" apply -lock-timeout=5m plan.tfplan
    ;;
esac
