#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Packages the Helm chart (deploy/helm/shipshape) for one built image and pushes it as an OCI
# artefact next to the image: the packaged chart's default image is that digest; its version
# is the release's (v1.2.3 -> 1.2.3) or, for a commit, <package.json version>-sha-<commit>.
# Writes the pushed chart's reference (<repository>/shipshape@sha256:...) to chart.env as
# CHART_REF (GitLab's dotenv) and to $GITHUB_OUTPUT as ref, for cosign to sign.
# Usage: scripts/ci/package-chart.sh <image@sha256:digest> <v-tag|short-commit> <oci-repository>
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

[[ $# -eq 3 ]] || usage
image_ref=$1
release=$2
repository=${3#oci://}

[[ $image_ref =~ ^([^@]+)@(sha256:[0-9a-f]{64})$ ]] || die "not an image digest reference: $image_ref"
image=${BASH_REMATCH[1]}
digest=${BASH_REMATCH[2]}
if [[ $release =~ ^v([0-9]+\.[0-9]+\.[0-9]+.*)$ ]]; then
  version=${BASH_REMATCH[1]}
elif [[ $release =~ ^[0-9a-f]{7,40}$ ]]; then
  package_version=$(sed -n 's/^  "version": "\([^"]*\)",$/\1/p' package.json)
  version=$package_version-sha-${release:0:12}
else
  die "neither a v-tag nor a commit: $release"
fi
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || die "not a semantic version: $version"

helm=$(command -v helm || bash scripts/ensure-helm.sh)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# -L: files/ links to deploy/monitoring (the rules and dashboard); the package carries their content.
cp -RL deploy/helm/shipshape "$work/shipshape"
# The image this chart is released with becomes its default.
sed -i -e "s|^  repository: .*|  repository: $image|" -e "s|^  digest: sha256:.*|  digest: $digest|" "$work/shipshape/values.yaml"
grep -q "^  digest: $digest\$" "$work/shipshape/values.yaml" || die "could not set the image digest in values.yaml"

"$helm" lint --strict "$work/shipshape" --values "$work/shipshape/values-production.yaml" >&2
"$helm" package "$work/shipshape" --version "$version" --app-version "$version" --destination "$work" >&2
"$helm" push "$work/shipshape-$version.tgz" "oci://$repository" >"$work/push.log" 2>&1 || { cat "$work/push.log" >&2; die "helm push failed"; }
cat "$work/push.log" >&2
chart_digest=$(grep -o 'sha256:[0-9a-f]\{64\}' "$work/push.log" | tail -n 1 || true)
[[ -n $chart_digest ]] || die "helm push reported no digest"

echo "CHART_REF=$repository/shipshape@$chart_digest" >chart.env
if [[ -n ${GITHUB_OUTPUT:-} ]]; then
  echo "ref=$repository/shipshape@$chart_digest" >>"$GITHUB_OUTPUT"
fi
log "pushed chart $version: $repository/shipshape@$chart_digest"
