#!/usr/bin/env bash
# The whole test suite: static checks, then the same test files under Deno and Bun.
# Run it as `npm test` (npm puts node_modules/.bin, with deno and bun, on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
step() { printf '\n=== %s\n' "$*"; }
# every entry point of the package (deno.json "exports"), and those without npm types in signatures
ENTRIES=$(deno eval 'const d = JSON.parse(Deno.readTextFileSync("deno.json")); console.log(Object.values(d.exports).join(" "))')
PLAIN=$(echo "$ENTRIES" | tr ' ' '\n' | grep -v '^./backends/tfjs/' | tr '\n' ' ')

step "deno fmt --check"; deno fmt --check
step "deno lint"; deno lint
step "deno check"; deno check $ENTRIES tests/ bench/ examples/
step "deno doc --lint"; deno doc --lint $PLAIN
if [ -f backends/tfjs/mod.ts ]; then
  # The tfjs subpath's signatures take and return tf.Tensor / tf.Scalar, which deno doc counts as
  # private (npm types): those two references from backends/tfjs/ are allowed, nothing else.
  step "deno doc --lint (tfjs subpath)"
  { NO_COLOR=1 deno doc --lint mod.ts backends/tfjs/mod.ts 2>&1 || true; } | deno eval 'const t = await new Response(Deno.stdin.readable).text(); const bad = t.split(/\n(?=error\[)/).filter((b) => b.startsWith("error[") && !(b.startsWith("error[private-type-ref]") && /references private type .(Tensor|Scalar)./.test(b) && b.includes("/backends/tfjs/"))); if (bad.length > 0) { console.log(bad.join("\n")); Deno.exit(1); } else console.log("ok (tf.Tensor/tf.Scalar references allowed)");'
fi
step "every exported symbol has an @example"; python3 scripts/check_examples.py $ENTRIES
step "deno publish --dry-run"; deno publish --dry-run --allow-dirty
step "deno test (unit + doc examples)"; deno test -A --doc --parallel
step "bun test"; bun test tests/
