#!/usr/bin/env bash
# Loopback smoke test of deploy/haproxy.cfg with Debian's HAProxy in front of two rt-edge
# processes and a private redis-server:
#   - /readyz through HAProxy answers 200, and requests reach both edges (no stickiness);
#   - HAProxy's health check is /readyz, not a TCP connect: with Redis stopped both edges answer
#     503, HAProxy marks them DOWN and refuses clients (503, /lb-healthz 503); back UP after;
#   - an edge stopped with SIGTERM: requests are redispatched to the other one at once, then it
#     is marked DOWN and only the other one gets requests;
#   - the healthchecks of docker-compose.yml for rt-edge and haproxy, run against these
#     processes, pass when they are ready and fail when they are not;
#   - everything started here is stopped by PID.
# Server states and per-server request counts come from HAProxy's stats socket ("show stat").
# The WebSocket scale-out test (drain, reconnect, resume) comes with the edge's drain.
set -uo pipefail
: "${RT_TEST_BIN:?}" "${RT_TEST_SRC:?}" "${RT_TEST_STATE:?}"
work=$RT_TEST_STATE/haproxy-smoke
rm -rf "$work" && mkdir -p "$work"
fixture=$RT_TEST_SRC/tests/fixtures/redis.sh
PY=/usr/bin/python3
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
bad() { failed=$((failed + 1)); echo "not ok - $*"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; return 1; fi; }

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do
        for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$p" 2>/dev/null
    done
    bash "$fixture" stop "$work/redis"
}
trap cleanup EXIT

wait_for() { # timeout_s command...
    local deadline=$((SECONDS + $1))
    shift
    while [ $SECONDS -lt $deadline ]; do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}
free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
status_of() { curl -s -o "$work/body" -w '%{http_code}' --max-time 3 "$1"; }

bash "$fixture" start "$work/redis" private || { echo "not ok - cannot start redis-server"; exit 1; }
rport=$(cat "$work/redis/port")

# --- two edges on free loopback ports, read from their process.ready line
declare -A eport epid
for e in edge1 edge2; do
    RT_EDGE_LISTEN=127.0.0.1:0 RT_REDIS_URL=redis://127.0.0.1:$rport/0 \
        "$RT_TEST_BIN/edge/rt-edge" 2>"$work/$e.log" &
    epid[$e]=$!
    pids+=($!)
done
for e in edge1 edge2; do
    wait_for 10 grep -q '"event":"process.ready"' "$work/$e.log"
    eport[$e]=$(sed -n 's/.*"event":"process.ready".*"url":"http:\/\/127\.0\.0\.1:\([0-9]*\)".*/\1/p' \
        "$work/$e.log" | head -1)
    check "$e ready on 127.0.0.1:${eport[$e]:-?}" '[ -n "${eport[$e]}" ]'
done
[ -n "${eport[edge1]}" ] && [ -n "${eport[edge2]}" ] || { echo "$passed passed, $failed failed"; exit 1; }

# --- HAProxy with deploy/haproxy.cfg, configured by its environment variables
export LB_EDGE1_ADDR=127.0.0.1:${eport[edge1]} LB_EDGE2_ADDR=127.0.0.1:${eport[edge2]}
export LB_STATS_SOCKET=$work/admin.sock
hpid=""
for _ in 1 2 3 4 5; do
    lport=$(free_port) sport=$(free_port)
    LB_BIND=127.0.0.1:$lport LB_STATS_BIND=127.0.0.1:$sport \
        haproxy -db -f "$RT_TEST_SRC/deploy/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
    hpid=$!
    if wait_for 5 test -S "$LB_STATS_SOCKET" && kill -0 "$hpid" 2>/dev/null; then break; fi
    wait "$hpid" 2>/dev/null # a port taken in between: try others
    hpid=""
done
if ! check "haproxy started on 127.0.0.1:${lport} (stats ${sport})" '[ -n "$hpid" ]'; then
    cat "$work/haproxy.log"
    exit 1
fi
pids+=("$hpid")
lb=http://127.0.0.1:$lport

