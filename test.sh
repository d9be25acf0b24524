#!/usr/bin/env bash
# The whole test suite: unit, property and end-to-end tests (each end-to-end
# scenario on SQLite and on PostgreSQL), then the schemathesis contract test.
#
# PostgreSQL is expected at ATTIVA_TEST_POSTGRES_URL (default
# postgres://postgres@127.0.0.1:5432). Without it the PostgreSQL half is
# skipped and said so; with ATTIVA_REQUIRE_POSTGRES=1 (CI) it is mandatory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

pg_url="${ATTIVA_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
hostport="${pg_url#*://}"; hostport="${hostport#*@}"; hostport="${hostport%%/*}"
pg_host="${hostport%%:*}"; pg_port="${hostport##*:}"; [[ "$pg_port" == "$pg_host" ]] && pg_port=5432

if (exec 3<>"/dev/tcp/$pg_host/$pg_port") 2>/dev/null; then
  postgres=up
else
  postgres=down
  if [[ "${ATTIVA_REQUIRE_POSTGRES:-0}" == 1 ]]; then
    echo "test.sh: PostgreSQL is required (ATTIVA_REQUIRE_POSTGRES=1) but $pg_host:$pg_port does not answer" >&2
    exit 1
  fi
  echo "=================================================================="
  echo " PostgreSQL at $pg_host:$pg_port does not answer: the PostgreSQL"
  echo " half of every end-to-end test will be SKIPPED (SQLite still runs)."
  echo "=================================================================="
fi

echo "==> cargo test (unit, property, end-to-end on SQLite and PostgreSQL)"
cargo test --workspace --all-targets

echo "==> contract test (schemathesis against the live server)"
bash tests/contract/run.sh

if [[ "$postgres" == down ]]; then
  echo "test.sh: all passed on SQLite; the PostgreSQL half was SKIPPED (no server at $pg_host:$pg_port)."
else
  echo "test.sh: all passed, on SQLite and on PostgreSQL."
fi
