#!/usr/bin/env bash
# Smoke test: every route once, against a running stack.
#
#   MEMBER_TOKEN=... ADMIN_TOKEN=... TENANT=... scripts/smoke.sh BASE_URL
#
# BASE_URL   the API: http://127.0.0.1:9000 (scripts/dev.sh) or the stack's
#            ApiUrl output (https://<id>.execute-api.<region>.amazonaws.com/)
# TENANT     a tenant id in which MEMBER_TOKEN's user is a member and
#            ADMIN_TOKEN's user an admin (scripts/dev.sh prints all three;
#            for a deployed stage mint them with `cargo run -p token` and the
#            stage's JWT secret, for a dedicated smoke-test tenant)
# SMOKE_TIMEOUT  seconds per request (default 120: under `cargo lambda watch`
#            the first request to a function compiles it)
#
# Steps: a request without a token is refused (401); book a slot, then cancel
# it; score a conversation; record a metric; create a product (admin); order
# it (member, with an Idempotency-Key); deactivate the product again; scan a
# text for PHI. What can be undone is: the booking is cancelled (its slot is
# free again) and the product deactivated. The score, the metric, the order
# and the PHI audit rows stay - they are append-only records, marked with
# "smoke" in their session id, metric name, sku and payment method.
#
# Exits non-zero at the first failure, naming the step, the status and the
# body (problem+json bodies carry no secrets). Needs curl and python3.
set -euo pipefail

die() {
    printf 'smoke: FAILED: %s\n' "$*" >&2
    exit 1
}

usage() { sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

case ${1:-} in
-h | --help)
    usage
    exit 0
    ;;
'') die "usage: scripts/smoke.sh BASE_URL (with MEMBER_TOKEN, ADMIN_TOKEN and TENANT in the environment)" ;;
esac
BASE=${1%/}
: "${MEMBER_TOKEN:?set MEMBER_TOKEN (a member of TENANT)}"
: "${ADMIN_TOKEN:?set ADMIN_TOKEN (an admin of TENANT)}"
: "${TENANT:?set TENANT (the tenant id)}"
TIMEOUT=${SMOKE_TIMEOUT:-120}
command -v curl >/dev/null 2>&1 || die "curl is required"
command -v python3 >/dev/null 2>&1 || die "python3 is required"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
RUN=smoke-$(date -u +%Y%m%d%H%M%S)-$RANDOM
STARTED=$(date +%s)

# request NAME METHOD PATH TOKEN [BODY [EXTRA_CURL_ARGS...]]
# Sets STATUS and BODY (the response's).
request() {
    local name=$1 method=$2 path=$3 token=$4 body=${5:-}
    shift 5 2>/dev/null || shift $#
    local -a args=(-sS -X "$method" -m "$TIMEOUT" -o "$WORK/body" -w '%{http_code}')
    [[ -n $token ]] && args+=(-H "authorization: Bearer $token")
    [[ -n $body ]] && args+=(-H 'content-type: application/json' --data-binary "$body")
    local t0 t1
    t0=$(date +%s%N)
    STATUS=$(curl "${args[@]}" "$@" "$BASE$path") || die "$name: $method $path: no answer from $BASE (curl exit $?)"
    t1=$(date +%s%N)
    BODY=$(cat "$WORK/body")
    printf 'smoke: %-28s %s %s -> %s (%d ms)\n' "$name" "$method" "$path" "$STATUS" $(((t1 - t0) / 1000000)) >&2
}

expect() {
    local name=$1
    shift
    local s
    for s in "$@"; do [[ $STATUS == "$s" ]] && return 0; done
    die "$name: expected HTTP $*, got $STATUS: ${BODY:0:600}"
}

# json EXPR: evaluate a Python expression over the response body `b`.
json() {
    python3 -c 'import json, sys; b = json.loads(sys.argv[2]); v = eval(sys.argv[1]); print(v if not isinstance(v, bool) else str(v).lower())' "$1" "$BODY" 2>/dev/null ||
        die "response is not the JSON expected (${1}): ${BODY:0:600}"
}

check() {
    local name=$1 expr=$2
    [[ $(json "$expr") == true ]] || die "$name: response fails ($expr): ${BODY:0:600}"
}

T=/tenants/$TENANT

# --- authentication is on
request "no token is refused" POST "$T/bookings" "" '{}'
expect "no token is refused" 401

# --- book, then cancel
request "book" POST "$T/bookings" "$MEMBER_TOKEN" \
    "{\"slot_id\":\"$RUN/slot\",\"user_name\":\"Smoke Test\",\"user_email\":\"smoke@example.com\"}"
expect book 201
check book "b['status'] == 'confirmed' and b['tenant_id'] == '$TENANT'"
BOOKING=$(json "b['id']")

request "cancel" POST "$T/bookings/$BOOKING/cancel" "$MEMBER_TOKEN"
expect cancel 200
check cancel "b['status'] == 'cancelled' and b['id'] == '$BOOKING'"

# --- score a conversation
request "score" POST "$T/conversations/$RUN/scores" "$MEMBER_TOKEN" \
    '{"messages":[{"role":"user","content":"Can I move my appointment?"},{"role":"assistant","content":"Yes, Friday at 10:00 is free."}],"rating":5}'
expect score 201
check score "0 <= b['score'] <= 100 and b['session_id'] == '$RUN'"

# --- record a metric
request "record-metric" POST "$T/metrics" "$MEMBER_TOKEN" \
    '{"name":"smoke.test","value":1,"tags":{"source":"smoke"}}'
expect record-metric 201
check record-metric "b['recorded'] == 1"

# --- a product (admin), an order (member), the product deactivated again
SKU=$RUN
request "upsert-product (create)" PUT "$T/products/$SKU" "$ADMIN_TOKEN" \
    '{"name":"Smoke test item","unit_price":"1.25","currency":"USD","active":true}'
expect "upsert-product (create)" 201 200
check upsert-product "b['sku'] == '$SKU' and b['unit_price'] in ('1.25', '1.2500') and b['active'] is True"

request "checkout" POST "$T/orders" "$MEMBER_TOKEN" \
    "{\"items\":[{\"sku\":\"$SKU\",\"quantity\":2}],\"currency\":\"USD\",\"payment_method\":\"smoke-test\"}" \
    -H "idempotency-key: $RUN"
expect checkout 201
check checkout "b['total'] == '2.50' and b['status'] == 'pending' and b['items'][0]['sku'] == '$SKU'"

request "upsert-product (deactivate)" PUT "$T/products/$SKU" "$ADMIN_TOKEN" \
    '{"name":"Smoke test item","unit_price":"1.25","currency":"USD","active":false}'
expect "upsert-product (deactivate)" 200
check "upsert-product (deactivate)" "b['active'] is False"

# --- PHI scan (synthetic identifiers only)
request "log-phi" POST "$T/phi/scan" "$MEMBER_TOKEN" \
    "{\"text\":\"Smoke test: patient SSN 536-22-8741, e-mail jane.roe@example.com.\",\"session_id\":\"$RUN\"}"
expect log-phi 200
check log-phi "b['action_taken'] == 'masked' and '536-22-8741' not in b['masked_text'] and 'jane.roe@example.com' not in b['masked_text'] and len(b['findings']) >= 2"

printf 'smoke: OK - every route answered as expected in %d s (run %s)\n' $(($(date +%s) - STARTED)) "$RUN" >&2
