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
echo "ensure-packages: installing ${missing[*]} from Debian" >&2
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
