#!/usr/bin/env bash
# The side-by-side table of issue 7: stack, docker-compose 1.29 (with dockerd) and
# podman-compose, 10 busybox services, `up -d` and `down -t 1`, median of RUNS runs each,
# measured in one run by the shared script ../shared/bench/peers.sh (relative to the
# repository's top directory; PEERS_SH overrides its path). Needs root; installs the peers
# from Debian's packages when missing. Usage: bench/stack/peers.sh [-n SERVICES] [-r RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
PEERS_SH=${PEERS_SH:-../shared/bench/peers.sh}
[ -x "$PEERS_SH" ] || { echo "no $PEERS_SH (the shared peers benchmark); set PEERS_SH" >&2; exit 1; }
[ -x bin/stack ] || { echo "build bin/stack first (make build)" >&2; exit 1; }
exec "$PEERS_SH" -b bin/stack "$@"
