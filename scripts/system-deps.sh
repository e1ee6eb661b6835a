#!/usr/bin/env bash
# Install and start what the test suite needs beyond Python packages, idempotently: Debian packages
# (real peers the integration tests talk to) and the local PostgreSQL server. `make test` runs this;
# on a machine that already has everything it only checks.
set -euo pipefail

# Debian packages the tests drive for real. Add one here with the command that proves it is installed.
declare -A NEEDED=(
  [chromium]=chromium  # web/ browser tests (Playwright drives Debian's Chromium; never `playwright install`)
  [prometheus]=prometheus  # connectors/prometheus: query_range against the real server
  [prometheus-alertmanager]=prometheus-alertmanager  # connectors/alertmanager: the real webhook sender
)

missing=()
for pkg in "${!NEEDED[@]}"; do
  command -v "${NEEDED[$pkg]}" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "system-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "system-deps: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# PostgreSQL on 127.0.0.1:5432: the machine starts it before a session; start it if it has stopped.
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
