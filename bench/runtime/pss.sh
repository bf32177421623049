#!/bin/bash
# Memory stack adds per running container: the Pss of its monitor (the only process stack
# keeps per container; the container's own processes are the user's), from
# /proc/PID/smaps_rollup, over N containers running `sleep`. PSS splits shared pages (the
# binary's text) between the processes that map them, so the sum is the real cost.
# Usage: bench/runtime/pss.sh [containers]   (root)
. "$(dirname "$0")/common.sh"
N=${1:-50}
for i in $(seq 1 "$N"); do
	"$STACK" container run -d --network none "$IMAGE" sleep 3600 >/dev/null
done
sleep 2 # let the monitors settle (GC after start-up)
total=0; count=0; max=0
for pid in $(pgrep -f "^stack monitor $ROOT/"); do
	kb=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup")
	total=$((total + kb)); count=$((count + 1)); [ "$kb" -gt "$max" ] && max=$kb
done
[ "$count" -eq "$N" ] || { echo "found $count monitors for $N containers" >&2; exit 1; }
echo "containers: $N  monitor PSS total: ${total} KiB  per container: $((total / N)) KiB  (max $max KiB)"
