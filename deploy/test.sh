#!/usr/bin/env bash
# The test command: installs what is missing, builds with -Werror, runs every test through ctest,
# then builds again with AddressSanitizer + UndefinedBehaviorSanitizer and runs every test again.
# Usage (as root on Debian 12): bash deploy/test.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash deploy/install-deps.sh --with-tests
if [ -f tests/js/package-lock.json ]; then
    (cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
fi
jobs=$(nproc)

run_suite() { # build-dir extra-cmake-args...
    local dir=$1
    shift
    cmake -S . -B "$dir" -DRT_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j "$jobs"
    (cd "$dir" && ctest --output-on-failure --timeout 900)
}

echo "== build and test (gcc -Werror)"
run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== build and test under AddressSanitizer + UndefinedBehaviorSanitizer"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DRT_SANITIZE=ON
echo "== all tests passed (plain and sanitized)"
