#!/usr/bin/env bash
# rt-health benchmark: prints figures, asserts nothing about time. Loopback only, bounded.
#   bench_health.sh <build dir> [events (default 50000)] [wrk seconds (default 10; 0 skips wrk)]
#                   [order: calls (default) or spread]
# 1. apply rate: N call events (N/4 calls x initiated, ringing, answered, ended; 100 tenants) are
#    put into rt:calls:all before rt-health starts; the figure is N / (time from the process
#    start until the group has nothing pending or undelivered), plus the CPU per event of
#    rt-health and of redis-server. Order "calls" puts a call's 4 events next to each other (a
#    read batch holds whole calls); "spread" puts every call's initiated first, then every
#    ringing, and so on (each event of a batch is another call, as with many concurrent calls).
#    BENCH_STATS=<regex> picks the INFO commandstats lines printed (default evalsha|xreadgroup;
#    "." prints all, including the commands the scripts ran).
#    BENCH_CALLGRIND=1 runs redis-server under valgrind's callgrind instead and prints the
#    instructions it executed while rt-health applied the events, per event: unlike the CPU
#    time, this does not move with the machine's load, so two builds compare within 1%
#    (rt-health's tick is then 60 s, so no status check runs meanwhile; use fewer events, e.g.
#    10000: valgrind is about 50 times slower; the rate and CPU figures mean nothing then).
# 2. GET /api/calls/health-check (admin key) and GET /readyz under wrk (if installed): paced
#    near the issue's target rates, then closed-loop at 8 and 32 connections (saturation).
set -euo pipefail
build=$(cd "${1:?usage: bench_health.sh <build dir> [events] [seconds]}" && pwd)
n=${2:-50000}
secs=${3:-10}
order=${4:-calls}
case "$order" in calls | spread) ;; *) echo "order must be calls or spread" >&2; exit 2 ;; esac
src=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d /tmp/rt-bench-health.XXXXXX)
hpid=
vpid=
cleanup() {
    cp "$dir/health.log" /tmp/rt-bench-health.last.log 2>/dev/null || true
    [ -n "$hpid" ] && kill "$hpid" 2>/dev/null && wait "$hpid" 2>/dev/null || true
    if [ -n "$vpid" ]; then
        kill "$vpid" 2>/dev/null && wait "$vpid" 2>/dev/null || true
    else
        bash "$src/tests/fixtures/redis.sh" stop "$dir" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT
extra_env=()
if [ -n "${BENCH_CALLGRIND:-}" ]; then
    command -v valgrind >/dev/null || { echo "BENCH_CALLGRIND needs valgrind" >&2; exit 2; }
    port=$((20000 + RANDOM % 40000))
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$dir/callgrind.out" \
        redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
        >"$dir/redis.log" 2>&1 &
    vpid=$!
    for _ in $(seq 1 300); do
        [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ] && break
        sleep 0.1
    done
    # the port may belong to someone else's server: only ours counts
    redis-cli -h 127.0.0.1 -p "$port" info server 2>/dev/null | tr -d '\r' |
        grep -qx "process_id:$vpid" || { echo "valgrind redis-server did not start" >&2; exit 1; }
    extra_env=(RT_HEALTH_TICK_MS=60000 RT_HEALTH_INTERVAL_MS=3600000)
else
    bash "$src/tests/fixtures/redis.sh" start "$dir" private
    port=$(cat "$dir/port")
fi
rc() { redis-cli -h 127.0.0.1 -p "$port" "$@"; }

ts=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
awk -v n="$n" -v ts="$ts" -v order="$order" 'BEGIN {
    split("initiated ringing answered ended", st, " ");
    split("new_call call_update call_update call_ended", ev, " ");
    split("completed busy no_answer canceled rejected failed", oc, " ");
    for (i = 0; i < n; i++) {
        if (order == "spread") { call = i % int(n / 4); step = int(i / int(n / 4)) + 1 }
        else { call = int(i / 4); step = i % 4 + 1 }
        out = (step == 4) ? ",\"outcome\":\"" oc[call % 6 + 1] "\"" : "";
        j = "{\"channel\":\"calls\",\"event\":\"" ev[step] "\",\"tenant\":\"b" (call % 100) \
            "\",\"ts\":\"" ts "\",\"data\":{\"call_id\":\"c" call "\",\"state\":\"" st[step] \
            "\"" out ",\"provider\":\"twilio\",\"received_at\":\"" ts "\"}}";
        printf "*5\r\n$4\r\nXADD\r\n$12\r\nrt:calls:all\r\n$1\r\n*\r\n$1\r\ne\r\n$%d\r\n%s\r\n",
               length(j), j;
    }
}' | rc --pipe >/dev/null
echo "events in stream: $(rc XLEN rt:calls:all) (order: $order)"

