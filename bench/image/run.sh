#!/usr/bin/env bash
# Image benchmarks, in one run on this machine:
#  1. pull: a 3-layer image of about 50 MB from a local Debian docker-registry into an empty
#     store, `stack image pull` against `podman pull` (both from the same registry, each into
#     a fresh store every run); prints the medians and the ratio stack/podman.
#  2. unpack: the layer unpacker against `tar -x` on the same layers (gzip and plain).
#
#   bench/image/run.sh [-r RUNS] [-b PATH_TO_STACK_BINARY]
#
# Needs root, docker-registry, podman, hyperfine (installed from Debian when missing).
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
STACK=$(readlink -f "$STACK")

need() { command -v "$1" >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 || true; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }; }
need hyperfine hyperfine
need docker-registry docker-registry
need podman podman
need runc runc

work=$(mktemp -d -t stack-image-bench.XXXXXX)
registry_pid=""
cleanup() {
  set +e
  [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null && wait "$registry_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# A registry on a free loopback port, storage in the work dir.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
cat > "$work/registry.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$port
YML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null

REF=127.0.0.1:$port/bench/app:1
mkdir -p "$work/layers"
go run ./bench/image/mkimage -ref "$REF" -out "$work/layers"
echo "image: $REF, 3 layers, $(du -sh "$work/registry" | cut -f1) in the registry"

# podman: its own store under the work dir, runc (crun refuses hybrid cgroups), host ulimits.
printf '[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"\n' > "$work/containers.conf"
export CONTAINERS_CONF=$work/containers.conf
PODMAN="podman --root $work/podman-root --runroot $work/podman-run --storage-driver overlay"

hyperfine -N --runs "$RUNS" --export-json "$work/pull.json" \
  --prepare "rm -rf $work/stack-root" \
  -n stack "$STACK --root $work/stack-root image pull -q $REF" \
  --prepare "sh -c '$PODMAN rmi -af >/dev/null 2>&1; rm -rf $work/podman-root $work/podman-run'" \
  -n podman "$PODMAN pull -q --tls-verify=false $REF"
python3 - "$work/pull.json" <<'PY'
import json, sys
r = {x["command"]: x["median"] for x in json.load(open(sys.argv[1]))["results"]}
print("pull median: stack %.3fs, podman %.3fs, ratio stack/podman %.2f" % (r["stack"], r["podman"], r["stack"] / r["podman"]))
PY
$PODMAN rmi -af >/dev/null 2>&1 || true

echo
echo "unpack (median of $RUNS, fresh directory each run):"
go run ./bench/image/unpack -runs "$RUNS" "$work"/layers/layer*.tar.gz "$work"/layers/layer*.tar
