#!/usr/bin/env bash
# Contract tests: build the attiva server, start it on a free port with a fresh
# database, and run schemathesis (default checks and phases) against /openapi.json,
# authenticated: tests/contract/setup.py walks the purchase story through the API
# (a customer, a panel user past the password change, an operator created with
# `attiva operator create`) and writes the config that gives every secured
# operation its audience's token and real ids.
#
# Environment knobs:
#   CONTRACT_RELEASE=1         build and run the release binary instead of debug
#   CONTRACT_SERVER_CMD="..."  run this shell command instead of building attiva; it gets
#                              the same env (ATTIVA_BIND, DATABASE_URL, ...) and the caller's cwd,
#                              and the operator CONTRACT_OPERATOR must already exist on it
#   CONTRACT_DATABASE_URL=...  database to use instead of a fresh SQLite file
#   CONTRACT_MAX_EXAMPLES=50   max test cases per operation (fuzzing phase)
#   CONTRACT_SEED=N            fixed seed for a reproducible run
#   CONTRACT_WORKERS=1         concurrent schemathesis workers
#   CONTRACT_READY_TIMEOUT=60  seconds to wait for GET /health/ready
# Extra arguments are passed on to `schemathesis run`. tests/contract/schemathesis.toml
# (its documented exceptions) is the base of the generated config. Outputs go to
# target/contract/.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$ROOT/target/contract-venv"
OUT="$ROOT/target/contract"
REQ="$HERE/requirements.txt"

log() { printf '==> %s\n' "$*" >&2; }

# --- Virtualenv, rebuilt only when requirements.txt changes (its hash is kept in the venv).
req_hash="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [[ "$(cat "$VENV/.requirements.sha256" 2>/dev/null || true)" != "$req_hash" ]]; then
  log "creating virtualenv $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
  echo "$req_hash" >"$VENV/.requirements.sha256"
fi

mkdir -p "$OUT"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/attiva-contract.XXXXXX")"

# --- Server command: the stand-in override, or the freshly built binary.
if [[ -n "${CONTRACT_SERVER_CMD:-}" ]]; then
  server_cmd=(bash -c "exec $CONTRACT_SERVER_CMD")
  server_dir="$PWD"
else
  profile=debug build_flags=()
  if [[ "${CONTRACT_RELEASE:-0}" == 1 ]]; then profile=release build_flags=(--release); fi
  log "building attiva ($profile)"
  (cd "$ROOT" && cargo build --bin attiva ${build_flags[@]+"${build_flags[@]}"})
  server_cmd=("$ROOT/target/$profile/attiva")
  attiva_bin="$ROOT/target/$profile/attiva"
  server_dir="$TMP" # anything the server writes relative to its cwd (./data/...) stays in the tmpdir
fi

# Free port: bind to port 0, read what the kernel picked, release it.
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
BASE="http://127.0.0.1:$PORT"
SERVER_LOG="$OUT/server.log"
server_pid=""
attiva_bin="${attiva_bin:-}"
MAIL_DIR="$TMP/mail"
DATABASE_URL_FOR_SERVER="${CONTRACT_DATABASE_URL:-sqlite://$TMP/contract.db?mode=rwc}"
export CONTRACT_OPERATOR="${CONTRACT_OPERATOR:-contract-operator}"
export CONTRACT_OPERATOR_PASSWORD="${CONTRACT_OPERATOR_PASSWORD:-a long contract operator password 42}"

cleanup() {
  local rc=$?
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ $rc -ne 0 && -s "$SERVER_LOG" ]]; then
    log "server log, last 60 lines ($SERVER_LOG):"
    tail -n 60 "$SERVER_LOG" >&2
  fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# DATABASE_URL etc. are given to the server process only (not exported: a DATABASE_URL
# in cargo's environment would change what sqlx macros do at build time).
log "starting server on $BASE (log: $SERVER_LOG)"
(
  cd "$server_dir"
  # Access tokens outlive the run; the panel's password change is done by setup.py.
  exec env ATTIVA_BIND="127.0.0.1:$PORT" ATTIVA_ENV=development RUST_LOG=warn \
    ATTIVA_CATALOG="$ROOT/catalog/catalog.toml" ATTIVA_MAIL_DIR="$MAIL_DIR" \
    ATTIVA_ACCESS_TOKEN_TTL_SECS=86400 DATABASE_URL="$DATABASE_URL_FOR_SERVER" \
    "${server_cmd[@]}"
) >"$SERVER_LOG" 2>&1 &
server_pid=$!

deadline=$((SECONDS + ${CONTRACT_READY_TIMEOUT:-60}))
until curl -fs -o /dev/null --max-time 2 "$BASE/health/ready"; do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    wait "$server_pid" && status=0 || status=$?
    log "server exited (status $status) before becoming ready"
    exit 1
  fi
  if ((SECONDS >= deadline)); then
    log "server not ready after ${CONTRACT_READY_TIMEOUT:-60}s"
    exit 1
  fi
  sleep 0.3
done
log "server ready"

# --- Credentials: an operator from the command line, the rest through the API.
if [[ -n "$attiva_bin" ]]; then
  printf '%s' "$CONTRACT_OPERATOR_PASSWORD" | env DATABASE_URL="$DATABASE_URL_FOR_SERVER" RUST_LOG=warn \
    "$attiva_bin" operator create "$CONTRACT_OPERATOR" >>"$SERVER_LOG" 2>&1
fi
CONFIG="$OUT/schemathesis.generated.toml"
log "walking the purchase story for credentials (tests/contract/setup.py)"
python3 "$HERE/setup.py" "$BASE" "$MAIL_DIR" "$HERE/schemathesis.toml" "$CONFIG"

# --- Schemathesis. Its cwd is target/contract so .hypothesis/ and .schemathesis/
# (example database, crash cache) never land in the repo.
st=("$VENV/bin/schemathesis")
st+=(--config-file "$CONFIG")
st+=(run "$BASE/openapi.json"
  --origin "$BASE" # whatever `servers` says, test this process (the schema's base path is kept)
  --max-examples "${CONTRACT_MAX_EXAMPLES:-50}"
  --workers "${CONTRACT_WORKERS:-1}"
  --report junit --report-junit-path "$OUT/junit.xml")
[[ -n "${CONTRACT_SEED:-}" ]] && st+=(--seed "$CONTRACT_SEED")
[[ -n "${CI:-}" ]] && st+=(--no-color)

log "running: ${st[*]} $*"
rc=0
(cd "$OUT" && "${st[@]}" "$@") || rc=$?
if ((rc == 0)); then
  log "contract tests PASSED (JUnit: $OUT/junit.xml)"
else
  log "contract tests FAILED: schemathesis exit code $rc (JUnit: $OUT/junit.xml)"
fi
exit "$rc"
