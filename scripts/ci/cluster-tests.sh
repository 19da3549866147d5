#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The local cluster tests (npm run test:cluster: HAProxy checking /readyz in front of three
# replicas of the built app; rolling replacement and a migration under load, shared state) on
# the PostgreSQL in TEST_DATABASE_URL (a CI service container) or, without one, a private
# durable cluster. Installs HAProxy when missing and running as root (GitLab's node image).
# JUnit in test-results/junit-cluster.xml.
# Usage: scripts/ci/cluster-tests.sh
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

bash scripts/ensure-packages.sh haproxy=haproxy
export CI=true
npm run build
with_postgres --durable npm exec -- vitest run --config vitest.cluster.config.ts
