#!/usr/bin/env bash
# The bench command (README "Benchmarks", BENCHMARKS.md):
#
#   scripts/bench.sh [--iterations N] [--throughput-secs S] [--envs N]
#                    [--cold-starts N] [--rt-delay-ms MS] [--only stage,...]
#
# Sets up the services as scripts/test.sh does (scripts/lib.sh: reuses a
# running Postgres, PgBouncer and moto_server, else starts them), then:
# 1. a template database bench_template, migrated (never lambda_template or
#    the tests' t_* databases: a test run may be using them);
# 2. a private PgBouncer for the bench (transaction mode, default_pool_size
#    20) on 127.0.0.1:6433 (BENCH_PGBOUNCER_PORT; next free port if taken),
#    stopped at exit;
# 3. `cargo build --release` of the eight functions, then of the bench (slow
#    the first time: LTO, 10+ min on 2 busy cores; reused afterwards);
# 4. scripts/phi-eval.sh (the PHI detector's speed), saved for the table;
# 5. target/release/bench: creates bench_<uuid> from the template, runs every
#    stage, prints the table, writes target/bench/{report.md,report.json,
#    explain.txt}, drops its database.
# Knobs: those of scripts/test.sh (DATABASE_URL, PGBOUNCER_PORT, MOTO_PORT,
# LAMBDA_STATE_DIR, LAMBDA_KEEP_SERVICES), BENCH_PGBOUNCER_PORT.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

BENCH_BOUNCER_PID=
BENCH_BOUNCER_DIR=

# shellcheck disable=SC2317  # called by the EXIT trap
on_exit() {
    local rc=$?
    if [[ -n $BENCH_BOUNCER_PID ]]; then
        _stop_pid "$BENCH_BOUNCER_PID" TERM "bench PgBouncer"
    fi
    [[ -n $BENCH_BOUNCER_DIR ]] && rm -rf "$BENCH_BOUNCER_DIR"
    cleanup
    exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

ensure_postgres
ensure_pgbouncer
ensure_moto
command -v pgbench >/dev/null 2>&1 || die "pgbench not found (it comes with the Postgres server package)"

# One bench at a time: it drops leftover bench_* databases of crashed runs.
mkdir -p "$STATE_ROOT"
exec 7>"$STATE_ROOT/bench.lock"
if ! flock -n 7; then
    log "waiting for another scripts/bench.sh run to finish"
    flock 7
fi

# ------------------------------------------------------- template database --
BENCH_TEMPLATE=bench_template
log "dropping leftover bench databases (bench_*), recreating $BENCH_TEMPLATE"
_psql "$TEST_ADMIN_URL" -v db="$BENCH_TEMPLATE" <<'SQL' >/dev/null
select format('drop database %I with (force)', datname)
from pg_database where datname like 'bench\_%' and datname <> :'db' \gexec
select format('drop database %I with (force)', :'db')
from pg_database where datname = :'db' \gexec
select format('create database %I', :'db') \gexec
SQL
log "migrating $BENCH_TEMPLATE (cargo run -p migrate -- up)"
DATABASE_URL=$(pg_direct_url "$BENCH_TEMPLATE") cargo run -q -p migrate -- up || die "migrations failed"
export TEST_TEMPLATE_DB=$BENCH_TEMPLATE

# ---------------------------------------------- the bench's own PgBouncer --
_find_pgbouncer
port=${BENCH_PGBOUNCER_PORT:-6433}
while _port_busy "$port"; do port=$((port + 1)); done
BENCH_BOUNCER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/bench-pgbouncer.XXXXXX")
d=$BENCH_BOUNCER_DIR
sed -e "s|@PG_HOST@|$PG_HOST|g" -e "s|@PG_PORT@|$PG_PORT|g" \
    -e "s|@LISTEN_PORT@|$port|g" -e "s|@STATE_DIR@|$d|g" \
    -e "s|@PG_USER@|$PG_USER|g" \
    -e 's|^default_pool_size = .*|default_pool_size = 20|' \
    "$ROOT/scripts/pgbouncer.ini.tmpl" >"$d/pgbouncer.ini"
grep -q '^default_pool_size = 20$' "$d/pgbouncer.ini" || die "could not set default_pool_size = 20"
{
    printf '"postgres" ""\n'
    if [[ $PG_USER != postgres || -n $PG_PASSWORD ]]; then
        printf '"%s" "%s"\n' "${PG_USER//\"/\"\"}" "${PG_PASSWORD//\"/\"\"}"
    fi
} >"$d/userlist.txt"
chmod 600 "$d/userlist.txt"
chmod 755 "$d"
log "starting the bench's PgBouncer on 127.0.0.1:$port (transaction pooling, pool 20)"
if [[ $EUID -eq 0 ]]; then
    chown -R postgres: "$d"
    "$PGBOUNCER_BIN" -d -u postgres "$d/pgbouncer.ini" >>"$d/start.log" 2>&1 7>&- || true
else
    "$PGBOUNCER_BIN" -d "$d/pgbouncer.ini" >>"$d/start.log" 2>&1 7>&- || true
fi
for ((i = 0; i < 100; i++)); do
    [[ -f $d/pgbouncer.pid ]] && BENCH_BOUNCER_PID=$(<"$d/pgbouncer.pid")
    if _pid_alive "$BENCH_BOUNCER_PID" && _pg_ok "postgres://$PG_USER@127.0.0.1:$port/postgres"; then break; fi
    sleep 0.1
done
_pg_ok "postgres://$PG_USER@127.0.0.1:$port/postgres" || {
    tail -n 20 "$d/start.log" "$d/pgbouncer.log" >&2 2>/dev/null || true
    die "the bench's PgBouncer did not come up on 127.0.0.1:$port"
}
# Everything the bench runs goes through this PgBouncer.
export TEST_POOLER_URL=postgres://$PG_USER@127.0.0.1:$port

# ------------------------------------------------------------------ builds --
fns=(book cancel score record-metric upsert-product checkout log-phi create-partitions)
pkgs=()
for f in "${fns[@]}"; do pkgs+=(-p "$f"); done
# Two commands: built together, the functions would get the bench's feature
# set (cargo unifies features across the packages of one build).
log "cargo build --release ${pkgs[*]} (LTO: slow the first time)"
cargo build --release "${pkgs[@]}"
log "cargo build --release -p bench"
cargo build --release -p bench
export BENCH_RELEASE_DIR=$ROOT/target/release

mkdir -p "$ROOT/target/bench"
export BENCH_OUT_DIR=$ROOT/target/bench
log "scripts/phi-eval.sh (PHI detector speed)"
if "$ROOT/scripts/phi-eval.sh" >"$BENCH_OUT_DIR/phi-eval.txt"; then
    export BENCH_PHI_REPORT=$BENCH_OUT_DIR/phi-eval.txt
else
    warn "scripts/phi-eval.sh failed: the PHI figures will be missing"
fi

log "target/release/bench $*"
"$ROOT/target/release/bench" "$@"
