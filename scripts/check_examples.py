"""Lists exported symbols whose JSDoc has no @example (exit 1 if any).
Usage: python3 scripts/check_examples.py mod.ts server/mod.ts ..."""
import json, subprocess, sys

bad = []
for entry in sys.argv[1:]:
    out = subprocess.run(["deno", "doc", "--json", entry], capture_output=True, text=True, check=True).stdout
    for mod in json.loads(out)["nodes"].values():
        for sym in mod.get("symbols", []):
            for decl in sym.get("declarations", []):
                tags = [t.get("kind") for t in (decl.get("jsDoc") or {}).get("tags", [])]
                if "example" not in tags:
                    loc = decl["location"]
                    bad.append(f"{entry}: {sym['name']} ({loc['filename'].split('/')[-2:]}:{loc['line']})")
print("\n".join(bad) if bad else "every exported symbol has an @example")
sys.exit(1 if bad else 0)
