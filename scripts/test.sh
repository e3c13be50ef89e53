#!/usr/bin/env bash
# The project's test command (README, .ci/run):
#
#   scripts/test.sh [extra cargo test args, e.g. -p book, or -- --nocapture]
#
# 1. cargo fmt --check, cargo clippy -D warnings; the SAM template's lints:
#    cfn-lint, sam validate --lint, cfn-lint -a cfn_lint_serverless.rules
#    (offline; sam/cfn-lint pip-installed into .tools/venv when missing), and
#    readelf on Lambda binaries already built by scripts/sam-build.sh, if any
# 2. Postgres: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
#    if it answers, else a throwaway cluster on 127.0.0.1:55432
# 3. PgBouncer (transaction pooling) on 127.0.0.1:6432, any database name forwarded
# 4. moto_server (Secrets Manager) on 127.0.0.1:5055
# 5. template database lambda_template, migrated with `cargo run -p migrate -- up`
# 6. cargo test --workspace
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

# shellcheck disable=SC2317  # called by the EXIT trap
on_exit() {
    local rc=$?
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

# The deployment template (building the release arm64 binaries is too slow
# for every run: scripts/sam-build.sh builds them and checks them the same way).
lint_template template.yaml
mapfile -t bootstraps < <(find "$ROOT/.aws-sam/build" -name bootstrap -type f 2>/dev/null | sort)
if ((${#bootstraps[@]})); then
    log "readelf -d on the Lambda binaries of the last sam build (.aws-sam/build)"
    check_bootstrap_libs "${bootstraps[@]}" || die "a Lambda binary needs a shared library beyond glibc"
else
    log "no .aws-sam/build binaries: skipping readelf (scripts/sam-build.sh builds and checks them)"
fi

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
if ((status == 0)); then
    log "tests passed"
else
    log "tests FAILED (exit $status)"
fi
exit "$status"
