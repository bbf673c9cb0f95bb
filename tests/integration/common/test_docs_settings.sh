#!/usr/bin/env bash
# Every setting an executable accepts (from its --help) is documented in docs/CONFIGURATION.md
# and docs/OPERATIONS.md, and every metric the code registers is listed in docs/OPERATIONS.md.
set -uo pipefail
: "${RT_TEST_BIN:?}" "${RT_TEST_SRC:?}"
passed=0 failed=0
for doc in CONFIGURATION.md OPERATIONS.md; do
    for exe in edge/rt-edge ingest/rt-ingest broker/rt-health; do
        for var in $("$RT_TEST_BIN/$exe" --help | grep -o 'RT_[A-Z0-9_]*' | grep -v '_FILE$' | sort -u); do
            if grep -q "\`$var\`" "$RT_TEST_SRC/docs/$doc"; then
                passed=$((passed + 1))
            else
                failed=$((failed + 1))
                echo "not ok - $var ($exe) is missing from docs/$doc"
            fi
        done
    done
done
cd "$RT_TEST_SRC" || exit 1
for m in $(grep -rhoE 'RT_METRIC_(COUNTER|GAUGE|HISTOGRAM), *"rt_[a-z_]+"' edge ingest broker common/src |
    grep -oE 'rt_[a-z_]+' | sort -u); do
    if grep -q "\`$m\`" docs/OPERATIONS.md; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "not ok - metric $m is missing from docs/OPERATIONS.md"
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
