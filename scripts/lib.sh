# shellcheck shell=bash
# Local service setup shared by scripts/test.sh, scripts/dev.sh (and a bench
# script). Source it from bash; it changes no shell options of its caller.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   trap 'rc=$?; cleanup; exit $rc' EXIT      (test.sh uses an on_exit function)
#   ensure_postgres; ensure_pgbouncer; ensure_moto
#
# ensure_postgres   reuse DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
#                   if it answers, else start a throwaway cluster on 127.0.0.1:55432
#                   (TEST_PG_PORT; next free port if taken). Sets PG_HOST PG_PORT
#                   PG_USER, exports TEST_ADMIN_URL (direct, superuser, db postgres).
# ensure_pgbouncer  reuse a PgBouncer on 127.0.0.1:6432 (PGBOUNCER_PORT) that reaches
#                   the same server, else start one (transaction mode, any database
#                   name forwarded). Exports TEST_POOLER_URL (no database name).
# ensure_moto       reuse or start moto_server on 127.0.0.1:5055 (MOTO_PORT). Exports
#                   AWS_ENDPOINT_URL AWS_REGION AWS_DEFAULT_REGION AWS_ACCESS_KEY_ID
#                   AWS_SECRET_ACCESS_KEY.
# pg_direct_url DB / pg_pooler_url DB   connection URLs for a database.
# prepare_template_db [NAME]   drop leftover t_* databases, recreate and migrate
#                   the template (default lambda_template), export TEST_TEMPLATE_DB.
# cleanup           stop the services this process started or reused from an
#                   earlier script run, unless another live script still uses them.
# stop_services     stop every service the scripts started that nobody uses.
# ensure_sam_tools lint|build   sam, cfn-lint and the cfn-lint-serverless rules
#                   (for `build` also cargo-lambda beside sam) on PATH, else
#                   pip-installed together into .tools/venv.
# lint_template [FILE]   cfn-lint, sam validate --lint and the serverless rules
#                   (offline) on FILE (default template.yaml).
# check_bootstrap_libs FILE...   fail unless each ELF needs only glibc's libraries.
#
# Services started here are recorded under $LAMBDA_STATE_DIR
# (default ${TMPDIR:-/tmp}/lambda-services-<uid>): one directory per service
# with its pid, config and log, and a leases/ directory holding one file per
# script process (pid) using it. A service is stopped when its last user
# cleans up, so a second run reuses the first run's services and neither pulls
# them from under the other. Services we did not start are never stopped.
# LAMBDA_KEEP_SERVICES=1 leaves everything running at cleanup.

LIB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE_ROOT=${LAMBDA_STATE_DIR:-${TMPDIR:-/tmp}/lambda-services-$(id -u)}
LEASE_PID=${LEASE_PID:-$$}
_LEASED=()
_APT_UPDATED=
_LOCKED=

# Python tools we pip-install go into a repo-local venv (/.tools is ignored by git).
if [[ -d $LIB_ROOT/.tools/venv/bin ]]; then
    PATH=$LIB_ROOT/.tools/venv/bin:$PATH
fi
# pgbouncer lives in /usr/sbin, which a non-root PATH may lack.
PATH=$PATH:/usr/sbin:/sbin
export PATH
# Never wait forever on a connection attempt.
export PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-5}

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf '==> WARNING: %s\n' "$*" >&2; }
die() {
    printf '==> ERROR: %s\n' "$*" >&2
    exit 1
}

# ---------------------------------------------------------------- helpers --

_as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        die "need root to run: $*"
    fi
}

