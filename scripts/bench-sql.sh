#!/usr/bin/env bash
# The database's share of a booking (BENCHMARKS.md, "Throughput"): pgbench
# runs the SQL of tools/bench/sql/*.sql through PgBouncer, pipelined, from a
# bare INSERT up to exactly what `book` sends, so the cost of each layer
# (transaction, app.begin_request, row-level security and foreign key) shows.
#
#   scripts/bench-sql.sh [--rounds N] [--clients C] [--secs S]
#
# Two databases, migrated with `cargo run -p migrate`: bench_sql (every
# migration) and bench_sql_0004 (then `migrate down`: the newest migration,
# 0005, reverted), each seeded with one tenant and member and a copy of
# bookings without RLS or foreign key (bench_raw). Both have
# synchronous_commit off, as the bench's database. Rounds alternate the
# variants so a busy machine hurts them alike; the medians are printed.
# Defaults: 3 rounds, 20 clients, 8 s. Knobs: those of scripts/test.sh.
set -euo pipefail

ROUNDS=3 CLIENTS=20 SECS=8
while (($#)); do
    case $1 in
    --rounds) ROUNDS=$2; shift ;;
    --clients) CLIENTS=$2; shift ;;
    --secs) SECS=$2; shift ;;
    -h | --help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

DBS=(bench_sql bench_sql_0004)
# shellcheck disable=SC2317  # called by the EXIT trap
on_exit() {
    local rc=$? db
    for db in "${DBS[@]}"; do
        _psql "$TEST_ADMIN_URL" -qc "drop database if exists $db with (force)" >/dev/null 2>&1 || true
    done
    cleanup
    exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ensure_postgres
ensure_pgbouncer
command -v pgbench >/dev/null 2>&1 || die "pgbench not found (it comes with the Postgres server package)"

for db in "${DBS[@]}"; do
    log "creating and migrating $db"
    _psql "$TEST_ADMIN_URL" -qc "drop database if exists $db with (force)" -c "create database $db" >/dev/null
    DATABASE_URL=$(pg_direct_url "$db") cargo run -q -p migrate -- up
    if [[ $db == bench_sql_0004 ]]; then
        DATABASE_URL=$(pg_direct_url "$db") cargo run -q -p migrate -- down
    fi
    _psql "$(pg_direct_url "$db")" -q <<'SQL' >/dev/null
insert into public.tenants (id, name) values ('11111111-1111-4111-8111-111111111111', 'Bench Clinic');
insert into public.tenant_users (tenant_id, user_id, role)
  values ('11111111-1111-4111-8111-111111111111', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'member');
create table public.bench_raw (like public.bookings including all);
grant select, insert on public.bench_raw to authenticated;
select format('alter database %I set synchronous_commit = off', current_database()) \gexec
SQL
done

VARIANTS=(raw tx begin_request book)
declare -A RESULTS
for ((r = 1; r <= ROUNDS; r++)); do
    for db in "${DBS[@]}"; do
        for v in "${VARIANTS[@]}"; do
            tps=$(pgbench -n -M extended -c "$CLIENTS" -j 2 -T "$SECS" \
                -h 127.0.0.1 -p "$POOLER_PORT" -U "$PG_USER" \
                -f "tools/bench/sql/$v.sql" "$db" 2>&1 | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
            [[ -n $tps ]] || die "pgbench $v on $db printed no tps"
            log "round $r: $db $v: $tps tps"
            RESULTS[$db/$v]+="${tps%.*} "
        done
    done
done

median() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '\n| transaction (tools/bench/sql) | database | tps per round | median |\n|---|---|---|---|\n'
for db in "${DBS[@]}"; do
    for v in "${VARIANTS[@]}"; do
        printf '| %s | %s | %s | %s |\n' "$v" "$db" "${RESULTS[$db/$v]% }" "$(median <<<"${RESULTS[$db/$v]}")"
    done
done
