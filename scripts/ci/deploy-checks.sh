#!/usr/bin/env bash
# The deploy checks (npm run test:deploy: Dockerfile, .dockerignore, compose.yml, Kubernetes,
# Argo CD and monitoring files, offline). test:deploy installs Compose, promtool and yamllint
# from Debian when missing and running as root; on a hosted runner install them first.
# Usage: scripts/ci/deploy-checks.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

export CI=true
npm run test:deploy
