#!/usr/bin/env bash
# What `make bench` needs beyond the venv (the Makefile installs the bench extras with it):
# Debian's wrk (the load generator) and taskset, OpenLDAP's slapd (the LDAP sign-in), Node.js
# and the npm packages (the oidc-provider peer). Idempotent; installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v taskset >/dev/null || missing+=(util-linux)
[ -x /usr/sbin/slapd ] || missing+=(slapd)
command -v node >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ -d node_modules/oidc-provider ] || npm ci --no-audit --no-fund
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "bench: PostgreSQL is not answering on 127.0.0.1:5432; use --backends sqlite" >&2
fi
