# Shared setup of the runtime benchmarks: a temporary store root with the busybox image
# (Debian's busybox-static), removed on exit with every container and network in it (the
# default network outlives its last container by a few seconds: prune takes it at once).
set -euo pipefail
STACK=${STACK_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/bin/stack}
[ -x "$STACK" ] || { echo "build first: make build (or set STACK_BIN)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
ROOT=$(mktemp -d /tmp/stack-bench-XXXXXX)
export STACK_ROOT=$ROOT
cleanup() {
	for id in $("$STACK" container ls -aq 2>/dev/null); do "$STACK" container rm -f "$id" >/dev/null 2>&1 || true; done
	"$STACK" network prune -f >/dev/null 2>&1 || true
	rm -rf "$ROOT"
}
trap cleanup EXIT
IMAGE=localhost/busybox:bench
rootfs=$(mktemp -d)
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev"
cp /bin/busybox "$rootfs/bin/"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$rootfs/etc/passwd"
echo 'root:x:0:' > "$rootfs/etc/group"
tar -C "$rootfs" -cf "$ROOT/busybox.tar" .
rm -rf "$rootfs"
"$STACK" image import "$ROOT/busybox.tar" "$IMAGE" >/dev/null
# The image was just unpacked: until the kernel has written it back (up to 30 s here), every
# mount and file creation on this filesystem waits behind that writeback and a run takes
# twice as long. A run measures the runtime, not the import before it, so flush first.
sync
