#!/usr/bin/env bash
# Start the local PostgreSQL server the test suite uses, if it is installed but not running.
# On machines without it, the PostgreSQL tests skip (and fail under CI=true, so CI cannot skip them).
set -u
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  fi
fi
# xmlsec1 signs and verifies SAML (pysaml2 calls it); `make peers` installs it, this covers direct runs.
if ! command -v xmlsec1 >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq xmlsec1) >/dev/null 2>&1 || echo "warning: xmlsec1 not installed; SAML tests will fail" >&2
fi
exit 0
