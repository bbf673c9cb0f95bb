#!/usr/bin/env bash
# Process-level test of the three executables: each starts, logs one ready line with its URL,
# answers /healthz 200, /readyz 200 with Redis up and 503 (reason in JSON) while redis-server is
# stopped, 200 again after it returns, serves /metrics, exits 0 within 5 s of SIGTERM, and
# refuses a bad setting with exit code 2 naming the variable.
set -uo pipefail
: "${RT_TEST_BIN:?}" "${RT_TEST_SRC:?}" "${RT_TEST_STATE:?}"
work=$RT_TEST_STATE/process-probes
rm -rf "$work" && mkdir -p "$work"
fixture=$RT_TEST_SRC/tests/fixtures/redis.sh
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
bad() { failed=$((failed + 1)); echo "not ok - $*"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }

status_of() { curl -s -o "$work/body" -w '%{http_code}' --max-time 2 "http://127.0.0.1:$1$2"; }
wait_status() { # port path want timeout_s
    local deadline=$((SECONDS + $4))
    while [ $SECONDS -lt $deadline ]; do
        [ "$(status_of "$1" "$2")" = "$3" ] && return 0
        sleep 0.05
    done
    return 1
}

bash "$fixture" start "$work/redis" private || { echo "cannot start redis"; exit 1; }
rport=$(cat "$work/redis/port")
trap 'bash "$fixture" stop "$work/redis"; for p in ${pids:-}; do kill -9 $p 2>/dev/null; done' EXIT

declare -A bin=([rt-edge]=edge/rt-edge [rt-ingest]=ingest/rt-ingest [rt-health]=broker/rt-health)
declare -A listen=([rt-edge]=RT_EDGE_LISTEN [rt-ingest]=RT_INGEST_LISTEN [rt-health]=RT_HEALTH_LISTEN)
declare -A port pid
pids=""
for name in rt-edge rt-ingest rt-health; do
    exe=$RT_TEST_BIN/${bin[$name]}
    env "${listen[$name]}=127.0.0.1:0" RT_REDIS_URL="redis://127.0.0.1:$rport/0" \
        RT_EDGE_DASHBOARD_DIR="$RT_TEST_SRC/dashboard" "$exe" \
        2>"$work/$name.log" &
    pid[$name]=$!
    pids="$pids ${pid[$name]}"
done
for name in rt-edge rt-ingest rt-health; do
    line=""
    for _ in $(seq 1 200); do
        line=$(grep '"event":"process.ready"' "$work/$name.log" | head -1) && [ -n "$line" ] && break
        sleep 0.05
    done
    check "$name logs one ready line" '[ "$(grep -c "\"event\":\"process.ready\"" "$work/$name.log")" = 1 ]'
    port[$name]=$(sed -n 's/.*"url":"https\?:\/\/[^"]*:\([0-9]*\)".*/\1/p' <<<"$line")
    check "$name ready line names its URL" '[ -n "${port[$name]}" ] && [ "${port[$name]}" -gt 0 ]'
done
for name in rt-edge rt-ingest rt-health; do
    p=${port[$name]}
    check "$name /healthz 200" '[ "$(status_of $p /healthz)" = 200 ]'
    check "$name /readyz 200 with redis up" 'wait_status $p /readyz 200 10'
    check "$name /metrics 200" '[ "$(status_of $p /metrics)" = 200 ]'
    [ $name != rt-edge ] && check "$name /metrics shows redis connected" 'grep -q "^rt_redis_connected 1" "$work/body"'
    check "$name unknown path 404" '[ "$(status_of $p /nope)" = 404 ]'
done

p=${port[rt-edge]}
check "rt-edge serves the dashboard page" '[ "$(status_of $p /dashboard/)" = 200 ] && grep -q "<html" "$work/body"'
check "rt-edge serves the client module beside it" '[ "$(status_of $p /dashboard/rt-client.js)" = 200 ] && grep -q "export" "$work/body"'
check "rt-edge refuses a path out of the dashboard" '[ "$(curl -s --path-as-is -o /dev/null -w "%{http_code}" "http://127.0.0.1:$p/dashboard/../README.md")" = 404 ]'

bash "$fixture" stop "$work/redis"
for name in rt-edge rt-ingest rt-health; do
    p=${port[$name]}
    check "$name /readyz 503 with redis stopped" 'wait_status $p /readyz 503 10'
    check "$name 503 body gives the reason" 'grep -q "\"reason\":\"redis: " "$work/body"'
    check "$name /healthz still 200" '[ "$(status_of $p /healthz)" = 200 ]'
done
bash "$fixture" restart "$work/redis"
for name in rt-edge rt-ingest rt-health; do
    check "$name /readyz 200 after redis returns" 'wait_status ${port[$name]} /readyz 200 15'
done

for name in rt-edge rt-ingest rt-health; do
    start=$(date +%s%N)
    kill -TERM "${pid[$name]}"
    code=124
    for _ in $(seq 1 100); do
        if ! kill -0 "${pid[$name]}" 2>/dev/null; then wait "${pid[$name]}"; code=$?; break; fi
        sleep 0.05
    done
    ms=$((($(date +%s%N) - start) / 1000000))
    check "$name exits 0 within 5 s of SIGTERM (${ms} ms, code $code)" '[ $code = 0 ]'
    check "$name logged process.exit" 'grep -q "\"event\":\"process.exit\"" "$work/$name.log"'
done
pids=""

for name in rt-edge rt-ingest rt-health; do
    exe=$RT_TEST_BIN/${bin[$name]}
    env "${listen[$name]}=localhost" "$exe" >/dev/null 2>"$work/bad.log"
    code=$?
    check "$name bad ${listen[$name]} exits 2 (got $code)" '[ $code = 2 ]'
    check "$name names ${listen[$name]} and what it expected" 'grep -q "${listen[$name]}" "$work/bad.log" && grep -q "host:port" "$work/bad.log"'
    env RT_REDIS_URL=http://nope "$exe" --log-level=loud >/dev/null 2>"$work/bad.log"
    code=$?
    check "$name reports every bad setting (exit $code)" '[ $code = 2 ] && grep -q RT_REDIS_URL "$work/bad.log" && grep -q RT_LOG_LEVEL "$work/bad.log"'
    "$exe" --help >"$work/help.txt" 2>&1
    code=$?
    check "$name --help exits 0 and lists settings with defaults" '[ $code = 0 ] && grep -q -- "--redis-url" "$work/help.txt" && grep -q "RT_LOG_LEVEL" "$work/help.txt" && grep -q "default: " "$work/help.txt"'
    "$exe" --bogus >/dev/null 2>"$work/bad.log"
    check "$name unknown flag exits 2" '[ $? = 2 ]'
done

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
