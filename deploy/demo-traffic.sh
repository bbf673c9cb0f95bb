#!/usr/bin/env bash
# Demo traffic for a running stack, so a dashboard moves on its own. Three sources, as in
# production:
#   - PostgreSQL: calls inserted and updated in the calls table (procedure rt_demo_calls of
#     deploy/sql/003_demo_traffic.sql), which rt-ingest turns into events by logical replication;
#   - Twilio: signed status callbacks (initiated, ringing, in-progress, then completed, busy or
#     no-answer) posted to rt-ingest's webhook route, each with the X-Twilio-Signature Twilio
#     would send;
#   - the publish API: `import_progress` events on the tenant channel, as an app backend would
#     report a contact import.
# It is started by `bash deploy/local.sh --demo`; it can also run against any stack:
#   DEMO_PG_CONNINFO="host=... dbname=..."   calls table (empty: no PostgreSQL traffic)
#   DEMO_INGEST_URL=http://127.0.0.1:8081    where rt-ingest listens
#   DEMO_PUBLIC_URL=$DEMO_INGEST_URL         the RT_PUBLIC_URL rt-ingest verifies Twilio against
#   DEMO_TWILIO_TOKEN, DEMO_TWILIO_ACCOUNT   a tenant's Twilio auth token and AccountSid
#                                            (empty token: no webhooks)
#   DEMO_API_KEY                             a publish API key of the tenant (empty: no publish)
#   DEMO_TENANT=acme  DEMO_PG_TENANTS="acme globex"
#   DEMO_SECONDS=0 (run until stopped)  DEMO_TICK_MS=1000 (pace; lower is faster)
# On exit it prints how many webhooks and publishes were sent and how many were refused; it
# exits 1 if any was refused, so a test can use it as is. Secrets are never printed.
set -uo pipefail
tenant=${DEMO_TENANT:-acme}
pg_tenants=${DEMO_PG_TENANTS:-$tenant}
ingest=${DEMO_INGEST_URL:-http://127.0.0.1:8081}
public=${DEMO_PUBLIC_URL:-$ingest}
seconds=${DEMO_SECONDS:-0}
tick_ms=${DEMO_TICK_MS:-1000}
account=${DEMO_TWILIO_ACCOUNT:-ACdemo00000000000000000000000000}
tick_s=$(awk -v ms="$tick_ms" 'BEGIN { printf "%.3f", ms / 1000 }')
work=$(mktemp -d)
pids=()

stop() {
    trap - INT TERM EXIT
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    local sent=0 refused=0 f
    for f in "$work"/*.count; do
        [ -f "$f" ] || continue
        read -r s r <"$f"
        sent=$((sent + s)) refused=$((refused + r))
        echo "demo-traffic: $(basename "$f" .count): $s sent, $r refused"
    done
    rm -rf "$work"
    [ "$refused" -eq 0 ]
    exit $?
}
trap stop INT TERM EXIT

expired() { [ "$seconds" -gt 0 ] && [ "$SECONDS" -ge "$seconds" ]; }
rand() { echo $((RANDOM % $1)); }

# ---- PostgreSQL: one session runs the procedure; each tick is one committed transaction ----
if [ -n "${DEMO_PG_CONNINFO:-}" ]; then
    arr=$(printf "'%s'," $pg_tenants)
    # The connection check ends the server-side loop soon after psql is stopped.
    psql "$DEMO_PG_CONNINFO" -v ON_ERROR_STOP=1 -q -c "SET client_connection_check_interval = 1000" \
        -c "CALL rt_demo_calls(ARRAY[${arr%,}], $seconds, $tick_ms)" >"$work/pg.log" 2>&1 &
    pids+=($!)
fi

# ---- Twilio status callbacks ----------------------------------------------------------------
# The signature is base64(HMAC-SHA1(token, URL + each parameter name and value, sorted by name)).
twilio_post() { # status seq sid from to [duration]
    local url="$public/webhooks/twilio/$tenant" params=() signed sig code
    params=("AccountSid=$account" "CallSid=$3" "CallStatus=$1" "Direction=inbound" "From=$4"
        "SequenceNumber=$2" "Timestamp=$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S +0000')" "To=$5")
    [ -n "${6:-}" ] && params+=("CallDuration=$6")
    signed=$url
    while IFS= read -r p; do signed+="${p%%=*}${p#*=}"; done < <(printf '%s\n' "${params[@]}" | LC_ALL=C sort)
    sig=$(printf '%s' "$signed" | openssl dgst -sha1 -hmac "$DEMO_TWILIO_TOKEN" -binary | openssl base64 -A)
    local args=()
    for p in "${params[@]}"; do args+=(--data-urlencode "$p"); done
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "X-Twilio-Signature: $sig" \
        "${args[@]}" "$ingest/webhooks/twilio/$tenant")
    [ "${code:0:1}" = 2 ]
}
twilio_loop() {
    local sent=0 refused=0 n=0
    while ! expired; do
        n=$((n + 1))
        local sid from to seq=0 end
        sid=CA$(openssl rand -hex 16)
        from=+1415$(printf '%07d' $((RANDOM * 32768 + RANDOM)))
        from=${from:0:12} to=+18005550$(printf '%03d' "$(rand 1000)")
        case $(rand 10) in
        0 | 1) end=busy ;; 2) end=no-answer ;; *) end=completed ;;
        esac
        local states=(initiated ringing) s
        [ "$end" = completed ] && states+=(in-progress)
        for s in "${states[@]}"; do
            if twilio_post "$s" "$seq" "$sid" "$from" "$to"; then sent=$((sent + 1)); else refused=$((refused + 1)); fi
            seq=$((seq + 1))
            echo "$sent $refused" >"$work/twilio-webhooks.count"
            sleep "$(awk -v t="$tick_s" -v r="$(rand 3)" 'BEGIN { print t * (1 + r) }')"
            expired && break
        done
        if [ "$end" = completed ]; then
            sleep "$(awk -v t="$tick_s" -v r="$(rand 8)" 'BEGIN { print t * (2 + r) }')"
        fi
        if twilio_post "$end" "$seq" "$sid" "$from" "$to" $([ "$end" = completed ] && rand 300); then
            sent=$((sent + 1))
        else
            refused=$((refused + 1))
        fi
        echo "$sent $refused" >"$work/twilio-webhooks.count"
        sleep "$tick_s"
    done
}
if [ -n "${DEMO_TWILIO_TOKEN:-}" ]; then
    twilio_loop &
    pids+=($!)
fi

# ---- publish API: an import job reporting its progress ---------------------------------------
publish_loop() {
    local sent=0 refused=0 job=0
    while ! expired; do
        job=$((job + 1))
        local total=$((500 + $(rand 2000))) done_=0 code
        while [ "$done_" -lt "$total" ] && ! expired; do
            done_=$((done_ + 50 + $(rand 200)))
            [ "$done_" -gt "$total" ] && done_=$total
            code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
                -H "Authorization: Bearer $DEMO_API_KEY" -H 'Content-Type: application/json' \
                --data-binary "{\"channel\":\"tenant\",\"event\":\"import_progress\",\"data\":{\"job\":\"import-$job\",\"done\":$done_,\"total\":$total}}" \
                "$ingest/api/v1/publish")
            if [ "${code:0:1}" = 2 ]; then sent=$((sent + 1)); else refused=$((refused + 1)); fi
            echo "$sent $refused" >"$work/publish-api.count"
            sleep "$tick_s"
        done
        sleep "$(awk -v t="$tick_s" 'BEGIN { print t * 3 }')"
    done
}
if [ -n "${DEMO_API_KEY:-}" ]; then
    publish_loop &
    pids+=($!)
fi

[ ${#pids[@]} -gt 0 ] || { echo "demo-traffic: nothing to do (see the settings at the top)" >&2; exit 2; }
# Wait for the sources; when DEMO_SECONDS ends they stop by themselves.
for p in "${pids[@]}"; do wait "$p"; done
pids=()
if [ -s "$work/pg.log" ]; then
    echo "demo-traffic: psql: $(head -c 500 "$work/pg.log")" >&2
    echo "0 1" >"$work/postgresql.count"
fi
