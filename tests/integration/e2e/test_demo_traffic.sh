#!/usr/bin/env bash
# The local stack's demo mode (deploy/demo-traffic.sh, started by `deploy/local.sh --demo`)
# against real rt-ingest and rt-health: every source it drives must really produce events.
#   - rows of the calls table (PostgreSQL, logical replication) become call events;
#   - its Twilio callbacks pass signature verification (none refused) and become call events;
#   - its publish-API events reach the tenant channel;
#   - rt-health counts the ended calls;
#   - with DEMO_SECONDS it stops by itself, and stopping it also ends the server-side loop.
set -uo pipefail
: "${RT_TEST_BIN:?}" "${RT_TEST_SRC:?}" "${RT_TEST_STATE:?}"
work=$RT_TEST_STATE/e2e-demo-$$
mkdir -p "$work"
fixture=$RT_TEST_SRC/tests/fixtures/redis.sh
tenant=demo$$
slot=demo_slot_$$
conninfo=$(cat "$RT_TEST_STATE/pg/conninfo")
source "$RT_TEST_SRC/tests/lib/rt_test.sh"
cleanup() {
    stop_pids
    psql "$conninfo" -qAtc "SELECT pg_drop_replication_slot('$slot') FROM pg_replication_slots WHERE slot_name = '$slot'" >/dev/null 2>&1
    bash "$fixture" stop "$work/redis"
}
trap cleanup EXIT

bash "$fixture" start "$work/redis" private || exit 1
rport=$(cat "$work/redis/port")
export RT_REDIS_URL=redis://127.0.0.1:$rport/0
iport=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
twilio_token=$(openssl rand -hex 16)
api_key=$(openssl rand -hex 32)
printf '{"tenants": {"%s": {"twilio": {"auth_tokens": ["%s"]}}}}\n' "$tenant" "$twilio_token" >"$work/secrets.json"
printf '{"tenants": {"%s": ["sha256:%s"]}}\n' "$tenant" "$(printf '%s' "$api_key" | sha256sum | cut -d' ' -f1)" >"$work/keys.json"

start rt-ingest ingest/rt-ingest RT_INGEST_LISTEN=127.0.0.1:$iport RT_WEBHOOK_SECRETS="$work/secrets.json" \
    RT_API_KEYS="$work/keys.json" RT_PUBLIC_URL="http://127.0.0.1:$iport" \
    RT_PG_CONNINFO="$conninfo" RT_PG_SLOT="$slot" RT_INGEST_ROUTES="$RT_TEST_SRC/deploy/routes.example.json"
start rt-health broker/rt-health RT_HEALTH_LISTEN=127.0.0.1:0 RT_ADMIN_KEY=admin-key-demo RT_HEALTH_TICK_MS=100
health=$(port_of rt-health) || { echo "rt-health did not start"; exit 1; }
for _ in $(seq 1 200); do curl -fs -o /dev/null "http://127.0.0.1:$iport/readyz" && break; sleep 0.05; done

t0=$SECONDS
DEMO_PG_CONNINFO="$conninfo" DEMO_INGEST_URL="http://127.0.0.1:$iport" DEMO_TENANT=$tenant \
    DEMO_TWILIO_TOKEN=$twilio_token DEMO_API_KEY=$api_key DEMO_SECONDS=10 DEMO_TICK_MS=150 \
    bash "$RT_TEST_SRC/deploy/demo-traffic.sh" >"$work/demo.out" 2>&1
rc=$?
cat "$work/demo.out"
check "demo traffic ran and nothing it sent was refused (exit $rc)" '[ "$rc" = 0 ]'
check "it stopped by itself after DEMO_SECONDS ($((SECONDS - t0)) s)" '[ $((SECONDS - t0)) -le 25 ]'
check "its secrets are not in its output" '! grep -q -e "$twilio_token" -e "$api_key" "$work/demo.out"'
check "the server-side loop ended with it" \
    '[ "$(psql "$conninfo" -qAtc "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '"'"'CALL rt_demo_calls%'"'"'")" = 0 ]'

calls() { redis-cli -p "$rport" XRANGE "rt:{$tenant}:calls" - + | grep -F '"event"'; }
wait_calls() { for _ in $(seq 1 100); do calls | grep -q "$1" && return 0; sleep 0.1; done; return 1; }
check "calls table rows became new_call events" 'wait_calls "\"event\":\"new_call\".*\"source\":\"db\""'
check "and call_ended events" 'wait_calls "\"event\":\"call_ended\".*\"source\":\"db\""'
check "Twilio callbacks became new_call events" 'wait_calls "\"event\":\"new_call\".*\"provider\":\"twilio\""'
check "and call_update / call_ended events" 'wait_calls "\"event\":\"call_update\".*\"provider\":\"twilio\"" && wait_calls "\"event\":\"call_ended\".*\"provider\":\"twilio\""'
n=$(redis-cli -p "$rport" XRANGE "rt:{$tenant}:tenant" - + | grep -c '"import_progress"')
check "publish-API progress events on the tenant channel ($n)" '[ "$n" -ge 10 ]'
report() { curl -s -H "Authorization: Bearer admin-key-demo" "http://127.0.0.1:$health/api/calls/health-check?tenant=$tenant"; }
check "rt-health counted ended calls ($(report | grep -o '"total_calls":[0-9]*'))" \
    'for _ in $(seq 1 100); do report | grep -q "\"total_calls\":[1-9]" && break; sleep 0.1; done; report | grep -q "\"total_calls\":[1-9]"'
check "rt-health saw the Twilio webhooks, with a delivery lag from their RFC 2822 Timestamp" 'report | grep -q "\"twilio\":{[^}]*\"lag_ms\":[0-9]"'

finish
