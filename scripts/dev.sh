#!/usr/bin/env bash
# Local development: Postgres + PgBouncer + migrations + demo data, then
# `cargo lambda watch` serving the functions on http://127.0.0.1:9000.
#
#   scripts/dev.sh                  set up, print tokens and a curl, run the functions
#   scripts/dev.sh --no-watch       set up and print only (services stay up)
#   scripts/dev.sh --stop           stop the services the scripts started
#   scripts/dev.sh -- ARGS...       extra arguments for `cargo lambda watch`
#
# Postgres: DATABASE_URL if it answers (default postgres://postgres@127.0.0.1:5432/postgres),
# else a throwaway cluster (see scripts/lib.sh). Migrations run directly against
# database lambda_dev; the functions connect THROUGH PgBouncer: their
# DATABASE_URL is postgres://<user>@127.0.0.1:6432/lambda_dev.
# JWT_SECRET comes from the environment, else a fixed dev-only default.
# Knobs: DEV_DB (lambda_dev), WATCH_PORT (9000), JWT_SECRET, JWT_AUDIENCE, JWT_ISSUER,
#   PGBOUNCER_PORT, TEST_PG_PORT, LAMBDA_STATE_DIR.
set -euo pipefail

usage() { sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

NO_WATCH=0
STOP=0
WATCH_ARGS=()
while (($#)); do
    case $1 in
    --no-watch) NO_WATCH=1 ;;
    --stop) STOP=1 ;;
    -h | --help)
        usage
        exit 0
        ;;
    --)
        shift
        WATCH_ARGS+=("$@")
        break
        ;;
    *) WATCH_ARGS+=("$1") ;;
    esac
    shift
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

if ((STOP)); then
    stop_services
    exit 0
fi

# On failure, stop what we started; on success the services stay up (for the
# watch we exec into, or for the caller of --no-watch).
# shellcheck disable=SC2317  # called by the EXIT trap
on_exit() {
    local rc=$?
    if ((rc != 0)); then cleanup; fi
    exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

DEV_DB=${DEV_DB:-lambda_dev}
WATCH_PORT=${WATCH_PORT:-9000}
TENANT_ID=11111111-1111-4111-8111-111111111111
ADMIN_ID=aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa
MEMBER_ID=bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb
export JWT_SECRET=${JWT_SECRET:-dev-only-secret-change-me-0123456789abcdef}

ensure_postgres

log "creating database $DEV_DB if missing"
_psql "$TEST_ADMIN_URL" -v db="$DEV_DB" <<'SQL' >/dev/null
select format('create database %I', :'db')
where not exists (select 1 from pg_database where datname = :'db') \gexec
SQL

DEV_DIRECT_URL=$(pg_direct_url "$DEV_DB")
log "migrating $DEV_DB (cargo run -p migrate -- up)"
DATABASE_URL=$DEV_DIRECT_URL cargo run -q -p migrate -- up

ensure_pgbouncer
FUNCTIONS_DATABASE_URL=$(pg_pooler_url "$DEV_DB")

log "seeding demo tenant and users"
_psql "$DEV_DIRECT_URL" -v tenant="$TENANT_ID" -v admin="$ADMIN_ID" -v member="$MEMBER_ID" <<'SQL' >/dev/null
begin;
insert into public.tenants (id, name)
select :'tenant', 'Demo Clinic'
where not exists (select 1 from public.tenants where id = :'tenant');
-- Plain literals, so uuid/enum/text column types all work.
insert into public.tenant_users (tenant_id, user_id, role)
select :'tenant', :'admin', 'admin'
where not exists (select 1 from public.tenant_users where tenant_id = :'tenant' and user_id = :'admin');
insert into public.tenant_users (tenant_id, user_id, role)
select :'tenant', :'member', 'member'
where not exists (select 1 from public.tenant_users where tenant_id = :'tenant' and user_id = :'member');
commit;
SQL

log "minting dev tokens (cargo run -p token)"
ADMIN_TOKEN=$(cargo run -q -p token -- --sub "$ADMIN_ID" --role authenticated --ttl-secs 86400 --email admin@demo-clinic.example)
MEMBER_TOKEN=$(cargo run -q -p token -- --sub "$MEMBER_ID" --role authenticated --ttl-secs 86400 --email ada@example.com)

BASE=http://127.0.0.1:$WATCH_PORT
cat <<EOF

Local environment ready.
  Functions' DATABASE_URL (through PgBouncer): $FUNCTIONS_DATABASE_URL
  Direct (admin) URL, for psql/migrations:     $DEV_DIRECT_URL
  JWT_SECRET=$JWT_SECRET
  Demo tenant 'Demo Clinic': $TENANT_ID
    admin  $ADMIN_ID
    member $MEMBER_ID
  Tokens are valid for 24 h.

export TENANT=$TENANT_ID
export ADMIN_TOKEN=$ADMIN_TOKEN
export MEMBER_TOKEN=$MEMBER_TOKEN

# Book a slot (as the member):
curl -s -X POST $BASE/tenants/\$TENANT/bookings -H "authorization: Bearer \$MEMBER_TOKEN" -H 'content-type: application/json' -d '{"slot_id":"2026-12-02T09:00/dr-lee","user_name":"Ada Patient","user_email":"ada@example.com"}'
# Cancel it (BOOKING_ID from the response above):
curl -s -X POST $BASE/tenants/\$TENANT/bookings/\$BOOKING_ID/cancel -H "authorization: Bearer \$MEMBER_TOKEN"

EOF

if ((NO_WATCH)); then
    log "--no-watch: not starting cargo lambda watch; services stay up (stop them with scripts/dev.sh --stop)"
    trap - EXIT
    exit 0
fi

if ! cargo lambda --version >/dev/null 2>&1; then
    _py_tool cargo-lambda cargo-lambda >/dev/null
fi

export DATABASE_URL=$FUNCTIONS_DATABASE_URL
export RUST_LOG=${RUST_LOG:-info}
log "cargo lambda watch on $BASE (first request to each function builds it; Ctrl-C to stop)"
log "services stay up after watch exits; stop them with scripts/dev.sh --stop"
trap - EXIT INT TERM
# exec keeps our pid, so the service leases taken above stay live while watch runs.
exec cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" "${WATCH_ARGS[@]}"
