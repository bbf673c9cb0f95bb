#!/usr/bin/env bash
# rt-health over HTTP with real processes and a private redis-server:
#   sigfail  badly signed webhooks into rt-ingest show up per provider in rt-health's
#            health-check (webhooks.<provider>.signature_failures); the HTTP answers stay 401
#   cors     RT_HEALTH_CORS_ORIGINS: preflight and actual requests, allowed and refused origins
# Usage: test_health_http.sh <scenario>
set -uo pipefail
: "${RT_TEST_BIN:?}" "${RT_TEST_SRC:?}" "${RT_TEST_STATE:?}"
scenario=${1:?usage: test_health_http.sh sigfail|cors}
work=$RT_TEST_STATE/health-http-$scenario-$$
mkdir -p "$work"
fixture=$RT_TEST_SRC/tests/fixtures/redis.sh
source "$RT_TEST_SRC/tests/lib/rt_test.sh"
cleanup() {
    stop_pids
    bash "$fixture" stop "$work/redis" >/dev/null 2>&1
}
trap cleanup EXIT

bash "$fixture" start "$work/redis" private || exit 1
rport=$(cat "$work/redis/port")
export RT_REDIS_URL=redis://127.0.0.1:$rport/0
rcli() { redis-cli -h 127.0.0.1 -p "$rport" "$@"; }

# jget <json> <python path expression on d>: prints the value, "None" when missing
jget() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null; }

