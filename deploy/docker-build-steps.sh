#!/usr/bin/env bash
# Runs deploy/Dockerfile's build steps on this machine, without a Docker engine, so that a
# broken step is caught in CI:
#   - the RUN lines of the build stage, with the image's paths mapped onto a scratch directory
#     (the apt step for real when run as root, else only checked against apt's cache);
#   - the final stage's apt step (deploy/docker/build.sh runtime-deps);
#   - the build context as Docker sends it (.dockerignore applied) is what gets built;
# and checks the result: the three executables run, every pkg-config module CMakeLists.txt asks
# for comes from a build-stage package, and every shared library the executables load comes from
# a runtime-stage package (or the base image's required packages).
# Usage: deploy/docker-build-steps.sh [scratch-dir]   (default: a new directory under /tmp)
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
scratch=${1:-$(mktemp -d /tmp/rt-docker-build.XXXXXX)}
rm -rf "$scratch" && mkdir -p "$scratch"
dockerfile=$src/deploy/Dockerfile
script=$src/deploy/docker/build.sh
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
bad() { failed=$((failed + 1)); echo "not ok - $*"; }
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" = 0 ] && exit 0
    exit 1
}

# --- the Dockerfile: its stages and RUN lines (backslash continuations joined)
mapfile -t lines < <(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$dockerfile")
stage="" build_runs=() final_runs=() copies=()
for l in "${lines[@]}"; do
    case $l in
    FROM\ *)
        if [[ $l =~ [[:space:]][Aa][Ss][[:space:]]+build$ ]]; then stage=build; else stage=final; fi
        [[ $l =~ ^FROM[[:space:]]+debian:12-slim ]] && ok "stage from debian:12-slim: $l" ||
            bad "stage not from debian:12-slim: $l"
        ;;
    RUN\ *)
        [ "$stage" = build ] && build_runs+=("${l#RUN }")
        [ "$stage" = final ] && final_runs+=("${l#RUN }")
        ;;
    COPY\ *) copies+=("$l") ;;
    esac
done
[ ${#build_runs[@]} -ge 2 ] && ok "build stage has ${#build_runs[@]} RUN steps" ||
    bad "build stage RUN steps not found"
[[ "${final_runs[*]}" == *"rt-build.sh runtime-deps"* ]] &&
    ok "final stage installs its libraries with build.sh runtime-deps" ||
    bad "final stage does not run build.sh runtime-deps"
for c in "${copies[@]}"; do
    read -r _ from _ <<<"$c"
    case $from in
    --from=*) ;;
    .) ;;
    *) [ -e "$src/$from" ] && ok "COPY source $from exists" || bad "COPY source $from is missing" ;;
    esac
done
mapfile -t runtime < <(bash "$script" list runtime-deps)
mapfile -t buildpk < <(bash "$script" list build-deps)
dev=$(printf '%s\n' "${runtime[@]}" | grep -- '-dev$' || true)
[ -z "$dev" ] && ok "no -dev package in the final stage" || bad "final stage installs $dev"

