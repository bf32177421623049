#!/usr/bin/env bash
# Compares stack binaries on the up/down benchmark in one run, alternating them round by
# round (ABAB..., BABA... on odd rounds), so that the load of a shared machine falls on all
# of them alike; use it to measure a change against the binary before it. For each binary,
# the median of: up -d of N busybox `sleep 3600` services, up with nothing to change, diff,
# down -t 1; and the CPU time of the whole process tree during up (perf stat task-clock:
# the CLI plus the monitors and inits it starts, while it runs), which on a busy host is a
# steadier figure than the wall time.
#
#   bench/stack/compare.sh [-n SERVICES] [-r ROUNDS] BINARY...
#
# Each binary gets its own temporary store root with the busybox image; everything is
# removed on exit. Needs root, busybox-static, python3 and perf (linux-perf) for the CPU
# column (it is left out without perf).
set -euo pipefail
N=10 ROUNDS=6
while getopts n:r: opt; do
	case $opt in
	n) N=$OPTARG ;;
	r) ROUNDS=$OPTARG ;;
	*) echo "usage: $0 [-n SERVICES] [-r ROUNDS] BINARY..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-n SERVICES] [-r ROUNDS] BINARY..." >&2; exit 2; }
for c in busybox python3; do command -v $c >/dev/null || { echo "missing $c" >&2; exit 1; }; done
bins=()
for b in "$@"; do bins+=("$(readlink -f "$b")"); done

work=$(mktemp -d /tmp/stack-compare.XXXXXX)
cleanup() {
	set +e
	for i in "${!bins[@]}"; do
		"${bins[$i]}" --root "$work/root$i" down -f "$work/stack.yaml" -p cmp -t 0 --progress quiet >/dev/null 2>&1
	done
	rm -rf "$work"
}
trap cleanup EXIT

rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,etc,dev,proc,sys,root,tmp}
cp "$(command -v busybox)" "$rootfs/bin/busybox"
for a in $("$rootfs/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
echo 'root:x:0:' >"$rootfs/etc/group"
tar -C "$rootfs" -cf "$work/busybox.tar" .
IMG=localhost/stackbench-busybox:1
{
	echo "services:"
	for i in $(seq 1 "$N"); do
		printf '  s%d:\n    image: %s\n    command: ["/bin/sleep", "3600"]\n' "$i" "$IMG"
	done
} >"$work/stack.yaml"
for i in "${!bins[@]}"; do
	"${bins[$i]}" --root "$work/root$i" image import "$work/busybox.tar" "$IMG" >/dev/null
done

python3 - "$work" "$ROUNDS" "$N" "${bins[@]}" <<'PY'
import os, shutil, statistics, subprocess, sys, time
work, rounds, n, bins = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
perf = shutil.which("perf")
res = {b: {k: [] for k in ("up", "noop", "diff", "down", "cpu")} for b in bins}

def run(i, *args, cpu=False):
    cmd = [bins[i], "--root", f"{work}/root{i}", *args[:1], "-f", f"{work}/stack.yaml", "-p", "cmp", *args[1:]]
    out = f"{work}/perf.txt"
    if cpu and perf:
        cmd = [perf, "stat", "-x,", "-e", "task-clock", "-o", out, *cmd]
    t = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.monotonic() - t
    if p.returncode not in (0, 2):  # diff exits 2 when something would change
        sys.exit(f"{bins[i]} {' '.join(args)} failed: {p.stderr.decode().strip()}")
    ms = None
    if cpu and perf:
        for line in open(out):
            if "task-clock" in line:
                ms = float(line.split(",")[0])
    return dt * 1000, ms

for i in range(len(bins)):
    run(i, "down", "-t", "0", "--progress", "quiet")
for r in range(rounds):
    for i in (range(len(bins)) if r % 2 == 0 else reversed(range(len(bins)))):
        b = res[bins[i]]
        t, c = run(i, "up", "-d", "--progress", "quiet", cpu=True)
        b["up"].append(t)
        if c is not None:
            b["cpu"].append(c)
        b["noop"].append(run(i, "up", "-d", "--progress", "quiet")[0])
        b["diff"].append(run(i, "diff")[0])
        b["down"].append(run(i, "down", "-t", "1", "--progress", "quiet")[0])

med = lambda v: f"{statistics.median(v):8.0f}" if v else "       -"
print(f"{'binary':40} {'up -d':>8} {'no-op':>8} {'diff':>8} {'down':>8} {'up CPU':>8}")
for b in bins:
    m = res[b]
    print(f"{b[-40:]:40} {med(m['up'])} {med(m['noop'])} {med(m['diff'])} {med(m['down'])} {med(m['cpu'])}")
print(f"(median ms of {rounds} alternating rounds, {n} services; up CPU = task-clock of the process tree while up runs)")
PY
