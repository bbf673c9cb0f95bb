#!/usr/bin/env bash
# rt-ingest benchmark: signed Twilio webhooks and the publish API (single and batch) through one
# process into a private redis-server, with wrk over loopback. Prints figures; asserts nothing
# about time. CPU per event is user+system time of rt-ingest and redis-server (/proc/<pid>/stat)
# over the run divided by the events answered. usage: tests/bench/ingest_bench.sh <build dir> [seconds]
set -euo pipefail
build=$(cd "${1:?build dir}" && pwd)
secs=${2:-8}
command -v wrk >/dev/null || { echo "ingest_bench: wrk is needed (apt-get install wrk)" >&2; exit 2; }
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/rt-ingest-bench.XXXXXX)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    bash "$src/tests/fixtures/redis.sh" stop "$work/redis" || true
    rm -rf "$work"
}
trap cleanup EXIT
bash "$src/tests/fixtures/redis.sh" start "$work/redis" private
rport=$(cat "$work/redis/port")
key=bench-key
echo "{\"tenants\":{\"bench\":[\"sha256:$(printf %s $key | sha256sum | cut -d' ' -f1)\"]}}" >"$work/keys.json"
echo '{"tenants":{"bench":{"twilio":{"auth_tokens":["12345"]}}}}' >"$work/secrets.json"
RT_REDIS_URL=redis://127.0.0.1:$rport/0 RT_INGEST_LISTEN=127.0.0.1:0 \
    RT_WEBHOOK_SECRETS=$work/secrets.json RT_API_KEYS=$work/keys.json \
    RT_PUBLIC_URL=https://hooks.example.com RT_INGEST_RATE=100000000 RT_INGEST_WEBHOOK_RATE=0 \
    RT_INGEST_RATE_BURST=100000000 "$build/ingest/rt-ingest" 2>"$work/ingest.log" &
pid=$!
for _ in $(seq 1 100); do grep -q process.ready "$work/ingest.log" 2>/dev/null && break; sleep 0.05; done
port=$(grep -o '"port":[0-9]*' "$work/ingest.log" | head -1 | cut -d: -f2)
if [ -z "$port" ]; then
    # hides the ready line: find the port from the socket table
    port=$(ss -ltnp | awk -v p="pid=$pid," '$0 ~ p {split($4, a, ":"); print a[2]}' | head -1)
fi
url=http://127.0.0.1:$port
for _ in $(seq 1 100); do curl -sf "$url/readyz" >/dev/null && break; sleep 0.05; done
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
rcpu() { awk '{print $14 + $15}' "/proc/$(cat "$work/redis/pid")/stat"; }
tck=$(getconf CLK_TCK)

run() { # name, events per request, wrk args...
    local name=$1 per=$2
    shift 2
    local c0 t0 out
    local rc0 rc1
    c0=$(cpu)
    rc0=$(rcpu)
    t0=$(date +%s.%N)
    out=$(wrk -t1 -c32 -d"${secs}s" --latency "$@")
    local c1 t1
    c1=$(cpu)
    rc1=$(rcpu)
    t1=$(date +%s.%N)
    local rps p50 p99 bad
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    bad=$(echo "$out" | awk '/Non-2xx/ {print $5}')
    bad=${bad:-0}
    local events
    events=$(echo "$out" | awk '/requests in/ {print $1}')
    events=$((events * per))
    printf '%-22s %10.0f req/s %12.0f events/s  p50 %-8s p99 %-8s non-200 %s  CPU rt-ingest %.0f%% redis %.0f%%  per event: rt-ingest %.1f us, redis %.1f us\n' \
        "$name" "$rps" "$(echo "$rps * $per" | bc)" "$p50" "$p99" "$bad" \
        "$(echo "($c1 - $c0) / $tck * 100 / ($t1 - $t0)" | bc -l)" \
        "$(echo "($rc1 - $rc0) / $tck * 100 / ($t1 - $t0)" | bc -l)" \
        "$(echo "($c1 - $c0) / $tck * 1000000 / $events" | bc -l)" \
        "$(echo "($rc1 - $rc0) / $tck * 1000000 / $events" | bc -l)"
}

n=$((secs * 25000))
[ -n "${RT_BENCH_SKIP_TWILIO:-}" ] && n=1
"$build/tests/integration/ingest_webhooks/bench_ingest_gen" "$n" \
    "https://hooks.example.com/webhooks/twilio/bench" 12345 >"$work/twilio.reqs"
RT_BENCH_REQS=$work/twilio.reqs RT_BENCH_PATH=/webhooks/twilio/bench \
    run "twilio webhooks" 1 -s "$src/tests/bench/twilio.lua" "$url"
echo "  published to rt:calls:all: $(redis-cli -p "$rport" xinfo stream rt:calls:all | awk 'f {print; exit} /entries-added/ {f=1}')"
echo "  probe: $(curl -s -H "Authorization: Bearer $key" -d "{\"channel\":\"app:bench\",\"event\":\"p\"}" "$url/api/v1/publish")"
RT_BENCH_KEY=$key run "publish single" 1 -s "$src/tests/bench/publish.lua" "$url/api/v1/publish"
RT_BENCH_KEY=$key RT_BENCH_BATCH=100 run "publish batch x100" 100 -s "$src/tests/bench/publish.lua" "$url/api/v1/publish"
echo "  events stored in rt:{bench}:app:bench: $(redis-cli -p "$rport" xinfo stream 'rt:{bench}:app:bench' | awk 'f {print; exit} /entries-added/ {f=1}')"
echo "  rejects: $(curl -s "$url/metrics" | grep '^rt_ingest_rejects_total' | tr '\n' ' ')"
