#!/usr/bin/env bash
# Every benchmark of the README, one after the other, on this machine (root; make bench
# builds first). Each prints its own figures; the README says which issue each answers.
# Benchmarks compare ratios measured in one run: absolute times depend on the machine's load.
set -euo pipefail
cd "$(dirname "$0")/.."
run() { echo; echo "=== $*"; "$@"; }
run bench/runtime/run.sh 30          # issue 4: run --rm latency
run bench/runtime/pss.sh 50          # issue 4: memory per container
run bench/image/run.sh -r 5          # issue 3: pull vs podman, unpack vs tar
run bench/network/run.sh             # issue 5: published port vs direct throughput
run bench/build/run.sh 5             # issue 6: cached rebuild, first build vs podman
run bench/stack/run.sh 5             # issue 7: up/down/no-op/diff, 10 and 100 services
run bench/stack/peers.sh -r 5        # issue 7: beside docker-compose and podman-compose
run go test -run '^$' -bench . -benchtime 20x ./bench   # issue 2: stack-file load time
