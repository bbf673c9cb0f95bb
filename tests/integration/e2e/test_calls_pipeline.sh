#!/usr/bin/env bash
# End to end across the processes: a signed webhook into rt-ingest and a row in PostgreSQL's
# calls table both become call events that rt-health applies, so its health-check counts the
# call as active and then as ended. This is the contract between ingest's call model and health.
set -uo pipefail
: "${RT_TEST_BIN:?}" "${RT_TEST_SRC:?}" "${RT_TEST_STATE:?}"
work=$RT_TEST_STATE/e2e-calls-$$
mkdir -p "$work"
fixture=$RT_TEST_SRC/tests/fixtures/redis.sh
tenant=e2e$$
slot=e2e_slot_$$
conninfo=$(cat "$RT_TEST_STATE/pg/conninfo")
source "$RT_TEST_SRC/tests/lib/rt_test.sh"
cleanup() {
    stop_pids
    psql "$conninfo" -qAtc "SELECT pg_drop_replication_slot('$slot') FROM pg_replication_slots WHERE slot_name = '$slot'" >/dev/null 2>&1
    bash "$fixture" stop "$work/redis"
}
trap cleanup EXIT

bash "$fixture" start "$work/redis" private || exit 1
export RT_REDIS_URL=redis://127.0.0.1:$(cat "$work/redis/port")/0
printf '{"tenants": {"%s": {"generic": {"secrets": ["s3cret-one"]}}}}\n' "$tenant" >"$work/secrets.json"

start rt-ingest ingest/rt-ingest RT_INGEST_LISTEN=127.0.0.1:0 RT_WEBHOOK_SECRETS="$work/secrets.json" \
    RT_PG_CONNINFO="$conninfo" RT_PG_SLOT="$slot" RT_INGEST_ROUTES="$RT_TEST_SRC/deploy/routes.example.json"
start rt-health broker/rt-health RT_HEALTH_LISTEN=127.0.0.1:0 RT_ADMIN_KEY=admin-key-e2e \
    RT_HEALTH_TICK_MS=100
ingest=$(port_of rt-ingest) && health=$(port_of rt-health) || { echo "processes did not start"; exit 1; }
for _ in $(seq 1 200); do curl -fs -o /dev/null "http://127.0.0.1:$ingest/readyz" && break; sleep 0.05; done

webhook() { # body -> prints the response
    local ts sig
    ts=$(date +%s)
    sig=$(printf '%s.%s' "$ts" "$1" | openssl dgst -sha256 -hmac s3cret-one | awk '{print $2}')
    curl -s -H "X-RT-Timestamp: $ts" -H "X-RT-Signature: v1=$sig" -H 'Content-Type: application/json' \
        --data-binary "$1" "http://127.0.0.1:$ingest/webhooks/generic/$tenant"
}
report() {
    curl -s -H "Authorization: Bearer admin-key-e2e" \
        "http://127.0.0.1:$health/api/calls/health-check?tenant=$tenant"
}
wait_report() { # grep pattern, 10 s
    for _ in $(seq 1 200); do
        report | grep -q "$1" && return 0
        sleep 0.05
    done
    echo "last report: $(report)"
    return 1
}

r=$(webhook '{"id":"d-1","call_id":"g-1","status":"initiated","from":"+15550001","to":"+15550002","direction":"inbound"}')
check "generic webhook accepted and published ($r)" 'grep -q "\"status\":\"published\"" <<<"$r"'
check "rt-health counts the webhook call as active" 'wait_report "\"active_calls\":1"'
check "the generic provider is seen by rt-health" 'report | grep -q "\"generic\""'
r=$(webhook '{"id":"d-2","call_id":"g-1","status":"completed","duration":12}')
check "terminal webhook published" 'grep -q "\"status\":\"published\"" <<<"$r"'
check "rt-health sees the call end" 'wait_report "\"active_calls\":0"'
check "and counts it" 'wait_report "\"total_calls\":1"'
r=$(webhook '{"id":"d-3","call_id":"g-1","status":"ringing"}')
check "a ringing after the end publishes nothing ($r)" 'grep -q "\"status\":\"stale\"" <<<"$r"'

id=$(psql "$conninfo" -qAtc "INSERT INTO calls (organization_id, direction, from_number, to_number, provider, provider_call_id) VALUES ('$tenant', 'outbound', '+15550003', '+15550004', 'app', 'db-1') RETURNING id")
check "a calls row becomes an active call in rt-health" 'wait_report "\"active_calls\":1"'
psql "$conninfo" -qc "UPDATE calls SET status = 'ended', outcome = 'completed', end_time = now(), duration_seconds = 5 WHERE id = '$id'" >/dev/null
check "ending the row ends the call" 'wait_report "\"active_calls\":0"'
check "both calls are counted" 'wait_report "\"total_calls\":2"'
check "the call stream holds the row's events" '[ "$(redis-cli -p "$(cat "$work/redis/port")" XLEN "rt:{$tenant}:calls")" -ge 4 ]'

summary() { curl -s -H "Authorization: Bearer admin-key-e2e" "http://127.0.0.1:$health/api/v1/health/summary"; }
wait_summary() {
    for _ in $(seq 1 200); do summary | grep -q "$1" && return 0; sleep 0.05; done
    echo "last summary: $(summary | head -c 600)"
    return 1
}
check "rt-health lists the live rt-ingest instance" 'wait_summary "\"rt-ingest\""'
check "rt-health lists itself" 'wait_summary "\"rt-health\""'

finish
