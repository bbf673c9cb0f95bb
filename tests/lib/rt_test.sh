# Sourced by the bash integration tests (after `set -uo pipefail` and with $work set to the
# test's own directory): counted checks and the project's processes, started and stopped by PID.
#   check "<what>" '<shell condition>'    evaluates the condition, prints ok / not ok
#   start <name> <exe under RT_TEST_BIN> [VAR=value...]   log in $work/<name>.log
#   port_of <name>                        the port from the process.ready log line (10 s)
#   stop_pids                             SIGTERM to every started process, then waits
#   finish                                prints the counts; its status is the test's
passed=0 failed=0 pids=()
ok() { passed=$((passed + 1)); echo "ok - $*"; }
bad() { failed=$((failed + 1)); echo "not ok - $*"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
start() { # name exe env...
    local name=$1 exe=$2
    shift 2
    env "$@" "$RT_TEST_BIN/$exe" 2>"$work/$name.log" &
    pids+=($!)
}
port_of() { # name
    local p
    for _ in $(seq 1 200); do
        p=$(grep -o '"event":"process.ready".*"url":"http://[^"]*"' "$work/$1.log" | sed 's/.*:\([0-9]*\)"$/\1/')
        [ -n "$p" ] && { echo "$p"; return 0; }
        sleep 0.05
    done
    return 1
}
stop_pids() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
}
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" = 0 ]
}
