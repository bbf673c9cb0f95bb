#!/usr/bin/env bash
# Stream retention by age (RT_STREAM_MAXAGE_S) through rt-ingest's writers, against a real
# redis-server: events older than the limit leave the tenant's streams at the next write (whole
# stream nodes, like MAXLEN ~), newer ones stay, and rt:calls:all (read by rt-health's consumer
# group) keeps MAXLEN only. A client holding an id from before the limit then gets
# resync_required from rt-edge (covered for trimmed streams by edge.ws_recovery).
set -uo pipefail
: "${RT_TEST_BIN:?}" "${RT_TEST_SRC:?}" "${RT_TEST_STATE:?}"
work=$RT_TEST_STATE/e2e-retention-$$
mkdir -p "$work"
fixture=$RT_TEST_SRC/tests/fixtures/redis.sh
tenant=ret$$
source "$RT_TEST_SRC/tests/lib/rt_test.sh"
cleanup() {
    stop_pids
    bash "$fixture" stop "$work/redis"
}
trap cleanup EXIT

bash "$fixture" start "$work/redis" private || exit 1
rport=$(cat "$work/redis/port")
r() { redis-cli -p "$rport" "$@"; }
# small stream nodes so that a few hundred events span several of them
r CONFIG SET stream-node-max-entries 10 >/dev/null
key=$(openssl rand -hex 16)
printf '{"tenants": {"%s": ["sha256:%s"]}}\n' "$tenant" "$(printf '%s' "$key" | sha256sum | cut -d' ' -f1)" >"$work/keys.json"
printf '{"tenants": {"%s": {"generic": {"secrets": ["ret-secret"]}}}}\n' "$tenant" >"$work/secrets.json"
RT_REDIS_URL=redis://127.0.0.1:$rport/0 RT_INGEST_LISTEN=127.0.0.1:0 RT_API_KEYS=$work/keys.json \
    RT_WEBHOOK_SECRETS=$work/secrets.json RT_STREAM_MAXAGE_S=6 \
    "$RT_TEST_BIN/ingest/rt-ingest" 2>"$work/ingest.log" &
pids+=($!)
port=
for _ in $(seq 1 200); do
    port=$(grep -o '"event":"process.ready".*"url":"http://[^"]*"' "$work/ingest.log" | sed 's/.*:\([0-9]*\)"$/\1/')
    [ -n "$port" ] && curl -fs -o /dev/null "http://127.0.0.1:$port/readyz" && break
    sleep 0.05
done
[ -n "$port" ] || { echo "rt-ingest did not start"; exit 1; }

batch() { # n event -> HTTP status
    local n=$1 ev=$2 body
    body=$(awk -v n="$n" -v ev="$ev" 'BEGIN { printf "["; for (i = 1; i <= n; i++) printf "%s{\"channel\":\"tenant\",\"event\":\"%s\",\"data\":{\"i\":%d}}", (i > 1 ? "," : ""), ev, i; printf "]" }')
    curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
        --data-binary "$body" "http://127.0.0.1:$port/api/v1/publish"
}
webhook() { # id status
    local ts sig body="{\"id\":\"$1\",\"call_id\":\"c-$1\",\"status\":\"$2\"}"
    ts=$(date +%s)
    sig=$(printf '%s.%s' "$ts" "$body" | openssl dgst -sha256 -hmac ret-secret | awk '{print $2}')
    curl -s -o /dev/null -w '%{http_code}' -H "X-RT-Timestamp: $ts" -H "X-RT-Signature: v1=$sig" \
        -H 'Content-Type: application/json' --data-binary "$body" "http://127.0.0.1:$port/webhooks/generic/$tenant"
}

check "publish API: 200 old events stored" '[ "$(batch 200 old)" = 200 ] && [ "$(r XLEN "rt:{$tenant}:tenant")" = 200 ]'
codes=""
t0=$SECONDS
for i in $(seq 1 30); do codes+=$(webhook "old$i" initiated); done
# (sent well within the 6 s limit, or the first ones would already be trimmed by the last ones)
check "webhooks: 30 old calls stored ($((SECONDS - t0)) s)" '[ "$codes" = "$(printf "200%.0s" $(seq 1 30))" ] && [ "$(r XLEN "rt:{$tenant}:calls")" = 30 ]'
check "rt:calls:all holds them" '[ "$(r XLEN rt:calls:all)" = 30 ]'
sleep 7
check "a new publish is stored" '[ "$(batch 5 new)" = 200 ]'
n=$(r XLEN "rt:{$tenant}:tenant")
check "the tenant stream dropped the events older than 6 s ($n left)" '[ "$n" -lt 20 ] && [ "$n" -ge 5 ]'
check "the new events are all there" '[ "$(r XRANGE "rt:{$tenant}:tenant" - + | grep -c "\"event\":\"new\"")" = 5 ]'
check "a new webhook is stored" '[ "$(webhook new1 initiated)" = 200 ]'
n=$(r XLEN "rt:{$tenant}:calls")
check "the calls stream dropped the old calls ($n left)" '[ "$n" -lt 11 ] && [ "$n" -ge 1 ]'
check "rt:calls:all is not trimmed by age (consumer group input)" '[ "$(r XLEN rt:calls:all)" = 31 ]'

finish
