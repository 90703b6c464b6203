#!/usr/bin/env bash
# Installs from Debian what the test suite needs, only when it is missing, then pre-fetches the
# local Kafka broker's jars (Maven Central, cached in ~/.cache/streams and ~/.m2).
#   kcat (produce/consume by hand and in tests), prometheus (promtool), docker-compose
#   (validates docker-compose.yml), openssl (test certificates for the SASL_SSL broker), and
#   Java 17 + Maven when `java`/`mvn` are missing; Go (golang-go) when `go` is missing, to
#   build the pinned kustomize that renders deploy/k8s.
# Idempotent: when everything is present it runs no apt-get at all. Run by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON_VENV:-.venv/bin/python}
need=()

command -v kcat >/dev/null 2>&1 || need+=(kcat)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v openssl >/dev/null 2>&1 || need+=(openssl)  # test CA and certificates (SASL_SSL)

# kustomize renders deploy/k8s in tests/deploy/test_k8s.py, which reads this pin and this path.
KUSTOMIZE_VERSION=v5.8.1
KUSTOMIZE_BIN="${XDG_CACHE_HOME:-$HOME/.cache}/streams/bin/kustomize-$KUSTOMIZE_VERSION"
if [[ ! -x $KUSTOMIZE_BIN ]] && ! command -v go >/dev/null 2>&1; then
    need+=(golang-go)
fi

java_major() {
    # "17.0.15" -> 17, "1.8.0_392" -> 8, nothing -> 0
    local version
    version=$(java -version 2>&1 | sed -nE 's/.*version "([0-9]+)(\.([0-9]+))?.*/\1 \3/p' | head -n1)
    set -- ${version:-0}
    if [[ $1 == 1 ]]; then echo "${2:-0}"; else echo "$1"; fi
}
if ! command -v java >/dev/null 2>&1 || (($(java_major) < 17)); then
    need+=(openjdk-17-jre-headless)
fi

if ((${#need[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "ci-deps: missing ${need[*]}; as root run: apt-get install -y --no-install-recommends ${need[*]}" >&2
        exit 1
    fi
    started=$SECONDS
    echo "ci-deps: installing ${need[*]} from Debian"
    # Debian's postinst scripts must not start daemons (prometheus) in CI or on a dev machine.
    policy=/usr/sbin/policy-rc.d
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod +x "$policy"
        trap 'rm -f "$policy"' EXIT
    fi
    export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
    lock=(-o DPkg::Lock::Timeout=300)  # wait for another apt-get instead of failing
    apt-get "${lock[@]}" update -qq
    apt-get "${lock[@]}" install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    echo "ci-deps: installed in $((SECONDS - started))s"
fi

if [[ ! -x $KUSTOMIZE_BIN ]]; then
    # Built from the Go module proxy (the module's own go.sum pins every dependency) into a
    # private GOBIN, then renamed with its version: a new pin builds anew, an old binary stays.
    started=$SECONDS
    echo "ci-deps: building kustomize $KUSTOMIZE_VERSION from the Go module proxy"
    gobin=$(mktemp -d)
    GOBIN=$gobin go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
    mkdir -p "$(dirname "$KUSTOMIZE_BIN")"
    mv "$gobin/kustomize" "$KUSTOMIZE_BIN"
    rmdir "$gobin"
    echo "ci-deps: kustomize in $KUSTOMIZE_BIN ($((SECONDS - started))s)"
fi

if [[ ! -x $PYTHON ]]; then
    echo "ci-deps: $PYTHON not found; run \`make setup\` first" >&2
    exit 1
fi
"$PYTHON" -c 'from streams.localkafka import ensure_jars; print("ci-deps: Kafka jars in", ensure_jars())'
