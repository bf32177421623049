#!/usr/bin/env bash
# Bulk TCP into a container through a published port (DNAT from 127.0.0.1) vs the
# container's bridge address directly, measured alternately in one run (root).
set -euo pipefail
cd "$(dirname "$0")/../.."
go test -count=1 -tags integration -run '^$' -bench Throughput -benchtime "${ROUNDS:-3}x" ./bench/network/
