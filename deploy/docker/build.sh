#!/usr/bin/env bash
# The image's build steps, shared by deploy/Dockerfile (which RUNs this script) and
# deploy/docker-build-steps.sh (which runs the same steps on this machine, so that CI catches a
# broken step without a Docker engine).
#   build.sh build-deps                  apt: what the build stage needs to compile
#   build.sh runtime-deps                apt: the shared libraries the final image runs with
#   build.sh build <src> <build> <out>   cmake configure + build of the three executables
#                                        (the commands of deploy/local.sh, plus -Werror and no
#                                        tests), then copy them, stripped, into <out>
#   build.sh list build-deps|runtime-deps   print a package list, one per line
set -euo pipefail

# Build stage: deploy/install-deps.sh's build packages (cmocka is not needed: tests are off).
build_pkgs=(ca-certificates build-essential cmake pkg-config libhiredis-dev libevent-dev
    libwebsockets-dev libuv1-dev libpq-dev libjansson-dev libjwt-dev libssl-dev)
# Final stage: only the run-time libraries (each executable's DT_NEEDED is checked against these
# by deploy/docker-build-steps.sh), CA certificates for https JWKS URLs, curl for healthchecks.
runtime_pkgs=(libhiredis0.14 libevent-2.1-7 libevent-core-2.1-7 libwebsockets17 libuv1 libpq5
    libjansson4 libjwt0 libssl3 ca-certificates curl)
exes=(edge/rt-edge ingest/rt-ingest broker/rt-health)

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    # the lock timeout matters outside Docker, where another apt may be running
    local apt=(apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)
    "${apt[@]}" update -qq
    "${apt[@]}" install -y -qq --no-install-recommends "$@" >/dev/null
}

cmd=${1:?usage: build.sh build-deps|runtime-deps|build <src> <build> <out> [<dashboard out>]|list <which>}
case $cmd in
build-deps)
    apt_install "${build_pkgs[@]}"
    ;;
runtime-deps)
    apt_install "${runtime_pkgs[@]}"
    ;;
build)
    src=${2:?source dir} build=${3:?build dir} out=${4:?output dir}
    cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRT_WERROR=ON \
        -DBUILD_TESTING=OFF >/dev/null
    cmake --build "$build" -j "$(nproc)" --target rt-edge rt-ingest rt-health
    mkdir -p "$out"
    for exe in "${exes[@]}"; do
        install -m 0755 -s "$build/$exe" "$out/${exe##*/}"
    done
    # the dashboard's static files, with the client module its symlink points at copied in
    if [ -n "${5:-}" ]; then
        mkdir -p "$5"
        cp -L "$src"/dashboard/* "$5"/
    fi
    ;;
list)
    case ${2:-} in
    build-deps) printf '%s\n' "${build_pkgs[@]}" ;;
    runtime-deps) printf '%s\n' "${runtime_pkgs[@]}" ;;
    *)
        echo "build.sh: list build-deps|runtime-deps" >&2
        exit 2
        ;;
    esac
    ;;
*)
    echo "build.sh: unknown command $cmd" >&2
    exit 2
    ;;
esac