# Run a Postgres server binary: they refuse to run as root.
_as_pg() {
    if [[ $EUID -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install $* by hand"
    if [[ -z $_APT_UPDATED ]]; then
        log "apt-get update"
        _as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq >&2 ||
            die "apt-get update failed"
        _APT_UPDATED=1
    fi
    log "apt-get install $*"
    _as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 \
        install -y -qq --no-install-recommends "$@" >&2 || die "apt-get install $* failed"
}

# Print the path of a Python command-line tool, pip-installing SPEC into a
# repo-local venv when the tool is not on PATH.
_py_tool() {
    local bin=$1 spec=$2 venv=$LIB_ROOT/.tools/venv
    if command -v "$bin" >/dev/null 2>&1; then
        command -v "$bin"
        return 0
    fi
    if [[ ! -x $venv/bin/python ]]; then
        command -v python3 >/dev/null 2>&1 || apt_install python3 python3-venv
        log "creating Python venv $venv"
        if ! python3 -m venv "$venv" >&2; then
            rm -rf "$venv"
            apt_install python3-venv
            python3 -m venv "$venv" >&2 || die "python3 -m venv failed"
        fi
    fi
    if [[ ! -x $venv/bin/$bin ]]; then
        log "pip install $spec (into $venv)"
        "$venv/bin/python" -m pip install -q --disable-pip-version-check "$spec" >&2 ||
            die "pip install $spec failed"
    fi
    [[ -x $venv/bin/$bin ]] || die "$spec did not install $bin"
    case ":$PATH:" in *":$venv/bin:"*) ;; *) export PATH=$venv/bin:$PATH ;; esac
    printf '%s\n' "$venv/bin/$bin"
}

# ------------------------------------------------------- SAM and linters --

# Offline and quiet: no telemetry, a region for tools that insist on one.
_sam_env() {
    export SAM_CLI_TELEMETRY=0
    export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-${AWS_REGION:-us-east-1}}
}

# Are sam, cfn-lint with the serverless rules (and cargo-lambda from sam's
# Python environment, for `sam build`) usable as found on PATH?
_sam_tools_usable() {
    local mode=$1 sam lambda rules
    sam=$(command -v sam 2>/dev/null) || return 1
    command -v cfn-lint >/dev/null 2>&1 || return 1
    # Not `cfn-lint ... | grep -q`: under pipefail, grep closing the pipe early
    # fails the pipeline.
    rules=$(cfn-lint --list-rules -a cfn_lint_serverless.rules 2>/dev/null) || return 1
    [[ $rules == *ES6000* ]] || return 1
    if [[ $mode == build ]]; then
        # `sam build` runs cargo-lambda, which finds zig through the Python
        # environment it was installed into: it must be sam's.
        lambda=$(command -v cargo-lambda 2>/dev/null) || return 1
        [[ $(dirname "$sam") == "$(dirname "$lambda")" ]] || return 1
    fi
}

ensure_sam_tools() {
    local mode=${1:?ensure_sam_tools lint|build} venv=$LIB_ROOT/.tools/venv
    local specs=('aws-sam-cli>=1.170' 'cfn-lint>=1.58' 'cfn-lint-serverless>=0.3.6')
    _sam_env
    _sam_tools_usable "$mode" && return 0
    [[ $mode == build ]] && specs+=('cargo-lambda>=1.9')
    if [[ ! -x $venv/bin/python ]]; then
        command -v python3 >/dev/null 2>&1 || apt_install python3 python3-venv
        log "creating Python venv $venv"
        if ! python3 -m venv "$venv" >&2; then
            rm -rf "$venv"
            apt_install python3-venv
            python3 -m venv "$venv" >&2 || die "python3 -m venv failed"
        fi
    fi
    log "pip install ${specs[*]} (into $venv)"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "${specs[@]}" >&2 ||
        die "pip install ${specs[*]} failed"
    case ":$PATH:" in *":$venv/bin:"*) ;; *) export PATH=$venv/bin:$PATH ;; esac
    hash -r
    _sam_tools_usable "$mode" || die "sam, cfn-lint or cfn-lint-serverless (and for builds cargo-lambda) not usable after installing them into $venv"
}

lint_template() {
    local template=${1:-template.yaml}
    ensure_sam_tools lint
    log "cfn-lint $template"
    cfn-lint "$template" || die "cfn-lint found problems in $template"
    log "sam validate --lint --template $template"
    sam validate --lint --template "$template" >&2 || die "sam validate --lint failed for $template"
    log "cfn-lint $template -a cfn_lint_serverless.rules"
    cfn-lint "$template" -a cfn_lint_serverless.rules ||
        die "serverless rules found problems in $template (fix them, or suppress one with a reason in the resource's Metadata)"
}

# glibc's own libraries, the dynamic loader and libgcc_s (GCC's unwinder,
# part of every glibc system image, provided.al2023 included).
_GLIBC_LIBS_RE='^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libutil\.so\.1|libresolv\.so\.2|libgcc_s\.so\.1|ld-linux-(aarch64|x86-64)\.so\.[12])$'

