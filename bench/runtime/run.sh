#!/bin/bash
# Median time of `stack container run --rm IMAGE /bin/true` (busybox, no network: the
# runtime's own cost), with references measured in the same run: runc (below), the same on the
# default network (a veth pair made and deleted; the network itself outlives each run by a
# few seconds, so the runs after the first reuse it), `stack version` (one start of the
# binary; a run starts it twice: the CLI and the monitor) and the floor, unshare of the
# same namespaces + exec. Compare ratios: absolute times depend on the load.
# Usage: bench/runtime/run.sh [runs]   (root; hyperfine from Debian)
. "$(dirname "$0")/common.sh"
RUNS=${1:-50}
# The issue's reference, when Debian's runc is installed (`bench/stack/peers.sh` installs
# podman, which brings it): runc run of the same rootfs, no network, the bundle's defaults.
runc=()
if command -v runc >/dev/null; then
	mkdir -p "$ROOT/bundle/rootfs" && tar -C "$ROOT/bundle/rootfs" -xf "$ROOT/busybox.tar"
	(cd "$ROOT/bundle" && runc spec && python3 - <<'PY'
import json
c = json.load(open("config.json"))
c["process"].update(terminal=False, args=["/bin/true"])
c["root"]["readonly"] = False
json.dump(c, open("config.json", "w"))
PY
	)
	runc=(-n "runc run" "runc run --bundle $ROOT/bundle stack-bench-$$")
fi
hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$ROOT/run.json" \
	-n "stack run --rm" "$STACK container run --rm --network none $IMAGE /bin/true" \
	-n "default network" "$STACK container run --rm $IMAGE /bin/true" \
	"${runc[@]}" \
	-n "stack version" "$STACK version" \
	-n "unshare floor" "unshare --pid --fork --mount --uts --ipc --net /bin/true"
python3 - "$ROOT/run.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f'{r["command"]:>16}: median {r["median"]*1000:.1f} ms, mean {r["mean"]*1000:.1f} ± {r["stddev"]*1000:.1f} ms')
PY
