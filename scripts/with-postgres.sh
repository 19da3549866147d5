#!/usr/bin/env bash
# Runs a command against a private, throw-away PostgreSQL cluster: initdb in a temp dir, start
# on a free loopback port, export TEST_DATABASE_URL (an admin URL), run "$@", then stop and delete.
# Usage: scripts/with-postgres.sh [--durable] <command> [args...]
set -euo pipefail

durable=false
if [[ "${1:-}" == "--durable" ]]; then
  durable=true
  shift
fi
if [[ $# -eq 0 ]]; then
  echo "usage: $0 [--durable] <command> [args...]" >&2
  exit 64
fi

pg_bin=""
for candidate in "$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)")" /usr/lib/postgresql/*/bin; do
  if [[ -x "$candidate/initdb" && -x "$candidate/pg_ctl" ]]; then
    pg_bin=$candidate
    break
  fi
done
if [[ -z "$pg_bin" ]]; then
  echo "with-postgres: initdb/pg_ctl not found (install the postgresql server package)" >&2
  exit 1
fi

workdir=$(mktemp -d "${TMPDIR:-/tmp}/shipshape-pg.XXXXXX")
chmod 0755 "$workdir"
as_owner=()
if [[ $(id -u) -eq 0 ]]; then
  # PostgreSQL refuses to run as root; run the cluster as the postgres system user.
  chown postgres: "$workdir"
  as_owner=(runuser -u postgres --)
fi

port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")

cleanup() {
  "${as_owner[@]}" "$pg_bin/pg_ctl" -D "$workdir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$workdir"
}
trap cleanup EXIT

"${as_owner[@]}" "$pg_bin/initdb" -D "$workdir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
settings="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$workdir -c max_connections=200"
if [[ "$durable" == false ]]; then
  # Test data is disposable: skip the fsyncs that make a cluster crash-safe.
  settings+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
fi
"${as_owner[@]}" "$pg_bin/pg_ctl" -D "$workdir/data" -o "$settings" -l "$workdir/postgres.log" -w start >/dev/null

export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
echo "with-postgres: PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on port $port ($([[ $durable == true ]] && echo durable || echo fsync off))" >&2
status=0
"$@" || status=$?
exit "$status"