backlog() {
    rc XINFO GROUPS rt:calls:all 2>/dev/null | awk '
        prev == "pending" { p = $1 } prev == "lag" { l = $1 } { prev = $1 }
        END { if (p == "" || l == "") print -1; else print p + l }'
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

redis_cpu() { rc INFO cpu | tr -d '\r' | awk -F: '/^used_cpu_(sys|user):/ { t += $2 } END { printf "%d", t * 1000000 }'; }
rcpu0=$(redis_cpu)
[ -n "$vpid" ] && callgrind_control -i on "$vpid" >/dev/null
start=$(date +%s%N)
env "${extra_env[@]}" RT_REDIS_URL="redis://127.0.0.1:$port/0" RT_HEALTH_LISTEN=127.0.0.1:0 \
    RT_ADMIN_KEY=bench-key RT_LOG_LEVEL=info "$build/broker/rt-health" 2>"$dir/health.log" &
hpid=$!
for _ in $(seq 1 60000); do
    b=$(backlog)
    [ "$b" = 0 ] && break
    sleep 0.01
done
end=$(date +%s%N)
[ -n "$vpid" ] && callgrind_control -i off "$vpid" >/dev/null
ticks=$(cpu_ticks "$hpid")
rcpu1=$(redis_cpu)
hz=$(getconf CLK_TCK)
ms=$(((end - start) / 1000000))
echo "apply: $n events in $ms ms = $((n * 1000 / (ms > 0 ? ms : 1))) events/s" \
     "(rt-health CPU $((ticks * 1000 / hz)) ms = $((ticks * 1000000 / hz / n)) us/event;" \
     "redis-server CPU $(((rcpu1 - rcpu0) / 1000)) ms = $(((rcpu1 - rcpu0) / n)) us/event)"
rc INFO commandstats | grep -E "${BENCH_STATS:-evalsha|xreadgroup}" | tr -d "\r"
echo "check: total_calls of b1 = $(rc HGET 'rt:{b1}:h:tenant' calls), events = $(rc HGET 'rt:{b1}:h:tenant' events)"

if [ -n "$vpid" ]; then
    rc SHUTDOWN NOSAVE >/dev/null 2>&1 || true
    wait "$vpid" 2>/dev/null || true
    vpid=
    ir=$(callgrind_annotate "$dir/callgrind.out" 2>/dev/null |
        awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
    echo "callgrind: redis-server executed $ir instructions during the apply = $((ir / n)) per event"
    exit 0
fi
hport=$(grep -o '"process.ready".*"port":[0-9]*' "$dir/health.log" | grep -o '[0-9]*$')
if [ "$secs" = 0 ]; then
    exit 0
fi
if ! command -v wrk >/dev/null; then
    echo "wrk not installed (apt-get install wrk): HTTP figures skipped"
    exit 0
fi
# paced: a little over 5,000 (health-check) and 20,000 (readyz) requests/s offered: each
# connection pauses 1 ms after each answer (wrk's timer makes it nearer 2 ms in practice: 7
# connections gave about 3,600/s), so it offers about 500 per second; the rate reached is printed
pace="$src/tests/bench/paced.lua"
echo "== health-check paced (11 connections x 1 ms pause: a little over 5,000/s offered), ${secs}s"
wrk -t1 -c11 -d"${secs}s" --latency -s "$pace" -H "Authorization: Bearer bench-key" \
    "http://127.0.0.1:$hport/api/calls/health-check?tenant=b1" |
    grep -E "Requests/sec|  50%|  90%|  99%|Non-2xx"
echo "== readyz paced (44 connections x 1 ms pause: a little over 20,000/s offered), ${secs}s"
wrk -t1 -c44 -d"${secs}s" --latency -s "$pace" "http://127.0.0.1:$hport/readyz" |
    grep -E "Requests/sec|  50%|  90%|  99%|Non-2xx"
for c in 8 32; do
    echo "== health-check, $c connections, ${secs}s"
    wrk -t1 -c"$c" -d"${secs}s" --latency -H "Authorization: Bearer bench-key" \
        "http://127.0.0.1:$hport/api/calls/health-check?tenant=b1" |
        grep -E "Requests/sec|Latency |  50%|  99%|Non-2xx"
    echo "== readyz, $c connections, ${secs}s"
    wrk -t1 -c"$c" -d"${secs}s" --latency "http://127.0.0.1:$hport/readyz" |
        grep -E "Requests/sec|Latency |  50%|  99%|Non-2xx"
done