# "show stat" on the admin socket -> "<server> <status> <total sessions>" per edge
servers() {
    $PY - "$LB_STATS_SOCKET" 2>/dev/null <<'PY'
import csv, io, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(3)
s.connect(sys.argv[1])
s.sendall(b"show stat\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
rows = csv.reader(io.StringIO(data.decode().lstrip("# ")))
head = next(rows)
for r in rows:
    row = dict(zip(head, r))
    if row.get("pxname") == "rt_edges" and row.get("svname") in ("edge1", "edge2"):
        # responses, not sessions (stot): HAProxy reuses idle server connections, so one
        # session can carry many of the test's requests
        print(row["svname"], row["status"], int(row.get("hrsp_2xx") or 0) + int(row.get("hrsp_5xx") or 0))
PY
}
state_is() { # edge1-status edge2-status
    local got
    got=$(servers | awk '{printf "%s ", $2}')
    [ "$got" = "$1 $2 " ]
}
stot() { servers | awk -v s="$1" '$1 == s {print $3}'; }

# A healthcheck of docker-compose.yml, run here against a loopback port instead of the
# container's: compose_probe <service> <container-port> <port>
compose_probe() {
    local argv
    argv=$($PY - "$RT_TEST_SRC/docker-compose.yml" "$1" <<'PY'
import shlex, sys, yaml
test = yaml.safe_load(open(sys.argv[1]))["services"][sys.argv[2]]["healthcheck"]["test"]
if isinstance(test, str):
    test = ["CMD-SHELL", test]
if test[0] == "CMD-SHELL":
    test = ["CMD", "sh", "-c", test[1]]
print(" ".join(shlex.quote(a) for a in test[1:]))
PY
    ) || return 99
    argv=${argv//127.0.0.1:$2/127.0.0.1:$3}
    argv=${argv//127.0.0.1\/$2/127.0.0.1\/$3}
    [[ $argv == *"$3"* ]] || return 99
    timeout 5 bash -c "$argv" >/dev/null 2>&1
}
probe_fails() { # the probe ran and failed (99: could not even be run)
    compose_probe "$@"
    local rc=$?
    [ $rc != 0 ] && [ $rc != 99 ]
}

check "HAProxy marks both edges UP (health check /readyz)" 'wait_for 20 state_is UP UP'
check "/readyz through HAProxy answers 200 from an edge" \
    '[ "$(status_of $lb/readyz)" = 200 ] && grep -q "\"component\":\"rt-edge\"" "$work/body"'
check "/lb-healthz answers 200 while edges are up" \
    '[ "$(status_of http://127.0.0.1:$sport/lb-healthz)" = 200 ]'
check "compose's rt-edge healthcheck passes against a ready edge" \
    'compose_probe rt-edge-1 8080 ${eport[edge1]}'
check "compose's haproxy healthcheck passes while edges are up" 'compose_probe haproxy 8404 $sport'
before1=$(stot edge1) before2=$(stot edge2)
all=0
for _ in $(seq 1 20); do [ "$(status_of $lb/readyz)" = 200 ] && all=$((all + 1)); done
after1=$(stot edge1) after2=$(stot edge2)
check "20 of 20 requests answered 200 ($all)" '[ $all = 20 ]'
check "both edges served requests (edge1 +$((after1 - before1)), edge2 +$((after2 - before2)))" \
    '[ $((after1 - before1)) -gt 0 ] && [ $((after2 - before2)) -gt 0 ]'

# --- readiness, not liveness: Redis down -> /readyz 503 -> both DOWN; back UP after
bash "$fixture" stop "$work/redis"
check "with Redis stopped HAProxy marks both edges DOWN" 'wait_for 20 state_is DOWN DOWN'
check "the edges are alive but not ready (/readyz 503 direct)" \
    '[ "$(status_of http://127.0.0.1:${eport[edge1]}/readyz)" = 503 ] && [ "$(status_of http://127.0.0.1:${eport[edge1]}/healthz)" = 200 ]'
check "HAProxy refuses clients with 503 when no edge is ready" '[ "$(status_of $lb/readyz)" = 503 ]'
check "/lb-healthz answers 503 with no edge up" \
    '[ "$(status_of http://127.0.0.1:$sport/lb-healthz)" = 503 ]'
check "compose's rt-edge healthcheck fails while the edge is not ready" \
    'probe_fails rt-edge-1 8080 ${eport[edge1]}'
check "compose's haproxy healthcheck fails with no edge up" 'probe_fails haproxy 8404 $sport'
bash "$fixture" restart "$work/redis"
check "after Redis returns HAProxy marks both edges UP again" 'wait_for 20 state_is UP UP'

# --- an edge stopped: DOWN, and only the other one answers
kill -TERM "${epid[edge1]}"
code=124
for _ in $(seq 1 100); do
    if ! kill -0 "${epid[edge1]}" 2>/dev/null; then wait "${epid[edge1]}"; code=$?; break; fi
    sleep 0.05
done
check "edge1 exits 0 on SIGTERM (code $code)" '[ $code = 0 ]'
# before the health checks notice (up to 2 x 2 s), connections to edge1 are refused: HAProxy
# must retry them on edge2 (retries + option redispatch), so clients see no error
all=0
for _ in $(seq 1 10); do [ "$(status_of $lb/readyz)" = 200 ] && all=$((all + 1)); done
check "right after edge1 stopped, 10 of 10 requests answered 200 ($all)" '[ $all = 10 ]'
check "HAProxy marks edge1 DOWN, edge2 stays UP" 'wait_for 20 state_is DOWN UP'
before1=$(stot edge1) before2=$(stot edge2)
all=0
for _ in $(seq 1 10); do [ "$(status_of $lb/readyz)" = 200 ] && all=$((all + 1)); done
after1=$(stot edge1) after2=$(stot edge2)
check "10 of 10 requests answered 200 with one edge ($all)" '[ $all = 10 ]'
check "only edge2 served them (edge1 +$((after1 - before1)), edge2 +$((after2 - before2)))" \
    '[ "$after1" = "$before1" ] && [ $((after2 - before2)) -ge 10 ]'
check "HAProxy logged edge1 going DOWN" 'grep -q "rt_edges/edge1 is DOWN" "$work/haproxy.log"'

# --- stop everything by PID
rpid=$(cat "$work/redis/pid")
cleanup
trap - EXIT
alive=""
for p in "${pids[@]}" $rpid; do
    kill -0 "$p" 2>/dev/null && alive="$alive $p"
done
check "every process started here is stopped: edges, haproxy, redis ${rpid} (left:${alive:- none})" \
    '[ -n "$rpid" ] && [ -z "$alive" ]'

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
