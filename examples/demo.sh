#!/usr/bin/env bash
# The README's main job: show the example stack. Run by `make demo` after the build.
set -euo pipefail
cd "$(dirname "$0")/.."
./bin/stack version
