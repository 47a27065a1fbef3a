#!/usr/bin/env bash
# Prepares and runs bench/gpu.ts on an offline NVIDIA GPU machine (H100/H200).
#
# Here (a checkout with ../shared/device/):   bash bench/gpu_device.sh prepare
#   bundles bench/gpu.ts into one file (bench/out/gpu.js, copied to .device/gpu.js) and packs Deno and the
#   Vulkan loader beside it with ../shared/device/prepare.sh.
# There (the same checkout, copied with .device/):   bash bench/gpu_device.sh run [--small]
#   unpacks the loader and Deno (. .device/setup.sh) and runs the benchmark; the table and a
#   `JSON {...}` line go to stdout (and to $OUT/gpu_bench.txt when $OUT is set).
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  prepare)
    export PATH="$PWD/node_modules/.bin:$PATH"
    mkdir -p bench/out
    # bundle outside .device/: prepare.sh copies its arguments into .device/
    deno bundle bench/gpu.ts -o bench/out/gpu.js
    ../shared/device/prepare.sh bench/out/gpu.js
    ;;
  run)
    shift
    # shellcheck disable=SC1091
    . .device/setup.sh
    if [ -n "${OUT:-}" ]; then
      deno run -A .device/gpu.js "$@" 2>&1 | tee "$OUT/gpu_bench.txt"
    else
      deno run -A .device/gpu.js "$@"
    fi
    ;;
  *)
    echo "usage: bash bench/gpu_device.sh prepare | run [--small]" >&2
    exit 2
    ;;
esac
