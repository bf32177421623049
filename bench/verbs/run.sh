#!/usr/bin/env bash
# Latency of the stack verbs besides up/down, on a stack of N busybox services (`sleep 3600`),
# measured with hyperfine against a private store root. Usage (root, after make build):
#   bench/verbs/run.sh [N]        (default N=10)
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-10}
bin=$PWD/bin/stack
work=$(mktemp -d /tmp/stack-bench-verbs.XXXXXX)
export STACK_ROOT=$work/root
file=$work/stack.yaml
cleanup() {
  "$bin" -f "$file" down -t 0 >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# A busybox image from Debian's busybox-static.
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp"
cp /bin/busybox "$work/rootfs/bin/"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$work/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$work/rootfs/etc/passwd"
echo 'root:x:0:' > "$work/rootfs/etc/group"
tar -C "$work/rootfs" -cf "$work/busybox.tar" .
"$bin" image import "$work/busybox.tar" localhost/busybox:bench >/dev/null

{
  echo "name: benchverbs"
  echo "services:"
  for i in $(seq 1 "$n"); do
    printf '  s%d:\n    image: localhost/busybox:bench\n    command: ["sleep", "3600"]\n' "$i"
  done
} > "$file"
"$bin" -f "$file" up -d --progress quiet

s="$bin -f $file"
hyperfine --warmup 3 --runs 20 -N --export-markdown "$work/results.md" \
  "$bin ls" \
  "$s ps" \
  "$s top s1" \
  "$s exec -T s1 true" \
  "$s run --rm -T --no-deps s1 true" \
  "$s pause" \
  "$s unpause" \
  "$s kill -s CONT"
# Each restart/stop+start pair acts on all N containers (-t 0: no grace period).
hyperfine --runs 10 -N --export-markdown "$work/results2.md" \
  -n "restart -t 0 ($n services)" -n "stop -t 0 && start ($n services)" \
  "$s restart -t 0" "sh -c '$s stop -t 0 && $s start'"
cat "$work/results.md" "$work/results2.md"
