#!/usr/bin/env bash
# Prints the path of Terraform 1.11.x: the one on PATH when it is that version, otherwise
# 1.11.4 downloaded from releases.hashicorp.com into .cache/tools, its checksum file verified
# against HashiCorp's release signing key (by fingerprint) before the zip is trusted.
# Hosted pipelines use it (infra jobs); this machine already has Terraform 1.11.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly VERSION=1.11.4
# HashiCorp's release signing key (https://www.hashicorp.com/security).
readonly HASHICORP_FINGERPRINT=C874011F0AB405110D02105534365D9472D7468F

if command -v terraform >/dev/null 2>&1 && [[ $(terraform version 2>/dev/null | head -n 1) =~ ^Terraform\ v1\.11\. ]]; then
  command -v terraform
  exit 0
fi

target=.cache/tools/terraform-$VERSION/terraform
if [[ ! -x $target ]]; then
  for tool in curl gpg unzip sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || { echo "ensure-terraform: $tool is needed to download Terraform" >&2; exit 1; }
  done
  case $(uname -m) in
    x86_64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "ensure-terraform: unsupported machine $(uname -m)" >&2; exit 1 ;;
  esac
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  base=https://releases.hashicorp.com/terraform/$VERSION
  zip=terraform_${VERSION}_linux_${arch}.zip
  curl --fail --silent --show-error --location --proto '=https' --output "$work/$zip" "$base/$zip"
  curl --fail --silent --show-error --location --proto '=https' --output "$work/SHA256SUMS" "$base/terraform_${VERSION}_SHA256SUMS"
  curl --fail --silent --show-error --location --proto '=https' --output "$work/SHA256SUMS.sig" "$base/terraform_${VERSION}_SHA256SUMS.sig"
  curl --fail --silent --show-error --location --proto '=https' --output "$work/hashicorp.asc" https://www.hashicorp.com/.well-known/pgp-key.txt
  export GNUPGHOME=$work/gnupg
  mkdir -m 700 "$GNUPGHOME"
  gpg --batch --quiet --import "$work/hashicorp.asc"
  if ! gpg --batch --with-colons --fingerprint | grep -q "^fpr:::::::::$HASHICORP_FINGERPRINT:"; then
    echo "ensure-terraform: the downloaded key is not HashiCorp's release key" >&2
    exit 1
  fi
  gpg --batch --quiet --verify "$work/SHA256SUMS.sig" "$work/SHA256SUMS"
  (cd "$work" && grep " $zip\$" SHA256SUMS | sha256sum --check --quiet -)
  mkdir -p "$(dirname "$target")"
  unzip -q -o "$work/$zip" terraform -d "$(dirname "$target")"
  chmod +x "$target"
fi
echo "$PWD/$target"
