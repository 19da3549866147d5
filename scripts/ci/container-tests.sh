#!/usr/bin/env bash
# The container image test (npm run test:container): build the image with buildah, run it with
# podman on SQLite and PostgreSQL (smoke test, the Postman collection, hardening checks,
# SIGTERM under load, a reproducible digest, a release tag retagged in a throw-away registry).
# Usage: scripts/ci/container-tests.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

export CI=true
npm run test:container
