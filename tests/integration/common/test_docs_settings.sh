#!/usr/bin/env bash
# Every setting an executable accepts (from its --help) is documented in docs/CONFIGURATION.md.
set -uo pipefail
: "${RT_TEST_BIN:?}" "${RT_TEST_SRC:?}"
doc=$RT_TEST_SRC/docs/CONFIGURATION.md
passed=0 failed=0
for exe in edge/rt-edge ingest/rt-ingest broker/rt-health; do
    for var in $("$RT_TEST_BIN/$exe" --help | grep -o 'RT_[A-Z0-9_]*' | grep -v '_FILE$' | sort -u); do
        if grep -q "\`$var\`" "$doc"; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            echo "not ok - $var ($exe) is missing from docs/CONFIGURATION.md"
        fi
    done
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