scenario_sigfail() {
    printf '{"tenants": {"acme": {"generic": {"secrets": ["s3cret-one"]}, "twilio": {"auth_tokens": ["tw-token"]}}}}\n' >"$work/secrets.json"
    start rt-ingest ingest/rt-ingest RT_INGEST_LISTEN=127.0.0.1:0 RT_WEBHOOK_SECRETS="$work/secrets.json" \
        RT_PUBLIC_URL=http://hooks.example.com
    start rt-health broker/rt-health RT_HEALTH_LISTEN=127.0.0.1:0 RT_ADMIN_KEY=admin-key-sf \
        RT_HEALTH_TICK_MS=100
    ingest=$(port_of rt-ingest) && health=$(port_of rt-health) || { echo "processes did not start"; return 1; }
    for _ in $(seq 1 200); do curl -fs -o /dev/null "http://127.0.0.1:$ingest/readyz" && break; sleep 0.05; done

    generic() { # tenant body secret|"" -> prints the HTTP status
        local ts sig hdr=()
        ts=$(date +%s)
        if [ -n "$3" ]; then
            sig=$(printf '%s.%s' "$ts" "$2" | openssl dgst -sha256 -hmac "$3" | awk '{print $2}')
            hdr=(-H "X-RT-Signature: v1=$sig")
        fi
        curl -s -m 5 -o /dev/null -w '%{http_code}' -H "X-RT-Timestamp: $ts" "${hdr[@]}" \
            -H 'Content-Type: application/json' --data-binary "$2" "http://127.0.0.1:$ingest/webhooks/generic/$1"
    }
    report() { curl -s -H "Authorization: Bearer admin-key-sf" "http://127.0.0.1:$health/api/calls/health-check?tenant=acme"; }
    sf() { jget "$(report)" "d['webhooks']['$1']['signature_failures']['$2']"; }
    wait_sf() { # provider window value
        for _ in $(seq 1 100); do [ "$(sf "$1" "$2")" = "$3" ] && return 0; sleep 0.05; done
        echo "last report: $(report)"
        return 1
    }
    body='{"id":"d-1","call_id":"g-1","status":"initiated","from":"+15550001","to":"+15550002"}'
    codes=""
    for i in 1 2 3; do codes+="$(generic acme "$body" wrong-secret) "; done
    codes+="$(generic acme "$body" "")"
    check "bad and missing signatures are refused with 401 ($codes)" '[ "$codes" = "401 401 401 401" ]'
    code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H 'X-Twilio-Signature: AAAAAAAAAAAAAAAAAAAAAAAAAAA=' \
        --data 'CallSid=CA1&AccountSid=AC1&CallStatus=ringing' "http://127.0.0.1:$ingest/webhooks/twilio/acme")
    check "a badly signed Twilio callback is refused with 401 ($code)" '[ "$code" = 401 ]'
    code=$(generic ghost "$body" wrong-secret)
    check "an unknown tenant is 404 ($code)" '[ "$code" = 404 ]'
    check "four generic signature failures in the 5 min window" 'wait_sf generic 5m 4'
    check "and in the 15 and 60 min windows" '[ "$(sf generic 15m)" = 4 ] && [ "$(sf generic 60m)" = 4 ]'
    check "one Twilio signature failure" 'wait_sf twilio 5m 1'
    check "Twilio has no verified webhook yet: last_received_at null, not stale" \
        '[ "$(jget "$(report)" "d[\"webhooks\"][\"twilio\"][\"last_received_at\"]")" = None ] && [ "$(jget "$(report)" "d[\"webhooks\"][\"twilio\"][\"stale\"]")" = False ]'
    check "nothing is stored for an unknown tenant" '[ -z "$(rcli --scan --pattern "rt:{ghost}:*")" ]'
    check "the minute bucket has a TTL" '[ "$(rcli TTL "$(rcli --scan --pattern "rt:{acme}:h:m:*" | head -1)")" -gt 0 ]'
    code=$(generic acme "$body" s3cret-one)
    check "a correctly signed webhook is accepted ($code)" '[ "$code" = 200 ] || [ "$code" = 202 ]'
    check "the verified webhook is reported beside the failures" \
        'for _ in $(seq 1 100); do [ "$(jget "$(report)" "d[\"webhooks\"][\"generic\"][\"last_received_at\"]")" != None ] && break; sleep 0.05; done; [ "$(sf generic 5m)" = 4 ]'
    # a flood of bad signatures is summed in rt-ingest: Redis sees a few writes a second
    hincr() { rcli INFO commandstats | tr -d '\r' | grep -o 'cmdstat_hincrby:calls=[0-9]*' | cut -d= -f2; }
    before=$(hincr) t0=$SECONDS
    for _ in $(seq 1 100); do generic acme "$body" wrong-secret >/dev/null; done
    check "100 more failures are counted" 'wait_sf generic 5m 104'
    after=$(hincr) took=$((SECONDS - t0 + 1))
    # one write per second (per tenant, provider and minute), plus a minute boundary
    check "with one Redis write a second, not one per request ($((after - before)) in ${took} s)" \
        '[ $((after - before)) -le $((took + 2)) ] && [ $((after - before)) -lt 50 ]'
    # Redis gone: the refusal is answered at once, still 401 (the count is simply lost)
    bash "$fixture" stop "$work/redis" >/dev/null 2>&1
    t0=$(date +%s%N)
    code=$(generic acme "$body" wrong-secret)
    ms=$((($(date +%s%N) - t0) / 1000000))
    check "with Redis down a bad signature is still 401 ($code, ${ms} ms)" '[ "$code" = 401 ] && [ "$ms" -lt 2000 ]'
}

