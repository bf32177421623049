#!/usr/bin/env bash
# Image benchmarks, in one run on this machine (needs root):
#  1. pull: `stack image pull` against `podman pull` of a 3-layer ~50 MB image from a local
#     Debian docker-registry, each into an empty store (bench/image/pull prints the ratio);
#  2. unpack: the layer unpacker against `tar -x` on the same layers, gzip and plain
#     (bench/image/unpack prints the ratios).
#
#   bench/image/run.sh [-r RUNS] [-b PATH_TO_STACK_BINARY]
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS=7 STACK=./bin/stack
while [ $# -gt 0 ]; do
  case "$1" in
    -r) RUNS=$2; shift 2 ;;
    -b) STACK=$2; shift 2 ;;
    *) echo "usage: $0 [-r RUNS] [-b STACK_BINARY]" >&2; exit 2 ;;
  esac
done
[ -x "$STACK" ] || { echo "no stack binary at $STACK (make build, or pass -b)" >&2; exit 2; }

need() { command -v "$1" >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 || true; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }; }
need hyperfine hyperfine
need docker-registry docker-registry
need podman podman
need runc runc

layers=$(mktemp -d -t stack-image-layers.XXXXXX)
trap 'rm -rf "$layers"' EXIT

go run ./bench/image/pull -stack "$STACK" -runs "$RUNS" -out "$layers"
echo
echo "unpack (median of $RUNS, fresh directory each run):"
go run ./bench/image/unpack -runs "$RUNS" "$layers"/layer*.tar.gz "$layers"/layer*.tar
