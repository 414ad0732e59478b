#!/usr/bin/env bash
# Makes sure Debian's pgbouncer is installed for the pooler tests (runs before `npm test`).
# Installs it with apt-get when missing and we are root on a Debian-like system; otherwise it only
# says how to install it (the pooler tests then fail with PgBouncerUnavailableError).
set -euo pipefail
if command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "pgbouncer is missing: installing it with apt-get (needed by the pooler tests)..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq pgbouncer >/dev/null
  # The Debian package starts a system pgbouncer on 6432; the tests run their own.
  (service pgbouncer stop || true) >/dev/null 2>&1
  echo "pgbouncer installed."
else
  echo "pgbouncer is not installed; the pooler tests need it. Install it with: sudo apt-get install pgbouncer" >&2
fi
