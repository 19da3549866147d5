#!/usr/bin/env bash
# The pipeline checks (npm run test:pipelines: the GitHub workflows and GitLab CI against their
# schemas and policies, shellcheck on scripts/ci, and these scripts run for real).
# Usage: scripts/ci/pipeline-checks.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

export CI=true
npm run test:pipelines