check_bootstrap_libs() {
    command -v readelf >/dev/null 2>&1 || apt_install binutils
    local f lib status=0
    local -a libs bad
    for f in "$@"; do
        [[ -f $f ]] || die "no such binary: $f"
        mapfile -t libs < <(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
        bad=()
        for lib in "${libs[@]}"; do
            [[ $lib =~ $_GLIBC_LIBS_RE ]] || bad+=("$lib")
        done
        if ((${#bad[@]})); then
            warn "$f needs shared libraries beyond glibc: ${bad[*]}"
            status=1
        else
            log "$f: $(du -h "$f" | cut -f1), needs only: ${libs[*]:-nothing}"
        fi
    done
    return "$status"
}

_port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

_pid_alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }

# Stop a process by pid and wait for it to go away.
_stop_pid() {
    local pid=$1 sig=${2:-TERM} what=${3:-process} i
    _pid_alive "$pid" || return 0
    log "stopping $what (pid $pid)"
    kill "-$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do
        _pid_alive "$pid" || return 0
        sleep 0.1
    done
    warn "$what (pid $pid) did not stop in 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
}

_http_ok() {
    if command -v curl >/dev/null 2>&1; then
        curl -fsS -m 3 -o /dev/null "$1" 2>/dev/null
    else
        python3 - "$1" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=3).read()
PY
    fi
}

# ------------------------------------------------------ service state dirs --

_svc_dir() { printf '%s/%s\n' "$STATE_ROOT" "$1"; }

# pid of a service the scripts started in DIR, if it is still alive (and is
# still that program: a pid file that outlived a reboot may name another one).
_svc_pid() {
    local pid='' want='' cmd
    [[ -f $1/pid ]] && pid=$(<"$1/pid")
    _pid_alive "$pid" || return 0
    case ${1##*/} in
    pgbouncer-*) want=pgbouncer ;;
    pg-*) want=postgres ;;
    moto-*) want=moto ;;
    *) want= ;;
    esac
    if [[ -n $want && -r /proc/$pid/cmdline ]]; then
        cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline")
        [[ $cmd == *"$want"* ]] || return 0
    fi
    printf '%s\n' "$pid"
}

# Serialize work on one service dir across processes (fd 9). Every process we
# start while holding it gets `9>&-`, so a daemon never inherits the lock.
_lock() {
    mkdir -p "$STATE_ROOT" "$1"
    chmod 755 "$STATE_ROOT" "$1" 2>/dev/null || true
    exec 9>"$1/.lock"
    if ! flock -n 9; then
        log "waiting for another script using $1"
        flock -w 600 9 || die "timed out waiting for lock on $1"
    fi
    _LOCKED=1
}
_unlock() {
    if [[ -n $_LOCKED ]]; then
        exec 9>&-
        _LOCKED=
    fi
}

_lease_take() {
    mkdir -p "$1/leases"
    : >"$1/leases/$LEASE_PID"
    local d
    for d in "${_LEASED[@]}"; do [[ $d == "$1" ]] && return 0; done
    _LEASED+=("$1")
}

# Number of live script processes using the service in DIR (drops dead ones).
_live_leases() {
    local f n=0
    for f in "$1"/leases/*; do
        [[ -e $f ]] || continue
        if _pid_alive "${f##*/}"; then n=$((n + 1)); else rm -f "$f"; fi
    done
    printf '%s\n' "$n"
}

_svc_stop() {
    local d=$1 pid name
    name=${d##*/}
    pid=$(_svc_pid "$d")
    case $name in
    pg-*)
        _stop_pid "$pid" INT "throwaway Postgres $name"
        rm -rf "$d/data"
        ;;
    pgbouncer-*) _stop_pid "$pid" TERM "PgBouncer $name" ;;
    moto-*) _stop_pid "$pid" TERM "moto_server $name" ;;
    *) _stop_pid "$pid" TERM "$name" ;;
    esac
    rm -f "$d/pid"
}

# --------------------------------------------------------------- Postgres --

_psql() {
    local url=$1
    shift
    psql -X -q -v ON_ERROR_STOP=1 "$url" "$@"
}