# --- the build context as Docker sees it: the tree minus .dockerignore
ctx=$scratch/src
mkdir -p "$ctx"
excl=()
while read -r pat; do
    pat=${pat%%#*}
    pat=${pat%"${pat##*[![:space:]]}"}
    [ -z "$pat" ] && continue
    pat=${pat%/}
    if [[ $pat == '**/'* ]]; then
        excl+=(--no-anchored "--exclude=${pat#\*\*/}")
    else
        excl+=(--anchored "--exclude=./$pat")
    fi
done <"$src/.dockerignore"
if tar -C "$src" "${excl[@]}" -cf - . | tar -C "$ctx" -xf -; then
    ok "build context copied ($(du -sh "$ctx" | cut -f1), .dockerignore applied)"
else
    bad "cannot copy the build context"
    finish
fi
[ ! -e "$ctx/build" ] && [ ! -e "$ctx/.git" ] && ok "context leaves out build/ and .git" ||
    bad "context holds build/ or .git (.dockerignore)"

# --- the build stage's RUN lines, image paths mapped onto the scratch directory
map() {
    sed -e "s#/usr/local/sbin/rt-build.sh#$ctx/deploy/docker/build.sh#g" \
        -e "s#\([[:space:]]\)/src\b#\1$ctx#g" -e "s#\([[:space:]]\)/build\b#\1$scratch/build#g" \
        -e "s#\([[:space:]]\)/out\b#\1$scratch/out#g" \
        -e "s#\([[:space:]]\)/dashboard\b#\1$scratch/dashboard#g" <<<"$1"
}
apt_check() { # which
    if [ "$(id -u)" = 0 ]; then
        bash "$script" "$1"
        return
    fi
    # not root: every package must at least exist and have an install candidate
    local p cand rc=0
    for p in $(bash "$script" list "$1"); do
        cand=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')
        if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then
            echo "  $p: no install candidate" >&2
            rc=1
        fi
    done
    return $rc
}
for run in "${build_runs[@]}"; do
    cmd=$(map "$run")
    if [[ $cmd == *"build.sh build-deps"* ]]; then
        apt_check build-deps >"$scratch/apt-build.log" 2>&1 && ok "build stage: $run" ||
            { bad "build stage: $run"; cat "$scratch/apt-build.log"; }
    else
        start=$SECONDS
        if bash -c "$cmd" >"$scratch/step.log" 2>&1; then
            ok "build stage: $run ($((SECONDS - start)) s)"
        else
            bad "build stage: $run"
            tail -40 "$scratch/step.log"
        fi
    fi
done
apt_check runtime-deps >"$scratch/apt-runtime.log" 2>&1 && ok "final stage: build.sh runtime-deps" ||
    { bad "final stage: build.sh runtime-deps"; cat "$scratch/apt-runtime.log"; }

# --- what the final image gets: /out
for f in index.html app.js style.css rt-client.js; do
    [ -f "$scratch/dashboard/$f" ] && [ ! -L "$scratch/dashboard/$f" ] &&
        ok "dashboard/$f is in the image as a regular file" ||
        bad "dashboard/$f missing from the image's dashboard directory"
done
for exe in rt-edge rt-ingest rt-health; do
    if [ -x "$scratch/out/$exe" ] && "$scratch/out/$exe" --help >/dev/null 2>&1; then
        ok "$exe built and runs --help"
    else
        bad "$exe missing from the output or --help fails"
    fi
done
[ "$(find "$scratch/out" -type f | wc -l)" = 3 ] && ok "output holds exactly the three executables" ||
    bad "output holds $(find "$scratch/out" -type f | wc -l) files, want 3"

# packages (and their dependencies) a list pulls in; plus the base image's required packages
closure() {
    apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
        --no-replaces --no-enhances "$@" 2>/dev/null | grep -v '^[[:space:]<]' | sed 's/:.*//'
}
owner() { # file -> package (usrmerge: a file may be known to dpkg under /usr or not)
    local f=$1 c
    for c in "$f" "/usr$f" "${f#/usr}" "$(readlink -f "$f")" "/usr$(readlink -f "$f")" \
        "$(readlink -f "$f" | sed 's#^/usr##')"; do
        [ -n "$c" ] || continue
        dpkg -S "$c" 2>/dev/null | head -1 | cut -d: -f1 | cut -d, -f1 && return 0
    done
    return 1
}
required=$(dpkg-query -W -f '${Package} ${Priority}\n' | awk '$2 == "required" {print $1}')
run_ok=$( (closure "${runtime[@]}"; echo "$required") | sort -u)
for exe in rt-edge rt-ingest rt-health; do
    missing=$(ldd "$scratch/out/$exe" | grep 'not found' || true)
    [ -z "$missing" ] && ok "$exe: every shared library resolves" || bad "$exe: $missing"
    for lib in $(ldd "$scratch/out/$exe" | awk '$2 == "=>" && $3 ~ /^\// {print $3}'); do
        pkg=$(owner "$lib") || { bad "$exe: no package owns $lib"; continue; }
        if grep -qx "$pkg" <<<"$run_ok"; then
            ok "$exe: ${lib##*/} from $pkg (in the final image)"
        else
            bad "$exe: ${lib##*/} comes from $pkg, which the final stage does not install"
        fi
    done
done
build_ok=$(closure "${buildpk[@]}" | sort -u)
# cmocka is only looked up when tests are built (BUILD_TESTING), which the image does not do
for mod in $(grep -o 'pkg_check_modules([^)]*)' "$src/CMakeLists.txt" | awk '{print $NF}' | tr -d ')' | grep -vx cmocka); do
    pc=$(pkg-config --variable=pcfiledir "$mod" 2>/dev/null)/$mod.pc
    pkg=$(owner "$pc") || { bad "pkg-config module $mod: no package owns $pc"; continue; }
    grep -qx "$pkg" <<<"$build_ok" && ok "pkg-config $mod from $pkg (in the build stage)" ||
        bad "pkg-config $mod comes from $pkg, which the build stage does not install"
done
[ -z "${1:-}" ] && rm -rf "$scratch"
finish
