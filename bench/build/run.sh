#!/usr/bin/env bash
# Build benchmark (issue 6): a 10-instruction Dockerfile
#   1. rebuilt with nothing changed (every step cached): goal <= 100 ms end to end;
#   2. built from nothing (--no-cache) by stack and by `podman build`, same Dockerfile,
#      same context, FROM the same busybox tarball imported by each; ratio printed.
# Needs root, hyperfine, podman + runc (Debian), busybox-static. Usage: bench/build/run.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-10}
STACK=${STACK_BIN:-$PWD/bin/stack}
[ -x "$STACK" ] || { echo "build bin/stack first (make build)"; exit 1; }
for c in hyperfine podman runc; do command -v $c >/dev/null || { echo "missing $c (apt-get install $c)"; exit 1; }; done

work=$(mktemp -d /tmp/stack-bench-build.XXXXXX)
root=$work/stack-root
proot=$work/podman-root
cleanup() {
	"$STACK" --root "$root" network rm stack >/dev/null 2>&1 || true
	podman --root "$proot" --runroot "$work/podman-run" rmi -a -f >/dev/null 2>&1 || true
	podman --root "$proot" --runroot "$work/podman-run" system reset -f >/dev/null 2>&1 || true
	umount -R "$work"/podman-root/overlay 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# The busybox root filesystem both tools import (as testutil.BusyboxTar builds it).
rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,etc,dev,proc,sys,root,home,var,usr/bin,tmp}
chmod 1777 "$rootfs/tmp"
cp /bin/busybox "$rootfs/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$rootfs/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\napp:x:1000:\n' >"$rootfs/etc/group"
tar -C "$rootfs" -cf "$work/busybox.tar" .

# The context: a small source tree and the 10-instruction Dockerfile.
ctx=$work/ctx
mkdir -p "$ctx/src/lib"
for i in $(seq 1 50); do head -c 4096 /dev/urandom | base64 >"$ctx/src/lib/file$i.txt"; done
echo '{"name": "bench"}' >"$ctx/config.json"
printf 'node_modules\n*.log\n' >"$ctx/.dockerignore"
cat >"$ctx/Dockerfile" <<'DF'
FROM busybox
ARG VERSION=1
ENV APP_HOME=/app
WORKDIR /app
COPY src/ ./src/
COPY config.json ./
RUN mkdir -p /app/data && echo "$VERSION" > /app/version && wc -c src/lib/* > /app/data/sizes
LABEL org.example.bench=yes
EXPOSE 8080
CMD ["cat", "/app/version"]
DF

export CONTAINERS_CONF=$work/containers.conf
printf '[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"\n' >"$CONTAINERS_CONF"
P="podman --root $proot --runroot $work/podman-run --storage-driver overlay"

"$STACK" --root "$root" image import "$work/busybox.tar" busybox:latest >/dev/null
$P import "$work/busybox.tar" localhost/busybox:latest >/dev/null 2>&1
# podman resolves FROM busybox to localhost/busybox once it is stored locally
sed 's#^FROM busybox#FROM localhost/busybox:latest#' "$ctx/Dockerfile" >"$work/Dockerfile.podman"

echo "== first build (no cache): stack vs podman build, $RUNS runs each"
hyperfine --runs "$RUNS" --warmup 1 --export-json "$work/first.json" \
	-n stack "$STACK --root $root image build --no-cache -q -t bench:latest $ctx" \
	-n podman "$P build --no-cache -q -f $work/Dockerfile.podman -t bench:latest $ctx"

echo "== rebuild with nothing changed (every step cached)"
"$STACK" --root "$root" image build -q -t bench:latest "$ctx" >/dev/null
hyperfine --runs "$((RUNS * 3))" --warmup 2 --export-json "$work/rebuild.json" \
	-n stack-cached "$STACK --root $root image build -q -t bench:latest $ctx"

python3 - "$work/first.json" "$work/rebuild.json" <<'PY'
import json, sys
first = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
re = json.load(open(sys.argv[2]))["results"][0]
s, p = first["stack"]["mean"], first["podman"]["mean"]
print(f"first build: stack {s*1000:.0f} ms, podman {p*1000:.0f} ms, ratio stack/podman {s/p:.2f}")
print(f"cached rebuild: stack {re['mean']*1000:.1f} ms (goal <= 100 ms): {'OK' if re['mean'] <= 0.1 else 'OVER'}")
PY
