#!/usr/bin/env bash
# The whole test suite: static checks, then the same test files under Deno and Bun.
# Run it as `npm test` (npm puts node_modules/.bin, with deno and bun, on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
step() { printf '\n=== %s\n' "$*"; }

step "deno fmt --check"; deno fmt --check
step "deno lint"; deno lint
step "deno check"; deno check mod.ts $(ls server/mod.ts backends/tfjs/mod.ts 2>/dev/null || true) tests/ bench/ examples/
step "deno doc --lint"; deno doc --lint mod.ts $(ls server/mod.ts backends/tfjs/mod.ts 2>/dev/null || true)
step "deno publish --dry-run"; deno publish --dry-run --allow-dirty
step "deno test (unit + doc examples)"; deno test -A --doc --parallel
step "bun test"; bun test tests/