_pg_ok() { _psql "$1" -Atc 'select 1' >/dev/null 2>&1; }

# Identifies a server: port and start time (same through the pooler).
_pg_ident() { _psql "$1" -Atc "select current_setting('port') || ' ' || pg_postmaster_start_time()" 2>/dev/null; }

_ensure_psql() {
    command -v psql >/dev/null 2>&1 && return 0
    apt_install postgresql-client
    command -v psql >/dev/null 2>&1 || die "psql not found after installing postgresql-client"
}

_urldecode() {
    local s=${1//+/ }
    printf '%b' "${s//%/\\x}"
}

# Take over the connection details of a working URL: PG_HOST PG_PORT PG_USER
# PG_USERINFO (user[:password] as written in the URL) PG_PASSWORD PG_QUERY.
_adopt_pg_url() {
    local url=$1
    local re='^(postgres|postgresql)://(([^:@/?]*)(:([^@/?]*))?@)?([^:/?]*)(:([0-9]+))?(/([^?]*))?(\?(.*))?$'
    [[ $url =~ $re ]] || die "cannot parse DATABASE_URL (expected postgres://user[:password]@host[:port]/db)"
    local user=${BASH_REMATCH[3]} pass=${BASH_REMATCH[5]}
    PG_HOST=${BASH_REMATCH[6]:-127.0.0.1}
    PG_PORT=${BASH_REMATCH[8]:-5432}
    PG_QUERY=${BASH_REMATCH[12]}
    PG_PASSWORD=$(_urldecode "$pass")
    PG_USER=$(_psql "$url" -Atc 'select current_user') || die "cannot query $PG_HOST:$PG_PORT"
    [[ -n $user ]] || user=$PG_USER
    PG_USERINFO=$user${pass:+:$pass}
    export PG_HOST PG_PORT PG_USER
}

pg_direct_url() { printf 'postgres://%s@%s:%s/%s%s\n' "$PG_USERINFO" "$PG_HOST" "$PG_PORT" "$1" "${PG_QUERY:+?$PG_QUERY}"; }
pg_pooler_url() { printf 'postgres://%s@127.0.0.1:%s/%s\n' "$PG_USER" "$POOLER_PORT" "$1"; }

_find_pg_bin() {
    local initdb
    initdb=$(command -v initdb 2>/dev/null || true)
    if [[ -z $initdb ]]; then
        initdb=$(find /usr/lib/postgresql -path '*/bin/initdb' 2>/dev/null | sort -V | tail -n1)
    fi
    if [[ -z $initdb ]]; then
        apt_install postgresql
        initdb=$(find /usr/lib/postgresql -path '*/bin/initdb' 2>/dev/null | sort -V | tail -n1)
    fi
    [[ -n $initdb ]] || die "initdb not found (install the Postgres server)"
    PG_BIN=$(dirname "$(readlink -f "$initdb")")
    [[ -x $PG_BIN/pg_ctl ]] || die "pg_ctl not found next to $initdb"
}

_ensure_postgres_user() {
    [[ $EUID -eq 0 ]] || return 0
    id -u postgres >/dev/null 2>&1 && return 0
    log "creating system user postgres"
    useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/sh postgres ||
        die "cannot create the postgres user"
}

_start_throwaway_pg() {
    _find_pg_bin
    _ensure_postgres_user
    local port=${TEST_PG_PORT:-55432} last d url pid
    last=$((port + 20))
    for (( ; port <= last; port++)); do
        d=$(_svc_dir "pg-$port")
        url=postgres://postgres@127.0.0.1:$port/postgres
        _lock "$d"
        if [[ -n $(_svc_pid "$d") ]] && _pg_ok "$url"; then
            log "reusing throwaway Postgres on 127.0.0.1:$port ($d)"
            _lease_take "$d"
            _unlock
            _adopt_pg_url "$url"
            return 0
        fi
        if _port_busy "$port"; then
            _unlock
            continue
        fi
        # Leftovers of a cluster that died: wipe them.
        _svc_stop "$d"
        rm -rf "$d/leases" "$d"/*.log
        [[ $EUID -eq 0 ]] && chown postgres: "$d"
        log "initdb throwaway cluster in $d/data"
        if ! _as_pg "$PG_BIN/initdb" -D "$d/data" -U postgres --auth=trust --no-sync \
            -E UTF8 --locale=C.UTF-8 >"$d/initdb.log" 2>&1 8>&- 9>&-; then
            rm -rf "$d/data"
            _as_pg "$PG_BIN/initdb" -D "$d/data" -U postgres --auth=trust --no-sync \
                -E UTF8 --locale=C >"$d/initdb.log" 2>&1 8>&- 9>&- ||
                { cat "$d/initdb.log" >&2; die "initdb failed"; }
        fi
        log "starting Postgres on 127.0.0.1:$port"
        if ! _as_pg "$PG_BIN/pg_ctl" -D "$d/data" -l "$d/postgres.log" -w -t 60 \
            -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$d -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
            start >/dev/null 8>&- 9>&-; then
            tail -n 20 "$d/postgres.log" >&2 || true
            die "Postgres did not start"
        fi
        pid=$(head -n1 "$d/data/postmaster.pid")
        printf '%s\n' "$pid" >"$d/pid"
        _lease_take "$d"
        _unlock
        _pg_ok "$url" || die "throwaway Postgres does not answer on port $port"
        _adopt_pg_url "$url"
        return 0
    done
    die "no free port for a throwaway Postgres in ${TEST_PG_PORT:-55432}..$last"
}

ensure_postgres() {
    _ensure_psql
    local url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres} d
    if _pg_ok "$url"; then
        _adopt_pg_url "$url"
        log "reusing Postgres at $PG_HOST:$PG_PORT (user $PG_USER)"
        # One of our own throwaway clusters (e.g. dev.sh's): take a lease.
        d=$(_svc_dir "pg-$PG_PORT")
        if [[ $PG_HOST == 127.0.0.1 || $PG_HOST == localhost ]] && [[ -n $(_svc_pid "$d") ]]; then
            _lock "$d"
            if [[ -n $(_svc_pid "$d") ]]; then _lease_take "$d"; fi
            _unlock
        fi
    else
        if [[ -n ${DATABASE_URL:-} ]]; then
            warn "DATABASE_URL does not answer; starting a throwaway Postgres instead"
        else
            log "no Postgres answers on 127.0.0.1:5432; starting a throwaway cluster"
        fi
        _start_throwaway_pg
    fi
    TEST_ADMIN_URL=$(pg_direct_url postgres)
    export TEST_ADMIN_URL
    if [[ $(_psql "$TEST_ADMIN_URL" -Atc 'select rolsuper from pg_roles where rolname = current_user') != t ]]; then
        warn "$PG_USER is not a superuser on $PG_HOST:$PG_PORT; tests need one"
    fi
}

# -------------------------------------------------------------- PgBouncer --

_find_pgbouncer() {
    PGBOUNCER_BIN=$(command -v pgbouncer 2>/dev/null || true)
    [[ -n $PGBOUNCER_BIN ]] && return 0
    local had_unit=
    [[ -e /lib/systemd/system/pgbouncer.service ]] && had_unit=1
    apt_install pgbouncer
    PGBOUNCER_BIN=$(command -v pgbouncer 2>/dev/null || true)
    [[ -n $PGBOUNCER_BIN ]] || die "pgbouncer not found after apt-get install"
    # On a systemd machine the package starts its own PgBouncer on 6432 with
    # an empty config: we just installed it, so stop that one.
    if [[ -z $had_unit ]] && command -v systemctl >/dev/null 2>&1 &&
        systemctl is-active --quiet pgbouncer 2>/dev/null; then
        log "stopping the distribution's pgbouncer service (we run our own)"
        _as_root systemctl disable --now pgbouncer >/dev/null 2>&1 || true
    fi
}

_export_pooler() {
    TEST_POOLER_URL=postgres://$PG_USER@127.0.0.1:$POOLER_PORT
    export POOLER_PORT TEST_POOLER_URL
}

ensure_pgbouncer() {
    [[ -n ${TEST_ADMIN_URL:-} ]] || die "ensure_pgbouncer: call ensure_postgres first"
    POOLER_PORT=${PGBOUNCER_PORT:-6432}
    local d want got ours purl i pid
    d=$(_svc_dir "pgbouncer-$POOLER_PORT")
    purl=postgres://$PG_USER@127.0.0.1:$POOLER_PORT/postgres
    want=$(_pg_ident "$TEST_ADMIN_URL")
    _lock "$d"
    ours=$(_svc_pid "$d")
    if _port_busy "$POOLER_PORT"; then
        got=$(_pg_ident "$purl" || true)
        if [[ -n $got && $got == "$want" ]]; then
            if [[ -n $ours ]]; then
                log "reusing PgBouncer on 127.0.0.1:$POOLER_PORT (pid $ours, $d)"
                _lease_take "$d"
            else
                log "reusing PgBouncer on 127.0.0.1:$POOLER_PORT (not started by these scripts)"
            fi
            _unlock
            _export_pooler
            return 0
        fi
        if [[ -z $ours ]]; then
            _unlock
            die "127.0.0.1:$POOLER_PORT is taken by something that is not a PgBouncer for $PG_HOST:$PG_PORT; stop it or set PGBOUNCER_PORT"
        fi
        if (($(_live_leases "$d") > 0)); then
            _unlock
            die "PgBouncer on 127.0.0.1:$POOLER_PORT (pid $ours) serves another Postgres for a running script; set PGBOUNCER_PORT"
        fi
        log "PgBouncer on 127.0.0.1:$POOLER_PORT points at another server: restarting it"
        _svc_stop "$d"
    fi
    # Ours but not listening (hung or half-dead): replace it.
    if [[ -n $(_svc_pid "$d") ]]; then _svc_stop "$d"; fi
    _find_pgbouncer
    rm -f "$d/pgbouncer.pid"
    sed -e "s|@PG_HOST@|$PG_HOST|g" -e "s|@PG_PORT@|$PG_PORT|g" \
        -e "s|@LISTEN_PORT@|$POOLER_PORT|g" -e "s|@STATE_DIR@|$d|g" \
        -e "s|@PG_USER@|$PG_USER|g" \
        "$LIB_ROOT/scripts/pgbouncer.ini.tmpl" >"$d/pgbouncer.ini"
    {
        printf '"postgres" ""\n'
        if [[ $PG_USER != postgres || -n $PG_PASSWORD ]]; then
            printf '"%s" "%s"\n' "${PG_USER//\"/\"\"}" "${PG_PASSWORD//\"/\"\"}"
        fi
    } >"$d/userlist.txt"
    chmod 600 "$d/userlist.txt"
    if [[ $EUID -eq 0 ]]; then
        chown postgres: "$d" "$d/pgbouncer.ini" "$d/userlist.txt"
        [[ -e $d/pgbouncer.log ]] && chown postgres: "$d/pgbouncer.log"
    fi
    log "starting PgBouncer on 127.0.0.1:$POOLER_PORT -> $PG_HOST:$PG_PORT (transaction pooling)"
    if [[ $EUID -eq 0 ]]; then
        "$PGBOUNCER_BIN" -d -u postgres "$d/pgbouncer.ini" >>"$d/start.log" 2>&1 8>&- 9>&- || true
    else
        "$PGBOUNCER_BIN" -d "$d/pgbouncer.ini" >>"$d/start.log" 2>&1 8>&- 9>&- || true
    fi
    for ((i = 0; i < 150; i++)); do
        pid=
        [[ -f $d/pgbouncer.pid ]] && pid=$(<"$d/pgbouncer.pid")
        if _pid_alive "$pid" && _pg_ok "$purl"; then break; fi
        sleep 0.1
    done
    if ! _pid_alive "$pid" || ! _pg_ok "$purl"; then
        tail -n 20 "$d/start.log" "$d/pgbouncer.log" >&2 2>/dev/null || true
        _stop_pid "$pid" TERM PgBouncer
        _unlock
        die "PgBouncer did not come up on 127.0.0.1:$POOLER_PORT"
    fi
    printf '%s\n' "$pid" >"$d/pid"
    _lease_take "$d"
    _unlock
    _export_pooler
}

# ------------------------------------------------------------------- moto --

_is_moto() { _http_ok "$1/moto-api/"; }

ensure_moto() {
    local port=${MOTO_PORT:-5055} d url moto pid ours i
    url=http://127.0.0.1:$port
    d=$(_svc_dir "moto-$port")
    _lock "$d"
    ours=$(_svc_pid "$d")
    if _is_moto "$url"; then
        if [[ -n $ours ]]; then
            log "reusing moto_server on $url (pid $ours)"
            _lease_take "$d"
        else
            log "reusing moto_server on $url (not started by these scripts)"
        fi
    else
        if [[ -n $ours ]]; then _svc_stop "$d"; fi
        if _port_busy "$port"; then
            _unlock
            die "127.0.0.1:$port is taken by something that is not moto_server; set MOTO_PORT"
        fi
        moto=$(_py_tool moto_server 'moto[server]')
        log "starting moto_server on $url"
        if [[ $- == *m* ]]; then
            "$moto" -H 127.0.0.1 -p "$port" >"$d/moto.log" 2>&1 </dev/null 8>&- 9>&- &
        else
            # Own session: a Ctrl-C meant for the caller does not kill it.
            setsid "$moto" -H 127.0.0.1 -p "$port" >"$d/moto.log" 2>&1 </dev/null 8>&- 9>&- &
        fi
        pid=$!
        for ((i = 0; i < 600; i++)); do
            _is_moto "$url" && break
            _pid_alive "$pid" || break
            sleep 0.1
        done
        if ! _is_moto "$url"; then
            tail -n 20 "$d/moto.log" >&2 || true
            _stop_pid "$pid" TERM moto_server
            _unlock
            die "moto_server did not come up on $url"
        fi
        printf '%s\n' "$pid" >"$d/pid"
        _lease_take "$d"
    fi
    _unlock
    export AWS_ENDPOINT_URL=$url
    export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
    export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
    export AWS_EC2_METADATA_DISABLED=true
    unset AWS_SESSION_TOKEN AWS_PROFILE
}

# ------------------------------------------------------ template database --

# Drop leftover per-test databases (t_*), recreate and migrate the template.
prepare_template_db() {
    local db=${1:-lambda_template}
    log "dropping leftover test databases (t_*)"
    _psql "$TEST_ADMIN_URL" <<'SQL' >/dev/null
select format('drop database %I with (force)', datname)
from pg_database where datname like 't\_%' \gexec
SQL
    log "recreating template database $db"
    _psql "$TEST_ADMIN_URL" -v db="$db" <<'SQL' >/dev/null
select format('alter database %I is_template false', :'db')
from pg_database where datname = :'db' and datistemplate \gexec
select format('drop database %I with (force)', :'db')
from pg_database where datname = :'db' \gexec
select format('create database %I', :'db') \gexec
SQL
    log "migrating $db (cargo run -p migrate -- up)"
    DATABASE_URL=$(pg_direct_url "$db") cargo run -q -p migrate -- up || die "migrations failed"
    export TEST_TEMPLATE_DB=$db
}

# ---------------------------------------------------------------- cleanup --

cleanup() {
    set +e
    _unlock
    local i d n
    for ((i = ${#_LEASED[@]} - 1; i >= 0; i--)); do
        d=${_LEASED[i]}
        rm -f "$d/leases/$LEASE_PID"
        [[ -n ${LAMBDA_KEEP_SERVICES:-} ]] && continue
        _lock "$d"
        n=$(_live_leases "$d")
        if ((n > 0)); then
            log "leaving ${d##*/} running: $n other script(s) use it"
        else
            _svc_stop "$d"
        fi
        _unlock
    done
    if [[ -n ${LAMBDA_KEEP_SERVICES:-} && ${#_LEASED[@]} -gt 0 ]]; then
        log "LAMBDA_KEEP_SERVICES set: leaving services running ($STATE_ROOT)"
    fi
    _LEASED=()
}

# Stop every service these scripts started that no live script uses.
stop_services() {
    local d n stopped=0
    for d in "$STATE_ROOT"/pgbouncer-* "$STATE_ROOT"/moto-* "$STATE_ROOT"/pg-*; do
        [[ -d $d ]] || continue
        [[ -n $(_svc_pid "$d") ]] || continue
        _lock "$d"
        n=$(_live_leases "$d")
        if ((n > 0)); then
            log "${d##*/} is in use by $n running script(s); leaving it"
        else
            _svc_stop "$d"
            stopped=$((stopped + 1))
        fi
        _unlock
    done
    log "stopped $stopped service(s)"
}
