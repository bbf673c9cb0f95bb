#!/usr/bin/env bash
# The embedded default: the whole stack on this machine, no Docker. Installs missing Debian
# packages, builds, starts PostgreSQL (wal_level=logical, demo schema) and redis-server under
# .local/, starts rt-ingest, rt-edge and rt-health, prints every URL and a demo token, and stops
# everything it started on Ctrl-C.
# Usage (as root on Debian 12): bash deploy/local.sh [--demo]
#   --demo   also run deploy/demo-traffic.sh: calls in PostgreSQL, signed Twilio webhooks and
#            publish-API events for tenant acme, so the dashboard moves on its own.
# Ports (override by environment): RT_LOCAL_PG_PORT 54329, RT_LOCAL_REDIS_PORT 63799, and the
# processes' own RT_EDGE_LISTEN 127.0.0.1:8080, RT_INGEST_LISTEN :8081, RT_HEALTH_LISTEN :8082.
set -euo pipefail
demo=0
for a in "$@"; do
    case $a in
    --demo) demo=1 ;;
    *) echo "usage: bash deploy/local.sh [--demo]" >&2; exit 2 ;;
    esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash deploy/install-deps.sh

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >/dev/null
cmake --build build -j "$(nproc)"

state=$root/.local
mkdir -p "$state/logs"
chmod 755 "$state"
pg_port=${RT_LOCAL_PG_PORT:-54329}
redis_port=${RT_LOCAL_REDIS_PORT:-63799}
PGBIN=/usr/lib/postgresql/15/bin
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pids=()

stop_all() {
    trap - INT TERM EXIT
    echo
    echo "stopping..."
    # newest first: the demo traffic stops before the servers it talks to
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    [ -f "$state/redis.pid" ] && kill -TERM "$(cat "$state/redis.pid")" 2>/dev/null || true
    as_pg "$PGBIN/pg_ctl" -D "$state/pg" -m fast -w stop >/dev/null 2>&1 || true
    echo "stopped"
}
trap stop_all INT TERM EXIT

# PostgreSQL: a cluster of our own under .local/pg, loopback only.
if [ ! -f "$state/pg/PG_VERSION" ]; then
    mkdir -p "$state/pg"
    [ "$(id -u)" = 0 ] && chown postgres "$state/pg"
    as_pg "$PGBIN/initdb" -D "$state/pg" -U postgres --auth=trust -E UTF8 >/dev/null
fi
[ "$(id -u)" = 0 ] && chown postgres "$state/logs"
as_pg "$PGBIN/pg_ctl" -D "$state/pg" -l "$state/logs/postgres.log" -w \
    -o "-p $pg_port -k $state/pg -c listen_addresses=127.0.0.1 -c wal_level=logical \
        -c max_replication_slots=10 -c max_wal_senders=10" start >/dev/null
psql_q() { as_pg psql -q -h 127.0.0.1 -p "$pg_port" -U postgres "$@"; }
if [ "$(psql_q -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'rt_demo'")" != 1 ]; then
    psql_q -d postgres -c "CREATE DATABASE rt_demo" >/dev/null
