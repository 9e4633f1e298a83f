#!/usr/bin/env bash
# The one command that sets up, builds and runs fieldsync's main job demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" -- --no-print-directory -s
exec build/conflict/fs-merge-demo
