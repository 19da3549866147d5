#!/usr/bin/env bash
# Installs the Debian packages that provide the given commands, when they are missing.
# Usage: scripts/ensure-packages.sh <command>=<package> ...
# e.g.   scripts/ensure-packages.sh promtool=prometheus yamllint=yamllint
set -euo pipefail

missing=()
for pair in "$@"; do
  command=${pair%%=*}
  package=${pair#*=}
  if ! command -v "$command" >/dev/null 2>&1; then
    missing+=("$package")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "ensure-packages: missing ${missing[*]}; install with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
# A mirror that drops a connection or is mid-sync fails one attempt, not the suite that needs the
# package: apt retries each download, and the whole update and install is tried three times.
install_missing() {
  apt-get -o Acquire::Retries=3 update -qq >&2 &&
    DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=3 install -y -qq "${missing[@]}" >&2
}
for attempt in 1 2 3; do
  echo "ensure-packages: installing ${missing[*]} from Debian (attempt $attempt)" >&2
  install_missing && exit 0
  sleep $((attempt * 10))
done
echo "ensure-packages: could not install ${missing[*]} after 3 attempts" >&2
exit 1