scenario_cors() {
    local allowed=http://127.0.0.1:8080 other=http://evil.example.com
    start rt-health broker/rt-health RT_HEALTH_LISTEN=127.0.0.1:0 RT_ADMIN_KEY=admin-key-cors \
        RT_HEALTH_CORS_ORIGINS="$allowed,http://dash.test:9000"
    start plain broker/rt-health RT_HEALTH_LISTEN=127.0.0.1:0 RT_ADMIN_KEY=admin-key-cors
    health=$(port_of rt-health) && plain=$(port_of plain) || { echo "processes did not start"; return 1; }
    url="http://127.0.0.1:$health/api/calls/health-check?tenant=acme"
    # headers <curl args...>: status line and headers, lower-cased names
    headers() { curl -s -m 5 -o /dev/null -D - "$@" | tr -d '\r'; }
    h=$(headers -X OPTIONS -H "Origin: $allowed" -H 'Access-Control-Request-Method: GET' \
        -H 'Access-Control-Request-Headers: authorization' "$url")
    check "preflight from an allowed origin: 204" 'grep -q "^HTTP/1.1 204" <<<"$h"'
    check "preflight allows that origin" 'grep -qi "^access-control-allow-origin: $allowed$" <<<"$h"'
    check "preflight allows GET and the Authorization header" \
        'grep -qi "^access-control-allow-methods: .*GET" <<<"$h" && grep -qi "^access-control-allow-headers: .*authorization" <<<"$h"'
    h=$(headers -X OPTIONS -H "Origin: $other" -H 'Access-Control-Request-Method: GET' "$url")
    check "preflight from another origin: 403 without CORS headers" \
        'grep -q "^HTTP/1.1 403" <<<"$h" && ! grep -qi "^access-control-" <<<"$h"'
    h=$(headers -H "Origin: $allowed" -H "Authorization: Bearer admin-key-cors" "$url")
    check "GET from an allowed origin: 200 with its Allow-Origin and Vary" \
        'grep -q "^HTTP/1.1 200" <<<"$h" && grep -qi "^access-control-allow-origin: $allowed$" <<<"$h" && grep -qi "^vary: origin" <<<"$h"'
    h=$(headers -H "Origin: http://dash.test:9000" -H "Authorization: Bearer admin-key-cors" "$url")
    check "the second listed origin works too" 'grep -qi "^access-control-allow-origin: http://dash.test:9000$" <<<"$h"'
    h=$(headers -H "Origin: $allowed" "$url")
    check "a 401 to an allowed origin carries Allow-Origin (the page can read it)" \
        'grep -q "^HTTP/1.1 401" <<<"$h" && grep -qi "^access-control-allow-origin: $allowed$" <<<"$h"'
    h=$(headers -H "Origin: $other" -H "Authorization: Bearer admin-key-cors" "$url")
    check "GET from another origin: answered, without CORS headers" \
        'grep -q "^HTTP/1.1 200" <<<"$h" && ! grep -qi "^access-control-" <<<"$h"'
    h=$(headers -H "Origin: $allowed" -H "Authorization: Bearer admin-key-cors" \
        "http://127.0.0.1:$health/api/v1/health/summary")
    check "the summary answers an allowed origin too" 'grep -qi "^access-control-allow-origin: $allowed$" <<<"$h"'
    h=$(headers -X OPTIONS -H "Origin: $allowed" -H 'Access-Control-Request-Method: GET' \
        "http://127.0.0.1:$plain/api/calls/health-check?tenant=acme")
    check "without the setting a preflight is refused (403)" \
        'grep -q "^HTTP/1.1 403" <<<"$h" && ! grep -qi "^access-control-" <<<"$h"'
    h=$(headers -H "Origin: $allowed" -H "Authorization: Bearer admin-key-cors" \
        "http://127.0.0.1:$plain/api/calls/health-check?tenant=acme")
    check "without the setting no CORS header is sent" \
        'grep -q "^HTTP/1.1 200" <<<"$h" && ! grep -qi "^access-control-" <<<"$h"'
    RT_HEALTH_CORS_ORIGINS='http://127.0.0.1:8080/' "$RT_TEST_BIN/broker/rt-health" >/dev/null 2>"$work/bad.log"
    code=$?
    check "an origin with a path is a configuration error (exit $code)" \
        '[ "$code" = 2 ] && grep -q RT_HEALTH_CORS_ORIGINS "$work/bad.log"'
}

case "$scenario" in
sigfail) scenario_sigfail ;;
cors) scenario_cors ;;
*) echo "unknown scenario $scenario"; exit 2 ;;
esac
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
