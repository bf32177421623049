#!/bin/bash
# Time of `stack container ls -a` over N containers (created, not started: listing reads one
# small state file per container and checks liveness for the running ones).
# Usage: bench/runtime/ps.sh [containers]   (root; hyperfine)
. "$(dirname "$0")/common.sh"
N=${1:-100}
for i in $(seq 1 "$N"); do
	"$STACK" container create --network none "$IMAGE" true >/dev/null
done
hyperfine -N --warmup 3 --runs 30 -n "ls -a ($N containers)" "$STACK container ls -a" \
	-n "ls -a --format json ($N)" "$STACK container ls -a --format json"
