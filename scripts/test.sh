#!/usr/bin/env bash
# The project's test command (README, .ci/run):
#
#   scripts/test.sh [extra cargo test args, e.g. -p book, or -- --nocapture]
#
# 1. cargo fmt --check, cargo clippy -D warnings; the SAM template's lints:
#    cfn-lint, sam validate --lint, cfn-lint -a cfn_lint_serverless.rules
#    (offline; sam, cfn-lint and cargo-lambda pip-installed into .tools/venv
#    when missing)
# 2. Postgres: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
#    if it answers, else a throwaway cluster on 127.0.0.1:55432
# 3. PgBouncer (transaction pooling) on 127.0.0.1:6432, any database name forwarded
# 4. moto_server (Secrets Manager) on 127.0.0.1:5055
# 5. template database lambda_template, migrated with `cargo run -p migrate -- up`
# 6. cargo test --workspace, then the captured-log leak check
# 7. the smoke test against the dev stack: scripts/dev.sh --no-watch (its own
#    database lambda_smoke), `cargo lambda watch` on a free port, then
#    scripts/smoke.sh (every route once, through the watch router)
# 8. scripts/sam-build.sh: the release arm64 build of every function as
#    `sam build` makes it, offline, with readelf (glibc only) and the sizes.
#    The first run builds everything (long: see README); later runs rebuild
#    what changed. TEST_SKIP_SAM_BUILD=1 skips it for a quick local loop;
#    CI never sets it.
# Services started here are stopped at the end (unless another script still
# uses them); services that were already running are reused and left alone.
#
# Exported to the tests:
#   TEST_ADMIN_URL    direct superuser URL, database postgres
#   TEST_POOLER_URL   postgres://<user>@127.0.0.1:6432 (append /<dbname>)
#   TEST_TEMPLATE_DB  lambda_template
#   AWS_ENDPOINT_URL AWS_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY (moto)
#   RUST_BACKTRACE=1
# Knobs: DATABASE_URL, TEST_PG_PORT, PGBOUNCER_PORT, MOTO_PORT,
#   LAMBDA_STATE_DIR, LAMBDA_KEEP_SERVICES=1 (leave services up for the next run).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

WATCH_PID=
# shellcheck disable=SC2317  # called by the EXIT trap
stop_watch() {
    if [[ -n $WATCH_PID ]]; then
        kill -TERM -- "-$WATCH_PID" 2>/dev/null || true
        wait "$WATCH_PID" 2>/dev/null || true
        WATCH_PID=
    fi
}

# The dev command's stack, as a user runs it, answering scripts/smoke.sh:
# every route once through `cargo lambda watch` and its router.
run_local_smoke() {
    local port=9100 out dir="$ROOT/target/smoke" i
    while _port_busy "$port"; do port=$((port + 1)); done
    mkdir -p "$dir"
    log "smoke test: scripts/dev.sh --no-watch (database lambda_smoke)"
    export JWT_SECRET=smoke-test-only-secret-0123456789abcdef
    out=$(DEV_DB=lambda_smoke WATCH_PORT=$port bash "$ROOT/scripts/dev.sh" --no-watch) || {
        warn "scripts/dev.sh --no-watch failed"
        return 1
    }
    eval "$(grep -E '^export (TENANT|ADMIN_TOKEN|MEMBER_TOKEN)=' <<<"$out")"
    log "smoke test: cargo lambda watch on 127.0.0.1:$port (log: $dir/watch.log)"
    # Its own session, so stop_watch ends watch and the functions it runs.
    DATABASE_URL=$(pg_pooler_url lambda_smoke) RUST_LOG=info \
        setsid cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$port" \
        >"$dir/watch.log" 2>&1 </dev/null &
    WATCH_PID=$!
    for ((i = 0; i < 600; i++)); do
        _port_busy "$port" && break
        _pid_alive "$WATCH_PID" || break
        sleep 0.2
    done
    local rc=0
    # The first request to each function builds it (debug), hence the timeout.
    SMOKE_TIMEOUT=900 bash "$ROOT/scripts/smoke.sh" "http://127.0.0.1:$port" || rc=$?
    if ((rc != 0)); then
        warn "smoke test failed; the last lines of $dir/watch.log:"
        tail -n 40 "$dir/watch.log" >&2 || true
    fi
    stop_watch
    unset TENANT ADMIN_TOKEN MEMBER_TOKEN JWT_SECRET
    return "$rc"
}

# shellcheck disable=SC2317  # called by the EXIT trap
on_exit() {
    local rc=$?
    stop_watch
    cleanup
    exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
        log "rustup component add $component"
        rustup component add "$component" >&2
    fi
done

log "cargo fmt --all --check"
cargo fmt --all --check

log "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

# The deployment template's lints; `build` also brings cargo-lambda (the
# smoke test's `cargo lambda watch`, and `sam build`).
ensure_sam_tools build
lint_template template.yaml

ensure_postgres
ensure_pgbouncer
ensure_moto

# One test run at a time against the shared template and t_* databases: a
# second run waits here (its services are already leased, so it keeps them).
mkdir -p "$STATE_ROOT"
exec 8>"$STATE_ROOT/test.lock"
if ! flock -n 8; then
    log "waiting for another scripts/test.sh run to finish"
    flock 8
fi

prepare_template_db lambda_template

export RUST_BACKTRACE=1
log "TEST_ADMIN_URL=$TEST_ADMIN_URL TEST_POOLER_URL=$TEST_POOLER_URL TEST_TEMPLATE_DB=$TEST_TEMPLATE_DB AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL"
log "cargo test --workspace --no-fail-fast $*"
# Every log line the functions write during the tests goes to this file;
# the last step proves that none of them holds a token, secret or PHI value.
export TEST_LOG_FILE="$ROOT/target/test-logs/functions.jsonl"
mkdir -p "$(dirname "$TEST_LOG_FILE")"
: >"$TEST_LOG_FILE"
status=0
cargo test --workspace --no-fail-fast "$@" || status=$?
if ((status == 0)) && (($# == 0)); then
    log "checking the captured logs for tokens, secrets and PHI ($TEST_LOG_FILE)"
    cargo test -p integration-tests --test logs -- --ignored || status=$?
fi
if ((status == 0)) && (($# == 0)); then
    run_local_smoke || status=$?
fi
if ((status == 0)) && (($# == 0)) && [[ -z ${TEST_SKIP_SAM_BUILD:-} ]]; then
    log "scripts/sam-build.sh (release arm64 build of every function, sam build, readelf)"
    SAM_BUILD_SKIP_LINT=1 bash "$ROOT/scripts/sam-build.sh" || status=$?
fi
if ((status == 0)); then
    log "tests passed"
else
    log "tests FAILED (exit $status)"
fi
exit "$status"
