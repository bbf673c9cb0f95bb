#!/usr/bin/env bash
# docker-compose.yml passes "docker-compose config" (Debian's docker-compose, no engine needed)
# with the committed example env file standing in for deploy/compose.env, lists the expected
# services, and is refused without the env file (it holds the secrets and is not committed).
set -uo pipefail
: "${RT_TEST_SRC:?}" "${RT_TEST_STATE:?}"
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
bad() { failed=$((failed + 1)); echo "not ok - $*"; }
command -v docker-compose >/dev/null || { echo "not ok - docker-compose is not installed"; exit 1; }

# A project directory mirroring the source tree with symlinks, plus deploy/compose.env copied
# from the example: the source tree itself is left untouched.
work=$RT_TEST_STATE/compose-config
rm -rf "$work" && mkdir -p "$work/proj/deploy"
for f in "$RT_TEST_SRC"/* "$RT_TEST_SRC"/.dockerignore; do
    [ "${f##*/}" = deploy ] || ln -s "$f" "$work/proj/${f##*/}"
done
for f in "$RT_TEST_SRC"/deploy/*; do ln -s "$f" "$work/proj/deploy/${f##*/}"; done
rm -f "$work/proj/deploy/compose.env"

cd "$work/proj" || exit 1
if docker-compose config >"$work/out.yml" 2>"$work/err.txt"; then
    bad "docker-compose config without deploy/compose.env should fail"
else
    grep -q 'compose.env' "$work/err.txt" && ok "refused without deploy/compose.env (names it)" ||
        { bad "refused without deploy/compose.env, but: $(head -3 "$work/err.txt")"; }
fi

cp "$RT_TEST_SRC/deploy/compose.env.example" "$work/proj/deploy/compose.env"
if docker-compose config >"$work/out.yml" 2>"$work/err.txt"; then
    ok "docker-compose config passes"
else
    bad "docker-compose config: $(cat "$work/err.txt")"
fi
[ ! -s "$work/err.txt" ] && ok "no warnings" || bad "warnings: $(cat "$work/err.txt")"
services=$(docker-compose config --services 2>/dev/null | sort | tr '\n' ' ')
want="haproxy postgres redis rt-edge-1 rt-edge-2 rt-health rt-ingest "
[ "$services" = "$want" ] && ok "services: $services" || bad "services: $services (want $want)"
volumes=$(docker-compose config --volumes 2>/dev/null | sort | tr '\n' ' ')
[ "$volumes" = "pg-data redis-data " ] && ok "named volumes: $volumes" || bad "volumes: $volumes"
# the env file reached the containers that need it, through env_file
grep -q 'RT_JWT_SECRET: replace-with-a-generated-secret' "$work/out.yml" &&
    ok "env_file values reach the services" || bad "env_file values missing from the config"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
