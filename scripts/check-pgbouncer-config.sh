#!/usr/bin/env bash
# Starts the machine's PgBouncer (Debian 12: 1.18) with docker/pgbouncer/pgbouncer.ini, as shipped
# for docker-compose users, on a loopback port for two seconds, and fails unless it listens.
# Only the paths the container provides (userlist, log, pid) and the address are rewritten.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
dir=$(mktemp -d)
# A free loopback port, so that nothing else listening makes the check fail.
port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
trap 'rm -rf "$dir"' EXIT
sed -e "s#/etc/pgbouncer/userlist.txt#$dir/userlist.txt#" \
  -e "s/^listen_port = .*/listen_port = $port/" -e 's/^listen_addr = .*/listen_addr = 127.0.0.1/' \
  -e "s#^\[pgbouncer\]#[pgbouncer]\nlogfile = $dir/log\npidfile = $dir/pid\nunix_socket_dir = $dir#" \
  docker/pgbouncer/pgbouncer.ini > "$dir/pgbouncer.ini"
echo '"postgres" "unused"' > "$dir/userlist.txt"
run=("$binary" "$dir/pgbouncer.ini")
if [ "$(id -u)" = 0 ]; then
  chown -R postgres "$dir"
  # runuser execs PgBouncer itself, so `timeout` stops PgBouncer and not just a shell around it.
  run=(runuser -u postgres -- "$binary" "$dir/pgbouncer.ini")
fi
timeout 2 "${run[@]}" > "$dir/out" 2>&1 || true
if grep -q "listening on 127.0.0.1:$port" "$dir/log" "$dir/out" 2>/dev/null; then
  echo "docker/pgbouncer/pgbouncer.ini: starts on $("$binary" --version | head -n 1)"
else
  echo "docker/pgbouncer/pgbouncer.ini does not start on this PgBouncer:" >&2
  cat "$dir/out" "$dir/log" >&2 2>/dev/null || true
  exit 1
fi
