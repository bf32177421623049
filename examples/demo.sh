#!/usr/bin/env bash
# The README's main job (make demo): build the demo's two FROM-scratch images from their
# Dockerfiles, bring the stack up, show it, and fetch the page through the published port.
set -euo pipefail
cd "$(dirname "$0")/.."
stack=./bin/stack
file=examples/demo/stack.yaml

echo "== building the demo's Go programs (static, for FROM scratch images)"
for svc in web store; do
  CGO_ENABLED=0 go build -trimpath -o "examples/demo/$svc/$svc" "./examples/demo/$svc"
done

echo "== stack up -d --build --wait   (builds both images, starts store, waits for it to be healthy, starts web)"
"$stack" -f "$file" up -d --build --wait --progress plain

echo "== stack ps"
"$stack" -f "$file" ps

echo "== fetching http://127.0.0.1:8080/ three times (the count lives on the named volume 'counts')"
for _ in 1 2 3; do
  curl -fsS --retry 5 --retry-connrefused --retry-delay 1 http://127.0.0.1:8080/
done

echo "== stack diff   (nothing to change: up is idempotent)"
"$stack" -f "$file" diff

cat <<MSG

The demo is running: http://127.0.0.1:8080/
  $stack -f $file logs -f        follow its logs
  $stack -f $file down           take it down (add -v to delete the visit count too)
MSG
