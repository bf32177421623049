#!/usr/bin/env bash
# stack up/down benchmark (issue 7), stack alone, each figure the median of hyperfine -N runs:
#   up -d of 10 services                 target <= 0.25 s
#   down -t 1 of 10 services             target <= 1.3 s  (PID 1 `sleep` ignores SIGTERM: the
#                                                          1 s grace period is spent, in parallel)
#   up -d of 100 services                target <= 2.5 s
#   down -t 1 of 100 services
#   up -d with nothing to change (10)    target <= 50 ms
#   diff with nothing to change (10)     target <= 50 ms
# Services are busybox `sleep 3600` on a private store root, as in ../shared/bench/peers.sh.
# Needs root, hyperfine, busybox-static, python3. Usage: bench/stack/run.sh [RUNS]
# The side-by-side table with docker-compose and podman-compose: bench/stack/peers.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-10}
STACK=$(readlink -f "${STACK_BIN:-bin/stack}")
[ -x "$STACK" ] || { echo "build bin/stack first (make build)" >&2; exit 1; }
for c in hyperfine busybox python3; do command -v $c >/dev/null || { echo "missing $c (make deps)" >&2; exit 1; }; done

work=$(mktemp -d /tmp/stack-bench-up.XXXXXX)
root=$work/root
cleanup() {
	set +e
	for n in 10 100; do
		[ -f "$work/stack$n.yaml" ] && "$STACK" --root "$root" down -f "$work/stack$n.yaml" -p "bench$n" -v -t 0 --progress quiet >/dev/null 2>&1
	done
	rm -rf "$work"
}
trap cleanup EXIT

# The busybox root filesystem (as testutil.BusyboxTar builds it).
rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,etc,dev,proc,sys,root,tmp}
chmod 1777 "$rootfs/tmp"
cp "$(command -v busybox)" "$rootfs/bin/busybox"
for a in $("$rootfs/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
echo 'root:x:0:' >"$rootfs/etc/group"
tar -C "$rootfs" -cf "$work/busybox.tar" .
IMG=localhost/stackbench-busybox:1
"$STACK" --root "$root" image import "$work/busybox.tar" "$IMG" >/dev/null

for n in 10 100; do
	{
		echo "services:"
		for i in $(seq 1 "$n"); do
			printf '  s%d:\n    image: %s\n    command: ["/bin/sleep", "3600"]\n' "$i" "$IMG"
		done
	} >"$work/stack$n.yaml"
done

# stk N VERB ARGS...: the command line of a stack verb on the N-service stack.
stk() { local n=$1 verb=$2; shift 2; echo "$STACK --root $root $verb -f $work/stack$n.yaml -p bench$n --progress quiet $*"; }
stkq() { local n=$1 verb=$2; shift 2; echo "$STACK --root $root $verb -f $work/stack$n.yaml -p bench$n $*"; }

results=()
# measure NAME TARGET HYPERFINE-ARGS...: runs hyperfine and records the median.
measure() {
	local name=$1 target=$2
	shift 2
	hyperfine -N --runs "$RUNS" --export-json "$work/m.json" "$@" >/dev/null 2>"$work/hyperfine.log" || { cat "$work/hyperfine.log" >&2; exit 1; }
	local med
	med=$(python3 -c 'import json,sys;print("%.3f"%json.load(open(sys.argv[1]))["results"][0]["median"])' "$work/m.json")
	results+=("$name|$med|$target")
	printf '%-34s %8s s   (target %s)\n' "$name" "$med" "$target" >&2
}

for n in 10 100; do
	target_up=0.25 target_down=1.3
	[ "$n" = 100 ] && target_up=2.5 target_down=-
	$(stk $n down -t 0) >/dev/null
	measure "up -d, $n services" "$target_up" --prepare "$(stk $n down -t 0)" "$(stk $n up -d)"
	measure "down -t 1, $n services" "$target_down" --prepare "$(stk $n up -d)" "$(stk $n down -t 1)"
done
$(stk 10 up -d) >/dev/null
measure "up -d, nothing to change (10)" 0.05 "$(stk 10 up -d)"
measure "diff, nothing to change (10)" 0.05 "$(stkq 10 diff)"
$(stk 10 down -t 0) >/dev/null

printf '\n%-34s %10s %10s   (median of %d runs, seconds; %s)\n' "" median target "$RUNS" "$("$STACK" version 2>/dev/null | head -1)"
for r in "${results[@]}"; do
	IFS='|' read -r name med target <<<"$r"
	printf '%-34s %10s %10s\n' "$name" "$med" "$target"
done