fi
for f in deploy/sql/*.sql; do psql_q -v ON_ERROR_STOP=1 -d rt_demo -f "$f" >/dev/null; done

# Redis
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$state" --logfile "$state/logs/redis.log" --daemonize yes --pidfile "$state/redis.pid"
for _ in $(seq 1 100); do
    [ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" = PONG ] && break
    sleep 0.05
done

# A demo HS256 secret, made once per checkout and never committed (.local is ignored).
[ -s "$state/jwt_secret" ] || openssl rand -hex 32 >"$state/jwt_secret"
chmod 600 "$state/jwt_secret"
# Webhook secrets and a publish API key for tenant acme, also made once and kept in .local.
if [ ! -s "$state/twilio_token" ]; then
    openssl rand -hex 16 >"$state/twilio_token"
    openssl rand -hex 32 >"$state/api_key"
fi
chmod 600 "$state/twilio_token" "$state/api_key"
printf '{"tenants": {"acme": {"twilio": {"auth_tokens": ["%s"]}}}}\n' "$(cat "$state/twilio_token")" \
    >"$state/webhook_secrets.json"
printf '{"tenants": {"acme": ["sha256:%s"]}}\n' "$(tr -d '\n' <"$state/api_key" | sha256sum | cut -d' ' -f1)" \
    >"$state/api_keys.json"
chmod 600 "$state/webhook_secrets.json" "$state/api_keys.json"
export RT_REDIS_URL=redis://127.0.0.1:$redis_port/0
export RT_JWT_SECRET_FILE=$state/jwt_secret
export RT_PG_CONNINFO="host=127.0.0.1 port=$pg_port dbname=rt_demo user=postgres"
export RT_INGEST_ROUTES=${RT_INGEST_ROUTES:-$root/deploy/routes.example.json}
export RT_EDGE_DASHBOARD_DIR=${RT_EDGE_DASHBOARD_DIR:-$root/dashboard}
export RT_EDGE_LISTEN=${RT_EDGE_LISTEN:-127.0.0.1:8080}
export RT_INGEST_LISTEN=${RT_INGEST_LISTEN:-127.0.0.1:8081}
export RT_HEALTH_LISTEN=${RT_HEALTH_LISTEN:-127.0.0.1:8082}
export RT_WEBHOOK_SECRETS=$state/webhook_secrets.json
export RT_API_KEYS=$state/api_keys.json
export RT_PUBLIC_URL=${RT_PUBLIC_URL:-http://$RT_INGEST_LISTEN}
# the dashboard (served by rt-edge) calls rt-health's health-check from the edge's origin
edge_port=${RT_EDGE_LISTEN##*:}
export RT_HEALTH_CORS_ORIGINS=${RT_HEALTH_CORS_ORIGINS:-http://$RT_EDGE_LISTEN,http://localhost:$edge_port}

start() { # name exe
    "$root/build/$2" 2>"$state/logs/$1.log" &
    pids+=($!)
}
start rt-ingest ingest/rt-ingest
start rt-edge edge/rt-edge
start rt-health broker/rt-health

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
demo_token() { # tenant user
    local now header payload sig
    now=$(date +%s)
    header=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
    payload=$(printf '{"sub":"%s","org_id":"%s","iat":%d,"exp":%d}' "$2" "$1" "$now" \
        $((now + 86400)) | b64url)
    sig=$(printf '%s.%s' "$header" "$payload" |
        openssl dgst -sha256 -mac HMAC -macopt "key:$(cat "$state/jwt_secret")" -binary | b64url)
    printf '%s.%s.%s' "$header" "$payload" "$sig"
}

wait_ready() { # name url
    for _ in $(seq 1 100); do
        curl -fs -o /dev/null "$2/readyz" && return 0
        sleep 0.1
    done
    echo "warning: $1 is not ready yet; see $state/logs/$1.log" >&2
}
wait_ready rt-ingest "http://$RT_INGEST_LISTEN"
wait_ready rt-edge "http://$RT_EDGE_LISTEN"
wait_ready rt-health "http://$RT_HEALTH_LISTEN"

token=$(demo_token acme u-demo)
cat <<INFO

rt-broker local stack is running (Ctrl-C stops everything):
  rt-edge    ws://$RT_EDGE_LISTEN/ws         http://$RT_EDGE_LISTEN/healthz  /readyz  /metrics
  rt-ingest  http://$RT_INGEST_LISTEN/  (webhooks, publish API)  /healthz  /readyz  /metrics
  rt-health  http://$RT_HEALTH_LISTEN/  (health API)             /healthz  /readyz  /metrics
  redis      redis://127.0.0.1:$redis_port/0
  postgres   postgresql://postgres@127.0.0.1:$pg_port/rt_demo   (logical replication, slot rt_slot)
  logs       $state/logs/

Demo token (tenant acme, user u-demo, valid 24 h; signed with the secret in .local/jwt_secret):
  $token

Dashboard (live call board of tenant acme):
  http://$RT_EDGE_LISTEN/dashboard/#health=http://$RT_HEALTH_LISTEN/api/calls/health-check&token=$token

Tenant acme's Twilio auth token and publish API key: .local/twilio_token, .local/api_key
  curl -H "Authorization: Bearer \$(cat .local/api_key)" -d '{"channel":"tenant","event":"hello","data":{}}' \\
       http://$RT_INGEST_LISTEN/api/v1/publish
INFO

if [ "$demo" = 1 ]; then
    DEMO_PG_CONNINFO="$RT_PG_CONNINFO" DEMO_INGEST_URL="http://$RT_INGEST_LISTEN" \
        DEMO_PUBLIC_URL="$RT_PUBLIC_URL" DEMO_TENANT=acme DEMO_PG_TENANTS="acme globex" \
        DEMO_TWILIO_TOKEN="$(cat "$state/twilio_token")" DEMO_API_KEY="$(cat "$state/api_key")" \
        bash "$root/deploy/demo-traffic.sh" >"$state/logs/demo-traffic.log" 2>&1 &
    pids+=($!)
    echo
    echo "Demo traffic is running (calls in PostgreSQL, Twilio webhooks, publish API); log: .local/logs/demo-traffic.log"
fi

# Stay in the foreground until Ctrl-C or until a process dies.
while :; do
    for pid in "${pids[@]}"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "a process exited; see $state/logs/" >&2
            exit 1
        fi
    done
    sleep 1
done
