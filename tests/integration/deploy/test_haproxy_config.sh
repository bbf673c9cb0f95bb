#!/usr/bin/env bash
# deploy/haproxy.cfg passes "haproxy -c" with its variables set (and fails without them), and
# has what WebSocket edges behind it need; deploy/nginx.conf.example has the same essentials.
set -uo pipefail
: "${RT_TEST_SRC:?}" "${RT_TEST_STATE:?}"
cfg=$RT_TEST_SRC/deploy/haproxy.cfg
ngx=$RT_TEST_SRC/deploy/nginx.conf.example
work=$RT_TEST_STATE/haproxy-config
rm -rf "$work" && mkdir -p "$work"
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
bad() { failed=$((failed + 1)); echo "not ok - $*"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
heartbeat_s=30 # the edge's WebSocket heartbeat (issue 8: timeouts longer than it)

secs() { # haproxy/nginx time value -> seconds
    local v=$1
    case $v in
    *ms) echo $((${v%ms} / 1000)) ;;
    *s) echo "${v%s}" ;;
    *m) echo $((${v%m} * 60)) ;;
    *h) echo $((${v%h} * 3600)) ;;
    *) echo $((v / 1000)) ;; # haproxy: a bare number is milliseconds
    esac
}

export LB_EDGE1_ADDR=127.0.0.1:18001 LB_EDGE2_ADDR=127.0.0.1:18002
export LB_STATS_SOCKET=$work/admin.sock
haproxy -c -f "$cfg" >"$work/c.log" 2>&1
code=$?
check "haproxy -c passes with LB_EDGE1_ADDR/LB_EDGE2_ADDR set (exit $code)" '[ $code = 0 ]'
check "haproxy -c: no warnings" '! grep -q -e WARNING -e ALERT "$work/c.log"'
[ $code = 0 ] || cat "$work/c.log"
env -u LB_EDGE2_ADDR haproxy -c -f "$cfg" >"$work/c2.log" 2>&1
check "haproxy -c fails without LB_EDGE2_ADDR" '[ $? != 0 ]'
LB_EDGE1_ADDR=rt-edge-1:8080 LB_EDGE2_ADDR=rt-edge-2:8080 haproxy -c -f "$cfg" >"$work/c3.log" 2>&1
check "haproxy -c passes with compose's unresolvable names (init-addr none)" '[ $? = 0 ]'

body=$(grep -v '^[[:space:]]*#' "$cfg")
tunnel=$(awk '$1 == "timeout" && $2 == "tunnel" {print $3}' <<<"$body")
check "timeout tunnel ${tunnel:-unset} is longer than the ${heartbeat_s} s heartbeat" \
    '[ -n "$tunnel" ] && [ "$(secs "$tunnel")" -gt $heartbeat_s ]'
for t in client server connect http-request; do
    v=$(awk -v t=$t '$1 == "timeout" && $2 == t {print $3}' <<<"$body")
    check "timeout $t is set (${v:-unset}) and at most 10 min" \
        '[ -n "$v" ] && [ "$(secs "$v")" -gt 0 ] && [ "$(secs "$v")" -le 600 ]'
done
check "mode http (HAProxy handles the WebSocket upgrade)" 'grep -qE "^[[:space:]]*mode http" <<<"$body"'
check "health checks GET /readyz and expect 200" \
    'grep -qE "http-check send meth GET uri /readyz" <<<"$body" && grep -qE "http-check expect status 200" <<<"$body"'
check "every server is checked" \
    '[ "$(grep -cE "^[[:space:]]*server " <<<"$body")" -ge 2 ] && ! grep -E "^[[:space:]]*server " <<<"$body" | grep -vq " check"'
check "no sticky sessions (no cookie, stick or balance source)" \
    '! grep -qE "^[[:space:]]*(cookie|stick|stick-table|balance (source|uri|hdr))" <<<"$body"'
check "drained edges keep their connections (no shutdown-sessions)" \
    '! grep -q "shutdown-sessions" <<<"$body"'
check "a refused connection is retried on another edge (retries, option redispatch)" \
    'grep -qE "^[[:space:]]*retries [1-9]" <<<"$body" && grep -qE "^[[:space:]]*option redispatch" <<<"$body"'

nbody=$(grep -v '^[[:space:]]*#' "$ngx")
check "nginx: Upgrade and Connection headers" \
    'grep -q "proxy_set_header Upgrade \$http_upgrade" <<<"$nbody" && grep -qE "proxy_set_header Connection \\\$[a-z_]*" <<<"$nbody" && grep -q "proxy_http_version 1.1" <<<"$nbody"'
rt=$(awk '$1 == "proxy_read_timeout" {sub(";", "", $2); print $2; exit}' <<<"$nbody")
check "nginx: proxy_read_timeout ${rt:-unset} longer than the heartbeat" \
    '[ -n "$rt" ] && [ "$(secs "$rt")" -gt $heartbeat_s ]'
n=$(awk '/^upstream/ {u=1} u && $1 == "server" {n++} u && /^}/ {u=0} END {print n+0}' <<<"$nbody")
check "nginx: upstream with two edges ($n)" '[ "$n" = 2 ]'
if command -v nginx >/dev/null; then
    { # nginx -t checks syntax and creates its temp directories; keep those under $work
        printf 'pid %s/nginx.pid;\nerror_log stderr;\nevents {}\nhttp {\n' "$work"
        for t in client_body proxy fastcgi uwsgi scgi; do printf '%s_temp_path %s/%s;\n' $t "$work" $t; done
        printf 'access_log off;\ninclude %s;\n}\n' "$ngx"
    } >"$work/nginx.conf"
    nginx -t -c "$work/nginx.conf" -p "$work" >"$work/n.log" 2>&1
    check "nginx -t accepts the example" '[ $? = 0 ]'
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
