#!/usr/bin/env bash
# The infrastructure checks (npm run test:infra: Terraform, the platform, the Helm chart) as CI
# reports them: JUnit in test-results/junit-infra.xml. Installs what they need first when
# missing and running as root (GitLab's node image): Python (unzips helm and kubectl), curl,
# gpg and unzip (scripts/ensure-terraform.sh), amtool.
# Usage: scripts/ci/infra-checks.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

bash scripts/ensure-packages.sh python3=python3 curl=curl gpg=gnupg unzip=unzip amtool=prometheus-alertmanager
# CI=true switches the vitest configs to the JUnit reporter.
export CI=true
npm run test:infra
